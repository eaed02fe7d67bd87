//! Streams users out of a JSON body: a top-level array, a page envelope whose `data` is the array,
//! or one user object (what `ConvertTo-Json` writes for a single user).
//!
//! Serde visitors pull one array element at a time and hand the mapped user to the sink before
//! reading the next, so memory holds one user, never the array. Only the keys the mappers know are
//! materialised; everything else, nested objects included, is skipped with `IgnoredAny`. A row or
//! sink error aborts the parse through a serde error, and the real error waits in `State::failure`.
//! A [`RowBudget`] meters every user (and the top-level object) so an oversized one is refused
//! before it is in memory.

use std::fmt;
use std::io::{BufReader, Read};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::Value;

use super::body::Body;
use super::budget::{Metered, RowBudget};
use super::error::{ImportError, Location, RowError};
use super::fields::{Cell, Fields, Key, Shape};
use crate::end_user::EndUser;

/// serde_json reads its input a byte at a time, so the body is buffered in front of it.
const READ_BUFFER: usize = 64 * 1024;

const WHAT_TO_SEND: &str = "send an array of users, a page envelope whose \"data\" is that array, \
                            or one user object";

pub(crate) fn parse<R, F, E>(mut body: Body<R>, sink: &mut F) -> Result<u64, ImportError<E>>
where
    R: Read,
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    let budget = Rc::new(RowBudget::default());
    // A top-level scalar is one row too (a string could be endless).
    budget.begin_row();
    let mut state = State {
        sink,
        rows: 0,
        failure: None,
        budget: Rc::clone(&budget),
        location: Location::JsonArray,
    };
    let outcome = {
        let reader = Metered::new(BufReader::with_capacity(READ_BUFFER, &mut body), Rc::clone(&budget));
        let mut de = serde_json::Deserializer::from_reader(reader);
        de.deserialize_any(TopVisitor { state: &mut state })
            .and_then(|()| de.end())
    };
    match outcome {
        Ok(()) => Ok(state.rows),
        Err(err) => Err(match state.failure.take() {
            Some(failure) => failure,
            None if budget.exceeded() => RowError::too_large(budget.field()).at(state.rows + 1, state.location),
            None => classify(err, body.saw_content()),
        }),
    }
}

fn classify<E>(err: serde_json::Error, saw_content: bool) -> ImportError<E> {
    let line = err.line() as u64;
    let column = Some(err.column() as u64);
    match err.classify() {
        Category::Io => ImportError::Io(err.into()),
        Category::Eof if !saw_content => ImportError::Empty,
        Category::Eof => ImportError::Syntax {
            line,
            column,
            message: format!("the JSON body ended early: is it truncated? ({})", bare_message(&err)),
        },
        Category::Syntax | Category::Data => ImportError::Syntax {
            line,
            column,
            message: format!("malformed JSON: {}", bare_message(&err)),
        },
    }
}

/// serde_json's message without its " at line L column C" tail, which the error carries apart.
fn bare_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let tail = format!(" at line {} column {}", err.line(), err.column());
    full.strip_suffix(&tail).unwrap_or(&full).to_string()
}

struct State<'s, F, E> {
    sink: &'s mut F,
    rows: u64,
    failure: Option<ImportError<E>>,
    budget: Rc<RowBudget>,
    /// Where the user being read sits: an array element, or the single top-level object.
    location: Location,
}

impl<F, E> State<'_, F, E>
where
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    fn accept(&mut self, element: Element, location: Location) -> Result<(), ImportError<E>> {
        self.rows += 1;
        let row = self.rows;
        let mut user = match element {
            Element::User(user) => user,
            Element::Other(kind) => {
                return Err(RowError::whole(format!("a user must be a JSON object, got {kind}")).at(row, location))
            }
        };
        let shape = user.shape();
        let end_user = super::map_user(shape, &mut *user).map_err(|e| e.at(row, location))?;
        (self.sink)(row, end_user).map_err(ImportError::Sink)
    }

    /// Parks the real error and returns the serde error that unwinds the parse.
    fn fail<Er: de::Error>(&mut self, failure: ImportError<E>) -> Er {
        self.failure = Some(failure);
        Er::custom("import stopped")
    }
}

