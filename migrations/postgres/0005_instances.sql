-- Crash recovery in seconds: every claim names the instance run that took it
-- ('INSTANCE_ID@BOOT_MS'), and every running instance keeps its heartbeat here. The claims of
-- a run whose heartbeat stopped (or that a restart of the same instance replaced) are taken
-- over at once instead of waiting for their leases.
ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE actions ADD COLUMN claimed_by TEXT;
ALTER TABLE stories ADD COLUMN claimed_by TEXT;
CREATE TABLE instances (
    owner TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    boot_ms BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
