//! The directory index: what search, filters and lookup by name run over, kept in memory per
//! (customer, generation). A generation never changes once committed, so an index is built
//! once — one keyset scan of the generation (`UserStore::users_after`), each body parsed — and
//! is right until the service row names a newer generation, which replaces it.
//!
//! Columnar and compact (about 120 bytes a user with typical names; `docs/decisions.md`):
//! - the identities, in `Identity` order (the order of the generation);
//! - one text arena of the folded `WebName`, `UserPrincipalName` and `SipAddress` of every
//!   user, each field closed by its own separator byte, searched with one `memmem` pass, so a
//!   substring search costs one scan of the arena and never crosses from one field or user into
//!   the next (a search text holds no control characters);
//! - one arena of the digits of every `LineURI`;
//! - the filter columns dictionary-coded (`u32` per user and column; code 0 is empty or null)
//!   and the two booleans as bits.
//!
//! Bounds: indexes of at most `max_users` users in total are kept (least recently used
//! customer first out); a larger customer gets an index for the request only. At most
//! [`BUILDS_AT_ONCE`] builds and [`SCANS_AT_ONCE`] scans run at once. Matching results (identities) are kept per
//! (customer, generation, normalized query) in a cache bounded by bytes, so a repeated query
//! never scans again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use domain::search::{fold, has_line_uri, line_digits, Filter, TextColumn, UserKey, UserQuery};
use domain::{CustomerId, EndUser};
use memchr::memmem;
use tokio::sync::{OnceCell, Semaphore};
use uuid::Uuid;

/// Index builds running at once (each scans a whole generation).
pub(crate) const BUILDS_AT_ONCE: usize = 2;
/// Queries matched against an index at once (each may scan a whole index; a repeat is cached).
pub(crate) const SCANS_AT_ONCE: usize = 4;

/// Closes a user's `WebName`, `UserPrincipalName`, `SipAddress` in the text arena.
const END_NAME: u8 = 0x1f;
const END_UPN: u8 = 0x1e;
const END_SIP: u8 = 0x1d;
/// Closes a user's digits in the digit arena.
const END_DIGITS: u8 = b'|';

const EV: u8 = 1;
const LINE: u8 = 2;

/// One generation of one customer, ready to be searched.
pub struct DirectoryIndex {
    generation: i64,
    identities: Vec<Uuid>,
    text: Vec<u8>,
    /// End (exclusive) of each user's record in `text`.
    text_ends: Vec<u32>,
    digits: Vec<u8>,
    digit_ends: Vec<u32>,
    /// Per [`TextColumn::ALL`]: each user's code, and the folded value of each code.
    columns: Vec<Vec<u32>>,
    dictionaries: Vec<HashMap<String, u32>>,
    flags: Vec<u8>,
}

/// Builds an index from users arriving in identity order.
pub struct IndexBuilder {
    index: DirectoryIndex,
}

/// The arena outgrew 32-bit offsets (billions of bytes of names).
#[derive(Debug, thiserror::Error)]
#[error("the directory index of one customer is limited to 4 GiB of names")]
pub struct IndexTooLarge;

fn clean_into(out: &mut Vec<u8>, value: Option<&str>) {
    if let Some(value) = value {
        let folded = fold(value);
        // Control characters would forge a separator; a search never holds one anyway.
        out.extend(folded.bytes().map(|b| if b < 0x20 || b == 0x7f { b' ' } else { b }));
    }
}

fn offset(len: usize) -> Result<u32, IndexTooLarge> {
    u32::try_from(len).map_err(|_| IndexTooLarge)
}

impl IndexBuilder {
    pub fn new(generation: i64, expected_users: usize) -> Self {
        let n = expected_users.min(10_000_000);
        Self {
            index: DirectoryIndex {
                generation,
                identities: Vec::with_capacity(n),
                text: Vec::with_capacity(n * 64),
                text_ends: Vec::with_capacity(n),
                digits: Vec::with_capacity(n * 4),
                digit_ends: Vec::with_capacity(n),
                columns: TextColumn::ALL.iter().map(|_| Vec::with_capacity(n)).collect(),
                dictionaries: TextColumn::ALL
                    .iter()
                    .map(|_| HashMap::from([(String::new(), 0)]))
                    .collect(),
                flags: Vec::with_capacity(n),
            },
        }
    }

