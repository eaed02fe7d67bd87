//! The generation writer: turns users arriving in any order into a new, atomically committed
//! generation of a customer's users, with dense ordinals in `Identity` order.
//!
//! Users are rendered once and spooled to a temporary file (with their source record, when the
//! sync engine keeps one) while only a small index (identity, fingerprint, offset) stays in
//! memory, so a million-user import needs tens of megabytes, not gigabytes. At commit the index
//! is sorted, duplicates are refused, and the new set is diffed against the served one by
//! fingerprint. Only added and changed users are written (as new versions); unchanged ones are
//! shared with the served generation, so a 100-user change writes 100 rows whatever the tenant's
//! size. The chunk index of the new set (every [`CHUNK_USERS`]th user's ordinal and identity) is
//! written beside them, and one transaction flips the served generation and closes the versions
//! it replaced. Readers see the old set or the new set, never a mix.
//!
//! A *patch* writer ([`GenerationWriter::patch_of`]) receives only changes (upserts and
//! removals); every user it is not told about keeps its version from the base generation.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use domain::access::{Authorized, Write};
use domain::{CustomerId, EndUser};
use serde::Serialize;
use uuid::Uuid;

use crate::records::{ChunkStart, GenerationCommit, UserFingerprint, UserRow};
use crate::{ServiceStore, StoreError, UserStore};

/// Rows written per `append_users` call.
pub const WRITE_BATCH: usize = 2_000;

/// Users per chunk of the ordinal index: a page read walks at most about this many index
/// entries before its first row. A new generation starts a chunk at every `CHUNK_USERS`th user.
pub const CHUNK_USERS: i64 = 128;

/// Why a generation could not be written. Nothing is committed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("row {second_row}: Identity {identity} appears twice (first at row {first_row})")]
    DuplicateIdentity {
        identity: Uuid,
        first_row: u64,
        second_row: u64,
    },
    #[error("temporary spool file: {0}")]
    Spool(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts of what a committed generation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplaceOutcome {
    pub generation: i64,
    pub total: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub unchanged: i64,
    /// False when nothing differed and the caller asked to skip identical sets.
    pub committed: bool,
}

#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    identity: Uuid,
    fingerprint: i64,
    /// The body, immediately followed by the source (if any), in the spool.
    offset: u64,
    len: u32,
    source_len: Option<u32>,
    row: u64,
    /// A removal: if it is the last entry of its identity, the identity is not written.
    removal: bool,
}

/// Collects users for one customer's next generation.
pub struct GenerationWriter {
    spool: BufWriter<File>,
    index: Vec<IndexEntry>,
    offset: u64,
    last_push_wins: bool,
    expected_base: Option<i64>,
    /// Pushes are changes to the base generation, not the whole new set.
    patch: bool,
}

impl GenerationWriter {
    pub fn new() -> Result<Self, WriteError> {
        Ok(Self {
            spool: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            index: Vec::new(),
            offset: 0,
            last_push_wins: false,
            expected_base: None,
            patch: false,
        })
    }

    /// A writer of changes to `base_generation`: pushed users are added or replaced, removals
    /// remove, and every other user of the base is kept as it is. The last push of an identity
    /// wins, and the commit is refused (`Conflict`) unless the base is still served, since the
    /// changes were derived from it.
    pub fn patch_of(base_generation: i64) -> Result<Self, WriteError> {
        let mut writer = Self::new()?;
        writer.last_push_wins = true;
        writer.expected_base = Some(base_generation);
        writer.patch = true;
        Ok(writer)
    }

    /// A user pushed twice keeps its last version instead of failing the commit with
    /// `DuplicateIdentity`. For sources that may legitimately repeat a record (a Graph delta
    /// round may return a user more than once); imports keep refusing duplicates.
    pub fn last_push_wins(&mut self) {
        self.last_push_wins = true;
    }

    /// Commit only if `generation` is still the served one when the commit starts (`Conflict`
    /// otherwise): for a writer whose new set was derived from that generation (the sync
    /// engine's delta merge), so that a generation committed in between is never overwritten
    /// with data computed from an older one.
    pub fn expect_base_generation(&mut self, generation: i64) {
        self.expected_base = Some(generation);
    }

