//! `--format yaml`: the command's JSON document written as YAML 1.2 block
//! style, with the same fields in the same order (no new dependency:
//! `serde_yaml` is deprecated, and a JSON document needs only a small
//! emitter). Strings that YAML could read as something else (`true`,
//! `null`, `0`, `- x`, `a: b`, text with `#`, quotes or control
//! characters, ...) are double-quoted with JSON's escapes, which YAML's
//! double-quoted style reads the same way.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value that keeps the order of object members (`serde_json::Value`
/// sorts them without its `preserve_order` feature).
enum Ordered {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Self>),
    Object(Vec<(String, Self)>),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_none<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Ordered, D::Error> {
                Ordered::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Ordered, E> {
                Ok(Ordered::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Ordered, E> {
                Ok(Ordered::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Ordered, E> {
                Ok(Ordered::Number(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Ordered, E> {
                Ok(serde_json::Number::from_f64(n).map_or(Ordered::Null, Ordered::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Ordered, E> {
                Ok(Ordered::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Ordered, E> {
                Ok(Ordered::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Ordered>()? {
                    members.push((k, v));
                }
                Ok(Ordered::Object(members))
            }
        }
        d.deserialize_any(V)
    }
}

/// The JSON document `json` as YAML, ending with a newline.
pub(crate) fn from_json(json: &str) -> Result<String, serde_json::Error> {
    let value: Ordered = serde_json::from_str(json)?;
    let mut out = String::new();
    match &value {
        Ordered::Array(items) if !items.is_empty() => block(&value, 0, &mut out),
        Ordered::Object(members) if !members.is_empty() => block(&value, 0, &mut out),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    Ok(out)
}

/// Whether `v` is written on the line of its key or dash.
fn is_inline(v: &Ordered) -> bool {
    match v {
        Ordered::Array(items) => items.is_empty(),
        Ordered::Object(members) => members.is_empty(),
        _ => true,
    }
}

/// A scalar, or an empty array or object, on one line.
fn inline(v: &Ordered) -> String {
    match v {
        Ordered::Null => "null".to_owned(),
        Ordered::Bool(b) => b.to_string(),
        Ordered::Number(n) => n.to_string(),
        Ordered::String(s) => string(s),
        Ordered::Array(_) => "[]".to_owned(),
        Ordered::Object(_) => "{}".to_owned(),
    }
}

/// A non-empty array or object, in block style, each line indented by
/// `indent` spaces.
fn block(v: &Ordered, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Ordered::Object(members) => {
            for (k, child) in members {
                if is_inline(child) {
                    let _ = writeln!(out, "{pad}{}: {}", string(k), inline(child));
                } else {
                    let _ = writeln!(out, "{pad}{}:", string(k));
                    block(child, indent + 2, out);
                }
            }
        }
        Ordered::Array(items) => {
            for item in items {
                if is_inline(item) {
                    let _ = writeln!(out, "{pad}- {}", inline(item));
                } else {
                    // The item's block, its first line behind the dash.
                    let mut inner = String::new();
                    block(item, indent + 2, &mut inner);
                    let rest = inner.get(indent + 2..).unwrap_or_default();
                    let _ = write!(out, "{pad}- {rest}");
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", inline(scalar));
        }
    }
}

/// Words YAML reads as booleans or null (1.1 and 1.2 core schema).
const RESERVED: [&str; 12] = [
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "none", "nan",
];

/// A string as a plain scalar when YAML reads it back as the same string,
/// else double-quoted (JSON's escapes are YAML's).
fn string(s: &str) -> String {
    let first_ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '_');
    let chars_ok = s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || " _./:@+=~-()".contains(c)
            || (!c.is_ascii() && c.is_alphanumeric())
    });
    let plain = first_ok
        && chars_ok
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_owned()
    } else {
        serde_json::Value::from(s).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_style_in_json_order() {
        let json = r#"{"z": 1, "a": [], "m": {}, "list": ["x", {"k": "v", "w": [1, 2]}],
                      "o": {"inner": null, "b": true}, "s": "read write"}"#;
        assert_eq!(
            from_json(json).unwrap(),
            "z: 1\na: []\nm: {}\nlist:\n  - x\n  - k: v\n    w:\n      - 1\n      - 2\n\
             o:\n  inner: null\n  b: true\ns: read write\n"
        );
        assert_eq!(from_json("[]").unwrap(), "[]\n");
        assert_eq!(
            from_json(r#"[{"a": 1}, {"a": 2}]"#).unwrap(),
            "- a: 1\n- a: 2\n"
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for (s, written) in [
            ("https://a.example/cb", "https://a.example/cb"),
            ("client_secret_basic", "client_secret_basic"),
            ("Billing service", "Billing service"),
            ("", "\"\""),
            ("true", "\"true\""),
            ("No", "\"No\""),
            ("null", "\"null\""),
            ("0", "\"0\""),
            ("4f3a", "\"4f3a\""),
            ("-x", "\"-x\""),
            ("a: b", "\"a: b\""),
            ("a #b", "\"a #b\""),
            ("x:", "\"x:\""),
            ("tab\there", "\"tab\\there\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("it's", "\"it's\""),
            ("*ref", "\"*ref\""),
            ("{x}", "\"{x}\""),
            ("Alice Adams", "Alice Adams"),
            ("Zoë", "Zoë"),
            ("a\u{2028}b", "\"a\u{2028}b\""),
            ("\u{feff}x", "\"\u{feff}x\""),
        ] {
            assert_eq!(string(s), written, "{s:?}");
        }
    }
}
