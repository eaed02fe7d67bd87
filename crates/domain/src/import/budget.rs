//! The row budget of the JSON parser: counts the bytes serde_json consumes and fails the read
//! once the user being parsed is larger than `MAX_ROW_BYTES`, so a gigantic value (a string, an
//! array, a key) is refused before it is held in memory. Whitespace between values costs no
//! memory and is not counted; whitespace inside strings is.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::MAX_ROW_BYTES;

/// Shared by the counting reader under the deserializer and the visitors above it, which say
/// where a user starts and which field is being read.
#[derive(Default)]
pub(crate) struct RowBudget {
    consumed: Cell<u64>,
    start: Cell<Option<u64>>,
    in_string: Cell<bool>,
    escaped: Cell<bool>,
    exceeded: Cell<bool>,
    field: Cell<Option<&'static str>>,
}

impl RowBudget {
    /// A user (or the top-level object) starts here.
    pub fn begin_row(&self) {
        self.start.set(Some(self.consumed.get()));
        self.field.set(None);
    }

    /// Nothing is held while a page envelope's `data` array streams (each user has its own
    /// budget), so nothing is counted.
    pub fn pause(&self) {
        self.start.set(None);
    }

    /// The field whose value is read next (`None` for a property the importer ignores).
    pub fn set_field(&self, field: Option<&'static str>) {
        self.field.set(field);
    }

    pub fn exceeded(&self) -> bool {
        self.exceeded.get()
    }

    pub fn field(&self) -> Option<&'static str> {
        self.field.get()
    }

    fn count(&self, byte: u8) {
        if self.in_string.get() {
            if self.escaped.get() {
                self.escaped.set(false);
            } else if byte == b'\\' {
                self.escaped.set(true);
            } else if byte == b'"' {
                self.in_string.set(false);
            }
        } else if byte == b'"' {
            self.in_string.set(true);
        } else if byte.is_ascii_whitespace() {
            return;
        }
        self.consumed.set(self.consumed.get() + 1);
    }

    fn over(&self) -> bool {
        self.start
            .get()
            .is_some_and(|start| self.consumed.get() - start > MAX_ROW_BYTES as u64)
    }
}

/// The body as serde_json reads it, metered by a [`RowBudget`].
pub(crate) struct Metered<R> {
    inner: R,
    budget: Rc<RowBudget>,
}

impl<R> Metered<R> {
    pub fn new(inner: R, budget: Rc<RowBudget>) -> Self {
        Self { inner, budget }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.budget.exceeded() {
            return Err(io::Error::other("the user is larger than the row limit"));
        }
        let n = self.inner.read(buf)?;
        for byte in &buf[..n] {
            self.budget.count(*byte);
        }
        if self.budget.over() {
            self.budget.exceeded.set(true);
            return Err(io::Error::other("the user is larger than the row limit"));
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn metered(text: &str, begin: bool) -> (Rc<RowBudget>, io::Result<Vec<u8>>) {
        let budget = Rc::new(RowBudget::default());
        if begin {
            budget.begin_row();
        }
        let mut reader = Metered::new(text.as_bytes(), Rc::clone(&budget));
        let mut out = Vec::new();
        let result = reader.read_to_end(&mut out).map(|_| out);
        (budget, result)
    }

    #[test]
    fn whitespace_outside_strings_is_free() {
        let spaces = format!("[{}]", " \n".repeat(MAX_ROW_BYTES));
        let (budget, result) = metered(&spaces, true);
        assert!(result.is_ok());
        assert!(!budget.exceeded());
        let string = format!("\"{}\"", " ".repeat(MAX_ROW_BYTES + 1));
        let (budget, result) = metered(&string, true);
        assert!(result.is_err());
        assert!(budget.exceeded());
    }

    #[test]
    fn escaped_quotes_stay_inside_the_string() {
        let text = format!("\"\\\"{}\"", " ".repeat(MAX_ROW_BYTES));
        assert!(metered(&text, true).1.is_err());
    }

    #[test]
    fn paused_budgets_count_nothing() {
        let text = "x".repeat(MAX_ROW_BYTES * 2);
        assert!(metered(&text, false).1.is_ok());
    }
}
