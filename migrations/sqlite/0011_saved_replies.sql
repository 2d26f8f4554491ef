-- Saved replies: answers a brand team sends again and again, per account, picked on the
-- review page. saved_at: unix milliseconds; person: who saved it last.
CREATE TABLE saved_replies (
    account_id TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    person TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, title)
);
