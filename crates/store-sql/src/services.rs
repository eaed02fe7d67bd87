//! The services table: creating, reading, listing (with visibility in SQL), patching, and the
//! replication state stored next to each service.

use async_trait::async_trait;
use chrono::Utc;
use domain::access::{Authorized, Scope, Unchecked, Visibility, Write};
use domain::service::SecretChange;
use domain::{CustomerId, LicenseType, NewService, Service, ServicePatch, SyncState};
use store::{FleetSummary, ServiceStore, StoreError, StoreResult, Taken};
use uuid::Uuid;

use crate::codec::{from_json, to_json};
use crate::driver::{Access, Driver};
use crate::error::SqlError;
use crate::param::{params, Param};
use crate::row::SqlRow;
use crate::SqlStore;

/// Every column a `Service` is read from, in one place so all queries agree.
pub(crate) const SERVICE_COLUMNS: &str = "id, short_name, full_name, license_type, \
    licensed_users_count, channel_id, ovoc_customer_type, tenant_id, default_domain, app_client_id, \
    app_client_secret_sealed, app_client_secret_hint, secret_expires_at, site_locations, generation, \
    user_count, created_at, sync_delta_link, sync_last_attempt_at, sync_last_success_at, \
    sync_last_full_sync_at, sync_last_error, sync_consecutive_failures, sync_next_sync_at, \
    sync_connection_ok, sync_connection_message";

