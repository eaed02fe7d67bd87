//! Telephone numbers as rosterd matches them: a `LineURI` (`tel:+14255550123;ext=123`) or a
//! number typed by a person (`+1 425-555.0123`) reduced to its digits and optional extension.

/// Longest number accepted (E.164 allows 15 digits; leave room for national prefixes).
pub const MAX_DIGITS: usize = 20;
/// Longest extension accepted.
pub const MAX_EXTENSION_DIGITS: usize = 10;

/// A number reduced to what identifies it: the digits (without `+`) and the extension, if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineNumber {
    digits: String,
    extension: Option<String>,
}

impl LineNumber {
    /// Reads a `LineURI` or a typed number: an optional `tel:` prefix (any case), an optional
    /// `+`, digits separated by spaces, dashes, dots or parentheses, and an optional
    /// `;ext=digits`. Other `;` parameters of a tel URI are ignored. `None` when there is no
    /// digit, a character that belongs to no number, or more digits than any number has.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = match text.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("tel:") => &text[4..],
            _ => text,
        };
        let mut parts = text.split(';');
        let number = parts.next().unwrap_or_default();
        let number = number.strip_prefix('+').unwrap_or(number);
        let mut digits = String::with_capacity(number.len());
        for c in number.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return None,
            }
        }
        if digits.is_empty() || digits.len() > MAX_DIGITS {
            return None;
        }
        let mut extension = None;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("ext") {
                let value: String = value.chars().filter(|c| !matches!(c, ' ' | '-' | '.')).collect();
                if value.is_empty() || value.len() > MAX_EXTENSION_DIGITS || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                extension = Some(value);
            }
        }
        Some(Self { digits, extension })
    }

    /// The digits of the number, without `+` or separators: what the store indexes.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Option<(String, Option<String>)> {
        LineNumber::parse(text).map(|n| (n.digits().to_owned(), n.extension().map(str::to_owned)))
    }

    #[test]
    fn every_way_of_writing_a_number_gives_its_digits() {
        for text in [
            "+14255550123",
            "tel:+14255550123",
            "TEL:+14255550123",
            "14255550123",
            "+1 425 555 0123",
            "+1-425-555-0123",
            "+1.425.555.0123",
            "+1 (425) 555-0123",
        ] {
            assert_eq!(parsed(text), Some(("14255550123".into(), None)), "{text}");
        }
    }

    #[test]
    fn an_extension_is_kept_apart() {
        assert_eq!(
            parsed("tel:+14255550123;ext=123"),
            Some(("14255550123".into(), Some("123".into())))
        );
        assert_eq!(
            parsed("tel:+14255550123;phone-context=x;EXT=9"),
            Some(("14255550123".into(), Some("9".into())))
        );
    }

    #[test]
    fn limits_and_blanks() {
        assert_eq!(parsed(&"1".repeat(MAX_DIGITS)).map(|p| p.0.len()), Some(MAX_DIGITS));
        assert_eq!(parsed("  +14255550123  "), Some(("14255550123".into(), None)));
        let ext = "9".repeat(MAX_EXTENSION_DIGITS);
        assert_eq!(parsed(&format!("+1;ext={ext}")), Some(("1".into(), Some(ext.clone()))));
        assert_eq!(parsed(&format!("+1;ext={ext}9")), None, "extension too long");
        assert_eq!(parsed("+1;ext=1-2.3"), Some(("1".into(), Some("123".into()))));
        assert_eq!(parsed("+1; Ext =7"), Some(("1".into(), Some("7".into()))));
        assert_eq!(
            parsed("+1;phone-context=+1"),
            Some(("1".into(), None)),
            "other parameters are ignored"
        );
    }

    #[test]
    fn what_is_no_number_is_refused() {
        for text in [
            "",
            "tel:",
            "+",
            "abc",
            "+1425x5550123",
            "1;ext=",
            "1;ext=12a",
            "1+425",
            "++1",
            "+1 425 \u{0661}",
            "+1\n425",
            &"1".repeat(21),
        ] {
            assert_eq!(parsed(text), None, "{text}");
        }
    }
}
