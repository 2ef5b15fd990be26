// dmflow sandbox: a minimal Instagram DM look-alike. It posts what the
// person types to api/send (which signs a webhook and delivers it to the
// real handler) and renders what the bot sent through the Graph API double,
// received as Server-Sent Events from api/events.
"use strict";

const $ = (id) => document.getElementById(id);
const thread = $("thread"), chips = $("chips"), typing = $("typing"), statusEl = $("status");
let user = localStorage.getItem("dmflow.sandbox.user") || newUserID();
let source = null;

function newUserID() {
  const id = "sandbox-" + Math.random().toString(36).slice(2, 10);
  localStorage.setItem("dmflow.sandbox.user", id);
  return id;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function send(input) {
  input.user = user;
  try {
    const r = await fetch("api/send", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(input),
    });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      note("not delivered: " + (body.error || r.status));
    }
  } catch (err) {
    note("not delivered: " + err);
  }
}

function note(text) {
  thread.append(el("div", "note", text));
  thread.scrollTop = thread.scrollHeight;
}

// row appends a message row for `from` and returns it.
function row(from, label) {
  const r = el("div", "row " + from);
  if (label) r.append(el("div", "label", label));
  thread.append(r);
  return r;
}

function renderInput(m) {
  const r = row(m.from, m.from === "agent" ? "agent (Instagram inbox)" : "");
  const i = m.input || {};
  if (i.kind === "image") {
    const a = el("div", "bubble media");
    const img = el("img");
    img.src = i.url; img.alt = "image";
    a.append(img);
    r.append(a);
  } else {
    r.append(el("div", "bubble", i.text || i.payload));
  }
}

function button(b) {
  if (b.type === "web_url") {
    const a = el("a", "", b.title);
    a.href = b.url; a.target = "_blank"; a.rel = "noopener";
    return a;
  }
  const btn = el("button", "", b.title);
  btn.type = "button";
  btn.onclick = () => send({ kind: "postback", text: b.title, payload: b.payload });
  return btn;
}

function buttons(list) {
  const box = el("div", "btns");
  (list || []).forEach((b) => box.append(button(b)));
  return box;
}

function card(e) {
  const c = el("div", "card");
  if (e.image_url) { const img = el("img"); img.src = e.image_url; img.alt = e.title || ""; c.append(img); }
  const body = el("div", "body");
  body.append(el("strong", "", e.title || ""));
  if (e.subtitle) body.append(el("div", "sub", e.subtitle));
  c.append(body);
  if (e.buttons && e.buttons.length) c.append(buttons(e.buttons));
  return c;
}

function renderAttachment(r, a) {
  const p = a.payload || {};
  switch (a.type) {
    case "like_heart":
      r.append(el("div", "heart", "❤️"));
      return;
    case "image": {
      const box = el("div", "media"), img = el("img");
      img.src = p.url; img.alt = "image";
      box.append(img); r.append(box);
      return;
    }
    case "template":
      if (p.template_type === "generic") {
        const box = el("div", "cards");
        (p.elements || []).forEach((e) => box.append(card(e)));
        r.append(box);
      } else {
        const t = el("div", "template");
        t.append(el("div", "text", p.text || ""), buttons(p.buttons));
        r.append(t);
      }
      return;
    default: {
      const box = el("div", "bubble media"), link = el("a", "", a.type + (p.url ? " ↗" : " " + (p.id || "")));
      if (p.url) { link.href = p.url; link.target = "_blank"; link.rel = "noopener"; }
      box.append(link); r.append(box);
    }
  }
}

function showChips(qrs) {
  chips.replaceChildren();
  (qrs || []).forEach((q) => {
    const kind = q.content_type || "text";
    const title = kind === "user_email" ? "✉ my email" : kind === "user_phone_number" ? "☎ my phone" : q.title;
    const b = el("button", "", title);
    b.type = "button";
    b.onclick = () => {
      if (kind === "text") return send({ kind: "quick_reply", text: q.title, payload: q.payload });
      const v = prompt(kind === "user_email" ? "Your email" : "Your phone number");
      if (v) send({ kind: "quick_reply", text: v, payload: v });
    };
    chips.append(b);
  });
}

function renderBot(m) {
  const g = m.graph || {};
  if (g.sender_action) {
    if (g.sender_action === "typing_on") typing.hidden = false;
    else if (g.sender_action === "typing_off") typing.hidden = true;
    else if (g.sender_action === "mark_seen") note("Seen");
    else note("reacted " + ((g.payload && g.payload.reaction) || g.sender_action));
    return;
  }
  typing.hidden = true;
  const msg = g.message || {};
  const r = row("bot");
  if (msg.text) r.append(el("div", "bubble", msg.text));
  if (msg.attachment) renderAttachment(r, msg.attachment);
  (msg.attachments || []).forEach((a) => renderAttachment(r, a));
  showChips(msg.quick_replies);
}

function render(m) {
  if (m.from === "bot") renderBot(m);
  else { chips.replaceChildren(); renderInput(m); }
  thread.scrollTop = thread.scrollHeight;
}

function connect() {
  if (source) source.close();
  thread.replaceChildren();
  chips.replaceChildren();
  $("user").textContent = user;
  source = new EventSource("api/events?user=" + encodeURIComponent(user));
  source.addEventListener("message", (e) => render(JSON.parse(e.data)));
  source.onopen = () => { statusEl.textContent = "online"; };
  source.onerror = () => { statusEl.textContent = "reconnecting…"; };
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  send({ kind: $("as-agent").checked ? "agent" : "text", text });
});
$("image").onclick = () => {
  const url = prompt("Image URL", "https://picsum.photos/seed/dmflow/400/300");
  if (url) send({ kind: "image", url });
};
$("new-chat").onclick = () => { user = newUserID(); connect(); };

fetch("api/config").then((r) => r.json()).then((c) => { $("account").textContent = "account " + c.account; });
connect();
