import { api } from "../api.js";
import { currentUser } from "../session.js";
import { $, h, pageParam, pager, say } from "../ui.js";

const PAGE_SIZE = 20;
const params = new URLSearchParams(location.search);
const city = (params.get("city") ?? "").trim();
const page = pageParam(params);
const message = $("#message");

// Only fill the field from the URL: never overwrite what someone typed while the page loaded.
if (city) $("#city").value = city;
$("#clear-city").hidden = !city;
$("#rankings-caption").textContent = city ? `Players from ${city}, page ${page}` : `All cities, page ${page}`;
if (city) document.title = `Rankings: ${city} · vidpipe showcase`;
currentUser().catch(() => {}); // only the navigation depends on it here

async function load() {
  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
  if (city) query.set("city", city);
  const rows = await api(`/api/public/rankings?${query}`);
  $("#rankings tbody").replaceChildren(
    ...rows.map((row) =>
      h(
        "tr",
        {},
        h("td", {}, String(row.position)),
        h("th", { scope: "row" }, row.username),
        h("td", {}, h("a", { href: `/rankings?city=${encodeURIComponent(row.city)}` }, row.city)),
        h("td", {}, String(row.votes)),
      ),
    ),
  );
  if (!rows.length) say(message, page > 1 ? "No more players." : "No ranked players yet.");
  pager($("#pager"), params, page, rows.length === PAGE_SIZE);
}

load().catch((error) => say(message, `The rankings could not be loaded: ${error.detail ?? error}`, "error"));
