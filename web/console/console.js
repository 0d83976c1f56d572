// The operators' console: executions, each run drawn on its state machine, the DLQ, the queues
// and the charts. Everything comes from /api/console/* (operators only); every value from the
// API is inserted as text or as an SVG attribute, never parsed as HTML. The graph is laid out
// here from the ASL definition the API returns (the one the execution ran), so it always matches
// the deployed file; the charts are plain SVG too (no library, no CDN).

import { api, ApiError } from "/static/js/api.js";
import { requireUser } from "/static/js/session.js";
import { h, $ } from "/static/js/ui.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const REFRESH_MS = 5000;
// Events `vidpipe history` hides unless --all (vidpipe/history.py NOISE).
const NOISE = new Set(["TaskScheduled", "TaskStarted", "TaskSubmitted", "ChoiceStateExited", "SucceedStateExited"]);

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --- formatting -------------------------------------------------------------------------------

function utc(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)}`;
}

function clock(iso) {
  return iso ? new Date(iso).toISOString().slice(11, 23) : "";
}

export function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const m = Math.floor(value / 60);
  return `${m} min ${Math.round(value - 60 * m)} s`;
}

function usd(value) {
  if (value === null || value === undefined) return "–";
  return value < 0.01 ? `$${value.toFixed(5)}` : `$${value.toFixed(2)}`;
}

function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let v = value;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function statusBadge(status) {
  return h("span", { className: `console-badge console-badge--${String(status).toLowerCase()}` }, status);
}

function showError(error) {
  const box = $("#console-error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = error instanceof ApiError ? error.detail : String(error);
  box.hidden = false;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// --- the graph ----------------------------------------------------------------------------------

/** The transitions an ASL definition allows: Next, Default, each Choice and each Catch. */
export function aslEdges(definition) {
  const edges = [];
  for (const [name, state] of Object.entries(definition.States || {})) {
    if (state.Next) edges.push({ from: name, to: state.Next, kind: "next" });
    for (const choice of state.Choices || []) {
      if (choice.Next) edges.push({ from: name, to: choice.Next, kind: "choice" });
    }
    if (state.Default) edges.push({ from: name, to: state.Default, kind: "choice" });
    for (const handler of state.Catch || []) {
      if (handler.Next) edges.push({ from: name, to: handler.Next, kind: "catch" });
    }
  }
  // One line per pair (a state may reach the same state by Next and by Catch): Next wins.
  const seen = new Map();
  for (const edge of edges) {
    const key = `${edge.from}\u0000${edge.to}`;
    if (!seen.has(key) || edge.kind === "next") seen.set(key, edge);
  }
  return [...seen.values()];
}

/** Layered layout: a state's layer is its longest path from StartAt (back edges ignored), and
 * each layer is ordered by the mean position of its predecessors to keep lines from crossing. */
export function layoutGraph(definition) {
  const names = Object.keys(definition.States || {});
  const edges = aslEdges(definition).filter((e) => names.includes(e.to));
  const out = new Map(names.map((n) => [n, []]));
  for (const e of edges) out.get(e.from).push(e.to);
  // Depth-first from StartAt: discovery order, and back edges (into a state on the stack).
  const order = [];
  const onStack = new Set();
  const done = new Set();
  const back = new Set();
  const visit = (n) => {
    onStack.add(n);
    for (const m of out.get(n)) {
      if (onStack.has(m)) back.add(`${n}\u0000${m}`);
      else if (!done.has(m)) visit(m);
    }
    onStack.delete(n);
    done.add(n);
    order.push(n);
  };
  if (definition.StartAt && out.has(definition.StartAt)) visit(definition.StartAt);
  for (const n of names) if (!done.has(n)) visit(n);
  order.reverse(); // a topological order of the forward edges
  const layer = new Map(names.map((n) => [n, 0]));
  for (const n of order) {
    for (const m of out.get(n)) {
      if (!back.has(`${n}\u0000${m}`)) layer.set(m, Math.max(layer.get(m), layer.get(n) + 1));
    }
  }
  const layers = [];
  for (const n of order) (layers[layer.get(n)] ||= []).push(n);
  const position = new Map();
  layers.forEach((row, i) => {
    if (i > 0) {
      const weight = (n) => {
        const parents = edges.filter((e) => e.to === n && position.has(e.from)).map((e) => position.get(e.from));
        return parents.length ? parents.reduce((a, b) => a + b, 0) / parents.length : 0;
      };
      row.sort((a, b) => weight(a) - weight(b));
    }
    row.forEach((n, j) => position.set(n, j - (row.length - 1) / 2));
  });
  return { layers, layer, position, edges, back };
}

const NODE_W = 168;
const NODE_H = 40;
const GAP_X = 28;
const GAP_Y = 46;

export function drawGraph(definition, path) {
  const { layers, layer, position, edges, back } = layoutGraph(definition);
  const widest = Math.max(1, ...layers.map((row) => row.length));
  const width = widest * NODE_W + (widest + 1) * GAP_X;
  const height = layers.length * NODE_H + (layers.length + 1) * GAP_Y;
  const cx = (n) => width / 2 + position.get(n) * (NODE_W + GAP_X);
  const top = (n) => GAP_Y + layer.get(n) * (NODE_H + GAP_Y);
  const states = path?.states || {};
  const taken = new Set((path?.transitions || []).map(([a, b]) => `${a}\u0000${b}`));

  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "graph",
    role: "img",
    "aria-labelledby": "graph-title",
    width,
    height,
  });
  root.append(svg("title", { id: "graph-title" }, "The state machine, with the path this execution took"));
  const defs = svg("defs");
  for (const kind of ["plain", "taken"]) {
    defs.append(
      svg(
        "marker",
        { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow arrow--${kind}` }),
      ),
    );
  }
  root.append(defs);

  const lines = svg("g", { class: "edges" });
  for (const e of edges) {
    const isTaken = taken.has(`${e.from}\u0000${e.to}`);
    let d;
    if (back.has(`${e.from}\u0000${e.to}`) || layer.get(e.to) <= layer.get(e.from)) {
      // Back edge: out of the right side, round the outside, into the target's right side.
      const x1 = cx(e.from) + NODE_W / 2;
      const y1 = top(e.from) + NODE_H / 2;
      const x2 = cx(e.to) + NODE_W / 2;
      const y2 = top(e.to) + NODE_H / 2;
      const bend = Math.max(x1, x2) + GAP_X;
      d = `M${x1},${y1} C${bend},${y1} ${bend},${y2} ${x2},${y2}`;
    } else {
      const x1 = cx(e.from);
      const y1 = top(e.from) + NODE_H;
      const x2 = cx(e.to);
      const y2 = top(e.to);
      const mid = (y1 + y2) / 2;
      d = `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`;
    }
    const classes = ["edge", `edge--${e.kind}`];
    if (isTaken) classes.push("edge--taken");
    lines.append(
      svg(
        "path",
        { d, class: classes.join(" "), "marker-end": `url(#arrow-${isTaken ? "taken" : "plain"})`, "data-from": e.from, "data-to": e.to },
        svg("title", {}, `${e.from} → ${e.to} (${e.kind}${isTaken ? ", taken" : ""})`),
      ),
    );
  }
  root.append(lines);

  const nodes = svg("g", { class: "nodes" });
  for (const [name, state] of Object.entries(definition.States || {})) {
    const info = states[name];
    const status = info ? info.status : "unvisited";
    const x = cx(name) - NODE_W / 2;
    const y = top(name);
    const label = name.length > 22 ? `${name.slice(0, 21)}…` : name;
    let note = `${name} (${state.Type}): ${status === "unvisited" ? "not reached" : status}`;
    if (info?.entered > 1) note += `, entered ${info.entered} times`;
    if (info?.errors) note += `, ${info.errors} error${info.errors > 1 ? "s" : ""}`;
    const classes = ["node", `node--${status}`, `node--${String(state.Type).toLowerCase()}`];
    if (path?.failed_state === name) classes.push("node--root-cause");
    nodes.append(
      svg(
        "g",
        { class: classes.join(" "), "data-state": name, "data-status": status },
        svg("title", {}, note),
        svg("rect", { x, y, width: NODE_W, height: NODE_H, rx: state.Type === "Choice" ? 18 : 6 }),
        svg("text", { x: x + NODE_W / 2, y: y + NODE_H / 2 - 4, "text-anchor": "middle", class: "node-name" }, label),
        svg("text", { x: x + NODE_W / 2, y: y + NODE_H / 2 + 11, "text-anchor": "middle", class: "node-type" },
          info?.errors ? `${state.Type} · ${info.errors} error${info.errors > 1 ? "s" : ""}` : state.Type),
      ),
    );
  }
  root.append(nodes);
  return root;
}

