//! `Scope` and `ScopeSet` (RFC 6749 §3.3): parse, subset, canonical string.

use std::fmt;

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(Box<str>);

impl Scope {
    /// Parses one scope token.
    pub fn parse(s: &str) -> Option<Self> {
        let valid = !s.is_empty()
            && s.bytes()
                .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        valid.then(|| Self(s.into()))
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

/// A set of scopes, kept sorted and without duplicates so that its string
/// form is canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    /// The empty set.
    pub const fn empty() -> Self {
        Self(Vec::new())
    }

    /// Parses a space-delimited scope list. Repeated spaces and repeated
    /// scopes are tolerated; any invalid character refuses the whole list.
    pub fn parse(s: &str) -> Option<Self> {
        let mut scopes = Vec::new();
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            scopes.push(Scope::parse(part)?);
        }
        scopes.sort_unstable();
        scopes.dedup();
        Some(Self(scopes))
    }

    /// Builds a set from scopes.
    pub fn from_scopes(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let mut v: Vec<Scope> = scopes.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        Self(v)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.binary_search_by(|s| s.as_str().cmp(scope)).is_ok()
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.0.iter().all(|s| other.contains(s.as_str()))
    }

    /// The scopes of `self` that are not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        Self(
            self.0
                .iter()
                .filter(|s| !other.contains(s.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// The union of both sets.
    pub fn union(&self, other: &Self) -> Self {
        Self::from_scopes(self.0.iter().chain(&other.0).cloned())
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Writes the space-delimited canonical form into `out`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(s.as_str().as_bytes());
        }
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
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
    fn subset_and_difference() {
        let all = ScopeSet::parse("a b c").unwrap();
        let ab = ScopeSet::parse("b a").unwrap();
        assert!(ab.is_subset_of(&all));
        assert!(!all.is_subset_of(&ab));
        assert_eq!(all.difference(&ab).to_string(), "c");
        assert_eq!(
            ab.union(&ScopeSet::parse("d").unwrap()).to_string(),
            "a b d"
        );
    }
}
