-- dmflow store schema, version 4: an inbox item keeps the replies its turn
-- enqueued (dmflow.InboxItem.Replies), so `dmflow admin replay` shows what
-- was sent then and `dmflow admin history --transcript` records it as a
-- test. NULL: no replies, or the item was finished before version 4.
ALTER TABLE inbox ADD COLUMN replies bytea; -- []Outgoing record
