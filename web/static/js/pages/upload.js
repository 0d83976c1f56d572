import { uploadVideo } from "../api.js";
import { uploadProblem } from "../mp4.js";
import { requireUser } from "../session.js";
import { $, h, say } from "../ui.js";

const form = $("#upload-form");
const message = $("#message");
const done = $("#done");
const progressField = $("#progress-field");
const progress = $("#upload-progress");
const percent = $("#upload-percent");
const button = $("#upload-button");

await requireUser();

function showProgress(fraction) {
  const value = Math.round(fraction * 100);
  progress.value = value;
  percent.textContent = `${value} %`;
}

// Check the file as soon as it is chosen, so a wrong file is reported before anything is sent.
form.video_file.addEventListener("change", async () => {
  const reason = await uploadProblem(form.video_file.files[0]);
  say(message, reason, "error");
  form.video_file.setAttribute("aria-invalid", String(Boolean(reason)));
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(done, null);
  const title = form.title.value.trim();
  if (!title) {
    say(message, "Give the clip a title.", "error");
    form.title.focus();
    return;
  }
  const file = form.video_file.files[0];
  const reason = await uploadProblem(file);
  if (reason) {
    say(message, reason, "error");
    form.video_file.focus();
    return;
  }
  say(message, null);
  const body = new FormData();
  body.append("title", title);
  body.append("video_file", file, file.name);
  button.disabled = true;
  progressField.hidden = false;
  showProgress(0);
  try {
    const answer = await uploadVideo(body, showProgress);
    form.reset();
    done.replaceChildren(
      `“${title}” was uploaded and is queued for processing. `,
      h("a", { href: `/videos/${answer.video_id}` }, "Open its page"),
      " or follow it in ",
      h("a", { href: "/my-videos" }, "My videos"),
      ".",
    );
    done.hidden = false;
    done.querySelector("a").focus();
  } catch (error) {
    say(message, error.detail ?? String(error), "error");
  } finally {
    button.disabled = false;
    progressField.hidden = true;
  }
});

// Ready (signed in, handlers attached): the button starts disabled in the page, so a click before
// this module ran cannot submit the form natively.
button.disabled = false;
