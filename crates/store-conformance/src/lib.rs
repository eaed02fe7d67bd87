//! store-conformance (placeholder until its first module lands).
