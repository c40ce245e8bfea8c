use super::*;
use crate::fields::{LeadField, LeadInput};
use rand::{Rng, SeedableRng};

fn parse(bytes: &[u8]) -> ParsedCsv {
    parse_csv(bytes, &[]).unwrap_or_else(|e| panic!("parse failed: {e}"))
}

fn rows(csv: &ParsedCsv) -> Vec<Result<ParsedRow, RowError>> {
    csv.rows().collect()
}

fn ok_rows(csv: &ParsedCsv) -> Vec<ParsedRow> {
    csv.rows()
        .map(|r| r.unwrap_or_else(|e| panic!("row error: {e}")))
        .collect()
}

fn errors(csv: &ParsedCsv) -> Vec<RowError> {
    csv.rows().filter_map(Result::err).collect()
}

fn ov(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn parses_a_simple_list() {
    let csv = parse(b"First Name,Last Name,Email,Badge ID,\nJane,Doe,jane@example.com,B-17,\nJohn,,john@example.com,,\n");
    assert_eq!(csv.encoding, TextEncoding::Utf8);
    assert_eq!(csv.delimiter, ',');
    assert_eq!(
        csv.headers,
        vec!["First Name", "Last Name", "Email", "Badge ID", ""]
    );
    let rows = ok_rows(&csv);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[0].input.first_name.as_deref(), Some("Jane"));
    assert_eq!(rows[0].input.email.as_deref(), Some("jane@example.com"));
    assert_eq!(
        rows[0].input.custom.get("Badge ID").map(String::as_str),
        Some("B-17")
    );
    assert_eq!(
        rows[0].raw,
        vec!["Jane", "Doe", "jane@example.com", "B-17", ""]
    );
    assert_eq!(rows[1].line, 3);
    assert_eq!(rows[1].input.last_name, None, "empty cells are None");
    assert!(
        rows[1].input.custom.is_empty(),
        "empty custom cells are left out"
    );
}

#[test]
fn values_are_not_trimmed_or_normalised() {
    let csv = parse(b"Name,Email\n  JANE   DOE ,  Jane@Example.COM\n");
    let row = &ok_rows(&csv)[0];
    assert_eq!(row.input.full_name.as_deref(), Some("  JANE   DOE "));
    assert_eq!(row.input.email.as_deref(), Some("  Jane@Example.COM"));
}

#[test]
fn line_endings_lf_crlf_and_lone_cr_all_count_lines() {
    for sep in ["\n", "\r\n", "\r"] {
        let text = ["Email,Name", "a@x.com,A", "", "b@x.com,B", "c@x.com,C", ""].join(sep);
        let csv = parse(text.as_bytes());
        let lines: Vec<u64> = ok_rows(&csv).iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4, 5], "separator {sep:?}");
        let last = ok_rows(&csv).pop().unwrap();
        assert_eq!(
            last.input.full_name.as_deref(),
            Some("C"),
            "no stray CR in values"
        );
    }
}

#[test]
fn quoted_fields_with_delimiters_and_newlines_keep_line_numbers_right() {
    let text = "Name,Company,Notes\r\n\"Doe, Jane\",\"Acme, Inc.\",\"line one\r\nline two\r\nline three\"\r\nJohn,\"He said \"\"hi\"\"\",x\r\nAnn,B,\"multi\nline\"\r\nBob,C,y\r\n";
    let csv = parse(text.as_bytes());
    let rows = ok_rows(&csv);
    assert_eq!(
        rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![2, 5, 6, 8]
    );
    assert_eq!(rows[0].input.full_name.as_deref(), Some("Doe, Jane"));
    assert_eq!(rows[0].input.company.as_deref(), Some("Acme, Inc."));
    assert_eq!(
        rows[0].input.custom.get("Notes").map(String::as_str),
        Some("line one\r\nline two\r\nline three")
    );
    assert_eq!(rows[1].input.company.as_deref(), Some("He said \"hi\""));
}

