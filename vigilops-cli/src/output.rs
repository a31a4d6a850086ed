//! Rendering data for stdout: aligned tables with optional colour, or pretty JSON, plus the
//! small formatting helpers the commands share.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Whether to emit ANSI colour codes: only to a terminal, and never when `NO_COLOR` is set to a
/// non-empty value (<https://no-color.org>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    color: bool,
}

/// The colours a cell or message can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Plain,
    Good,
    Bad,
}

impl Style {
    /// A style that never colours.
    pub(crate) const PLAIN: Self = Self { color: false };

    /// The style for a stream that is (or is not) a terminal, given the `NO_COLOR` value.
    pub(crate) fn detect(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Self {
        let disabled = no_color.is_some_and(|value| !value.is_empty());
        Self {
            color: is_terminal && !disabled,
        }
    }

    /// The style for stdout.
    pub(crate) fn stdout() -> Self {
        Self::detect(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// The style for stderr.
    pub(crate) fn stderr() -> Self {
        Self::detect(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// `text` wrapped in the colour of `tone`.
    pub(crate) fn paint(self, text: &str, tone: Tone) -> String {
        let code = match tone {
            Tone::Plain => return text.to_owned(),
            Tone::Good => "32",
            Tone::Bad => "31",
        };
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `text` in bold.
    pub(crate) fn bold(self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// One table cell: its text and colour.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    text: String,
    tone: Tone,
}

impl Cell {
    /// A cell coloured by `tone`.
    pub(crate) fn toned(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::toned(text, Tone::Plain)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::toned(text, Tone::Plain)
    }
}

/// A table with a header row; columns are as wide as their widest cell.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these column headers.
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are blank and extra cells are dropped.
    pub(crate) fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, each ending in `\n`.
    pub(crate) fn render(&self, style: Style) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.text.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<Cell> = self
            .headers
            .iter()
            .map(|header| Cell::from(*header))
            .collect();
        for (index, row) in std::iter::once(&header).chain(&self.rows).enumerate() {
            let mut line = String::new();
            for (column, width) in widths.iter().enumerate() {
                let cell = row.get(column);
                let text = cell.map_or("", |cell| cell.text.as_str());
                let last = column + 1 == columns;
                // Pad before painting so escape codes never count towards the width.
                let padding = if last {
                    0
                } else {
                    width - text.chars().count() + 2
                };
                let painted = if index == 0 {
                    style.bold(text)
                } else {
                    style.paint(text, cell.map_or(Tone::Plain, |cell| cell.tone))
                };
                line.push_str(&painted);
                line.push_str(&" ".repeat(padding));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Key/value lines (`key: value`), with aligned values, for a single object.
pub(crate) fn render_fields(fields: &[(&str, Cell)], style: Style) -> String {
    let width = fields
        .iter()
        .map(|(key, _)| key.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (key, value) in fields {
        let padding = width - key.chars().count();
        out.push_str(&style.bold(&format!("{key}:")));
        out.push_str(&" ".repeat(padding + 1));
        out.push_str(&style.paint(&value.text, value.tone));
        out.push('\n');
    }
    out
}

/// Writes `text` to stdout as is.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Writes `value` to stdout as pretty JSON followed by a newline.
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print(&text)
}

/// A time as `2026-11-27 01:31:30Z`; `-` when absent.
pub(crate) fn time(value: Option<&DateTime<Utc>>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |value| value.format("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}

/// A number with one decimal and a unit; `-` when absent.
pub(crate) fn number(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.1}{unit}"))
}

/// An optional text; `-` when absent or empty.
pub(crate) fn text(value: Option<&str>) -> String {
    match value {
        Some(value) if !value.is_empty() => value.to_owned(),
        _ => "-".to_owned(),
    }
}

/// The colour of a status word: green when healthy, red when not.
pub(crate) fn status_tone(status: &str) -> Tone {
    match status {
        "ok" | "online" | "active" | "up" => Tone::Good,
        "offline" | "degraded" | "error" | "revoked" | "down" => Tone::Bad,
        _ => Tone::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        let check = |is_terminal: bool, no_color: Option<&str>, expected: bool| {
            let style = Style::detect(is_terminal, no_color.map(OsStr::new));
            assert_eq!(
                style.paint("x", Tone::Good) != "x",
                expected,
                "terminal={is_terminal} NO_COLOR={no_color:?}"
            );
        };
        check(true, None, true);
        check(true, Some(""), true);
        check(true, Some("1"), false);
        check(false, None, false);
    }

    #[test]
    fn tables_align_columns_and_trim_trailing_space() {
        let mut table = Table::new(&["ID", "HOSTNAME", "STATUS"]);
        table.row(vec!["1".into(), "web-1".into(), "online".into()]);
        table.row(vec!["12".into(), "db".into()]);
        assert_eq!(
            table.render(Style::PLAIN),
            "ID  HOSTNAME  STATUS\n1   web-1     online\n12  db\n"
        );
    }

    #[test]
    fn colour_codes_do_not_break_alignment() {
        let style = Style::detect(true, None);
        let mut table = Table::new(&["STATUS", "NAME"]);
        table.row(vec![Cell::toned("ok", Tone::Good), "a".into()]);
        let rendered = table.render(style);
        let second_line = rendered.lines().nth(1).unwrap();
        assert_eq!(second_line, "\x1b[32mok\x1b[0m      a");
    }

    #[test]
    fn fields_align_their_values() {
        let rendered = render_fields(
            &[("id", "7".into()), ("hostname", "web-1".into())],
            Style::PLAIN,
        );
        assert_eq!(rendered, "id:       7\nhostname: web-1\n");
    }

    #[test]
    fn absent_values_show_as_a_dash() {
        assert_eq!(time(None), "-");
        assert_eq!(number(None, "%"), "-");
        assert_eq!(number(Some(12.345), "%"), "12.3%");
        assert_eq!(text(Some("")), "-");
    }
}