// --- charts -----------------------------------------------------------------------------------

const CHART_W = 560;
const CHART_H = 200;
const PAD = { left: 56, right: 16, top: 14, bottom: 34 };

function niceMax(value) {
  if (value <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= value) return m * p;
  return 10 * p;
}

function chartFrame(label) {
  return svg("svg", { viewBox: `0 0 ${CHART_W} ${CHART_H}`, class: "chart", role: "img", "aria-label": label });
}

function yAxis(root, max, format = (v) => String(v)) {
  const plotH = CHART_H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i += 1) {
    const v = (max * i) / 4;
    const y = PAD.top + plotH - (plotH * i) / 4;
    root.append(svg("line", { x1: PAD.left, x2: CHART_W - PAD.right, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: PAD.left - 4, y: y + 4, "text-anchor": "end", class: "tick" }, format(v)));
  }
}

function emptyChart(figure, text) {
  figure.querySelector("svg")?.remove();
  figure.querySelector(".chart-empty")?.remove();
  figure.append(h("p", { className: "chart-empty" }, text));
}

function placeChart(figure, root) {
  figure.querySelector("svg")?.remove();
  figure.querySelector(".chart-empty")?.remove();
  figure.insertBefore(root, figure.querySelector("figcaption"));
}

/** Grouped bars: series = [{key, label, className}], rows = [{label, <key>: number}]. */
export function barChart(rows, series, { label, format } = {}) {
  const root = chartFrame(label);
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => series.map((s) => r[s.key] || 0))));
  yAxis(root, max, format);
  const plotW = CHART_W - PAD.left - PAD.right;
  const plotH = CHART_H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(rows.length, 1);
  const barW = Math.max(1, (slot * 0.8) / series.length);
  const every = Math.ceil(rows.length / 8);
  rows.forEach((row, i) => {
    series.forEach((s, j) => {
      const v = row[s.key] || 0;
      if (v <= 0) return; // nothing to draw
      const hgt = (plotH * v) / max;
      const x = PAD.left + i * slot + slot * 0.1 + j * barW;
      root.append(
        svg("rect", { x, y: PAD.top + plotH - hgt, width: barW, height: hgt, class: `bar ${s.className}`, "data-value": v },
          svg("title", {}, `${row.label}: ${format ? format(v) : v} ${s.label}`)),
      );
    });
    if (i % every === 0) {
      root.append(svg("text", { x: PAD.left + i * slot + slot / 2, y: CHART_H - PAD.bottom + 16, "text-anchor": "middle", class: "tick" }, row.label));
    }
  });
  const legend = svg("g", { class: "legend" });
  series.forEach((s, j) => {
    const x = PAD.left + j * 110;
    legend.append(svg("rect", { x, y: CHART_H - 12, width: 10, height: 10, class: `bar ${s.className}` }));
    legend.append(svg("text", { x: x + 14, y: CHART_H - 3, class: "tick" }, s.label));
  });
  root.append(legend);
  return root;
}

