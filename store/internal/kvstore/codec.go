package kvstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
)

// The binary record codec. The records written on every event (sessions,
// inbox items, outbox items) are encoded compactly instead of as JSON:
//
//	byte 0   recordBin (2); JSON records (dmflow.MarshalRecord) start with 1
//	byte 1   the record type: 'S' session, 'I' inbox item, 'O' outbox item
//	...      the fields in a fixed order: strings and byte strings as a
//	         uvarint length and the bytes, integers as (zigzag) varints,
//	         times as described at putTime, session vars as tagged values
//
// The inbox item keeps its Seq (8 bytes, big-endian) at offset 2 and its
// Attempts (4 bytes) at offset 10, so that an append can encode the record
// before the transaction that assigns the Seq (see itemRecs).
//
// Rare fields (attachments, referrals, handoffs, pending action calls,
// deferred events, rich replies, notices, ...) are kept together as one
// embedded JSON record ("rest", empty when all are zero), decoded by
// dmflow.UnmarshalRecord exactly as a JSON record would be.
//
// A value the binary form cannot hold exactly as JSON would round-trip it
// (a string that is not valid UTF-8, which JSON replaces; a float that is
// NaN or infinite, which JSON refuses; a var of another Go type) makes the
// whole record fall back to JSON, so the semantics never depend on the
// codec. Decoding dispatches on the first byte, so data files written
// before the binary codec (all JSON) open and read unchanged, and records
// are rewritten in binary as they are next written. Export and admin
// commands work on decoded values, so they are unaffected.
const recordBin = 2

const (
	typSession = 'S'
	typInbox   = 'I'
	typOutbox  = 'O'
)

// encRec encodes v: a Session, InboxItem or OutboxItem (value or pointer)
// in binary where it can, anything else with dmflow.MarshalRecord.
func encRec(v any) ([]byte, error) {
	var e enc
	switch v := v.(type) {
	case *dmflow.Session:
		e.session(v)
	case dmflow.InboxItem:
		e.inboxItem(&v)
	case *dmflow.InboxItem:
		e.inboxItem(v)
	case dmflow.OutboxItem:
		e.outboxItem(&v)
	case *dmflow.OutboxItem:
		e.outboxItem(v)
	default:
		return dmflow.MarshalRecord(v)
	}
	if e.err != nil {
		return nil, e.err
	}
	if e.json {
		return dmflow.MarshalRecord(v)
	}
	return e.b, nil
}

// decRec decodes a record written by encRec or dmflow.MarshalRecord into v.
// Every failure wraps dmflow.ErrCorrupt.
func decRec(raw []byte, v any) error {
	if len(raw) == 0 || raw[0] != recordBin {
		return dmflow.UnmarshalRecord(raw, v)
	}
	d := dec{b: raw}
	switch v := v.(type) {
	case *dmflow.Session:
		d.expect(typSession)
		d.session(v)
	case *dmflow.InboxItem:
		d.expect(typInbox)
		d.inboxItem(v)
	case *dmflow.OutboxItem:
		d.expect(typOutbox)
		d.outboxItem(v)
	default:
		d.fail("no binary form for %T", v)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("dmflow: decode %T: %v: %w", v, d.err, dmflow.ErrCorrupt)
	}
	return nil
}

// enc appends a binary record to b. json is set when a value has no exact
// binary form; err when the rest's JSON encoding failed.
type enc struct {
	b    []byte
	json bool
	err  error
}

func (e *enc) header(typ byte, size int) {
	e.b = make([]byte, 0, size)
	e.b = append(e.b, recordBin, typ)
}

func (e *enc) uvarint(n uint64) { e.b = binary.AppendUvarint(e.b, n) }
func (e *enc) varint(n int64)   { e.b = binary.AppendVarint(e.b, n) }

func (e *enc) str(s string) {
	if !utf8.ValidString(s) {
		e.json = true
	}
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) bytes(p []byte) {
	e.uvarint(uint64(len(p)))
	e.b = append(e.b, p...)
}

