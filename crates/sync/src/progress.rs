//! Human-readable progress: the wording of Graph client events, and sinks that show progress
//! as it happens (the CLI prints every line to stderr).

use std::io::Write;
use std::time::Duration;

use graph::{GraphEvent, RetryReason};

/// How important a progress line is (the task message `level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "Info",
            Self::Warning => "Warning",
            Self::Error => "Error",
        }
    }
}

/// Receives every progress line of a sync as it happens, including one line per page read
/// (the task log keeps a single running line per listing instead). Called inline: never block.
pub trait ProgressSink: Send + Sync {
    fn line(&self, level: Level, text: &str);
}

/// Prints progress lines to stderr (`rosterd sync`).
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrProgress;

impl ProgressSink for StderrProgress {
    fn line(&self, level: Level, text: &str) {
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a closed stderr must not fail the sync.
        let _ = match level {
            Level::Info => writeln!(err, "{text}"),
            other => writeln!(err, "{}: {text}", other.as_str().to_ascii_lowercase()),
        };
    }
}

/// `250 ms`, `1 s`, `1.5 s`, `4 min 10 s`.
pub fn human(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis < 120_000 {
        let tenths = (millis + 50) / 100;
        let (whole, tenth) = (tenths / 10, tenths % 10);
        if tenth == 0 {
            format!("{whole} s")
        } else {
            format!("{whole}.{tenth} s")
        }
    } else {
        let secs = duration.as_secs();
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// The line for a Graph client event, with its level; `None` for events not worth a line.
pub fn describe(event: &GraphEvent) -> Option<(Level, String)> {
    match event {
        // Every answer: counted in metrics, too many for a task's messages.
        GraphEvent::Responded { .. } => None,
        GraphEvent::TokenAcquired { expires_in, .. } => Some((
            Level::Info,
            format!(
                "token obtained from the customer's tenant (valid {})",
                human(*expires_in)
            ),
        )),
        GraphEvent::PageRead {
            resource,
            number,
            items,
            items_total,
        } => Some((
            Level::Info,
            format!("{resource}: page {number} read, {items} items ({items_total} so far)"),
        )),
        GraphEvent::Throttled {
            resource,
            status,
            wait,
            retry_after,
            attempt,
        } => {
            let asked = match retry_after {
                Some(asked) if asked == wait => " as its Retry-After asked".to_string(),
                Some(asked) => format!(" (Retry-After {} capped)", human(*asked)),
                None => " (no Retry-After; exponential backoff)".to_string(),
            };
            let what = if *status == 429 { "throttled" } else { "unavailable" };
            Some((
                Level::Warning,
                format!(
                    "{resource}: Graph answered HTTP {status} ({what}); waiting {}{asked} before attempt {}",
                    human(*wait),
                    attempt + 1
                ),
            ))
        }
        GraphEvent::Retrying {
            resource,
            reason,
            wait,
            attempt,
        } => {
            let why = match reason {
                RetryReason::ServerError(status) => format!("server error HTTP {status}"),
                RetryReason::Timeout => "request timed out".to_string(),
                RetryReason::Transport => "connection failed".to_string(),
                RetryReason::InvalidBody => "response was not valid JSON".to_string(),
                RetryReason::Unauthorized => "token refused; requesting a new one".to_string(),
            };
            Some((
                Level::Warning,
                format!(
                    "{resource}: {why}; retrying in {} (attempt {})",
                    human(*wait),
                    attempt + 1
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph::Resource;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_secs(1)), "1 s");
        assert_eq!(human(Duration::from_millis(1_500)), "1.5 s");
        assert_eq!(human(Duration::from_secs(250)), "4 min 10 s");
    }

    #[test]
    fn throttling_lines_say_what_was_waited_for() {
        let event = GraphEvent::Throttled {
            resource: Resource::UsersDelta,
            status: 429,
            wait: Duration::from_secs(1),
            retry_after: Some(Duration::from_secs(1)),
            attempt: 1,
        };
        let (level, text) = describe(&event).unwrap();
        assert_eq!(level, Level::Warning);
        assert_eq!(
            text,
            "users/delta: Graph answered HTTP 429 (throttled); waiting 1 s as its Retry-After asked before attempt 2"
        );
        let capped = GraphEvent::Throttled {
            resource: Resource::Users,
            status: 503,
            wait: Duration::from_secs(300),
            retry_after: Some(Duration::from_secs(900)),
            attempt: 2,
        };
        assert!(describe(&capped).unwrap().1.contains("(Retry-After 15 min 0 s capped)"));
    }
}
