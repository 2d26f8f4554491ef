-- Tokens renewed while running (Instagram Login tokens refreshed before their 60 days end, or
-- traded by `connect`): every instance reads them, and they survive a restart. They win over
-- the settings file's token for the account. expires_at and renewed_at: unix milliseconds.
CREATE TABLE account_tokens (
    account_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    renewed_at BIGINT NOT NULL
);
