//! `rosterd demo`: a demo channel and customer whose first page of users is exactly the seed's
//! example, plus a demo client and a demo console account, so a new user sees a working request
//! and a signed-in console within seconds.

use anyhow::Context;
use app::{App, Created, CreatedClient, NewAccount, NewClient};
use chrono::Utc;
use domain::access::SystemScope;
use domain::service::SecretChange;
use domain::{CustomerId, LicenseType, NewService, Role, Scope, ServicePatch, ShortName};
use rosterd::Installation;
use store::GenerationWriter;
use uuid::Uuid;

/// Fixed so the printed request stays the same between runs.
pub const DEMO_CUSTOMER: Uuid = Uuid::from_u128(0x3f2b8c1e_5d4a_4e6b_9c7d_1a2b3c4d5e6f);
pub const DEMO_CHANNEL: i64 = 1;
pub const DEMO_CLIENT_NAME: &str = "rosterd-demo";
/// The demo's console account (Admin, provider scope); its password is new on every run.
pub const DEMO_ACCOUNT_NAME: &str = "demo";

/// The demo sets itself up as rosterd itself.
const DEMO: SystemScope = SystemScope::new("rosterd demo");

/// Creates (or refreshes) the demo customer and its users, and returns a fresh demo client.
pub async fn prepare(installation: &Installation, app: &App) -> anyhow::Result<CreatedClient> {
    let store = &installation.store;
    let customer = DEMO.grant(CustomerId(DEMO_CUSTOMER));
    if store.get_service(&customer.read()).await?.is_none() {
        let new = DEMO.grant(NewService {
            id: *customer,
            short_name: ShortName::parse("demo").map_err(|e| anyhow::anyhow!(e))?,
            full_name: "Demo Customer (Contoso)".into(),
            license_type: LicenseType::HostedEssentialsPlus,
            licensed_users_count: Some(100),
            channel_id: Some(DEMO_CHANNEL),
            ovoc_customer_type: None,
            tenant_id: Some(domain::samples::DEMO_TENANT),
            default_domain: Some(domain::samples::DEMO_DOMAIN.into()),
            site_locations: Vec::new(),
        });
        store.create_service(&new).await.context("creating the demo customer")?;
        let secret = "demo~app-registration-secret";
        let patch = ServicePatch {
            app_client_id: Some("0d3e6a41-2f5c-4b8e-9a71-5c0e8f4d2b19".into()),
            secret: SecretChange::Set {
                sealed: installation.secret_key.seal(secret.as_bytes())?,
                hint: domain::service::secret_hint(secret),
            },
            secret_expires_at: Some(Utc::now() + chrono::Duration::days(365)),
            ..ServicePatch::default()
        };
        store.update_service(&customer, &patch).await?;
    }

    let users = domain::samples::demo_users()?;
    let mut writer = GenerationWriter::new()?;
    for (row, user) in users.iter().enumerate() {
        writer.push(row as u64 + 1, user)?;
    }
    writer
        .commit(store.as_ref(), &customer, None, false)
        .await
        .context("loading the demo users")?;

    // One live demo client at a time: earlier runs' clients are revoked.
    for old in store.list_clients().await? {
        if old.name == DEMO_CLIENT_NAME && old.revoked_at.is_none() {
            store.revoke_client(&DEMO.grant(old.id), Utc::now()).await?;
        }
    }
    let new = NewClient {
        name: DEMO_CLIENT_NAME.to_string(),
        role: Role::Admin,
        scope: Scope::Provider,
        external_app_id: None,
    };
    match app
        .create_client(&DEMO.principal(), new)
        .await
        .context("creating the demo client")?
    {
        Created::WithSecret(client) => Ok(client),
        Created::External(_) => anyhow::bail!("the demo client was created without a secret"),
    }
}

/// Creates the demo console account, or gives it a new password (ending its old sessions), and
/// returns the password.
pub async fn prepare_account(app: &App) -> anyhow::Result<String> {
    let principal = DEMO.principal();
    let password = auth::generate_client_secret();
    let exists = app
        .list_accounts(&principal)
        .await?
        .iter()
        .any(|account| account.name.eq_ignore_ascii_case(DEMO_ACCOUNT_NAME));
    if exists {
        app.set_account_password(&principal, DEMO_ACCOUNT_NAME, password.clone())
            .await
            .context("setting the demo account's password")?;
    } else {
        let new = NewAccount {
            name: DEMO_ACCOUNT_NAME.to_string(),
            role: Role::Admin,
            scope: Scope::Provider,
        };
        app.create_account(&principal, new, password.clone())
            .await
            .context("creating the demo console account")?;
    }
    Ok(password)
}
