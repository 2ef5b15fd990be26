package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/bot/history"
	"github.com/dmflow/dmflow/flows"
)

const adminUsage = `Usage: dmflow admin [--url URL] [--token T] [--json] COMMAND [ARGS]

Talks to the admin API of a running 'dmflow serve' (--admin-token there).
A/U is a session key: business account id / user id.

  sessions              list sessions (--account, --state, --limit filter)
  session A/U           show one session
  history [--transcript [--name N] [--flows P,…]] A/U
                        the user's stored events; --transcript writes them as a
                        *.test.yaml that replays the conversation with dmflow test
  reset A/U             forget the session (queued behind the user's messages)
  move A/U STATE        put the session in STATE (queued)
  handoff A/U           hand the conversation to a person (queued)
  handoffs              list conversations handed off to a person
  release A/U           give a handed-off conversation back to the bot (queued)
  send A/U TEXT         send an operator's message (--quick "Yes,No" adds quick replies; queued);
                        tagged HUMAN_AGENT in a handed-off conversation: up to 7 days after the
                        user's last message, else only within 24 hours
  deadletters           replies that failed permanently (--account filters)
  retry SEQ             send dead letter SEQ again
  drop SEQ              delete dead letter SEQ
  failed                events the flow failed on (--account filters)
  reload                reload the flows (like SIGHUP; errors are shown; --account: one account's bundle)
  replay A/U            re-run the user's history against the current flows (dry run):
                        per turn what was sent then and what the flows send now,
                        turns that differ marked "!" (--json: the API's JSON)
  forget A/U            erase everything stored about the user (queued behind the user's messages)
  export A/U            everything stored about the user, as JSON
  compact               rewrite the bbolt file without freed pages (after forget; pauses the store briefly)
  backup FILE           write a consistent copy of the bbolt file to FILE
  stranded PATH         sessions whose flow state no longer exists in the flows at PATH
  stats                 the funnel from real traffic: per state entered, left, dropped off,
                        handed off, failed asks; per transition how often
                        (--since 7d, --flow F, --graph: the flow graph annotated with the counts)

Lists print as a table, replay as text, everything else as JSON; --json
prints JSON always.
Exit codes: 0 ok, 1 the server refused or failed, 2 usage error.`

func adminCmd(o *Options) *Command {
	return &Command{
		Name:    "admin",
		Summary: "inspect and operate a running server (sessions, handoffs, dead letters, reload, backup)",
		Usage:   adminUsage,
		Flags: func(fs *flag.FlagSet) {
			fs.String("url", "", "server base URL (env DMFLOW_URL; default http://127.0.0.1:8080)")
			fs.String("token", "", "admin token (env DMFLOW_ADMIN_TOKEN)")
			fs.Bool("json", false, "print JSON instead of tables")
			fs.String("account", "", "sessions, deadletters, failed: only this business account; reload: only its flow bundle")
			fs.String("state", "", "sessions: only sessions in this state")
			fs.Int("limit", 100, "most items listed")
			fs.String("quick", "", "send: quick-reply titles, comma-separated")
			fs.String("since", "", "stats: only the last DURATION (e.g. 7d, 12h; default all)")
			fs.String("flow", "", "stats: this flow (default the main flow)")
			fs.Bool("graph", false, "stats: print the Mermaid graph annotated with the counts")
		},
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO) int {
			return runAdmin(ctx, fs, args, stdio, o)
		},
	}
}

// adminClient calls the admin API.
type adminClient struct {
	base, token string
	hc          *http.Client
	out         io.Writer
	json        bool
	flows       *flows.Options // the program's helpers, for stranded
}

func runAdmin(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO, o *Options) int {
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	c, err := newAdminClient(fs, stdio)
	if err == nil {
		c.flows = o.Flows
	}
	if err == nil && fs.NArg() == 0 {
		err = configErrorf("missing command (see dmflow admin --help)")
	}
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow admin: %v\n", err)
		return exitUsage
	}
	if err := c.dispatch(ctx, fs, fs.Args()); err != nil {
		fmt.Fprintf(stdio.Err, "dmflow admin: %v\n", err)
		return errExitCode(err)
	}
	return exitOK
}

