//! Streams users out of a CSV body: `Export-Csv` output of Get-CsOnlineUser (PascalCase headers,
//! maybe after a `#TYPE` line, every field quoted, `""` for null, `True`/`False`), or a CSV whose
//! headers are the 21 Live Platform keys.
//!
//! One record buffer is reused for every row, and a line longer than `MAX_ROW_BYTES` is refused
//! before the csv reader has buffered it, so memory is bounded by the largest row. The
//! delimiter is sniffed from the header line, because `Export-Csv -UseCulture` writes `;` in
//! many locales. The csv crate is lenient about quoting; a body cut inside a quoted field shows
//! up as an odd number of `"` bytes, which is reported as a truncated body.

use std::collections::VecDeque;
use std::io::{self, Read};

use csv::StringRecord;

use super::body::Body;
use super::error::{ImportError, Location, RowError};
use super::fields::{self, Cell, Fields, Key, Shape};
use super::MAX_ROW_BYTES;
use crate::end_user::EndUser;

/// Bytes looked at to find the header line and its delimiter.
const PEEK_LIMIT: usize = 64 * 1024;
const READ_BUFFER: usize = 64 * 1024;
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

pub(crate) fn parse<R, F, E>(mut body: Body<R>, sink: &mut F) -> Result<u64, ImportError<E>>
where
    R: Read,
    F: FnMut(u64, EndUser) -> Result<(), E>,
{
    let delimiter = {
        let head = body
            .peek(PEEK_LIMIT, |bytes| complete_header_line(bytes).is_some())
            .map_err(ImportError::Io)?;
        sniff_delimiter(head)
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(READ_BUFFER)
        .from_reader(Tracked::new(body, delimiter));
    let mut record = StringRecord::new();
    let header = Header::read(&mut reader, &mut record)?;

    let mut rows = 0u64;
    loop {
        match read_record(&mut reader, &mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                return Err(match reader.get_ref().oversized {
                    Some(column) => RowError::too_large(header.key_at(column)).at(
                        rows + 1,
                        Location::Csv {
                            line: reader.get_ref().line,
                        },
                    ),
                    None => error,
                })
            }
        }
        if is_blank(&record) {
            // Forget the line starts noted for it: millions of blank lines must cost nothing.
            line_of(&mut reader, &record);
            continue;
        }
        rows += 1;
        let line = line_of(&mut reader, &record);
        if record.len() != header.len {
            let hint = if record.len() < header.len {
                "; if this is the last row, the body may be truncated"
            } else {
                ""
            };
            return Err(ImportError::Syntax {
                line,
                column: None,
                message: format!(
                    "CSV data row {rows} has {} fields but the header has {}{hint}",
                    record.len(),
                    header.len
                ),
            });
        }
        let mut row = CsvRow {
            columns: &header.columns,
            record: &record,
        };
        let user = super::map_user(header.shape, &mut row).map_err(|e| e.at(rows, Location::Csv { line }))?;
        sink(rows, user).map_err(ImportError::Sink)?;
    }
    if reader.get_ref().odd_quotes {
        return Err(ImportError::Syntax {
            line: reader.get_ref().line,
            column: None,
            message: "the CSV body ended inside a quoted field: is it truncated? (a '\"' opens \
                      a field that is never closed)"
                .to_string(),
        });
    }
    Ok(rows)
}

/// Which column holds each known key, and the shape the headers say the rows are in.
struct Header {
    columns: [Option<usize>; Key::COUNT],
    len: usize,
    shape: Shape,
}

