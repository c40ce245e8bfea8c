//! Parsing CSV lead lists: trade-show badge scans, direct-mail lists, event sign-ups.
//!
//! The file is read as bytes, so nothing here assumes the uploader got the export
//! dialog right: the encoding (UTF-8, UTF-8 with BOM, Windows-1252) and the delimiter
//! (`,` `;` tab `|`) are detected, headers are recognised in several languages and can
//! be overridden, and every problem is pinned to the physical line it starts on. One
//! bad row never stops the others: rows come out as `Result<ParsedRow, RowError>`.
//! Only problems that make the whole file unreadable are an [`ImportError`].
//!
//! Values are passed on exactly as the CSV holds them (no trimming or normalising,
//! which `normalize` does for every channel alike); empty cells become `None`.

mod header;
mod mapping;
mod text;

pub use header::field_for_header;
pub use mapping::{build_mapping, ColumnMapping, ColumnTarget, MappingError, MappingOrigin};
pub use text::TextEncoding;

use crate::fields::LeadInput;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;
use text::{Decoded, LineCounter};

/// Longest value accepted in an imported column, in bytes. Real lead data is far
/// shorter; a longer cell is a broken export (or an attack), reported for its row.
pub const MAX_CELL_BYTES: usize = 64 * 1024;

/// A problem with the file as a whole; no row could be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// No bytes, only a byte-order mark, or only blank lines.
    #[error("the file is empty")]
    Empty,
    /// UTF-16 (Excel's "Unicode text") or binary: recognised, not guessed at.
    #[error("the file is UTF-16 text (or binary data), not a CSV we can read; save it as \"CSV UTF-8\" and import it again")]
    Utf16,
    /// Binary data: a spreadsheet (.xlsx), an archive, an image.
    #[error("the file is binary data (a spreadsheet, an archive or an image?), not CSV text; export it as \"CSV UTF-8\" and import that")]
    Binary,
    /// No standard field matched and the first row holds an e-mail or phone number.
    #[error("the first row looks like data, not column names (it contains {sample:?}); add a header row naming the columns")]
    NoHeader { sample: String },
    /// No column maps to a standard field, so no lead could have an identity.
    #[error("no column could be matched to a lead field; use --map column=field (the file's columns are: {columns})")]
    NoRecognisedColumns { columns: String },
    /// The header and the `--map` overrides do not give a usable mapping.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// A quoted field opens and never closes, swallowing the rest of the file.
    #[error("the quoted field that starts on line {line} is never closed, so the rest of the file cannot be read; look for a stray '\"' on that line")]
    UnterminatedQuote { line: u64 },
    /// The CSV reader itself failed (not expected for in-memory input).
    #[error("the file cannot be read as CSV near line {line}: {message}")]
    Syntax { line: u64, message: String },
}

/// One row that parsed, ready for normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    /// 1-based physical line where the record starts (the header is on line 1).
    pub line: u64,
    /// The mapped values; empty cells are `None`, custom columns go to `custom`.
    pub input: LeadInput,
    /// Every cell as read, in column order (kept for error reports and history).
    pub raw: Vec<String>,
}

/// One row that could not be read; the rest of the file is unaffected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based physical line where the record starts.
    pub line: u64,
    /// What is wrong, in words the person who made the file understands.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for RowError {}

/// One record of the file as [`ParsedCsv::records`] reads it: every line but the
/// header is one of these, so a report built from them accounts for the whole file.
// Records are handed out one at a time, like the `Result<ParsedRow, RowError>` of
// `rows`; boxing the row would cost an allocation per row for no saving.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A row that parsed.
    Row(ParsedRow),
    /// A row that could not be read.
    Error(RowError),
    /// A line with nothing in it: empty, only whitespace, or only delimiters
    /// (`,,,,`). Before the header as well as after it.
    Blank { line: u64 },
}

impl Record {
    /// The 1-based physical line the record starts on.
    pub fn line(&self) -> u64 {
        match self {
            Record::Row(row) => row.line,
            Record::Error(error) => error.line,
            Record::Blank { line } => *line,
        }
    }
}