/** Histogram of processing times with the p50 and p95 marked. */
export function durationChart(data) {
  const root = chartFrame(`Processing time: p50 ${seconds(data.p50)}, p95 ${seconds(data.p95)}, ${data.count} runs`);
  const buckets = data.histogram;
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.count)));
  yAxis(root, max, (v) => (Number.isInteger(v) ? String(v) : ""));
  const plotW = CHART_W - PAD.left - PAD.right;
  const plotH = CHART_H - PAD.top - PAD.bottom;
  const lo = buckets[0].start;
  const hi = buckets[buckets.length - 1].end;
  const xOf = (v) => PAD.left + (plotW * (v - lo)) / Math.max(hi - lo, 1e-9);
  for (const b of buckets) {
    const hgt = (plotH * b.count) / max;
    root.append(
      svg("rect", { x: xOf(b.start) + 1, y: PAD.top + plotH - hgt, width: Math.max(1, xOf(b.end) - xOf(b.start) - 2), height: hgt, class: "bar bar--processed" },
        svg("title", {}, `${seconds(b.start)}–${seconds(b.end)}: ${b.count} runs`)),
    );
  }
  for (const [name, v] of [["p50", data.p50], ["p95", data.p95]]) {
    const x = xOf(v);
    root.append(svg("line", { x1: x, x2: x, y1: PAD.top, y2: PAD.top + plotH, class: `marker marker--${name}` }));
    root.append(svg("text", { x: x + 3, y: PAD.top + (name === "p50" ? 10 : 24), class: "tick marker-label" }, `${name} ${seconds(v)}`));
  }
  for (const [v, anchor] of [[lo, "start"], [(lo + hi) / 2, "middle"], [hi, "end"]]) {
    root.append(svg("text", { x: xOf(v), y: CHART_H - PAD.bottom + 16, "text-anchor": anchor, class: "tick" }, seconds(v)));
  }
  return root;
}