    pub fn push(&mut self, user: &EndUser) -> Result<(), IndexTooLarge> {
        let index = &mut self.index;
        index.identities.push(user.identity);
        clean_into(&mut index.text, user.web_name.as_deref());
        index.text.push(END_NAME);
        clean_into(&mut index.text, user.user_principal_name.as_deref());
        index.text.push(END_UPN);
        clean_into(&mut index.text, user.sip_address.as_deref());
        index.text.push(END_SIP);
        index.text_ends.push(offset(index.text.len())?);
        if let Some(digits) = line_digits(user.line_uri.as_deref()) {
            index.digits.extend_from_slice(digits.as_bytes());
        }
        index.digits.push(END_DIGITS);
        index.digit_ends.push(offset(index.digits.len())?);
        for (i, column) in TextColumn::ALL.iter().enumerate() {
            let value = fold(column.of(user).unwrap_or("").trim());
            let dictionary = &mut index.dictionaries[i];
            let next = dictionary.len() as u32;
            let code = *dictionary.entry(value).or_insert(next);
            index.columns[i].push(code);
        }
        let mut flags = 0;
        if user.enterprise_voice_enabled.unwrap_or(false) {
            flags |= EV;
        }
        if has_line_uri(user.line_uri.as_deref()) {
            flags |= LINE;
        }
        index.flags.push(flags);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.index.identities.len()
    }

    pub fn finish(mut self) -> DirectoryIndex {
        let index = &mut self.index;
        index.identities.shrink_to_fit();
        index.text.shrink_to_fit();
        index.text_ends.shrink_to_fit();
        index.digits.shrink_to_fit();
        index.digit_ends.shrink_to_fit();
        index.flags.shrink_to_fit();
        for column in &mut index.columns {
            column.shrink_to_fit();
        }
        self.index
    }
}

/// Positions (user numbers) whose record in `arena` holds `needle`, ascending, each once.
fn hits(arena: &[u8], ends: &[u32], needle: &[u8]) -> Vec<u32> {
    let mut found = Vec::new();
    let mut user = 0usize;
    for at in memmem::find_iter(arena, needle) {
        while user < ends.len() && (ends[user] as usize) <= at {
            user += 1;
        }
        if user < ends.len() && found.last() != Some(&(user as u32)) {
            found.push(user as u32);
        }
    }
    found
}