fn stream<'de, A, F, E>(state: &mut State<'_, F, E>, mut seq: A) -> Result<(), A::Error>
where
    A: SeqAccess<'de>,
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    let budget = Rc::clone(&state.budget);
    while let Some(element) = seq.next_element_seed(ElementSeed { budget: &budget })? {
        if let Err(failure) = state.accept(element, Location::JsonArray) {
            return Err(state.fail(failure));
        }
    }
    Ok(())
}

/// The known keys of one user object; absent keys are `None`, JSON `null` is `Some(Null)`.
struct JsonUser {
    slots: [Option<Value>; Key::COUNT],
}

impl JsonUser {
    fn new() -> Box<Self> {
        Box::new(Self {
            slots: std::array::from_fn(|_| None),
        })
    }

    fn shape(&self) -> Shape {
        Shape::detect(|key| self.slots[key.index()].is_some())
    }

    fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    fn read_entry<'de, A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<(), A::Error> {
        // A repeated key (perhaps in another case) keeps the last value, as serde_json's maps do.
        self.slots[key.index()] = Some(map.next_value()?);
        Ok(())
    }
}

impl Fields<'static> for JsonUser {
    fn take(&mut self, key: Key) -> Cell<'static> {
        match self.slots[key.index()].take() {
            Some(value) => Cell::Json(value),
            None => Cell::Absent,
        }
    }
}

/// One array element: a user object, or what else was found there.
enum Element {
    User(Box<JsonUser>),
    Other(&'static str),
}

enum KeyKind {
    Data,
    User(Key),
    Other,
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = KeyKind;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<KeyKind, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = KeyKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_str<Er: de::Error>(self, name: &str) -> Result<KeyKind, Er> {
        Ok(if name.eq_ignore_ascii_case("data") {
            KeyKind::Data
        } else {
            Key::lookup(name).map_or(KeyKind::Other, KeyKind::User)
        })
    }
}

struct ElementSeed<'b> {
    budget: &'b RowBudget,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = Element;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Element, D::Error> {
        self.budget.begin_row();
        deserializer.deserialize_any(ElementVisitor { budget: self.budget })
    }
}

struct ElementVisitor<'b> {
    budget: &'b RowBudget,
}

impl<'de> Visitor<'de> for ElementVisitor<'_> {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let mut user = JsonUser::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                KeyKind::User(key) => {
                    self.budget.set_field(Some(key.name()));
                    user.read_entry(key, &mut map)?;
                }
                KeyKind::Data | KeyKind::Other => {
                    self.budget.set_field(None);
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.budget.set_field(None);
        }
        Ok(Element::User(user))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Element::Other("an array"))
    }

    fn visit_bool<Er: de::Error>(self, _: bool) -> Result<Element, Er> {
        Ok(Element::Other("a boolean"))
    }

    fn visit_i64<Er: de::Error>(self, _: i64) -> Result<Element, Er> {
        Ok(Element::Other("a number"))
    }

    fn visit_u64<Er: de::Error>(self, _: u64) -> Result<Element, Er> {
        Ok(Element::Other("a number"))
    }

    fn visit_f64<Er: de::Error>(self, _: f64) -> Result<Element, Er> {
        Ok(Element::Other("a number"))
    }

    fn visit_str<Er: de::Error>(self, _: &str) -> Result<Element, Er> {
        Ok(Element::Other("a string"))
    }

    fn visit_unit<Er: de::Error>(self) -> Result<Element, Er> {
        Ok(Element::Other("null"))
    }
}

/// The value of an envelope's `data`: streamed when it is an array, skipped otherwise.
struct DataSeed<'a, 's, F, E> {
    state: &'a mut State<'s, F, E>,
}