func (e *enc) flag(ok bool) {
	if ok {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// Time flags.
const (
	timeZero = 0 // the zero time (whatever its location)
	timeUTC  = 1 // seconds, nanoseconds; decoded in UTC
	timeText = 2 // RFC 3339 text, as JSON keeps it (any other location)
)

// putTime writes t as JSON would round-trip it: the zero time as zero, a
// UTC time as Unix seconds and nanoseconds (decoded with location UTC, as
// JSON's "Z" is), any other location as its RFC 3339 text (decoded by
// time.Time's UnmarshalText, as JSON is). Monotonic readings are dropped,
// as JSON drops them.
func (e *enc) time(t time.Time) {
	switch {
	case t.IsZero() && t.Location() == time.UTC:
		e.b = append(e.b, timeZero)
	case t.Year() < 0 || t.Year() > 9999:
		e.json = true // JSON refuses it: let it say so
	case t.Location() == time.UTC:
		e.b = append(e.b, timeUTC)
		e.varint(t.Unix())
		e.uvarint(uint64(t.Nanosecond()))
	default:
		txt, err := t.MarshalText()
		if err != nil {
			e.json = true // JSON fails on it too: let it say so
			return
		}
		e.b = append(e.b, timeText)
		e.bytes(txt)
	}
}

// Var tags.
const (
	vNil = iota
	vFalse
	vTrue
	vInt
	vFloat
	vString
	vList
	vMap
)

// value writes a var as JSON would round-trip it (an integral float that
// JSON writes without exponent and that fits an int comes back as int).
func (e *enc) value(v any) {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, vNil)
	case bool:
		if v {
			e.b = append(e.b, vTrue)
		} else {
			e.b = append(e.b, vFalse)
		}
	case int:
		e.b = append(e.b, vInt)
		e.varint(int64(v))
	case float64:
		switch x := jsonFloat(v).(type) {
		case nil:
			e.json = true
		case int:
			e.b = append(e.b, vInt)
			e.varint(int64(x))
		default:
			e.b = append(e.b, vFloat)
			e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(v))
		}
	case string:
		e.b = append(e.b, vString)
		e.str(v)
	case []any:
		if v == nil {
			e.b = append(e.b, vNil)
			return
		}
		e.b = append(e.b, vList)
		e.uvarint(uint64(len(v)))
		for _, x := range v {
			e.value(x)
		}
	case map[string]any:
		if v == nil {
			e.b = append(e.b, vNil)
			return
		}
		e.b = append(e.b, vMap)
		e.varMap(v)
	default:
		e.json = true
	}
}

// jsonFloat returns what a JSON record gives back for f: nil for NaN and
// infinities (JSON refuses them), an int for an integral float that JSON
// writes without exponent and that fits an int, else f.
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return nil
	case f != math.Trunc(f) || math.Abs(f) >= 1e21:
		return f
	case math.Abs(f) <= 1<<53:
		return int(f)
	}
	// JSON writes the shortest decimal that reads back as f, padded with
	// zeros; it comes back as int if that parses.
	if n, err := strconv.ParseInt(strconv.FormatFloat(f, 'f', -1, 64), 10, 64); err == nil {
		return int(n)
	}
	return f
}

