package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/secure"
)

var errShuttingDown = errors.New("bot: shutting down")

// AdminHandler serves the admin JSON API under /admin/, guarded by
// "Authorization: Bearer <token>". With an empty token the API is disabled
// and every request gets 404.
//
//	GET    /admin/sessions?account=&state=&handoff=true&after=acct/user&limit=
//	GET    /admin/sessions/{account}/{user}            inspect
//	DELETE /admin/sessions/{account}/{user}            reset (queued)
//	POST   /admin/sessions/{account}/{user}/move       {"state": "..."} (queued)
//	POST   /admin/sessions/{account}/{user}/handoff    (queued)
//	POST   /admin/sessions/{account}/{user}/release    (queued)
//	POST   /admin/sessions/{account}/{user}/send       {"text": "...", "quick_replies": [...]} (queued)
//	GET    /admin/sessions/{account}/{user}/history?limit=
//	POST   /admin/sessions/{account}/{user}/forget     erase everything about the user (queued)
//	GET    /admin/sessions/{account}/{user}/export     everything stored about the user
//	GET    /admin/handoffs
//	POST   /admin/handoffs/{account}/{user}/release    (queued)
//	GET    /admin/deadletters?limit=&account=          (account: among the limit newest)
//	POST   /admin/deadletters/{seq}/retry
//	DELETE /admin/deadletters/{seq}
//	GET    /admin/failed?limit=&account=
//	POST   /admin/reload?account=ID                    (account repeatable; none: all)
//	POST   /admin/replay                               {"account": "...", "user": "..."}
//
// Queued commands travel through the user's inbox like messages and answer
// 202 with the command's event key. send answers 409 when the conversation
// is not handed off and the 24-hour window is closed, 422 when even the
// 7-day HUMAN_AGENT window is (see Bot.Send).
func (b *Bot) AdminHandler(token string) http.Handler {
	if token == "" {
		return http.NotFoundHandler()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/sessions", b.adminListSessions)
	mux.HandleFunc("GET /admin/sessions/{account}/{user}", b.adminGetSession)
	mux.HandleFunc("DELETE /admin/sessions/{account}/{user}", b.adminCommand(dmflow.AdminReset))
	mux.HandleFunc("POST /admin/sessions/{account}/{user}/move", b.adminCommand(dmflow.AdminMove))
	mux.HandleFunc("POST /admin/sessions/{account}/{user}/handoff", b.adminCommand(dmflow.AdminHandoff))
	mux.HandleFunc("POST /admin/sessions/{account}/{user}/release", b.adminCommand(dmflow.AdminRelease))
	mux.HandleFunc("POST /admin/sessions/{account}/{user}/send", b.adminSend)
	mux.HandleFunc("GET /admin/sessions/{account}/{user}/history", b.adminHistory)
	mux.HandleFunc("POST /admin/sessions/{account}/{user}/forget", b.adminCommand(dmflow.AdminForget))
	mux.HandleFunc("GET /admin/sessions/{account}/{user}/export", b.adminExport)
	mux.HandleFunc("GET /admin/handoffs", b.adminHandoffs)
	mux.HandleFunc("POST /admin/handoffs/{account}/{user}/release", b.adminCommand(dmflow.AdminRelease))
	mux.HandleFunc("GET /admin/deadletters", b.adminDeadLetters)
	mux.HandleFunc("POST /admin/deadletters/{seq}/retry", b.adminDeadLetter(b.RequeueDead))
	mux.HandleFunc("DELETE /admin/deadletters/{seq}", b.adminDeadLetter(b.store.DeleteDead))
	mux.HandleFunc("GET /admin/failed", b.adminFailed)
	mux.HandleFunc("POST /admin/reload", b.adminReload)
	mux.HandleFunc("POST /admin/replay", b.adminReplay)
	mux.HandleFunc("GET /admin/stats", b.adminStats)
	return bearer(token, mux)
}

func bearer(token string, next http.Handler) http.Handler {
	want := "Bearer " + token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !secure.Equal(r.Header.Get("Authorization"), want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dmflow admin"`)
			writeJSONError(w, http.StatusUnauthorized, errors.New("unauthorized"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Command queues an admin command for one user through the user's inbox
// and returns the command's event key.
func (b *Bot) Command(ctx context.Context, key dmflow.SessionKey, cmd dmflow.AdminCommand) (string, error) {
	if key.Account == "" || key.User == "" {
		return "", fmt.Errorf("bot: command %s: empty session key: %w", cmd.Op, dmflow.ErrInvalid)
	}
	if cmd.Op == dmflow.AdminMove && cmd.State == "" {
		return "", fmt.Errorf("bot: command move: no state: %w", dmflow.ErrInvalid)
	}
	if cmd.Op == dmflow.AdminSend && cmd.Reply == nil {
		return "", fmt.Errorf("bot: command send: no message: %w", dmflow.ErrInvalid)
	}
	var r [8]byte
	_, _ = rand.Read(r[:])
	ev := dmflow.Event{Key: "admin:" + hex.EncodeToString(r[:]), Kind: dmflow.KindAdmin, Channel: ChannelDmflow,
		Account: key.Account, User: key.User, Time: b.now(), Admin: &cmd}
	if err := b.Ingest(ctx, []dmflow.Event{ev}); err != nil {
		return "", err
	}
	return ev.Key, nil
}

// RequeueDead moves a dead letter back to its user's queue and wakes the
// sender.
func (b *Bot) RequeueDead(ctx context.Context, seq uint64) error {
	if err := b.store.RequeueDead(ctx, seq); err != nil {
		return fmt.Errorf("bot: requeue dead letter %d: %w", seq, err)
	}
	wake(b.dm.wake)
	wake(b.notices.wake)
	return nil
}

func (b *Bot) adminCommand(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State string `json:"state"`
			By    string `json:"by"`
		}
		if op == dmflow.AdminMove || r.ContentLength > 0 {
			if err := decodeJSON(r, &body); err != nil {
				writeJSONError(w, http.StatusBadRequest, err)
				return
			}
		}
		if body.By == "" {
			body.By = "admin"
		}
		evKey, err := b.Command(r.Context(), pathKey(r), dmflow.AdminCommand{Op: op, State: body.State, By: body.By})
		if err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"queued": op, "event": evKey})
	}
}

func (b *Bot) adminListSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := dmflow.SessionFilter{Account: q.Get("account"), State: q.Get("state"), Handoff: q.Get("handoff") == "true"}
	if a := q.Get("after"); a != "" {
		k, ok := dmflow.ParseSessionKey(a)
		if !ok {
			writeJSONError(w, http.StatusBadRequest, errors.New("after: want account/user"))
			return
		}
		f.After = k
	}
	f.Limit = queryInt(q.Get("limit"), 100)
	b.listSessions(w, r, f)
}

