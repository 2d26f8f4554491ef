-- The durable inbox: one row per change of a verified notification, deduplicated by key.
CREATE TABLE inbox (
    id BIGSERIAL PRIMARY KEY,
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
CREATE INDEX inbox_claim ON inbox (state, lease_until, id);

-- Correctly signed bodies that are not notifications, kept for operators.
CREATE TABLE dead_letters (
    id BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    body BYTEA NOT NULL
);

-- The moderation log: one decision per comment (or mention) and kind.
CREATE TABLE decisions (
    id BIGSERIAL PRIMARY KEY,
    inbox_id BIGINT,
    comment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    account_id TEXT NOT NULL,
    media_id TEXT,
    author TEXT,
    author_id TEXT,
    text TEXT,
    normalized TEXT,
    matched TEXT NOT NULL,
    rules TEXT NOT NULL,
    actions TEXT NOT NULL,
    note TEXT,
    received_at BIGINT NOT NULL,
    decided_at BIGINT NOT NULL,
    UNIQUE (comment_id, kind)
);
CREATE INDEX decisions_time ON decisions (decided_at);
CREATE INDEX decisions_account ON decisions (account_id, decided_at);

-- The action log: every planned Graph call, recorded before it is tried.
CREATE TABLE actions (
    id BIGSERIAL PRIMARY KEY,
    action_key TEXT NOT NULL UNIQUE,
    decision_id BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    comment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    result_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX actions_due ON actions (state, next_at);
CREATE INDEX actions_decision ON actions (decision_id);
CREATE INDEX actions_comment ON actions (comment_id);
