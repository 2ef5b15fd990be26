// flow.js: the flow pane. It draws the flow graph with the vendored Mermaid
// (from the same generator as `dmflow graph`), highlights the current state
// and the transition just taken, and shows the session and each step's trace.

import { get } from "./api.js";
import { el } from "./chat.js";

const $ = (id) => document.getElementById(id);
const graphs = new Map(); // flow name → FlowGraph (api/graph)
let shown = null;         // the FlowGraph on screen
let renders = 0;

// Mermaid keeps "#58;"-style entities of edge labels as placeholders in
// state diagrams; turn them back into characters.
const named = { quot: '"', amp: "&", lt: "<", gt: ">", apos: "'" };
function fixLabels(svg) {
  const walker = document.createTreeWalker(svg, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    n.nodeValue = n.nodeValue
      .replace(/ﬂ°°(\d+)¶ß/g, (_, c) => String.fromCharCode(+c))
      .replace(/ﬂ°(\w+)¶ß/g, (m, k) => named[k] || m);
  }
}

export function forget() { graphs.clear(); }

// With counts on, the graph shows the funnel of the studio's traffic (the
// counters the pipeline commits with each turn, as `dmflow admin stats`
// shows them for a production server) and is fetched afresh every time.
let counts = false;
export function setCounts(on) { counts = on; graphs.clear(); shown = null; }

async function graphOf(flow) {
  if (counts || !graphs.has(flow)) {
    graphs.set(flow, await get("api/graph?flow=" + encodeURIComponent(flow) + (counts ? "&stats=1" : "")));
    if (counts) shown = null;
  }
  return graphs.get(flow);
}

// showFlow draws `flow` ("" = main) unless it is already on screen.
export async function showFlow(flow) {
  const g = await graphOf(flow || "");
  if (shown && shown.flow === g.flow && $("graph").querySelector("svg")) return g;
  shown = g;
  const sel = $("flow-select");
  sel.replaceChildren(...g.flows.map((f) => new Option(f, f, false, f === g.flow)));
  $("jump-state").replaceChildren(...g.states.map((s) => new Option(s.name + (s.describe ? " — " + s.describe : ""), s.name)));
  $("graph").dataset.flow = g.flow;
  if (!window.mermaid) {
    $("graph").replaceChildren(el("pre", "mermaid-src", g.mermaid));
    return g;
  }
  const { svg } = await window.mermaid.render("fg" + ++renders, g.mermaid);
  $("graph").innerHTML = svg;
  fixLabels($("graph"));
  return g;
}

function node(id) {
  return [...$("graph").querySelectorAll("g.node")].find((n) => new RegExp("-state-" + id + "-\\d+$").test(n.id));
}

// highlight marks the state the session is in and the transitions the
// last step took, in the graph on screen.
export function highlight(state, visits) {
  $("graph").querySelectorAll(".current, .taken, .visited").forEach((n) => n.classList.remove("current", "taken", "visited"));
  if (!shown) return;
  (visits || []).filter((v) => v.flow === shown.flow).forEach((v) => {
    if (v.what === "enter") {
      const s = shown.states.find((x) => x.name === v.name);
      if (s && node(s.id)) node(s.id).classList.add("visited");
      return;
    }
    const e = shown.edges.find((x) => x.name === v.name);
    if (e && e.svg) $("graph").querySelectorAll('[data-id="' + e.svg + '"]').forEach((n) => n.classList.add("taken"));
  });
  const cur = shown.states.find((x) => x.name === state);
  const n = cur && node(cur.id);
  if (n) { n.classList.add("current"); n.scrollIntoView({ block: "nearest", inline: "center" }); }
}

