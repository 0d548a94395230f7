//! Run ids and the names derived from them. The naming scheme is the contract `cleanup` relies on:
//! namespaces `vb-<id>-<role>`, links `vb<id><role>`, with `<id>` of 1..=12 characters [a-z0-9]
//! and `<role>` one letter, so a link name never exceeds 15 bytes (IFNAMSIZ - 1).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::UsageError;

/// Longest run id: `vb` + 12 + role letter = 15 bytes, the kernel's limit for interface names.
pub const MAX_ID_LEN: usize = 12;

/// Prefix of every namespace the tool creates.
const NS_PREFIX: &str = "vb-";
/// Prefix of every link the tool creates.
const LINK_PREFIX: &str = "vb";

/// The identifier that every name of one topology carries.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

/// One end of a pair topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The sending side by convention (namespace `vb-<id>-a`).
    A,
    /// The receiving side by convention (namespace `vb-<id>-b`).
    B,
}

impl Side {
    /// Both sides, A first.
    pub const BOTH: [Side; 2] = [Side::A, Side::B];

    /// The role letter used in names.
    pub fn letter(self) -> char {
        match self {
            Side::A => 'a',
            Side::B => 'b',
        }
    }

    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

impl RunId {
    /// Validates a user-given id (`--id`).
    pub fn new(id: &str) -> Result<Self, UsageError> {
        let bad = |reason: &str| UsageError {
            flag: "--id",
            value: format!("'{id}'"),
            reason: reason.to_string(),
        };
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(bad(&format!(
                "must be 1..={MAX_ID_LEN} characters so that link names (vb<id>a) fit the kernel's 15-byte limit"
            )));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(bad("may contain only lowercase letters a-z and digits 0-9"));
        }
        Ok(RunId(id.to_string()))
    }

    /// A fresh id for a run that the user did not name: 8 base-36 characters from the process id
    /// and the clock, so concurrent runs do not collide.
    pub fn generate() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut x = nanos ^ (u64::from(std::process::id()) << 40) ^ 0x9e37_79b9_7f4a_7c15;
        // splitmix64 finaliser: spreads the bits so that ids started close together differ early.
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let id = (0..8)
            .map(|i| DIGITS[((x >> (i * 6)) % 36) as usize] as char)
            .collect();
        RunId(id)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Name of the namespace of one side: `vb-<id>-a`.
    pub fn namespace(&self, side: Side) -> String {
        self.namespace_for_role(side.letter())
    }

    /// Name of a namespace with any role letter (later topologies add routers and bridges).
    pub fn namespace_for_role(&self, role: char) -> String {
        format!("{NS_PREFIX}{}-{role}", self.0)
    }

    /// Name of the veth end of one side: `vb<id>a`.
    pub fn link(&self, side: Side) -> String {
        self.link_for_role(side.letter())
    }

    /// Name of a link with any role letter (the middle namespace's `vb<id>c`, `vb<id>d`, ...).
    pub fn link_for_role(&self, role: char) -> String {
        format!("{LINK_PREFIX}{}{role}", self.0)
    }

    /// Parses a namespace name of ours into (id, role); `None` for anything else.
    pub fn parse_namespace(name: &str) -> Option<(RunId, char)> {
        let rest = name.strip_prefix(NS_PREFIX)?;
        let (id, role) = rest.rsplit_once('-')?;
        let role = single_role(role)?;
        Some((RunId::new(id).ok()?, role))
    }

    /// Parses a link name of ours into (id, role); `None` for anything else.
    pub fn parse_link(name: &str) -> Option<(RunId, char)> {
        let rest = name.strip_prefix(LINK_PREFIX)?;
        let role = rest.chars().last()?;
        if !role.is_ascii_lowercase() {
            return None;
        }
        let id = &rest[..rest.len() - 1];
        Some((RunId::new(id).ok()?, role))
    }
}

fn single_role(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    (chars.next().is_none() && c.is_ascii_lowercase()).then_some(c)
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = UsageError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RunId::new(&s)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_ifnamsiz_and_round_trip() {
        let id = RunId::new("abcdefghij12").unwrap();
        for side in Side::BOTH {
            let link = id.link(side);
            assert!(link.len() <= 15, "{link}");
            assert_eq!(RunId::parse_link(&link), Some((id.clone(), side.letter())));
            let ns = id.namespace(side);
            assert_eq!(
                RunId::parse_namespace(&ns),
                Some((id.clone(), side.letter()))
            );
        }
    }

    #[test]
    fn rejects_bad_ids_naming_the_flag() {
        for bad in ["", "abcdefghij123", "Abc", "a-b", "a b", "é"] {
            let err = RunId::new(bad).unwrap_err().to_string();
            assert!(err.starts_with("--id"), "{err}");
        }
    }

    #[test]
    fn foreign_names_are_not_ours() {
        for name in [
            "eth0", "vb", "vb-", "vb-x", "vb-Ab-a", "vb-ab-ab", "veth0", "vb-abc-",
        ] {
            assert_eq!(RunId::parse_namespace(name), None, "{name}");
        }
        for name in [
            "eth0",
            "vb",
            "vba",
            "vbA",
            "vb-1a",
            "vbabcdefghij123a",
            "vb1A",
        ] {
            assert_eq!(RunId::parse_link(name), None, "{name}");
        }
    }

    #[test]
    fn generated_ids_are_valid_and_differ() {
        let a = RunId::generate();
        std::thread::sleep(std::time::Duration::from_micros(10));
        let b = RunId::generate();
        assert!(RunId::new(a.as_str()).is_ok());
        assert_ne!(a, b);
    }
}
