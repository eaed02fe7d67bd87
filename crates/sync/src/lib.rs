//! sync (placeholder until its first module lands).
