-- Sweeps: the comments no webhook announced, found by listing the account's media. One row
-- per account and scope (a CLI sweep of all media, of one media, or serve's reconciliation)
-- holds the run in progress or the last one, with its media cursor, so a sweep stopped half
-- way goes on where it stopped; sweep_media lists the media a run has finished.
CREATE TABLE sweeps (
    account_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    window_ms BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    media_cursor TEXT,
    finished_at BIGINT,
    media_done BIGINT NOT NULL DEFAULT 0,
    comments_seen BIGINT NOT NULL DEFAULT 0,
    queued BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, scope)
);
CREATE TABLE sweep_media (
    account_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    media_id TEXT NOT NULL,
    PRIMARY KEY (account_id, scope, started_at, media_id)
);
