//! Console accounts (people) and their sessions. Accounts hold the roles and scopes API clients
//! hold and are managed under the same rule (nobody gives what they do not have); a signed-in
//! account acts as a `Principal::Account`, authorized by the same code as every other caller.
//!
//! Sessions live in the database, so every replica sees them: the id is a random 256-bit
//! secret the browser keeps in a cookie and the store keeps only as a SHA-256 hash; each has its
//! own CSRF token. A session ends after 30 minutes without a request, 12 hours after sign-in,
//! at sign-out, and at once when its account is disabled or its password changed (the account
//! is read on every request).

use chrono::{DateTime, Duration, Utc};
use domain::access::{AccountPrincipal, Denied, Principal, Read};
use domain::{AccountId, CustomerId, ErrorCode, Role, Scope};
use serde::Serialize;
use store::{AccountRecord, SessionRecord, StoreError, TaskRecord};

use crate::clients::{inside, visible_customers};
use crate::error::{AppError, AppResult};
use crate::App;

/// Longest account name, in characters.
pub const ACCOUNT_NAME_MAX: usize = 64;
/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however active.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// Activity is written back at most this often per session (idle expiry is that much coarser).
const TOUCH_EVERY: Duration = Duration::seconds(30);

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
}

/// An account as listed: never its password hash.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl AccountView {
    fn of(record: &AccountRecord) -> Self {
        Self {
            name: record.name.clone(),
            role: record.role,
            scope: record.scope.clone(),
            created_at: record.created_at,
            disabled_at: record.disabled_at,
        }
    }
}

/// A new session: the id goes into the browser's cookie and is never seen again here.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id: String,
    pub account: AccountView,
}

/// A live session and the principal it speaks for.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub principal: Principal,
    pub name: String,
    pub role: Role,
    /// Every state-changing form of this session must carry it.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

fn checked_account_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= ACCOUNT_NAME_MAX
        && !name.chars().any(|c| c.is_control() || c == '/');
    if !ok {
        return Err(AppError::invalid_field(
            "name",
            format!("an account name is 1 to {ACCOUNT_NAME_MAX} characters, without '/' or control characters"),
        ));
    }
    Ok(name.to_string())
}

async fn hash_password(password: String) -> AppResult<String> {
    let hashed = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(AppError::internal)?;
    hashed.map_err(|e| match e {
        auth::PasswordError::Unacceptable => AppError::invalid_field("password", e.to_string()),
        other => AppError::internal(other),
    })
}

async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(AppError::internal)
}

fn account_not_found() -> AppError {
    AppError::new(
        ErrorCode::AccountNotFound,
        "no console account has this name, or it is not visible to this caller",
    )
}

fn sign_in_failed() -> AppError {
    AppError::new(
        ErrorCode::SignInFailed,
        "the name or the password is wrong, or the account is disabled",
    )
}

fn session_ended() -> AppError {
    AppError::new(ErrorCode::SessionEnded, "the session has ended; sign in again")
}

/// The stored form of a session id.
fn session_hash(session_id: &str) -> String {
    auth::hash_client_secret(session_id)
}

impl App {
    /// Creates an account with a password (stored only as an argon2id hash): an Admin, a role no
    /// higher than its own, a scope inside its own — the rule for API clients.
    pub async fn create_account(
        &self,
        principal: &Principal,
        new: NewAccount,
        password: String,
    ) -> AppResult<AccountView> {
        principal.require_client_admin()?;
        let name = checked_account_name(&new.name)?;
        let visible = visible_customers(self.store.as_ref(), principal, Some(&new.scope)).await?;
        let record = AccountRecord {
            id: AccountId::new_random(),
            name,
            role: new.role,
            scope: new.scope.clone(),
            password_hash: hash_password(password).await?,
            created_at: Utc::now(),
            disabled_at: None,
        };
        let grant = principal.authorize_new_client(new.role, &new.scope, inside(&visible), record)?;
        self.console.create_account(&grant).await?;
        let view = AccountView::of(&grant);
        self.audit(
            principal,
            "account.create",
            None,
            format!("account {} ({})", view.name, view.role),
        )
        .await;
        Ok(view)
    }

    /// The accounts inside the principal's scope.
    pub async fn list_accounts(&self, principal: &Principal) -> AppResult<Vec<AccountView>> {
        principal.require_client_admin()?;
        let visible = visible_customers(self.store.as_ref(), principal, None).await?;
        let accounts = self.console.list_accounts().await?;
        Ok(accounts
            .iter()
            .filter(|account| principal.covers(&account.scope, inside(&visible)))
            .map(AccountView::of)
            .collect())
    }

