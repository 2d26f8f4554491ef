-- Keys the service makes for itself at its first start and every instance shares: 'session'
-- signs the review page's sign-in cookies (so people with passwords can sign in without the
-- operator's admin token existing). value: hex of 32 random bytes.
CREATE TABLE service_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
