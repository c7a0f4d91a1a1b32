//! CSV for spreadsheet users (French Excel among them): UTF-8 with a byte-order mark,
//! `;` between cells, CRLF between rows, quotes only where a cell needs them, and cells
//! a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
//! prefixed with `'`, so that an export never executes what a member typed.
//!
//! ```ignore
//! let mut csv = maillage_sdk::csv::Writer::new();
//! csv.row(["Participant", "Commentaire"]);
//! csv.row(["Dr Martin", "=HYPERLINK(…)"]); // written as '=HYPERLINK(…)
//! let bytes = csv.into_bytes();
//! ```

use std::borrow::Cow;

/// Between two cells of a row.
pub const SEPARATOR: char = ';';
/// Tells spreadsheets the file is UTF-8.
pub const BOM: &str = "\u{feff}";
/// What may start a formula in a spreadsheet cell.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV document being written, row by row; it starts with the [`BOM`].
#[derive(Debug, Clone)]
pub struct Writer {
    out: String,
}

impl Default for Writer {
    fn default() -> Self {
        Writer {
            out: BOM.to_string(),
        }
    }
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one row; each cell is neutralised and quoted as needed (see [`cell`]).
    pub fn row<I>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for (i, value) in cells.into_iter().enumerate() {
            if i > 0 {
                self.out.push(SEPARATOR);
            }
            self.out.push_str(&cell(value.as_ref()));
        }
        self.out.push_str("\r\n");
        self
    }

    /// The document so far, BOM included.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    pub fn into_string(self) -> String {
        self.out
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// A value a spreadsheet would read as a formula gets a leading `'`.
pub fn neutralize(value: &str) -> Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// One cell as written: neutralised, then quoted (inner quotes doubled) when it holds
/// the separator, a quote or a line break.
pub fn cell(value: &str) -> Cow<'_, str> {
    let value = neutralize(value);
    if value.contains([SEPARATOR, '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_rows_with_bom_separator_and_quotes() {
        let mut csv = Writer::new();
        csv.row(["Participant", "jeudi 3 décembre 2026, 20:00", "Commentaire"]);
        csv.row(["Dr Chloé Martin", "Oui", "Plutôt le soir; merci"]);
        csv.row(["Bob \"le kiné\"", "", "ligne 1\nligne 2"]);
        assert_eq!(
            csv.as_str(),
            "\u{feff}Participant;jeudi 3 décembre 2026, 20:00;Commentaire\r\n\
             Dr Chloé Martin;Oui;\"Plutôt le soir; merci\"\r\n\
             \"Bob \"\"le kiné\"\"\";;\"ligne 1\nligne 2\"\r\n"
        );
        let bytes = csv.into_bytes();
        assert_eq!(bytes[..3], [0xef_u8, 0xbb, 0xbf]);
    }

    #[test]
    fn neutralizes_formulas() {
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+33 6 12"), "'+33 6 12");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tcmd"), "'\tcmd");
        assert_eq!(cell("\rcmd"), "\"'\rcmd\"");
        assert_eq!(
            cell("=HYPERLINK(\"http://x\";\"a\")"),
            "\"'=HYPERLINK(\"\"http://x\"\";\"\"a\"\")\""
        );
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell("Si besoin"), "Si besoin");
        assert_eq!(cell(""), "");
        assert!(matches!(cell("plain"), Cow::Borrowed(_)));
    }
}
