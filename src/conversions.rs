//! Standard conversions for the public newtypes and enums: the one
//! [`ParseError`] every `FromStr`/`TryFrom` impl returns, the macros that
//! derive `TryFrom<&str>`/`TryFrom<String>` (and, behind the `serde` feature,
//! `Serialize`/`Deserialize` as strings) from `FromStr` and `Display`, and
//! the serde form of durations.

/// Why a string is not a valid value of one of this crate's types.
///
/// The message names the type and what is wrong, e.g. `client id: contains
/// a control character`. It never repeats the input, so parsing a secret
/// (a code verifier, a secret hash) cannot leak it into a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct ParseError {
    what: &'static str,
    reason: &'static str,
}

impl ParseError {
    pub(crate) const fn new(what: &'static str, reason: &'static str) -> Self {
        Self { what, reason }
    }

    /// What was being parsed, e.g. `"client id"`.
    pub const fn what(&self) -> &'static str {
        self.what
    }

    /// What is wrong with it, e.g. `"contains a control character"`.
    pub const fn reason(&self) -> &'static str {
        self.reason
    }
}

/// `TryFrom<&str>` and `TryFrom<String>` through the type's `FromStr`.
macro_rules! try_from_str {
    ($($t:ty),+ $(,)?) => {$(
        impl TryFrom<&str> for $t {
            type Error = $crate::conversions::ParseError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl TryFrom<String> for $t {
            type Error = $crate::conversions::ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    )+};
}
pub(crate) use try_from_str;

/// Behind the `serde` feature: `Serialize` as the `Display` string and
/// `Deserialize` through `FromStr`, so a deserialised value is as valid as a
/// parsed one.
macro_rules! serde_as_str {
    ($($t:ty),+ $(,)?) => {$(
        #[cfg(feature = "serde")]
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        #[cfg(feature = "serde")]
        $crate::conversions::deserialize_from_str!($t);
    )+};
}
pub(crate) use serde_as_str;

/// Behind the `serde` feature: `Deserialize` through `FromStr` only (for
/// types that must not be written out, such as a code verifier).
macro_rules! deserialize_from_str {
    ($($t:ty),+ $(,)?) => {$(
        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )+};
}
pub(crate) use deserialize_from_str;

/// Durations in configuration and client documents (feature `serde`):
/// written as whole seconds (`3600`); read from whole seconds or from a
/// string of number-unit pairs with units `s`, `m`, `h`, `d` (`"90s"`,
/// `"15m"`, `"1h30m"`, `"30d"`). Fractions of a second are dropped when
/// written, since every lifetime is counted in whole seconds.
#[cfg(feature = "serde")]
pub(crate) mod duration_secs {
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(Secs)
    }

    struct Secs;

    impl Visitor<'_> for Secs {
        type Value = Duration;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("whole seconds, or a duration such as \"15m\" or \"1h30m\"")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::custom("duration: is negative"))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            super::parse_duration(v).map_err(E::custom)
        }
    }

    /// The same for `Option<Duration>`: `null` or absent is `None`.
    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&d.as_secs()),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Duration);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(d)| d))
        }
    }
}

/// Parses `"90"`, `"90s"`, `"15m"`, `"1h30m"`, `"30d"`: whole seconds, or
/// number-unit pairs with units `s`, `m`, `h` and `d`.
#[cfg(any(feature = "serde", test))]
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, ParseError> {
    const WHAT: &str = "duration";
    let s = s.trim();
    if s.is_empty() {
        return Err(ParseError::new(WHAT, "is empty"));
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let overflow = ParseError::new(WHAT, "is too long");
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let n: u64 = number
            .parse()
            .map_err(|_| ParseError::new(WHAT, "expected a number before each unit"))?;
        let mut units = after.chars();
        let unit = match units.next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86_400,
            _ => return Err(ParseError::new(WHAT, "expected a unit: s, m, h or d")),
        };
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or(overflow)?;
        rest = units.as_str();
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_from_seconds_and_units() {
        for (text, secs) in [
            ("0", 0),
            ("90", 90),
            ("90s", 90),
            ("15m", 900),
            ("1h30m", 5400),
            ("30d", 2_592_000),
            (" 2h ", 7200),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for (text, reason) in [
            ("", "is empty"),
            ("1x", "expected a unit: s, m, h or d"),
            ("h", "expected a number before each unit"),
            ("1h 30m", "expected a number before each unit"),
            ("-5", "expected a number before each unit"),
            (
                "99999999999999999999d",
                "expected a number before each unit",
            ),
            ("999999999999999d", "is too long"),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert_eq!(err.reason(), reason, "{text}");
            assert_eq!(err.to_string(), format!("duration: {reason}"));
        }
    }
}
