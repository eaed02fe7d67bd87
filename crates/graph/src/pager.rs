//! Reading a Graph collection one page at a time, so a tenant never has to fit in one `Vec`.

use std::marker::PhantomData;

use domain::graph_mapping::{GraphDataError, GraphUser, TeamsUserConfiguration, UserDelta};
use serde_json::Value;
use url::Url;

use crate::client::TenantClient;
use crate::error::{GraphError, Resource};
use crate::observer::GraphEvent;

/// A record type a Graph collection holds.
pub trait PageItem: Sized + Send + 'static {
    fn from_graph(value: Value) -> Result<Self, GraphDataError>;
}

impl PageItem for GraphUser {
    fn from_graph(value: Value) -> Result<Self, GraphDataError> {
        serde_json::from_value(value).map_err(|e| GraphDataError::InvalidProperty(e.to_string()))
    }
}

impl PageItem for TeamsUserConfiguration {
    fn from_graph(value: Value) -> Result<Self, GraphDataError> {
        serde_json::from_value(value).map_err(|e| GraphDataError::InvalidProperty(e.to_string()))
    }
}

impl PageItem for UserDelta {
    fn from_graph(value: Value) -> Result<Self, GraphDataError> {
        UserDelta::from_value(value)
    }
}

impl PageItem for Value {
    fn from_graph(value: Value) -> Result<Self, GraphDataError> {
        Ok(value)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// 1 for the first page of this listing.
    pub number: u64,
    pub items: Vec<T>,
    /// Whether the listing ends with this page.
    pub is_last: bool,
    /// On the last page of a `/users/delta` round: the link for the next round.
    pub delta_link: Option<String>,
}

/// A whole listing read into memory (small tenants, tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub pages: u64,
    pub delta_link: Option<String>,
}

enum Cursor {
    Next(Url),
    Invalid(GraphError),
    Expired,
    Done,
}

/// Walks a collection page by page. After an error the same page can be asked for again.
pub struct Pager<T> {
    client: TenantClient,
    resource: Resource,
    cursor: Cursor,
    pages: u64,
    items: u64,
    delta_link: Option<String>,
    item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("resource", &self.resource)
            .field("pages", &self.pages)
            .field("items", &self.items)
            .field("done", &matches!(self.cursor, Cursor::Done))
            .finish()
    }
}

impl<T: PageItem> Pager<T> {
    pub(crate) fn start(client: TenantClient, resource: Resource, first: Result<Url, url::ParseError>) -> Self {
        let cursor = match first {
            Ok(url) => Cursor::Next(url),
            Err(error) => Cursor::Invalid(GraphError::Config(format!("{resource} URL: {error}"))),
        };
        Self::with_cursor(client, resource, cursor)
    }

    pub(crate) fn expired(client: TenantClient) -> Self {
        Self::with_cursor(client, Resource::UsersDelta, Cursor::Expired)
    }

    fn with_cursor(client: TenantClient, resource: Resource, cursor: Cursor) -> Self {
        Self {
            client,
            resource,
            cursor,
            pages: 0,
            items: 0,
            delta_link: None,
            item: PhantomData,
        }
    }

    /// The next page, or `None` once the listing is complete.
    pub async fn next_page(&mut self) -> Result<Option<Page<T>>, GraphError> {
        let url = match &self.cursor {
            Cursor::Done => return Ok(None),
            Cursor::Expired => return Err(GraphError::DeltaExpired),
            Cursor::Invalid(error) => return Err(error.clone()),
            Cursor::Next(url) => url.clone(),
        };
        let raw = self.client.fetch_page(self.resource, &url).await?;
        let resource = self.resource;
        let items = raw
            .value
            .into_iter()
            .map(T::from_graph)
            .collect::<Result<Vec<T>, _>>()
            .map_err(|source| GraphError::InvalidItem { resource, source })?;
        let next = raw
            .next_link
            .as_deref()
            .map(|link| self.client.own_link(resource, link))
            .transpose()?;
        self.pages += 1;
        self.items += items.len() as u64;
        let is_last = next.is_none();
        self.cursor = match next {
            Some(url) => Cursor::Next(url),
            None => Cursor::Done,
        };
        if is_last {
            self.delta_link = raw.delta_link.clone();
        }
        self.client.observer().on_event(&GraphEvent::PageRead {
            resource,
            number: self.pages,
            items: items.len(),
            items_total: self.items,
        });
        Ok(Some(Page {
            number: self.pages,
            items,
            is_last,
            delta_link: if is_last { raw.delta_link } else { None },
        }))
    }

    /// Reads every remaining page.
    pub async fn collect_all(mut self) -> Result<Listing<T>, GraphError> {
        let mut items = Vec::new();
        while let Some(page) = self.next_page().await? {
            items.extend(page.items);
        }
        Ok(Listing {
            items,
            pages: self.pages,
            delta_link: self.delta_link,
        })
    }

    pub fn resource(&self) -> Resource {
        self.resource
    }

    pub fn pages_read(&self) -> u64 {
        self.pages
    }

    pub fn items_read(&self) -> u64 {
        self.items
    }

    /// Whether the last page has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.cursor, Cursor::Done)
    }

    /// The `@odata.deltaLink` of a completed `/users/delta` round.
    pub fn delta_link(&self) -> Option<&str> {
        self.delta_link.as_deref()
    }
}
