import { api } from "../api.js";
import { loginUrl, requireUser } from "../session.js";
import { $, formatTime, h, say, statusBadge } from "../ui.js";
import { NOT_DELETABLE, PENDING, deletable, deleteVideo, poll } from "../videos.js";

const list = $("#my-videos");
const empty = $("#empty");
const message = $("#message");
const items = new Map(); // video_id -> {li, status, progress}

await requireUser();

function progressLine(video) {
  if (video.status !== "processing" || typeof video.progress !== "number") return null;
  const id = `progress-${video.video_id}`;
  return h(
    "div",
    { className: "progress-line" },
    h("label", { for: id }, "Processing"),
    h("progress", { id, max: 100, value: video.progress }),
    h("span", { className: "percent" }, `${video.progress} %`),
  );
}

async function remove(video, button) {
  if (!confirm(`Delete “${video.title}”? This cannot be undone.`)) return;
  button.disabled = true;
  try {
    await deleteVideo(video.video_id);
    items.get(video.video_id)?.li.remove();
    items.delete(video.video_id);
    empty.hidden = items.size > 0;
    say(message, `“${video.title}” was deleted.`, "ok");
    $("#main").focus();
  } catch (error) {
    say(message, error.detail ?? String(error), "error");
    button.disabled = false;
  }
}

function body(video) {
  const parts = [
    h("h2", {}, h("a", { href: `/videos/${video.video_id}` }, video.title)),
    h("p", { className: "meta" }, statusBadge(video.status), " · uploaded ", formatTime(video.uploaded_at)),
    progressLine(video),
  ];
  if (video.status === "failed") {
    parts.push(h("p", { className: "error" }, "Reason: ", video.error ?? "processing failed"));
  }
  const actions = h("div", { className: "actions" });
  if (video.status === "processed") {
    actions.append(h("a", { href: `/videos/${video.video_id}` }, "Watch the clip"));
  }
  if (deletable(video.status)) {
    const button = h("button", { type: "button", className: "danger" }, "Delete");
    button.setAttribute("aria-label", `Delete ${video.title}`);
    button.addEventListener("click", () => remove(video, button));
    actions.append(button);
  } else {
    actions.append(h("span", { className: "reason" }, NOT_DELETABLE));
  }
  parts.push(actions);
  return parts;
}

// Items are updated in place and only when something changed, so focus and reading position
// survive the polling.
function show(video) {
  let item = items.get(video.video_id);
  if (!item) {
    item = { li: h("li", { className: "my-video", dataset: { videoId: video.video_id } }) };
    items.set(video.video_id, item);
  }
  const key = `${video.status}|${video.progress ?? ""}|${video.error ?? ""}`;
  if (item.key !== key) {
    item.key = key;
    item.li.dataset.status = video.status;
    item.li.replaceChildren(...body(video).filter(Boolean));
  }
  return item.li;
}

async function refresh() {
  const videos = await api("/api/videos");
  // The list has no progress; the detail has it (when the pipeline reports it) and the reason.
  const details = await Promise.all(
    videos.map((video) =>
      video.status === "processing" || video.status === "failed"
        ? api(`/api/videos/${video.video_id}`).then((detail) => ({ ...video, ...detail }), () => video)
        : video,
    ),
  );
  const seen = new Set(details.map((video) => video.video_id));
  for (const [id, item] of items) {
    if (!seen.has(id)) {
      item.li.remove();
      items.delete(id);
    }
  }
  details.sort((a, b) => (a.uploaded_at < b.uploaded_at ? 1 : -1));
  const nodes = details.map(show);
  // Moving a node would drop the keyboard focus inside it: reorder only when the order changed.
  if (nodes.some((node, index) => list.children[index] !== node)) list.append(...nodes);
  empty.hidden = details.length > 0;
  if (message.dataset.kind === "error") say(message, null);
  return details.some((video) => PENDING.has(video.status));
}

poll(refresh, (error) => {
  if (error.status === 401) location.replace(loginUrl()); // the session ended
  else say(message, `Could not refresh: ${error.detail ?? error}`, "error");
});
