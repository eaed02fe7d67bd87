//! The storage port: one trait per role (services, users by generation, clients and keys,
//! tasks, audit, sync leases, the console's accounts and sessions), the [`Store`] bundle of them all, the records they store and the
//! backend-independent generation writer that replaces a customer's users atomically.

pub mod console;
pub mod error;
pub mod generation;
pub mod records;
pub mod roles;
pub mod subscriptions;

pub use console::{AccountRecord, ConsoleStore, SessionRecord};
pub use error::{BackendError, StoreError, StoreResult, Taken};
pub use generation::{GenerationWriter, ReplaceOutcome, WriteError, CHUNK_USERS};
pub use records::*;
pub use roles::{AuditStore, ClientStore, LeaseStore, ServiceStore, StoreInfo, TaskStore, UserStore};
pub use subscriptions::{SubscriptionRecord, SubscriptionStore};

/// Everything rosterd persists: every role at once, for the callers that need them all (the
/// application layer, the binary's wiring). One implementation per database; the backend is
/// chosen once, from the database URL, when the process starts.
///
/// Implemented for every type that implements each role; a new role joins the list here and in
/// the blanket `impl` below. Code that needs one role takes `&impl UserStore` (or
/// `&S where S: UserStore + ?Sized`, which a `dyn Store` satisfies) instead.
pub trait Store:
    StoreInfo
    + ServiceStore
    + UserStore
    + ClientStore
    + TaskStore
    + AuditStore
    + LeaseStore
    + ConsoleStore
    + SubscriptionStore
    + 'static
{
}

impl<T> Store for T where
    T: StoreInfo
        + ServiceStore
        + UserStore
        + ClientStore
        + TaskStore
        + AuditStore
        + LeaseStore
        + ConsoleStore
        + SubscriptionStore
        + 'static
{
}
