-- People who sign in to the review page (`commentguard users add`): a name, a role
-- (`reviewer` moderates; `admin` also clears auto-shadow and reads the dead letters) and an
-- argon2 hash of their password (a PHC string; the password itself is never stored).
CREATE TABLE people (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