// --- views ----------------------------------------------------------------------------------

let timer = null;
let executionsToken = null;
let executionsPaged = false; // "Load more" used: refreshing the first page would drop the rest
let currentExecution = null;

function schedule(fn) {
  clearTimeout(timer);
  timer = setTimeout(fn, REFRESH_MS);
}

function videoCell(videoId, title) {
  return videoId ? h("span", {}, title ? h("span", { className: "video-title" }, title) : null, h("code", { className: "video-id" }, videoId)) : "–";
}

async function loadOverview() {
  const [queues, stats] = await Promise.all([api("/api/console/queues"), api("/api/console/stats")]);
  $("#queues").replaceChildren(
    ...queues.queues.map((q) =>
      h("div", { className: "queue-card", dataset: { queue: q.name } },
        h("h3", {}, q.name === "dlq" ? "DLQ" : `${q.name} queue`),
        h("p", { className: "queue-number" }, String(q.visible)),
        h("p", { className: "queue-note" }, `${q.in_flight} in flight, ${q.delayed} delayed`)),
    ),
  );
  fill(
    $("#running tbody"),
    queues.running.map((job) => {
      const progress = job.progress ?? null;
      return h("tr", { dataset: { video: job.video_id } },
        h("td", {}, h("a", { href: `#/executions/${job.execution}` }, videoCell(job.video_id, job.title))),
        h("td", {}, String(job.attempt)),
        h("td", {}, progress === null ? "starting" : h("span", {}, h("progress", { max: 100, value: progress, "aria-label": `progress of ${job.title}` }), ` ${progress} %`)),
        h("td", {}, utc(job.processing_since)));
    }),
  );
  $("#running-empty").hidden = queues.running.length > 0;

  const hourly = stats.hourly.map((r) => ({ ...r, label: r.hour.slice(11, 13) + "h" }));
  placeChart($("#chart-hourly"), barChart(hourly, [
    { key: "processed", label: "processed", className: "bar--processed" },
    { key: "failed", label: "failed", className: "bar--failed" },
  ], { label: "Videos processed and failed per hour", format: (v) => (Number.isInteger(v) ? String(v) : "") }));
  if (stats.processing_seconds.count) placeChart($("#chart-durations"), durationChart(stats.processing_seconds));
  else emptyChart($("#chart-durations"), "No processed run yet.");
  const days = stats.cost_per_day.map((r) => ({ ...r, label: r.day.slice(5) }));
  if (days.some((d) => d.cost_usd > 0)) {
    placeChart($("#chart-cost"), barChart(days, [{ key: "cost_usd", label: "USD", className: "bar--cost" }], {
      label: "Estimated cost per day",
      format: (v) => (v >= 1 ? v.toFixed(0) : v.toPrecision(2)),
    }));
  } else emptyChart($("#chart-cost"), "No run with a cost yet.");
}

function executionRow(e) {
  return h("tr", { dataset: { execution: e.name, status: e.status } },
    h("td", {}, utc(e.start_date)),
    h("td", {}, h("a", { href: `#/executions/${e.name}` }, e.name)),
    h("td", {}, e.title ? e.title : "–"),
    h("td", {}, e.attempt === null ? "–" : String(e.attempt)),
    h("td", {}, statusBadge(e.status)),
    h("td", {}, e.duration_seconds === null ? "running" : seconds(e.duration_seconds)));
}

