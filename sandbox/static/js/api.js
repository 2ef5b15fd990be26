// api.js: the studio's HTTP API (see sandbox.Handler) and its event stream.

// post sends body as JSON and resolves to {ok, status, body}.
export async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
  });
  return { ok: r.ok, status: r.status, body: await r.json().catch(() => ({})) };
}

// get fetches JSON; it rejects on an HTTP error with the server's message.
export async function get(path) {
  const r = await fetch(path);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || "HTTP " + r.status);
  return body;
}

// stream opens one Server-Sent Events stream for users, replaying what
// came after seq `after`, and calls onMessage for each Message.
export function stream(users, after, onMessage, onStatus) {
  const q = users.map((u) => "user=" + encodeURIComponent(u)).join("&");
  const es = new EventSource("api/events?" + q + "&after=" + after);
  es.addEventListener("message", (e) => onMessage(JSON.parse(e.data)));
  es.onopen = () => onStatus("online");
  es.onerror = () => onStatus("reconnecting…");
  return es;
}
