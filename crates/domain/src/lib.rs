//! rosterd's domain: the types and rules every other crate speaks, with no I/O.

pub mod access;
pub mod end_user;
pub mod error_code;
pub mod export;
pub mod graph_mapping;
pub mod ids;
pub mod import;
pub mod license;
pub mod paging;
pub mod phone;
pub mod samples;
pub mod search;
pub mod service;

pub use access::{Authorized, Principal, Role, Scope, SystemScope, Unchecked, Visibility};
pub use end_user::EndUser;
pub use error_code::ErrorCode;
pub use export::{ExportEncoder, ExportFormat};
pub use ids::{AccountId, ClientId, CustomerId, IdError};
pub use license::{LicenseChangeRefused, LicenseType};
pub use paging::{PageRequest, PagingError};
pub use phone::LineNumber;
pub use search::{UserKey, UserQuery};
pub use service::{NewService, Service, ServiceError, ServicePatch, ShortName, SiteLocation, SyncState, UsersRefused};