async function loadExecutions({ more = false } = {}) {
  const params = new URLSearchParams({ limit: "25" });
  const status = $("#status-filter").value;
  if (status) params.set("status", status);
  if (more && executionsToken) params.set("next_token", executionsToken);
  const page = await api(`/api/console/executions?${params}`);
  const body = $("#executions tbody");
  const rows = page.executions.map(executionRow);
  if (more) body.append(...rows);
  else fill(body, rows);
  executionsPaged = more;
  executionsToken = page.next_token;
  $("#executions-more").hidden = !executionsToken;
  $("#executions-empty").hidden = body.children.length > 0;
}

function summaryItem(term, ...value) {
  return [h("dt", {}, term), h("dd", {}, ...value)];
}

function renderTimeline(events) {
  const all = $("#timeline-all").checked;
  fill(
    $("#timeline tbody"),
    events
      .filter((row) => all || !NOISE.has(row.event))
      .map((row) => {
        const error = row.error ? (row.cause ? `${row.error}: ${row.cause}` : row.error) : row.cause || "";
        return h("tr", { className: row.error ? "row--error" : "", dataset: { event: row.event } },
          h("td", {}, clock(row.time)),
          h("td", { className: "num" }, row.elapsed_seconds.toFixed(3)),
          h("td", {}, row.state || "–"),
          h("td", {}, row.event),
          h("td", { className: "num" }, row.duration_seconds === null ? "" : `${row.duration_seconds.toFixed(3)}s`),
          h("td", { className: "error-cell" }, error));
      }),
  );
}

async function loadExecution(name) {
  const detail = await api(`/api/console/executions/${encodeURIComponent(name)}`);
  currentExecution = detail;
  const e = detail.execution;
  $("#h-execution").textContent = `Execution ${e.name}`;
  const items = [
    ...summaryItem("Status", statusBadge(e.status)),
    ...summaryItem("Video", detail.video ? `${detail.video.title} (${detail.video.status}, current attempt ${detail.video.attempt})` : "deleted"),
    ...summaryItem("Attempt", e.attempt === null ? "–" : String(e.attempt)),
    ...summaryItem("Started", utc(e.start_date)),
    ...summaryItem("Duration", e.duration_seconds === null ? "running" : seconds(e.duration_seconds)),
  ];
  if (detail.path.failed_state) items.push(...summaryItem("Failed in", h("strong", { id: "failed-state" }, detail.path.failed_state)));
  const failure = detail.events.filter((r) => r.error).at(0);
  if (failure) items.push(...summaryItem("Error", h("span", { id: "execution-error" }, failure.cause ? `${failure.error}: ${failure.cause}` : failure.error)));
  if (detail.video?.error) items.push(...summaryItem("Reason shown to the player", detail.video.error));
  const run = detail.run;
  if (run && run.cost_usd !== null) {
    items.push(
      ...summaryItem("Cost (estimated)", h("span", { id: "run-cost" }, usd(run.cost_usd))),
      ...summaryItem("Resources", `${seconds(run.wall_seconds)} wall, ${seconds(run.cpu_seconds)} CPU, peak ${run.peak_memory_mb ?? "–"} MB, in ${bytes(run.input_bytes)}, out ${bytes(run.output_bytes)}`),
    );
  }
  $("#execution-summary").replaceChildren(...items);
  fill(
    $("#runs tbody"),
    detail.runs.map((r) =>
      h("tr", { dataset: { attempt: r.attempt } },
        h("td", {}, String(r.attempt)),
        h("td", {}, r.status),
        h("td", {}, utc(r.finished_at)),
        h("td", { className: "num" }, seconds(r.processing_seconds)),
        h("td", { className: "num" }, seconds(r.cpu_seconds)),
        h("td", { className: "num" }, r.peak_memory_mb === null ? "–" : `${r.peak_memory_mb} MB`),
        h("td", {}, `${bytes(r.input_bytes)} / ${bytes(r.output_bytes)}`),
        h("td", { className: "num" }, usd(r.cost_usd)))),
  );
  const priced = detail.runs.filter((r) => r.cost_usd !== null);
  $("#runs-total").textContent = priced.length ? usd(priced.reduce((sum, r) => sum + r.cost_usd, 0)) : "–";
  $("#runs").hidden = detail.runs.length === 0;
  $("#runs-empty").hidden = detail.runs.length > 0;
  $("#graph").replaceChildren(drawGraph(detail.definition, detail.path));
  $("#path").textContent = `Path taken: ${detail.path.visited.map((n) => (detail.path.states[n].status === "failed" ? `${n} (failed)` : n)).join(" → ")}`;
  renderTimeline(detail.events);
  return e.status === "RUNNING";
}

