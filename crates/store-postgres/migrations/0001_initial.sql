-- rosterd's schema on PostgreSQL (and Citus).
--
-- Every customer-owned table leads its primary key with the customer id, so services and
-- end_users can be distributed by customer (`SELECT create_distributed_table('end_users',
-- 'customer_id', colocate_with => ...)`) without changing a query. Timestamps are timestamptz
-- (microseconds, like the SQLite backend). JSON values are stored as text so that they come
-- back byte for byte, key order included.

CREATE TABLE services (
    id                        uuid        NOT NULL PRIMARY KEY,
    short_name                text        NOT NULL,
    full_name                 text        NOT NULL,
    license_type              bigint      NOT NULL,
    licensed_users_count      bigint,
    channel_id                bigint,
    ovoc_customer_type        text,
    tenant_id                 uuid,
    default_domain            text,
    app_client_id             text,
    app_client_secret_sealed  bytea,
    app_client_secret_hint    text,
    secret_expires_at         timestamptz,
    site_locations            text        NOT NULL DEFAULT '[]',
    -- The served generation of end_users, and the last one handed out to a writer.
    generation                bigint      NOT NULL DEFAULT 0,
    next_generation           bigint      NOT NULL DEFAULT 0,
    user_count                bigint      NOT NULL DEFAULT 0,
    created_at                timestamptz NOT NULL,
    sync_delta_link           text,
    sync_last_attempt_at      timestamptz,
    sync_last_success_at      timestamptz,
    sync_last_full_sync_at    timestamptz,
    sync_last_error           text,
    sync_consecutive_failures bigint      NOT NULL DEFAULT 0,
    sync_next_sync_at         timestamptz,
    sync_connection_ok        boolean,
    sync_connection_message   text,
    sync_lease_owner          text,
    sync_lease_until          timestamptz
);

CREATE UNIQUE INDEX services_short_name_key ON services (lower(short_name));

-- One row per user per generation. A page is an ordinal range on the primary key, so its cost
-- does not depend on how deep it is. Bodies are the rendered wire JSON.
CREATE TABLE end_users (
    customer_id uuid   NOT NULL REFERENCES services (id),
    generation  bigint NOT NULL,
    ordinal     bigint NOT NULL,
    identity    uuid   NOT NULL,
    fingerprint bigint NOT NULL,
    body        text   NOT NULL,
    PRIMARY KEY (customer_id, generation, ordinal)
);

CREATE TABLE api_clients (
    id          uuid        NOT NULL PRIMARY KEY,
    name        text        NOT NULL,
    role        text        NOT NULL,
    scope       text        NOT NULL,
    secret_hash text        NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE signing_keys (
    kid                text        NOT NULL PRIMARY KEY,
    algorithm          text        NOT NULL,
    private_key_sealed bytea       NOT NULL,
    public_key         bytea       NOT NULL,
    created_at         timestamptz NOT NULL
);

-- Tasks and audit events may name a customer but belong to the provider, so they are keyed by
-- their own id (reference or local tables on Citus).
CREATE TABLE tasks (
    id                     text        NOT NULL PRIMARY KEY,
    customer_id            uuid,
    kind                   text        NOT NULL,
    status                 text        NOT NULL,
    details                text        NOT NULL,
    messages               text        NOT NULL,
    output                 text        NOT NULL,
    created_at             timestamptz NOT NULL,
    completed_at           timestamptz,
    cancellation_requested boolean     NOT NULL DEFAULT false
);

CREATE TABLE audit_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    client_id   uuid,
    action      text        NOT NULL,
    customer_id uuid,
    detail      text        NOT NULL
);
