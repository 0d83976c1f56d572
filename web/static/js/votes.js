// The Vote button with its reason, shared by the gallery and a video's page.

import { api, ApiError } from "./api.js";
import { loginUrl } from "./session.js";
import { h, votesText } from "./ui.js";

/** The reason the signed-in (or anonymous) visitor cannot vote for this video, or null. */
function blocked(video, user, ownIds) {
  if (!user) return "login";
  if (ownIds.has(video.video_id)) return "This is your clip: players cannot vote for their own videos.";
  if (video.voted === true) return "You already voted for this video.";
  return null;
}

export function voteControl(video, user, ownIds) {
  const reasonId = `vote-reason-${video.video_id}`;
  let votes = video.votes;
  const count = h("span", { className: "votes", "aria-live": "polite" }, votesText(votes));
  const button = h(
    "button",
    { type: "button", "aria-describedby": reasonId, "aria-label": `Vote for ${video.title}` },
    "Vote",
  );
  const reason = h("p", { className: "reason", id: reasonId });

  const disable = (text, ...nodes) => {
    button.disabled = true;
    reason.replaceChildren(text, ...nodes);
  };
  const why = blocked(video, user, ownIds);
  if (why === "login") disable("", h("a", { href: loginUrl() }, "Log in"), " to vote.");
  else if (why) disable(why);

  button.addEventListener("click", async () => {
    button.disabled = true;
    reason.textContent = "Sending your vote…";
    try {
      await api(`/api/public/videos/${encodeURIComponent(video.video_id)}/vote`, { method: "POST" });
      votes += 1;
      count.textContent = votesText(votes);
      button.textContent = "Voted";
      reason.textContent = "Thanks, your vote was recorded.";
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        disable("Your session has ended. ", h("a", { href: loginUrl() }, "Log in again"), " to vote.");
      } else if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        // 400: already voted or own video; 404: no longer public. The API's sentence says which.
        disable(error.detail);
      } else {
        button.disabled = false;
        reason.textContent = `The vote was not recorded: ${error.detail ?? error}. Try again.`;
      }
    }
  });
  return h("div", { className: "vote" }, count, button, reason);
}

/** The ids of the signed-in player's own videos (to disable voting for them). */
export async function ownVideoIds(user) {
  if (!user) return new Set();
  const mine = await api("/api/videos");
  return new Set(mine.map((video) => video.video_id));
}
