//! Strict `application/x-www-form-urlencoded` parsing (also used for query
//! strings): one pass, no allocation unless a value is percent-encoded.
//!
//! Rules: a known parameter sent twice is `invalid_request` (TOK-03, AZ-09);
//! an empty value counts as absent; unknown parameters are ignored; values
//! must decode to UTF-8.

use std::borrow::Cow;

use crate::error::{Error, RequestFault};

/// Parses `input` and returns the value of each name in `names`, in order.
pub(crate) fn parse<'a, const N: usize>(
    input: &'a [u8],
    names: &[&'static str; N],
) -> Result<[Option<Cow<'a, str>>; N], Error> {
    let mut out: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut seen = [false; N];
    for pair in input.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (
                pair.get(..i).unwrap_or_default(),
                pair.get(i + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        let name = decode(raw_name)?;
        let Some(slot) = names.iter().position(|n| *n == name) else {
            // Unknown parameters are ignored (RFC 6749 §3.1), but must still be
            // well-formed so garbage is refused consistently.
            decode(raw_value)?;
            continue;
        };
        let (Some(seen_slot), Some(out_slot), Some(param)) =
            (seen.get_mut(slot), out.get_mut(slot), names.get(slot))
        else {
            continue;
        };
        if *seen_slot {
            return Err(Error::InvalidRequest(RequestFault::DuplicateParameter(param)));
        }
        *seen_slot = true;
        let value = decode(raw_value)?;
        if !value.is_empty() {
            *out_slot = Some(value);
        }
    }
    Ok(out)
}

/// Percent-decodes one name or value, `+` meaning space, and checks UTF-8.
pub(crate) fn decode(raw: &[u8]) -> Result<Cow<'_, str>, Error> {
    let malformed = || Error::InvalidRequest(RequestFault::MalformedEncoding);
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| malformed());
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|c| hex(*c));
                let lo = raw.get(i + 2).and_then(|c| hex(*c));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(malformed()),
                }
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| malformed())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["grant_type", "scope", "code"];

    #[test]
    fn parses_known_parameters_and_ignores_unknown() {
        let [g, s, c] = parse(b"grant_type=a+b&x=1&scope=r%20w&code=", &NAMES).unwrap();
        assert_eq!(g.as_deref(), Some("a b"));
        assert_eq!(s.as_deref(), Some("r w"));
        // covers: TOK-03 (empty value is absent)
        assert_eq!(c, None);
    }

    #[test]
    fn duplicate_known_parameter_is_invalid_request() {
        // covers: TOK-03
        let e = parse(b"scope=a&scope=b", &NAMES).unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidRequest(RequestFault::DuplicateParameter("scope"))
        ));
        // Duplicate unknown parameters are ignored.
        assert!(parse(b"x=1&x=2", &NAMES).is_ok());
        // An empty duplicate still counts as sent twice.
        assert!(parse(b"scope=&scope=b", &NAMES).is_err());
    }

    #[test]
    fn bad_encoding_is_refused() {
        assert!(parse(b"scope=%zz", &NAMES).is_err());
        assert!(parse(b"scope=%", &NAMES).is_err());
        assert!(parse(b"scope=%ff", &NAMES).is_err());
        assert!(parse(b"scope=\xff", &NAMES).is_err());
    }
}