// varMap writes a map's length and its entries in key order (so a record's
// bytes depend on its value only).
func (e *enc) varMap(m map[string]any) {
	e.uvarint(uint64(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e.str(k)
		e.value(m[k])
	}
}

// rest writes v (a struct of rare fields) as an embedded JSON record, or an
// empty one when empty reports true.
func (e *enc) rest(v any, empty bool) {
	if empty {
		e.uvarint(0)
		return
	}
	raw, err := dmflow.MarshalRecord(v)
	if err != nil {
		e.err = err
		return
	}
	e.bytes(raw)
}

// sessRest holds a Session's rarely set fields.
type sessRest struct {
	Handoff  *dmflow.Handoff    `json:"handoff,omitempty"`
	Pending  *dmflow.ActionCall `json:"pending,omitempty"`
	Deferred []dmflow.Event     `json:"deferred,omitempty"`
	Profile  *dmflow.Profile    `json:"profile,omitempty"`
	Settling []dmflow.Event     `json:"settling,omitempty"`
	Variants map[string]string  `json:"variants,omitempty"`
}

func (e *enc) session(s *dmflow.Session) {
	e.header(typSession, 128)
	e.str(s.Key.Account)
	e.str(s.Key.User)
	e.str(s.Flow)
	e.varint(int64(s.FlowVersion))
	e.str(s.State)
	if len(s.Vars) == 0 { // JSON omits an empty map and decodes nil
		e.b = append(e.b, 0)
	} else {
		e.b = append(e.b, 1)
		e.varMap(s.Vars)
	}
	e.varint(int64(s.Attempts))
	e.uvarint(uint64(len(s.Stack)))
	for _, f := range s.Stack {
		e.str(f.Flow)
		e.str(f.State)
		if len(f.Vars) == 0 { // as a session's Vars
			e.b = append(e.b, 0)
		} else {
			e.b = append(e.b, 1)
			e.varMap(f.Vars)
		}
		e.flag(f.Scoped)
	}
	e.uvarint(uint64(len(s.Timers)))
	for _, t := range s.Timers {
		e.str(t.ID)
		e.str(t.Name)
		e.time(t.Due)
	}
	e.flag(s.Ended)
	e.time(s.LastInbound)
	e.time(s.Created)
	e.time(s.Updated)
	e.uvarint(s.Version)
	r := sessRest{Handoff: s.Handoff, Pending: s.Pending, Deferred: s.Deferred, Profile: s.Profile, Settling: s.Settling, Variants: s.Variants}
	e.rest(&r, r.Handoff == nil && r.Pending == nil && len(r.Deferred) == 0 && r.Profile == nil && len(r.Settling) == 0 && len(r.Variants) == 0)
}

// eventRest holds an Event's rarely set fields.
type eventRest struct {
	Attachments []dmflow.Attachment  `json:"attachments,omitempty"`
	ReplyTo     *dmflow.ReplyTo      `json:"reply_to,omitempty"`
	Referral    *dmflow.Referral     `json:"referral,omitempty"`
	Reaction    *dmflow.Reaction     `json:"reaction,omitempty"`
	Comment     *dmflow.Comment      `json:"comment,omitempty"`
	Handover    *dmflow.Handover     `json:"handover,omitempty"`
	Timer       *dmflow.TimerFire    `json:"timer,omitempty"`
	Action      *dmflow.ActionResult `json:"action,omitempty"`
	Admin       *dmflow.AdminCommand `json:"admin,omitempty"`
}

func (r *eventRest) empty() bool {
	return len(r.Attachments) == 0 && r.ReplyTo == nil && r.Referral == nil && r.Reaction == nil &&
		r.Comment == nil && r.Handover == nil && r.Timer == nil && r.Action == nil && r.Admin == nil
}

// Offsets of an inbox item's fixed fields.
const (
	itemSeqAt      = 2
	itemAttemptsAt = 10
	itemFixedEnd   = 14
)

func (e *enc) inboxItem(it *dmflow.InboxItem) {
	ev := &it.Event
	e.header(typInbox, 64+len(ev.Key)+len(ev.Text)+len(ev.Raw)+len(ev.MID))
	e.b = binary.BigEndian.AppendUint64(e.b, it.Seq)
	if it.Attempts < 0 || it.Attempts > math.MaxUint32 {
		e.json = true
	}
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(it.Attempts))
	e.time(it.Received)
	e.str(ev.Key)
	e.str(string(ev.Kind))
	e.str(ev.Channel)
	e.str(ev.Account)
	e.str(ev.User)
	e.time(ev.Time)
	e.str(ev.MID)
	e.str(ev.Text)
	e.str(ev.Payload)
	e.str(ev.Title)
	e.varint(int64(ev.EditCount))
	e.flag(ev.Self)
	e.flag(ev.Standby)
	e.raw(ev.Raw)
	r := itemRest{eventRest: eventRest{Attachments: ev.Attachments, ReplyTo: ev.ReplyTo, Referral: ev.Referral, Reaction: ev.Reaction,
		Comment: ev.Comment, Handover: ev.Handover, Timer: ev.Timer, Action: ev.Action, Admin: ev.Admin}, Replies: it.Replies}
	e.rest(&r, r.empty() && len(r.Replies) == 0)
}

