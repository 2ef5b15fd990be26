-- dmflow store schema, version 3: replica liveness and cluster-wide send
-- pacing. Both tables are UNLOGGED: their rows are soft state (no WAL, so a
-- heartbeat or a pacing slot costs no fsync), and PostgreSQL empties them
-- after a crash or on a promoted standby, which only falls back to lease
-- expiry (replicas) or forgets the last second of pacing (pace).

-- replicas holds one heartbeat per live process (Liveness): a lease whose
-- owner's heartbeat expired is claimable as if the lease had expired.
CREATE UNLOGGED TABLE replicas (
	owner   text PRIMARY KEY,
	expires int8 NOT NULL -- Unix nanoseconds, the owner's clock
);

-- pace holds the theoretical arrival time of the next send slot per account
-- and class (Pacer; a generic cell rate algorithm).
CREATE UNLOGGED TABLE pace (
	account text NOT NULL,
	class   text NOT NULL,
	tat     int8 NOT NULL, -- Unix nanoseconds
	PRIMARY KEY (account, class)
);

