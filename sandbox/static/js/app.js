// app.js: the dmflow studio. Simulated users chat side by side; everything
// they do goes through the real pipeline (signed webhook → inbox → engine →
// outbox → Graph API double) and comes back over one Server-Sent Events
// stream, which also carries each engine step for the flow pane.

import { get, post, stream } from "./api.js";
import { createChat, el } from "./chat.js";
import * as flow from "./flow.js";
import { initControls, notify, showClock, showHandoff, showLocale, showLocales } from "./controls.js";

const $ = (id) => document.getElementById(id);
const KEY = "dmflow.studio.users";
const chats = new Map();  // user → chat
const steps = new Map();  // user → its latest Step
let active = null, source = null, studio = false;

// The flow pane is redrawn by steps as they stream in and by user switches,
// and each redraw awaits the network and Mermaid. They run one at a time in
// the order they were asked for, so a slow redraw begun earlier can never
// land after (and over) a newer one.
let pane = Promise.resolve();
function redraw(fn) {
  pane = pane.then(fn).catch((err) => notify("flow pane: " + err.message));
  return pane;
}

function newUserID() { return "user-" + Math.random().toString(36).slice(2, 8); }

function saveUsers() { localStorage.setItem(KEY, JSON.stringify([...chats.keys()])); }

async function send(input) {
  try {
    const r = await post("api/send", input);
    if (!r.ok) notify("not delivered: " + (r.body.error || "HTTP " + r.status));
  } catch (err) {
    notify("not delivered: " + err);
  }
}

function tab(user) {
  const b = el("button", "tab", user);
  b.type = "button";
  b.id = "tab-" + user;
  b.setAttribute("role", "tab");
  b.setAttribute("aria-controls", "chat-" + user);
  b.onclick = () => select(user);
  b.onkeydown = (e) => {
    const users = [...chats.keys()], i = users.indexOf(user);
    const next = { ArrowRight: users[i + 1], ArrowLeft: users[i - 1] }[e.key];
    if (next) { select(next); $("tab-" + next).focus(); }
  };
  return b;
}

function addUser(user) {
  if (chats.has(user)) return;
  const chat = createChat(user, send);
  chat.node.setAttribute("aria-labelledby", "tab-" + user);
  chat.node.addEventListener("focusin", () => { if (active !== user) select(user); });
  chats.set(user, chat);
  $("user-tabs").append(tab(user));
  $("threads").append(chat.node);
  saveUsers();
  connect();
}

// select makes user the one the flow pane and controls are about.
function select(user) {
  active = user;
  chats.forEach((c, u) => {
    c.node.classList.toggle("active", u === user);
    $("tab-" + u).setAttribute("aria-selected", String(u === user));
    $("tab-" + u).tabIndex = u === user ? 0 : -1;
  });
  if (studio) redraw(() => refreshFlow(user));
}

// connect (re)opens the event stream for every user, replaying what the
// newest chat has not seen yet.
function connect() {
  if (source) source.close();
  const after = Math.min(...[...chats.values()].map((c) => c.lastSeq));
  source = stream([...chats.keys()], after, onMessage, (s) => { $("status").textContent = s; });
}

function onMessage(m) {
  const chat = chats.get(m.user);
  if (!chat) return;
  if (m.from !== "engine") { chat.render(m); return; }
  if (m.seq <= chat.lastSeq) return;
  chat.lastSeq = m.seq;
  steps.set(m.user, m.step);
  chat.setState(m.step.state ? "in " + m.step.state : "");
  if (studio && m.user === active) {
    flow.addStep(m.step, m.time, 30);
    redraw(() => showStep(m.step, new Date(m.time)));
  }
}

async function showStep(step, now) {
  flow.showSession(step.session, now, step.locale);
  showLocale(step.locale);
  showHandoff(!!(step.session && step.session.handoff));
  try {
    await flow.showFlow(step.flow || "");
  } catch (err) { notify("graph: " + err.message); }
  flow.highlight(step.state, step.visits);
  $("where").textContent = step.session ? "Now in " + step.flow + " / " + step.state + "." : "No session (reset).";
  $("where").dataset.state = step.state || "";
  $("last-step").textContent = flow.describeStep(step);
}

