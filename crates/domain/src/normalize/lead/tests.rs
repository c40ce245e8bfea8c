use super::*;
use time::macros::date;

fn input(fields: &[(LeadField, &str)]) -> LeadInput {
    let mut input = LeadInput::default();
    for (field, value) in fields {
        input.set(*field, *value);
    }
    input
}

fn ok(fields: &[(LeadField, &str)]) -> NormalizedLead {
    normalize_lead(&input(fields), &NormalizeOptions::default())
        .unwrap_or_else(|e| panic!("{fields:?}: {e:?}"))
}

fn errors(input: &LeadInput) -> Vec<(String, String)> {
    match normalize_lead(input, &NormalizeOptions::default()) {
        Ok(lead) => panic!("expected errors, got {lead:?}"),
        Err(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
    }
}

/// Input fields, and the first and last name expected from them.
type NameCase<'a> = (&'a [(LeadField, &'a str)], Option<&'a str>, Option<&'a str>);

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_string(), code.to_string())
}

#[test]
fn a_full_lead_is_normalised() {
    let mut raw = input(&[
        (LeadField::FirstName, "  JANE "),
        (LeadField::LastName, "o'brien"),
        (LeadField::Title, "  Head   of\tSales "),
        (LeadField::Email, " Jane.OBrien+leads@Bücher.DE "),
        (LeadField::Phone, "030 123456"),
        (LeadField::Company, "  Bücher  GmbH "),
        (LeadField::Website, "https://www.Bücher.de/impressum"),
        (LeadField::Street, " Unter den  Linden 1 "),
        (LeadField::PostalCode, " 10117 "),
        (LeadField::City, "Berlin"),
        (LeadField::Region, " Berlin "),
        (LeadField::Country, "Deutschland"),
        (LeadField::DateOfBirth, "23.04.1980"),
    ]);
    raw.custom
        .insert(" budget ".into(), " 10k €\n(approx.) ".into());
    raw.custom.insert("empty".into(), "   ".into());
    let opts = NormalizeOptions {
        default_region: Some("US".into()),
        today: Some(date!(2024 - 01 - 01)),
    };
    let lead = normalize_lead(&raw, &opts).unwrap_or_default();
    let want = NormalizedLead {
        first_name: Some("Jane".into()),
        last_name: Some("O'Brien".into()),
        title: Some("Head of Sales".into()),
        email: Some("Jane.OBrien+leads@xn--bcher-kva.de".into()),
        email_key: Some("jane.obrien+leads@xn--bcher-kva.de".into()),
        phone: Some("+4930123456".into()),
        phone_valid: true,
        company: Some("Bücher GmbH".into()),
        company_key: Some("bucher".into()),
        website: Some("https://www.Bücher.de/impressum".into()),
        domain: Some("xn--bcher-kva.de".into()),
        street: Some("Unter den Linden 1".into()),
        postal_code: Some("10117".into()),
        city: Some("Berlin".into()),
        region: Some("Berlin".into()),
        country: Some("DE".into()),
        date_of_birth: Some("1980-04-23".into()),
        custom: [("budget".to_string(), "10k €\n(approx.)".to_string())].into(),
        flags: vec![],
    };
    assert_eq!(lead, want);
}

#[test]
fn blank_values_are_absent() {
    let lead = ok(&[
        (LeadField::Email, "a@example.com"),
        (LeadField::FirstName, "   "),
        (LeadField::Phone, "\t"),
        (LeadField::Country, ""),
        (LeadField::DateOfBirth, " "),
        (LeadField::Website, " \n "),
    ]);
    assert_eq!(lead.first_name, None);
    assert_eq!(lead.phone, None);
    assert!(!lead.phone_valid);
    assert_eq!(lead.country, None);
    assert_eq!(lead.date_of_birth, None);
    assert_eq!(lead.website, None);
    assert!(lead.flags.is_empty());
}

#[test]
fn identity_rule() {
    let accepted: &[&[(LeadField, &str)]] = &[
        &[(LeadField::Email, "a@example.com")],
        &[(LeadField::Phone, "+44 20 7946 0958")],
        &[(LeadField::Phone, "call reception")],
        &[(LeadField::LastName, "Doe"), (LeadField::Company, "Acme")],
        &[
            (LeadField::FirstName, "Jane"),
            (LeadField::Street, "1 Main St"),
        ],
        &[
            (LeadField::FullName, "Jane Doe"),
            (LeadField::PostalCode, "12345"),
        ],
    ];
    for fields in accepted {
        assert!(
            normalize_lead(&input(fields), &NormalizeOptions::default()).is_ok(),
            "{fields:?}"
        );
    }
    let refused: &[&[(LeadField, &str)]] = &[
        &[],
        &[(LeadField::FirstName, "Jane"), (LeadField::LastName, "Doe")],
        &[
            (LeadField::Company, "Acme"),
            (LeadField::Website, "acme.com"),
        ],
        &[(LeadField::FirstName, "Jane"), (LeadField::City, "Paris")],
        &[(LeadField::Email, "  "), (LeadField::Phone, " ")],
        &[(LeadField::Title, "CEO"), (LeadField::Country, "FR")],
    ];
    for fields in refused {
        assert_eq!(
            errors(&input(fields)),
            vec![pair("lead", "missing_identity")],
            "{fields:?}"
        );
    }
    let err = normalize_lead(&LeadInput::default(), &NormalizeOptions::default())
        .err()
        .unwrap_or_default();
    assert_eq!(err[0].message, MISSING_IDENTITY);
}

#[test]
fn all_field_errors_are_collected() {
    let mut raw = input(&[
        (LeadField::FirstName, "Ja\0ne"),
        (LeadField::Email, "not-an-email"),
        (LeadField::Company, &"x".repeat(301)),
        (LeadField::PostalCode, "123456789012345678901"),
        (LeadField::DateOfBirth, "04/05/1980"),
        (LeadField::City, "Bad\u{1b}[31m"),
    ]);
    raw.custom.insert("note".into(), "x".repeat(4001));
    assert_eq!(
        errors(&raw),
        vec![
            pair("first_name", "control_character"),
            pair("email", "invalid_email"),
            pair("company", "too_long"),
            pair("postal_code", "too_long"),
            pair("city", "control_character"),
            pair("custom.note", "too_long"),
        ]
    );
}

#[test]
fn error_messages_are_specific() {
    let raw = input(&[
        (LeadField::Email, "jane doe@example.com"),
        (LeadField::DateOfBirth, "1980-02-30"),
        (LeadField::LastName, "Doe\u{7}"),
    ]);
    let errs = normalize_lead(&raw, &NormalizeOptions::default())
        .err()
        .unwrap_or_default();
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "last_name contains the control character U+0007",
            "the e-mail address contains the invalid character ' '",
        ]
    );
}