/// A file whose header and mapping are settled; iterate [`ParsedCsv::rows`] (or
/// [`ParsedCsv::records`], which also reports blank lines) to read it.
pub struct ParsedCsv {
    /// How the bytes were decoded.
    pub encoding: TextEncoding,
    /// The detected delimiter: `,` `;` `\t` or `|`.
    pub delimiter: char,
    /// The header row as written (not trimmed).
    pub headers: Vec<String>,
    /// Where each column goes.
    pub mapping: ColumnMapping,
    /// UTF-8 text to parse (in `Utf8` mode damaged rows may hold invalid bytes).
    data: Vec<u8>,
    /// Byte offset where the body (after the header record) starts, and its line.
    body_offset: usize,
    body_line: u64,
    /// The line of the header record; every line before it is blank.
    header_line: u64,
    /// Columns every row must have (trailing blank-header columns are optional).
    required_columns: usize,
}

impl fmt::Debug for ParsedCsv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedCsv")
            .field("encoding", &self.encoding)
            .field("delimiter", &self.delimiter)
            .field("headers", &self.headers)
            .field("mapping", &self.mapping)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// Reads the header of a CSV lead list and settles encoding, delimiter and mapping.
///
/// `overrides` are `--map column=field` pairs (see [`build_mapping`]). The rows are
/// parsed lazily by [`ParsedCsv::rows`], so a 100,000-row file costs one pass.
pub fn parse_csv(bytes: &[u8], overrides: &[(String, String)]) -> Result<ParsedCsv, ImportError> {
    let (encoding, data) = match text::decode(bytes) {
        Decoded::Text(encoding, data) => (encoding, data),
        Decoded::Utf16 => return Err(ImportError::Utf16),
        Decoded::Binary => return Err(ImportError::Binary),
    };
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    let delimiter = text::detect_delimiter(&data);
    if let Some(line) = text::unterminated_quote(&data, delimiter) {
        return Err(ImportError::UnterminatedQuote { line });
    }

    // The header is the first record with any content.
    let mut rdr = reader(&data, delimiter);
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter::new();
    let header_line;
    loop {
        let offset = rdr.position().byte();
        match rdr.read_byte_record(&mut record) {
            Ok(true) if text::is_blank_record(&record) => continue,
            Ok(true) => {
                header_line = lines.record_line(&data, to_usize(offset));
                break;
            }
            Ok(false) => return Err(ImportError::Empty),
            Err(e) => {
                return Err(ImportError::Syntax {
                    line: lines.record_line(&data, to_usize(offset)),
                    message: e.to_string(),
                })
            }
        }
    }
    let headers: Vec<String> = record
        .iter()
        .map(|cell| String::from_utf8_lossy(cell).into_owned())
        .collect();
    let body_offset = to_usize(rdr.position().byte());
    let body_line = lines.line_at(&data, body_offset).max(header_line);

    let mapping = build_mapping(&headers, overrides)?;
    if !mapping.has_standard_field() {
        if let Some(sample) = headers.iter().find(|h| looks_like_data(h)) {
            return Err(ImportError::NoHeader {
                sample: sample.trim().to_string(),
            });
        }
        return Err(ImportError::NoRecognisedColumns {
            columns: headers
                .iter()
                .map(|h| format!("{:?}", h.trim()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let trailing_blank = headers
        .iter()
        .rev()
        .take_while(|h| h.trim().is_empty())
        .count();
    let required_columns = headers.len() - trailing_blank;

    Ok(ParsedCsv {
        encoding,
        delimiter: char::from(delimiter),
        headers,
        mapping,
        data: data.into_owned(),
        body_offset,
        body_line,
        header_line,
        required_columns,
    })
}

fn reader(data: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A header cell that is really an e-mail address or a phone number: the file has
/// no header row and its first lead would be taken for column names.
fn looks_like_data(cell: &str) -> bool {
    let cell = cell.trim();
    let email = cell
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    let digits = cell.chars().filter(char::is_ascii_digit).count();
    let phone = digits >= 7
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(c));
    email || phone
}

impl ParsedCsv {
    /// The data rows, in file order. Blank lines are skipped; each other record is a
    /// [`ParsedRow`] or a [`RowError`] saying what is wrong with that row alone.
    /// Can be called again to read the file once more.
    pub fn rows(&self) -> impl Iterator<Item = Result<ParsedRow, RowError>> + '_ {
        self.records().filter_map(|record| match record {
            Record::Row(row) => Some(Ok(row)),
            Record::Error(error) => Some(Err(error)),
            Record::Blank { .. } => None,
        })
    }

    /// Every line of the file but the header, in file order: each data row as
    /// [`Record::Row`] or [`Record::Error`], and each blank line (empty, whitespace
    /// or only delimiters, before or after the header) as [`Record::Blank`]. A record
    /// with a line break inside quotes spans several lines and is one record, on the
    /// line where it starts. Can be called again to read the file once more.
    pub fn records(&self) -> Records<'_> {
        let body = self.data.get(self.body_offset..).unwrap_or_default();
        Records {
            csv: self,
            reader: reader(body, self.delimiter as u8),
            record: csv::ByteRecord::new(),
            lines: LineCounter::at(self.body_offset, self.body_line),
            blank: 1..self.header_line,
            ahead: None,
            done: false,
        }
    }

    /// The label a column is named by in messages: its header, or "column N".
    fn column_label(&self, index: usize) -> String {
        match self.headers.get(index).map(|h| h.trim()) {
            Some(h) if !h.is_empty() => format!("'{h}'"),
            _ => format!("column {}", index + 1),
        }
    }

    fn convert(&self, record: &csv::ByteRecord, line: u64) -> Result<ParsedRow, RowError> {
        let expected = self.headers.len();
        let found = record.len();
        let extra_filled = record
            .iter()
            .skip(expected)
            .any(|cell| !cell.iter().all(u8::is_ascii_whitespace));
        if found < self.required_columns || extra_filled {
            return Err(RowError {
                line,
                reason: format!("expected {expected} columns, found {found}"),
            });
        }
        let mut input = LeadInput::default();
        let mut raw = Vec::with_capacity(found);
        let mut problems: Vec<String> = Vec::new();
        for (index, cell) in record.iter().enumerate() {
            let target = self.mapping.target(index);
            let used = !matches!(target, ColumnTarget::Ignore) && index < expected;
            let value = match std::str::from_utf8(cell) {
                Ok(s) => s,
                Err(_) if used => {
                    problems.push(format!(
                        "invalid UTF-8 in column {}",
                        self.column_label(index)
                    ));
                    raw.push(String::from_utf8_lossy(cell).into_owned());
                    continue;
                }
                Err(_) => {
                    raw.push(String::from_utf8_lossy(cell).into_owned());
                    continue;
                }
            };
            raw.push(value.to_string());
            if !used || value.is_empty() {
                continue;
            }
            if value.len() > MAX_CELL_BYTES {
                problems.push(format!(
                    "value in column {} is too long ({} bytes; at most {MAX_CELL_BYTES})",
                    self.column_label(index),
                    value.len()
                ));
                continue;
            }
            if value.contains('\0') {
                problems.push(format!(
                    "NUL character in column {}",
                    self.column_label(index)
                ));
                continue;
            }
            match target {
                ColumnTarget::Field(field) => input.set(*field, value),
                ColumnTarget::Custom(name) => {
                    input.custom.insert(name.clone(), value.to_string());
                }
                ColumnTarget::Ignore => {}
            }
        }
        if problems.is_empty() {
            Ok(ParsedRow { line, input, raw })
        } else {
            Err(RowError {
                line,
                reason: problems.join("; "),
            })
        }
    }
}

/// Iterator over the records of a [`ParsedCsv`], blank lines included.
pub struct Records<'a> {
    csv: &'a ParsedCsv,
    reader: csv::Reader<&'a [u8]>,
    record: csv::ByteRecord,
    lines: LineCounter,
    /// Empty lines still to report (the parser skips them without a record).
    blank: std::ops::Range<u64>,
    /// The record read after those empty lines, reported once they are.
    ahead: Option<Record>,
    done: bool,
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(line) = self.blank.next() {
                return Some(Record::Blank { line });
            }
            if let Some(record) = self.ahead.take() {
                return Some(record);
            }
            if self.done {
                return None;
            }
            self.read();
        }
    }
}