    /// Number of users pushed so far.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds a user; `row` is the 1-based position in the source, used in error messages.
    /// Blocking file I/O: call from a blocking context for large inputs.
    pub fn push(&mut self, row: u64, user: &EndUser) -> Result<(), WriteError> {
        self.push_with_source(row, user, None)
    }

    /// Adds a user together with the record it was mapped from (stored in `UserRow::source`,
    /// never served). The fingerprint then covers the source too, so a change of the source
    /// alone counts as a change and is written (the next delta merge must start from it); by the
    /// same token, replacing synced users by imported ones (or the reverse) counts every user as
    /// changed.
    pub fn push_with_source(&mut self, row: u64, user: &EndUser, source: Option<&str>) -> Result<(), WriteError> {
        let body = user.render_json();
        let len = spool_len(body.len())?;
        let source_len = source.map(|s| spool_len(s.len())).transpose()?;
        self.spool.write_all(body.as_bytes())?;
        let mut fingerprint = EndUser::fingerprint_of(&body);
        if let Some(source) = source {
            self.spool.write_all(source.as_bytes())?;
            // Two independent 64-bit hashes combined: collisions stay as unlikely as for one.
            fingerprint ^= EndUser::fingerprint_of(source).rotate_left(17);
        }
        self.index.push(IndexEntry {
            identity: user.identity,
            fingerprint,
            offset: self.offset,
            len,
            source_len,
            row,
            removal: false,
        });
        self.offset += u64::from(len) + u64::from(source_len.unwrap_or(0));
        Ok(())
    }

    /// Adds a user exactly as another store holds it (body, source and fingerprint byte for
    /// byte): for `rosterd copy`.
    pub fn push_stored(&mut self, row: u64, stored: &UserRow) -> Result<(), WriteError> {
        let len = spool_len(stored.body.len())?;
        let source_len = stored.source.as_ref().map(|s| spool_len(s.len())).transpose()?;
        self.spool.write_all(stored.body.as_bytes())?;
        if let Some(source) = &stored.source {
            self.spool.write_all(source.as_bytes())?;
        }
        self.index.push(IndexEntry {
            identity: stored.identity,
            fingerprint: stored.fingerprint,
            offset: self.offset,
            len,
            source_len,
            row,
            removal: false,
        });
        self.offset += u64::from(len) + u64::from(source_len.unwrap_or(0));
        Ok(())
    }

    /// Records that `identity` is gone as of this point of the source: an earlier push of it
    /// is dropped, a later one brings it back. For sources that report removals in line with
    /// the records (a Graph delta round). Needs [`last_push_wins`](Self::last_push_wins): without
    /// it a removal has no effect.
    pub fn push_removal(&mut self, row: u64, identity: Uuid) {
        self.index.push(IndexEntry {
            identity,
            fingerprint: 0,
            offset: self.offset,
            len: 0,
            source_len: None,
            row,
            removal: true,
        });
    }