#[test]
fn length_limits_per_field() {
    let limits = [
        (LeadField::FirstName, 200),
        (LeadField::LastName, 200),
        (LeadField::FullName, 200),
        (LeadField::Title, 200),
        (LeadField::City, 200),
        (LeadField::Region, 200),
        (LeadField::Phone, 64),
        (LeadField::Company, 300),
        (LeadField::Website, 2048),
        (LeadField::Street, 500),
        (LeadField::PostalCode, 20),
        (LeadField::Country, 100),
        (LeadField::DateOfBirth, 64),
    ];
    for (field, limit) in limits {
        let at_limit = input(&[
            (LeadField::Email, "a@example.com"),
            (field, &"é".repeat(limit)),
        ]);
        let result = normalize_lead(&at_limit, &NormalizeOptions::default());
        let too_long_at_limit = result
            .err()
            .is_some_and(|e| e.iter().any(|e| e.code == "too_long"));
        assert!(!too_long_at_limit, "{field} at its limit");
        let over = input(&[
            (LeadField::Email, "a@example.com"),
            (field, &"é".repeat(limit + 1)),
        ]);
        assert_eq!(
            errors(&over),
            vec![pair(field.as_str(), "too_long")],
            "{field}"
        );
    }
    let long_email = format!("{}@example.com", "a".repeat(243));
    assert_eq!(
        errors(&input(&[(LeadField::Email, &long_email)])),
        vec![pair("email", "too_long")]
    );
}

#[test]
fn megabyte_values_are_too_long_not_a_panic() {
    let huge = "A".repeat(1 << 20);
    let mut raw = LeadInput::default();
    for field in LeadField::ALL {
        raw.set(field, huge.as_str());
    }
    raw.custom.insert("big".into(), huge.clone());
    raw.custom.insert(huge.clone(), "v".into());
    let errs = errors(&raw);
    assert_eq!(errs.len(), LeadField::ALL.len() + 2);
    assert!(errs.iter().all(|(_, code)| code == "too_long"), "{errs:?}");
    assert!(errs.contains(&pair("custom.big", "too_long")));
    assert!(errs.contains(&pair("custom", "too_long")));
}