/// Union of two ascending lists.
fn union(a: Vec<u32>, b: Vec<u32>) -> Vec<u32> {
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                out.push(*x);
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                out.push(*x);
                i += 1;
            }
            (Some(x), None) => {
                out.push(*x);
                i += 1;
            }
            (_, Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// A filter compiled against one index.
enum Check {
    Flag(u8, bool),
    Code(usize, u32),
    /// A value no user has.
    Nothing,
}

impl DirectoryIndex {
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// Bytes held, roughly (what `--search-index-users` bounds, measured per user).
    pub fn heap_bytes(&self) -> usize {
        let dictionaries: usize = self
            .dictionaries
            .iter()
            .map(|d| d.keys().map(|k| k.len() + 48).sum::<usize>())
            .sum();
        self.identities.capacity() * 16
            + self.text.capacity()
            + self.text_ends.capacity() * 4
            + self.digits.capacity()
            + self.digit_ends.capacity() * 4
            + self.columns.iter().map(|c| c.capacity() * 4).sum::<usize>()
            + self.flags.capacity()
            + dictionaries
    }

    fn checks(&self, filters: &[Filter]) -> Vec<Check> {
        filters
            .iter()
            .map(|filter| match filter {
                Filter::EnterpriseVoiceEnabled(wanted) => Check::Flag(EV, *wanted),
                Filter::HasLineUri(wanted) => Check::Flag(LINE, *wanted),
                Filter::Text(column, value) => {
                    let i = TextColumn::ALL.iter().position(|c| c == column).unwrap_or(0);
                    match self.dictionaries[i].get(value) {
                        Some(code) => Check::Code(i, *code),
                        None => Check::Nothing,
                    }
                }
            })
            .collect()
    }

    fn passes(&self, checks: &[Check], user: usize) -> bool {
        checks.iter().all(|check| match check {
            Check::Flag(bit, wanted) => (self.flags[user] & bit != 0) == *wanted,
            Check::Code(column, code) => self.columns[*column][user] == *code,
            Check::Nothing => false,
        })
    }

    /// The identities of the users `query` matches, in identity order.
    pub fn matching(&self, query: &UserQuery) -> Vec<Uuid> {
        let checks = self.checks(query.filters());
        if checks.iter().any(|c| matches!(c, Check::Nothing)) {
            return Vec::new();
        }
        let keep = |user: usize| self.passes(&checks, user).then(|| self.identities[user]);
        match query.search() {
            Some(search) => {
                let mut candidates = hits(&self.text, &self.text_ends, search.as_bytes());
                if let Some(digits) = query.search_digits() {
                    candidates = union(candidates, hits(&self.digits, &self.digit_ends, digits.as_bytes()));
                }
                candidates.into_iter().filter_map(|u| keep(u as usize)).collect()
            }
            None => (0..self.identities.len()).filter_map(keep).collect(),
        }
    }

    /// The first user (in identity order) whose UPN or SIP address is `key`.
    pub fn find(&self, key: &UserKey) -> Option<Uuid> {
        let name = match key {
            UserKey::Identity(id) => return self.identities.binary_search(id).ok().map(|_| *id),
            UserKey::Name(name) => name.as_bytes(),
        };
        let with = |before: &[u8], middle: &[u8], after: u8| {
            let mut needle = before.to_vec();
            needle.extend_from_slice(middle);
            needle.extend_from_slice(name);
            needle.push(after);
            hits(&self.text, &self.text_ends, &needle).first().copied()
        };
        [
            with(&[END_NAME], b"", END_UPN),
            with(&[END_UPN], b"sip:", END_SIP),
            with(&[END_UPN], b"", END_SIP),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|user| self.identities[user as usize])
    }
}

/// Where one customer's index stands.
struct Slot {
    generation: i64,
    users: usize,
    last_used: u64,
    cell: Arc<OnceCell<Arc<DirectoryIndex>>>,
}

#[derive(Default)]
struct Slots {
    by_customer: HashMap<CustomerId, Slot>,
    users: usize,
    tick: u64,
}

/// What a request gets for a (customer, generation).
pub(crate) enum Lease {
    /// The cell to fill (or already filled) for this generation.
    Cell(Arc<OnceCell<Arc<DirectoryIndex>>>),
    /// The process already holds a newer generation than the request read: read the service
    /// row again.
    Stale,
}

/// Cached results of one query.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ResultKey {
    customer: CustomerId,
    generation: i64,
    query: UserQuery,
}

/// Every customer's index, and the results of recent queries.
pub(crate) struct Directories {
    max_users: usize,
    slots: Mutex<Slots>,
    pub(crate) builds: Semaphore,
    pub(crate) scans: Semaphore,
    results: moka::sync::Cache<ResultKey, Arc<[Uuid]>>,
}

