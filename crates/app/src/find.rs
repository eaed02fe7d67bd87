//! Finding users: a filtered or searched page of one customer, one user by key, and the owner
//! of a telephone number across every customer the principal may see.
//!
//! A filtered page is read from one generation throughout: the index of the generation the
//! service row names gives the matching identities (cached per normalized query), and the page's
//! bodies come from `users_by_identity` of that same generation. If that generation is gone
//! before the bodies are read (a newer one was committed and the old one deleted), the service
//! row is read again from the store and the page is read from the newer generation.

use std::sync::Arc;

use bytes::Bytes;
use domain::access::{Authorized, Principal, Read};
use domain::search::{UserKey, UserQuery};
use domain::{CustomerId, EndUser, ErrorCode, LineNumber, PageRequest, Service};
use uuid::Uuid;

use crate::directory::{DirectoryIndex, IndexBuilder, Lease};
use crate::error::{AppError, AppResult};
use crate::users::render_page;
use crate::App;

/// Rows read per keyset step while an index is built.
const BUILD_BATCH: i64 = 10_000;
/// Attempts before giving up on a customer whose generations change under every read.
const ATTEMPTS: usize = 3;
/// Longest number text accepted by the number lookup, in characters.
pub const MAX_NUMBER_CHARS: usize = 64;

/// A page of the users a query matches, from one generation.
#[derive(Debug, Clone)]
pub struct FoundPage {
    pub generation: i64,
    pub body: Bytes,
}

/// The owner of a telephone number.
#[derive(Debug, Clone)]
pub struct NumberOwner {
    /// `+digits`, with `;ext=N` when the owner's number has an extension.
    pub number: String,
    pub customer: CustomerId,
    pub customer_short_name: String,
    /// The user's 21-key JSON object, as served.
    pub user: String,
}

impl NumberOwner {
    /// `{"number":…,"customerGuid":…,"customerShortName":…,"user":{…}}`.
    pub fn to_json(&self) -> String {
        let text = |s: &str| serde_json::to_string(s).unwrap_or_default();
        format!(
            r#"{{"number":{},"customerGuid":{},"customerShortName":{},"user":{}}}"#,
            text(&self.number),
            text(&self.customer.to_string()),
            text(&self.customer_short_name),
            self.user
        )
    }
}

/// The generation an index was built for vanished while it was read.
struct Vanished;

enum Step<T> {
    Done(T),
    /// Read the service row from the store again and retry.
    Again,
}

impl App {
    /// The service row, from the recent-records cache on the first attempt and from the store
    /// after, authorized for reading and able to list users.
    async fn listable(
        &self,
        principal: &Principal,
        id: CustomerId,
        attempt: usize,
    ) -> AppResult<(Authorized<CustomerId, Read>, Service)> {
        let found = if attempt == 0 {
            self.recent.service(self.store.as_ref(), id, &self.counters).await?
        } else {
            self.recent.forget_service(id);
            self.store.find_service(id).await?
        };
        let found = found.ok_or_else(AppError::customer_not_found)?;
        let (grant, service) = principal.authorize::<Read>(found)?;
        service.may_list_users()?;
        Ok((grant, service))
    }

    /// The index of the generation `service` names (built now if this process has none).
    async fn index_of(
        &self,
        grant: &Authorized<CustomerId, Read>,
        service: &Service,
    ) -> AppResult<Step<Arc<DirectoryIndex>>> {
        let users = usize::try_from(service.user_count).unwrap_or(0);
        let cell = match self.directory.lease(service.id, service.generation, users) {
            Lease::Cell(cell) => cell,
            Lease::Stale => return Ok(Step::Again),
        };
        let built = cell
            .get_or_try_init(|| async {
                let _permit = self
                    .directory
                    .builds
                    .acquire()
                    .await
                    .map_err(|_| BuildError::App(AppError::internal("index builds closed")))?;
                self.build_index(grant, service.generation, service.user_count).await
            })
            .await;
        match built {
            Ok(index) => Ok(Step::Done(Arc::clone(index))),
            Err(BuildError::Vanished) => {
                self.directory.drop_index(service.id, service.generation);
                Ok(Step::Again)
            }
            Err(BuildError::App(error)) => Err(error),
        }
    }

