//! What every repository port shares.

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq)]
pub enum Written<T> {
    /// Applied; the new state.
    Done(T),
    /// No row with that id.
    Missing,
    /// The row exists but its version differs from the expected one.
    VersionMismatch,
}