    /// Sorts, checks, diffs and commits. With `skip_if_unchanged`, an identical set commits
    /// nothing (the sync engine uses this to avoid rewriting a tenant that did not change);
    /// `sync` is stored with the generation, or on its own when nothing was committed.
    pub async fn commit<S: UserStore + ServiceStore + ?Sized>(
        self,
        store: &S,
        customer: &Authorized<CustomerId, Write>,
        sync: Option<domain::SyncState>,
        skip_if_unchanged: bool,
    ) -> Result<ReplaceOutcome, WriteError> {
        let Self {
            spool,
            index,
            last_push_wins,
            expected_base,
            patch,
            ..
        } = self;
        let file = Arc::new(spool.into_inner().map_err(|e| e.into_error())?);
        let index = tokio::task::spawn_blocking(move || final_index(index, last_push_wins, patch))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        if let Some(pair) = index.windows(2).find(|w| w[0].identity == w[1].identity) {
            return Err(WriteError::DuplicateIdentity {
                identity: pair[0].identity,
                first_row: pair[0].row,
                second_row: pair[1].row,
            });
        }

        let ticket = store.begin_generation(customer).await?;
        if let Some(expected) = expected_base {
            if ticket.base_generation != expected {
                return Err(WriteError::Store(StoreError::Conflict(format!(
                    "the users of service {} were derived from generation {expected}, but generation {} \
                     has been committed since",
                    **customer, ticket.base_generation
                ))));
            }
        }
        let touched = match patch {
            true => patch_plan(store, customer, ticket.base_generation, &index).await?,
            false => None,
        };
        let plan = match touched {
            Some(plan) => plan,
            None => {
                let old = store.fingerprints(&customer.read(), ticket.base_generation).await?;
                tokio::task::spawn_blocking(move || Plan::of(&old, &index, patch))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
            }
        };
        let mut outcome = plan.outcome;
        outcome.generation = ticket.generation;

        let identical = outcome.added == 0 && outcome.changed == 0 && outcome.removed == 0;
        if skip_if_unchanged && identical && ticket.base_generation > 0 {
            outcome.generation = ticket.base_generation;
            if let Some(state) = &sync {
                store.update_sync_state(customer, state).await?;
            }
            return Ok(outcome);
        }

        let written = async {
            write_rows(store, &ticket, &file, &plan.writes).await?;
            store.append_chunks(&ticket, &plan.chunks).await?;
            let commit = GenerationCommit {
                user_count: outcome.total,
                sync,
                closed: plan.closed,
                committed_at: chrono::Utc::now(),
            };
            store.commit_generation(&ticket, &commit).await
        }
        .await;
        if let Err(error) = written {
            // Best effort: an abandoned generation is invisible, this only reclaims space.
            if let Err(cleanup) = store.discard_generation(customer, ticket.generation).await {
                tracing::warn!(customer = %**customer, error = %cleanup, "could not discard abandoned generation");
            }
            return Err(error.into());
        }
        outcome.committed = true;
        Ok(outcome)
    }
}

/// What a commit writes: the users to write (added or changed, with their new ordinals), the
/// identities whose base version it closes (changed or removed), the chunk index of the new
/// set, and the counts.
struct Plan {
    writes: Vec<(IndexEntry, i64)>,
    closed: Vec<Uuid>,
    chunks: Vec<ChunkStart>,
    outcome: ReplaceOutcome,
}

