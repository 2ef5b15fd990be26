-- dmflow store schema, version 6: claims shared between accounts. A claim
-- reads each account's oldest claimable items (sqlClaimInbox), so pending
-- items are indexed by account and seq.
CREATE INDEX inbox_pending_account ON inbox (account, seq) WHERE status = 0;
