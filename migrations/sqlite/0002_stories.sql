-- Story insights: every story seen in a listing, with its snapshot schedule. The schedule lives
-- here (next_snapshot_at) so that it survives restarts.
CREATE TABLE stories (
    story_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    media_type TEXT,
    -- Unix milliseconds, like every time in the database.
    posted_at BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    -- posted_at + 24 h: the API forgets the story's insights then.
    expires_at BIGINT NOT NULL,
    -- When the next snapshot is due; NULL when none is planned.
    next_snapshot_at BIGINT,
    snapshot_count BIGINT NOT NULL DEFAULT 0,
    -- ok | not_enough_viewers | error, of the last snapshot.
    last_status TEXT,
    -- The last snapshot that read the story's numbers (ok or not_enough_viewers).
    last_snapshot_at BIGINT,
    -- Set once the story has expired and was accounted for.
    closed_at BIGINT
);
CREATE INDEX stories_due ON stories (closed_at, next_snapshot_at);
CREATE INDEX stories_account ON stories (account_id, posted_at);

-- Every snapshot taken, failed ones included.
CREATE TABLE story_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    story_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    taken_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    -- {"reach": 17, "replies": "<5", "navigation.tap_forward": 12}: counts under 5 stay "<5".
    metrics TEXT NOT NULL,
    -- The Graph API's answers as received.
    raw TEXT NOT NULL,
    error TEXT
);
CREATE INDEX story_snapshots_story ON story_snapshots (story_id, taken_at);
CREATE INDEX story_snapshots_time ON story_snapshots (taken_at);

-- The final counts Meta sends in a story_insights notification, one row per story.
CREATE TABLE story_finals (
    story_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    metrics TEXT NOT NULL,
    -- The notification's value as received.
    raw TEXT NOT NULL
);
CREATE INDEX story_finals_time ON story_finals (received_at);