// itemRest holds an inbox item's rarely set fields: its event's, and the
// replies recorded when the item was finished (dmflow.InboxItem.Replies).
type itemRest struct {
	eventRest
	Replies []dmflow.Outgoing `json:"replies,omitempty"`
}

// raw writes a json.RawMessage as JSON keeps it: compacted (invalid JSON
// falls back to JSON, which refuses it; empty is nil, as in JSON).
func (e *enc) raw(m json.RawMessage) {
	if len(m) == 0 { // JSON omits it and decodes nil
		e.uvarint(0)
		return
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil || !utf8.Valid(buf.Bytes()) {
		e.json = true
		return
	}
	e.uvarint(uint64(buf.Len()) + 1)
	e.b = append(e.b, buf.Bytes()...)
}

// replyRest holds a Reply's rarely set fields.
type replyRest struct {
	QuickReplies []dmflow.QuickReply `json:"quick_replies,omitempty"`
	Media        []dmflow.Media      `json:"media,omitempty"`
	Elements     []dmflow.Element    `json:"elements,omitempty"`
	Buttons      []dmflow.Button     `json:"buttons,omitempty"`
	Action       string              `json:"action,omitempty"`
	MID          string              `json:"mid,omitempty"`
	Reaction     string              `json:"reaction,omitempty"`
	PostID       string              `json:"post_id,omitempty"`
	Comment      string              `json:"comment_id,omitempty"`
	App          string              `json:"app_id,omitempty"`
	Metadata     string              `json:"metadata,omitempty"`
}

func (e *enc) outboxItem(it *dmflow.OutboxItem) {
	e.header(typOutbox, 96)
	e.uvarint(it.Seq)
	e.str(it.Queue)
	e.str(it.Key.Account)
	e.str(it.Key.User)
	e.time(it.Created)
	e.varint(int64(it.Attempts))
	e.time(it.NotBefore)
	e.str(it.LastError)
	if m := it.Message; m == nil {
		e.b = append(e.b, 0)
	} else {
		e.b = append(e.b, 1)
		e.str(m.Key.Account)
		e.str(m.Key.User)
		e.str(m.To.ID)
		e.str(m.To.CommentID)
		e.str(m.Tag)
		e.str(m.Cause)
		e.time(m.LastInbound)
		e.str(string(m.Reply.Kind))
		e.str(m.Reply.Text)
		r := replyRest{QuickReplies: m.Reply.QuickReplies, Media: m.Reply.Media, Elements: m.Reply.Elements,
			Buttons: m.Reply.Buttons, Action: m.Reply.Action, MID: m.Reply.MID, Reaction: m.Reply.Reaction, PostID: m.Reply.PostID,
			Comment: m.Reply.Comment, App: m.Reply.App, Metadata: m.Reply.Metadata}
		e.rest(&r, len(r.QuickReplies) == 0 && len(r.Media) == 0 && len(r.Elements) == 0 && len(r.Buttons) == 0 &&
			r.Action == "" && r.MID == "" && r.Reaction == "" && r.PostID == "" && r.Comment == "" && r.App == "" && r.Metadata == "")
	}
	e.rest(it.Notice, it.Notice == nil)
}

// dec reads a binary record; the first error sticks and zero values are
// returned after it.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (d *dec) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

func (d *dec) expect(typ byte) {
	if len(d.b) < 2 || d.b[1] != typ {
		d.fail("not a record of type %q", typ)
		return
	}
	d.b = d.b[2:]
}

func (d *dec) byte() byte {
	if len(d.b) < 1 {
		d.fail("%w", errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) fixed(n int) []byte {
	if len(d.b) < n {
		d.fail("%w", errShort)
		return make([]byte, n)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) uvarint() uint64 {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[k:]
	return n
}

func (d *dec) varint() int64 {
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[k:]
	return n
}

// int reads a varint that must fit an int.
func (d *dec) int() int {
	n := d.varint()
	if n < math.MinInt || n > math.MaxInt {
		d.fail("int out of range")
		return 0
	}
	return int(n)
}

// count reads a length that cannot exceed the bytes left (each element
// takes at least one byte), so a corrupt length cannot allocate much.
func (d *dec) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("count %d exceeds the record", n)
		return 0
	}
	return int(n)
}

func (d *dec) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("%w", errShort)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) str() string { return string(d.bytes()) }

func (d *dec) flag() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad flag")
	return false
}

