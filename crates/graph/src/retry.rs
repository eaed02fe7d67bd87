//! The bounded retry loop's bookkeeping: which failures are transient, how long to wait, what
//! to report, and which error to give up with.

use std::time::Duration;

use crate::backoff::backoff;
use crate::config::GraphConfig;
use crate::error::{GraphError, Resource};
use crate::observer::{GraphEvent, GraphObserver, RetryReason};
use crate::sleeper::Sleeper;

/// A failed attempt that another attempt may cure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// 429 or 503, with the server's `Retry-After` if it sent one.
    Throttled {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// 500, 502, 504.
    Server(u16),
    Timeout,
    Transport(String),
    InvalidBody(String),
}

impl Failure {
    /// Classifies a reqwest error without its URL (paging links carry opaque state tokens).
    pub(crate) fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            return Self::Timeout;
        }
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Transport(message)
    }

    fn into_error(self, resource: Resource, attempts: u32) -> GraphError {
        match self {
            Self::Throttled { status, .. } => GraphError::Throttled {
                resource,
                status,
                attempts,
            },
            Self::Server(status) => GraphError::Server {
                resource,
                status,
                attempts,
            },
            Self::Timeout => GraphError::Timeout { resource, attempts },
            Self::Transport(message) => GraphError::Transport {
                resource,
                message,
                attempts,
            },
            Self::InvalidBody(message) => GraphError::InvalidJson {
                resource,
                message,
                attempts,
            },
        }
    }
}

/// Counts the attempts of one request and decides whether and how long to wait for the next.
pub(crate) struct Attempts<'a> {
    config: &'a GraphConfig,
    sleeper: &'a dyn Sleeper,
    observer: &'a dyn GraphObserver,
    resource: Resource,
    made: u32,
    invalid_bodies: u32,
}

impl<'a> Attempts<'a> {
    pub(crate) fn new(
        config: &'a GraphConfig,
        sleeper: &'a dyn Sleeper,
        observer: &'a dyn GraphObserver,
        resource: Resource,
    ) -> Self {
        Self {
            config,
            sleeper,
            observer,
            resource,
            made: 0,
            invalid_bodies: 0,
        }
    }

    /// Marks the start of an attempt.
    pub(crate) fn start(&mut self) {
        self.made += 1;
    }

    /// Attempts started so far.
    pub(crate) fn made(&self) -> u32 {
        self.made
    }

    pub(crate) fn observer(&self) -> &'a dyn GraphObserver {
        self.observer
    }

    /// After a transient failure: waits and returns `Ok` when another attempt is allowed,
    /// otherwise returns the error to give up with.
    pub(crate) async fn after_failure(&mut self, failure: Failure) -> Result<(), GraphError> {
        if matches!(failure, Failure::InvalidBody(_)) {
            self.invalid_bodies += 1;
            if self.invalid_bodies > self.config.max_invalid_body_retries {
                return Err(failure.into_error(self.resource, self.made));
            }
        }
        // Graph asked for a longer pause than this client may wait: waiting less would only
        // burn the retries on answers that stay 429, so give up now and let the caller come
        // back after the requested time.
        if let Failure::Throttled {
            status,
            retry_after: Some(asked),
        } = &failure
        {
            if *asked > self.config.max_retry_after {
                return Err(GraphError::RetryLater {
                    resource: self.resource,
                    status: *status,
                    retry_after: *asked,
                });
            }
        }
        if self.made > self.config.max_retries {
            return Err(failure.into_error(self.resource, self.made));
        }
        let jittered = || backoff(self.config.base_backoff, self.config.max_backoff, self.made);
        let (wait, event) = match &failure {
            Failure::Throttled { status, retry_after } => {
                let wait = retry_after.unwrap_or_else(jittered);
                let event = GraphEvent::Throttled {
                    resource: self.resource,
                    status: *status,
                    wait,
                    retry_after: *retry_after,
                    attempt: self.made,
                };
                (wait, event)
            }
            other => {
                let reason = match other {
                    Failure::Server(status) => RetryReason::ServerError(*status),
                    Failure::Timeout => RetryReason::Timeout,
                    Failure::InvalidBody(_) => RetryReason::InvalidBody,
                    _ => RetryReason::Transport,
                };
                let wait = jittered();
                let event = GraphEvent::Retrying {
                    resource: self.resource,
                    reason,
                    wait,
                    attempt: self.made,
                };
                (wait, event)
            }
        };
        tracing::warn!(
            resource = %self.resource,
            attempt = self.made,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            failure = ?FailureKind(&failure),
            "Graph request failed; retrying"
        );
        self.observer.on_event(&event);
        self.sleeper.sleep(wait).await;
        Ok(())
    }
}

