// One video's shareable page (/videos/<id>): the owner sees the status (updating by itself), the
// reason of a failure and the delete rule; everyone sees the processed clip, its votes and Vote.

import { api, ApiError } from "../api.js";
import { currentUser } from "../session.js";
import { $, clipPlayer, formatTime, h, say, statusBadge, votesText } from "../ui.js";
import { NOT_DELETABLE, PENDING, deletable, deleteVideo, poll } from "../videos.js";
import { ownVideoIds, voteControl } from "../votes.js";

const article = $("#video");
const message = $("#message");
const videoId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");

function shareBox() {
  const url = `${location.origin}/videos/${encodeURIComponent(videoId)}`;
  const input = h("input", { id: "share-url", type: "text", readonly: true, value: url });
  const button = h("button", { type: "button", className: "secondary" }, "Copy link");
  const status = h("span", { role: "status" });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url);
      status.textContent = "Link copied.";
    } catch {
      input.select();
      status.textContent = "Select the link and copy it.";
    }
  });
  return h("div", { className: "field" }, h("label", { for: "share-url" }, "Link to this video"),
    h("div", { className: "share" }, input, button, status));
}

function player(video) {
  return video.processed_url ? clipPlayer(video.processed_url, video.poster_url, `Clip: ${video.title}`) : null;
}

// The owner's view; the Video element is kept across polls so playback is never interrupted.
let shown = null;
function ownerView(video) {
  const key = `${video.status}|${video.progress ?? ""}`;
  if (shown === key) return;
  shown = key;
  document.title = `${video.title} · vidpipe showcase`;
  const details = h(
    "dl",
    {},
    h("dt", {}, "Status"),
    h("dd", { id: "status" }, statusBadge(video.status)),
    h("dt", {}, "Uploaded"),
    h("dd", {}, formatTime(video.uploaded_at)),
  );
  if (video.processed_at) details.append(h("dt", {}, "Processed"), h("dd", {}, formatTime(video.processed_at)));
  details.append(h("dt", {}, "Votes"), h("dd", { id: "votes" }, votesText(video.votes)));
  if (video.status === "processing" && typeof video.progress === "number") {
    details.append(
      h("dt", {}, h("label", { for: "progress" }, "Progress")),
      h("dd", { className: "progress-line" }, h("progress", { id: "progress", max: 100, value: video.progress }),
        h("span", { className: "percent" }, `${video.progress} %`)),
    );
  }
  if (video.status === "failed") {
    details.append(h("dt", {}, "Reason"), h("dd", { className: "error", id: "error" }, video.error ?? "processing failed"));
  }
  const actions = h("div", { className: "actions" });
  if (deletable(video.status)) {
    const button = h("button", { type: "button", className: "danger" }, "Delete this video");
    button.addEventListener("click", async () => {
      if (!confirm(`Delete “${video.title}”? This cannot be undone.`)) return;
      button.disabled = true;
      try {
        await deleteVideo(video.video_id);
        stop?.();
        article.replaceChildren(h("h1", {}, "Video deleted"), h("p", {}, h("a", { href: "/my-videos" }, "Back to My videos")));
        $("#main").focus();
      } catch (error) {
        say(message, error.detail ?? String(error), "error");
        button.disabled = false;
      }
    });
    actions.append(button);
  } else {
    actions.append(h("p", { className: "reason" }, NOT_DELETABLE));
  }
  const clip = $("video", article) ?? player(video);
  const processed = video.status === "processed";
  const parts = [h("h1", {}, video.title), processed && clip, details, actions, processed && shareBox()];
  article.replaceChildren(...parts.filter(Boolean));
}

function publicView(video, user, ownIds) {
  document.title = `${video.title} · vidpipe showcase`;
  const parts = [
    h("h1", {}, video.title),
    h("p", { className: "meta" }, video.player, " · ",
      h("a", { href: `/?city=${encodeURIComponent(video.city)}` }, video.city)),
    player(video),
    voteControl(video, user, ownIds),
    shareBox(),
  ];
  article.replaceChildren(...parts.filter(Boolean));
}

let stop = null;

async function load() {
  const user = await currentUser();
  const ownIds = await ownVideoIds(user);
  if (ownIds.has(videoId)) {
    stop = poll(async () => {
      const video = await api(`/api/videos/${encodeURIComponent(videoId)}`);
      ownerView(video);
      return PENDING.has(video.status);
    }, (error) => say(message, `Could not refresh: ${error.detail ?? error}`, "error"));
    return;
  }
  try {
    publicView(await api(`/api/public/videos/${encodeURIComponent(videoId)}`), user, ownIds);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    document.title = "Video not found · vidpipe showcase";
    article.replaceChildren(
      h("h1", {}, "Video not found"),
      h("p", {}, "This video does not exist, is not public yet, or was deleted. ",
        user ? "" : h("a", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, "Log in"),
        user ? "" : " if it is yours. ", h("a", { href: "/" }, "Go to the gallery"), "."),
    );
  }
}

load()
  .catch((error) => say(message, `The video could not be loaded: ${error.detail ?? error}`, "error"))
  .finally(() => article.setAttribute("aria-busy", "false"));
