//! The services table: creating, reading, listing (with visibility in SQL), patching, and the
//! replication state stored next to each service.

use chrono::Utc;
use domain::access::{Authorized, Scope, Visibility, Write};
use domain::service::SecretChange;
use domain::{CustomerId, LicenseType, NewService, Service, ServicePatch, SyncState};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::Postgres;
use store::{FleetSummary, StoreError, StoreResult, Taken};
use uuid::Uuid;

use crate::codec::{from_json, get, to_json};
use crate::connect::PgStore;
use crate::error::{db_error, is_unique_violation, is_unique_violation_on};

/// Every column a `Service` is read from, in one place so all queries agree.
pub(crate) const SERVICE_COLUMNS: &str = "id, short_name, full_name, license_type, \
    licensed_users_count, channel_id, ovoc_customer_type, tenant_id, default_domain, app_client_id, \
    app_client_secret_sealed, app_client_secret_hint, secret_expires_at, site_locations, generation, \
    user_count, created_at, sync_delta_link, sync_last_attempt_at, sync_last_success_at, \
    sync_last_full_sync_at, sync_last_error, sync_consecutive_failures, sync_next_sync_at, \
    sync_connection_ok, sync_connection_message";

pub(crate) fn service_from_row(row: &PgRow) -> StoreResult<Service> {
    let license: i64 = get(row, "license_type")?;
    let sites: String = get(row, "site_locations")?;
    Ok(Service {
        id: CustomerId(get(row, "id")?),
        short_name: get(row, "short_name")?,
        full_name: get(row, "full_name")?,
        license_type: LicenseType::try_from(license)
            .map_err(|e| StoreError::Corrupt(format!("services.license_type: {e}")))?,
        licensed_users_count: get(row, "licensed_users_count")?,
        channel_id: get(row, "channel_id")?,
        ovoc_customer_type: get(row, "ovoc_customer_type")?,
        tenant_id: get(row, "tenant_id")?,
        default_domain: get(row, "default_domain")?,
        app_client_id: get(row, "app_client_id")?,
        app_client_secret_sealed: get(row, "app_client_secret_sealed")?,
        app_client_secret_hint: get(row, "app_client_secret_hint")?,
        secret_expires_at: get(row, "secret_expires_at")?,
        site_locations: from_json(&sites, "services.site_locations")?,
        generation: get(row, "generation")?,
        user_count: get(row, "user_count")?,
        created_at: get(row, "created_at")?,
        sync: SyncState {
            delta_link: get(row, "sync_delta_link")?,
            last_attempt_at: get(row, "sync_last_attempt_at")?,
            last_success_at: get(row, "sync_last_success_at")?,
            last_full_sync_at: get(row, "sync_last_full_sync_at")?,
            last_error: get(row, "sync_last_error")?,
            consecutive_failures: get(row, "sync_consecutive_failures")?,
            next_sync_at: get(row, "sync_next_sync_at")?,
            connection_ok: get(row, "sync_connection_ok")?,
            connection_message: get(row, "sync_connection_message")?,
        },
    })
}

/// The `SET` list that writes a whole `SyncState`, with its parameters starting at `${first}`.
pub(crate) fn sync_state_assignments(first: usize) -> String {
    let columns = [
        "sync_delta_link",
        "sync_last_attempt_at",
        "sync_last_success_at",
        "sync_last_full_sync_at",
        "sync_last_error",
        "sync_consecutive_failures",
        "sync_next_sync_at",
        "sync_connection_ok",
        "sync_connection_message",
    ];
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds a `SyncState` in the order of [`sync_state_assignments`].
pub(crate) fn bind_sync_state<'q>(
    query: Query<'q, Postgres, PgArguments>,
    state: &'q SyncState,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(state.delta_link.as_deref())
        .bind(state.last_attempt_at)
        .bind(state.last_success_at)
        .bind(state.last_full_sync_at)
        .bind(state.last_error.as_deref())
        .bind(state.consecutive_failures)
        .bind(state.next_sync_at)
        .bind(state.connection_ok)
        .bind(state.connection_message.as_deref())
}