func newAdminClient(fs *flag.FlagSet, stdio IO) (*adminClient, error) {
	base := fs.Lookup("url").Value.String()
	if base == "" {
		base = envOr(stdio.Env, "DMFLOW_URL", "http://127.0.0.1:8080")
	}
	token := fs.Lookup("token").Value.String()
	if token == "" {
		token, _ = stdio.Env("DMFLOW_ADMIN_TOKEN")
	}
	if err := checkHTTPURL("url", base); err != nil {
		return nil, err
	}
	if token == "" {
		return nil, configErrorf("no admin token: pass --token or set DMFLOW_ADMIN_TOKEN")
	}
	return &adminClient{base: strings.TrimRight(base, "/"), token: token, out: stdio.Out,
		hc: &http.Client{Timeout: 5 * time.Minute}, json: fs.Lookup("json").Value.String() == "true"}, nil
}

func envOr(env func(string) (string, bool), name, def string) string {
	if v, ok := env(name); ok && v != "" {
		return v
	}
	return def
}

// adminOp is one admin command: how many arguments it takes and what it does.
type adminOp struct {
	args int
	run  func(c *adminClient, ctx context.Context, fs *flag.FlagSet, a []string) error
}

var adminCommands = map[string]adminOp{
	"sessions":    {0, (*adminClient).sessions},
	"session":     {1, keyed(http.MethodGet, "", "")},
	"history":     {-1, (*adminClient).history},
	"reset":       {1, keyed(http.MethodDelete, "", "")},
	"handoff":     {1, keyed(http.MethodPost, "/handoff", "")},
	"release":     {1, keyed(http.MethodPost, "/release", "")},
	"move":        {2, keyed(http.MethodPost, "/move", "state")},
	"send":        {2, (*adminClient).send},
	"handoffs":    {0, listed("/admin/handoffs", sessionTable)},
	"deadletters": {0, listed("/admin/deadletters", deadTable)},
	"failed":      {0, listed("/admin/failed", failedTable)},
	"retry":       {1, seqOp(http.MethodPost, "/retry")},
	"drop":        {1, seqOp(http.MethodDelete, "")},
	"reload":      {0, (*adminClient).reload},
	"replay":      {1, (*adminClient).replay},
	"forget":      {1, keyed(http.MethodPost, "/forget", "")},
	"export":      {1, keyed(http.MethodGet, "/export", "")},
	"compact":     {0, (*adminClient).compact},
	"stats":       {0, (*adminClient).stats},
	"backup":      {1, (*adminClient).backup},
	"stranded":    {1, (*adminClient).stranded},
}

func (c *adminClient) dispatch(ctx context.Context, fs *flag.FlagSet, args []string) error {
	op, ok := adminCommands[args[0]]
	if !ok {
		return configErrorf("unknown command %q (see dmflow admin --help)", args[0])
	}
	rest := args[1:]
	if op.args < 0 { // the command parses its own flags (history)
		return op.run(c, ctx, fs, rest)
	}
	// Flags may follow the command too: dmflow admin stats --since 7d.
	if err := fs.Parse(rest); err != nil {
		return configErrorf("%s: %v", args[0], err)
	}
	rest = fs.Args()
	if len(rest) != op.args {
		return configErrorf("%s takes %d argument(s), got %d", args[0], op.args, len(rest))
	}
	return op.run(c, ctx, fs, rest)
}

// sessionPath turns "A/U" into the session's admin path.
func sessionPath(arg string) (string, error) {
	k, ok := dmflow.ParseSessionKey(arg)
	if !ok {
		return "", configErrorf("session %q: want ACCOUNT/USER", arg)
	}
	return "/admin/sessions/" + url.PathEscape(k.Account) + "/" + url.PathEscape(k.User), nil
}

