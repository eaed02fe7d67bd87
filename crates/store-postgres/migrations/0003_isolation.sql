-- Tenant isolation (issue 7).
--
-- Short names are unique per channel, not provider-wide: a channel-scoped client must not learn
-- other channels' names from a 409. Services without a channel stay unique among themselves.
DROP INDEX services_short_name_key;
CREATE UNIQUE INDEX services_short_name_key ON services (channel_id, lower(short_name))
    WHERE channel_id IS NOT NULL;
CREATE UNIQUE INDEX services_short_name_unchanneled_key ON services (lower(short_name))
    WHERE channel_id IS NULL;

-- A Microsoft 365 tenant belongs to one service (uuid comparison ignores case). Where several
-- services already name the same tenant, the oldest keeps it; the others are disconnected
-- (tenant id, app secret and sync state cleared, so nothing syncs another customer's tenant into
-- them) and the change is audited.
CREATE TEMP TABLE duplicate_tenants ON COMMIT DROP AS
    SELECT s.id FROM services s
    WHERE s.tenant_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM services o
        WHERE o.tenant_id = s.tenant_id
          AND (o.created_at < s.created_at OR (o.created_at = s.created_at AND o.id < s.id)));
INSERT INTO audit_events (at, client_id, action, customer_id, detail)
    SELECT now(), NULL, 'service.disconnect', id,
           'migration 0003: the tenant id was already used by an older service; tenant id, app secret and sync state cleared'
    FROM duplicate_tenants;
UPDATE services SET tenant_id = NULL, app_client_secret_sealed = NULL, app_client_secret_hint = NULL,
       secret_expires_at = NULL, sync_delta_link = NULL, sync_last_full_sync_at = NULL,
       sync_next_sync_at = NULL, sync_connection_ok = NULL, sync_connection_message = NULL
    WHERE id IN (SELECT id FROM duplicate_tenants);
CREATE UNIQUE INDEX services_tenant_id_key ON services (tenant_id) WHERE tenant_id IS NOT NULL;
