//! Faults a test switches on for the next requests to an endpoint, and request counting.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// The fake's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /{tenant}/oauth2/v2.0/token`
    Token,
    /// `GET /v1.0/users`
    Users,
    /// `GET /v1.0/users/delta`
    UsersDelta,
    /// `GET /v1.0/admin/teams/userConfigurations`
    UserConfigurations,
    /// `GET /v1.0/admin/teams/userConfigurations/{id}` (one user's)
    UserConfiguration,
    /// `/v1.0/subscriptions` (create, renew, reauthorize, delete; any injected fault is a 503)
    Subscriptions,
}

/// What the fake does instead of (or on top of) answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: <seconds>` when given.
    TooManyRequests { retry_after_secs: Option<u64> },
    /// 503 with `Retry-After: <seconds>` when given.
    ServiceUnavailable { retry_after_secs: Option<u64> },
    /// `status` (429 or 503) with exactly this `Retry-After` value, however hostile
    /// (`99999999999999999999`, `1e30`, `-1`, `NaN`, a date in year 9999, garbage).
    RetryAfter { status: u16, value: String },
    /// Answers normally; queued before another fault, aims that one at a later request.
    Pass,
    /// On a `/users/delta` page: the page lists the first `n` users of the tenant (in id order,
    /// so those of a full round's first page) once more, as Graph may return an object more
    /// than once in a round.
    RepeatItems(usize),
    /// On a page of a full `/users/delta` round: the first `n` users listed on earlier pages
    /// leave the directory now (deleted, logged for the next delta round), and the page reports
    /// them `@removed`, plus a removal of a user the tenant never had.
    RemoveListedUsers(usize),
    /// Another status with a Graph error body (500, 502, 504, 403, 404, ...).
    Status(u16),
    /// 410 Gone (an expired delta link).
    Gone,
    /// 401: Graph refuses the bearer token.
    Unauthorized,
    /// Waits this long, then answers normally.
    Delay(Duration),
    /// The normal answer with its JSON body cut in half.
    TruncatedJson,
    /// A 200 whose body is not JSON.
    InvalidJson,
    /// Entra refuses the token request with this status, `error` and `error_description`.
    TokenError {
        status: u16,
        error: String,
        description: String,
    },
}

impl Fault {
    /// Entra's answer to a wrong client secret.
    pub fn invalid_client() -> Self {
        Self::TokenError {
            status: 401,
            error: "invalid_client".into(),
            description: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request \
                          is the client secret value, not the client secret ID."
                .into(),
        }
    }
}

/// Pending faults per endpoint (applied first in, first out) and request counts.
#[derive(Debug, Default)]
pub(crate) struct FaultBoard {
    pending: HashMap<Endpoint, VecDeque<(Fault, u32)>>,
    counts: HashMap<Endpoint, u64>,
}

impl FaultBoard {
    pub(crate) fn inject(&mut self, endpoint: Endpoint, fault: Fault, times: u32) {
        if times > 0 {
            self.pending.entry(endpoint).or_default().push_back((fault, times));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    /// Counts a request and hands out the fault it must suffer, if any.
    pub(crate) fn on_request(&mut self, endpoint: Endpoint) -> Option<Fault> {
        *self.counts.entry(endpoint).or_default() += 1;
        let queue = self.pending.get_mut(&endpoint)?;
        let (fault, remaining) = queue.front_mut()?;
        let fault = fault.clone();
        *remaining -= 1;
        if *remaining == 0 {
            queue.pop_front();
        }
        Some(fault)
    }

    pub(crate) fn count(&self, endpoint: Endpoint) -> u64 {
        self.counts.get(&endpoint).copied().unwrap_or(0)
    }

    pub(crate) fn reset_counts(&mut self) {
        self.counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_order_for_their_count() {
        let mut board = FaultBoard::default();
        board.inject(Endpoint::Users, Fault::Gone, 2);
        board.inject(Endpoint::Users, Fault::InvalidJson, 1);
        assert_eq!(board.on_request(Endpoint::UsersDelta), None);
        assert_eq!(board.on_request(Endpoint::Users), Some(Fault::Gone));
        assert_eq!(board.on_request(Endpoint::Users), Some(Fault::Gone));
        assert_eq!(board.on_request(Endpoint::Users), Some(Fault::InvalidJson));
        assert_eq!(board.on_request(Endpoint::Users), None);
        assert_eq!(board.count(Endpoint::Users), 4);
        assert_eq!(board.count(Endpoint::UsersDelta), 1);
        assert_eq!(board.count(Endpoint::Token), 0);
    }
}
