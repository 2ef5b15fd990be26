package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/bolt"
)

// The two business accounts of the multi-account tests and their tokens.
const (
	shopAccount  = igtest.DefaultAccount // 17841400000000001
	salonAccount = "17841400000000002"
	shopToken    = "IGAAe2eshoptoken5f4e3d"
	salonToken   = "IGAAe2esalontoken2c1b0a"
)

// bundleFlow is a one-file bundle answering "<name> ready" to a new user's
// first message and "<name> got: <text>" to every later one.
func bundleFlow(name string) string {
	return `flow: ` + name + `
version: 1
main: true
start: listen
states:
  listen:
    say: [{text: "` + name + ` ready"}]
    on:
      - say: [{text: "` + name + ` got: {{ event.text }}"}]
`
}

// brokenFlow fails to load: its start state does not exist.
const brokenFlow = `flow: shop
version: 2
main: true
start: nowhere
states:
  listen:
    say: [{text: "broken"}]
`

// accountsWorld is a world serving two accounts from flows/<account id>/
// with a Graph double that knows both accounts' tokens (set per account
// in the config file's accounts: section).
func accountsWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, worldOpts{})
	w.graph = igtest.NewServer(igtest.Config{AccessTokens: map[string]string{shopToken: shopAccount, salonToken: salonAccount}, WebhookSecret: appSecret})
	t.Cleanup(w.graph.Close)
	if err := os.Remove(filepath.Join(w.flows, "e2e.yaml")); err != nil {
		t.Fatal(err)
	}
	w.setBundle(shopAccount, bundleFlow("shop"))
	w.setBundle(salonAccount, bundleFlow("salon"))
	cfg := filepath.Join(w.dir, "dmflow.yaml")
	conf := "accounts:\n" +
		"  \"" + shopAccount + "\": {access_token: " + shopToken + "}\n" +
		"  \"" + salonAccount + "\": {access_token: " + salonToken + "}\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range w.env {
		switch {
		case strings.HasPrefix(kv, "INSTAGRAM_ACCESS_TOKEN="):
		case strings.HasPrefix(kv, "DMFLOW_GRAPH_URL="):
			env = append(env, "DMFLOW_GRAPH_URL="+w.graph.URL)
		default:
			env = append(env, kv)
		}
	}
	w.env = append(env, "DMFLOW_CONFIG="+cfg)
	return w
}

// setBundle writes account's bundle (flows/<account>/main.yaml).
func (w *world) setBundle(account, src string) {
	w.t.Helper()
	dir := filepath.Join(w.flows, account)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.yaml"), []byte(src), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// repliesFrom returns the texts account sent to user, in order.
func (w *world) repliesFrom(account, user string) []string {
	var out []string
	for _, m := range w.graph.Messages() {
		if m.Account == account && m.RecipientID == user {
			out = append(out, m.Text())
		}
	}
	return out
}

func (w *world) waitRepliesFrom(account, user string, n int) []string {
	w.t.Helper()
	var got []string
	if !testutil.Poll(testutil.Scale(testutil.Wait), func() bool { got = w.repliesFrom(account, user); return len(got) >= n }) {
		stderr := ""
		if nd := w.current(); nd != nil {
			stderr = nd.stderr.String()
		}
		w.t.Fatalf("%s to %s: %d replies %q, want %d; stderr:\n%s", account, user, len(got), got, n, stderr)
	}
	return got
}

// TestAccountsBundles: one serve, two accounts with their own bundles.
// Each account's users get that account's conversation; a reload where
// one account's new bundle is broken keeps that account's old bundle and
// installs the other's; the admin API reloads one account at a time.
func TestAccountsBundles(t *testing.T) {
	w := accountsWorld(t)
	n := w.start()
	n.waitLog(t, `"account":"`+salonAccount+`"`, 10*time.Second)

	// Same user id, same text, two accounts: two different conversations.
	w.mustPost(w.wh.Text(shopAccount, "u1", "m-s-1", "hi"))
	w.mustPost(w.wh.Text(salonAccount, "u1", "m-b-1", "hi"))
	if got := w.waitRepliesFrom(shopAccount, "u1", 1); !equal(got, []string{"shop ready"}) {
		t.Fatalf("shop conversation %q", got)
	}
	if got := w.waitRepliesFrom(salonAccount, "u1", 1); !equal(got, []string{"salon ready"}) {
		t.Fatalf("salon conversation %q", got)
	}

	// A bad bundle for the shop, a new one for the salon, then SIGHUP.
	w.setBundle(shopAccount, brokenFlow)
	w.setBundle(salonAccount, strings.ReplaceAll(bundleFlow("salon"), "salon got", "salon v2 got"))
	n.cmd.Process.Signal(syscall.SIGHUP)
	n.waitLog(t, "reload rejected, the old flows keep running", 10*time.Second) // logged after the per-account lines
	if log := n.stderr.String(); !strings.Contains(log, `unknown state \"nowhere\"`) || !strings.Contains(log, "account "+shopAccount+":") {
		t.Fatalf("the rejection must name the account and say why; stderr:\n%s", log)
	}
	w.mustPost(w.wh.Text(shopAccount, "u1", "m-s-2", "again"))
	w.mustPost(w.wh.Text(salonAccount, "u1", "m-b-2", "again"))
	if got := w.waitRepliesFrom(shopAccount, "u1", 2); got[1] != "shop got: again" {
		t.Fatalf("the shop keeps its old bundle: %q", got)
	}
	if got := w.waitRepliesFrom(salonAccount, "u1", 2); got[1] != "salon v2 got: again" {
		t.Fatalf("the salon's new bundle is installed: %q", got)
	}

	// The admin API reloads one account: the salon's works, the shop's is refused.
	if code, body := w.admin(http.MethodPost, "/admin/reload?account="+salonAccount, ""); code != http.StatusOK || !strings.Contains(body, salonAccount) {
		t.Fatalf("reload salon: %d %s", code, body)
	}
	code, body := w.admin(http.MethodPost, "/admin/reload?account="+shopAccount, "")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "account "+shopAccount) || !strings.Contains(body, "nowhere") {
		t.Fatalf("reload shop: %d %s", code, body)
	}
	if v := w.metric(`dmflow_account_reloads_total{account="` + shopAccount + `",result="error"}`); v != 2 {
		t.Fatalf("shop reload errors %v, want 2", v)
	}
	if v := w.metric(`dmflow_account_events_total{account="` + salonAccount + `",result="ok"}`); v != 2 {
		t.Fatalf("salon events %v, want 2", v)
	}
	// The shop's bundle fixed: the next reload installs it.
	w.setBundle(shopAccount, strings.ReplaceAll(bundleFlow("shop"), "shop got", "shop v2 got"))
	if code, body := w.admin(http.MethodPost, "/admin/reload", ""); code != http.StatusOK {
		t.Fatalf("reload all: %d %s", code, body)
	}
	w.mustPost(w.wh.Text(shopAccount, "u1", "m-s-3", "fixed"))
	if got := w.waitRepliesFrom(shopAccount, "u1", 3); got[2] != "shop v2 got: fixed" {
		t.Fatalf("after the fix: %q", got)
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, n.stderr)
	}
}