// refreshFlow shows the selected user's stored session (after a switch).
async function refreshFlow(user) {
  flow.clearSteps();
  const last = steps.get(user);
  if (last) {
    get("api/session?user=" + encodeURIComponent(user)).then((r) => showLocales(r.locales, r.locale)).catch(() => {});
    return showStep(last, new Date());
  }
  try {
    const r = await get("api/session?user=" + encodeURIComponent(user));
    showClock(r.clock);
    const s = r.session;
    flow.showSession(s, new Date(r.clock.now), r.locale);
    showLocales(r.locales, r.locale);
    showHandoff(!!(s && s.handoff));
    await flow.showFlow(s ? s.flow : "");
    flow.highlight(s ? s.state : "", []);
    $("where").textContent = s ? "Now in " + s.flow + " / " + s.state + "." : "No conversation yet: say hi.";
    $("where").dataset.state = s ? s.state : "";
    $("last-step").textContent = "";
  } catch (err) { notify(err.message); }
}

// showAccounts offers the accounts serve runs (a per-account flows
// directory) when there are several; switching reloads the page, which then
// shows that account's bundle and conversations.
function showAccounts(cfg) {
  const sel = $("account-select");
  const list = cfg.accounts || [];
  if (list.length < 2) return;
  sel.replaceChildren(...list.map((a) => { const o = el("option", "", a); o.value = a; return o; }));
  sel.value = cfg.account;
  sel.hidden = false;
  $("account").textContent = "account";
  sel.onchange = async () => {
    const r = await post("api/account", { account: sel.value }).catch((err) => ({ ok: false, body: { error: err.message } }));
    if (r.ok) { location.reload(); return; }
    notify(r.body.error || "could not switch the account");
    sel.value = cfg.account;
  };
}

// showChannels offers the channels the studio simulates (Instagram and
// Messenger); switching reloads the page, which then shows that channel's
// conversations (the Messenger Page is an account of its own).
function showChannels(cfg) {
  const sel = $("channel-select");
  const list = cfg.channels || [];
  document.body.dataset.channel = cfg.channel || "instagram";
  if (list.length < 2) return;
  const names = { instagram: "Instagram", messenger: "Messenger" };
  sel.replaceChildren(...list.map((c) => { const o = el("option", "", names[c] || c); o.value = c; return o; }));
  sel.value = cfg.channel;
  sel.hidden = false;
  $("channel-label").hidden = false;
  sel.onchange = async () => {
    const r = await post("api/channel", { channel: sel.value }).catch((err) => ({ ok: false, body: { error: err.message } }));
    if (r.ok) { location.reload(); return; }
    notify(r.body.error || "could not switch the channel");
    sel.value = cfg.channel;
  };
}

async function start() {
  flow.initMermaid();
  const cfg = await get("api/config");
  studio = cfg.studio;
  $("account").textContent = (cfg.channel === "messenger" ? "Page " : "account ") + cfg.account;
  showChannels(cfg);
  if (cfg.channel !== "messenger") showAccounts(cfg);
  showClock(cfg.clock);
  $("flow").hidden = !studio;
  if (studio) {
    initControls(() => active, () => { flow.forget(); redraw(() => refreshFlow(active)); });
    $("flow-counts").onchange = (e) => { flow.setCounts(e.target.checked); redraw(() => refreshFlow(active)); };
    $("flow-select").onchange = (e) => redraw(async () => {
      await flow.showFlow(e.target.value);
      const st = steps.get(active);
      flow.highlight(st ? st.state : "", st ? st.visits : []);
    });
  }
  const saved = JSON.parse(localStorage.getItem(KEY) || "[]").filter((u) => typeof u === "string" && u);
  const wanted = new URLSearchParams(location.search).getAll("user");
  (wanted.length ? wanted : saved.length ? saved : [newUserID()]).forEach(addUser);
  select([...chats.keys()][0]);
  $("add-user").onclick = () => { const u = newUserID(); addUser(u); select(u); };
}

start().catch((err) => notify("studio failed to start: " + err.message));