impl Records<'_> {
    /// Reads the next record into `ahead`, and the empty lines before it into `blank`.
    fn read(&mut self) {
        let data = &self.csv.data;
        // The reader stops right after a record's line break (or between the `\r` and
        // `\n` of a CRLF), so past that `offset` is the start of a line: every line
        // from there to the record's first line is empty.
        let mut offset = self
            .csv
            .body_offset
            .saturating_add(to_usize(self.reader.position().byte()));
        if offset > 0 && data.get(offset - 1) == Some(&b'\r') && data.get(offset) == Some(&b'\n') {
            offset += 1;
        }
        let gap_start = self.lines.line_at(data, offset);
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                let line = self.lines.record_line(data, offset);
                self.blank = gap_start..line;
                self.ahead = Some(if text::is_blank_record(&self.record) {
                    Record::Blank { line }
                } else {
                    match self.csv.convert(&self.record, line) {
                        Ok(row) => Record::Row(row),
                        Err(error) => Record::Error(error),
                    }
                });
            }
            Ok(false) => {
                // What is left is line breaks alone, each ending one empty line.
                self.done = true;
                self.blank = gap_start..self.lines.line_at(data, data.len());
            }
            Err(e) => {
                // Reading from memory with flexible records cannot fail today;
                // should it, report where and stop rather than loop.
                self.done = true;
                let line = self.lines.record_line(data, offset);
                self.blank = gap_start..line;
                self.ahead = Some(Record::Error(RowError {
                    line,
                    reason: format!("the rest of the file cannot be read: {e}"),
                }));
            }
        }
    }
}

