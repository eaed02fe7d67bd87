-- Microsoft Graph change-notification subscriptions (issue 9): one per connected customer, on
-- `users`. The clientState is sealed with the installation key like app secrets; Graph's
-- subscription id is unique, since notifications are matched by it. Keyed by the customer id,
-- like every customer-owned table (distributable on Citus; the unique index on the
-- subscription id is then a reference lookup done per notification).
CREATE TABLE graph_subscriptions (
    customer_id          uuid        NOT NULL PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
    subscription_id      text        NOT NULL,
    tenant_id            uuid        NOT NULL,
    app_client_id        text        NOT NULL,
    client_state_sealed  bytea       NOT NULL,
    expires_at           timestamptz NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE UNIQUE INDEX graph_subscriptions_by_id ON graph_subscriptions (subscription_id);