function dlqRow(m) {
  const act = (label, fn) => h("button", { type: "button", className: "secondary", onclick: fn, "aria-label": `${label} video ${m.video_id}` }, label);
  const actions = m.video_id
    ? [act("Retry", () => dlqAction(`/api/console/videos/${m.video_id}/retry`, {})), " ", act("Redrive", () => dlqAction("/api/console/dlq/redrive", { video_ids: [m.video_id] }))]
    : [];
  return h("tr", { dataset: { video: m.video_id || "" } },
    h("td", {}, m.video_id ? (m.execution ? h("a", { href: `#/executions/${m.execution}` }, m.video_id) : m.video_id) : "?"),
    h("td", {}, m.attempt === null || m.attempt === undefined ? "?" : String(m.attempt)),
    h("td", {}, m.error || "?"),
    h("td", { className: "error-cell" }, m.cause || ""),
    h("td", { className: "actions" }, ...actions));
}

function dlqBusy(busy) {
  // Reading the DLQ hides its messages for a moment: no action may start meanwhile (it would
  // find nothing), and no stale row stays on screen.
  $("#view-dlq").setAttribute("aria-busy", String(busy));
  for (const b of document.querySelectorAll("#view-dlq button")) b.disabled = busy;
}

async function loadDlq() {
  dlqBusy(true);
  fill($("#dlq tbody"), []);
  $("#dlq-empty").hidden = true;
  try {
    const data = await api("/api/console/dlq");
    fill($("#dlq tbody"), data.messages.map(dlqRow));
    $("#dlq-empty").hidden = data.messages.length > 0;
    dlqBusy(false);
    $("#dlq-redrive-all").disabled = data.messages.length === 0;
  } catch (error) {
    dlqBusy(false);
    throw error;
  }
}

async function dlqAction(path, json) {
  const status = $("#dlq-status");
  dlqBusy(true);
  try {
    const result = await api(path, { method: "POST", json });
    status.textContent = result.message;
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    await loadDlq().catch(showError);
  }
}

// --- routing ----------------------------------------------------------------------------------

const VIEWS = ["overview", "executions", "execution", "dlq"];

function show(view) {
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== view;
  $("#console-loading").hidden = true;
  for (const link of document.querySelectorAll(".console-nav a")) {
    const target = link.getAttribute("href").slice(2) || "overview";
    if (target === view || (view === "execution" && target === "executions")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  clearTimeout(timer);
  const hash = location.hash.replace(/^#\/?/, "");
  const [section, ...rest] = hash.split("/");
  try {
    if (section === "executions" && rest.length) {
      show("execution");
      const running = await loadExecution(decodeURIComponent(rest.join("/")));
      if (running) schedule(route);
    } else if (section === "executions") {
      show("executions");
      await loadExecutions();
      schedule(refreshExecutions);
    } else if (section === "dlq") {
      show("dlq");
      await loadDlq();
    } else {
      show("overview");
      await loadOverview();
      schedule(route);
    }
    showError(null);
  } catch (error) {
    showError(error);
    if (!(error instanceof ApiError && [401, 403, 404].includes(error.status))) schedule(route);
  }
}

// The list refreshes itself, unless more pages were loaded (a refresh shows the first page only).
async function refreshExecutions() {
  if (!executionsPaged) await loadExecutions().catch(showError);
  schedule(refreshExecutions);
}

async function start() {
  const user = await requireUser();
  if (!user.is_operator) {
    $("#console-loading").hidden = true;
    showError("The console is for operators. Ask an operator to run `vidpipe users grant-operator <your email>`.");
    return;
  }
  $("#status-filter").addEventListener("change", () => loadExecutions().catch(showError));
  $("#executions-more").addEventListener("click", () => loadExecutions({ more: true }).catch(showError));
  $("#timeline-all").addEventListener("change", () => currentExecution && renderTimeline(currentExecution.events));
  $("#dlq-refresh").addEventListener("click", () => loadDlq().catch(showError));
  $("#dlq-redrive-all").addEventListener("click", () => dlqAction("/api/console/dlq/redrive", {}));
  window.addEventListener("hashchange", route);
  await route();
}

start().catch(showError);
