package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
)

// The personal-data operations: Forget, Export and Sweep. A person is
// matched by (account, user_id); an empty user ($2 = '') matches the whole
// account.

const personWhere = `account = $1 AND ($2 = '' OR user_id = $2)`

// inTx runs fn in one transaction, retried like every call (db.run).
func (db *DB) inTx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return db.run(ctx, op, func(ctx context.Context) error { return pgx.BeginFunc(ctx, db.pool, fn) })
}

// Forget erases every row about f.Key in one transaction.
func (db *DB) Forget(ctx context.Context, f dmflow.Forget) (dmflow.Forgotten, error) {
	op := "forget " + f.Key.String()
	switch {
	case f.Key.Account == "":
		return dmflow.Forgotten{}, fmt.Errorf("store/postgres: %s: no account: %w", op, dmflow.ErrInvalid)
	case f.Seq != 0 && (f.Key.User == "" || f.Owner == ""):
		return dmflow.Forgotten{}, fmt.Errorf("store/postgres: %s: a seq needs a user and an owner: %w", op, dmflow.ErrInvalid)
	}
	var n dmflow.Forgotten
	err := db.inTx(ctx, op, func(tx pgx.Tx) error {
		var err error
		n, err = forgetTx(ctx, tx, f)
		return err
	})
	db.work.dropWhere(func(k dmflow.SessionKey, _ *workEntry) bool {
		return k.Account == f.Key.Account && (f.Key.User == "" || k.User == f.Key.User)
	})
	return n, err
}