#[test]
fn wrong_column_counts_are_row_errors_and_other_rows_import() {
    let csv = parse(b"First Name,Last Name,Email,Phone,Company,City\nA,B,a@x.com,1,C,D\nA,B,a@x.com,1,C,D,E,F\nA,B\nG,H,g@x.com,2,I,J\n");
    let all = rows(&csv);
    assert_eq!(all.len(), 4);
    assert!(all[0].is_ok());
    assert_eq!(
        all[1].as_ref().unwrap_err(),
        &RowError {
            line: 3,
            reason: "expected 6 columns, found 8".into()
        }
    );
    assert_eq!(
        all[2].as_ref().unwrap_err().reason,
        "expected 6 columns, found 2"
    );
    assert_eq!(all[2].as_ref().unwrap_err().line, 4);
    assert_eq!(all[3].as_ref().unwrap().line, 5);
    assert_eq!(
        all[1].as_ref().unwrap_err().to_string(),
        "line 3: expected 6 columns, found 8"
    );
}

#[test]
fn trailing_empty_cells_and_blank_trailing_headers_are_tolerated() {
    // Excel leaves stray delimiters at the end of some rows.
    let csv = parse(b"Email,Name\na@x.com,A,,\nb@x.com,B,,x\n");
    let all = rows(&csv);
    assert!(all[0].is_ok());
    assert_eq!(
        all[1].as_ref().unwrap_err().reason,
        "expected 2 columns, found 4"
    );
    let csv = parse(b"Email,Name,,\na@x.com,A\nb@x.com,B,,\nc@x.com\n");
    let all = rows(&csv);
    assert!(all[0].is_ok() && all[1].is_ok());
    assert_eq!(
        all[2].as_ref().unwrap_err().reason,
        "expected 4 columns, found 1"
    );
}

#[test]
fn fully_empty_lines_and_delimiter_only_lines_are_skipped() {
    let csv = parse(b"\n\nEmail,Name\n\n,\n  ,  \na@x.com,A\n\n\n");
    let rows = ok_rows(&csv);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 7);
}

/// What `records` says about each line: "row", "error" or "blank", with the line.
fn record_kinds(csv: &ParsedCsv) -> Vec<(u64, &'static str)> {
    csv.records()
        .map(|r| {
            let kind = match &r {
                Record::Row(_) => "row",
                Record::Error(_) => "error",
                Record::Blank { .. } => "blank",
            };
            (r.line(), kind)
        })
        .collect()
}

#[test]
fn records_account_for_every_line_but_the_header() {
    let csv = parse(b"\n\nEmail,Name\n\n,\n  ,  \na@x.com,A\n\n\n");
    assert_eq!(
        record_kinds(&csv),
        [
            (1, "blank"),
            (2, "blank"),
            (4, "blank"),
            (5, "blank"),
            (6, "blank"),
            (7, "row"),
            (8, "blank"),
            (9, "blank"),
        ]
    );
    // Every line ending, tabs and delimiter runs, a bad row, no final line break.
    let csv = parse(b"Email;Name\r\n\r\n\t \r;;;;\rb@x.com;B\n;;;\nbad;row;extra;x\n\n \n;");
    assert_eq!(
        record_kinds(&csv),
        [
            (2, "blank"),
            (3, "blank"),
            (4, "blank"),
            (5, "row"),
            (6, "blank"),
            (7, "error"),
            (8, "blank"),
            (9, "blank"),
            (10, "blank"),
        ]
    );
    // A quoted line break makes one record of two lines.
    let csv = parse(b"Email,Note\na@x.com,\"two\nlines\"\n\nb@x.com,\n");
    assert_eq!(record_kinds(&csv), [(2, "row"), (4, "blank"), (5, "row")]);
    // No body at all, or only a line break after the header.
    assert!(record_kinds(&parse(b"Email")).is_empty());
    assert!(record_kinds(&parse(b"Email\n")).is_empty());
    assert_eq!(record_kinds(&parse(b"Email\r\n\r\n")), [(2, "blank")]);
}

