//! Reading one page of a customer's users, in the Live Platform envelope. The service row names
//! the served generation, so a cached page (or one the client already holds) of that generation
//! is exactly what a fresh read would return.

use bytes::Bytes;
use domain::access::{Authorized, Principal, Read};
use domain::{CustomerId, PageRequest};

use crate::error::{AppError, AppResult};
use crate::page_cache::PageKey;
use crate::telemetry::Cache;
use crate::App;

/// A page the principal may read, not read yet: its [`key`](Self::key) tells whether the caller
/// already holds it.
pub struct UsersPage<'a> {
    app: &'a App,
    grant: Authorized<CustomerId, Read>,
    page: PageRequest,
    key: PageKey,
    /// The generation the client asked for (`Generation=N`), instead of the served one.
    pinned: Option<i64>,
}

impl App {
    /// One page of a customer's users: the principal must see the customer, and the service must
    /// list users (`may_list_users`).
    pub async fn users_page(
        &self,
        principal: &Principal,
        id: CustomerId,
        page: PageRequest,
    ) -> AppResult<UsersPage<'_>> {
        self.users_page_at(principal, id, page, None).await
    }

    /// A page of generation `pinned` (a client paging through one generation while newer ones
    /// are committed), or of the served one (`None`). A generation that is no longer retained
    /// is 410 `generation_expired`.
    pub async fn users_page_at(
        &self,
        principal: &Principal,
        id: CustomerId,
        page: PageRequest,
        pinned: Option<i64>,
    ) -> AppResult<UsersPage<'_>> {
        // The service row as read within the last moment: it names the generation to serve
        // (and the page cache holds pages by generation, so a cached page is never a mix).
        let found = self
            .recent
            .service(self.store.as_ref(), id, &self.counters)
            .await?
            .ok_or_else(AppError::customer_not_found)?;
        let (grant, service) = principal.authorize::<Read>(found)?;
        service.may_list_users()?;
        if let Some(generation) = pinned {
            self.retained_generation(&grant, service.generation, generation, "Generation")
                .await?;
        }
        let key = PageKey {
            customer: service.id,
            generation: pinned.unwrap_or(service.generation),
            number: page.number(),
            size: page.size(),
        };
        Ok(UsersPage {
            app: self,
            grant,
            page,
            key,
            pinned,
        })
    }
}

impl UsersPage<'_> {
    /// The page of the generation the service row named.
    pub fn key(&self) -> PageKey {
        self.key
    }

    /// The rendered page and the generation it was read from (a newer one than the key's, when
    /// an import or sync committed in between).
    pub async fn body(self) -> AppResult<(PageKey, Bytes)> {
        let UsersPage {
            app,
            grant,
            page,
            key,
            pinned,
        } = self;
        if let Some(body) = app.pages.get(&key) {
            app.counters.cache(Cache::Page, true);
            return Ok((key, body));
        }
        app.counters.cache(Cache::Page, false);
        let slice = app
            .store
            .read_page(&grant, pinned, page.first_ordinal(), page.size())
            .await?
            .ok_or_else(|| match pinned {
                // Reclaimed since it was checked.
                Some(generation) => crate::generations::expired("Generation", generation),
                None => AppError::customer_not_found(),
            })?;
        let key = PageKey {
            generation: slice.generation,
            ..key
        };
        let body = Bytes::from(render_page(&page, slice.total_records, &slice.bodies));
        app.pages.put(key, body.clone());
        Ok((key, body))
    }
}

/// Writes the envelope around pre-rendered user objects in one pass, into one buffer.
pub(crate) fn render_page(page: &PageRequest, total_records: i64, bodies: &[String]) -> Vec<u8> {
    let envelope = page.envelope(total_records);
    let size: usize = bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 128;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(
        format!(
            r#"{{"currentPage":{},"pageSize":{},"totalPages":{},"totalRecords":{},"data":["#,
            envelope.current_page, envelope.page_size, envelope.total_pages, envelope.total_records
        )
        .as_bytes(),
    );
    for (i, body) in bodies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(body.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}
