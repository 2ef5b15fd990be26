package postgres

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
)

// A commit is one SQL statement: its writes are data-modifying CTEs and
// its checks (lease, pending item, session version) are dmflow_check calls
// in the final SELECT, which raise an error that rolls the whole statement
// (and the implicit transaction of its group) back. The final SELECT
// evaluates the checks in order, so the lease row is locked first (the
// inbox item's and the session's CTEs refer to it), like the claims (see
// sqlLeaseUsers); the other CTEs run after it. Its text depends only on
// which parts the commit has, so a handful of shapes cover every commit and
// each is prepared once per connection.

// commitSQL builds one commit statement.
type commitSQL struct {
	ctes   []string
	checks []string
	args   []any
}

// lazyArg is a parameter used by several parts of a statement, added on
// first use (an argument the text does not use is an error).
type lazyArg struct {
	q   *commitSQL
	v   any
	typ string
	p   string
}

func (a *lazyArg) String() string {
	if a.p == "" {
		a.p = a.q.arg(a.v, a.typ)
	}
	return a.p
}

func (q *commitSQL) lazy(v any, typ string) *lazyArg { return &lazyArg{q: q, v: v, typ: typ} }

// arg adds v as a parameter and returns its placeholder with the cast.
func (q *commitSQL) arg(v any, typ string) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d::%s", len(q.args), typ)
}

func (q *commitSQL) cte(name, body string) { q.ctes = append(q.ctes, name+" AS ("+body+")") }

func (q *commitSQL) check(cte, state, msg string) {
	q.checks = append(q.checks, fmt.Sprintf("dmflow_check(EXISTS (SELECT 1 FROM %s), '%s', %s)", cte, state, q.arg(msg, "text")))
}

func (q *commitSQL) sql() string {
	checks := "true"
	if len(q.checks) > 0 {
		checks = strings.Join(q.checks, ", ")
	}
	if len(q.ctes) == 0 {
		return "SELECT " + checks
	}
	return "WITH " + strings.Join(q.ctes, ",\n") + "\nSELECT " + checks
}

// commitBatch queues c as one statement; base, when set, is the record the
// stored session must hold (see finishSession). It returns the session as
// it will be stored.
func commitBatch(c dmflow.Commit, base []byte) (*pgx.Batch, written, error) {
	q := &commitSQL{}
	k := c.Key
	acct, user, now := q.lazy(k.Account, "text"), q.lazy(k.User, "text"), q.lazy(nanos(c.Now), "int8")
	leased := "true"
	if c.Seq != 0 {
		if err := finishItem(q, c, acct, user, now); err != nil {
			return nil, written{}, err
		}
		leased = "EXISTS (SELECT 1 FROM l)"
	}
	var w written
	switch {
	case c.Delete:
		q.cte("sd", "DELETE FROM sessions WHERE account = "+acct.String()+" AND user_id = "+user.String()+" AND "+leased)
		q.cte("td", "DELETE FROM timers WHERE account = "+acct.String()+" AND user_id = "+user.String()+" AND "+leased)
	case c.Session != nil:
		var err error
		if w, err = writeSession(q, k, c.Session, c.Now, base, acct, user, leased); err != nil {
			return nil, w, err
		}
	}
	if err := insertOutbox(q, c); err != nil {
		return nil, w, err
	}
	if err := insertActions(q, c); err != nil {
		return nil, w, err
	}
	b := &pgx.Batch{}
	if len(q.ctes) > 0 {
		b.Queue(q.sql(), q.args...)
	}
	return b, w, nil
}

// finishItem checks the owner's live inbox lease (else DF002, lease lost),
// renews it and marks the pending item done or failed (else DF004, not
// found), keeping the turn's replies with it.
func finishItem(q *commitSQL, c dmflow.Commit, acct, user, now *lazyArg) error {
	status := statusDone
	if c.Failed != "" {
		status = statusFailed
	}
	var replies []byte
	if len(c.Outbox) > 0 {
		var err error
		if replies, err = dmflow.MarshalRecord(c.Outbox); err != nil {
			return err
		}
	}
	st := q.arg(int16(status), "int2")
	q.cte("l", `UPDATE leases SET expires = greatest(expires, `+now.String()+` + ttl)
	WHERE queue = 'inbox' AND account = `+acct.String()+` AND user_id = `+user.String()+` AND owner = `+q.arg(c.Owner, "text")+` AND expires > `+now.String()+`
	RETURNING 1`)
	q.cte("i", `UPDATE inbox SET status = `+st+`, reason = nullif(`+q.arg(c.Failed, "text")+`, ''),
		failed_at = CASE WHEN `+st+` = 2 THEN `+now.String()+` END, claimed_by = NULL, replies = `+q.arg(replies, "bytea")+`
	WHERE seq = `+q.arg(int64(c.Seq), "int8")+` AND account = `+acct.String()+` AND user_id = `+user.String()+` AND status = 0 AND EXISTS (SELECT 1 FROM l)
	RETURNING 1`)
	q.check("l", stateLeaseLost, fmt.Sprintf("%s is not leased to %s", c.Key, c.Owner))
	q.check("i", stateNotFound, fmt.Sprintf("inbox item %d of %s is not pending", c.Seq, c.Key))
	return nil
}

