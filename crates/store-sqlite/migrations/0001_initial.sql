-- rosterd's schema on SQLite.
--
-- GUIDs are lower-case hyphenated text; timestamps are INTEGER microseconds since the Unix epoch
-- (text timestamps would not compare correctly, and microseconds match PostgreSQL's precision so
-- both backends round-trip the same values). Every customer-owned table leads its primary key with
-- the customer id, like the PostgreSQL schema that distributes on it.

CREATE TABLE services (
    id                        TEXT    NOT NULL PRIMARY KEY,
    short_name                TEXT    NOT NULL,
    full_name                 TEXT    NOT NULL,
    license_type              INTEGER NOT NULL,
    licensed_users_count      INTEGER,
    channel_id                INTEGER,
    ovoc_customer_type        TEXT,
    tenant_id                 TEXT,
    default_domain            TEXT,
    app_client_id             TEXT,
    app_client_secret_sealed  BLOB,
    app_client_secret_hint    TEXT,
    secret_expires_at         INTEGER,
    site_locations            TEXT    NOT NULL DEFAULT '[]',
    -- The served generation of end_users, and the last one handed out to a writer.
    generation                INTEGER NOT NULL DEFAULT 0,
    next_generation           INTEGER NOT NULL DEFAULT 0,
    user_count                INTEGER NOT NULL DEFAULT 0,
    created_at                INTEGER NOT NULL,
    sync_delta_link           TEXT,
    sync_last_attempt_at      INTEGER,
    sync_last_success_at      INTEGER,
    sync_last_full_sync_at    INTEGER,
    sync_last_error           TEXT,
    sync_consecutive_failures INTEGER NOT NULL DEFAULT 0,
    sync_next_sync_at         INTEGER,
    sync_connection_ok        INTEGER,
    sync_connection_message   TEXT,
    sync_lease_owner          TEXT,
    sync_lease_until          INTEGER
);

CREATE UNIQUE INDEX services_short_name_key ON services (lower(short_name));

-- One row per user per generation. A page is an ordinal range on the primary key, so its cost
-- does not depend on how deep it is. Bodies are the rendered wire JSON.
CREATE TABLE end_users (
    customer_id TEXT    NOT NULL REFERENCES services (id),
    generation  INTEGER NOT NULL,
    ordinal     INTEGER NOT NULL,
    identity    TEXT    NOT NULL,
    fingerprint INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (customer_id, generation, ordinal)
);

CREATE TABLE api_clients (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE signing_keys (
    kid                TEXT    NOT NULL PRIMARY KEY,
    algorithm          TEXT    NOT NULL,
    private_key_sealed BLOB    NOT NULL,
    public_key         BLOB    NOT NULL,
    created_at         INTEGER NOT NULL
);

-- Tasks and audit events may name a customer but belong to the provider, so they are keyed by
-- their own id.
CREATE TABLE tasks (
    id                     TEXT    NOT NULL PRIMARY KEY,
    customer_id            TEXT,
    kind                   TEXT    NOT NULL,
    status                 TEXT    NOT NULL,
    details                TEXT    NOT NULL,
    messages               TEXT    NOT NULL,
    output                 TEXT    NOT NULL,
    created_at             INTEGER NOT NULL,
    completed_at           INTEGER,
    cancellation_requested INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    client_id   TEXT,
    action      TEXT    NOT NULL,
    customer_id TEXT,
    detail      TEXT    NOT NULL
);
