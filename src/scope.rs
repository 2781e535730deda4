//! `Scope` and `ScopeSet` (RFC 6749 §3.3): parse, subset, canonical string.
//!
//! Both are reference-counted inside, so the copies every issued token keeps
//! of its client's scope cost no allocation.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use crate::conversions::{ParseError, serde_as_str, try_from_str};

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(Arc<str>);

/// Checks that `s` is one well-formed scope token.
fn check_scope_token(s: &str) -> Result<(), ParseError> {
    let err = |reason| Err(ParseError::new("scope", reason));
    if s.is_empty() {
        return err("is empty");
    }
    for b in s.bytes() {
        match b {
            0x21 | 0x23..=0x5B | 0x5D..=0x7E => {}
            b' ' => return err("contains a space (scopes are separated by spaces)"),
            b'"' | b'\\' => return err("contains '\"' or '\\'"),
            _ => return err("contains a character outside visible ASCII"),
        }
    }
    Ok(())
}

impl Scope {
    /// Parses one scope token; `None` if it is not one. `str::parse` and
    /// `TryFrom` say what is wrong.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The scope token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Scope {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        check_scope_token(s)?;
        Ok(Self(s.into()))
    }
}

/// A set of scopes, kept sorted and without duplicates so that its string
/// form is canonical.
///
/// Cloning shares the scopes (no allocation); the empty set holds none.
#[derive(Clone, Default)]
pub struct ScopeSet(Option<Arc<[Scope]>>);

impl ScopeSet {
    /// The empty set.
    pub const fn empty() -> Self {
        Self(None)
    }

    /// A set from scopes already sorted and without duplicates.
    fn from_sorted(scopes: Vec<Scope>) -> Self {
        if scopes.is_empty() {
            Self(None)
        } else {
            Self(Some(scopes.into()))
        }
    }

    fn as_slice(&self) -> &[Scope] {
        self.0.as_deref().unwrap_or_default()
    }