// writeSession adds the compare-and-swap write of s (else DF001, conflict)
// and the replacement of its timers, and returns s as stored. A session at
// version 0 is inserted when none is stored; a later one is updated when
// the stored one is at its version and, when base is set, holds the record
// base (the copy WorkSession handed out: a reset and a new session may
// reach the same version).
func writeSession(q *commitSQL, k dmflow.SessionKey, s *dmflow.Session, now time.Time, base []byte, acct, user *lazyArg, leased string) (written, error) {
	stored := s.Clone()
	stored.Key, stored.Version = k, s.Version+1
	if stored.Updated.IsZero() {
		stored.Updated = now
	}
	rec, err := dmflow.MarshalRecord(stored)
	if err != nil {
		return written{}, err
	}
	v := q.arg(int64(s.Version), "int8")
	cols := q.arg(s.State, "text") + ", " + q.arg(s.Handoff != nil, "bool") + ", " + q.arg(nanos(stored.Updated), "int8") + ", " + q.arg(rec, "bytea")
	if s.Version == 0 {
		q.cte("s", `INSERT INTO sessions (account, user_id, version, state, handoff, updated, record)
	SELECT `+acct.String()+`, `+user.String()+`, `+v+` + 1, `+cols+` WHERE `+leased+`
	ON CONFLICT (account, user_id) DO NOTHING
	RETURNING 1`)
	} else {
		cas := ""
		if base != nil {
			cas = " AND record = " + q.arg(base, "bytea")
		}
		q.cte("s", `UPDATE sessions SET (version, state, handoff, updated, record) = (`+v+` + 1, `+cols+`)
	WHERE account = `+acct.String()+` AND user_id = `+user.String()+` AND version = `+v+cas+` AND `+leased+`
	RETURNING 1`)
	}
	q.check("s", stateConflict, fmt.Sprintf("session %s is not at version %d", k, s.Version))
	return written{stored, rec}, writeTimers(q, k, s.Timers, acct, user)
}

// writeTimers replaces the user's timers with timers (the first of each
// id), in the session's CTE's statement: the timers not in the list are
// deleted, the others inserted or updated (disjoint rows).
func writeTimers(q *commitSQL, k dmflow.SessionKey, timers []dmflow.Timer, acct, user *lazyArg) error {
	var ids, keys []string
	var dues []int64
	var recs [][]byte
	seen := map[string]bool{}
	for _, t := range timers {
		if seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		ev := timerEvent(k, t)
		rec, err := dmflow.MarshalRecord(ev)
		if err != nil {
			return err
		}
		ids, dues, keys, recs = append(ids, t.ID), append(dues, nanos(t.Due)), append(keys, ev.Key), append(recs, rec)
	}
	if ids == nil {
		ids = []string{}
	}
	idArg := q.arg(ids, "text[]")
	q.cte("td", `DELETE FROM timers WHERE account = `+acct.String()+` AND user_id = `+user.String()+` AND timer_id <> ALL(`+idArg+`)`)
	if len(ids) > 0 {
		q.cte("ti", `INSERT INTO timers (account, user_id, timer_id, due, event_key, record)
	SELECT `+acct.String()+`, `+user.String()+`, id, due, k, r FROM unnest(`+idArg+`, `+q.arg(dues, "int8[]")+`, `+q.arg(keys, "text[]")+`, `+q.arg(recs, "bytea[]")+`) AS t(id, due, k, r)
	ON CONFLICT (account, user_id, timer_id) DO UPDATE SET due = excluded.due, event_key = excluded.event_key, record = excluded.record`)
	}
	return nil
}

// timerEvent is the inbox event a timer becomes when it fires.
func timerEvent(k dmflow.SessionKey, t dmflow.Timer) dmflow.Event {
	return dmflow.Event{
		Key:     "timer:" + t.ID,
		Kind:    dmflow.KindTimer,
		Account: k.Account,
		User:    k.User,
		Time:    t.Due,
		Timer:   &dmflow.TimerFire{ID: t.ID, Name: t.Name, Due: t.Due},
	}
}