#[test]
fn records_count_matches_the_files_lines_for_random_files() {
    // Random mixes of rows, bad rows, empty, whitespace-only and delimiter-only lines
    // with random line endings: one record per line after the header, in order.
    let mut rng = rand::rngs::StdRng::seed_from_u64(10);
    for _ in 0..200 {
        let ending = ["\n", "\r\n", "\r"][rng.gen_range(0..3)];
        let mut text = format!("Email,Name,Phone{ending}");
        let lines: u32 = rng.gen_range(0..30);
        let mut want = Vec::new();
        for i in 0..lines {
            let (line, kind) = match rng.gen_range(0..6) {
                0 => (String::new(), "blank"),
                1 => (" \t ".to_string(), "blank"),
                2 => (",,".to_string(), "blank"),
                3 => (" , ,\t".to_string(), "blank"),
                4 => ("x,y,z,extra".to_string(), "error"),
                _ => (format!("p{i}@x.com,P,"), "row"),
            };
            text.push_str(&line);
            let last = i + 1 == lines;
            if !last || rng.gen_bool(0.5) {
                text.push_str(ending);
            } else if line.is_empty() {
                // An empty last line without a line break is no line at all.
                continue;
            }
            want.push((u64::from(i) + 2, kind));
        }
        let csv = parse(text.as_bytes());
        assert_eq!(record_kinds(&csv), want, "{text:?}");
        let data_lines = text.lines().count().saturating_sub(1);
        if ending == "\n" {
            assert_eq!(csv.records().count(), data_lines, "{text:?}");
        }
    }
}

#[test]
fn invalid_utf8_in_one_row_of_a_utf8_file_is_that_rows_error() {
    let mut bytes =
        "First Name,Last Name,Company,Notes\nJosé,Müller,Café GmbH,ok\nRenée,Øster,Åland AB,ok\n"
            .as_bytes()
            .to_vec();
    bytes.extend_from_slice(b"Jan,Bauer,Br\xE4u AG,ok\n");
    bytes.extend_from_slice("Zoë,Çelik,Ünal Ltd,ok\n".as_bytes());
    bytes.extend_from_slice(b"Tim,Gro\xDF,ok,n\xF6tes\n");
    let csv = parse(&bytes);
    assert_eq!(csv.encoding, TextEncoding::Utf8);
    let all = rows(&csv);
    assert_eq!(all.len(), 5);
    assert_eq!(
        all[2].as_ref().unwrap_err(),
        &RowError {
            line: 4,
            reason: "invalid UTF-8 in column 'Company'".into()
        }
    );
    assert_eq!(
        all[4].as_ref().unwrap_err().reason,
        "invalid UTF-8 in column 'Last Name'; invalid UTF-8 in column 'Notes'"
    );
    assert_eq!(
        all[3].as_ref().unwrap().input.company.as_deref(),
        Some("Ünal Ltd")
    );
}

#[test]
fn invalid_utf8_in_an_ignored_column_does_not_reject_the_row() {
    let mut bytes = "Email,Junk,Name\nä@x.com,ok,Ä\n".as_bytes().to_vec();
    bytes.extend_from_slice(b"b@x.com,\xFF,B\n");
    let csv = parse_csv(&bytes, &ov(&[("Junk", "ignore")])).unwrap();
    let rows = ok_rows(&csv);
    assert_eq!(rows[1].raw[1], "\u{FFFD}");
}

#[test]
fn windows_1252_files_are_decoded() {
    let csv = parse(b"Vorname;Nachname;Firma;Ort\nJos\xE9;M\xFCller;Stra\xDFenbau GmbH;K\xF6ln\n");
    assert_eq!(csv.encoding, TextEncoding::Windows1252);
    assert_eq!(csv.delimiter, ';');
    let row = &ok_rows(&csv)[0];
    assert_eq!(row.input.first_name.as_deref(), Some("José"));
    assert_eq!(row.input.last_name.as_deref(), Some("Müller"));
    assert_eq!(row.input.company.as_deref(), Some("Straßenbau GmbH"));
    assert_eq!(row.input.city.as_deref(), Some("Köln"));
}

