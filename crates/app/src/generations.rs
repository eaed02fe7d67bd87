//! Generations as clients see them: pinned reads of a retained generation, the changes between
//! two generations, and reclaiming what retention no longer keeps.
//!
//! A committed generation stays readable for [`AppConfig::generation_retention`] after a newer
//! one replaced it. Whether it is still retained is decided from its `superseded_at` and this
//! process's clock, the same on every replica, whether or not the rows are already reclaimed.

use chrono::{DateTime, Utc};
use domain::access::{Authorized, Principal, Read, SystemScope};
use domain::{CustomerId, ErrorCode};
use store::GenerationInfo;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::App;

/// Who reclaims superseded generations.
const RECLAIM: SystemScope = SystemScope::new("generation retention");

/// The largest number of users a changes answer lists by identity at once (the bodies are
/// read in batches of this size while the answer streams).
pub const CHANGES_BATCH: usize = 1_000;

/// The difference between two generations of one customer, by identity (identity order in each
/// list); bodies are read in batches while the answer is written ([`Changes::bodies`]).
pub struct Changes {
    grant: Authorized<CustomerId, Read>,
    pub from: i64,
    pub to: i64,
    pub added: Vec<Uuid>,
    pub changed: Vec<Uuid>,
    pub removed: Vec<Uuid>,
}

impl Changes {
    /// The served bodies of `identities` in generation `to` (identity order).
    pub async fn bodies(&self, app: &App, identities: &[Uuid]) -> AppResult<Vec<String>> {
        let rows = app.store.users_by_identity(&self.grant, self.to, identities).await?;
        if rows.len() != identities.len() {
            // `to` was reclaimed while the answer was written.
            return Err(expired("Since", self.to));
        }
        Ok(rows.into_iter().map(|row| row.body).collect())
    }
}

/// 410 `generation_expired` for `generation`, given as `parameter`.
pub(crate) fn expired(parameter: &str, generation: i64) -> AppError {
    AppError::new(
        ErrorCode::GenerationExpired,
        format!(
            "generation {generation} is not retained (superseded generations are kept for a limited time); \
             start again without {parameter}"
        ),
    )
    .at_field(parameter)
}

impl App {
    /// Whether a recorded generation is still readable at `now`.
    fn retained(&self, info: &GenerationInfo, now: DateTime<Utc>) -> bool {
        match info.superseded_at {
            None => true,
            Some(superseded) => {
                let retention =
                    chrono::Duration::from_std(self.config.generation_retention).unwrap_or(chrono::Duration::MAX);
                superseded.checked_add_signed(retention).is_none_or(|until| now < until)
            }
        }
    }

    /// `generation` of an authorized customer, if it is still retained (the served one always
    /// is); 410 `generation_expired`, naming `parameter`, otherwise.
    pub(crate) async fn retained_generation(
        &self,
        grant: &Authorized<CustomerId, Read>,
        served: i64,
        generation: i64,
        parameter: &str,
    ) -> AppResult<()> {
        if generation == served {
            return Ok(());
        }
        let info = self.store.generation_info(grant, generation).await?;
        match info {
            Some(info) if self.retained(&info, self.recent.now()) => Ok(()),
            _ => Err(expired(parameter, generation)),
        }
    }

    /// The changes of a customer's users from generation `since` to the served one: who was
    /// added, changed or removed. `since` must be retained (or 0: before the first generation);
    /// 410 `generation_expired` otherwise.
    pub async fn user_changes(&self, principal: &Principal, id: CustomerId, since: i64) -> AppResult<Changes> {
        let found = self
            .recent
            .service(self.store.as_ref(), id, &self.counters)
            .await?
            .ok_or_else(AppError::customer_not_found)?;
        let (grant, service) = principal.authorize::<Read>(found)?;
        service.may_list_users()?;
        let to = service.generation;
        if since > to {
            return Err(expired("Since", since));
        }
        if since > 0 {
            self.retained_generation(&grant, to, since, "Since").await?;
        }
        let versions = if since == to {
            store::VersionChanges::default()
        } else {
            self.store.version_changes(&grant, since, to).await?
        };
        let (added, changed, removed) = classify(versions);
        Ok(Changes {
            grant,
            from: since,
            to,
            added,
            changed,
            removed,
        })
    }

    /// Forgets the generations superseded longer than the retention ago (and the versions only
    /// they showed); returns how many went. Run periodically by `rosterd serve`.
    pub async fn reclaim_generations(&self) -> AppResult<u64> {
        let retention = chrono::Duration::from_std(self.config.generation_retention).unwrap_or(chrono::Duration::MAX);
        let Some(cutoff) = self.recent.now().checked_sub_signed(retention) else {
            return Ok(0);
        };
        Ok(self.store.reclaim_generations(&RECLAIM, cutoff).await?)
    }
}

/// Added (only born), changed (born and closed, with another fingerprint) and removed (only
/// closed) identities, each in identity order.
fn classify(versions: store::VersionChanges) -> (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>) {
    let (mut added, mut changed, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    let (born, closed) = (versions.born, versions.closed);
    let (mut i, mut j) = (0, 0);
    while i < born.len() || j < closed.len() {
        match (born.get(i), closed.get(j)) {
            (Some(b), Some(c)) if b.identity == c.identity => {
                // Changed and changed back is no change.
                if b.fingerprint != c.fingerprint {
                    changed.push(b.identity);
                }
                i += 1;
                j += 1;
            }
            (Some(b), Some(c)) if b.identity < c.identity => {
                added.push(b.identity);
                i += 1;
            }
            (Some(b), None) => {
                added.push(b.identity);
                i += 1;
            }
            (_, Some(c)) => {
                removed.push(c.identity);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (added, changed, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::UserFingerprint;

    fn fp(n: u128, f: i64) -> UserFingerprint {
        UserFingerprint {
            identity: Uuid::from_u128(n),
            fingerprint: f,
        }
    }

    #[test]
    fn versions_classify_into_added_changed_and_removed() {
        let versions = store::VersionChanges {
            born: vec![fp(1, 1), fp(3, 30), fp(4, 4), fp(6, 6)],
            closed: vec![fp(2, 2), fp(3, 3), fp(4, 4), fp(5, 5)],
        };
        let ids = |v: Vec<Uuid>| v.into_iter().map(|id| id.as_u128()).collect::<Vec<_>>();
        let (added, changed, removed) = classify(versions);
        assert_eq!(ids(added), vec![1, 6]);
        assert_eq!(ids(changed), vec![3], "4 changed and changed back");
        assert_eq!(ids(removed), vec![2, 5]);
    }
}
