-- Claims walk the pending events in id order and stop after a batch. The old index, led by
-- lease_until, made every claim read and sort the whole backlog.
CREATE INDEX inbox_pending ON inbox (state, id);
DROP INDEX inbox_claim;