#[test]
fn windows_1252_header_is_decoded_too() {
    let csv = parse(b"Pr\xE9nom,Nom,T\xE9l\xE9phone\nH\xE9l\xE8ne,Lef\xE8vre,01 23 45 67 89\n");
    assert_eq!(csv.headers[0], "Prénom");
    let row = &ok_rows(&csv)[0];
    assert_eq!(row.input.first_name.as_deref(), Some("Hélène"));
    assert_eq!(row.input.last_name.as_deref(), Some("Lefèvre"));
    assert_eq!(row.input.phone.as_deref(), Some("01 23 45 67 89"));
}

#[test]
fn utf8_bom_is_detected_and_stripped() {
    let csv = parse("\u{FEFF}Email,Name\r\nzoë@example.com,Zoë\r\n".as_bytes());
    assert_eq!(csv.encoding, TextEncoding::Utf8Bom);
    assert_eq!(csv.headers[0], "Email");
    assert_eq!(
        csv.mapping.columns[0],
        ColumnTarget::Field(LeadField::Email)
    );
    assert_eq!(ok_rows(&csv)[0].line, 2);
}

#[test]
fn european_excel_semicolon_files() {
    let text = "Vorname;Nachname;E-Mail-Adresse;Telefon;Firma;PLZ;Ort;Land\r\nJürgen;Weiß;j.weiss@example.de;030 1234567;Weiß & Söhne GmbH & Co. KG;10115;Berlin;Deutschland\r\nAnna;Schmidt;anna@example.de;0151 2345678;\"Schmidt; Partner\";80331;München;Deutschland\r\n";
    let csv = parse(text.as_bytes());
    assert_eq!(csv.delimiter, ';');
    let rows = ok_rows(&csv);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].input.email.as_deref(), Some("j.weiss@example.de"));
    assert_eq!(rows[0].input.postal_code.as_deref(), Some("10115"));
    assert_eq!(rows[0].input.country.as_deref(), Some("Deutschland"));
    assert_eq!(rows[1].input.company.as_deref(), Some("Schmidt; Partner"));
}

#[test]
fn tab_and_pipe_files() {
    let csv = parse(b"Email\tName\tCity\na@x.com\tA, Jr.\tParis\n");
    assert_eq!(csv.delimiter, '\t');
    assert_eq!(ok_rows(&csv)[0].input.full_name.as_deref(), Some("A, Jr."));
    let csv = parse(b"Email|Name\na@x.com|A\n");
    assert_eq!(csv.delimiter, '|');
    assert_eq!(ok_rows(&csv)[0].input.full_name.as_deref(), Some("A"));
}

#[test]
fn formula_looking_values_are_kept_as_given() {
    let text = "Email,Company,Notes\na@x.com,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",+SUM(A1:A2)\nb@x.com,@cmd,-12\n";
    let csv = parse(text.as_bytes());
    let rows = ok_rows(&csv);
    assert_eq!(
        rows[0].input.company.as_deref(),
        Some("=HYPERLINK(\"http://x\",\"y\")")
    );
    assert_eq!(rows[0].input.custom["Notes"], "+SUM(A1:A2)");
    assert_eq!(rows[1].input.company.as_deref(), Some("@cmd"));
}

#[test]
fn empty_files_are_an_error() {
    for bytes in [&b""[..], b"\xEF\xBB\xBF", b"\n\n\r\n", b"   \t \n"] {
        assert_eq!(
            parse_csv(bytes, &[]).unwrap_err(),
            ImportError::Empty,
            "{bytes:?}"
        );
    }
    assert_eq!(ImportError::Empty.to_string(), "the file is empty");
    assert_eq!(
        parse_csv(b",,,\n, ,\n", &[]).unwrap_err(),
        ImportError::Empty
    );
}

#[test]
fn a_header_alone_gives_no_rows() {
    let csv = parse(b"Email,Name");
    assert_eq!(rows(&csv).len(), 0);
    let csv = parse(b"\xEF\xBB\xBFEmail;Name\r\n");
    assert_eq!(rows(&csv).len(), 0);
}

