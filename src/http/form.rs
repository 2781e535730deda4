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
    let slot = |name: &str| names.iter().position(|n| *n == name);
    match std::str::from_utf8(input) {
        // The usual case: one UTF-8 check for the whole input, after which
        // a part without escapes needs none of its own, and a name that is
        // one of `names` as sent needs no decoding (`names` have no escapes).
        Ok(text) => assign(
            text.split('&').filter(|p| !p.is_empty()).map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let at = match slot(name) {
                    Some(i) => Some(i),
                    None if has_escapes(name.as_bytes()) => slot(&decode(name.as_bytes())?),
                    None => None,
                };
                let value = if has_escapes(value.as_bytes()) {
                    decode(value.as_bytes())?
                } else {
                    Cow::Borrowed(value)
                };
                Ok((at, value))
            }),
            names,
        ),
        Err(_) => assign(
            input
                .split(|&b| b == b'&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (name, value) = match pair.iter().position(|&b| b == b'=') {
                        Some(i) => (
                            pair.get(..i).unwrap_or_default(),
                            pair.get(i + 1..).unwrap_or_default(),
                        ),
                        None => (pair, &[][..]),
                    };
                    let at = slot(&decode(name)?);
                    Ok((at, decode(value)?))
                }),
            names,
        ),
    }
}