impl Directories {
    pub(crate) fn new(max_users: usize, result_bytes: u64) -> Self {
        Self {
            max_users,
            slots: Mutex::new(Slots::default()),
            builds: Semaphore::new(BUILDS_AT_ONCE),
            scans: Semaphore::new(SCANS_AT_ONCE),
            results: moka::sync::Cache::builder()
                .max_capacity(result_bytes)
                .weigher(|_: &ResultKey, v: &Arc<[Uuid]>| {
                    u32::try_from(v.len().saturating_mul(16).saturating_add(128)).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    /// The index cell of `customer` at `generation` (a served generation of `users` users).
    pub(crate) fn lease(&self, customer: CustomerId, generation: i64, users: usize) -> Lease {
        let transient = || Lease::Cell(Arc::new(OnceCell::new()));
        if users > self.max_users {
            return transient();
        }
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.tick += 1;
        let tick = slots.tick;
        if let Some(slot) = slots.by_customer.get_mut(&customer) {
            if slot.generation == generation {
                slot.last_used = tick;
                return Lease::Cell(Arc::clone(&slot.cell));
            }
            if slot.generation > generation {
                return Lease::Stale;
            }
        }
        // A newer generation: the old index goes.
        if let Some(old) = slots.by_customer.remove(&customer) {
            slots.users -= old.users;
        }
        while slots.users + users > self.max_users {
            let Some(oldest) = slots
                .by_customer
                .iter()
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            if let Some(old) = slots.by_customer.remove(&oldest) {
                slots.users -= old.users;
            }
        }
        let cell = Arc::new(OnceCell::new());
        slots.users += users;
        slots.by_customer.insert(
            customer,
            Slot {
                generation,
                users,
                last_used: tick,
                cell: Arc::clone(&cell),
            },
        );
        Lease::Cell(cell)
    }

    /// Forgets the index of `customer` at `generation` (it could not be read whole).
    pub(crate) fn drop_index(&self, customer: CustomerId, generation: i64) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots
            .by_customer
            .get(&customer)
            .is_some_and(|s| s.generation == generation)
        {
            if let Some(old) = slots.by_customer.remove(&customer) {
                slots.users -= old.users;
            }
        }
    }

    /// Bytes held by the indexes built so far.
    pub(crate) fn indexed_bytes(&self) -> usize {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .by_customer
            .values()
            .filter_map(|slot| slot.cell.get())
            .map(|index| index.heap_bytes())
            .sum()
    }

    /// Users indexed now, over every customer.
    pub(crate) fn indexed_users(&self) -> usize {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).users
    }

    pub(crate) fn cached(&self, customer: CustomerId, generation: i64, query: &UserQuery) -> Option<Arc<[Uuid]>> {
        self.results.get(&ResultKey {
            customer,
            generation,
            query: query.clone(),
        })
    }

    pub(crate) fn remember(&self, customer: CustomerId, generation: i64, query: &UserQuery, found: Arc<[Uuid]>) {
        self.results.insert(
            ResultKey {
                customer,
                generation,
                query: query.clone(),
            },
            found,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128, name: &str, line: Option<&str>, department: Option<&str>, ev: Option<bool>) -> EndUser {
        let mut user = EndUser::new(Uuid::from_u128(n));
        user.web_name = Some(name.to_string());
        user.user_principal_name = Some(format!("{}@contoso.com", name.to_lowercase().replace(' ', ".")));
        user.sip_address = Some(format!("sip:{}@contoso.com", name.to_lowercase().replace(' ', ".")));
        user.line_uri = line.map(str::to_string);
        user.department = department.map(str::to_string);
        user.enterprise_voice_enabled = ev;
        user
    }

    fn sample() -> Vec<EndUser> {
        vec![
            user(1, "Ada Lovelace", Some("tel:+14255550123"), Some("Sales"), Some(true)),
            user(2, "Bob Builder", None, None, Some(false)),
            user(
                3,
                "Carol\u{1f}Evil",
                Some("tel:+1 (425) 555-9999;ext=12"),
                Some("sales"),
                None,
            ),
            user(4, "Dave Ad", Some(""), Some("Support"), Some(true)),
            user(5, "ÉMILE Zola", Some("tel:+3120555"), Some(""), Some(false)),
        ]
    }

    fn index(users: &[EndUser]) -> DirectoryIndex {
        let mut builder = IndexBuilder::new(1, users.len());
        for u in users {
            builder.push(u).unwrap();
        }
        builder.finish()
    }

    fn q(pairs: &[(&str, &str)]) -> UserQuery {
        UserQuery::parse(|name| {
            pairs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        })
        .unwrap()
    }

    /// The index answers exactly what the reference rule (`UserQuery::matches`) says.
    #[test]
    fn index_agrees_with_the_rule() {
        let users = sample();
        let idx = index(&users);
        let queries: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![("Search", "ad")],
            vec![("Search", "AD")],
            vec![("Search", "émile")],
            vec![("Search", "+1 425 555")],
            vec![("Search", "555")],
            vec![("Search", "1425555")],
            vec![("Search", "evil")],
            vec![("Search", "com\u{20}")],
            vec![("Search", "lovelace@")],
            vec![("Search", "ace@cont")],
            vec![("Department", "SALES")],
            vec![("Department", "")],
            vec![("Department", "nobody")],
            vec![("HasLineUri", "true")],
            vec![("HasLineUri", "false")],
            vec![("EnterpriseVoiceEnabled", "false")],
            vec![("EnterpriseVoiceEnabled", "true"), ("Search", "a")],
            vec![("OnlineVoiceRoutingPolicy", "")],
            vec![("UsageLocation", "")],
            vec![("Search", "zola"), ("Department", "")],
        ];
        for pairs in queries {
            let query = q(&pairs);
            let expected: Vec<Uuid> = users.iter().filter(|u| query.matches(u)).map(|u| u.identity).collect();
            assert_eq!(idx.matching(&query), expected, "{pairs:?}");
        }
    }

    #[test]
    fn a_search_never_spans_two_fields_or_two_users() {
        let idx = index(&sample());
        // "lovelace" ends the name and "ada.lovelace" starts the UPN: no match across them.
        assert!(idx.matching(&q(&[("Search", "lovelace ada")])).is_empty());
        // The last digits of one number and the first of the next user's.
        assert!(idx.matching(&q(&[("Search", "0123 1425")])).is_empty());
        assert!(idx.matching(&q(&[("Search", "01231425")])).is_empty());
    }

    #[test]
    fn keys_find_upn_or_sip_exactly() {
        let users = sample();
        let idx = index(&users);
        for key in [
            "ada.lovelace@contoso.com",
            "SIP:ada.lovelace@contoso.com",
            "Ada.Lovelace@Contoso.com",
        ] {
            assert_eq!(
                idx.find(&UserKey::parse(key).unwrap()),
                Some(users[0].identity),
                "{key}"
            );
        }
        assert_eq!(idx.find(&UserKey::parse("lovelace@contoso.com").unwrap()), None);
        assert_eq!(idx.find(&UserKey::parse("ada.lovelace@contoso.co").unwrap()), None);
        assert_eq!(
            idx.find(&UserKey::Identity(Uuid::from_u128(2))),
            Some(Uuid::from_u128(2))
        );
        assert_eq!(idx.find(&UserKey::Identity(Uuid::from_u128(9))), None);
    }

    #[test]
    fn indexes_are_bounded_by_users_least_recently_used_first() {
        let dirs = Directories::new(100, 1 << 20);
        let a = CustomerId(Uuid::from_u128(1));
        let b = CustomerId(Uuid::from_u128(2));
        let c = CustomerId(Uuid::from_u128(3));
        assert!(matches!(dirs.lease(a, 1, 40), Lease::Cell(_)));
        assert!(matches!(dirs.lease(b, 1, 40), Lease::Cell(_)));
        assert_eq!(dirs.indexed_users(), 80);
        dirs.lease(a, 1, 40); // a is now more recent than b
        dirs.lease(c, 1, 40); // b goes
        assert_eq!(dirs.indexed_users(), 80);
        let slots = dirs.slots.lock().unwrap();
        assert!(slots.by_customer.contains_key(&a) && slots.by_customer.contains_key(&c));
        assert!(!slots.by_customer.contains_key(&b));
        drop(slots);
        // A newer generation replaces the old; an older one is stale.
        dirs.lease(a, 2, 10);
        assert_eq!(dirs.indexed_users(), 50);
        assert!(matches!(dirs.lease(a, 1, 10), Lease::Stale));
        // Larger than the bound: an index for the request only.
        dirs.lease(b, 1, 1000);
        assert_eq!(dirs.indexed_users(), 50);
        dirs.drop_index(a, 2);
        assert_eq!(dirs.indexed_users(), 40);
    }

    #[test]
    fn memory_per_user_is_small() {
        let users: Vec<EndUser> = (0..10_000u128)
            .map(|n| {
                user(
                    n,
                    &format!("User Number {n}"),
                    Some(&format!("tel:+3120{n:07}")),
                    Some("Sales"),
                    Some(true),
                )
            })
            .collect();
        let idx = index(&users);
        let per_user = idx.heap_bytes() / users.len();
        assert!(per_user < 200, "{per_user} bytes per user");
    }
}
