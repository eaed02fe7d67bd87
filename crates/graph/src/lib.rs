//! rosterd's Microsoft Graph client: app-only tokens per customer tenant, `/users`,
//! `/users/delta` and `/admin/teams/userConfigurations` read page by page, change-notification
//! subscriptions, with throttling, retries and progress events.
//!
//! ```no_run
//! # async fn run() -> Result<(), graph::GraphError> {
//! use graph::{GraphClient, GraphConfig, TenantCredentials};
//! let client = GraphClient::new(GraphConfig::default())?;
//! let tenant = client.tenant(TenantCredentials::new(uuid::Uuid::nil(), "app-id", "secret"));
//! let mut users = tenant.users();
//! while let Some(page) = users.next_page().await? {
//!     println!("page {} holds {} users", page.number, page.items.len());
//! }
//! # Ok(()) }
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod backoff;
mod client;
mod config;
mod credentials;
mod error;
mod observer;
mod pager;
mod retry;
mod sleeper;
mod subscriptions;
mod token;

pub use backoff::RETRY_AFTER_CEILING;
pub use client::{GraphClient, TenantClient};
pub use config::{GraphConfig, DEFAULT_GRAPH_URL, DEFAULT_LOGIN_URL};
pub use credentials::{ClientSecret, TenantCredentials};
pub use error::{GraphError, Resource, TokenError};
pub use observer::{Both, GraphEvent, GraphObserver, NoopObserver, RecordingObserver, RetryReason};
pub use pager::{Listing, Page, PageItem, Pager};
pub use sleeper::{RecordingSleeper, Sleeper, TokioSleeper};
pub use subscriptions::{NewSubscription, Subscription, CLIENT_STATE_MAX_CHARS, USERS_SUBSCRIPTION_MAX_MINUTES};

/// The Graph records this client returns, re-exported from `domain`.
pub use domain::graph_mapping::{GraphUser, TeamsUserConfiguration, UserDelta};
