//! api (placeholder until its first module lands).