    /// Parses a space-delimited scope list. Repeated spaces and repeated
    /// scopes are tolerated; any invalid character refuses the whole list.
    /// `None` if it is not a list; `str::parse` and `TryFrom` say why.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// Builds a set from scopes.
    pub fn from_scopes(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let mut v: Vec<Scope> = scopes.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        Self::from_sorted(v)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// The position of `scope` in the set.
    fn position(&self, scope: &str) -> Option<usize> {
        self.as_slice()
            .binary_search_by(|s| s.as_str().cmp(scope))
            .ok()
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.position(scope).is_some()
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.as_slice().iter().all(|s| other.contains(s.as_str()))
    }

    /// The scopes of `self` that are not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        Self::from_sorted(
            self.as_slice()
                .iter()
                .filter(|s| !other.contains(s.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// The scopes in both sets. When `self` is within `other` the result is
    /// `self` itself (shared, no allocation).
    pub fn intersection(&self, other: &Self) -> Self {
        if self.is_subset_of(other) {
            return self.clone();
        }
        Self::from_sorted(
            self.as_slice()
                .iter()
                .filter(|s| other.contains(s.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// The union of both sets.
    pub fn union(&self, other: &Self) -> Self {
        Self::from_scopes(self.as_slice().iter().chain(other.as_slice()).cloned())
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.as_slice().iter()
    }

    /// `ScopeSet::parse(requested)` if that is within `allowed`, else `None`.
    /// The scopes are shared with `allowed`; when the request names exactly
    /// `allowed` or `preferred`, the result is that set itself, so nothing is
    /// allocated.
    pub(crate) fn parse_within(
        requested: &str,
        allowed: &Self,
        preferred: Option<&Self>,
    ) -> Option<Self> {
        let all = allowed.as_slice();
        if all.len() > 64 {
            return Self::parse(requested).filter(|s| s.is_subset_of(allowed));
        }
        // Bit i is set when the request names `all[i]`. A malformed token is
        // never in `allowed`, so it is refused like any other stranger.
        let mut named = 0u64;
        for part in requested.split(' ').filter(|p| !p.is_empty()) {
            named |= 1u64 << allowed.position(part)?;
        }
        let count = named.count_ones() as usize;
        if count == all.len() {
            return Some(allowed.clone());
        }
        if let Some(p) = preferred {
            let same = p.len() == count
                && p.iter().all(|s| {
                    allowed
                        .position(s.as_str())
                        .is_some_and(|i| named & (1u64 << i) != 0)
                });
            if same {
                return Some(p.clone());
            }
        }
        Some(Self::from_sorted(
            all.iter()
                .enumerate()
                .filter(|(i, _)| named & (1u64 << i) != 0)
                .map(|(_, s)| s.clone())
                .collect(),
        ))
    }

    /// Writes the space-delimited canonical form into `out`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        for (i, s) in self.as_slice().iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(s.as_str().as_bytes());
        }
    }
}

impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for ScopeSet {}

impl Hash for ScopeSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

/// Shows the scopes as a list, as `ScopeSet([Scope("a"), …])`.
impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScopeSet").field(&self.as_slice()).finish()
    }
}

impl FromStr for ScopeSet {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut scopes = Vec::new();
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            scopes.push(part.parse::<Scope>()?);
        }
        scopes.sort_unstable();
        scopes.dedup();
        Ok(Self::from_sorted(scopes))
    }
}

try_from_str!(Scope, ScopeSet);
serde_as_str!(Scope, ScopeSet);

/// The canonical space-delimited form (RFC 6749 §3.3), sorted: parsing it
/// gives back the same set.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.as_slice().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_canonical() {
        let s = ScopeSet::parse("write  read read").unwrap();
        assert_eq!(s.to_string(), "read write");
        assert!(ScopeSet::parse("a\"b").is_none());
        assert!(ScopeSet::parse("a\\b").is_none());
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn parse_within_is_parse_then_subset() {
        let all = ScopeSet::parse("a b c").unwrap();
        let default = ScopeSet::parse("b").unwrap();
        for req in [
            "", " ", "a", "b", "c b", "a b c", "c  a b a", "a d", "d", "a\"b", "b b", "A",
        ] {
            let expected = ScopeSet::parse(req).filter(|s| s.is_subset_of(&all));
            assert_eq!(
                ScopeSet::parse_within(req, &all, Some(&default)),
                expected,
                "{req:?}"
            );
            assert_eq!(ScopeSet::parse_within(req, &all, None), expected, "{req:?}");
        }
        assert_eq!(ScopeSet::parse_within("a", &ScopeSet::empty(), None), None);
        assert_eq!(
            ScopeSet::parse_within(" ", &ScopeSet::empty(), None),
            Some(ScopeSet::empty())
        );
        // The whole set and the preferred set come back shared.
        let same = ScopeSet::parse_within("c b a", &all, None).unwrap();
        assert!(
            same.0
                .as_ref()
                .zip(all.0.as_ref())
                .is_some_and(|(x, y)| Arc::ptr_eq(x, y))
        );
        let pref = ScopeSet::parse_within("b", &all, Some(&default)).unwrap();
        assert!(
            pref.0
                .as_ref()
                .zip(default.0.as_ref())
                .is_some_and(|(x, y)| Arc::ptr_eq(x, y))
        );
        // More than 64 allowed scopes take the general path.
        let many = ScopeSet::parse(
            &(0..70)
                .map(|i| format!("s{i}"))
                .collect::<Vec<_>>()
                .join(" "),
        )
        .unwrap();
        assert_eq!(
            ScopeSet::parse_within("s3 s69", &many, None),
            ScopeSet::parse("s69 s3")
        );
        assert_eq!(ScopeSet::parse_within("s3 x", &many, None), None);
    }

    #[test]
    fn empty_set_forms_are_equal() {
        let parsed = ScopeSet::parse("  ").unwrap();
        assert_eq!(parsed, ScopeSet::empty());
        assert_eq!(ScopeSet::default(), ScopeSet::empty());
        assert_eq!(
            format!("{:?}", ScopeSet::parse("b a").unwrap()),
            r#"ScopeSet([Scope("a"), Scope("b")])"#
        );
        assert_eq!(format!("{:?}", ScopeSet::empty()), "ScopeSet([])");
    }

    #[test]
    fn subset_and_difference() {
        let all = ScopeSet::parse("a b c").unwrap();
        let ab = ScopeSet::parse("b a").unwrap();
        assert!(ab.is_subset_of(&all));
        assert!(!all.is_subset_of(&ab));
        assert_eq!(all.difference(&ab).to_string(), "c");
        let bd = ScopeSet::parse("b d").unwrap();
        assert_eq!(all.intersection(&bd).to_string(), "b");
        assert_eq!(bd.intersection(&all).to_string(), "b");
        assert!(ab.intersection(&ScopeSet::parse("d").unwrap()).is_empty());
        let shared = ab.intersection(&all);
        assert!(
            shared
                .0
                .as_ref()
                .zip(ab.0.as_ref())
                .is_some_and(|(x, y)| Arc::ptr_eq(x, y))
        );
        assert_eq!(
            ab.union(&ScopeSet::parse("d").unwrap()).to_string(),
            "a b d"
        );
    }
}
