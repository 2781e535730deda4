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
    match parse_lenient(input, names) {
        (values, None) => Ok(values),
        (_, Some(fault)) => Err(fault),
    }
}

/// Like [`parse`], but reads the whole input and reports the first fault
/// beside the values (first occurrence wins), so the authorization endpoint
/// can still tell where to send the error (AZ-03 vs AZ-04).
pub(crate) fn parse_lenient<'a, const N: usize>(
    input: &'a [u8],
    names: &[&'static str; N],
) -> ([Option<Cow<'a, str>>; N], Option<Error>) {
    let mut out: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut seen = [false; N];
    let mut fault = None;
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
        let decoded = decode(raw_name).and_then(|name| Ok((name, decode(raw_value)?)));
        let (name, value) = match decoded {
            Ok(nv) => nv,
            Err(e) => {
                fault.get_or_insert(e);
                continue;
            }
        };
        // Unknown parameters are ignored (RFC 6749 §3.1).
        let Some(slot) = names.iter().position(|n| *n == name) else {
            continue;
        };
        let (Some(seen_slot), Some(out_slot), Some(param)) =
            (seen.get_mut(slot), out.get_mut(slot), names.get(slot))
        else {
            continue;
        };
        if *seen_slot {
            fault.get_or_insert(Error::InvalidRequest(RequestFault::DuplicateParameter(
                param,
            )));
            continue;
        }
        *seen_slot = true;
        if !value.is_empty() {
            *out_slot = Some(value);
        }
    }
    (out, fault)
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
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| malformed())
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