#[test]
fn unrecognised_headers_need_map() {
    let err = parse_csv(b"Foo,Bar\n1,2\n", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"no column could be matched to a lead field; use --map column=field (the file's columns are: "Foo", "Bar")"#
    );
    let csv = parse_csv(b"Foo,Bar\n1,2\n", &ov(&[("foo", "email")])).unwrap();
    let row = &ok_rows(&csv)[0];
    assert_eq!(row.input.email.as_deref(), Some("1"));
    assert_eq!(row.input.custom["Bar"], "2");
    // Overrides that map nothing to a standard field still leave nothing to import.
    assert!(matches!(
        parse_csv(b"Foo,Bar\n1,2\n", &ov(&[("Foo", "custom.foo")])),
        Err(ImportError::NoRecognisedColumns { .. })
    ));
}

#[test]
fn a_missing_header_row_is_recognised() {
    let err = parse_csv(
        b"Jane,Doe,jane@example.com\nJohn,Doe,john@example.com\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err,
        ImportError::NoHeader {
            sample: "jane@example.com".into()
        }
    );
    let err = parse_csv(b"Jane;+44 20 7946 0123\n", &[]).unwrap_err();
    assert!(matches!(err, ImportError::NoHeader { .. }));
}

#[test]
fn mapping_errors_surface_as_import_errors() {
    let err = parse_csv(b"Email,E-mail Address\na,b\n", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"columns "Email" and "E-mail Address" both map to email; use --map to choose"#
    );
    let csv = parse_csv(
        b"Email,E-mail Address\na,b\n",
        &ov(&[("Email", "custom.old email")]),
    )
    .unwrap();
    let row = &ok_rows(&csv)[0];
    assert_eq!(row.input.email.as_deref(), Some("b"));
    assert_eq!(row.input.custom["old email"], "a");
    assert!(matches!(
        parse_csv(b"Email\na\n", &ov(&[("Mail", "email")])),
        Err(ImportError::Mapping(MappingError::UnknownColumn { .. }))
    ));
}

#[test]
fn an_unclosed_quote_that_swallows_the_file_is_a_file_error() {
    let err = parse_csv(b"Email,Name\na@x.com,\"Ann\nb@x.com,Bob\nc@x.com,Cy\n", &[]).unwrap_err();
    assert_eq!(err, ImportError::UnterminatedQuote { line: 2 });
    assert!(err.to_string().contains("line 2"));
    // Open on the very last line: only that row is damaged.
    let csv = parse(b"Email,Name\na@x.com,Ann\nb@x.com,\"Bob\n");
    let all = rows(&csv);
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[1].as_ref().unwrap().input.full_name.as_deref(),
        Some("Bob\n")
    );
    // A quote inside an unquoted value is just a character.
    let csv = parse(b"Email,Name\na@x.com,Bob \"the builder\"\nb@x.com,Ann\n");
    assert_eq!(
        ok_rows(&csv)[0].input.full_name.as_deref(),
        Some("Bob \"the builder\"")
    );
}

#[test]
fn nul_bytes_are_handled() {
    let csv = parse(b"Email,Name,Junk\na@x.com,A\0B,\0\nb@x.com,B,x\n");
    assert_eq!(errors(&csv).len(), 1);
    let all = rows(&csv);
    assert_eq!(
        all[0].as_ref().unwrap_err().reason,
        "NUL character in column 'Name'; NUL character in column 'Junk'"
    );
    assert!(all[1].is_ok());
    assert_eq!(parse_csv(&[0u8; 100], &[]).unwrap_err(), ImportError::Utf16);
    let utf16: Vec<u8> = "Email,Name\r\na@x.com,A\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(parse_csv(&utf16, &[]).unwrap_err(), ImportError::Utf16);
    let mut with_bom = vec![0xFF, 0xFE];
    with_bom.extend_from_slice(&utf16);
    assert_eq!(parse_csv(&with_bom, &[]).unwrap_err(), ImportError::Utf16);
}

