//! The request body as UTF-8 bytes: drops a UTF-8 byte-order mark (PowerShell writes one),
//! transcodes UTF-16 on the fly (what Windows PowerShell's `>` redirection writes), and remembers
//! whether anything but whitespace was seen, so an empty body is told apart from a truncated one.

use std::io::{self, Read};

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];
const CHUNK: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16 { big_endian: bool },
}

/// Wraps the raw body; reads yield UTF-8.
pub(crate) struct Body<R> {
    inner: R,
    encoding: Option<Encoding>,
    /// Decoded bytes not handed out yet (the sniffed head, a peeked prefix, transcoded UTF-16).
    out: Vec<u8>,
    pos: usize,
    /// An odd trailing byte and an unpaired high surrogate carried between UTF-16 chunks.
    odd: Option<u8>,
    high: Option<u16>,
    eof: bool,
    saw_content: bool,
}

impl<R: Read> Body<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            encoding: None,
            out: Vec::new(),
            pos: 0,
            odd: None,
            high: None,
            eof: false,
            saw_content: false,
        }
    }

    /// Whether any byte other than ASCII whitespace has been decoded so far.
    pub fn saw_content(&self) -> bool {
        self.saw_content
    }

    /// Whether the whole body has been decoded (handed out or peeked).
    pub fn decoded_all(&self) -> bool {
        self.eof
    }

    /// Decodes ahead, without consuming, until `enough` holds for the pending bytes, `limit`
    /// bytes are pending, or the body ends; returns the pending bytes.
    pub fn peek(&mut self, limit: usize, enough: impl Fn(&[u8]) -> bool) -> io::Result<&[u8]> {
        self.start()?;
        while !self.eof && self.out.len() - self.pos < limit && !enough(&self.out[self.pos..]) {
            self.produce()?;
        }
        Ok(&self.out[self.pos..])
    }

    /// Reads the first bytes to learn the encoding from a byte-order mark or, without one, from
    /// the NUL bytes UTF-16 puts next to ASCII (no UTF-8 JSON or CSV starts with a NUL).
    fn start(&mut self) -> io::Result<()> {
        if self.encoding.is_some() {
            return Ok(());
        }
        let mut head = [0u8; 3];
        let mut len = 0;
        while len < head.len() {
            match self.inner.read(&mut head[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let head = &head[..len];
        let (encoding, rest) = match head {
            [0xEF, 0xBB, 0xBF] => (Encoding::Utf8, &head[3..]),
            [0xFF, 0xFE, ..] => (Encoding::Utf16 { big_endian: false }, &head[2..]),
            [0xFE, 0xFF, ..] => (Encoding::Utf16 { big_endian: true }, &head[2..]),
            [a, 0, ..] if *a != 0 => (Encoding::Utf16 { big_endian: false }, head),
            [0, b, ..] if *b != 0 => (Encoding::Utf16 { big_endian: true }, head),
            _ => (Encoding::Utf8, head),
        };
        self.encoding = Some(encoding);
        match encoding {
            Encoding::Utf8 => {
                let rest = rest.to_vec();
                self.push(&rest);
            }
            Encoding::Utf16 { big_endian } => {
                let rest = rest.to_vec();
                self.decode_utf16(&rest, big_endian);
            }
        }
        Ok(())
    }

    /// Appends at least one more decoded byte to `out`, or marks the end.
    fn produce(&mut self) -> io::Result<()> {
        let mut raw = [0u8; CHUNK];
        let n = loop {
            match self.inner.read(&mut raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        match self.encoding {
            Some(Encoding::Utf16 { big_endian }) if n > 0 => self.decode_utf16(&raw[..n], big_endian),
            Some(Encoding::Utf16 { .. }) => {
                // An odd byte or a lone high surrogate at the end cannot be decoded.
                if self.odd.take().is_some() || self.high.take().is_some() {
                    self.push_char(char::REPLACEMENT_CHARACTER);
                }
                self.eof = true;
            }
            _ if n > 0 => self.push(&raw[..n]),
            _ => self.eof = true,
        }
        Ok(())
    }

    fn push(&mut self, bytes: &[u8]) {
        self.note(bytes);
        if self.pos == self.out.len() {
            self.out.clear();
            self.pos = 0;
        }
        self.out.extend_from_slice(bytes);
    }

    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        let encoded = c.encode_utf8(&mut buf).as_bytes();
        self.push(encoded);
    }

    fn note(&mut self, bytes: &[u8]) {
        if !self.saw_content {
            self.saw_content = bytes.iter().any(|b| !b.is_ascii_whitespace());
        }
    }

    /// Transcodes UTF-16 code units to UTF-8; unpaired surrogates become U+FFFD, as most tools do.
    fn decode_utf16(&mut self, bytes: &[u8], big_endian: bool) {
        let mut units = Vec::with_capacity(bytes.len() / 2 + 1);
        let mut iter = self.odd.take().into_iter().chain(bytes.iter().copied());
        while let Some(first) = iter.next() {
            match iter.next() {
                Some(second) => units.push(if big_endian {
                    u16::from_be_bytes([first, second])
                } else {
                    u16::from_le_bytes([first, second])
                }),
                None => self.odd = Some(first),
            }
        }
        let mut text = String::with_capacity(units.len());
        for unit in units {
            if let Some(high) = self.high.take() {
                if (0xDC00..0xE000).contains(&unit) {
                    let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                    text.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                    continue;
                }
                text.push(char::REPLACEMENT_CHARACTER);
            }
            if (0xD800..0xDC00).contains(&unit) {
                self.high = Some(unit);
            } else {
                text.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
        self.push(text.as_bytes());
    }
}

impl<R: Read> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.start()?;
        loop {
            if self.pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.pos);
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                if self.pos == self.out.len() {
                    self.out.clear();
                    self.pos = 0;
                }
                return Ok(n);
            }
            if self.eof || buf.is_empty() {
                return Ok(0);
            }
            if self.encoding == Some(Encoding::Utf8) {
                // Past the head, UTF-8 passes straight through without a copy.
                let n = self.inner.read(buf)?;
                if n == 0 {
                    self.eof = true;
                }
                self.note(&buf[..n]);
                return Ok(n);
            }
            self.produce()?;
        }
    }
}

/// Skips a UTF-8 or UTF-16 byte-order mark and the NUL halves of UTF-16 ASCII, for sniffing.
pub(crate) fn significant_bytes(first_bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let rest = first_bytes
        .strip_prefix(UTF8_BOM)
        .or_else(|| first_bytes.strip_prefix(&[0xFF, 0xFE]))
        .or_else(|| first_bytes.strip_prefix(&[0xFE, 0xFF]))
        .unwrap_or(first_bytes);
    rest.iter().copied().filter(|b| *b != 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, to exercise every chunk boundary.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((first, rest)), false) => {
                    buf[0] = *first;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn decode(bytes: &[u8]) -> (String, bool) {
        let mut body = Body::new(Trickle(bytes));
        let mut out = String::new();
        body.read_to_string(&mut out).unwrap();
        (out, body.saw_content())
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
        }
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn strips_utf8_bom() {
        assert_eq!(decode(b"\xEF\xBB\xBF[1]"), ("[1]".to_string(), true));
        assert_eq!(decode(b"[1]"), ("[1]".to_string(), true));
        assert_eq!(decode(b"\xEF\xBB\xBF \n"), (" \n".to_string(), false));
        assert_eq!(decode(b""), (String::new(), false));
    }

    #[test]
    fn transcodes_utf16_with_and_without_bom() {
        let text = "[{\"DisplayName\":\"Zoë 😀\"}]\r\n";
        for big_endian in [false, true] {
            for bom in [false, true] {
                assert_eq!(decode(&utf16(text, big_endian, bom)).0, text);
            }
        }
    }

    #[test]
    fn broken_utf16_becomes_replacement_characters() {
        let mut bytes = utf16("a", false, true);
        bytes.extend(0xD800u16.to_le_bytes());
        bytes.extend(0x0062u16.to_le_bytes());
        bytes.push(0x41);
        assert_eq!(decode(&bytes).0, "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn peek_does_not_consume() {
        let mut body = Body::new(Trickle(b"\xEF\xBB\xBF  abc\ndef"));
        let head = body.peek(1024, |b| b.contains(&b'\n')).unwrap().to_vec();
        assert_eq!(head, b"  abc\n");
        let mut all = String::new();
        body.read_to_string(&mut all).unwrap();
        assert_eq!(all, "  abc\ndef");
    }
}