// keyed is a command on one session; bodyKey names the second argument's
// field in the JSON body ("" for none).
func keyed(method, suffix, bodyKey string) func(*adminClient, context.Context, *flag.FlagSet, []string) error {
	return func(c *adminClient, ctx context.Context, _ *flag.FlagSet, a []string) error {
		p, err := sessionPath(a[0])
		if err != nil {
			return err
		}
		var body any
		if bodyKey != "" {
			body = map[string]string{bodyKey: a[1]}
		}
		return c.print(ctx, method, p+suffix, body)
	}
}

func seqOp(method, suffix string) func(*adminClient, context.Context, *flag.FlagSet, []string) error {
	return func(c *adminClient, ctx context.Context, _ *flag.FlagSet, a []string) error {
		return c.print(ctx, method, "/admin/deadletters/"+url.PathEscape(a[0])+suffix, nil)
	}
}

// send posts an operator's message (bot.OperatorMessage) to /send.
func (c *adminClient) send(ctx context.Context, fs *flag.FlagSet, a []string) error {
	p, err := sessionPath(a[0])
	if err != nil {
		return err
	}
	type quick struct {
		Title string `json:"title"`
	}
	body := struct {
		Text  string  `json:"text"`
		Quick []quick `json:"quick_replies,omitempty"`
	}{Text: a[1]}
	if q := fs.Lookup("quick").Value.String(); q != "" {
		for _, t := range strings.Split(q, ",") {
			body.Quick = append(body.Quick, quick{Title: strings.TrimSpace(t)})
		}
	}
	return c.print(ctx, http.MethodPost, p+"/send", body)
}

func (c *adminClient) reload(ctx context.Context, fs *flag.FlagSet, _ []string) error {
	path := "/admin/reload"
	if a := fs.Lookup("account").Value.String(); a != "" { // one account's bundle
		path += "?account=" + url.QueryEscape(a)
	}
	return c.print(ctx, http.MethodPost, path, nil)
}

func (c *adminClient) compact(ctx context.Context, _ *flag.FlagSet, _ []string) error {
	return c.print(ctx, http.MethodPost, "/admin/compact", nil)
}

// replay prints the server's dry run as text (bot/history.WriteReplay),
// or its JSON with --json.
func (c *adminClient) replay(ctx context.Context, _ *flag.FlagSet, a []string) error {
	k, ok := dmflow.ParseSessionKey(a[0])
	if !ok {
		return configErrorf("session %q: want ACCOUNT/USER", a[0])
	}
	b, err := c.do(ctx, http.MethodPost, "/admin/replay", k)
	if err != nil || c.json {
		if err == nil {
			_, err = c.out.Write(b)
		}
		return err
	}
	var rep bot.Replay
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("decode replay: %w", err)
	}
	return history.WriteReplay(c.out, &rep)
}

// history prints the user's stored events, or with --transcript the
// conversation as a transcript (bot/history.Transcript).
func (c *adminClient) history(ctx context.Context, _ *flag.FlagSet, a []string) error {
	hf := flag.NewFlagSet("history", flag.ContinueOnError)
	hf.SetOutput(io.Discard)
	asTest := hf.Bool("transcript", false, "")
	name := hf.String("name", "", "")
	flowPaths := hf.String("flows", "", "")
	var pos []string // flags may come before or after ACCOUNT/USER
	for {
		if err := hf.Parse(a); err != nil {
			return configErrorf("history: %v", err)
		}
		if hf.NArg() == 0 {
			break
		}
		pos, a = append(pos, hf.Arg(0)), hf.Args()[1:]
	}
	if len(pos) != 1 {
		return configErrorf("history takes 1 argument (ACCOUNT/USER), got %d", len(pos))
	}
	p, err := sessionPath(pos[0])
	if err != nil {
		return err
	}
	if !*asTest {
		return c.print(ctx, http.MethodGet, p+"/history", nil)
	}
	b, err := c.do(ctx, http.MethodGet, p+"/history?limit=10000", nil)
	if err != nil {
		return err
	}
	var items []dmflow.InboxItem
	if err := json.Unmarshal(b, &items); err != nil {
		return fmt.Errorf("decode history: %w", err)
	}
	opts := history.TranscriptOptions{Name: *name}
	if *flowPaths != "" {
		opts.Flows = strings.Split(*flowPaths, ",")
	}
	if sb, err := c.do(ctx, http.MethodGet, p, nil); err == nil { // the profile, if a session is left
		var s dmflow.Session
		if json.Unmarshal(sb, &s) == nil {
			opts.Profile = s.Profile
		}
	}
	out, err := history.Transcript(items, opts)
	if err != nil {
		return err
	}
	_, err = c.out.Write(out)
	return err
}