/// Makes a value safe to put in a CSV file we write (import reports, exports).
///
/// Spreadsheet programs run a cell starting with `=`, `+`, `-` or `@` (or a tab or
/// carriage return in front of one) as a formula, which can exfiltrate data or run
/// commands (CSV injection). Following the OWASP guidance such values get a leading
/// `'`, which spreadsheets show as text. This is done for every such value, including
/// harmless-looking ones like `-12` or `+44 20 7946 0000`: telling harmless from
/// harmful reliably is not possible, and the quote is visible and easily removed.
pub fn neutralize_formula(value: &str) -> Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// A stable fingerprint of one imported row: hex SHA-256 over the source name, the
/// standard fields that have a value (as `name`/`value` pairs, sorted by field name),
/// then the custom attributes sorted by name.
///
/// Importing the same file twice gives the same fingerprints, so rows already
/// imported can be recognised and skipped. Hashing names with values keeps old
/// fingerprints valid when a new standard field is added. Every string is
/// length-prefixed, so no two different rows collide by shifting text between fields.
pub fn row_fingerprint(source: &str, input: &LeadInput) -> String {
    fn put(hasher: &mut Sha256, value: &str) {
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value.as_bytes());
    }
    let mut fields: Vec<(&str, &str)> = crate::fields::LeadField::ALL
        .into_iter()
        .filter_map(|f| input.get(f).map(|v| (f.as_str(), v)))
        .collect();
    fields.sort_unstable();
    let mut hasher = Sha256::new();
    hasher.update(b"leadline-row-v1");
    put(&mut hasher, source);
    hasher.update((fields.len() as u64).to_le_bytes());
    for (name, value) in fields {
        put(&mut hasher, name);
        put(&mut hasher, value);
    }
    hasher.update((input.custom.len() as u64).to_le_bytes());
    for (name, value) in &input.custom {
        put(&mut hasher, name);
        put(&mut hasher, value);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests;