impl<'de, F, E> DeserializeSeed<'de> for DataSeed<'_, '_, F, E>
where
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    /// Whether an array was streamed.
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F, E> Visitor<'de> for DataSeed<'_, '_, F, E>
where
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of users")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        stream(self.state, seq)?;
        Ok(true)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_bool<Er: de::Error>(self, _: bool) -> Result<bool, Er> {
        Ok(false)
    }

    fn visit_i64<Er: de::Error>(self, _: i64) -> Result<bool, Er> {
        Ok(false)
    }

    fn visit_u64<Er: de::Error>(self, _: u64) -> Result<bool, Er> {
        Ok(false)
    }

    fn visit_f64<Er: de::Error>(self, _: f64) -> Result<bool, Er> {
        Ok(false)
    }

    fn visit_str<Er: de::Error>(self, _: &str) -> Result<bool, Er> {
        Ok(false)
    }

    fn visit_unit<Er: de::Error>(self) -> Result<bool, Er> {
        Ok(false)
    }
}

/// The body's top-level value.
struct TopVisitor<'a, 's, F, E> {
    state: &'a mut State<'s, F, E>,
}

impl<F, E> TopVisitor<'_, '_, F, E>
where
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    fn not_users<Er: de::Error>(self, kind: &str) -> Result<(), Er> {
        Err(self.state.fail(ImportError::NotUsers {
            message: format!("the body is {kind} in JSON, not users: {WHAT_TO_SEND}"),
        }))
    }
}

impl<'de, F, E> Visitor<'de> for TopVisitor<'_, '_, F, E>
where
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(WHAT_TO_SEND)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream(self.state, seq)
    }

    /// An envelope streams its `data` array; any other object is one user. Which one it is shows
    /// only once the object has been read, so the user keys are kept until then.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let budget = Rc::clone(&self.state.budget);
        self.state.location = Location::JsonObject;
        budget.begin_row();
        let mut user = JsonUser::new();
        let mut streamed = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                KeyKind::Data if !streamed => {
                    budget.pause();
                    self.state.location = Location::JsonArray;
                    streamed = map.next_value_seed(DataSeed {
                        state: &mut *self.state,
                    })?;
                    self.state.location = Location::JsonObject;
                    budget.begin_row();
                }
                KeyKind::User(key) => {
                    budget.set_field(Some(key.name()));
                    user.read_entry(key, &mut map)?;
                }
                KeyKind::Data | KeyKind::Other => {
                    budget.set_field(None);
                    map.next_value::<IgnoredAny>()?;
                }
            }
            budget.set_field(None);
        }
        if streamed {
            return Ok(());
        }
        if user.is_empty() {
            return Err(self.state.fail(ImportError::NotUsers {
                message: format!(
                    "the JSON object has no user keys (Identity, DisplayName, ...) and no \
                     \"data\" array of users: {WHAT_TO_SEND}"
                ),
            }));
        }
        match self.state.accept(Element::User(user), Location::JsonObject) {
            Ok(()) => Ok(()),
            Err(failure) => Err(self.state.fail(failure)),
        }
    }

    fn visit_bool<Er: de::Error>(self, _: bool) -> Result<(), Er> {
        self.not_users("a boolean")
    }

    fn visit_i64<Er: de::Error>(self, _: i64) -> Result<(), Er> {
        self.not_users("a number")
    }

    fn visit_u64<Er: de::Error>(self, _: u64) -> Result<(), Er> {
        self.not_users("a number")
    }

    fn visit_f64<Er: de::Error>(self, _: f64) -> Result<(), Er> {
        self.not_users("a number")
    }

    fn visit_str<Er: de::Error>(self, _: &str) -> Result<(), Er> {
        self.not_users("a string")
    }

    fn visit_unit<Er: de::Error>(self) -> Result<(), Er> {
        self.not_users("null")
    }
}
