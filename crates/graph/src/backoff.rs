//! How long to wait before the next attempt: the server's `Retry-After` when it sends one
//! (capped), else exponential backoff with jitter.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait a `Retry-After` is read as: larger numbers and later dates read as this.
/// The configured `max_retry_after` (at most this) then caps it further.
pub const RETRY_AFTER_CEILING: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` as delay-seconds or an HTTP date, at most [`RETRY_AFTER_CEILING`]; `None` when
/// absent or unreadable (the caller then backs off exponentially). Never panics, whatever the
/// server sends.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(text, Utc::now())
}

fn parse_retry_after(text: &str, now: DateTime<Utc>) -> Option<Duration> {
    let text = text.trim();
    let asked = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // RFC 9110 delay-seconds; a number too large for u64 is simply "very long".
        text.parse::<u64>().map_or(Duration::MAX, Duration::from_secs)
    } else if let Ok(seconds) = text.parse::<f64>() {
        // Fractional seconds are not in the RFC but harmless. Negative, NaN and infinite values
        // are unreadable; huge ones (1e30) saturate instead of overflowing `Duration`.
        if !(seconds.is_finite() && seconds >= 0.0) {
            return None;
        }
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
    } else {
        let when = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
        // A date in the past means "now"; one far ahead saturates below.
        when.signed_duration_since(now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(asked.min(RETRY_AFTER_CEILING))
}

/// Backoff before attempt `attempt + 1` (`attempt` ≥ 1): `base · 2^(attempt-1)`, capped at
/// `max`, then drawn uniformly from its upper half so that many tenants failing together do
/// not retry in lockstep.
pub(crate) fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1u32 << exponent).min(max);
    let floor = ceiling / 2;
    if ceiling <= floor {
        return ceiling;
    }
    let nanos = rand::thread_rng().gen_range(floor.as_nanos()..=ceiling.as_nanos());
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers(" 0 ")), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("1.5")), Some(Duration::from_millis(1500)));
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        let parsed = retry_after(&headers(&later)).unwrap();
        assert!(parsed > Duration::from_secs(100) && parsed <= Duration::from_secs(120));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    /// Whatever a server sends, reading it never panics and never exceeds the ceiling.
    #[test]
    fn hostile_retry_after_values_are_read_without_panicking() {
        let now = chrono::Utc::now();
        let ceiling = Some(RETRY_AFTER_CEILING);
        for huge in [
            "99999999999999999999",
            "18446744073709551615",
            "1e30",
            "1.7976931348623157e308",
            "86401",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "   4294967296   ",
        ] {
            assert_eq!(parse_retry_after(huge, now), ceiling, "{huge}");
        }
        for unreadable in [
            "-1",
            "-99999999999999999999",
            "-0.5",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "",
            "   ",
            "1e",
            "0x10",
            "+-3",
            "Sat, 32 Dec 9999 23:59:59 GMT",
            "tomorrow",
            "\u{1F600}",
        ] {
            assert_eq!(parse_retry_after(unreadable, now), None, "{unreadable:?}");
        }
        assert_eq!(parse_retry_after("1e2", now), Some(Duration::from_secs(100)));
        assert_eq!(parse_retry_after("0.000000001", now), Some(Duration::from_nanos(1)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now),
            Some(Duration::ZERO),
            "a past date means now"
        );
        // Bytes that are not visible ASCII never reach the parser as text.
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_bytes(&[0xff, 0xfe]).unwrap());
        assert_eq!(retry_after(&map), None);
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for _ in 0..100 {
            let first = backoff(base, max, 1);
            assert!(first >= Duration::from_millis(50) && first <= base, "{first:?}");
            let third = backoff(base, max, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff(base, max, 30);
            assert!(late >= max / 2 && late <= max);
        }
        assert_eq!(backoff(Duration::ZERO, max, 5), Duration::ZERO);
    }
}
