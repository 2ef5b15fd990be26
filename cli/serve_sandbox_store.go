package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/dmflow/dmflow"
)

// sandboxMarkerAccount is the account of the token record that marks a
// store as the sandbox's own. The sandbox writes it into an empty store
// before serving; the marker is not a real access token and no Instagram
// account id looks like it.
const sandboxMarkerAccount = "dmflow-sandbox-store"

func isSandboxMarker(t dmflow.Token) bool { return t.Account == sandboxMarkerAccount }

// claimSandboxStore makes sure the sandbox serves a store of its own: one
// carrying the sandbox marker, or an empty one, which it then marks. A
// store without the marker that holds anything (sessions, inbox or outbox
// items, dead letters, tokens) is someone's real data: the sandbox would
// "deliver" its pending replies to the in-process double (losing them) and
// serve and reset its sessions. That is a configuration error.
func claimSandboxStore(ctx context.Context, st dmflow.Store, desc string) error {
	toks, err := st.ListTokens(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: read the store's tokens: %w", err)
	}
	marked := false
	for _, t := range toks {
		if isSandboxMarker(t) {
			marked = true
		} else {
			return refuseSandboxStore(desc, "Instagram access tokens (dmflow auth)")
		}
	}
	if marked {
		return nil
	}
	held, err := storeContents(ctx, st)
	if err != nil {
		return fmt.Errorf("sandbox: inspect the store: %w", err)
	}
	if len(held) > 0 {
		return refuseSandboxStore(desc, strings.Join(held, ", "))
	}
	return st.PutToken(ctx, dmflow.Token{Account: sandboxMarkerAccount, Username: "dmflow sandbox store",
		AccessToken: "not-a-token"})
}

// storeContents lists what a store holds ("sessions", "pending replies", …).
func storeContents(ctx context.Context, st dmflow.Store) ([]string, error) {
	var held []string
	sess, err := st.ListSessions(ctx, dmflow.SessionFilter{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(sess) > 0 {
		held = append(held, "sessions")
	}
	if n, err := st.InboxDepth(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		held = append(held, "unprocessed inbox events")
	}
	for _, q := range []struct{ queue, what string }{{dmflow.QueueDM, "pending replies"}, {dmflow.QueueNotices, "pending notices"}} {
		if n, err := st.OutboxDepth(ctx, q.queue); err != nil {
			return nil, err
		} else if n > 0 {
			held = append(held, q.what)
		}
	}
	if dl, err := st.DeadLetters(ctx, 1); err != nil {
		return nil, err
	} else if len(dl) > 0 {
		held = append(held, "dead letters")
	}
	return held, nil
}

func refuseSandboxStore(desc, held string) error {
	return configErrorf("sandbox mode refuses to open %s: it holds %s but was not created by the sandbox. "+
		"The sandbox would deliver its pending replies to the in-process double (losing them) and serve its sessions. "+
		"Give the sandbox a file of its own (--db, default %s) or an empty database", desc, held, sandboxDB)
}

// refuseSandboxMarked keeps production serve off a store the sandbox made:
// its sessions and replies are test data.
func refuseSandboxMarked(ctx context.Context, st dmflow.Store, desc string) error {
	toks, err := st.ListTokens(ctx)
	if err != nil {
		return fmt.Errorf("read the store's tokens: %w", err)
	}
	for _, t := range toks {
		if isSandboxMarker(t) {
			return configErrorf("%s is a sandbox store (created by serve in sandbox mode): serve Instagram from a store of its own", desc)
		}
	}
	return nil
}
