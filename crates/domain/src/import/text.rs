//! Byte-level reading of an uploaded file: character encoding, delimiter, line numbers
//! and the one CSV syntax error that cannot be confined to a single row.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The character encoding a file was read with. Reported back so a person who sees odd
/// characters knows what was assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark (Excel's "CSV UTF-8"); the mark is stripped.
    Utf8Bom,
    /// Windows-1252 (Excel's plain "CSV" on Western European Windows).
    Windows1252,
}

impl TextEncoding {
    /// Stable snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf8",
            TextEncoding::Utf8Bom => "utf8_bom",
            TextEncoding::Windows1252 => "windows1252",
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What [`decode`] found.
pub(crate) enum Decoded<'a> {
    /// Text to parse (UTF-8 except for damaged rows in `Utf8` mode) and its encoding.
    Text(TextEncoding, Cow<'a, [u8]>),
    /// UTF-16 (by byte-order mark or by the NUL bytes every other byte).
    Utf16,
    /// Not text at all (a spreadsheet, an archive, an image).
    Binary,
}

/// Picks the encoding and returns UTF-8 bytes to parse.
///
/// A UTF-8 BOM decides at once. Otherwise bytes that are valid UTF-8 are UTF-8; so are
/// bytes that contain valid multi-byte sequences and at most as many invalid ones (a
/// UTF-8 file with a damaged row: better a clear error on that row than silently
/// garbled accents everywhere else). Anything else is Windows-1252, which can decode
/// every byte.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<'_> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return Decoded::Text(TextEncoding::Utf8Bom, Cow::Borrowed(rest));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") || looks_like_utf16(bytes) {
        return Decoded::Utf16;
    }
    if looks_binary(bytes) {
        return Decoded::Binary;
    }
    let (multibyte, invalid) = utf8_census(bytes);
    if invalid == 0 || (multibyte > 0 && invalid <= multibyte) {
        return Decoded::Text(TextEncoding::Utf8, Cow::Borrowed(bytes));
    }
    let (text, _had_errors) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    let owned = match text {
        Cow::Borrowed(s) => Cow::Owned(s.as_bytes().to_vec()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    };
    Decoded::Text(TextEncoding::Windows1252, owned)
}

/// UTF-16 without a BOM shows up as a NUL byte next to nearly every ASCII character.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(4096)];
    sample.len() >= 4 && sample.iter().filter(|b| **b == 0).count() * 4 >= sample.len()
}

/// Binary data is full of control bytes that no text export writes: at least 8 of them,
/// and 2% or more of the first 8 KiB. (A stray NUL in one cell is that row's error.)
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    controls >= 8 && controls * 50 >= sample.len()
}

/// Counts valid multi-byte UTF-8 characters and invalid sequences.
fn utf8_census(bytes: &[u8]) -> (usize, usize) {
    let count_multibyte = |valid: &[u8]| valid.iter().filter(|b| **b >= 0xC0).count();
    let (mut multibyte, mut invalid) = (0, 0);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => {
                multibyte += count_multibyte(rest);
                return (multibyte, invalid);
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                multibyte += count_multibyte(valid);
                invalid += 1;
                match e.error_len() {
                    Some(len) => rest = after.get(len..).unwrap_or_default(),
                    None => return (multibyte, invalid),
                }
            }
        }
    }
}

/// Delimiters we recognise, in order of preference when several fit equally well.
pub(crate) const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many leading records delimiter detection looks at.
const SNIFF_RECORDS: usize = 50;

/// Chooses the delimiter giving more than one column and the most consistent column
/// count over the first records (quotes respected, as the real parse will). Ties go to
/// the earlier of `, ; tab |`; a file where none gives two columns is comma-separated.
pub(crate) fn detect_delimiter(data: &[u8]) -> u8 {
    let mut best: Option<(u8, f64)> = None;
    for delim in DELIMITERS {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delim)
            .from_reader(data);
        let mut record = csv::ByteRecord::new();
        let mut counts = Vec::with_capacity(SNIFF_RECORDS);
        while counts.len() < SNIFF_RECORDS {
            match rdr.read_byte_record(&mut record) {
                Ok(true) => {
                    if !is_blank_record(&record) {
                        counts.push(record.len());
                    }
                }
                Ok(false) | Err(_) => break,
            }
        }
        let Some((&header, rest)) = counts.split_first() else {
            continue;
        };
        if header < 2 {
            continue;
        }
        let consistency = if rest.is_empty() {
            1.0
        } else {
            rest.iter().filter(|&&c| c == header).count() as f64 / rest.len() as f64
        };
        if best.is_none_or(|(_, score)| consistency > score) {
            best = Some((delim, consistency));
        }
    }
    best.map_or(b',', |(delim, _)| delim)
}

