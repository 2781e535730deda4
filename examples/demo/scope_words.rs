//! The scopes in words, for the consent page: what a person is agreeing to,
//! rather than the protocol's tokens. The standard OpenID Connect scopes
//! (Core 5.4 and 11) are described here; a seed file may describe its own
//! scopes (and reword the standard ones) in `scope_descriptions`
//! (`{"read": "Read your documents"}`). A scope with no words is shown by
//! its name.

use std::collections::HashMap;

/// The words of the standard scopes.
const STANDARD: [(&str, &str); 6] = [
    ("openid", "Confirm who you are"),
    ("profile", "See your name and basic profile"),
    ("email", "See your email address"),
    ("address", "See your postal address"),
    ("phone", "See your phone number"),
    ("offline_access", "Keep access while you are away"),
];

/// Scope value to the words shown for it.
pub(crate) struct ScopeWords {
    words: HashMap<String, String>,
}

impl ScopeWords {
    /// The standard scopes' words, then those of `configured`, which win.
    pub(crate) fn new<'a>(configured: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut words: HashMap<String, String> = STANDARD
            .iter()
            .map(|(s, w)| ((*s).to_owned(), (*w).to_owned()))
            .collect();
        for (scope, text) in configured {
            // Blank words would show an empty line: keep the name instead.
            if !text.trim().is_empty() {
                words.insert(scope.clone(), text.clone());
            }
        }
        Self { words }
    }

    /// The words for `scope`, if any were given.
    pub(crate) fn describe(&self, scope: &str) -> Option<&str> {
        self.words.get(scope).map(String::as_str)
    }
}
