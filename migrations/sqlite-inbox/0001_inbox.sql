-- The SQLite inbox's own file (beside the main database, `-inbox` added to its name).
-- Run at every open: each statement is safe to repeat.
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    field TEXT NOT NULL,
    entry_time BIGINT,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at BIGINT
);
-- Claims walk the pending events in id order and stop after a batch: O(batch), however long
-- the backlog (an index led by lease_until made each claim read the whole backlog).
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (state, id);
DROP INDEX IF EXISTS inbox_claim;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    body BLOB NOT NULL
);
PRAGMA user_version = 1;