fn service_from_row(row: &dyn SqlRow) -> StoreResult<Service> {
    let license: i64 = row.get("license_type")?;
    let sites: String = row.get("site_locations")?;
    Ok(Service {
        id: CustomerId(row.get("id")?),
        short_name: row.get("short_name")?,
        full_name: row.get("full_name")?,
        license_type: LicenseType::try_from(license)
            .map_err(|e| StoreError::Corrupt(format!("services.license_type: {e}")))?,
        licensed_users_count: row.get("licensed_users_count")?,
        channel_id: row.get("channel_id")?,
        ovoc_customer_type: row.get("ovoc_customer_type")?,
        tenant_id: row.get("tenant_id")?,
        default_domain: row.get("default_domain")?,
        app_client_id: row.get("app_client_id")?,
        app_client_secret_sealed: row.get("app_client_secret_sealed")?,
        app_client_secret_hint: row.get("app_client_secret_hint")?,
        secret_expires_at: row.get("secret_expires_at")?,
        site_locations: from_json(&sites, "services.site_locations")?,
        generation: row.get("generation")?,
        user_count: row.get("user_count")?,
        created_at: row.get("created_at")?,
        sync: SyncState {
            delta_link: row.get("sync_delta_link")?,
            last_attempt_at: row.get("sync_last_attempt_at")?,
            last_success_at: row.get("sync_last_success_at")?,
            last_full_sync_at: row.get("sync_last_full_sync_at")?,
            last_error: row.get("sync_last_error")?,
            consecutive_failures: row.get("sync_consecutive_failures")?,
            next_sync_at: row.get("sync_next_sync_at")?,
            connection_ok: row.get("sync_connection_ok")?,
            connection_message: row.get("sync_connection_message")?,
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

/// The parameters of [`sync_state_assignments`], in its order.
pub(crate) fn sync_state_params(state: &SyncState) -> [Param<'_>; 9] {
    params![
        state.delta_link.as_deref(),
        state.last_attempt_at,
        state.last_success_at,
        state.last_full_sync_at,
        state.last_error.as_deref(),
        state.consecutive_failures,
        state.next_sync_at,
        state.connection_ok,
        state.connection_message.as_deref(),
    ]
}

impl<D: Driver> SqlStore<D> {
    async fn service(&self, id: CustomerId) -> StoreResult<Option<Service>> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1");
        let rows = self
            .driver
            .fetch(Access::Read, &sql, &params![id], service_from_row)
            .await?;
        Ok(rows.into_iter().next())
    }
}

#[async_trait]
impl<D: Driver> ServiceStore for SqlStore<D> {
    async fn create_service(&self, new: &Authorized<NewService, Write>) -> StoreResult<Service> {
        let sql = format!(
            "INSERT INTO services (id, short_name, full_name, license_type, licensed_users_count, \
             channel_id, ovoc_customer_type, tenant_id, default_domain, site_locations, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {SERVICE_COLUMNS}"
        );
        let sites = to_json(&new.site_locations)?;
        let params = params![
            new.id,
            new.short_name.as_str(),
            &new.full_name,
            new.license_type.code(),
            new.licensed_users_count,
            new.channel_id,
            new.ovoc_customer_type.as_deref(),
            new.tenant_id,
            new.default_domain.as_deref(),
            &sites,
            Utc::now(),
        ];
        let rows = self
            .driver
            .fetch(Access::Write, &sql, &params, service_from_row)
            .await
            .map_err(|e| taken(e, Taken::ServiceId))?;
        rows.into_iter()
            .next()
            .ok_or_else(|| StoreError::backend("INSERT ... RETURNING returned no row"))
    }

    async fn find_service(&self, id: CustomerId) -> StoreResult<Option<Unchecked<Service>>> {
        Ok(self.service(id).await?.map(Unchecked::new))
    }

    async fn get_service(&self, customer: &Authorized<CustomerId>) -> StoreResult<Option<Service>> {
        self.service(**customer).await
    }

    async fn list_services(&self, visibility: &Visibility) -> StoreResult<Vec<Service>> {
        // $1: scope channel, $2: scope customer list, $3: channel filter.
        let (scope_channel, scope_customers) = scope_params(visibility);
        // Ordered by code point on every backend, so that both list alike.
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM services \
             WHERE ($1 IS NULL OR channel_id = $1) \
               AND ($2 IS NULL OR {}) \
               AND ($3 IS NULL OR channel_id = $3) \
             ORDER BY lower(short_name){order}, short_name{order}",
            D::id_in("id", "$2"),
            order = D::BINARY_ORDER,
        );
        let params = params![scope_channel, scope_customers.as_deref(), visibility.channel_filter()];
        Ok(self.driver.fetch(Access::Read, &sql, &params, service_from_row).await?)
    }

    async fn update_service(
        &self,
        customer: &Authorized<CustomerId, Write>,
        patch: &ServicePatch,
    ) -> StoreResult<Service> {
        // $8: 0 keeps the secret, 1 sets $9/$10, 2 clears it (and its expiry);
        // $12: forget the replication state of the previous tenant or app.
        let id = **customer;
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
        let params = params![
            id,
            patch.full_name.as_deref(),
            patch.license_type.map(LicenseType::code),
            patch.licensed_users_count,
            patch.tenant_id,
            patch.default_domain.as_deref(),
            patch.app_client_id.as_deref(),
            secret_mode,
            sealed,
            hint,
            patch.secret_expires_at,
            patch.reset_sync,
        ];
        let rows = self
            .driver
            .fetch(Access::Write, &sql, &params, service_from_row)
            .await
            .map_err(|e| taken(e, Taken::ServiceId))?;
        rows.into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(format!("service {id}")))
    }

    async fn update_sync_state(
        &self,
        customer: &Authorized<CustomerId, Write>,
        state: &domain::SyncState,
    ) -> StoreResult<()> {
        let id = **customer;
        let sql = format!("UPDATE services SET {} WHERE id = $1", sync_state_assignments(2));
        let mut params = vec![Param::from(id)];
        params.extend(sync_state_params(state));
        if self.driver.execute(&sql, &params).await? == 0 {
            return Err(StoreError::NotFound(format!("service {id}")));
        }
        Ok(())
    }

    async fn fleet_summary(&self) -> StoreResult<FleetSummary> {
        let sql = "SELECT COUNT(*) AS services, \
               CAST(COALESCE(SUM(CASE WHEN tenant_id IS NOT NULL AND app_client_id IS NOT NULL \
                                      AND app_client_id <> '' AND app_client_secret_sealed IS NOT NULL \
                                      THEN 1 ELSE 0 END), 0) AS bigint) AS connected, \
               CAST(COALESCE(SUM(CASE WHEN sync_consecutive_failures > 0 THEN 1 ELSE 0 END), 0) AS bigint) AS failing, \
               CAST(COALESCE(SUM(user_count), 0) AS bigint) AS users \
             FROM services";
        let rows = self
            .driver
            .fetch(Access::Read, sql, &[], |row| {
                Ok(FleetSummary {
                    services: row.get("services")?,
                    connected: row.get("connected")?,
                    failing: row.get("failing")?,
                    users: row.get("users")?,
                })
            })
            .await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| StoreError::backend("an aggregate returned no row"))
    }
}

/// A unique violation as the value it hit; `other` when no index name tells (the primary key).
fn taken(error: SqlError, other: Taken) -> StoreError {
    if error.is_unique_violation(Some("short_name")) {
        StoreError::Taken(Taken::ShortName)
    } else if error.is_unique_violation(Some("tenant_id")) {
        StoreError::Taken(Taken::TenantId)
    } else if error.is_unique_violation(None) {
        StoreError::Taken(other)
    } else {
        error.into()
    }
}

/// A visibility's scope as the parameters of a `WHERE` that filters services: the channel it is
/// limited to, and the customers it is limited to (each `None` when not limited that way).
pub(crate) fn scope_params(visibility: &Visibility) -> (Option<i64>, Option<Vec<Uuid>>) {
    match visibility.scope() {
        Scope::Provider => (None, None),
        Scope::Channel { channel_id } => (Some(*channel_id), None),
        Scope::Customers { customers } => (None, Some(customers.iter().map(|c| c.0).collect())),
    }
}
