// DOM helpers. Every piece of data from the API (titles above all) is inserted as text — text
// nodes, textContent, attributes — never parsed as HTML.

/** h("a", {href: "/x", className: "c"}, "text", otherNode): an element; strings become text. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Show (or with text null, hide) a message in a live region; kind: "error" | "ok" | "info". */
export function say(region, text, kind = "info") {
  region.textContent = text ?? "";
  region.hidden = !text;
  region.dataset.kind = kind;
}

// The API sends UTC timestamps; SQLite's may come without the offset.
export function formatTime(iso) {
  if (!iso) return "";
  const hasZone = /[zZ]|[+-]\d\d:?\d\d$/.test(iso);
  const date = new Date(hasZone ? iso : `${iso}Z`);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export const STATUS_TEXT = {
  uploaded: "Uploaded, waiting to be processed",
  processing: "Processing",
  processed: "Processed — public",
  failed: "Failed",
};

export function statusBadge(status) {
  return h("span", { className: `badge badge-${status}`, dataset: { status } }, STATUS_TEXT[status] ?? status);
}

export function votesText(votes) {
  return votes === 1 ? "1 vote" : `${votes} votes`;
}

/** Integer query parameter >= 1 (default 1). */
export function pageParam(params) {
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  return Number.isFinite(page) && page >= 1 ? page : 1;
}

/** Previous/next links keeping the other query parameters; next only when the page was full. */
export function pager(nav, params, page, hasNext) {
  nav.replaceChildren();
  const link = (target, text, rel) => {
    const next = new URLSearchParams(params);
    next.set("page", String(target));
    return h("a", { href: `?${next}`, rel, className: "button secondary" }, text);
  };
  if (page > 1) nav.append(link(page - 1, "← Previous page", "prev"));
  nav.append(h("span", { className: "page-number" }, `Page ${page}`));
  if (hasNext) nav.append(link(page + 1, "Next page →", "next"));
}

/**
 * A player for a processed clip: poster shown before it plays, native keyboard controls.
 * `lazy` (the gallery): with a poster to show, nothing is downloaded before Play.
 */
export function clipPlayer(url, poster, label, { lazy = false } = {}) {
  return h("video", {
    src: url,
    poster: poster || undefined,
    controls: true,
    preload: lazy && poster ? "none" : "metadata",
    playsinline: true,
    "aria-label": label,
  });
}