impl Plan {
    /// Merge-joins the base generation (identity order) with the pushed entries (identity
    /// order; removal markers only in a patch).
    fn of(old: &[UserFingerprint], new: &[IndexEntry], patch: bool) -> Self {
        let mut plan = Plan {
            writes: Vec::new(),
            closed: Vec::new(),
            chunks: Vec::new(),
            outcome: ReplaceOutcome::default(),
        };
        let mut ordinal = 0i64;
        let mut keep = |plan: &mut Plan, identity: Uuid| {
            ordinal += 1;
            if (ordinal - 1) % CHUNK_USERS == 0 {
                plan.chunks.push(ChunkStart {
                    start_ordinal: ordinal,
                    first_identity: identity,
                });
            }
            ordinal
        };
        let (mut i, mut j) = (0, 0);
        loop {
            let order = match (old.get(i), new.get(j)) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(o), Some(n)) => o.identity.cmp(&n.identity),
            };
            match order {
                Ordering::Less => {
                    // Only in the base: kept by a patch, removed by a whole new set.
                    let identity = old[i].identity;
                    if patch {
                        keep(&mut plan, identity);
                        plan.outcome.unchanged += 1;
                    } else {
                        plan.closed.push(identity);
                        plan.outcome.removed += 1;
                    }
                    i += 1;
                }
                Ordering::Greater => {
                    let entry = new[j];
                    if !entry.removal {
                        let at = keep(&mut plan, entry.identity);
                        plan.writes.push((entry, at));
                        plan.outcome.added += 1;
                    }
                    j += 1;
                }
                Ordering::Equal => {
                    let entry = new[j];
                    if entry.removal {
                        plan.closed.push(entry.identity);
                        plan.outcome.removed += 1;
                    } else {
                        let at = keep(&mut plan, entry.identity);
                        if old[i].fingerprint == entry.fingerprint {
                            plan.outcome.unchanged += 1;
                        } else {
                            plan.writes.push((entry, at));
                            plan.closed.push(entry.identity);
                            plan.outcome.changed += 1;
                        }
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        plan.outcome.total = ordinal;
        plan
    }
}

/// Identities per lookup of a patch's base fingerprints.
const LOOKUP_BATCH: usize = 1_000;

/// The plan of a patch from what it touches alone: the base's fingerprints of the patched
/// identities, the base's size, and its chunk index moved by the users added and removed before
/// each chunk ([`patched_chunks`]). So a 100-user patch costs the same in a tenant of 100,000
/// users as in one of 1,000,000. `None` when the base's size is not recorded or the moved chunks
/// would no longer keep paging constant-time: the caller then plans from every fingerprint of
/// the base, which also evens the chunks out again.
async fn patch_plan<S: UserStore + ?Sized>(
    store: &S,
    customer: &Authorized<CustomerId, Write>,
    base: i64,
    index: &[IndexEntry],
) -> Result<Option<Plan>, StoreError> {
    let read = customer.read();
    let (base_count, base_chunks) = if base == 0 {
        (0, Vec::new())
    } else {
        let Some(info) = store.generation_info(&read, base).await? else {
            return Ok(None);
        };
        (info.user_count, store.chunk_starts(&read, base).await?)
    };
    let identities: Vec<Uuid> = index.iter().map(|entry| entry.identity).collect();
    let mut touched = Vec::with_capacity(identities.len());
    for batch in identities.chunks(LOOKUP_BATCH) {
        touched.extend(store.fingerprints_of(&read, base, batch).await?);
    }
    Ok(Plan::of_patch(&touched, index, base_count, &base_chunks))
}

impl Plan {
    /// A patch's plan from the base versions of the identities it touches (`touched`), the
    /// base's size and its chunk index. The writes' ordinals are not the users' (versions store
    /// none; only the chunk index holds ordinals).
    fn of_patch(
        touched: &[UserFingerprint],
        new: &[IndexEntry],
        base_count: i64,
        base_chunks: &[ChunkStart],
    ) -> Option<Self> {
        if base_count > 0 && base_chunks.is_empty() {
            return None;
        }
        let mut plan = Plan::of(touched, new, true);
        // Every base user the patch does not touch is kept as it is.
        let outcome = &mut plan.outcome;
        outcome.unchanged = base_count - outcome.changed - outcome.removed;
        outcome.total = base_count + outcome.added - outcome.removed;
        // Users added (+1) and removed (-1), in identity order.
        let mut shifts = Vec::new();
        let mut base = touched.iter().peekable();
        for entry in new {
            while base.next_if(|b| b.identity < entry.identity).is_some() {}
            let in_base = base.next_if(|b| b.identity == entry.identity).is_some();
            match (in_base, entry.removal) {
                (false, false) => shifts.push((entry.identity, 1)),
                (true, true) => shifts.push((entry.identity, -1)),
                _ => {}
            }
        }
        plan.chunks = patched_chunks(base_chunks, &shifts, plan.outcome.total)?;
        Some(plan)
    }
}

/// The chunk index of a patched generation from its base's. A chunk starts at one plus the
/// number of users before its first identity, whether or not that identity is still there (a
/// page walks the identities at or after it), so each base chunk keeps its identity and moves
/// by the users added and removed before it; a chunk at ordinal 1 from the nil identity covers
/// users added before the first one. A chunk emptied by removals gives way to the next. `None`
/// when a chunk would hold more than twice [`CHUNK_USERS`] users: a page would walk more than
/// paging promises.
fn patched_chunks(base: &[ChunkStart], shifts: &[(Uuid, i64)], total: i64) -> Option<Vec<ChunkStart>> {
    if total == 0 {
        return Some(Vec::new());
    }
    let mut chunks = Vec::with_capacity(base.len() + 1);
    chunks.push(ChunkStart {
        start_ordinal: 1,
        first_identity: Uuid::nil(),
    });
    let (mut shift, mut next) = (0, 0);
    for chunk in base {
        while let Some((identity, by)) = shifts.get(next) {
            if *identity >= chunk.first_identity {
                break;
            }
            shift += by;
            next += 1;
        }
        let start = chunk.start_ordinal + shift;
        if start > total {
            break;
        }
        while chunks
            .last()
            .is_some_and(|last: &ChunkStart| last.start_ordinal >= start)
        {
            chunks.pop();
        }
        chunks.push(ChunkStart {
            start_ordinal: start,
            first_identity: chunk.first_identity,
        });
    }
    let ends = chunks.iter().skip(1).map(|c| c.start_ordinal).chain([total + 1]);
    let longest = chunks
        .iter()
        .zip(ends)
        .map(|(c, end)| end - c.start_ordinal)
        .max()
        .unwrap_or(0);
    (longest <= 2 * CHUNK_USERS).then_some(chunks)
}

async fn write_rows<S: UserStore + ?Sized>(
    store: &S,
    ticket: &crate::GenerationTicket,
    file: &Arc<File>,
    writes: &[(IndexEntry, i64)],
) -> Result<(), StoreError> {
    for chunk in writes.chunks(WRITE_BATCH) {
        let entries = chunk.to_vec();
        let file = Arc::clone(file);
        let rows = tokio::task::spawn_blocking(move || read_rows(&file, &entries))
            .await
            .map_err(|e| StoreError::backend(format!("spool reader: {e}")))?
            .map_err(|e| StoreError::backend(format!("spool read: {e}")))?;
        store.append_users(ticket, &rows).await?;
    }
    Ok(())
}

fn spool_len(len: usize) -> std::io::Result<u32> {
    u32::try_from(len).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "user record over 4 GiB"))
}

