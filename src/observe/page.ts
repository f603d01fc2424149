/**
 * The status page served at `/` of the status port: one HTML file with its
 * style and a small script that reads `/status` every 5 s and draws each
 * chain (state, providers and heartbeats, counters, expected files, the
 * last files with their latency, a latency plot over the last 6 hours as
 * inline SVG). No build step, no external assets: stations are often
 * offline.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>move_it status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  h2 { font-size: 1.1em; margin: 0; display: inline-block; }
  .meta { color: #666; margin-bottom: 1em; }
  .chain { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8em 1em; margin: 0 0 1em; }
  .state { display: inline-block; padding: 0 .6em; border-radius: 1em; margin-left: .6em; font-weight: 600; color: #fff; }
  .state.running { background: #2e7d32; } .state.idle { background: #757575; }
  .state.lagging { background: #ef6c00; } .state.failing { background: #c62828; }
  .role { color: #666; margin-left: .4em; }
  table { border-collapse: collapse; margin: .4em 0; }
  td, th { padding: .1em .8em .1em 0; text-align: left; vertical-align: top; }
  th { color: #555; font-weight: 600; }
  .counters span { margin-right: 1.2em; } .counters b { font-variant-numeric: tabular-nums; }
  .down { color: #c62828; font-weight: 600; } .up { color: #2e7d32; }
  .missing { color: #c62828; }
  svg { background: #f4f6f8; border: 1px solid #e0e0e0; }
  #error { color: #c62828; }
</style>
</head>
<body>
<h1 id="title">move_it status</h1>
<div class="meta" id="meta">loading…</div>
<div id="error"></div>
<div id="chains"></div>
<script>
"use strict";
const REFRESH_MS = 5000;
const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const ago = (ms, now) => (ms > 0 ? seconds((now - ms) / 1000) + " ago" : "never");
const seconds = (s) => (s < 1 ? (s * 1000).toFixed(0) + " ms" : s < 120 ? s.toFixed(1) + " s" : s < 7200 ? (s / 60).toFixed(1) + " min" : (s / 3600).toFixed(1) + " h");
const time = (ms) => new Date(ms).toISOString().slice(11, 19) + "Z";
const bytes = (n) => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i > 0 && n < 10 ? n.toFixed(1) : Math.round(n)) + " " + units[i];
};

function table(head, rows, attrs) {
  return el("table", attrs, el("tr", {}, ...head.map((h) => el("th", {}, h))), ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c)))));
}

function plot(series, now) {
  const W = 600, H = 120, span = 6 * 3600 * 1000, from = now - span;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("data-testid", "latency-plot");
  const max = Math.max(1, ...series.map((p) => p.max));
  const x = (t) => ((t - from) / span) * (W - 40) + 35;
  const y = (v) => H - 15 - (v / max) * (H - 25);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  add("text", { x: 2, y: 12, "font-size": 10 }, seconds(max));
  add("text", { x: 2, y: H - 4, "font-size": 10 }, "-6 h");
  add("text", { x: W - 30, y: H - 4, "font-size": 10 }, "now");
  add("text", { x: W / 2 - 90, y: 12, "font-size": 10 }, "latency per minute: mean (bars), max (dots)");
  for (const p of series) {
    add("rect", { x: x(p.t), y: y(p.mean), width: 2, height: Math.max(1, H - 15 - y(p.mean)), fill: "#1976d2", "data-testid": "latency-point" }).append(
      Object.assign(document.createElementNS("http://www.w3.org/2000/svg", "title"), { textContent: time(p.t) + ": " + p.files + " files, mean " + seconds(p.mean) + ", max " + seconds(p.max) }));
    add("circle", { cx: x(p.t) + 1, cy: y(p.max), r: 1.5, fill: "#d32f2f" });
  }
  return svg;
}

function chain(c, now) {
  const box = el("section", { class: "chain", "data-chain": c.name, "data-role": c.role });
  box.append(el("h2", {}, c.name), el("span", { class: "role" }, c.role), el("span", { class: "state " + c.state, "data-testid": "state" }, c.state));
  const counters = [["pending", c.pending], ["in flight", c.inFlight], ["retrying", c.retrying], [c.role === "server" ? "pushed" : "delivered", c.delivered],
    ["failed", c.failed], ["late", c.late], ["missing", c.missing], ["files/min", c.filesPerMinute.toFixed(1)], ["bytes/min", bytes(c.bytesPerMinute)]];
  box.append(el("div", { class: "counters" }, ...counters.map(([k, v]) => el("span", { "data-counter": k }, k + " ", el("b", {}, v)))));
  if (c.providers.length > 0) {
    box.append(table(["provider", "", "last heard", "heartbeats", "missed"], c.providers.map((p) => [
      p.address, el("span", { class: p.up ? "up" : "down" }, p.up ? "up" : "down"), ago(p.lastHeardAt, now), p.heartbeats, p.missedHeartbeats]), { "data-testid": "providers" }));
  }
  if (c.expected) {
    const e = c.expected;
    box.append(el("div", {}, "expected per slot: " + e.perSlot + "; open: " + (e.open.map((s) => s.slot + " (" + s.received + "/" + s.expected + ")").join(", ") || "none")));
    if (e.incomplete.length > 0) {
      box.append(table(["slot", "missing"], e.incomplete.map((s) => [s.slot, el("span", { class: "missing" }, s.missing.length + " of " + s.expected + ": " + s.missing.slice(0, 12).join("; ") + (s.missing.length > 12 ? " …" : ""))]), { "data-testid": "incomplete" }));
    }
  }
  if (c.role === "client") {
    box.append(plot(c.latency, now));
    box.append(table(["file", "provider", "delivered", "latency", "age"], c.recent.map((f) => [
      f.uid, f.provider, time(f.at), seconds(f.latencySeconds), f.ageSeconds === undefined || f.ageSeconds === null ? "" : seconds(f.ageSeconds)]), { "data-testid": "recent" }));
  }
  return box;
}

async function refresh() {
  try {
    const res = await fetch("status", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const doc = await res.json();
    document.getElementById("title").textContent = doc.program + " status";
    document.getElementById("meta").textContent = "version " + doc.version + ", up " + seconds(doc.uptimeSeconds) + ", as of " + time(doc.now);
    document.getElementById("chains").replaceChildren(...doc.chains.map((c) => chain(c, doc.now)));
    document.getElementById("error").textContent = "";
    document.body.setAttribute("data-loaded", String(doc.now));
  } catch (err) {
    document.getElementById("error").textContent = "cannot read status: " + err.message;
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
`;