func forgetTx(ctx context.Context, tx pgx.Tx, f dmflow.Forget) (dmflow.Forgotten, error) {
	var n dmflow.Forgotten
	a, u := f.Key.Account, f.Key.User
	if f.Seq != 0 {
		var held bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM leases WHERE queue = 'inbox' AND account = $1
			AND user_id = $2 AND owner = $3 AND expires > $4 FOR UPDATE)`, a, u, f.Owner, nanos(f.Now)).Scan(&held)
		if err != nil {
			return n, err
		}
		if !held {
			return n, fmt.Errorf("%s is not leased to %s: %w", f.Key, f.Owner, dmflow.ErrLeaseLost)
		}
	}
	// Pending items are kept unless they are at or before f.Seq.
	inbox := `DELETE FROM inbox WHERE ` + personWhere + ` AND (status <> 0 OR seq <= $3)`
	steps := []struct {
		n   *int
		sql string
		arg []any
	}{
		{&n.Sessions, `DELETE FROM sessions WHERE ` + personWhere, nil},
		{nil, `DELETE FROM timers WHERE ` + personWhere, nil},
		{&n.Inbox, inbox, []any{int64(f.Seq)}},
		{&n.Outbox, `DELETE FROM outbox WHERE ` + personWhere, nil},
		{nil, `DELETE FROM leases WHERE ` + personWhere + ` AND queue LIKE 'outbox:%'`, nil},
		{&n.DeadLetters, `DELETE FROM dead_letters WHERE ` + personWhere, nil},
		{&n.Actions, `DELETE FROM actions WHERE ` + personWhere, nil},
	}
	for _, s := range steps {
		tag, err := tx.Exec(ctx, s.sql, append([]any{a, u}, s.arg...)...)
		if err != nil {
			return n, err
		}
		if s.n != nil {
			*s.n = int(tag.RowsAffected())
		}
	}
	if f.Key.User == "" {
		// A whole account: no worker holds these users for this request.
		if _, err := tx.Exec(ctx, `DELETE FROM leases WHERE account = $1 AND queue = 'inbox'
			AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.account = leases.account AND i.user_id = leases.user_id)`, a); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Export returns everything stored about the person key.
func (db *DB) Export(ctx context.Context, key dmflow.SessionKey) (*dmflow.PersonalExport, error) {
	op := "export " + key.String()
	if key.Account == "" || key.User == "" {
		return nil, fmt.Errorf("store/postgres: %s: %w", op, dmflow.ErrInvalid)
	}
	out := &dmflow.PersonalExport{Key: key, Inbox: []dmflow.InboxItem{}, Failed: []dmflow.FailedItem{},
		Outbox: []dmflow.OutboxItem{}, DeadLetters: []dmflow.DeadLetter{}, Actions: []dmflow.ActionItem{}}
	s, err := db.GetSession(ctx, key)
	switch {
	case err == nil:
		out.Session = s
	case !errors.Is(err, dmflow.ErrNotFound):
		return nil, err
	}
	err = db.inTx(ctx, op, func(tx pgx.Tx) error { return exportTx(ctx, tx, key, out) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func exportTx(ctx context.Context, tx pgx.Tx, key dmflow.SessionKey, out *dmflow.PersonalExport) error {
	a, u := key.Account, key.User
	rows, err := tx.Query(ctx, `SELECT seq, attempts, received, record, replies FROM inbox WHERE account = $1 AND user_id = $2 ORDER BY seq`, a, u)
	if err != nil {
		return err
	}
	if out.Inbox, err = collectHistory(rows); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT seq, attempts, received, record, reason, failed_at FROM inbox
		WHERE account = $1 AND user_id = $2 AND status = 2 ORDER BY seq`, a, u)
	if err != nil {
		return err
	}
	if out.Failed, err = pgx.CollectRows(rows, scanFailed); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT seq, attempts, not_before, last_error, record FROM outbox
		WHERE account = $1 AND user_id = $2 ORDER BY seq`, a, u)
	if err != nil {
		return err
	}
	if out.Outbox, err = pgx.CollectRows(rows, outboxItem); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT seq, attempts, not_before, last_error, record, reason, dead_at FROM dead_letters
		WHERE account = $1 AND user_id = $2 ORDER BY dead_at, seq`, a, u)
	if err != nil {
		return err
	}
	if out.DeadLetters, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (dmflow.DeadLetter, error) {
		var d dmflow.DeadLetter
		var at int64
		err := scanOutbox(row, &d.Item, &d.Reason, &at)
		d.At = fromNanos(at)
		return d, err
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT attempts, record FROM actions WHERE account = $1 AND user_id = $2 ORDER BY seq`, a, u)
	if err != nil {
		return err
	}
	out.Actions, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (dmflow.ActionItem, error) {
		var it dmflow.ActionItem
		var attempts int32
		var rec []byte
		if err := row.Scan(&attempts, &rec); err != nil {
			return it, err
		}
		it.Attempts = int(attempts)
		return it, decode(rec, &it.Call, "action")
	})
	return err
}

// Sweep deletes what is older than the retention cut-offs.
func (db *DB) Sweep(ctx context.Context, c dmflow.Sweep) (dmflow.Swept, error) {
	var n dmflow.Swept
	err := db.inTx(ctx, "sweep", func(tx pgx.Tx) error {
		var err error
		n, err = sweepTx(ctx, tx, c)
		return err
	})
	return n, err
}

func sweepTx(ctx context.Context, tx pgx.Tx, c dmflow.Sweep) (dmflow.Swept, error) {
	var n dmflow.Swept
	exec := func(dst *int, cut bool, sql string, args ...any) error {
		if !cut {
			return nil
		}
		tag, err := tx.Exec(ctx, sql, args...)
		if err == nil {
			*dst += int(tag.RowsAffected())
		}
		return err
	}
	hist, deliv, dead, notes := !c.History.IsZero(), !c.Delivered.IsZero(), !c.DeadLetters.IsZero(), !c.Notices.IsZero()
	err := errors.Join(
		exec(&n.History, hist, `DELETE FROM inbox WHERE (status = 1 AND received < $1) OR (status = 2 AND received < $1)`, nanos(c.History)),
		exec(&n.Delivered, deliv, `DELETE FROM remembered WHERE at < $1`, nanos(c.Delivered)),
		exec(&n.DeadLetters, dead, `DELETE FROM dead_letters WHERE queue <> $2 AND dead_at < $1`, nanos(c.DeadLetters), dmflow.QueueNotices),
		exec(&n.DeadLetters, notes, `DELETE FROM dead_letters WHERE queue = $2 AND dead_at < $1`, nanos(c.Notices), dmflow.QueueNotices),
	)
	if err != nil || !notes {
		return n, err
	}
	// Pending notices keep their creation time in the record only.
	rows, err := tx.Query(ctx, `SELECT seq, attempts, not_before, last_error, record FROM outbox
		WHERE queue = $1 AND claimed_by IS NULL`, dmflow.QueueNotices)
	if err != nil {
		return n, err
	}
	items, err := pgx.CollectRows(rows, outboxItem)
	if err != nil {
		return n, err
	}
	var old []int64
	for _, it := range items {
		if it.Created.Before(c.Notices) {
			old = append(old, int64(it.Seq))
		}
	}
	return n, exec(&n.Notices, len(old) > 0, `DELETE FROM outbox WHERE seq = ANY($1) AND claimed_by IS NULL`, old)
}
