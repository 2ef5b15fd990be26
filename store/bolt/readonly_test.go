package bolt_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/storetest"
)

// TestReadOnly checks that a read-only open reads what a writer stored,
// refuses writes, and cannot open a file another handle has open for
// writing.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ro.db")
	if _, err := bolt.Open(path, &bolt.Options{ReadOnly: true, Timeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("read-only open of a missing file succeeded (it must not create one)")
	}
	w := open(t, path, nil)
	k := storetest.Key("ro")
	if err := w.Commit(ctx, dmflow.Commit{Key: k, Session: &dmflow.Session{Key: k, Flow: "f", State: "s"}, Now: storetest.T0}); err != nil {
		t.Fatal(err)
	}
	_, err := bolt.Open(path, &bolt.Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "another process has the file open") {
		t.Fatalf("read-only open while a writer holds the file: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := bolt.Open(path, &bolt.Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ss, err := ro.ListSessions(ctx, dmflow.SessionFilter{})
	if err != nil || len(ss) != 1 || ss[0].State != "s" {
		t.Fatalf("sessions read back: %v, %v", ss, err)
	}
	if err := ro.Commit(ctx, dmflow.Commit{Key: k, Delete: true, Now: storetest.T0}); err == nil {
		t.Fatal("a read-only store accepted a write")
	}
}
