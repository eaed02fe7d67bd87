//! store-sqlite (placeholder until its first module lands).