/// Every non-empty value of the repeatable parameter `name` (RFC 8707's
/// `resource`), in order; the other parameters are ignored here (the strict
/// [`parse`] reads them). Malformed encoding is `invalid_request`.
pub(crate) fn values_of<'a>(input: &'a [u8], name: &str) -> Result<Vec<Cow<'a, str>>, Error> {
    let mut out = Vec::new();
    // The usual request names no such parameter: one scan, no decoding.
    if !input.windows(name.len()).any(|w| w == name.as_bytes()) && !input.contains(&b'%') {
        return Ok(out);
    }
    for pair in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (n, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (
                pair.get(..i).unwrap_or_default(),
                pair.get(i + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        if decode(n)? == name {
            let v = decode(v)?;
            if !v.is_empty() {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// Puts each value in the slot of its name: the first fault wins, a known
/// name seen twice is a fault, unknown names (no slot) are ignored (RFC 6749
/// §3.1) and an empty value counts as absent.
fn assign<'a, const N: usize>(
    pairs: impl Iterator<Item = Result<(Option<usize>, Cow<'a, str>), Error>>,
    names: &[&'static str; N],
) -> ([Option<Cow<'a, str>>; N], Option<Error>) {
    let mut out: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut seen = [false; N];
    let mut fault = None;
    for decoded in pairs {
        let (slot, value) = match decoded {
            Ok(sv) => sv,
            Err(e) => {
                fault.get_or_insert(e);
                continue;
            }
        };
        let Some(slot) = slot else {
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

/// Whether `raw` holds a `%` or a `+`, i.e. needs decoding. Without
/// branches: sixteen bytes at a time, which the compiler turns into vector
/// compares, and shorter input as two overlapping words.
pub(crate) fn has_escapes(raw: &[u8]) -> bool {
    fn block(bytes: &[u8]) -> bool {
        <&[u8; 16]>::try_from(bytes).is_ok_and(|b| {
            b.iter().fold(0, |found, b| {
                found | u8::from(*b == b'%') | u8::from(*b == b'+')
            }) != 0
        })
    }
    match raw.len() {
        0..8 => raw.iter().any(|&b| b == b'%' || b == b'+'),
        len @ 8..16 => {
            let word = |bytes: Option<&[u8]>| {
                bytes
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_le_bytes)
            };
            word_has_escape(word(raw.get(..8))) || word_has_escape(word(raw.get(len - 8..)))
        }
        len => {
            let mut chunks = raw.chunks_exact(16);
            // The last sixteen bytes overlap the last whole block if need be.
            chunks.any(block) || block(raw.get(len - 16..).unwrap_or_default())
        }
    }
}

/// Whether one of the eight bytes of `w` is `%` or `+` (the classic test
/// for a zero byte, on `w` xor each of them repeated).
fn word_has_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    has_zero(w ^ (ONES * u64::from(b'%'))) || has_zero(w ^ (ONES * u64::from(b'+')))
}

/// Percent-decodes one name or value, `+` meaning space, and checks UTF-8.
pub(crate) fn decode(raw: &[u8]) -> Result<Cow<'_, str>, Error> {
    let malformed = || Error::InvalidRequest(RequestFault::MalformedEncoding);
    if !has_escapes(raw) {
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

/// [`decode`] in place, without the UTF-8 check: rewrites `bytes` so that
/// its first `n` bytes are the decoded form and returns `n`; `None` when a
/// `%` escape is malformed. Decoding never lengthens the input.
pub(crate) fn decode_in_place(bytes: &mut [u8]) -> Option<usize> {
    if !has_escapes(bytes) {
        return Some(bytes.len());
    }
    let (mut read, mut written) = (0, 0);
    while let Some(&b) = bytes.get(read) {
        let out = match b {
            b'+' => b' ',
            b'%' => {
                let hi = bytes.get(read + 1).and_then(|c| hex(*c))?;
                let lo = bytes.get(read + 2).and_then(|c| hex(*c))?;
                read += 2;
                hi << 4 | lo
            }
            _ => b,
        };
        *bytes.get_mut(written)? = out;
        written += 1;
        read += 1;
    }
    Some(written)
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
    fn escapes_are_found_anywhere() {
        let scalar = |raw: &[u8]| raw.iter().any(|&b| b == b'%' || b == b'+');
        for len in 0..40 {
            for fill in [0u8, b'a', b'$', b'&', b'*', b',', 0x80, 0xa5, 0xab, 0xff] {
                let mut raw = vec![fill; len];
                assert_eq!(has_escapes(&raw), scalar(&raw));
                for at in 0..len {
                    for v in 0..=255u8 {
                        raw[at] = v;
                        assert_eq!(has_escapes(&raw), scalar(&raw), "{len} {fill} {at} {v}");
                    }
                    raw[at] = fill;
                }
            }
        }
    }

    #[test]
    fn decoding_in_place_matches_decode() {
        for raw in [
            &b""[..],
            b"plain",
            b"a+b",
            b"p%2Bw+d%C3%A9",
            b"%41%42",
            b"x%4",
            b"%zz",
            b"%",
            b"++%25",
        ] {
            let mut buf = raw.to_vec();
            let in_place = decode_in_place(&mut buf).map(|n| buf[..n].to_vec());
            let expected = decode(raw).ok().map(|s| s.as_bytes().to_vec());
            assert_eq!(in_place, expected, "{raw:?}");
        }
    }

    #[test]
    fn input_that_is_not_utf8_parses_the_same_part_by_part() {
        // Outside the UTF-8 fast path: a bad byte in an unknown parameter's
        // value is a fault, reported after the values around it.
        let (values, fault) = parse_lenient(b"grant_type=a&x=\xff&scope=b", &NAMES);
        assert_eq!(values[0].as_deref(), Some("a"));
        assert_eq!(values[1].as_deref(), Some("b"));
        assert!(matches!(
            fault,
            Some(Error::InvalidRequest(RequestFault::MalformedEncoding))
        ));
        let (values, fault) = parse_lenient(b"scope=%C3%A9&code=\xe9&code=1", &NAMES);
        assert_eq!(values[1].as_deref(), Some("\u{e9}"));
        // The malformed `code` did not count as sent.
        assert_eq!(values[2].as_deref(), Some("1"));
        assert!(matches!(
            fault,
            Some(Error::InvalidRequest(RequestFault::MalformedEncoding))
        ));
        // Without the bad byte, the same input goes the fast way alike.
        let (values, fault) = parse_lenient("scope=%C3%A9&code=\u{e9}&code=1".as_bytes(), &NAMES);
        assert_eq!(values[1].as_deref(), Some("\u{e9}"));
        assert_eq!(values[2].as_deref(), Some("\u{e9}"));
        assert!(matches!(
            fault,
            Some(Error::InvalidRequest(RequestFault::DuplicateParameter(
                "code"
            )))
        ));
    }

    /// The parser as it was before the fast paths: decode every name and
    /// value, then look the name up.
    fn reference<'a, const N: usize>(
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
                Some(i) => (&pair[..i], &pair[i + 1..]),
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
            let Some(slot) = names.iter().position(|n| *n == name) else {
                continue;
            };
            if seen[slot] {
                fault.get_or_insert(Error::InvalidRequest(RequestFault::DuplicateParameter(
                    names[slot],
                )));
                continue;
            }
            seen[slot] = true;
            if !value.is_empty() {
                out[slot] = Some(value);
            }
        }
        (out, fault)
    }

    #[test]
    fn fast_path_matches_the_part_by_part_parser() {
        use proptest::prelude::*;
        use proptest::test_runner::TestRunner;
        let alphabet: &[&[u8]] = &[
            b"scope",
            b"code",
            b"grant_type",
            b"x",
            b"=",
            b"&",
            b"%",
            b"+",
            b"3A",
            b"C3",
            b"A9",
            b"zz",
            b"a",
            b" ",
            b"\xc3\xa9",
            b"\xe9",
            b"\xff",
        ];
        let input = proptest::collection::vec(proptest::sample::select(alphabet), 0..24)
            .prop_map(|parts| parts.concat());
        TestRunner::default()
            .run(&input, |raw| {
                let (a, fa) = parse_lenient(&raw, &NAMES);
                let (b, fb) = reference(&raw, &NAMES);
                prop_assert_eq!(a, b);
                prop_assert_eq!(format!("{fa:?}"), format!("{fb:?}"));
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn bad_encoding_is_refused() {
        assert!(parse(b"scope=%zz", &NAMES).is_err());
        assert!(parse(b"scope=%", &NAMES).is_err());
        assert!(parse(b"scope=%ff", &NAMES).is_err());
        assert!(parse(b"scope=\xff", &NAMES).is_err());
    }
}
