//! store-postgres (placeholder until its first module lands).
