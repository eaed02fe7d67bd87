//! Route handlers, one module per resource.

pub mod clients;
pub mod directory;
pub mod discovery;
pub mod end_users;
pub mod export;
pub mod graph_notifications;
pub mod health;
pub mod numbers;
pub mod sync;
pub mod tasks;
pub mod token;
pub mod user_changes;