/// The entries to write, in identity order: with `last_push_wins` the last entry of each
/// identity only; removals only in a patch (where they remove a base user).
fn final_index(mut index: Vec<IndexEntry>, last_push_wins: bool, patch: bool) -> Vec<IndexEntry> {
    // Stable on equal identities: pushes of one identity stay in push order.
    index.sort_by_key(|entry| entry.identity);
    if last_push_wins {
        keep_last_of_each(&mut index);
    }
    if !patch {
        index.retain(|entry| !entry.removal);
    }
    index
}

/// Drops all but the last of each run of equal identities (the index is sorted by identity,
/// push order within a run).
fn keep_last_of_each(index: &mut Vec<IndexEntry>) {
    let mut kept: Vec<IndexEntry> = Vec::with_capacity(index.len());
    for entry in index.drain(..) {
        match kept.last_mut() {
            Some(last) if last.identity == entry.identity => *last = entry,
            _ => kept.push(entry),
        }
    }
    *index = kept;
}

fn read_rows(file: &File, entries: &[(IndexEntry, i64)]) -> std::io::Result<Vec<UserRow>> {
    let text =
        |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e));
    let mut rows = Vec::with_capacity(entries.len());
    for (entry, ordinal) in entries {
        let len = entry.len as usize;
        let mut buf = vec![0u8; len + entry.source_len.unwrap_or(0) as usize];
        file.read_exact_at(&mut buf, entry.offset)?;
        let source = match entry.source_len {
            Some(_) => Some(text(buf.split_off(len))?),
            None => None,
        };
        rows.push(UserRow {
            ordinal: *ordinal,
            identity: entry.identity,
            fingerprint: entry.fingerprint,
            body: text(buf)?,
            source,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(n: u128, f: i64) -> UserFingerprint {
        UserFingerprint {
            identity: Uuid::from_u128(n),
            fingerprint: f,
        }
    }

    fn entry(n: u128, f: i64) -> IndexEntry {
        IndexEntry {
            identity: Uuid::from_u128(n),
            fingerprint: f,
            offset: 0,
            len: 0,
            source_len: None,
            row: 0,
            removal: false,
        }
    }

    #[test]
    fn last_push_of_an_identity_wins() {
        let mut index = vec![
            entry(1, 1),
            entry(2, 2),
            entry(2, 20),
            entry(2, 200),
            entry(3, 3),
            entry(3, 30),
        ];
        keep_last_of_each(&mut index);
        let kept: Vec<(u128, i64)> = index.iter().map(|e| (e.identity.as_u128(), e.fingerprint)).collect();
        assert_eq!(kept, vec![(1, 1), (2, 200), (3, 30)]);
    }

    #[test]
    fn a_removal_drops_earlier_pushes_of_its_identity_only() {
        let mut writer = GenerationWriter::new().unwrap();
        writer.last_push_wins();
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        writer.push(1, &EndUser::new(a)).unwrap();
        writer.push(2, &EndUser::new(b)).unwrap();
        writer.push_removal(3, a);
        writer.push_removal(4, b);
        writer.push(5, &EndUser::new(b)).unwrap();
        writer.push_removal(6, c);
        let GenerationWriter { index, .. } = writer;
        let index = final_index(index, true, false);
        let kept: Vec<(Uuid, u64)> = index.iter().map(|e| (e.identity, e.row)).collect();
        assert_eq!(kept, vec![(b, 5)], "a removed, b back after its removal, c never there");
    }

    #[test]
    fn spooled_sources_come_back_with_their_bodies() {
        let mut writer = GenerationWriter::new().unwrap();
        let a = EndUser::new(Uuid::from_u128(2));
        let b = EndUser::new(Uuid::from_u128(1));
        writer.push_with_source(1, &a, Some("{\"id\":\"a\"}")).unwrap();
        writer.push(2, &b).unwrap();
        writer.push_with_source(3, &b, Some("")).unwrap();
        let GenerationWriter { spool, index, .. } = writer;
        let file = spool.into_inner().unwrap();
        let numbered: Vec<(IndexEntry, i64)> = index.iter().copied().zip(1..).collect();
        let rows = read_rows(&file, &numbered).unwrap();
        assert_eq!(rows[0].body, a.render_json());
        assert_eq!(rows[0].source.as_deref(), Some("{\"id\":\"a\"}"));
        assert_eq!(
            (rows[1].body.as_str(), rows[1].source.as_deref()),
            (b.render_json().as_str(), None)
        );
        assert_eq!(rows[2].source.as_deref(), Some(""));
        assert_eq!(rows[1].fingerprint, EndUser::fingerprint_of(&b.render_json()));
        assert_ne!(
            rows[2].fingerprint, rows[1].fingerprint,
            "the source is part of the fingerprint"
        );
    }

    fn counts(plan: &Plan) -> (i64, i64, i64, i64, i64) {
        let o = plan.outcome;
        (o.total, o.added, o.changed, o.removed, o.unchanged)
    }

    fn removal(n: u128) -> IndexEntry {
        IndexEntry {
            removal: true,
            ..entry(n, 0)
        }
    }

    #[test]
    fn a_whole_set_writes_what_changed_and_closes_what_it_replaces() {
        let old = [fp(1, 1), fp(2, 2), fp(4, 4)];
        let new = [entry(2, 2), entry(3, 3), entry(4, 40), entry(5, 5)];
        let plan = Plan::of(&old, &new, false);
        assert_eq!(counts(&plan), (4, 2, 1, 1, 1));
        let written: Vec<(u128, i64)> = plan.writes.iter().map(|(e, at)| (e.identity.as_u128(), *at)).collect();
        assert_eq!(written, vec![(3, 2), (4, 3), (5, 4)], "with their new ordinals");
        let closed: Vec<u128> = plan.closed.iter().map(|id| id.as_u128()).collect();
        assert_eq!(closed, vec![1, 4]);
        assert_eq!(
            plan.chunks,
            vec![ChunkStart {
                start_ordinal: 1,
                first_identity: Uuid::from_u128(2)
            }]
        );
    }

    #[test]
    fn a_patch_keeps_what_it_is_not_told_about() {
        let old = [fp(1, 1), fp(2, 2), fp(4, 4), fp(6, 6)];
        let new = [removal(2), entry(3, 3), entry(4, 40), removal(5)];
        let plan = Plan::of(&old, &new, true);
        assert_eq!(
            counts(&plan),
            (4, 1, 1, 1, 2),
            "1, 3, 4 and 6; 2 removed; 5 was never there"
        );
        let written: Vec<(u128, i64)> = plan.writes.iter().map(|(e, at)| (e.identity.as_u128(), *at)).collect();
        assert_eq!(written, vec![(3, 2), (4, 3)]);
        let closed: Vec<u128> = plan.closed.iter().map(|id| id.as_u128()).collect();
        assert_eq!(closed, vec![2, 4]);
    }

    #[test]
    fn chunks_start_at_every_chunk_size_th_user() {
        let n = CHUNK_USERS as u128 * 2 + 1;
        let new: Vec<IndexEntry> = (1..=n).map(|i| entry(i, 0)).collect();
        let plan = Plan::of(&[], &new, false);
        let starts: Vec<(i64, u128)> = plan
            .chunks
            .iter()
            .map(|c| (c.start_ordinal, c.first_identity.as_u128()))
            .collect();
        let size = CHUNK_USERS as u128;
        assert_eq!(
            starts,
            vec![(1, 1), (CHUNK_USERS + 1, size + 1), (2 * CHUNK_USERS + 1, 2 * size + 1)]
        );
    }

    /// A patch planned from what it touches agrees with one planned from the whole base, and
    /// every moved chunk starts at one plus the number of users before its identity.
    #[test]
    fn patch_plans_from_touched_users_agree_with_whole_base_plans() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = move |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let mut planned = 0;
        for round in 0..200 {
            let base_size = [0, 1, 127, 128, 129, 1_000][round % 6] + random(300);
            let base: Vec<UserFingerprint> = (0..base_size).map(|i| fp(u128::from(i) * 4 + 2, 1)).collect();
            let whole = Plan::of(
                &[],
                &base.iter().map(|f| entry(f.identity.as_u128(), 1)).collect::<Vec<_>>(),
                false,
            );
            let mut new = Vec::new();
            for _ in 0..random(60) {
                let at = u128::from(random(base_size * 4 + 8));
                let mut touched = entry(at, 1 + random(2) as i64);
                touched.removal = random(3) == 0;
                new.push(touched);
            }
            new.sort_by_key(|e| e.identity);
            new.dedup_by_key(|e| e.identity);
            let touched: Vec<UserFingerprint> = base
                .iter()
                .filter(|b| new.iter().any(|n| n.identity == b.identity))
                .copied()
                .collect();
            let expected = Plan::of(&base, &new, true);
            let Some(plan) = Plan::of_patch(&touched, &new, base_size as i64, &whole.chunks) else {
                continue;
            };
            planned += 1;
            assert_eq!(plan.outcome, expected.outcome, "round {round}");
            assert_eq!(plan.closed, expected.closed);
            let identities: Vec<Uuid> = plan.writes.iter().map(|(e, _)| e.identity).collect();
            let wanted: Vec<Uuid> = expected.writes.iter().map(|(e, _)| e.identity).collect();
            assert_eq!(identities, wanted);
            // The users of the patched generation, and where each chunk must start.
            let mut users: Vec<Uuid> = base.iter().map(|b| b.identity).collect();
            for n in &new {
                users.retain(|u| *u != n.identity);
                if !n.removal {
                    users.push(n.identity);
                }
            }
            users.sort();
            assert_eq!(users.len() as i64, plan.outcome.total);
            if users.is_empty() {
                assert!(plan.chunks.is_empty());
            } else {
                assert_eq!(plan.chunks[0].start_ordinal, 1, "round {round}");
            }
            for chunk in &plan.chunks {
                let before = users.iter().filter(|u| **u < chunk.first_identity).count() as i64;
                assert_eq!(chunk.start_ordinal, before + 1, "round {round}: {chunk:?}");
                assert!(chunk.start_ordinal <= plan.outcome.total);
            }
            assert!(plan.chunks.windows(2).all(|w| w[0].start_ordinal < w[1].start_ordinal));
        }
        assert!(
            planned > 150,
            "only {planned} of 200 patches were planned from what they touch"
        );
    }

    #[test]
    fn a_patch_that_crowds_a_chunk_is_planned_from_the_whole_base() {
        let base: Vec<IndexEntry> = (0..256u128).map(|i| entry(i * 1_000, 1)).collect();
        let chunks = Plan::of(&[], &base, false).chunks;
        // 300 users added between the first two base users: one chunk of over 256.
        let crowd: Vec<IndexEntry> = (1..=300u128).map(|i| entry(i, 1)).collect();
        assert!(Plan::of_patch(&[], &crowd, 256, &chunks).is_none());
        assert!(Plan::of_patch(&[], &crowd[..100], 256, &chunks).is_some());
        assert!(
            Plan::of_patch(&[], &crowd[..1], 256, &[]).is_none(),
            "a base without its chunks"
        );
    }

    #[test]
    fn plans_of_empty_sets() {
        let plan = Plan::of(&[], &[entry(1, 1)], false);
        assert_eq!(counts(&plan), (1, 1, 0, 0, 0));
        let plan = Plan::of(&[fp(1, 1)], &[], false);
        assert_eq!(counts(&plan), (0, 0, 0, 1, 0));
        assert!(plan.chunks.is_empty());
        let plan = Plan::of(&[fp(1, 1)], &[], true);
        assert_eq!(counts(&plan), (1, 0, 0, 0, 1));
    }
}
