//! graph (placeholder until its first module lands).