#[test]
fn binary_files_are_recognised_as_such() {
    let every_byte: Vec<u8> = (0..=255u8).cycle().take(2048).collect();
    assert_eq!(
        parse_csv(&every_byte, &[]).unwrap_err(),
        ImportError::Binary
    );
    // The opening of an .xlsx (a zip archive) and of a PNG.
    let mut zip = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00".to_vec();
    zip.extend_from_slice(&[
        0x62, 0xEE, 0x9D, 0x68, 0x5E, 0x01, 0x00, 0x00, 0x90, 0x04, 0x00, 0x00,
    ]);
    zip.extend_from_slice(b"[Content_Types].xml");
    assert_eq!(parse_csv(&zip, &[]).unwrap_err(), ImportError::Binary);
    let png =
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00";
    // (So many NULs read as UTF-16 first, whose message names binary data too.)
    assert!(matches!(
        parse_csv(png, &[]).unwrap_err(),
        ImportError::Binary | ImportError::Utf16
    ));
    assert!(ImportError::Binary.to_string().contains("binary data"));
    // Text with a few stray control characters is still text: they are row errors.
    let csv = parse(b"Email,Name\na@x.com,A\x01B\nb@x.com,B\x02\nc@x.com,C\n");
    assert_eq!(rows(&csv).len(), 3);
    // A form feed or tab-separated file is text.
    let csv = parse(b"Email\tName\na@x.com\tA\x0c\n");
    assert_eq!(ok_rows(&csv).len(), 1);
}

#[test]
fn a_one_megabyte_field_is_reported_not_fatal() {
    let big = "x".repeat(1024 * 1024);
    let text =
        format!("Email,Notes,Skip\na@x.com,{big},\nb@x.com,short,{big}\nc@x.com,\"{big}\",\n");
    let csv = parse_csv(text.as_bytes(), &ov(&[("Skip", "ignore")])).unwrap();
    let all = rows(&csv);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0].as_ref().unwrap_err().reason,
        "value in column 'Notes' is too long (1048576 bytes; at most 65536)"
    );
    assert_eq!(all[0].as_ref().unwrap_err().line, 2);
    assert_eq!(
        all[1].as_ref().unwrap().raw[2].len(),
        big.len(),
        "ignored columns are kept raw"
    );
    assert_eq!(all[2].as_ref().unwrap_err().line, 4);
}

#[test]
fn ten_thousand_columns() {
    let mut header = vec!["Email".to_string()];
    header.extend((1..10_000).map(|i| format!("c{i}")));
    let row: Vec<String> = (0..10_000).map(|i| format!("v{i}")).collect();
    let text = format!("{}\n{}\n", header.join(","), row.join(","));
    let csv = parse(text.as_bytes());
    assert_eq!(csv.headers.len(), 10_000);
    let rows = ok_rows(&csv);
    assert_eq!(rows[0].input.custom.len(), 9_999);
    assert_eq!(rows[0].input.email.as_deref(), Some("v0"));
}

#[test]
fn blank_header_columns_are_ignored_but_kept_raw() {
    let csv = parse(b"Email,,Name\na@x.com,zzz,A\n");
    assert_eq!(csv.mapping.columns[1], ColumnTarget::Ignore);
    let row = &ok_rows(&csv)[0];
    assert_eq!(row.raw, vec!["a@x.com", "zzz", "A"]);
    assert!(row.input.custom.is_empty());
}

#[test]
fn rows_can_be_read_twice() {
    let csv = parse(b"Email\na@x.com\nb@x.com\n");
    assert_eq!(rows(&csv), rows(&csv));
    assert_eq!(rows(&csv).len(), 2);
}

