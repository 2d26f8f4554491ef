-- What the rule engine's stateful conditions (flood, wave, repeat offender) count: one row per
-- evaluated comment, written with its decision, so every instance counts the same events.
CREATE TABLE rule_events (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL,
    -- The engine's author key (normalized username, else user id) and text key.
    author TEXT NOT NULL,
    text_key TEXT NOT NULL,
    -- The comment's time as the engine saw it: unix SECONDS.
    time BIGINT NOT NULL,
    -- 1 when the decision enforced at least one action.
    enforced BIGINT NOT NULL DEFAULT 0,
    -- Unix milliseconds when written: pruning goes by this, not by the comment's time.
    recorded_at BIGINT NOT NULL
);
CREATE INDEX rule_events_author ON rule_events (account_id, author, time);
CREATE INDEX rule_events_text ON rule_events (account_id, text_key, time);
CREATE INDEX rule_events_recorded ON rule_events (recorded_at);

-- Rules switched to shadow automatically because a fresh edit matched too many comments.
-- scope: '' for the default rules folder, else the account id whose folder holds the rule.
CREATE TABLE rule_auto_shadow (
    scope TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    -- 'shadowed', or 'cleared' by an operator (the rule's current version is vouched for).
    state TEXT NOT NULL,
    -- What tripped it: matches among decisions in a window of window_ms.
    matches BIGINT NOT NULL,
    decisions BIGINT NOT NULL,
    window_ms BIGINT NOT NULL,
    -- Modification time of the rule's file when it was switched (unix milliseconds).
    file_mtime BIGINT NOT NULL,
    -- When it was switched or cleared (unix milliseconds). A file modified after this is a new
    -- version: the row no longer applies.
    at BIGINT NOT NULL,
    PRIMARY KEY (scope, rule_id)
);