// describeStep is the text form of the graph highlight.
export function describeStep(step) {
  const edges = (step.visits || []).filter((v) => v.what === "edge").map((v) => {
    const g = graphs.get(v.flow) || shown;
    const e = g && g.edges.find((x) => x.name === v.name);
    return e ? v.flow + ": " + (e.from === "*" ? "any state" : e.from) + " → " + e.to + " (" + e.label + ")" : v.flow + "/" + v.name;
  });
  return edges.length ? "Transition taken: " + edges.join("; ") : "No transition taken (" + step.event.summary + ")";
}

function fact(dl, name, value) {
  dl.append(el("dt", "", name), el("dd", "", value));
}

function until(due, now) {
  const s = Math.round((new Date(due) - now) / 1000);
  if (s <= 0) return "due now";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return "in " + (h ? h + "h" : "") + m + "m" + (h ? "" : (s % 60) + "s");
}

// showSession fills the session panel (s may be null: no session);
// locale is the locale its texts render in (unset: flows without locales).
export function showSession(s, now, locale) {
  const dl = $("session-facts");
  dl.replaceChildren();
  $("vars").replaceChildren();
  $("timers").replaceChildren();
  if (!s) { fact(dl, "session", "none yet"); return; }
  fact(dl, "flow / state", s.flow + " / " + s.state + (s.ended ? " (ended)" : ""));
  if (locale) fact(dl, "locale", locale);
  fact(dl, "attempts", String(s.attempts || 0));
  if (s.stack && s.stack.length) fact(dl, "call stack", s.stack.map((f) => f.flow + "/" + f.state).join(" → "));
  fact(dl, "handoff", s.handoff ? "to a human since " + new Date(s.handoff.since).toLocaleTimeString() + " (" + (s.handoff.by || "") + (s.handoff.reason ? ": " + s.handoff.reason : "") + ")" : "no");
  if (s.pending) fact(dl, "pending action", s.pending.name);
  const variants = Object.keys(s.variants || {}).sort();
  if (variants.length) fact(dl, "A/B variants", variants.map((k) => k + ": " + s.variants[k]).join(", "));
  if ((s.settling || []).length) fact(dl, "settle window", s.settling.length + " message(s) held: " + s.settling.map((e) => JSON.stringify(e.text || "")).join(" / "));
  Object.keys(s.vars || {}).sort().forEach((k) => {
    const tr = el("tr");
    tr.append(el("th", "", k), el("td", "", JSON.stringify(s.vars[k])));
    tr.firstChild.scope = "row";
    $("vars").append(tr);
  });
  (s.timers || []).forEach((t) => $("timers").append(el("li", "", t.name + " · due " + new Date(t.due).toLocaleString() + " · " + until(t.due, now))));
  if (!(s.timers || []).length) $("timers").append(el("li", "mute", "none"));
}

function traceEntry(t) {
  const li = el("li", "t-" + t.what);
  li.append(el("span", "what", t.what));
  if (t.expr) li.append(el("code", "", t.expr));
  if (t.result !== undefined) li.append(el("span", "result", "→ " + JSON.stringify(t.result)));
  if (t.detail) li.append(el("span", "detail", t.detail));
  if (t.pos) li.append(el("span", "pos", t.pos));
  return li;
}

// addStep prepends a step's trace (newest open, at most `keep` kept).
export function addStep(step, time, keep) {
  const box = $("steps");
  box.querySelectorAll("details[open]").forEach((d) => { d.open = false; });
  const d = el("details", "step" + (step.error ? " failed" : ""));
  d.open = true;
  const sum = el("summary", "", new Date(time).toLocaleTimeString() + " · " + step.event.summary + " → " + (step.state || (step.deleted ? "reset" : "—")));
  d.append(sum);
  if (step.error) d.append(el("p", "err", step.error));
  const ol = el("ol", "trace");
  (step.trace || []).forEach((t) => ol.append(traceEntry(t)));
  d.append(ol);
  box.prepend(d);
  while (box.children.length > keep) box.lastChild.remove();
}

export function clearSteps() { $("steps").replaceChildren(); }

export function initMermaid() {
  if (window.mermaid) window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
}