/// The failure without its free text, for logs.
struct FailureKind<'a>(&'a Failure);

impl std::fmt::Debug for FailureKind<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Failure::Throttled { status, .. } => write!(f, "throttled({status})"),
            Failure::Server(status) => write!(f, "server({status})"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Transport(_) => f.write_str("transport"),
            Failure::InvalidBody(_) => f.write_str("invalid_body"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::RecordingObserver;
    use crate::sleeper::RecordingSleeper;

    fn config() -> GraphConfig {
        GraphConfig {
            max_retries: 3,
            max_invalid_body_retries: 1,
            max_retry_after: Duration::from_secs(10),
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..GraphConfig::default()
        }
    }

    #[tokio::test]
    async fn retry_after_is_honoured_and_a_longer_one_gives_up_at_once() {
        let config = config();
        let sleeper = RecordingSleeper::new();
        let observer = RecordingObserver::new();
        let mut attempts = Attempts::new(&config, &sleeper, &observer, Resource::Users);
        attempts.start();
        let asked = |secs| Failure::Throttled {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        attempts.after_failure(asked(3)).await.unwrap();
        attempts.start();
        attempts.after_failure(asked(10)).await.unwrap();
        attempts.start();
        let error = attempts.after_failure(asked(600)).await.unwrap_err();
        assert_eq!(
            error,
            GraphError::RetryLater {
                resource: Resource::Users,
                status: 429,
                retry_after: Duration::from_secs(600)
            }
        );
        assert_eq!(sleeper.waits(), vec![Duration::from_secs(3), Duration::from_secs(10)]);
        assert!(matches!(
            observer.events()[1],
            GraphEvent::Throttled { wait, retry_after: Some(asked), attempt: 2, .. }
                if wait == Duration::from_secs(10) && asked == Duration::from_secs(10)
        ));
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let config = config();
        let sleeper = RecordingSleeper::new();
        let mut attempts = Attempts::new(&config, &sleeper, &crate::observer::NoopObserver, Resource::Users);
        for _ in 0..3 {
            attempts.start();
            attempts.after_failure(Failure::Server(502)).await.unwrap();
        }
        attempts.start();
        let error = attempts.after_failure(Failure::Server(502)).await.unwrap_err();
        assert_eq!(
            error,
            GraphError::Server {
                resource: Resource::Users,
                status: 502,
                attempts: 4
            }
        );
        assert_eq!(sleeper.waits().len(), 3);
    }

    #[tokio::test]
    async fn invalid_bodies_have_their_own_budget() {
        let config = config();
        let sleeper = RecordingSleeper::new();
        let mut attempts = Attempts::new(&config, &sleeper, &crate::observer::NoopObserver, Resource::Users);
        attempts.start();
        attempts
            .after_failure(Failure::InvalidBody("eof".into()))
            .await
            .unwrap();
        attempts.start();
        let error = attempts
            .after_failure(Failure::InvalidBody("eof".into()))
            .await
            .unwrap_err();
        assert!(matches!(error, GraphError::InvalidJson { attempts: 2, .. }));
    }
}