#[test]
fn control_characters() {
    for bad in [
        "\0", "\u{1}", "\u{8}", "\u{b}", "\u{c}", "\u{1f}", "\u{7f}", "\u{9b}",
    ] {
        let raw = input(&[
            (LeadField::Email, "a@example.com"),
            (LeadField::Company, &format!("Acme{bad}Corp")),
        ]);
        assert_eq!(
            errors(&raw),
            vec![pair("company", "control_character")],
            "{bad:?}"
        );
    }
    let lead = ok(&[
        (LeadField::Email, "a@example.com"),
        (LeadField::Company, "Acme\tCorp\r\n"),
        (LeadField::Street, "1 Main St\nSuite 2"),
    ]);
    assert_eq!(lead.company.as_deref(), Some("Acme Corp"));
    assert_eq!(lead.street.as_deref(), Some("1 Main St Suite 2"));
}

#[test]
fn full_name_fills_only_missing_parts() {
    let base = [(LeadField::Email, "a@example.com")];
    let cases: &[NameCase] = &[
        (
            &[(LeadField::FullName, "jane doe")],
            Some("Jane"),
            Some("Doe"),
        ),
        (
            &[(LeadField::FullName, "Doe, Jane")],
            Some("Jane"),
            Some("Doe"),
        ),
        (
            &[(LeadField::FullName, "Ludwig van Beethoven")],
            Some("Ludwig"),
            Some("van Beethoven"),
        ),
        (
            &[
                (LeadField::FullName, "Jane Doe"),
                (LeadField::FirstName, "Janet"),
            ],
            Some("Janet"),
            Some("Doe"),
        ),
        (
            &[
                (LeadField::FullName, "Jane Doe"),
                (LeadField::LastName, "Smith"),
            ],
            Some("Jane"),
            Some("Smith"),
        ),
        (
            &[
                (LeadField::FullName, "Jane Doe"),
                (LeadField::FirstName, "A"),
                (LeadField::LastName, "B"),
            ],
            Some("A"),
            Some("B"),
        ),
        (&[(LeadField::FullName, "Cher")], None, Some("Cher")),
    ];
    for (fields, first, last) in cases {
        let mut all = base.to_vec();
        all.extend_from_slice(fields);
        let lead = ok(&all);
        assert_eq!(lead.first_name.as_deref(), *first, "{fields:?}");
        assert_eq!(lead.last_name.as_deref(), *last, "{fields:?}");
    }
}

#[test]
fn phone_region_comes_from_country_then_default() {
    let with = |country: Option<&str>, default: Option<&str>| {
        let mut raw = input(&[(LeadField::Phone, "020 7946 0958")]);
        if let Some(c) = country {
            raw.set(LeadField::Country, c);
        }
        let opts = NormalizeOptions {
            default_region: default.map(String::from),
            today: None,
        };
        normalize_lead(&raw, &opts).unwrap_or_default()
    };
    let lead = with(Some("United Kingdom"), Some("US"));
    assert_eq!(lead.phone.as_deref(), Some("+442079460958"));
    assert!(lead.phone_valid);
    assert!(lead.flags.is_empty());

    let lead = with(None, Some("GB"));
    assert_eq!(lead.phone.as_deref(), Some("+442079460958"));

    let lead = with(Some("Narnia"), Some("GB"));
    assert_eq!(lead.phone.as_deref(), Some("+442079460958"));
    assert_eq!(lead.country.as_deref(), Some("Narnia"));
    assert_eq!(lead.flags, vec![DataFlag::CountryUnrecognised]);

    let lead = with(None, None);
    assert_eq!(lead.phone.as_deref(), Some("020 7946 0958"));
    assert!(!lead.phone_valid);
    assert_eq!(lead.flags, vec![DataFlag::PhoneUnparseable]);

    let lead = with(Some("  the   land of  OZ "), None);
    assert_eq!(lead.country.as_deref(), Some("the land of OZ"));
    assert_eq!(
        lead.flags,
        vec![DataFlag::CountryUnrecognised, DataFlag::PhoneUnparseable]
    );
}

