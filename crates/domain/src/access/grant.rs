//! The proof of an authorization decision (`Authorized`), the envelope stored values travel in
//! until someone is authorized to see them (`Unchecked`), and the explicit, named system scope
//! the sync engine and the command line act with (`SystemScope`).
//!
//! `Authorized` has private fields and no public constructor: it is made here, by the rules in
//! `rules.rs`, or by a `SystemScope` someone wrote down on purpose. Every store operation that
//! reads or writes one customer's data takes one, so an unchecked path does not compile.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use super::rules::Principal;
use super::Role;

mod sealed {
    pub trait Sealed {}
}

/// What an authorization allows: [`Read`] or [`Write`].
pub trait Access: sealed::Sealed + Send + Sync + 'static {
    /// The weakest role that gets this access.
    const NEEDS: Role;
}

/// Reading (every role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read;

/// Changing (Operator and Admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write;

impl sealed::Sealed for Read {}
impl sealed::Sealed for Write {}

impl Access for Read {
    const NEEDS: Role = Role::Monitor;
}

impl Access for Write {
    const NEEDS: Role = Role::Operator;
}

/// `value` (a customer id, a new service, a client to create or revoke) after a principal was
/// authorized for access `A` to it.
pub struct Authorized<T, A: Access = Read> {
    value: T,
    access: PhantomData<fn() -> A>,
}

impl<T, A: Access> Authorized<T, A> {
    /// Only this module and the rules make these.
    pub(super) fn new(value: T) -> Self {
        Self {
            value,
            access: PhantomData,
        }
    }

    pub fn get(&self) -> &T {
        &self.value
    }

    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Clone> Authorized<T, Write> {
    /// What may be written may be read.
    pub fn read(&self) -> Authorized<T, Read> {
        Authorized::new(self.value.clone())
    }
}

impl<T, A: Access> Deref for Authorized<T, A> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Clone, A: Access> Clone for Authorized<T, A> {
    fn clone(&self) -> Self {
        Self::new(self.value.clone())
    }
}

impl<T: Copy, A: Access> Copy for Authorized<T, A> {}

impl<T: fmt::Debug, A: Access> fmt::Debug for Authorized<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorized").field(&self.value).finish()
    }
}

/// A stored value nobody has been authorized to see yet. Backends wrap what they read for an
/// authorization (a service, a task); only the rules (or a system scope) open it.
pub struct Unchecked<T>(T);

impl<T> Unchecked<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub(super) fn open(self) -> T {
        self.0
    }

    pub(super) fn peek(&self) -> &T {
        &self.0
    }
}

/// Copying a sealed value keeps it sealed (a cache may hold one and hand out copies).
impl<T: Clone> Clone for Unchecked<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> fmt::Debug for Unchecked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unchecked(..)")
    }
}

/// rosterd itself, acting for no API client: the sync engine, the command line (whose user has
/// the database and the key file anyway), installation copies, the demo. Named, so that logs and
/// code reviews show which part of rosterd bypassed client authorization, and explicit, so that
/// nothing gets it by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemScope {
    name: &'static str,
}

impl SystemScope {
    pub const fn new(name: &'static str) -> Self {
        Self { name }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Full access to `value`.
    pub fn grant<T>(&self, value: T) -> Authorized<T, Write> {
        Authorized::new(value)
    }

    /// Opens a stored value.
    pub fn open<T>(&self, unchecked: Unchecked<T>) -> T {
        unchecked.open()
    }

    /// This scope as a principal (role Admin, provider scope).
    pub fn principal(&self) -> Principal {
        Principal::System(*self)
    }
}
