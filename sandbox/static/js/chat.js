// chat.js: one simulated user's Instagram-like DM thread. It renders the
// feed's messages (what the user sent, and the Send API requests the bot
// made through the Graph API double) and turns taps into inputs.

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

// img shows src; when it cannot load (offline, made-up URLs in a flow) a
// placeholder names the URL instead.
function img(src, alt) {
  const i = el("img");
  i.alt = alt || ""; i.loading = "lazy";
  i.onerror = () => {
    const ph = el("div", "noimg", "image: " + src);
    ph.setAttribute("role", "img");
    ph.setAttribute("aria-label", alt || "image");
    i.replaceWith(ph);
  };
  i.src = src;
  return i;
}

function media(src, alt) {
  const box = el("div", "media");
  box.append(img(src, alt));
  return box;
}

// createChat builds the thread of `user`; send(input) delivers an Input.
export function createChat(user, send) {
  const node = document.getElementById("chat-template").content.firstElementChild.cloneNode(true);
  const $ = (sel) => node.querySelector(sel);
  const thread = $(".thread"), chips = $(".chips"), typing = $(".typing");
  const chat = { user, node, lastSeq: 0 };
  node.dataset.user = user;
  node.id = "chat-" + user;
  $(".name").textContent = user;
  $(".text").setAttribute("aria-label", "Message from " + user);
  const say = (input) => send(Object.assign({ user }, input));

  function scroll() { thread.scrollTop = thread.scrollHeight; }

  function row(from, label) {
    const r = el("div", "row " + from);
    if (label) r.append(el("div", "label", label));
    thread.append(r);
    return r;
  }

  function note(text) { thread.append(el("div", "note", text)); scroll(); }

  function button(b) {
    if (b.type === "web_url") {
      const a = el("a", "", b.title + " ↗");
      a.href = b.url; a.target = "_blank"; a.rel = "noopener";
      return a;
    }
    const btn = el("button", "", b.title);
    btn.type = "button";
    btn.onclick = () => say({ kind: "postback", text: b.title, payload: b.payload });
    return btn;
  }

  function buttons(list) {
    const box = el("div", "btns");
    (list || []).forEach((b) => box.append(button(b)));
    return box;
  }

  function card(e, i, n) {
    const c = el("div", "card");
    c.setAttribute("role", "group");
    c.setAttribute("aria-label", "Card " + (i + 1) + " of " + n + ": " + (e.title || ""));
    if (e.image_url) c.append(img(e.image_url, e.title));
    const body = el("div", "body");
    body.append(el("strong", "", e.title || ""));
    if (e.subtitle) body.append(el("div", "sub", e.subtitle));
    c.append(body);
    if (e.buttons && e.buttons.length) c.append(buttons(e.buttons));
    return c;
  }

  function attachment(r, a) {
    const p = a.payload || {};
    if (a.type === "like_heart") return r.append(el("div", "heart", "❤️"));
    if (a.type === "image") return r.append(media(p.url, "image from the bot"));
    if (a.type === "template" && p.template_type === "generic") {
      const box = el("div", "cards");
      box.setAttribute("aria-label", "Carousel");
      const els = p.elements || [];
      els.forEach((e, i) => box.append(card(e, i, els.length)));
      return r.append(box);
    }
    if (a.type === "template") {
      const t = el("div", "template");
      t.append(el("div", "text", p.text || ""), buttons(p.buttons));
      return r.append(t);
    }
    const link = el("a", "bubble", a.type + (p.url ? " ↗" : ""));
    if (p.url) { link.href = p.url; link.target = "_blank"; link.rel = "noopener"; }
    r.append(link);
  }

  function chip(q) {
    const kind = q.content_type || "text";
    const contact = { user_email: user + "@example.com", user_phone_number: "+15555550123" }[kind];
    const title = contact ? (kind === "user_email" ? "✉ " : "☎ ") + contact : q.title;
    const b = el("button", "", title);
    b.type = "button";
    b.onclick = () => say({ kind: "quick_reply", text: contact || q.title, payload: contact || q.payload });
    return b;
  }

  function reactButton(r, mid) {
    const b = el("button", "react", "♡");
    b.type = "button";
    b.setAttribute("aria-label", "React with a heart");
    b.setAttribute("aria-pressed", "false");
    b.onclick = () => {
      const on = b.getAttribute("aria-pressed") !== "true";
      say({ kind: "reaction", mid, reaction: on ? "love" : "" });
    };
    r.append(b);
  }

  // reacted marks the message mid with (or without) a reaction badge.
  function reacted(mid, reaction, fromBot) {
    const target = thread.querySelector('[data-mid="' + CSS.escape(mid) + '"]');
    if (!target) return;
    let badge = target.querySelector(fromBot ? ".badge.bot" : ".badge.user");
    if (!reaction) { if (badge) badge.remove(); } else {
      if (!badge) { badge = el("span", "badge " + (fromBot ? "bot" : "user")); target.append(badge); }
      badge.textContent = reaction === "love" ? "❤️" : reaction;
      badge.title = (fromBot ? "the bot" : user) + " reacted";
    }
    const btn = target.querySelector(".react");
    if (btn && !fromBot) { btn.setAttribute("aria-pressed", String(!!reaction)); btn.textContent = reaction ? "❤️" : "♡"; }
  }

  function senderAction(g) {
    const a = g.sender_action;
    if (a === "typing_on") { typing.hidden = false; return; }
    typing.hidden = true;
    if (a === "mark_seen") note("Seen");
    else if (a === "react" || a === "unreact") reacted((g.payload || {}).message_id, a === "react" ? (g.payload || {}).reaction : "", true);
  }

  // renderUndelivered shows a reply the messaging window refused (the
  // sender dead-letters it): greyed out, with the reason.
  function renderUndelivered(m) {
    const rep = m.reply || {};
    const r = row("bot undelivered", "not delivered: " + m.undelivered);
    r.title = "Instagram refuses this message: " + m.undelivered;
    let text = rep.text || "";
    if (!text && rep.elements) text = rep.elements.map((e) => e.title).join(" · ");
    r.append(el("div", "bubble", text || "[" + (rep.kind || "reply") + "]"));
  }

  function renderBot(m) {
    if (m.undelivered) return renderUndelivered(m);
    const g = m.graph || {};
    if (g.sender_action) return senderAction(g);
    typing.hidden = true;
    if (g.public_reply) {
      const p = row("bot public", "public reply under your comment");
      p.append(el("div", "bubble", g.public_reply.message || ""));
      return;
    }
    if (g.moderate) return note("The bot " + (g.moderate.action === "delete" ? "deleted" : g.moderate.action === "hide" ? "hid" : "unhid") + " your comment");
    const msg = g.message || {};
    const r = row("bot", (g.recipient || {}).comment_id ? "private reply to your comment" : "");
    r.dataset.mid = m.mid || "";
    if (msg.text) r.append(el("div", "bubble", msg.text));
    if (msg.attachment) attachment(r, msg.attachment);
    (msg.attachments || []).forEach((a) => attachment(r, a));
    if (m.mid) reactButton(r, m.mid);
    showChips(msg.quick_replies);
  }

  function showChips(qrs) {
    chips.replaceChildren();
    (qrs || []).forEach((q) => chips.append(chip(q)));
  }

  const inputLabels = {
    story_mention: "mentioned you in their story", comment: "commented on your post",
    ice_breaker: "tapped an ice breaker", ad_referral: "came from an ad", postback: "tapped a button",
    referral: "opened an ig.me link",
    inbox_take: "(an agent took the thread in the Instagram inbox)", inbox_pass: "(the inbox passed the thread back)",
  };

  function renderInput(m) {
    const i = m.input || {};
    if (i.kind === "reaction") return reacted(i.mid, i.reaction, false);
    showChips(null);
    const label = m.from === "agent" ? "agent (Instagram inbox)" : inputLabels[i.kind] + (i.ref ? " · ref " + i.ref : "") + (i.ad_id ? " · ad " + i.ad_id : "") + (i.media ? " · post " + i.media : "");
    const r = row(m.from, i.kind in inputLabels || m.from === "agent" ? label : "");
    r.dataset.mid = m.mid || "";
    if (i.url) r.append(media(i.url, i.kind === "story_mention" ? "story" : "image"));
    if (i.text || (!i.url && i.payload)) r.append(el("div", "bubble", i.text || i.payload));
  }

  chat.render = (m) => {
    if (m.seq <= chat.lastSeq) return;
    chat.lastSeq = m.seq;
    if (m.from === "bot") renderBot(m);
    else if (m.from === "user" || m.from === "agent") renderInput(m);
    scroll();
  };

  chat.setState = (text) => { $(".state").textContent = text; };

  $(".composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const box = $(".text"), text = box.value.trim();
    if (!text) return;
    box.value = "";
    say({ kind: e.target.agent.checked ? "agent" : "text", text });
  });
  node.querySelectorAll("form.sim").forEach((f) => {
    const url = f.querySelector('input[name="url"]');
    if (url) url.value = new URL(f.dataset.kind === "image" ? "img/photo.svg" : "img/story.svg", location.href).href;
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      const input = { kind: f.dataset.kind };
      new FormData(f).forEach((v, k) => { if (v) input[k] = String(v); });
      say(input);
    });
  });
  return chat;
}