// TestAccountsThrottledAccountDoesNotSlowAnother: the shop's Graph calls
// stall (as when Meta throttles an account) while several of its users
// wait for replies; with two send slots the shop may hold only one, so the
// salon's reply is delivered while every shop reply is still pending.
// Without fair send slots the shop's backlog would hold both slots and the
// salon's reply would wait for the shop's stalled calls.
func TestAccountsThrottledAccountDoesNotSlowAnother(t *testing.T) {
	w := accountsWorld(t)
	w.graph.Inject(igtest.Fault{Path: "/" + shopAccount + "/messages", Times: -1, Latency: time.Hour})
	n := w.start("--senders", "2", "--send-timeout", "1h")
	t.Cleanup(w.stopAll) // before the double closes: its stalled requests end with the server's connections
	for _, u := range []string{"s1", "s2", "s3", "s4"} {
		w.mustPost(w.wh.Text(shopAccount, u, "m-"+u, "hello"))
	}
	// The shop's sends are in flight (stalled) before the salon's message
	// comes: 4 profile lookups and at least one send reached the double.
	testutil.Eventually(t, "the shop's stalled sends", func() bool { return w.graph.Calls() >= 5 })
	w.mustPost(w.wh.Text(salonAccount, "b1", "m-b1", "hello"))
	if got := w.waitRepliesFrom(salonAccount, "b1", 1); !equal(got, []string{"salon ready"}) {
		t.Fatalf("salon conversation %q", got)
	}
	for _, u := range []string{"s1", "s2", "s3", "s4"} {
		if got := w.repliesFrom(shopAccount, u); len(got) != 0 {
			t.Fatalf("shop user %s got %q although the shop's calls stall", u, got)
		}
	}
	if n.cmd.Process == nil {
		t.Fatal("no server")
	}
}

