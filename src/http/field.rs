//! Header fields the core may write: the validity rules every header of a
//! [`super::Response`] is checked against where it is set, so that no
//! adapter ever meets a name or value its framework would refuse.
//!
//! The rules are those of RFC 9110 §5 as the `http` crate (and so axum,
//! hyper and actix-web) applies them: a name is a non-empty token; a value
//! holds no control character but horizontal tab (no CR, LF or NUL, which
//! would split or cut the header) and no DEL.

/// A header name or value the core refuses to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidHeader {
    /// The name is empty or holds a character outside RFC 9110's `tchar`.
    #[error("header name {0:?} is not an HTTP token")]
    Name(&'static str),
    /// The value of this header holds CR, LF, NUL, another control
    /// character or DEL. The value itself is not kept: it may be a secret.
    #[error("the value of header {0:?} holds a character HTTP forbids")]
    Value(&'static str),
}

/// RFC 9110 §5.6.2 `tchar`.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `name` is a valid header name (a non-empty token).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_tchar)
}

/// Whether `value` is a valid header value: tab, space, visible ASCII and
/// bytes of non-ASCII characters; no other control character, no DEL.
pub(crate) fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Checks one header before it is set.
pub(crate) fn check(name: &'static str, value: &str) -> Result<(), InvalidHeader> {
    if !valid_name(name) {
        return Err(InvalidHeader::Name(name));
    }
    if !valid_value(value) {
        return Err(InvalidHeader::Value(name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tokens() {
        assert!(valid_name("WWW-Authenticate"));
        assert!(valid_name("x_custom.1"));
        for bad in ["", "Bad Name", "a:b", "a\r\nb", "caf\u{e9}", "a\"b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn values_refuse_line_breaks_nul_and_controls() {
        assert!(valid_value("Bearer realm=\"oauth\", scope=\"a b\""));
        assert!(valid_value("a\tb"));
        assert!(valid_value(""));
        for bad in [
            "a\rb",
            "a\nb",
            "a\r\nSet-Cookie: x=1",
            "a\0b",
            "a\u{7f}",
            "a\u{1b}b",
        ] {
            assert!(!valid_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_error_never_carries_the_value() {
        let e = check("Location", "https://x/?code=SECRET\r\n").unwrap_err();
        assert_eq!(e, InvalidHeader::Value("Location"));
        assert!(!e.to_string().contains("SECRET"));
    }
}