#[test]
fn domain_from_website_or_business_email() {
    let domain = |fields: &[(LeadField, &str)]| ok(fields).domain;
    assert_eq!(
        domain(&[
            (LeadField::Email, "jane@sales.acme.com"),
            (LeadField::Website, "www.acme.io")
        ]),
        Some("acme.io".into())
    );
    assert_eq!(
        domain(&[(LeadField::Email, "jane@sales.acme.com")]),
        Some("sales.acme.com".into())
    );
    assert_eq!(domain(&[(LeadField::Email, "jane@gmail.com")]), None);
    assert_eq!(
        domain(&[
            (LeadField::Email, "jane@gmail.com"),
            (LeadField::Website, "n/a")
        ]),
        None
    );
    assert_eq!(
        domain(&[
            (LeadField::Email, "jane@acme.com"),
            (LeadField::Website, "n/a")
        ]),
        Some("acme.com".into())
    );
    let lead = ok(&[
        (LeadField::Email, "jane@acme.com"),
        (LeadField::Website, "n/a"),
    ]);
    assert_eq!(lead.website.as_deref(), Some("n/a"));
}

#[test]
fn address_fields() {
    let lead = ok(&[
        (LeadField::Email, "a@example.com"),
        (LeadField::PostalCode, "  sw1a   1aa "),
        (LeadField::Street, "10  downing street"),
        (LeadField::City, " london "),
        (LeadField::Region, "greater  London"),
        (LeadField::Country, "uk"),
    ]);
    assert_eq!(lead.postal_code.as_deref(), Some("SW1A 1AA"));
    assert_eq!(lead.street.as_deref(), Some("10 downing street"));
    assert_eq!(lead.city.as_deref(), Some("london"));
    assert_eq!(lead.region.as_deref(), Some("greater London"));
    assert_eq!(lead.country.as_deref(), Some("GB"));
}

#[test]
fn future_date_of_birth_needs_today() {
    let raw = input(&[
        (LeadField::Email, "a@example.com"),
        (LeadField::DateOfBirth, "2030-01-01"),
    ]);
    assert!(normalize_lead(&raw, &NormalizeOptions::default()).is_ok());
    let opts = NormalizeOptions {
        default_region: None,
        today: Some(date!(2025 - 01 - 01)),
    };
    let lead = normalize_lead(&raw, &opts).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(lead.date_of_birth, None);
    assert_eq!(lead.flags, [DataFlag::DateOfBirthInvalid]);
    assert_eq!(
        lead.custom.get(DATE_OF_BIRTH_AS_GIVEN).map(String::as_str),
        Some("2030-01-01")
    );
}

#[test]
fn a_date_of_birth_that_is_no_date_keeps_the_lead_and_is_flagged() {
    for raw_date in [
        "1930-43-02",
        "1980-02-30",
        "31.04.1980",
        "04/05/1980",
        "23.04.80",
        "1899-12-31",
        "yesterday",
        "  13/13/1980 ",
    ] {
        let lead = ok(&[
            (LeadField::Email, "jane@acme.com"),
            (LeadField::DateOfBirth, raw_date),
        ]);
        assert_eq!(lead.email.as_deref(), Some("jane@acme.com"), "{raw_date:?}");
        assert_eq!(lead.date_of_birth, None, "{raw_date:?}");
        assert_eq!(lead.flags, [DataFlag::DateOfBirthInvalid], "{raw_date:?}");
        assert_eq!(
            lead.custom.get(DATE_OF_BIRTH_AS_GIVEN).map(String::as_str),
            Some(raw_date.trim()),
            "the text is kept as given"
        );
    }
    // A readable date is stored as a date, with no flag and no copy.
    let lead = ok(&[
        (LeadField::Email, "jane@acme.com"),
        (LeadField::DateOfBirth, "23.04.1980"),
    ]);
    assert_eq!(lead.date_of_birth.as_deref(), Some("1980-04-23"));
    assert!(lead.flags.is_empty() && lead.custom.is_empty());
    // The flag does not stand in for an identity: a bad date alone is still no lead.
    assert_eq!(
        errors(&input(&[(LeadField::DateOfBirth, "1930-43-02")])),
        vec![pair("lead", "missing_identity")]
    );
    // A custom attribute of the same name, mapped by the person importing, wins.
    let mut raw = input(&[
        (LeadField::Email, "jane@acme.com"),
        (LeadField::DateOfBirth, "1930-43-02"),
    ]);
    raw.custom
        .insert(DATE_OF_BIRTH_AS_GIVEN.into(), "theirs".into());
    let lead = normalize_lead(&raw, &NormalizeOptions::default()).unwrap_or_default();
    assert_eq!(
        lead.custom.get(DATE_OF_BIRTH_AS_GIVEN).map(String::as_str),
        Some("theirs")
    );
    assert_eq!(lead.flags, [DataFlag::DateOfBirthInvalid]);
}

