-- Web console (issue 13): accounts of people and their server-side sessions.
--
-- Accounts have the roles and scopes of API clients; the password is an argon2id hash. Names are
-- unique without regard to case. Sessions are kept under the SHA-256 of their id (a stolen
-- database does not hand out live sessions); a disabled account's sessions are deleted with it.
CREATE TABLE console_accounts (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);
CREATE UNIQUE INDEX console_accounts_name_key ON console_accounts (lower(name));

CREATE TABLE console_sessions (
    id_hash      TEXT    NOT NULL PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES console_accounts (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_account ON console_sessions (account_id);

-- The service page lists a customer's latest tasks.
CREATE INDEX IF NOT EXISTS tasks_customer_created ON tasks (customer_id, created_at);