/// A record whose cells are all empty or whitespace: an empty line, or an Excel row of
/// bare delimiters. Skipped silently.
pub(crate) fn is_blank_record(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|cell| cell.iter().all(|b| b.is_ascii_whitespace()))
}

/// Finds a quoted field that is never closed and swallows later lines: the parser
/// would read the rest of the file as one value, so no row after it can be trusted.
/// Returns the 1-based line where that field opens. (A field left open on the last
/// line only damages that row and is reported as a row error instead.)
pub(crate) fn unterminated_quote(data: &[u8], delim: u8) -> Option<u64> {
    #[derive(PartialEq)]
    enum State {
        StartField,
        InField,
        InQuoted,
        QuoteInQuoted,
    }
    let mut state = State::StartField;
    let mut line = 1u64;
    let mut open_line = 0u64;
    let mut saw_break = false;
    let mut swallowed = false;
    for (i, &b) in data.iter().enumerate() {
        let ends_line = b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n'));
        let separator = b == delim || b == b'\r' || b == b'\n';
        match state {
            State::StartField => {
                if b == b'"' {
                    state = State::InQuoted;
                    open_line = line;
                    saw_break = false;
                    swallowed = false;
                } else if !separator {
                    state = State::InField;
                }
            }
            State::InField => {
                if separator {
                    state = State::StartField;
                }
            }
            State::InQuoted => {
                if b == b'"' {
                    state = State::QuoteInQuoted;
                } else if b == b'\r' || b == b'\n' {
                    saw_break = true;
                } else if saw_break {
                    swallowed = true;
                }
            }
            State::QuoteInQuoted => {
                state = if b == b'"' {
                    State::InQuoted
                } else if separator {
                    State::StartField
                } else {
                    State::InField
                };
            }
        }
        if ends_line {
            line += 1;
        }
    }
    (state == State::InQuoted && swallowed).then_some(open_line)
}

