-- dmflow store schema, version 1. Applied by Migrate inside one transaction
-- in the schema named by Options.Schema (the connection's search_path).
-- Instants used for decisions (due, expiry, retry) are int8 Unix nanoseconds,
-- so comparisons are exact with the caller's clock; records are
-- dmflow.MarshalRecord bytes (a version byte followed by JSON).

-- dmflow_check raises state (with msg) unless ok, aborting the implicit
-- transaction of a pipelined Commit.
CREATE FUNCTION dmflow_check(ok boolean, state text, msg text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	IF ok IS NOT TRUE THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg;
	END IF;
	RETURN true;
END
$$;

CREATE TABLE inbox (
	seq        int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_key  text UNIQUE, -- NULL once the key is past the dedupe retention
	account    text NOT NULL,
	user_id    text NOT NULL,
	received   int8 NOT NULL,
	status     int2 NOT NULL DEFAULT 0, -- 0 pending, 1 done, 2 failed
	claimed_by text,
	attempts   int4 NOT NULL DEFAULT 0,
	reason     text,
	failed_at  int8,
	record     bytea NOT NULL -- Event
);
CREATE INDEX inbox_pending ON inbox (account, user_id, seq) WHERE status = 0;
CREATE INDEX inbox_pending_seq ON inbox (seq) WHERE status = 0;
CREATE INDEX inbox_user ON inbox (account, user_id, seq);
CREATE INDEX inbox_failed ON inbox (seq) WHERE status = 2;
CREATE INDEX inbox_done ON inbox (received) WHERE status = 1;

-- leases holds one row per (queue, user): "inbox" or "outbox:<queue>".
CREATE TABLE leases (
	queue   text NOT NULL,
	account text NOT NULL,
	user_id text NOT NULL,
	owner   text NOT NULL,
	expires int8 NOT NULL,
	ttl     int8 NOT NULL,
	PRIMARY KEY (queue, account, user_id)
);
CREATE INDEX leases_owner ON leases (owner);

-- Keys sort bytewise (COLLATE "C") so ListSessions pages in the same order
-- as the other backends, whatever the database's locale.
CREATE TABLE sessions (
	account text COLLATE "C" NOT NULL,
	user_id text COLLATE "C" NOT NULL,
	version int8 NOT NULL,
	state   text NOT NULL,
	handoff bool NOT NULL,
	updated int8 NOT NULL,
	record  bytea NOT NULL,
	PRIMARY KEY (account, user_id)
);
CREATE INDEX sessions_updated ON sessions (updated);

CREATE TABLE timers (
	account   text NOT NULL,
	user_id   text NOT NULL,
	timer_id  text NOT NULL,
	due       int8 NOT NULL,
	event_key text NOT NULL,
	record    bytea NOT NULL, -- the KindTimer Event to append when it fires
	PRIMARY KEY (account, user_id, timer_id)
);
CREATE INDEX timers_due ON timers (due);

CREATE TABLE outbox (
	seq        int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	queue      text NOT NULL,
	account    text NOT NULL,
	user_id    text NOT NULL,
	claimed_by text,
	attempts   int4 NOT NULL DEFAULT 0,
	not_before int8 NOT NULL DEFAULT 0,
	last_error text NOT NULL DEFAULT '',
	record     bytea NOT NULL -- OutboxItem without Seq, Attempts, NotBefore, LastError
);
CREATE INDEX outbox_user ON outbox (queue, account, user_id, seq);

CREATE TABLE dead_letters (
	seq        int8 PRIMARY KEY,
	queue      text NOT NULL,
	account    text NOT NULL,
	user_id    text NOT NULL,
	attempts   int4 NOT NULL,
	not_before int8 NOT NULL,
	last_error text NOT NULL,
	record     bytea NOT NULL,
	reason     text NOT NULL,
	dead_at    int8 NOT NULL
);

CREATE TABLE actions (
	id       text PRIMARY KEY,
	seq      int8 GENERATED ALWAYS AS IDENTITY UNIQUE,
	account  text NOT NULL,
	user_id  text NOT NULL,
	owner    text,
	expires  int8 NOT NULL DEFAULT 0,
	attempts int4 NOT NULL DEFAULT 0,
	record   bytea NOT NULL -- ActionCall
);

CREATE TABLE tokens (
	account text PRIMARY KEY,
	record  bytea NOT NULL
);