func (d *dec) time() time.Time {
	switch d.byte() {
	case timeZero:
		return time.Time{}
	case timeUTC:
		sec := d.varint()
		ns := d.uvarint()
		if ns >= 1e9 {
			d.fail("bad nanoseconds")
			return time.Time{}
		}
		return time.Unix(sec, int64(ns)).UTC()
	case timeText:
		var t time.Time
		if err := t.UnmarshalText(d.bytes()); err != nil {
			d.fail("time: %v", err)
		}
		return t
	}
	d.fail("bad time")
	return time.Time{}
}

// maxDepth bounds the nesting of vars a decoder follows.
const maxDepth = 1000

func (d *dec) value(depth int) any {
	if depth > maxDepth {
		d.fail("vars nested too deep")
		return nil
	}
	switch d.byte() {
	case vNil:
		return nil
	case vFalse:
		return false
	case vTrue:
		return true
	case vInt:
		return d.int()
	case vFloat:
		f := math.Float64frombits(binary.BigEndian.Uint64(d.fixed(8)))
		if v := jsonFloat(f); v != nil {
			return v // as the encoder would have written it
		}
		return f
	case vString:
		return d.str()
	case vList:
		n := d.count()
		l := make([]any, n)
		for i := range l {
			l[i] = d.value(depth + 1)
		}
		return l
	case vMap:
		return d.varMap(depth + 1)
	}
	d.fail("bad value tag")
	return nil
}

func (d *dec) varMap(depth int) map[string]any {
	n := d.count()
	m := make(map[string]any, n)
	for range n {
		k := d.str()
		m[k] = d.value(depth)
	}
	return m
}

