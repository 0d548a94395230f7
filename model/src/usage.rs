//! The one error for unusable input: a value outside what vethbench accepts, naming the flag (or
//! the spec field, or the file and key) at fault. Every crate checks input with it, before
//! anything is created, and the binary maps it to exit code 2.

/// A value given by the user that vethbench cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{flag}{}: {reason}", if value.is_empty() { String::new() } else { format!(" {value}") })]
pub struct UsageError {
    /// The command-line flag (or spec field), e.g. `--queues`.
    pub flag: &'static str,
    /// The rejected value as the user gave it (empty when the flag takes none).
    pub value: String,
    /// Why, including what is allowed.
    pub reason: String,
}

/// A [`UsageError`] for `flag` with `value`.
pub fn usage(flag: &'static str, value: impl ToString, reason: impl Into<String>) -> UsageError {
    UsageError {
        flag,
        value: value.to_string(),
        reason: reason.into(),
    }
}