impl Header {
    fn read<R: Read, E>(
        reader: &mut csv::Reader<Tracked<R>>,
        record: &mut StringRecord,
    ) -> Result<Self, ImportError<E>> {
        let mut saw_type_line = false;
        loop {
            let more = read_record(reader, record).map_err(|error| match reader.get_ref().oversized {
                Some(_) => ImportError::NotUsers {
                    message: format!("the CSV header line is longer than the limit of {MAX_ROW_BYTES} bytes"),
                },
                None => error,
            })?;
            if !more {
                return Err(if saw_type_line {
                    ImportError::NotUsers {
                        message: "the CSV has a #TYPE line but no header row".to_string(),
                    }
                } else {
                    ImportError::Empty
                });
            }
            if is_blank(record) {
                line_of(reader, record);
                continue;
            }
            let is_type_line = record
                .get(0)
                .is_some_and(|first| first.trim_start().starts_with("#TYPE"));
            if is_type_line && !saw_type_line {
                saw_type_line = true;
                continue;
            }
            break;
        }
        let mut columns = [None; Key::COUNT];
        for (i, name) in record.iter().enumerate() {
            if let Some(key) = Key::lookup(name) {
                columns[key.index()].get_or_insert(i);
            }
        }
        if columns[Key::Identity.index()].is_none() && columns[Key::ObjectId.index()].is_none() {
            let found: Vec<String> = record.iter().take(8).map(fields::quote).collect();
            return Err(ImportError::NotUsers {
                message: format!(
                    "the CSV header has no Identity column (found {}{}): send Get-CsOnlineUser \
                     | Export-Csv output, or a CSV with the Live Platform user keys",
                    found.join(", "),
                    if record.len() > 8 { ", ..." } else { "" }
                ),
            });
        }
        Ok(Self {
            columns,
            len: record.len(),
            shape: Shape::detect(|key| columns[key.index()].is_some()),
        })
    }

    /// The known key of a column, if any.
    fn key_at(&self, column: usize) -> Option<&'static str> {
        Key::ALL
            .iter()
            .find(|key| self.columns[key.index()] == Some(column))
            .map(|key| key.name())
    }
}

struct CsvRow<'a> {
    columns: &'a [Option<usize>; Key::COUNT],
    record: &'a StringRecord,
}

impl<'a> Fields<'a> for CsvRow<'a> {
    fn take(&mut self, key: Key) -> Cell<'a> {
        self.columns[key.index()]
            .and_then(|i| self.record.get(i))
            .map_or(Cell::Absent, Cell::Text)
    }
}

/// A line of only whitespace; the csv crate already skips empty lines.
fn is_blank(record: &StringRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty())
}

fn line_of<R: Read>(reader: &mut csv::Reader<Tracked<R>>, record: &StringRecord) -> u64 {
    let byte = record.position().map_or(0, |p| p.byte());
    reader.get_mut().line_at(byte)
}

fn read_record<R: Read, E>(
    reader: &mut csv::Reader<Tracked<R>>,
    record: &mut StringRecord,
) -> Result<bool, ImportError<E>> {
    reader.read_record(record).map_err(|err| {
        let line = match err.position() {
            Some(position) => reader.get_mut().line_at(position.byte()),
            None => reader.get_ref().line,
        };
        csv_error(err, line)
    })
}

fn csv_error<E>(err: csv::Error, line: u64) -> ImportError<E> {
    let message = err.to_string();
    match err.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::Io(io),
        csv::ErrorKind::Utf8 { err, .. } => ImportError::Syntax {
            line,
            column: None,
            message: format!(
                "field {} of this CSV line is not valid UTF-8: save the file as UTF-8 \
                 (Export-Csv -Encoding UTF8)",
                err.field() + 1
            ),
        },
        _ => ImportError::Syntax {
            line,
            column: None,
            message: format!("malformed CSV: {message}"),
        },
    }
}

/// The header line (the first line that is neither blank nor `#TYPE ...`), once it is complete.
fn complete_header_line(bytes: &[u8]) -> Option<&[u8]> {
    let mut rest = bytes;
    while let Some(end) = rest.iter().position(|b| *b == b'\n') {
        let line = &rest[..end];
        let trimmed = line.trim_ascii();
        if !trimmed.is_empty() && !trimmed.starts_with(b"#TYPE") {
            return Some(line);
        }
        rest = &rest[end + 1..];
    }
    None
}

