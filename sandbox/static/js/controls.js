// controls.js: the studio controls for the selected user (reset, jump to a
// state, handoff, clock, reload) and the flow pane's notices.

import { post } from "./api.js";
import { el } from "./chat.js";

const $ = (id) => document.getElementById(id);

export function notify(text) {
  $("notice").textContent = text;
}

export function showClock(c) {
  if (!c) return;
  $("clock-now").textContent = new Date(c.now).toLocaleString();
  $("clock-now").dateTime = c.now;
  $("clock-offset").textContent = c.offset && c.offset !== "0s" ? "(+" + c.offset + ")" : "";
}

function showErrors(lines) {
  $("error-list").replaceChildren(...lines.map((l) => el("li", "", l)));
  $("errors").hidden = lines.length === 0;
}

async function act(what, path, body, done) {
  const r = await post(path, body);
  if (!r.ok) { notify(what + " failed: " + (r.body.error || r.status)); return r; }
  if (done) done(r.body);
  return r;
}

// initControls wires the buttons; user() names the selected user, and
// onReload is called after the flows were reloaded.
export function initControls(user, onReload) {
  $("reset").onclick = () => act("reset", "api/reset", { user: user() }, () => notify("Reset queued for " + user() + "."));
  $("jump").onclick = () => {
    const state = $("jump-state").value;
    act("jump", "api/move", { user: user(), state }, () => notify("Jump to " + state + " queued."));
  };
  $("handoff").onclick = () => {
    const on = $("handoff").getAttribute("aria-pressed") !== "true";
    act("handoff", "api/handoff", { user: user(), on }, () => notify(on ? "Handoff queued: the bot goes quiet; reply as the agent." : "Release queued: the bot takes over again."));
  };
  $("follows").onclick = () => {
    const follows = $("follows").getAttribute("aria-pressed") !== "true";
    act("profile", "api/profile", { user: user(), follows }, () => {
      $("follows").setAttribute("aria-pressed", String(follows));
      notify(follows ? user() + " follows the account now (seen at the next profile fetch)." : user() + " does not follow the account.");
    });
  };
  $("locale-set").onclick = () => {
    const locale = $("locale-select").value;
    act("locale", "api/locale", { user: user(), locale }, () => notify("Locale " + locale + " queued for " + user() + ": the next replies are in it."));
  };
  $("operator-send").onclick = () => {
    const text = $("operator-text").value;
    act("operator message", "api/operator", { user: user(), text }, () => {
      $("operator-text").value = "";
      notify("Operator message queued.");
    });
  };
  document.querySelectorAll("[data-advance]").forEach((b) => {
    b.onclick = () => act("clock", "api/clock", { advance: b.dataset.advance }, clockDone);
  });
  $("next-timer").onclick = () => act("clock", "api/clock", { user: user(), next_timer: true }, clockDone);
  $("export").onclick = () => exportTest(user());
  $("reload").onclick = async () => {
    const r = await post("api/reload", {});
    showErrors(r.ok ? [] : r.body.lines || [r.body.error || "HTTP " + r.status]);
    notify(r.ok ? "Flows reloaded." : "Reload rejected.");
    if (r.ok) onReload();
  };
}

// exportTest downloads the user's conversation as a transcript
// (GET api/transcript, bot/history.Transcript on the server).
async function exportTest(u) {
  const r = await fetch("api/transcript?user=" + encodeURIComponent(u));
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    notify("Export failed: " + (body.error || "HTTP " + r.status));
    return;
  }
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = u.replace(/[^A-Za-z0-9_-]/g, "") + ".test.yaml";
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
  notify("Exported " + a.download + ": save it next to the flows and run dmflow test.");
}

function clockDone(c) {
  showClock(c);
  notify("Clock advanced; " + c.fired + (c.fired === 1 ? " timer" : " timers") + " fired.");
}

// showLocales shows the locale control for localized flows (locales: the
// supported locales, unset or empty: none) and selects the user's locale.
export function showLocales(locales, current) {
  const ctl = $("locale-ctl"), sel = $("locale-select");
  ctl.hidden = !(locales && locales.length);
  if (ctl.hidden) return;
  if ([...sel.options].map((o) => o.value).join() !== locales.join()) {
    sel.replaceChildren(...locales.map((l) => { const o = el("option", "", l); o.value = l; return o; }));
  }
  if (current) sel.value = current;
}

// showLocale selects the user's current locale in the locale control.
export function showLocale(current) {
  if (current && !$("locale-ctl").hidden) $("locale-select").value = current;
}

// showHandoff reflects the session's handoff in the toggle.
export function showHandoff(on) {
  $("handoff").setAttribute("aria-pressed", String(on));
  $("handoff").textContent = on ? "Release to the bot" : "Hand off to a human";
}