impl PgStore {
    pub(crate) async fn create_service_impl(&self, new: &Authorized<NewService, Write>) -> StoreResult<Service> {
        let sql = format!(
            "INSERT INTO services (id, short_name, full_name, license_type, licensed_users_count, \
             channel_id, ovoc_customer_type, tenant_id, default_domain, site_locations, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {SERVICE_COLUMNS}"
        );
        let sites = to_json(&new.site_locations)?;
        let row = sqlx::query(&sql)
            .bind(new.id.0)
            .bind(new.short_name.as_str())
            .bind(&new.full_name)
            .bind(new.license_type.code())
            .bind(new.licensed_users_count)
            .bind(new.channel_id)
            .bind(new.ovoc_customer_type.as_deref())
            .bind(new.tenant_id)
            .bind(new.default_domain.as_deref())
            .bind(sites)
            .bind(Utc::now())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| taken(e, Taken::ServiceId))?;
        service_from_row(&row)
    }

    pub(crate) async fn get_service_impl(&self, id: CustomerId) -> StoreResult<Option<Service>> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(service_from_row).transpose()
    }

    pub(crate) async fn list_services_impl(&self, visibility: &Visibility) -> StoreResult<Vec<Service>> {
        let (scope_channel, scope_customers): (Option<i64>, Option<Vec<Uuid>>) = match visibility.scope() {
            Scope::Provider => (None, None),
            Scope::Channel { channel_id } => (Some(*channel_id), None),
            Scope::Customers { customers } => (None, Some(customers.iter().map(|c| c.0).collect())),
        };
        // Ordered like SQLite's BINARY collation of lower() so both backends list alike.
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM services \
             WHERE ($1::bigint IS NULL OR channel_id = $1) \
               AND ($2::uuid[] IS NULL OR id = ANY($2)) \
               AND ($3::bigint IS NULL OR channel_id = $3) \
             ORDER BY lower(short_name) COLLATE \"C\", short_name COLLATE \"C\""
        );
        let rows = sqlx::query(&sql)
            .bind(scope_channel)
            .bind(scope_customers)
            .bind(visibility.channel_filter())
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(service_from_row).collect()
    }

    pub(crate) async fn update_service_impl(&self, id: CustomerId, patch: &ServicePatch) -> StoreResult<Service> {
        // $8: 0 keeps the secret, 1 sets $9/$10, 2 clears it (and its expiry);
        // $12: forget the replication state of the previous tenant or app.
        let (secret_mode, sealed, hint) = match &patch.secret {
            SecretChange::Keep => (0i64, None, None),
            SecretChange::Set { sealed, hint } => (1, Some(sealed.as_slice()), Some(hint.as_str())),
            SecretChange::Clear => (2, None, None),
        };
        let sql = format!(
            "UPDATE services SET \
               full_name = COALESCE($2, full_name), \
               license_type = COALESCE($3, license_type), \
               licensed_users_count = COALESCE($4, licensed_users_count), \
               tenant_id = COALESCE($5, tenant_id), \
               default_domain = COALESCE($6, default_domain), \
               app_client_id = COALESCE($7, app_client_id), \
               app_client_secret_sealed = CASE $8 WHEN 0 THEN app_client_secret_sealed WHEN 1 THEN $9 ELSE NULL END, \
               app_client_secret_hint = CASE $8 WHEN 0 THEN app_client_secret_hint WHEN 1 THEN $10 ELSE NULL END, \
               secret_expires_at = COALESCE($11, CASE $8 WHEN 2 THEN NULL ELSE secret_expires_at END), \
               sync_delta_link = CASE WHEN $12 THEN NULL ELSE sync_delta_link END, \
               sync_last_full_sync_at = CASE WHEN $12 THEN NULL ELSE sync_last_full_sync_at END, \
               sync_next_sync_at = CASE WHEN $12 THEN NULL ELSE sync_next_sync_at END, \
               sync_last_error = CASE WHEN $12 THEN NULL ELSE sync_last_error END, \
               sync_consecutive_failures = CASE WHEN $12 THEN 0 ELSE sync_consecutive_failures END, \
               sync_connection_ok = CASE WHEN $12 THEN NULL ELSE sync_connection_ok END, \
               sync_connection_message = CASE WHEN $12 THEN NULL ELSE sync_connection_message END \
             WHERE id = $1 RETURNING {SERVICE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(patch.full_name.as_deref())
            .bind(patch.license_type.map(LicenseType::code))
            .bind(patch.licensed_users_count)
            .bind(patch.tenant_id)
            .bind(patch.default_domain.as_deref())
            .bind(patch.app_client_id.as_deref())
            .bind(secret_mode)
            .bind(sealed)
            .bind(hint)
            .bind(patch.secret_expires_at)
            .bind(patch.reset_sync)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| taken(e, Taken::ServiceId))?;
        match row {
            Some(row) => service_from_row(&row),
            None => Err(StoreError::NotFound(format!("service {id}"))),
        }
    }

    pub(crate) async fn fleet_summary_impl(&self) -> StoreResult<FleetSummary> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS services, \
               COALESCE(SUM(CASE WHEN tenant_id IS NOT NULL AND app_client_id IS NOT NULL AND app_client_id <> '' \
                                  AND app_client_secret_sealed IS NOT NULL THEN 1 ELSE 0 END), 0)::bigint AS connected, \
               COALESCE(SUM(CASE WHEN sync_consecutive_failures > 0 THEN 1 ELSE 0 END), 0)::bigint AS failing, \
               COALESCE(SUM(user_count), 0)::bigint AS users \
             FROM services",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(FleetSummary {
            services: get(&row, "services")?,
            connected: get(&row, "connected")?,
            failing: get(&row, "failing")?,
            users: get(&row, "users")?,
        })
    }

    pub(crate) async fn update_sync_state_impl(&self, id: CustomerId, state: &SyncState) -> StoreResult<()> {
        let sql = format!("UPDATE services SET {} WHERE id = $1", sync_state_assignments(2));
        let done = bind_sync_state(sqlx::query(&sql).bind(id.0), state)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("service {id}")));
        }
        Ok(())
    }
}

/// A unique violation as the value it hit; `other` when no index name tells (the primary key).
fn taken(error: sqlx::Error, other: Taken) -> StoreError {
    if is_unique_violation_on(&error, "short_name") {
        StoreError::Taken(Taken::ShortName)
    } else if is_unique_violation_on(&error, "tenant_id") {
        StoreError::Taken(Taken::TenantId)
    } else if is_unique_violation(&error) {
        StoreError::Taken(other)
    } else {
        db_error(error)
    }
}