/// The delimiter used most often outside quotes on the header line; `,` when in doubt.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = complete_header_line(head).unwrap_or_else(|| {
        // The body ended (or the peek limit was hit) before a newline: use what there is.
        let mut lines = head.split(|b| *b == b'\n');
        lines
            .find(|l| {
                let t = l.trim_ascii();
                !t.is_empty() && !t.starts_with(b"#TYPE")
            })
            .unwrap_or(&[])
    });
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for byte in line {
        if *byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = DELIMITERS.iter().position(|d| d == byte) {
                counts[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

/// Counts lines and quotes of the bytes the csv reader consumes, and refuses a record longer than
/// `MAX_ROW_BYTES` before the csv reader buffers it.
///
/// The csv crate reports a record's position as where the reader stood when it began, i.e. before
/// the `\n` of a CRLF and any blank lines; so the start of every line that has content is noted
/// here, and a record's line is that of the first such start at or after the reported byte.
struct Tracked<R> {
    inner: Body<R>,
    delimiter: u8,
    offset: u64,
    line: u64,
    at_line_start: bool,
    /// (byte offset, line) of line starts read ahead of the records handed out; bounded by the
    /// csv reader's buffer, since every record (blank ones included) pops its own.
    starts: VecDeque<(u64, u64)>,
    odd_quotes: bool,
    /// Bytes and column of the record being read (a newline inside quotes does not end it).
    record_bytes: usize,
    column: usize,
    /// Set, with the column reached, once a record passed the limit; reads fail from then on.
    oversized: Option<usize>,
}

impl<R> Tracked<R> {
    fn new(inner: Body<R>, delimiter: u8) -> Self {
        Self {
            inner,
            delimiter,
            offset: 0,
            line: 1,
            at_line_start: true,
            starts: VecDeque::new(),
            odd_quotes: false,
            record_bytes: 0,
            column: 0,
            oversized: None,
        }
    }

    /// The 1-based line of the record the csv reader says begins at `byte`.
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.starts.front().is_some_and(|(offset, _)| *offset < byte) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |(_, line)| *line)
    }
}

impl<R: Read> Read for Tracked<R> {
    /// Hands out the bytes up to (not including) the one that makes a record too long, so every
    /// complete record before it is still parsed; the next read fails.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.oversized.is_some() {
            return Err(io::Error::other(format!(
                "a CSV record is longer than the limit of {MAX_ROW_BYTES} bytes"
            )));
        }
        let n = self.inner.read(buf)?;
        let mut handed = n;
        for (i, byte) in buf[..n].iter().enumerate() {
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.at_line_start = true;
                    if !self.odd_quotes {
                        self.record_bytes = 0;
                        self.column = 0;
                        continue;
                    }
                }
                b'\r' => {}
                other => {
                    if self.at_line_start {
                        self.starts.push_back((self.offset + i as u64, self.line));
                        self.at_line_start = false;
                    }
                    if *other == b'"' {
                        self.odd_quotes = !self.odd_quotes;
                    } else if *other == self.delimiter && !self.odd_quotes {
                        self.column += 1;
                    }
                }
            }
            self.record_bytes += 1;
            if self.record_bytes > MAX_ROW_BYTES {
                self.oversized = Some(self.column);
                handed = i;
                break;
            }
        }
        if handed == 0 && n > 0 {
            return self.read(buf);
        }
        self.offset += handed as u64;
        Ok(handed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_header_delimiter() {
        assert_eq!(sniff_delimiter(b"\"Identity\",\"DisplayName\"\n"), b',');
        assert_eq!(sniff_delimiter(b"#TYPE A,B,C,D\n\"Identity\";\"Display,Name\"\n"), b';');
        assert_eq!(sniff_delimiter(b"Identity\tWebName"), b'\t');
        assert_eq!(sniff_delimiter(b"Identity"), b',');
        assert_eq!(sniff_delimiter(b""), b',');
    }

    #[test]
    fn finds_the_header_line_after_type_and_blank_lines() {
        assert_eq!(complete_header_line(b"#TYPE X\r\n\r\nA,B\r\n1,2"), Some(&b"A,B\r"[..]));
        assert_eq!(complete_header_line(b"#TYPE X\nA,B"), None);
    }
}