    /// One keyset scan of the generation, each body parsed on a blocking thread.
    async fn build_index(
        &self,
        grant: &Authorized<CustomerId, Read>,
        generation: i64,
        expected: i64,
    ) -> Result<Arc<DirectoryIndex>, BuildError> {
        let mut builder = IndexBuilder::new(generation, usize::try_from(expected).unwrap_or(0));
        let mut after = 0;
        loop {
            let rows = self
                .store
                .users_after(grant, generation, after, BUILD_BATCH)
                .await
                .map_err(|e| BuildError::App(e.into()))?;
            let Some(last) = rows.last() else { break };
            after = last.ordinal;
            let full = rows.len() as i64 == BUILD_BATCH;
            builder = tokio::task::spawn_blocking(move || -> Result<IndexBuilder, AppError> {
                for row in &rows {
                    let user: EndUser = serde_json::from_str(&row.body)
                        .map_err(|e| AppError::internal(format!("stored user is not a user: {e}")))?;
                    builder.push(&user).map_err(AppError::internal)?;
                }
                Ok(builder)
            })
            .await
            .map_err(|e| BuildError::App(AppError::internal(e)))?
            .map_err(BuildError::App)?;
            if !full {
                break;
            }
        }
        // Fewer rows than the generation holds: it was deleted while it was read.
        if builder.len() as i64 != expected {
            return Err(BuildError::Vanished);
        }
        Ok(Arc::new(builder.finish()))
    }

    /// The identities `query` matches in `index`, from the result cache when it has them.
    async fn matches(
        &self,
        customer: CustomerId,
        index: &Arc<DirectoryIndex>,
        query: &UserQuery,
    ) -> AppResult<Arc<[Uuid]>> {
        if let Some(found) = self.directory.cached(customer, index.generation(), query) {
            self.counters.cache(crate::telemetry::Cache::Search, true);
            return Ok(found);
        }
        self.counters.cache(crate::telemetry::Cache::Search, false);
        let _permit = self
            .directory
            .scans
            .acquire()
            .await
            .map_err(|_| AppError::internal("index scans closed"))?;
        let (scan, q) = (Arc::clone(index), query.clone());
        let found: Arc<[Uuid]> = tokio::task::spawn_blocking(move || scan.matching(&q).into())
            .await
            .map_err(AppError::internal)?;
        self.directory
            .remember(customer, index.generation(), query, Arc::clone(&found));
        Ok(found)
    }

    /// The rows of `identities` in `generation`; `Vanished` when any is missing (the generation
    /// was deleted under the read).
    async fn bodies(
        &self,
        grant: &Authorized<CustomerId, Read>,
        generation: i64,
        identities: &[Uuid],
    ) -> AppResult<Result<Vec<String>, Vanished>> {
        let rows = self.store.users_by_identity(grant, generation, identities).await?;
        if rows.len() != identities.len() {
            return Ok(Err(Vanished));
        }
        Ok(Ok(rows.into_iter().map(|r| r.body).collect()))
    }

    /// One page of the users `query` matches (a non-empty query; the plain list is
    /// [`users_page`](Self::users_page)), ordered by `Identity`, counted over the matches.
    pub async fn find_users(
        &self,
        principal: &Principal,
        id: CustomerId,
        query: &UserQuery,
        page: PageRequest,
    ) -> AppResult<FoundPage> {
        for attempt in 0..ATTEMPTS {
            let (grant, service) = self.listable(principal, id, attempt).await?;
            let index = match self.index_of(&grant, &service).await? {
                Step::Done(index) => index,
                Step::Again => continue,
            };
            let found = self.matches(service.id, &index, query).await?;
            let total = found.len();
            let start = usize::try_from(page.first_ordinal() - 1)
                .unwrap_or(usize::MAX)
                .min(total);
            let end = start
                .saturating_add(usize::try_from(page.size()).unwrap_or(0))
                .min(total);
            let bodies = match self.bodies(&grant, index.generation(), &found[start..end]).await? {
                Ok(bodies) => bodies,
                Err(Vanished) => {
                    self.directory.drop_index(service.id, index.generation());
                    continue;
                }
            };
            return Ok(FoundPage {
                generation: index.generation(),
                body: Bytes::from(render_page(&page, total as i64, &bodies)),
            });
        }
        Err(generations_moving())
    }

