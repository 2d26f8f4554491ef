-- Labels: a person's "spam" / "not spam" on a comment (the review page's buttons, an undo, a
-- hide by hand). One per comment, kind and person: the latest stands. The text is kept with
-- the label (a label without its text teaches a model nothing), for COMMENTGUARD_LABEL_RETENTION.
CREATE TABLE labels (
    comment_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    person TEXT NOT NULL,
    account_id TEXT NOT NULL,
    label TEXT NOT NULL,
    source TEXT NOT NULL,
    text TEXT,
    author TEXT,
    labelled_at BIGINT NOT NULL,
    PRIMARY KEY (comment_id, kind, person)
);
CREATE INDEX labels_time ON labels (labelled_at);