/// Turns byte offsets into 1-based physical line numbers. `\n`, `\r\n` and a lone
/// `\r` each end one line, as they do for the CSV parser. Offsets must be asked for
/// in increasing order; the whole file is scanned once.
pub(crate) struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    pub(crate) fn new() -> Self {
        LineCounter { offset: 0, line: 1 }
    }

    /// Starts counting at `offset`, which is known to be on `line`.
    pub(crate) fn at(offset: usize, line: u64) -> Self {
        LineCounter { offset, line }
    }

    /// The line of the first byte of the record the parser started reading at
    /// `offset`: the parser skips empty lines before a record, so do we.
    pub(crate) fn record_line(&mut self, data: &[u8], offset: usize) -> u64 {
        let mut start = offset.min(data.len());
        while matches!(data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        self.line_at(data, start)
    }

    /// The line containing byte `offset`.
    pub(crate) fn line_at(&mut self, data: &[u8], offset: usize) -> u64 {
        let end = offset.min(data.len());
        if end > self.offset {
            for i in self.offset..end {
                match data[i] {
                    b'\n' => self.line += 1,
                    b'\r' if data.get(i + 1) != Some(&b'\n') => self.line += 1,
                    _ => {}
                }
            }
            self.offset = end;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoding_of(bytes: &[u8]) -> Option<TextEncoding> {
        match decode(bytes) {
            Decoded::Text(e, _) => Some(e),
            Decoded::Utf16 | Decoded::Binary => None,
        }
    }

    #[test]
    fn encodings_serialise_in_snake_case() {
        for e in [
            TextEncoding::Utf8,
            TextEncoding::Utf8Bom,
            TextEncoding::Windows1252,
        ] {
            assert_eq!(
                serde_json::to_string(&e).unwrap(),
                format!("\"{}\"", e.as_str())
            );
        }
        assert_eq!(TextEncoding::Utf8Bom.as_str(), "utf8_bom");
    }

    #[test]
    fn detects_encodings() {
        assert_eq!(encoding_of(b"a,b\n"), Some(TextEncoding::Utf8));
        assert_eq!(
            encoding_of("Müller,José\n".as_bytes()),
            Some(TextEncoding::Utf8)
        );
        assert_eq!(
            encoding_of(b"\xEF\xBB\xBFa,b\n"),
            Some(TextEncoding::Utf8Bom)
        );
        assert_eq!(
            encoding_of(b"M\xFCller,Jos\xE9\n"),
            Some(TextEncoding::Windows1252)
        );
        assert_eq!(encoding_of(b"\xFF\xFEa\0,\0b\0"), None);
        assert_eq!(encoding_of(b"a\0,\0b\0\n\0"), None);
    }

    #[test]
    fn a_damaged_row_in_a_utf8_file_keeps_the_file_utf8() {
        let text = "Name,City\nJosé,Málaga\nRenée,Zürich\nM\u{FC}ller,K\u{F6}ln\n".to_string();
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"M\xFCller,Berlin\n");
        assert_eq!(encoding_of(&bytes), Some(TextEncoding::Utf8));
    }

    #[test]
    fn windows_1252_is_decoded_to_utf8() {
        match decode(b"M\xFCller;Jos\xE9;\x80 5\n") {
            Decoded::Text(TextEncoding::Windows1252, text) => {
                assert_eq!(std::str::from_utf8(&text).unwrap(), "Müller;José;€ 5\n");
            }
            _ => panic!("expected Windows-1252"),
        }
    }

    #[test]
    fn utf8_census_counts_truncated_sequences() {
        assert_eq!(utf8_census(b"abc"), (0, 0));
        assert_eq!(utf8_census("é".as_bytes()), (1, 0));
        assert_eq!(utf8_census(b"\xC3"), (0, 1));
        assert_eq!(utf8_census(b"\xFF\xFF"), (0, 2));
    }

    #[test]
    fn detects_delimiters() {
        assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n1;2,5;3\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(detect_delimiter(b"a|b\n1|2\n"), b'|');
        assert_eq!(detect_delimiter(b"single\nvalue\n"), b',');
        assert_eq!(detect_delimiter(b""), b',');
        // Quoted delimiters do not count.
        assert_eq!(detect_delimiter(b"\"a;x\",b\n\"1;2;3\",2\n"), b',');
        // Commas inside values make the comma count inconsistent.
        assert_eq!(
            detect_delimiter(
                "Vorname;Nachname;Firma\nJörg;Weiß;Müller, Schmidt & Co. KG\nAnna;Koch;Koch AG\n"
                    .as_bytes()
            ),
            b';'
        );
    }

    #[test]
    fn finds_unterminated_quotes_that_swallow_lines() {
        assert_eq!(unterminated_quote(b"a,b\n1,\"x\n2,y\n3,z\n", b','), Some(2));
        assert_eq!(unterminated_quote(b"a,b\n1,\"x\ny\"\n2,z\n", b','), None);
        assert_eq!(unterminated_quote(b"a,b\n1,\"x\n", b','), None);
        assert_eq!(
            unterminated_quote(b"a,b\n1,x\"y\n2,\"\"\"q\"\"\"\n", b','),
            None
        );
        assert_eq!(unterminated_quote(b"a;b\r\r1;\"x\rmore\r", b';'), Some(3));
    }

    #[test]
    fn counts_lines_with_every_ending() {
        let data = b"a\nb\r\nc\rd\n\ne";
        let mut lc = LineCounter::new();
        assert_eq!(lc.line_at(data, 0), 1);
        assert_eq!(lc.line_at(data, 2), 2);
        assert_eq!(lc.line_at(data, 5), 3);
        assert_eq!(lc.line_at(data, 7), 4);
        assert_eq!(lc.record_line(data, 9), 6);
        let mut lc = LineCounter::at(2, 2);
        assert_eq!(lc.record_line(data, 3), 3);
    }
}