// insertOutbox adds c's messages then its notices, in order.
func insertOutbox(q *commitSQL, c dmflow.Commit) error {
	var cols outboxCols
	for i := range c.Outbox {
		m := c.Outbox[i]
		if err := cols.add(dmflow.OutboxItem{Queue: dmflow.QueueDM, Key: keyOr(m.Key, c.Key), Message: &m, Created: c.Now}); err != nil {
			return err
		}
	}
	for i := range c.Notices {
		n := c.Notices[i]
		if err := cols.add(dmflow.OutboxItem{Queue: dmflow.QueueNotices, Key: keyOr(n.Key, c.Key), Notice: &n, Created: c.Now}); err != nil {
			return err
		}
	}
	if len(cols.records) == 0 {
		return nil
	}
	q.cte("o", `INSERT INTO outbox (queue, account, user_id, record)
	SELECT q, a, u, r FROM unnest(`+q.arg(cols.queues, "text[]")+`, `+q.arg(cols.accounts, "text[]")+`, `+
		q.arg(cols.users, "text[]")+`, `+q.arg(cols.records, "bytea[]")+`) WITH ORDINALITY AS o(q, a, u, r, ord)
	ORDER BY ord`)
	return nil
}

// outboxCols are the columns of outbox rows to insert.
type outboxCols struct {
	queues, accounts, users []string
	records                 [][]byte
}

func (c *outboxCols) add(it dmflow.OutboxItem) error {
	rec, err := dmflow.MarshalRecord(it)
	if err != nil {
		return err
	}
	c.queues = append(c.queues, it.Queue)
	c.accounts = append(c.accounts, it.Key.Account)
	c.users = append(c.users, it.Key.User)
	c.records = append(c.records, rec)
	return nil
}

func keyOr(k, def dmflow.SessionKey) dmflow.SessionKey {
	if k == (dmflow.SessionKey{}) {
		return def
	}
	return k
}

// insertActions records c's action calls.
func insertActions(q *commitSQL, c dmflow.Commit) error {
	if len(c.Actions) == 0 {
		return nil
	}
	var ids, accounts, users []string
	var recs [][]byte
	for _, a := range c.Actions {
		a.Key = keyOr(a.Key, c.Key)
		if a.Created.IsZero() {
			a.Created = c.Now
		}
		rec, err := dmflow.MarshalRecord(a)
		if err != nil {
			return err
		}
		ids, recs = append(ids, a.ID), append(recs, rec)
		accounts, users = append(accounts, a.Key.Account), append(users, a.Key.User)
	}
	q.cte("a", `INSERT INTO actions (id, account, user_id, record)
	SELECT id, a, u, r FROM unnest(`+q.arg(ids, "text[]")+`, `+q.arg(accounts, "text[]")+`, `+q.arg(users, "text[]")+`, `+
		q.arg(recs, "bytea[]")+`) WITH ORDINALITY AS a(id, a, u, r, ord)
	ORDER BY ord
	ON CONFLICT (id) DO NOTHING`)
	return nil
}

// countRow is one funnel counter increment of a commit.
type countRow struct {
	hour             int64
	shard            int16
	kind, flow, name string
}

// countRows are the commit's funnel counter increments. They are not part
// of the commit's statement: a group of commits adds all of its counters
// in one statement at its end (see queueCounts).
func countRows(c dmflow.Commit) []countRow {
	if len(c.Counts) == 0 {
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(c.Key.Account + "\x00" + c.Key.User))
	hour, shard := c.Now.Truncate(dmflow.StatsBucket).Unix(), int16(h.Sum32()%statsShards)
	rows := make([]countRow, len(c.Counts))
	for i, n := range c.Counts {
		rows[i] = countRow{hour, shard, n.Kind, n.Flow, n.Name}
	}
	return rows
}

// sqlAddCounts adds funnel counters, locking their rows in key order.
const sqlAddCounts = `INSERT INTO funnel_stats (hour, shard, kind, flow, name, n)
SELECT h, s, k, f, nm, count(*) FROM unnest($1::int8[], $2::int2[], $3::text[], $4::text[], $5::text[]) AS t(h, s, k, f, nm)
GROUP BY h, s, k, f, nm ORDER BY h, s, k COLLATE "C", f COLLATE "C", nm COLLATE "C"
ON CONFLICT (hour, shard, kind, flow, name) DO UPDATE SET n = funnel_stats.n + excluded.n`

// queueCounts queues one statement adding the counters rows of a group of
// commits, after the commits' own statements: every transaction locks the
// shared counter rows last and in key order, so groups never deadlock on
// them (commits adding their own counters each locked them in the order of
// the group's users, and two groups could lock the same two rows in
// opposite orders: a deadlock, 1 s each, every few commits).
func queueCounts(b *pgx.Batch, rows []countRow) {
	if len(rows) == 0 {
		return
	}
	hours, shards := make([]int64, len(rows)), make([]int16, len(rows))
	kinds, flows, names := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		hours[i], shards[i], kinds[i], flows[i], names[i] = r.hour, r.shard, r.kind, r.flow, r.name
	}
	b.Queue(sqlAddCounts, hours, shards, kinds, flows, names)
}
