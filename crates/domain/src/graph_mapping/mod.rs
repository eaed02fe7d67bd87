//! Microsoft Graph user records (`/users`, `/users/delta`, `/admin/teams/userConfigurations`),
//! their delta merge, and the mapping of a Graph user plus its Teams configuration to an `EndUser`.
//!
//! Pure: no I/O. The Graph client fetches, this module interprets: `records` holds what Graph
//! sends, `mapping` what rosterd serves from it.

mod mapping;
mod records;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use mapping::*;
pub use records::*;
