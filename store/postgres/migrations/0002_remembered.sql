-- dmflow store schema, version 2: dedupe keys remembered without an inbox
-- item. AckOutbox records Ack.Remember here (the bot remembers "echo:<mid>"
-- of every delivered reply), and AppendInbox drops an event whose key is
-- remembered at a time within the dedupe retention; PruneInbox deletes the
-- rows remembered before its cut-off.
CREATE TABLE remembered (
	event_key text PRIMARY KEY,
	at        int8 NOT NULL -- Unix nanoseconds
);
CREATE INDEX remembered_at ON remembered (at);