func (c *adminClient) sessions(ctx context.Context, fs *flag.FlagSet, _ []string) error {
	q := url.Values{"limit": {fs.Lookup("limit").Value.String()}}
	for _, f := range []string{"account", "state"} {
		if v := fs.Lookup(f).Value.String(); v != "" {
			q.Set(f, v)
		}
	}
	return listed("/admin/sessions?"+q.Encode(), sessionTable)(c, ctx, fs, nil)
}

// listed GETs a list and prints it with table (or as JSON).
func listed(path string, table func(io.Writer, []byte) error) func(*adminClient, context.Context, *flag.FlagSet, []string) error {
	return func(c *adminClient, ctx context.Context, fs *flag.FlagSet, _ []string) error {
		path := path
		if !strings.Contains(path, "?") {
			path += "?limit=" + url.QueryEscape(fs.Lookup("limit").Value.String())
			if a := fs.Lookup("account").Value.String(); a != "" {
				path += "&account=" + url.QueryEscape(a)
			}
		}
		b, err := c.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return err
		}
		if c.json {
			_, err = c.out.Write(b)
			return err
		}
		return table(c.out, b)
	}
}

// print runs a request and prints the JSON answer.
func (c *adminClient) print(ctx context.Context, method, path string, body any) error {
	b, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	_, err = c.out.Write(b)
	return err
}

// do runs one request and returns the body of a 2xx answer.
func (c *adminClient) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	resp, err := c.request(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

func (c *adminClient) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp, nil
}

// backup streams GET /admin/backup into FILE (written whole or not at all).
func (c *adminClient) backup(ctx context.Context, _ *flag.FlagSet, a []string) error {
	resp, err := c.request(ctx, http.MethodGet, "/admin/backup", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("backup: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	tmp := a[0] + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, resp.Body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, a[0])
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(c.out, "wrote %s (%d bytes)\n", a[0], n)
	return nil
}

func sessionTable(w io.Writer, b []byte) error {
	var ss []dmflow.Session
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("decode sessions: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tFLOW\tVERSION\tSTATE\tUPDATED\tHANDOFF")
	for _, s := range ss {
		h := ""
		if s.Handoff != nil {
			h = s.Handoff.By + " " + s.Handoff.Since.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", s.Key, s.Flow, s.FlowVersion, s.State, s.Updated.Format(time.RFC3339), h)
	}
	return tw.Flush()
}

func deadTable(w io.Writer, b []byte) error {
	var ds []dmflow.DeadLetter
	if err := json.Unmarshal(b, &ds); err != nil {
		return fmt.Errorf("decode dead letters: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tQUEUE\tSESSION\tATTEMPTS\tAT\tREASON")
	for _, d := range ds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", d.Item.Seq, d.Item.Queue, d.Item.Key, d.Item.Attempts, d.At.Format(time.RFC3339), d.Reason)
	}
	return tw.Flush()
}

func failedTable(w io.Writer, b []byte) error {
	var fs []dmflow.FailedItem
	if err := json.Unmarshal(b, &fs); err != nil {
		return fmt.Errorf("decode failed items: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSESSION\tKIND\tAT\tREASON")
	for _, f := range fs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", f.Item.Seq, f.Item.Event.SessionKey(), f.Item.Event.Kind, f.At.Format(time.RFC3339), f.Reason)
	}
	return tw.Flush()
}