// nilIfEmpty returns nil for an empty slice: the encoder omits one, so a
// record decodes to the same value however it was made.
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// nilIfNoKeys returns nil for an empty map, as nilIfEmpty for a slice.
func nilIfNoKeys[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

// optVars decodes a session's or a frame's vars: a flag, then the map if
// the flag is set. An empty map is nil, as the encoder writes it (and JSON
// decodes it), so a record decodes to the same value however it was made.
func (d *dec) optVars() map[string]any {
	if !d.flag() {
		return nil
	}
	return nilIfNoKeys(d.varMap(0))
}

// rest decodes an embedded JSON record into v, if there is one.
func (d *dec) rest(v any) bool {
	raw := d.bytes()
	if len(raw) == 0 || d.err != nil {
		return false
	}
	if err := dmflow.UnmarshalRecord(raw, v); err != nil {
		d.fail("%v", err)
		return false
	}
	return true
}

func (d *dec) session(s *dmflow.Session) {
	*s = dmflow.Session{}
	s.Key.Account = d.str()
	s.Key.User = d.str()
	s.Flow = d.str()
	s.FlowVersion = d.int()
	s.State = d.str()
	s.Vars = d.optVars()
	s.Attempts = d.int()
	if n := d.count(); n > 0 {
		s.Stack = make([]dmflow.Frame, n)
		for i := range s.Stack {
			f := dmflow.Frame{Flow: d.str(), State: d.str()}
			f.Vars = d.optVars()
			f.Scoped = d.flag()
			s.Stack[i] = f
		}
	}
	if n := d.count(); n > 0 {
		s.Timers = make([]dmflow.Timer, n)
		for i := range s.Timers {
			s.Timers[i] = dmflow.Timer{ID: d.str(), Name: d.str(), Due: d.time()}
		}
	}
	s.Ended = d.flag()
	s.LastInbound = d.time()
	s.Created = d.time()
	s.Updated = d.time()
	s.Version = d.uvarint()
	var r sessRest
	if d.rest(&r) {
		s.Handoff, s.Pending, s.Deferred, s.Profile = r.Handoff, r.Pending, nilIfEmpty(r.Deferred), r.Profile
		s.Settling, s.Variants = nilIfEmpty(r.Settling), nilIfNoKeys(r.Variants)
		if s.Pending != nil {
			for k, v := range s.Pending.Args {
				s.Pending.Args[k] = dmflow.NormalizeValue(v)
			}
		}
	}
	if d.err != nil {
		*s = dmflow.Session{}
	}
}

func (d *dec) inboxItem(it *dmflow.InboxItem) {
	*it = dmflow.InboxItem{}
	fx := d.fixed(itemFixedEnd - 2)
	it.Seq = binary.BigEndian.Uint64(fx[:8])
	it.Attempts = int(binary.BigEndian.Uint32(fx[8:]))
	it.Received = d.time()
	ev := &it.Event
	ev.Key = d.str()
	ev.Kind = dmflow.EventKind(d.str())
	ev.Channel = d.str()
	ev.Account = d.str()
	ev.User = d.str()
	ev.Time = d.time()
	ev.MID = d.str()
	ev.Text = d.str()
	ev.Payload = d.str()
	ev.Title = d.str()
	ev.EditCount = d.int()
	ev.Self = d.flag()
	ev.Standby = d.flag()
	if n := d.uvarint(); n > 0 {
		if n-1 > uint64(len(d.b)) {
			d.fail("%w", errShort)
		} else {
			if n > 1 { // empty is nil, as the encoder writes it
				ev.Raw = json.RawMessage(bytes.Clone(d.b[:n-1]))
			}
			d.b = d.b[n-1:]
		}
	}
	var r itemRest
	if d.rest(&r) {
		ev.Attachments, ev.ReplyTo, ev.Referral, ev.Reaction = nilIfEmpty(r.Attachments), r.ReplyTo, r.Referral, r.Reaction
		ev.Comment, ev.Handover, ev.Timer, ev.Action, ev.Admin = r.Comment, r.Handover, r.Timer, r.Action, r.Admin
		it.Replies = nilIfEmpty(r.Replies)
	}
	if d.err != nil {
		*it = dmflow.InboxItem{}
	}
}

func (d *dec) outboxItem(it *dmflow.OutboxItem) {
	*it = dmflow.OutboxItem{}
	it.Seq = d.uvarint()
	it.Queue = d.str()
	it.Key.Account = d.str()
	it.Key.User = d.str()
	it.Created = d.time()
	it.Attempts = d.int()
	it.NotBefore = d.time()
	it.LastError = d.str()
	if d.flag() {
		m := &dmflow.Outgoing{}
		m.Key.Account = d.str()
		m.Key.User = d.str()
		m.To.ID = d.str()
		m.To.CommentID = d.str()
		m.Tag = d.str()
		m.Cause = d.str()
		m.LastInbound = d.time()
		m.Reply.Kind = dmflow.ReplyKind(d.str())
		m.Reply.Text = d.str()
		var r replyRest
		if d.rest(&r) {
			m.Reply.QuickReplies, m.Reply.Media, m.Reply.Elements, m.Reply.Buttons = nilIfEmpty(r.QuickReplies), r.Media, nilIfEmpty(r.Elements), nilIfEmpty(r.Buttons)
			m.Reply.Action, m.Reply.MID, m.Reply.Reaction, m.Reply.PostID = r.Action, r.MID, r.Reaction, r.PostID
			m.Reply.Comment, m.Reply.App, m.Reply.Metadata = r.Comment, r.App, r.Metadata
		}
		it.Message = m
	}
	var n dmflow.Notice
	if d.rest(&n) {
		it.Notice = &n
	}
	if d.err != nil {
		*it = dmflow.OutboxItem{}
	}
}