func (b *Bot) adminHandoffs(w http.ResponseWriter, r *http.Request) {
	b.listSessions(w, r, dmflow.SessionFilter{Handoff: true, Limit: queryInt(r.URL.Query().Get("limit"), 100)})
}

func (b *Bot) listSessions(w http.ResponseWriter, r *http.Request, f dmflow.SessionFilter) {
	ss, err := b.store.ListSessions(r.Context(), f)
	if ss == nil {
		ss = []*dmflow.Session{} // an empty list is [], not null
	}
	respond(w, ss, err)
}

func (b *Bot) adminGetSession(w http.ResponseWriter, r *http.Request) {
	s, err := b.store.GetSession(r.Context(), pathKey(r))
	respond(w, s, err)
}

func (b *Bot) adminHistory(w http.ResponseWriter, r *http.Request) {
	items, err := b.store.History(r.Context(), pathKey(r), queryInt(r.URL.Query().Get("limit"), 100))
	respond(w, items, err)
}

func (b *Bot) adminDeadLetters(w http.ResponseWriter, r *http.Request) {
	dl, err := b.store.DeadLetters(r.Context(), queryInt(r.URL.Query().Get("limit"), 100))
	if acct := r.URL.Query().Get("account"); acct != "" && err == nil {
		dl = slices.DeleteFunc(dl, func(d dmflow.DeadLetter) bool { return d.Item.Key.Account != acct })
	}
	respond(w, dl, err)
}

