//! The delta link as rosterd stores it: Graph's `@odata.deltaLink` together with what it was
//! made for — the version of the `$select` of its round (`USER_SELECT_VERSION`) and the tenant
//! it belongs to — so that a link which would never report newly selected properties, or
//! belongs to another tenant, is never replayed.
//!
//! Text form, in the service's `delta_link` column: `rosterd-delta select=<n> tenant=<uuid>
//! <link>`. A link stored before this form (it starts with `http`) is version 1, tenant unknown.

use domain::graph_mapping::USER_SELECT_VERSION;
use uuid::Uuid;

const PREFIX: &str = "rosterd-delta ";

/// A stored delta link and what it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredLink {
    pub(crate) select_version: u32,
    pub(crate) tenant: Option<Uuid>,
    pub(crate) url: String,
}

impl StoredLink {
    /// A link made now, for `tenant`, with the current `$select`.
    pub(crate) fn current(tenant: Uuid, url: String) -> Self {
        Self {
            select_version: USER_SELECT_VERSION,
            tenant: Some(tenant),
            url,
        }
    }

    pub(crate) fn to_text(&self) -> String {
        let tenant = self.tenant.map(|t| t.to_string()).unwrap_or_else(|| "-".to_string());
        format!("{PREFIX}select={} tenant={tenant} {}", self.select_version, self.url)
    }

    /// Reads a stored link; `None` when the text is neither form (then it cannot be used).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let Some(rest) = text.strip_prefix(PREFIX) else {
            return Some(Self {
                select_version: 1,
                tenant: None,
                url: text.to_string(),
            });
        };
        let mut parts = rest.splitn(3, ' ');
        let select_version = parts.next()?.strip_prefix("select=")?.parse().ok()?;
        let tenant = match parts.next()?.strip_prefix("tenant=")? {
            "-" => None,
            id => Some(Uuid::parse_str(id).ok()?),
        };
        let url = parts.next()?.to_string();
        Some(Self {
            select_version,
            tenant,
            url,
        })
    }

    /// Why this link must not be replayed for `tenant` by this code, if it must not.
    pub(crate) fn unusable_for(&self, tenant: Uuid) -> Option<String> {
        if self.select_version < USER_SELECT_VERSION {
            return Some(format!(
                "the stored delta link was made with an older $select (version {}, now {}), so it would \
                 never report the properties added since",
                self.select_version, USER_SELECT_VERSION
            ));
        }
        if self.tenant.is_some_and(|t| t != tenant) {
            return Some("the stored delta link belongs to another tenant".to_string());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_old_links() {
        let tenant = Uuid::from_u128(7);
        let link = StoredLink::current(
            tenant,
            "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=a b".into(),
        );
        assert_eq!(StoredLink::parse(&link.to_text()), Some(link.clone()));
        assert_eq!(link.unusable_for(tenant), None);
        assert!(link
            .unusable_for(Uuid::from_u128(8))
            .unwrap()
            .contains("another tenant"));
        let old = StoredLink::parse("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x").unwrap();
        assert_eq!((old.select_version, old.tenant), (1, None));
        assert!(old.unusable_for(tenant).unwrap().contains("older $select (version 1"));
        assert_eq!(StoredLink::parse("rosterd-delta select=x tenant=- u"), None);
        assert_eq!(StoredLink::parse("rosterd-delta select=2"), None);
    }
}
