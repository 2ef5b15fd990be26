-- dmflow store schema, version 7: outbox claims shared between accounts,
-- like inbox claims (0006). A claim reads each account's oldest claimable
-- items of a queue (sqlClaimOutbox), so queued items are indexed by queue,
-- account and seq. Only an index is added: existing rows stay as they are.
CREATE INDEX outbox_account ON outbox (queue, account, seq);