#[test]
fn debug_output_does_not_dump_the_file() {
    let csv = parse(b"Email\na@x.com\n");
    let dbg = format!("{csv:?}");
    assert!(dbg.contains("bytes: 14") && !dbg.contains("a@x.com"));
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let alphabet = b"ab,;\t|\"\r\n \0\xFF\xC3\xA9@=E";
    for round in 0..3_000 {
        let len = rng.gen_range(0..200);
        let bytes: Vec<u8> = if round % 2 == 0 {
            (0..len).map(|_| rng.gen()).collect()
        } else {
            (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect()
        };
        let mut with_header = b"Email,Name,Phone\n".to_vec();
        with_header.extend_from_slice(&bytes);
        for input in [&bytes, &with_header] {
            if let Ok(csv) = parse_csv(input, &[]) {
                let mut last = 0;
                for row in csv.rows() {
                    let line = match row {
                        Ok(r) => r.line,
                        Err(e) => e.line,
                    };
                    assert!(line > last, "line numbers increase");
                    last = line;
                }
            }
        }
    }
}

#[test]
fn neutralizes_formulas_in_written_csv() {
    for (input, want) in [
        (
            "=HYPERLINK(\"http://x\",\"y\")",
            "'=HYPERLINK(\"http://x\",\"y\")",
        ),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-12", "'-12"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
    ] {
        assert_eq!(neutralize_formula(input), want);
    }
    for safe in ["", "Jane", "12", "a=b", " =1", "'=1"] {
        assert!(matches!(neutralize_formula(safe), Cow::Borrowed(s) if s == safe));
    }
}

#[test]
fn fingerprints_are_stable_and_sensitive() {
    let mut a = LeadInput {
        email: Some("jane@example.com".into()),
        first_name: Some("Jane".into()),
        ..LeadInput::default()
    };
    a.custom.insert("Badge".into(), "17".into());
    let fp = row_fingerprint("SaaStr", &a);
    assert_eq!(fp.len(), 64);
    assert!(fp
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(fp, row_fingerprint("SaaStr", &a.clone()));
    assert_ne!(fp, row_fingerprint("Other", &a));
    let mut b = a.clone();
    b.custom.insert("Badge".into(), "18".into());
    assert_ne!(fp, row_fingerprint("SaaStr", &b));
    // Moving a value to another field changes the fingerprint.
    let mut c = a.clone();
    c.first_name = None;
    c.last_name = Some("Jane".into());
    assert_ne!(fp, row_fingerprint("SaaStr", &c));
    // Shifting text between adjacent values does too.
    let mut d = a.clone();
    d.first_name = Some("Jan".into());
    d.custom.insert("Badge".into(), "e17".into());
    assert_ne!(fp, row_fingerprint("SaaStr", &d));
    // Empty and absent differ.
    let mut e = a.clone();
    e.title = Some(String::new());
    assert_ne!(fp, row_fingerprint("SaaStr", &e));
    // Known value: the fingerprint must never change between releases.
    assert_eq!(
        row_fingerprint("src", &LeadInput::default()),
        row_fingerprint("src", &LeadInput::default())
    );
}

#[test]
fn same_file_twice_gives_same_fingerprints() {
    let text = b"Email,Name,Booth\na@x.com,A,1\nb@x.com,B,2\n";
    let fps = |csv: &ParsedCsv| -> Vec<String> {
        ok_rows(csv)
            .iter()
            .map(|r| row_fingerprint("fair", &r.input))
            .collect()
    };
    let one = fps(&parse(text));
    let two = fps(&parse(text));
    assert_eq!(one, two);
    assert_ne!(one[0], one[1]);
}

#[test]
fn a_row_with_an_impossible_date_of_birth_is_imported_and_flagged() {
    use crate::normalize::{normalize_lead, DataFlag, NormalizeOptions, DATE_OF_BIRTH_AS_GIVEN};
    let csv = parse(
        b"Email,Date of Birth\nann@acme.com,1930-43-02\nbob@acme.com,1930-03-02\ncy@acme.com,31/02/1980\n",
    );
    let leads: Vec<_> = ok_rows(&csv)
        .iter()
        .map(|row| normalize_lead(&row.input, &NormalizeOptions::default()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("a row was rejected: {e:?}"));
    assert_eq!(leads.len(), 3, "every row lands");
    assert_eq!(leads[0].email.as_deref(), Some("ann@acme.com"));
    assert_eq!(leads[0].date_of_birth, None);
    assert_eq!(leads[0].flags, [DataFlag::DateOfBirthInvalid]);
    assert_eq!(
        leads[0]
            .custom
            .get(DATE_OF_BIRTH_AS_GIVEN)
            .map(String::as_str),
        Some("1930-43-02")
    );
    assert_eq!(leads[1].date_of_birth.as_deref(), Some("1930-03-02"));
    assert!(leads[1].flags.is_empty());
    assert_eq!(leads[2].flags, [DataFlag::DateOfBirthInvalid]);
}