#[test]
fn custom_attributes() {
    let mut raw = input(&[(LeadField::Email, "a@example.com")]);
    raw.custom
        .insert("  source ".into(), "  trade show ".into());
    raw.custom
        .insert("notes".into(), "line 1\n\tline 2\n".into());
    raw.custom.insert("blank".into(), " \n ".into());
    raw.custom.insert("   ".into(), "".into());
    raw.custom
        .insert("caf\u{65}\u{301}".into(), "cre\u{300}me".into());
    let lead = normalize_lead(&raw, &NormalizeOptions::default()).unwrap_or_default();
    let want: std::collections::BTreeMap<String, String> = [
        ("source", "trade show"),
        ("notes", "line 1\n\tline 2"),
        ("caf\u{e9}", "cr\u{e8}me"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(lead.custom, want);
}

#[test]
fn custom_attribute_errors() {
    let mut raw = input(&[(LeadField::Email, "a@example.com")]);
    raw.custom.insert(" ".into(), "orphan value".into());
    raw.custom.insert("k".repeat(65), "v".into());
    raw.custom.insert("bad\0key".into(), "v".into());
    raw.custom.insert("bad value".into(), "a\0b".into());
    raw.custom.insert("ok".repeat(32), "fine".into());
    assert_eq!(
        errors(&raw),
        vec![
            pair("custom", "invalid_key"),
            pair("custom", "control_character"),
            pair("custom.bad value", "control_character"),
            pair("custom", "too_long"),
        ]
    );
}

#[test]
fn too_many_custom_attributes() {
    let mut raw = input(&[(LeadField::Email, "a@example.com")]);
    for i in 0..100 {
        raw.custom.insert(format!("k{i}"), "v".into());
    }
    assert_eq!(
        normalize_lead(&raw, &NormalizeOptions::default()).map(|l| l.custom.len()),
        Ok(100)
    );
    raw.custom.insert("one more".into(), "v".into());
    assert_eq!(errors(&raw), vec![pair("custom", "too_many_attributes")]);
}

#[test]
fn markup_and_sql_survive_as_text() {
    let lead = ok(&[
        (LeadField::FirstName, "Robert'); DROP TABLE leads;--"),
        (LeadField::Company, "<script>alert(1)</script>"),
        (LeadField::Title, "<img src=x onerror=alert(1)>"),
        (LeadField::City, "' OR '1'='1"),
    ]);
    assert_eq!(
        lead.first_name.as_deref(),
        Some("Robert'); DROP TABLE leads;--")
    );
    assert_eq!(lead.company.as_deref(), Some("<script>alert(1)</script>"));
    assert_eq!(lead.title.as_deref(), Some("<img src=x onerror=alert(1)>"));
    assert_eq!(lead.city.as_deref(), Some("' OR '1'='1"));
    assert_eq!(lead.company_key.as_deref(), Some("script alert 1 script"));
}

#[test]
fn unicode_is_composed_and_emoji_survive() {
    let lead = ok(&[
        (LeadField::Email, "e\u{301}milie@example.fr"),
        (LeadField::FirstName, "E\u{301}milie"),
        (LeadField::LastName, "Mu\u{308}ller 🚀"),
        (LeadField::Company, "Cafe\u{301} 🍰 Ltd"),
        (LeadField::City, "Zu\u{308}rich"),
        (LeadField::Country, "O\u{308}sterreich"),
        (LeadField::Title, "Chief 🎉 Officer"),
    ]);
    assert_eq!(lead.first_name.as_deref(), Some("\u{c9}milie"));
    assert_eq!(lead.last_name.as_deref(), Some("M\u{fc}ller 🚀"));
    assert_eq!(lead.email.as_deref(), Some("\u{e9}milie@example.fr"));
    assert_eq!(lead.company.as_deref(), Some("Caf\u{e9} 🍰 Ltd"));
    assert_eq!(lead.company_key.as_deref(), Some("cafe"));
    assert_eq!(lead.city.as_deref(), Some("Z\u{fc}rich"));
    assert_eq!(lead.country.as_deref(), Some("AT"));
    assert_eq!(lead.title.as_deref(), Some("Chief 🎉 Officer"));
}

#[test]
fn flags_serialise_snake_case() {
    let json = serde_json::to_string(&[
        DataFlag::PhoneUnparseable,
        DataFlag::CountryUnrecognised,
        DataFlag::DateOfBirthInvalid,
    ])
    .unwrap_or_default();
    assert_eq!(
        json,
        r#"["phone_unparseable","country_unrecognised","date_of_birth_invalid"]"#
    );
}

/// Feeds a normalised lead back in as raw input.
fn as_input(lead: &NormalizedLead) -> LeadInput {
    lead.to_input()
}

#[test]
fn normalising_is_idempotent() {
    let samples: &[&[(LeadField, &str)]] = &[
        &[
            (LeadField::FullName, "JANE VAN DER BERG"),
            (LeadField::Email, "J.Doe+x@GoogleMail.com"),
            (LeadField::Phone, "06-12345678"),
            (LeadField::Country, "Holland"),
            (LeadField::Company, "The Acme Company"),
            (LeadField::DateOfBirth, "April 23, 1980"),
        ],
        &[
            (LeadField::LastName, "o'brien"),
            (LeadField::Company, "  Bücher GmbH & Co. KG "),
            (LeadField::PostalCode, "sw1a 1aa"),
            (LeadField::Phone, "ring me"),
            (LeadField::Country, "Atlantis"),
            (LeadField::Website, "HTTPS://WWW.BÜCHER.DE/x"),
        ],
        &[
            (LeadField::Email, "émilie@Bücher.de"),
            (LeadField::Phone, "+44 (0)20 7946 0958"),
            (LeadField::City, "  Zu\u{308}rich "),
        ],
    ];
    for fields in samples {
        let opts = NormalizeOptions {
            default_region: Some("DE".into()),
            today: None,
        };
        let once = normalize_lead(&input(fields), &opts).unwrap_or_default();
        let twice = normalize_lead(&as_input(&once), &opts).unwrap_or_default();
        assert_eq!(once, twice, "{fields:?}");
    }
}

#[test]
fn arbitrary_input_never_panics_and_comes_out_clean() {
    // A deterministic fuzz: strings built from characters that have broken parsers
    // before (controls, combining marks, bidi marks, surrogate-range neighbours, emoji).
    let alphabet: Vec<char> = "aZ9 @.+-_/:,'\"()<>\t\n\0\u{7f}\u{85}\u{301}\u{308}\u{200b}\u{200f}\u{feff}\u{ff10}\u{fffd}\u{10ffff}é߀😀ΣσςİıǅßẞＡ。"
        .chars()
        .collect();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..500 {
        let mut raw = LeadInput::default();
        for field in LeadField::ALL {
            let len = usize::try_from(next() % 16).unwrap_or(0);
            let value: String = (0..len)
                .map(|_| alphabet[usize::try_from(next() % alphabet.len() as u64).unwrap_or(0)])
                .collect();
            raw.set(field, value);
        }
        raw.custom.insert("k".into(), "v\u{301}".into());
        if let Ok(lead) = normalize_lead(&raw, &NormalizeOptions::default()) {
            for value in [&lead.first_name, &lead.last_name, &lead.company, &lead.city]
                .into_iter()
                .flatten()
            {
                assert_eq!(value.trim(), value);
                assert!(unicode_normalization::is_nfc(value), "{value:?}");
                assert!(forbidden_control(value).is_none(), "{value:?}");
            }
        }
    }
}

#[test]
fn lead_emails_must_be_able_to_receive_mail() {
    for raw in [
        "jane@acme.test",
        "jane@acme.example",
        "jane@router.local",
        "jane@acme.com\n",
        "jane@acme.com\r\nBcc: all@acme.com",
        "\tjane@acme.com",
        "\u{301}jane@acme.com",
        "jane@xy--z.acme.com",
    ] {
        assert_eq!(
            errors(&input(&[(LeadField::Email, raw)])),
            vec![pair("email", "invalid_email")],
            "{raw:?}"
        );
    }
    let lead = ok(&[(LeadField::Email, " \u{a0}jane@Example.com  ")]);
    assert_eq!(lead.email.as_deref(), Some("jane@example.com"));
}
