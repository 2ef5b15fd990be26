-- dmflow store schema, version 4: funnel counters (dmflow.Stats). Each
-- commit adds its turn's counts to the hour of the commit; shard spreads
-- one hot counter (say "entered greet") over 16 rows so that concurrent
-- commits of different users rarely wait for the same row lock.
CREATE TABLE funnel_stats (
	hour  int8 NOT NULL,     -- Unix seconds, truncated to the hour
	shard int2 NOT NULL,     -- hash of the user, 0-15
	kind  text NOT NULL,     -- entered, edge, handoff, ask_failed, dropped_off
	flow  text NOT NULL,
	name  text NOT NULL,     -- state, or edge
	n     int8 NOT NULL,
	PRIMARY KEY (hour, shard, kind, flow, name)
);
