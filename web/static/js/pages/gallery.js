import { api } from "../api.js";
import { currentUser } from "../session.js";
import { $, clipPlayer, h, pageParam, pager, say } from "../ui.js";
import { ownVideoIds, voteControl } from "../votes.js";

const PAGE_SIZE = 12;
const params = new URLSearchParams(location.search);
const city = (params.get("city") ?? "").trim();
const page = pageParam(params);
const list = $("#videos");
const message = $("#message");

// Only fill the field from the URL: never overwrite what someone typed while the page loaded.
if (city) $("#city").value = city;
$("#clear-city").hidden = !city;
if (city) document.title = `Gallery: ${city} · vidpipe showcase`;

function card(video, user, ownIds) {
  return h(
    "li",
    { className: "card", dataset: { videoId: video.video_id } },
    clipPlayer(video.processed_url, video.poster_url, `Clip: ${video.title}`, { lazy: true }),
    h(
      "div",
      { className: "card-body" },
      h("h2", {}, h("a", { href: `/videos/${video.video_id}` }, video.title)),
      h(
        "p",
        { className: "meta" },
        video.player,
        " · ",
        h("a", { href: `/?city=${encodeURIComponent(video.city)}` }, video.city),
      ),
      voteControl(video, user, ownIds),
    ),
  );
}

async function load() {
  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
  if (city) query.set("city", city);
  const user = await currentUser();
  const [videos, ownIds] = await Promise.all([
    api(`/api/public/videos?${query}`),
    ownVideoIds(user),
  ]);
  list.replaceChildren(...videos.map((video) => card(video, user, ownIds)));
  if (!videos.length) {
    say(message, page > 1 ? "No more videos." : city ? `No public videos from ${city} yet.` : "No public videos yet.");
  }
  pager($("#pager"), params, page, videos.length === PAGE_SIZE);
}

load().catch((error) => say(message, `The gallery could not be loaded: ${error.detail ?? error}`, "error"));
