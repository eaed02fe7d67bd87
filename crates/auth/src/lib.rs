//! auth (placeholder until its first module lands).
