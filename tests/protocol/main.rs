//! Protocol tests through the public API.
