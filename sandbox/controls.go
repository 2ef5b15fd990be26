package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/accounts"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/bot/history"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

// errNoBot answers studio requests of a sandbox configured without a Bot.
var errNoBot = errors.New("sandbox: the studio controls need Config.Bot")

// control is the body of the studio's POST endpoints.
type control struct {
	User      string `json:"user"`
	State     string `json:"state,omitempty"`      // move
	On        *bool  `json:"on,omitempty"`         // handoff: true hands off, false releases
	Advance   string `json:"advance,omitempty"`    // clock: a Go duration ("90s", "1h")
	NextTimer bool   `json:"next_timer,omitempty"` // clock: advance to the user's next timer
	Text      string `json:"text,omitempty"`       // operator: the message
	Follows   *bool  `json:"follows,omitempty"`    // profile: the user follows the account (or not)
	Locale    string `json:"locale,omitempty"`     // locale: the user's new locale
}

// decodeControl reads a control body; needUser requires a valid user.
func decodeControl(w http.ResponseWriter, r *http.Request, needUser bool) (control, bool) {
	var c control
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxInputBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&c)
	if err == nil && needUser {
		err = checkUser(c.User)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: %v", err))
		return c, false
	}
	return c, true
}

// withBot answers 501 when the sandbox has no Bot.
func (s *Sandbox) withBot(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Bot == nil {
			writeError(w, http.StatusNotImplemented, errNoBot)
			return
		}
		h(w, r)
	}
}

func (s *Sandbox) key(user string) dmflow.SessionKey {
	return dmflow.SessionKey{Account: s.account(), User: user}
}

// command returns a handler queueing the admin command op for the user.
func (s *Sandbox) command(op func(c control) (dmflow.AdminCommand, error)) http.HandlerFunc {
	return s.withBot(func(w http.ResponseWriter, r *http.Request) {
		c, ok := decodeControl(w, r, true)
		if !ok {
			return
		}
		cmd, err := op(c)
		if err == nil {
			cmd.By = "sandbox"
			_, err = s.cfg.Bot.Command(r.Context(), s.key(c.User), cmd)
		}
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"queued": cmd.Op})
	})
}

// serveOperator sends an operator's message through the admin path
// (bot.Send, as `dmflow admin send` does): 409 when the conversation is not
// handed off and the 24-hour window is closed, 422 beyond 7 days.
func (s *Sandbox) serveOperator(w http.ResponseWriter, r *http.Request) {
	c, ok := decodeControl(w, r, true)
	if !ok {
		return
	}
	_, err := s.cfg.Bot.Send(r.Context(), s.key(c.User), bot.OperatorMessage{Text: c.Text, By: "sandbox"})
	switch {
	case errors.Is(err, bot.ErrNotHandedOff):
		writeError(w, http.StatusConflict, err)
	case errors.Is(err, dmflow.ErrOutsideWindow):
		writeError(w, http.StatusUnprocessableEntity, err)
	case errors.Is(err, dmflow.ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	case err != nil:
		writeError(w, statusOf(err), err)
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"queued": dmflow.AdminSend})
	}
}

// followers is implemented by a Graph double that answers profiles
// (igtest.Server): the studio's "follows the account" switch sets them.
type followers interface {
	SetFollows(igsid string, follows bool)
}

// serveProfile sets what the Graph double answers for the user's
// is_user_follow_business. The bot sees it when it fetches the profile
// again: a new conversation, a stale cached profile, or a state with
// refresh_profile ("follow, then tap Check again").
func (s *Sandbox) serveProfile(w http.ResponseWriter, r *http.Request) {
	c, ok := decodeControl(w, r, true)
	if !ok {
		return
	}
	f, can := s.cfg.Graph.(followers)
	switch {
	case c.Follows == nil:
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: profile: follows (true or false) is required: %w", dmflow.ErrInvalid))
	case !can:
		writeError(w, http.StatusNotImplemented, errors.New("sandbox: this Graph API double keeps no profiles"))
	default:
		f.SetFollows(c.User, *c.Follows)
		writeJSON(w, http.StatusOK, map[string]bool{"follows": *c.Follows})
	}
}

func resetCmd(control) (dmflow.AdminCommand, error) {
	return dmflow.AdminCommand{Op: dmflow.AdminReset}, nil
}

func moveCmd(c control) (dmflow.AdminCommand, error) {
	if c.State == "" {
		return dmflow.AdminCommand{}, fmt.Errorf("sandbox: move: state is required: %w", dmflow.ErrInvalid)
	}
	return dmflow.AdminCommand{Op: dmflow.AdminMove, State: c.State}, nil
}

func handoffCmd(c control) (dmflow.AdminCommand, error) {
	if c.On == nil {
		return dmflow.AdminCommand{}, fmt.Errorf("sandbox: handoff: on (true or false) is required: %w", dmflow.ErrInvalid)
	}
	if *c.On {
		return dmflow.AdminCommand{Op: dmflow.AdminHandoff}, nil
	}
	return dmflow.AdminCommand{Op: dmflow.AdminRelease}, nil
}

func statusOf(err error) int {
	if errors.Is(err, dmflow.ErrInvalid) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// ClockStatus is the sandbox time, as api/clock and api/config report it.
type ClockStatus struct {
	Now    time.Time `json:"now"`
	Offset string    `json:"offset"` // how far the clock was advanced
	Fired  int       `json:"fired"`  // timers fired by this request
}

func (s *Sandbox) clockStatus(fired int) ClockStatus {
	return ClockStatus{Now: s.clock.Now().UTC(), Offset: s.clock.Offset().Round(time.Second).String(), Fired: fired}
}

// serveClock advances the clock and fires the timers now due.
func (s *Sandbox) serveClock(w http.ResponseWriter, r *http.Request) {
	c, ok := decodeControl(w, r, false)
	if !ok {
		return
	}
	d, err := s.advanceBy(r, c)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	at := s.clock.Advance(d)
	n, err := s.cfg.Bot.FireTimersNow(r.Context(), at)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, s.clockStatus(n))
}

