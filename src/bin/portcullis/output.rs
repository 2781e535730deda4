//! What a command prints: its JSON document, its table, and notes for stderr.

use serde::Serialize;

use crate::Failure;

/// A command's result, in both formats.
pub(crate) struct Output {
    /// Rendered at once, so fields keep their declared order.
    json: String,
    text: String,
    notes: Vec<String>,
}

impl Output {
    /// The result `value` (serialized for `--format json`) and its table.
    pub(crate) fn new(value: &impl Serialize, text: String) -> Result<Self, Failure> {
        let json = serde_json::to_string_pretty(value)
            .map_err(|e| Failure::Store(format!("cannot encode the result: {e}")))?;
        Ok(Self {
            json,
            text,
            notes: Vec::new(),
        })
    }

    /// Adds a note printed on stderr (never part of the JSON).
    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Pretty-printed JSON, with a final newline.
    pub(crate) fn json(&self) -> String {
        format!("{}\n", self.json)
    }

    /// The JSON document as YAML, with a final newline.
    pub(crate) fn yaml(&self) -> Result<String, serde_json::Error> {
        crate::yaml::from_json(&self.json)
    }

    /// The table, with a final newline.
    pub(crate) fn text(&self) -> String {
        let mut s = self.text.clone();
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    }

    /// Notes for stderr.
    pub(crate) fn notes(&self) -> &[String] {
        &self.notes
    }
}

/// Columns padded to their widest cell; `empty` when there are no rows.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `name  value` lines, names padded to the longest.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(format!("{k:<width$}  {v}").trim_end());
        out.push('\n');
    }
    out
}

/// A list for a table cell: space-separated, `-` when empty.
pub(crate) fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "-".to_owned();
    }
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An optional value for a table cell, `-` when absent.
pub(crate) fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Unix seconds as RFC 3339 UTC (`2025-01-31T12:00:00Z`), for tables.
pub(crate) fn time(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An optional time for a table cell.
pub(crate) fn opt_time(secs: Option<u64>) -> String {
    secs.map_or_else(|| "-".to_owned(), time)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        assert_eq!(time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(time(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(time(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["A", "LONGER"],
            &[
                vec!["xyz".into(), "1".into()],
                vec!["q".into(), "22".into()],
            ],
            "none",
        );
        assert_eq!(t, "A    LONGER\nxyz  1\nq    22\n");
        assert_eq!(table(&["A"], &[], "none"), "none\n");
    }
}
