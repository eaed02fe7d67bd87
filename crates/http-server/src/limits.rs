//! The limits every connection is served under, and the process's file-descriptor budget they
//! must fit in.

use std::time::Duration;

/// How much a client may hold of the server, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open connections at most; one more is answered `503` and closed at once.
    pub max_connections: usize,
    /// Time a client has to deliver a request's header: from the connection's start for the
    /// first request, from its first byte for later ones. Also bounds the TLS handshake.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may sit with no request before it is closed.
    pub idle_timeout: Duration,
    /// Time a response may wait on a client that reads nothing (and, in the import handler, a
    /// request body may wait on a client that sends nothing) before the connection is dropped.
    pub stall_timeout: Duration,
    /// Time connections get to finish their requests after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// File descriptors kept back from connections: the database pool, import spool files, the
/// listener, logs.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the soft limit on open files to the hard limit (so the connection limit, not the
/// kernel, decides when to refuse), then returns the connection limit that fits: `wanted`,
/// or less when the descriptors would not suffice. Never fails: where the limit cannot be
/// read or raised, `wanted` is kept.
pub fn fit_connection_limit(wanted: usize) -> usize {
    let raised = rlimit::increase_nofile_limit(u64::MAX);
    let Ok(available) = raised else {
        tracing::warn!("could not read or raise the open-files limit; keeping {wanted} connections");
        return wanted;
    };
    let usable = available.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    let usable = usize::try_from(usable).unwrap_or(usize::MAX);
    if wanted > usable {
        tracing::warn!(
            open_files_limit = available,
            "--max-connections {wanted} does not fit the open-files limit; serving at most {usable} connections"
        );
        usable
    } else {
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_fits_the_descriptors() {
        let fitted = fit_connection_limit(usize::MAX);
        assert!(
            fitted < usize::MAX,
            "an absurd wish is cut to the descriptors available"
        );
        assert_eq!(fit_connection_limit(100), 100, "a modest one is kept");
    }
}
