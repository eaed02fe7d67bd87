-- Microsoft Graph change-notification subscriptions (issue 9): one per connected customer, on
-- `users`. The clientState is sealed with the installation key like app secrets; Graph's
-- subscription id is unique, since notifications are matched by it.
CREATE TABLE graph_subscriptions (
    customer_id          TEXT    NOT NULL PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
    subscription_id      TEXT    NOT NULL,
    tenant_id            TEXT    NOT NULL,
    app_client_id        TEXT    NOT NULL,
    client_state_sealed  BLOB    NOT NULL,
    expires_at           INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX graph_subscriptions_by_id ON graph_subscriptions (subscription_id);