// TestAccountsBacklogDoesNotDelayAnother: the inbox holds a backlog of the
// shop's messages larger than what serve keeps in flight (1024), and one
// of the salon's that came last, when serve starts (as after an outage).
// The salon's message is processed among the first, not after the shop's
// backlog: claims are shared between accounts and each worker takes the
// accounts in turns. (With claims in arrival order it was claimed only
// once the shop's first ~1,000 were done.)
func TestAccountsBacklogDoesNotDelayAnother(t *testing.T) {
	w := accountsWorld(t)
	const users, each = 40, 40
	var events []dmflow.Event
	for i := range each {
		for u := range users {
			evs, err := instagram.Parse(w.wh.Text(shopAccount, fmt.Sprint("s", u), fmt.Sprintf("m-s%d-%d", u, i), "hello"))
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, evs...)
		}
	}
	evs, err := instagram.Parse(w.wh.Text(salonAccount, "b1", "m-b1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, evs...)
	db, err := bolt.Open(w.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.AppendInbox(context.Background(), events, time.Now())
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil || res.Added != users*each+1 {
		t.Fatalf("backlog: %+v, %v", res, err)
	}

	w.start()
	// The shop's items processed by the time the salon's is: read after
	// the salon's count shows it, so at least as many as at that moment.
	salonDone := `dmflow_account_events_total{account="` + salonAccount + `",result="ok"}`
	shopDone := `dmflow_account_events_total{account="` + shopAccount + `",result="ok"}`
	testutil.Eventually(t, "the salon's message processed", func() bool { return w.metric(salonDone) == 1 })
	before := w.metric(shopDone)
	t.Logf("the shop's items processed before the salon's: at most %v of %d", before, users*each)
	if before >= users*each/3 {
		t.Fatalf("%v of the shop's %d items were processed before the salon's one; want fewer than %d", before, users*each, users*each/3)
	}
	w.waitRepliesFrom(salonAccount, "b1", 1)
	testutil.Eventually(t, "every reply sent", func() bool { return len(w.graph.Messages()) == users*each+1 })
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestAccountsOutboxBacklogDoesNotDelayAnother: the outbox holds a backlog
// of the shop's replies far larger than what serve keeps claimed (16 ×
// --senders = 32), and one of the salon's that was queued last, when serve
// starts (as after an outage; the shop's replies are also paced at its
// 100 sends/s). The salon's reply is delivered among the first, not after
// the shop's backlog: outbox claims are shared between accounts and one
// account holds at most 7/8 of the claimed items. (With claims in queue
// order it was claimed only once the shop's backlog was nearly sent.)
func TestAccountsOutboxBacklogDoesNotDelayAnother(t *testing.T) {
	w := accountsWorld(t)
	const users, each = 15, 20
	w.queueReplies(shopAccount, users, each, true)
	w.start("--senders", "2")
	w.waitRepliesFrom(salonAccount, "b1", 1)
	before := 0
	for _, m := range w.graph.Messages() {
		if m.Account == salonAccount {
			break
		}
		before++
	}
	t.Logf("the shop's replies sent before the salon's: %d of %d", before, users*each)
	if before >= 32 {
		t.Fatalf("%d of the shop's %d replies were sent before the salon's one; want fewer than 32 (one claim's worth)", before, users*each)
	}
	testutil.Eventually(t, "every reply sent", func() bool { return len(w.graph.Messages()) == users*each+1 })
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// queueReplies writes each replies for each of users of account (users
// s0, s1, …, in rounds) into the stopped world's outbox, and one of the
// salon's to b1 after them when salon is set.
func (w *world) queueReplies(account string, users, each int, salon bool) {
	w.t.Helper()
	db, err := bolt.Open(w.db, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	reply := func(account, user, text string) error {
		k := dmflow.SessionKey{Account: account, User: user}
		out := dmflow.Outgoing{Key: k, To: dmflow.Recipient{ID: user}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: text}}
		return db.Commit(context.Background(), dmflow.Commit{Key: k, Outbox: []dmflow.Outgoing{out}, Now: time.Now()})
	}
	for i := range each {
		for u := range users {
			if err == nil {
				err = reply(account, fmt.Sprint("s", u), fmt.Sprintf("queued %d", i))
			}
		}
	}
	if err == nil && salon {
		err = reply(salonAccount, "b1", "salon 0")
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.t.Fatalf("queue replies: %v", err)
	}
}

// TestAccountsStalledBacklogDoesNotHoldTheSender: the shop's Graph calls
// stall (as when Meta throttles an account) while it has more replies
// queued than serve keeps claimed (16 × --senders = 32). Its claimed
// replies wait for a send slot, but they hold at most 7/8 of the claimed
// items, so the salon's reply to a new message is claimed and delivered
// while the shop is stalled. (When the shop's waiting replies could hold
// every claimed item, the salon's reply was not even claimed until the
// shop's calls returned.)
func TestAccountsStalledBacklogDoesNotHoldTheSender(t *testing.T) {
	w := accountsWorld(t)
	w.graph.Inject(igtest.Fault{Path: "/" + shopAccount + "/messages", Times: -1, Latency: time.Hour})
	w.queueReplies(shopAccount, 20, 3, false)
	w.start("--senders", "2", "--send-timeout", "1h")
	t.Cleanup(w.stopAll) // before the double closes: its stalled requests end with the server's connections
	testutil.Eventually(t, "the shop's stalled send", func() bool { return w.graph.Calls() >= 1 })
	w.mustPost(w.wh.Text(salonAccount, "b1", "m-b1", "hello"))
	if got := w.waitRepliesFrom(salonAccount, "b1", 1); !equal(got, []string{"salon ready"}) {
		t.Fatalf("salon conversation %q", got)
	}
	for _, m := range w.graph.Messages() {
		if m.Account == shopAccount {
			t.Fatalf("the shop sent %q although its calls stall", m.Text())
		}
	}
}