func (b *Bot) adminFailed(w http.ResponseWriter, r *http.Request) {
	f, err := b.store.FailedInbox(r.Context(), queryInt(r.URL.Query().Get("limit"), 100))
	if acct := r.URL.Query().Get("account"); acct != "" && err == nil {
		f = slices.DeleteFunc(f, func(it dmflow.FailedItem) bool { return it.Item.Event.Account != acct })
	}
	respond(w, f, err)
}

func (b *Bot) adminDeadLetter(op func(context.Context, uint64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, errors.New("seq: want a number"))
			return
		}
		if err := op(r.Context(), seq); err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]uint64{"seq": seq})
	}
}

// adminReload reloads the flows: every account's bundle, or only those
// named by ?account= (repeatable; multi-account deployments). The answer
// lists the accounts reloaded; on a failure (422) the failing accounts
// keep their old bundle and the error names them.
func (b *Bot) adminReload(w http.ResponseWriter, r *http.Request) {
	done, err := b.ReloadAccounts(r.Context(), r.URL.Query()["account"]...)
	if done == nil {
		done = []string{}
	}
	if err != nil {
		code := http.StatusUnprocessableEntity
		if errors.Is(err, dmflow.ErrInvalid) {
			code = http.StatusBadRequest
		}
		writeJSON(w, code, map[string]any{"error": err.Error(), "reloaded": done})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "reloaded": done})
}

func (b *Bot) adminReplay(w http.ResponseWriter, r *http.Request) {
	var key dmflow.SessionKey
	if err := decodeJSON(r, &key); err != nil || key.Account == "" || key.User == "" {
		writeJSONError(w, http.StatusBadRequest, errors.New(`want {"account": "...", "user": "..."}`))
		return
	}
	rep, err := b.Replay(r.Context(), key)
	respond(w, rep, err)
}

func pathKey(r *http.Request) dmflow.SessionKey {
	return dmflow.SessionKey{Account: r.PathValue("account"), User: r.PathValue("user")}
}

func queryInt(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return min(n, 10000)
	}
	return def
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %v", err)
	}
	return nil
}

func respond(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeJSONError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, dmflow.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, dmflow.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, errNoEngine):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// adminStats serves a flow's funnel from the committed counters:
// ?since=7d (a Go duration or whole days; default all) &flow=F (default
// main). The answer holds the per-state and per-transition counts and the
// Mermaid graph annotated with them.
func (b *Bot) adminStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		d, err := sinceDuration(v)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		since = b.now().Add(-d)
	}
	eng, ok := b.Engine().(funnelEngine)
	if !ok {
		writeJSONError(w, http.StatusServiceUnavailable, errors.New("the engine does not build funnels"))
		return
	}
	flow, err := eng.FlowName(q.Get("flow"))
	if err != nil {
		writeJSONError(w, http.StatusNotFound, err)
		return
	}
	rows, err := b.store.FunnelStats(r.Context(), dmflow.StatsQuery{Since: since, Flow: flow})
	if err != nil {
		writeJSONError(w, statusOf(err), err)
		return
	}
	report, err := eng.FunnelReport(flow, rows)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

// funnelEngine is what the admin API needs to build funnels
// (engine.Engine implements it).
type funnelEngine interface {
	FlowName(flow string) (string, error)
	FunnelReport(flow string, rows []dmflow.StatRow) (any, error)
}

// sinceDuration parses a look-back: a positive Go duration or whole days ("7d").
func sinceDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= 3650 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("since: want a duration like 7d or 12h, got %q", s)
}