// advanceBy is how far a clock request moves the clock: its duration, or
// up to the user's earliest pending timer.
func (s *Sandbox) advanceBy(r *http.Request, c control) (time.Duration, error) {
	if !c.NextTimer {
		d, err := time.ParseDuration(c.Advance)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("sandbox: advance %q: want a positive Go duration like 90s or 1h", c.Advance)
		}
		return d, nil
	}
	sess, err := s.session(r, c.User)
	if err != nil || sess == nil || len(sess.Timers) == 0 {
		return 0, fmt.Errorf("sandbox: user %q has no pending timer", c.User)
	}
	due := sess.Timers[0].Due
	for _, t := range sess.Timers[1:] {
		if t.Due.Before(due) {
			due = t.Due
		}
	}
	return max(due.Sub(s.clock.Now()), time.Millisecond), nil
}

// session reads the user's stored session (nil when there is none).
func (s *Sandbox) session(r *http.Request, user string) (*dmflow.Session, error) {
	if s.cfg.Sessions == nil {
		return nil, errors.New("sandbox: no Config.Sessions to read sessions from")
	}
	sess, err := s.cfg.Sessions.GetSession(r.Context(), s.key(user))
	if errors.Is(err, dmflow.ErrNotFound) {
		return nil, nil
	}
	return sess, err
}

func (s *Sandbox) serveSession(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if err := checkUser(user); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: %v", err))
		return
	}
	sess, err := s.session(r, user)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	out := map[string]any{"session": sess, "clock": s.clockStatus(0)}
	if l := s.locale(sess); l != "" {
		out["locale"] = l
	}
	if ls := s.locales(); ls != nil {
		out["locales"] = ls.Supported
	}
	writeJSON(w, http.StatusOK, out)
}

// serveTranscript writes the user's conversation as a transcript that
// replays it under `dmflow test` ("Export as test").
func (s *Sandbox) serveTranscript(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if err := checkUser(user); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: %v", err))
		return
	}
	if s.cfg.Sessions == nil {
		writeError(w, http.StatusNotImplemented, errors.New("sandbox: no session store configured"))
		return
	}
	items, err := s.cfg.Sessions.History(r.Context(), s.key(user), 10000)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if len(items) == 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("sandbox: %s has no conversation to export yet", user))
		return
	}
	opts := history.TranscriptOptions{Name: "studio conversation with " + user}
	if sess, err := s.session(r, user); err == nil && sess != nil {
		opts.Profile = sess.Profile
	}
	out, err := history.Transcript(items, opts)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+fileName(user)+`.test.yaml"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// fileName keeps the letters, digits, '-' and '_' of a user id.
func fileName(user string) string {
	b := []byte(user)
	out := b[:0]
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "conversation"
	}
	return string(out)
}

// ReloadError is the answer to a rejected reload: the loader's message and
// its "file:line:col: message" lines.
type ReloadError struct {
	Error string   `json:"error"`
	Lines []string `json:"lines"`
}

func (s *Sandbox) serveReload(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Bot.Reload(r.Context()); err != nil {
		var lines []string
		for l := range strings.SplitSeq(err.Error(), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		writeJSON(w, http.StatusUnprocessableEntity, ReloadError{Error: err.Error(), Lines: lines})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}

// engine is the flow engine of the sandbox account (nil when the bot runs
// another Engine).
func (s *Sandbox) engine() *engine.Engine {
	var eng bot.Engine = s.cfg.Bot.Engine()
	if set, ok := eng.(interface {
		Engine(account string) accounts.Engine
	}); ok {
		eng = set.Engine(s.account()) // a multi-account deployment: the bundle of the account played now
	}
	e, _ := eng.(*engine.Engine)
	return e
}

// locales are the flows' locales (nil when they declare none or the
// engine is not known).
func (s *Sandbox) locales() *flows.Locales {
	if e := s.engine(); e != nil {
		return e.Bundle().Locales
	}
	return nil
}

// serveLocale sets the user's locale (the studio's locale control) with an
// admin locale command through the user's inbox, as the flow's own
// language choice would: checked here first against the flows' supported
// locales, so a bad one is a 400, not a failed event.
func (s *Sandbox) serveLocale(w http.ResponseWriter, r *http.Request) {
	c, ok := decodeControl(w, r, true)
	if !ok {
		return
	}
	if err := s.locales().Supports(c.Locale); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("sandbox: locale: %w", err))
		return
	}
	cmd := dmflow.AdminCommand{Op: dmflow.AdminLocale, Locale: c.Locale, By: "sandbox"}
	if _, err := s.cfg.Bot.Command(r.Context(), s.key(c.User), cmd); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"queued": cmd.Op})
}

// locale is the locale sess's texts render in ("" when the flows declare
// no locales or the engine is not known).
func (s *Sandbox) locale(sess *dmflow.Session) string {
	if e := s.engine(); e != nil && sess != nil {
		return e.Locale(sess)
	}
	return ""
}

func (s *Sandbox) serveGraph(w http.ResponseWriter, r *http.Request) {
	e := s.engine()
	if e == nil {
		writeError(w, http.StatusNotImplemented, errNoEngine)
		return
	}
	g, err := flowGraph(e, r.URL.Query().Get("flow"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	if r.URL.Query().Get("stats") == "1" {
		if err := s.withFunnel(r.Context(), e, g); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, g)
}