    /// One user by `Identity`, `UserPrincipalName` or `SipAddress`: the 21-key JSON object.
    pub async fn find_user(&self, principal: &Principal, id: CustomerId, key: &UserKey) -> AppResult<String> {
        for attempt in 0..ATTEMPTS {
            let (grant, service) = self.listable(principal, id, attempt).await?;
            let (generation, identity) = match key {
                // By identity the store answers directly; no index needed.
                UserKey::Identity(identity) => (service.generation, *identity),
                UserKey::Name(_) => {
                    let index = match self.index_of(&grant, &service).await? {
                        Step::Done(index) => index,
                        Step::Again => continue,
                    };
                    match index.find(key) {
                        Some(identity) => (index.generation(), identity),
                        None => return Err(user_not_found()),
                    }
                }
            };
            let rows = self.store.users_by_identity(&grant, generation, &[identity]).await?;
            match rows.into_iter().next() {
                Some(row) => return Ok(row.body),
                // Absent by identity: really absent, unless the generation moved meanwhile.
                None if matches!(key, UserKey::Identity(_)) => {
                    let fresh = self.store.find_service(id).await?;
                    if fresh.is_some_and(|s| {
                        principal
                            .authorize::<Read>(s)
                            .is_ok_and(|(_, s)| s.generation == generation)
                    }) {
                        return Err(user_not_found());
                    }
                }
                None => self.directory.drop_index(service.id, generation),
            }
        }
        Err(generations_moving())
    }

    /// Who owns `number` among the customers `principal` may see (narrowed to
    /// `channel_filter`): the user whose `LineURI` has its digits — and its extension, when the
    /// stored number has one; a number typed with an extension falls back to the user holding
    /// the number without one (the main line). Several owners: the first by customer, then
    /// identity.
    pub async fn number_owner(
        &self,
        principal: &Principal,
        channel_filter: Option<i64>,
        number: &str,
    ) -> AppResult<NumberOwner> {
        let invalid = || {
            AppError::new(
                ErrorCode::InvalidNumber,
                format!(
                    "number must be a telephone number such as +14255550123, tel:+14255550123;ext=123 or 1 425 555 0123 (at most {MAX_NUMBER_CHARS} characters)"
                ),
            )
            .at_field("number")
        };
        if number.chars().count() > MAX_NUMBER_CHARS {
            return Err(invalid());
        }
        let wanted = LineNumber::parse(number).ok_or_else(invalid)?;
        let visibility = principal.visibility(channel_filter);
        let rows = self.store.users_with_line_digits(&visibility, wanted.digits()).await?;
        // Each candidate with its stored extension.
        let mut exact = None;
        let mut main_line = None;
        for (customer, row) in rows {
            let Ok(user) = serde_json::from_str::<EndUser>(&row.body) else {
                continue;
            };
            let stored = user.line_uri.as_deref().and_then(LineNumber::parse);
            let (digits, extension) = match &stored {
                Some(n) => (n.digits().to_string(), n.extension().map(str::to_string)),
                None => (
                    domain::search::line_digits(user.line_uri.as_deref()).unwrap_or_default(),
                    None,
                ),
            };
            if digits != wanted.digits() {
                continue;
            }
            let slot = if extension.as_deref() == wanted.extension() {
                &mut exact
            } else if extension.is_none() {
                &mut main_line
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some((customer, row.body, extension));
            }
        }
        let Some((customer, body, extension)) = exact.or(main_line) else {
            return Err(AppError::new(
                ErrorCode::NumberNotFound,
                "no user of a customer visible to this client has this number",
            )
            .at_field("number"));
        };
        // The store answered within the visibility; the service is authorized all the same.
        let service = self.store.find_service(customer).await?.ok_or_else(number_gone)?;
        let (_, service) = principal.authorize::<Read>(service).map_err(|_| number_gone())?;
        let mut text = format!("+{}", wanted.digits());
        if let Some(extension) = extension {
            text.push_str(";ext=");
            text.push_str(&extension);
        }
        Ok(NumberOwner {
            number: text,
            customer,
            customer_short_name: service.short_name,
            user: body,
        })
    }

    /// Users held in search indexes now, and the bytes of those built (tests, the benchmark).
    pub fn search_index_size(&self) -> (usize, usize) {
        (self.directory.indexed_users(), self.directory.indexed_bytes())
    }
}

enum BuildError {
    Vanished,
    App(AppError),
}

fn user_not_found() -> AppError {
    AppError::new(
        ErrorCode::UserNotFound,
        "no user of this customer has this Identity, UserPrincipalName or SipAddress",
    )
    .at_field("key")
}

fn number_gone() -> AppError {
    AppError::new(
        ErrorCode::NumberNotFound,
        "no user of a customer visible to this client has this number",
    )
    .at_field("number")
}

fn generations_moving() -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        "the customer's users changed during every read; try again",
    )
}