    /// An account the principal may change; any other is `account_not_found`.
    async fn managed_account(
        &self,
        principal: &Principal,
        name: &str,
    ) -> AppResult<domain::access::Authorized<AccountId, domain::access::Write>> {
        principal.require_client_admin()?;
        let account = self
            .console
            .find_account(name.trim())
            .await?
            .ok_or_else(account_not_found)?;
        let visible = visible_customers(self.store.as_ref(), principal, None).await?;
        principal
            .authorize_holder(account.id, &account.scope, inside(&visible))
            .map_err(|denied| match denied {
                Denied::NotVisible => account_not_found(),
                other => other.into(),
            })
    }

    /// Disables an account: it cannot sign in again and its sessions end at once.
    pub async fn disable_account(&self, principal: &Principal, name: &str) -> AppResult<()> {
        let grant = self.managed_account(principal, name).await?;
        self.console
            .disable_account(&grant, Utc::now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => account_not_found(),
                other => other.into(),
            })?;
        self.audit(principal, "account.disable", None, format!("account {}", *grant))
            .await;
        Ok(())
    }

    /// Sets an account's password; its sessions end.
    pub async fn set_account_password(&self, principal: &Principal, name: &str, password: String) -> AppResult<()> {
        let grant = self.managed_account(principal, name).await?;
        let hash = hash_password(password).await?;
        self.console
            .set_account_password(&grant, &hash)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => account_not_found(),
                other => other.into(),
            })?;
        self.audit(principal, "account.password", None, format!("account {}", *grant))
            .await;
        Ok(())
    }

    /// Signs in with a name and password. Unknown names cost as much as wrong passwords, and
    /// every refusal reads the same. (Throttling failures is the adapter's job: it knows the
    /// source address.)
    pub async fn sign_in(&self, name: &str, password: &str) -> AppResult<SignedIn> {
        let account = self.console.find_account(name.trim()).await?;
        let hash = account
            .as_ref()
            .map_or_else(|| auth::password::decoy_hash().to_string(), |a| a.password_hash.clone());
        let matches = verify_password(password.to_string(), hash).await?;
        let account = match account {
            Some(account) if matches && account.disabled_at.is_none() => account,
            _ => return Err(sign_in_failed()),
        };
        let session_id = auth::generate_client_secret();
        let now = Utc::now();
        self.console
            .create_session(&SessionRecord {
                id_hash: session_hash(&session_id),
                account: account.id,
                csrf_token: auth::generate_client_secret(),
                created_at: now,
                last_seen_at: now,
            })
            .await?;
        // Expired sessions of everyone are swept now and then, here, off the request path of
        // readers.
        if let Err(error) = self
            .console
            .prune_sessions(now - SESSION_LIFETIME, now - SESSION_IDLE)
            .await
        {
            tracing::warn!(%error, "could not prune expired console sessions");
        }
        Ok(SignedIn {
            session_id,
            account: AccountView::of(&account),
        })
    }

    /// The live session a cookie names, and the principal it speaks for: not expired (idle or
    /// absolute), its account still there and enabled.
    pub async fn console_session(&self, session_id: &str) -> AppResult<ConsoleSession> {
        let id_hash = session_hash(session_id);
        let session = self.console.get_session(&id_hash).await?.ok_or_else(session_ended)?;
        let now = Utc::now();
        let account = self.console.get_account(session.account).await?;
        let live = now < session.created_at + SESSION_LIFETIME && now < session.last_seen_at + SESSION_IDLE;
        let account = match account {
            Some(account) if live && account.disabled_at.is_none() => account,
            _ => {
                self.console.delete_session(&id_hash).await?;
                return Err(session_ended());
            }
        };
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.console.touch_session(&id_hash, now).await?;
        }
        let expires_at = (session.created_at + SESSION_LIFETIME).min(now.max(session.last_seen_at) + SESSION_IDLE);
        Ok(ConsoleSession {
            principal: Principal::Account(AccountPrincipal {
                account: account.id,
                name: account.name.clone(),
                role: account.role,
                scope: account.scope,
            }),
            name: account.name,
            role: account.role,
            csrf_token: session.csrf_token,
            expires_at,
        })
    }

    /// Ends a session (signing out). Unknown sessions are already ended.
    pub async fn sign_out(&self, session_id: &str) -> AppResult<()> {
        Ok(self.console.delete_session(&session_hash(session_id)).await?)
    }

    /// The latest tasks of a customer inside the principal's scope, newest first.
    pub async fn recent_tasks(&self, principal: &Principal, id: CustomerId, limit: i64) -> AppResult<Vec<TaskRecord>> {
        let (grant, _) = self.authorize::<Read>(principal, id).await?;
        Ok(self.console.recent_tasks(&grant, limit.clamp(1, 100)).await?)
    }
}
