use super::*;
use crate::import::{parse_csv, ParsedRow};
use phonenumber::country::Id;
use std::collections::{BTreeMap, HashMap};
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);

fn region(code: &str) -> Id {
    match code {
        "GB" => Id::GB,
        "US" => Id::US,
        "DE" => Id::DE,
        "FR" => Id::FR,
        "NL" => Id::NL,
        _ => Id::ES,
    }
}

fn e164(country: &str, phone: &str) -> Option<String> {
    let n = phonenumber::parse(Some(region(country)), phone).ok()?;
    phonenumber::is_valid(&n).then(|| n.format().mode(phonenumber::Mode::E164).to_string())
}

fn email_key(email: &str) -> String {
    super::synthetic::email_key(email)
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = generate(42, 300, TODAY);
    let b = generate(42, 300, TODAY);
    assert_eq!(a, b);
    let c = generate(43, 300, TODAY);
    assert_ne!(a.captures, c.captures);
    assert_eq!(a.campaigns, c.campaigns);
}

#[test]
fn campaigns_cover_every_channel_and_every_campaign_has_captures() {
    let data = generate(7, 200, TODAY);
    assert_eq!(data.campaigns.len(), 12);
    for channel in Channel::ALL {
        assert!(
            data.campaigns.iter().any(|c| c.channel == channel),
            "{channel} missing"
        );
    }
    for i in 0..data.campaigns.len() {
        assert!(
            data.captures.iter().any(|c| c.campaign == i),
            "campaign {i} has no captures"
        );
    }
    let names: Vec<&str> = data.campaigns.iter().map(|c| c.name.as_str()).collect();
    for wanted in [
        "Contact us",
        "Spring pricing guide",
        "SaaStr Europe booth",
        "Ideal Home Show London",
        "Q3 postcard mailing",
        "Google Ads – lead gen",
        "LinkedIn lead gen form",
        "Partner referrals",
        "Zapier integration",
        "Purchased list 2025",
    ] {
        assert!(names.contains(&wanted), "{wanted}");
    }
}

#[test]
fn captures_fall_inside_their_campaigns_and_are_ordered() {
    let data = generate(1, 1000, TODAY);
    assert_eq!(data.captures.len(), 1000);
    let mut last = (u32::MAX, 0);
    for c in &data.captures {
        let campaign = &data.campaigns[c.campaign];
        let day = TODAY - Duration::days(i64::from(c.captured_days_ago));
        assert!(c.captured_days_ago >= 1);
        assert!(
            day >= campaign.starts_on,
            "{} before {}",
            day,
            campaign.name
        );
        if let Some(end) = campaign.ends_on {
            assert!(day <= end, "{} after {}", day, campaign.name);
        }
        assert!(c.captured_seconds_of_day < 86_400);
        let key = (c.captured_days_ago, c.captured_seconds_of_day);
        assert!(
            key.0 < last.0 || (key.0 == last.0 && key.1 >= last.1),
            "oldest first"
        );
        last = key;
        assert!(!c.email_consent || c.input.email.is_some());
        assert!(!c.phone_consent || c.input.phone.is_some());
    }
}

#[test]
fn consumer_channels_carry_addresses_not_companies() {
    let data = generate(5, 1000, TODAY);
    for c in &data.captures {
        let channel = data.campaigns[c.campaign].channel;
        if channel.is_consumer_list() {
            assert!(
                c.input.company.is_none() && c.input.email.is_none(),
                "{c:?}"
            );
            assert!(c.input.street.is_some() && c.input.postal_code.is_some());
            assert!(c.input.first_name.is_some() || c.input.full_name.is_some());
        } else {
            assert!(c.input.email.is_some(), "{channel}: {c:?}");
        }
        if channel == Channel::Sem {
            assert!(c.utm.term.is_some() && c.utm.content.is_some());
            assert_eq!(c.utm.source.as_deref(), Some("google"));
        }
        if channel == Channel::Import {
            assert!(
                !c.email_consent && !c.phone_consent,
                "purchased lists carry no consent"
            );
        }
    }
}

#[test]
fn duplicate_share_is_in_range_and_repeats_stay_matchable() {
    for (seed, leads) in [(1u64, 1000usize), (2, 400), (3, 2500)] {
        let (data, meta) = generate_with_meta(seed, leads, TODAY);
        let people: HashSet<usize> = meta.iter().map(|m| m.person).collect();
        let repeats = leads - people.len();
        let share = repeats as f64 / leads as f64;
        assert!((0.05..=0.08).contains(&share), "seed {seed}: share {share}");
        // Every repeat shares an e-mail key, a phone number or name and postcode with
        // the person's other captures.
        let mut by_person: BTreeMap<usize, Vec<&DemoCapture>> = BTreeMap::new();
        for (c, m) in data.captures.iter().zip(&meta) {
            by_person.entry(m.person).or_default().push(c);
        }
        for captures in by_person.values().filter(|v| v.len() > 1) {
            let first = captures[0];
            for other in &captures[1..] {
                let same_email = first.input.email.as_deref().map(email_key)
                    == other.input.email.as_deref().map(email_key)
                    && first.input.email.is_some();
                let same_postcode = first.input.postal_code.is_some()
                    && first.input.postal_code == other.input.postal_code;
                let digits = |p: &Option<String>| {
                    p.as_deref()
                        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
                };
                let d1 = digits(&first.input.phone);
                let d2 = digits(&other.input.phone);
                let same_phone = matches!((&d1, &d2), (Some(a), Some(b)) if a.len() >= 7 && b.len() >= 7 && (a.ends_with(&b[b.len() - 7..])));
                assert!(
                    same_email || same_postcode || same_phone,
                    "{first:?}\n{other:?}"
                );
            }
        }
    }
}

#[test]
fn messy_share_and_kinds() {
    let (data, meta) = generate_with_meta(11, 2000, TODAY);
    let messy = meta.iter().filter(|m| m.messy).count();
    assert_eq!(messy, 60);
    let all: Vec<&LeadInput> = data.captures.iter().map(|c| &c.input).collect();
    assert!(all
        .iter()
        .any(|i| i.phone.as_deref() == Some("call after 6pm")
            || i.phone.as_deref() == Some("n/a")
            || i.phone.as_deref() == Some("ask for reception")));
    assert!(all
        .iter()
        .any(|i| i.first_name.as_deref().is_some_and(|n| n.starts_with("  "))));
    assert!(all
        .iter()
        .any(|i| i.last_name.as_deref().is_some_and(|n| n.len() > 2
            && n == n.to_uppercase()
            && n.chars().any(char::is_alphabetic))));
}

#[test]
fn data_looks_international() {
    let data = generate(9, 1500, TODAY);
    let text = format!("{:?}", data.captures);
    for needle in [
        "GmbH",
        "Ltd",
        "B.V.",
        "SAS",
        "S.L.",
        "Inc",
        "ü",
        "é",
        "van ",
        "O'",
        "Mc",
        "@gmail.com",
    ] {
        assert!(text.contains(needle), "no {needle:?} in demo data");
    }
    let titles: HashSet<&str> = data
        .captures
        .iter()
        .filter_map(|c| c.input.title.as_deref())
        .collect();
    assert!(titles.contains("CEO") || titles.contains("Founder & CEO"));
    assert!(titles
        .iter()
        .any(|t| t.contains("Intern") || t.contains("Assistant") || t.contains("Coordinator")));
    assert!(titles.len() > 20);
}

#[test]
fn clean_phones_are_valid_for_their_country_and_unique_per_person() {
    let (data, meta) = generate_with_meta(21, 2000, TODAY);
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut invalid = Vec::new();
    for (c, m) in data.captures.iter().zip(&meta) {
        let Some(phone) = c.input.phone.as_deref() else {
            continue;
        };
        if m.messy && phone.chars().filter(char::is_ascii_digit).count() < 6 {
            continue;
        }
        // The person's country decides how a national number is read.
        let country = m.country;
        match e164(country, phone) {
            Some(e) => {
                let prev = owner.insert(e.clone(), m.person);
                assert!(
                    prev.is_none() || prev == Some(m.person),
                    "{e} shared by two people"
                );
            }
            None => invalid.push(format!("{country} {phone}")),
        }
    }
    assert!(invalid.is_empty(), "invalid phones: {invalid:?}");
    assert!(owner.len() > 700, "{} phones", owner.len());
}

#[test]
fn every_phone_style_of_every_plan_is_valid() {
    use super::people::Phone;
    use super::tables::COUNTRIES;
    let mut rng = StdRng::seed_from_u64(99);
    let mut invalid = Vec::new();
    for (ci, info) in COUNTRIES.iter().enumerate() {
        let plans = info
            .cities
            .iter()
            .map(|c| &c.landline)
            .chain(info.mobiles.iter());
        for plan in plans {
            for counter in [0u64, 1, 17, 999, 123_456, 999_999] {
                let phone = Phone::new(ci, plan, counter, 4242, &mut rng);
                for style in 0..super::people::PHONE_STYLES {
                    let written = phone.render(style);
                    if e164(info.code, &written).is_none() {
                        invalid.push(format!("{} {written}", info.code));
                    }
                }
            }
        }
    }
    assert!(
        invalid.is_empty(),
        "{} invalid: {:?}",
        invalid.len(),
        &invalid[..invalid.len().min(30)]
    );
}

#[test]
fn zero_and_tiny_demo_sizes_work() {
    assert!(generate(1, 0, TODAY).captures.is_empty());
    assert_eq!(generate(1, 1, TODAY).captures.len(), 1);
    assert_eq!(generate(1, 13, TODAY).captures.len(), 13);
    // A date near the calendar's start must not panic.
    let early = Date::MIN;
    assert_eq!(generate(1, 20, early).captures.len(), 20);
}

fn synthetic_rows(csv: &SyntheticCsv) -> (Vec<ParsedRow>, Vec<u64>) {
    let parsed = parse_csv(csv.text.as_bytes(), &[]).expect("synthetic file parses");
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for row in parsed.rows() {
        match row {
            Ok(r) => ok.push(r),
            Err(e) => errors.push(e.line),
        }
    }
    (ok, errors)
}

#[test]
fn synthetic_csv_counts_add_up() {
    let csv = synthetic_import_csv(5, 100_000);
    assert_eq!(csv.rows, 100_000);
    assert_eq!(csv.duplicate_rows, 10_000);
    assert_eq!(csv.broken_lines.len(), 1_000);
    assert_eq!(csv.unique_people, 89_000);
    assert_eq!(
        csv.unique_people + csv.duplicate_rows + csv.broken_lines.len(),
        csv.rows
    );
    assert_eq!(csv.text.lines().count(), 100_001);
    assert!(csv.text.starts_with(SYNTHETIC_HEADER));
    assert!(csv.broken_lines.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        synthetic_import_csv(5, 2_000),
        synthetic_import_csv(5, 2_000)
    );
}

#[test]
fn synthetic_csv_parses_to_exactly_its_broken_lines() {
    let csv = synthetic_import_csv(8, 20_000);
    let (ok, errors) = synthetic_rows(&csv);
    let broken: HashSet<u64> = csv.broken_lines.iter().copied().collect();
    assert!(
        errors.iter().all(|l| broken.contains(l)),
        "a row error outside the broken lines"
    );
    let invalid_email: Vec<u64> = ok
        .iter()
        .filter(|r| r.input.email.as_deref() == Some("not-an-email"))
        .map(|r| r.line)
        .collect();
    assert!(invalid_email.iter().all(|l| broken.contains(l)));
    assert_eq!(errors.len() + invalid_email.len(), csv.broken_lines.len());
    assert_eq!(errors.len(), csv.broken_lines.len() / 2);
    for r in ok
        .iter()
        .filter(|r| r.input.email.as_deref() == Some("not-an-email"))
    {
        assert!(r.input.phone.is_none() && r.input.company.is_none());
    }
    assert_eq!(ok.len() + errors.len(), csv.rows);
}

#[test]
fn synthetic_people_are_distinct_and_duplicates_keep_their_keys() {
    let csv = synthetic_import_csv(13, 6_000);
    let (ok, _) = synthetic_rows(&csv);
    let country_code = |name: &str| match name {
        "United Kingdom" => "GB",
        "United States" => "US",
        "Germany" => "DE",
        "France" => "FR",
        "Netherlands" => "NL",
        _ => "ES",
    };
    let mut phone_of_email: HashMap<String, String> = HashMap::new();
    let mut email_of_phone: HashMap<String, String> = HashMap::new();
    let mut people_rows = 0;
    for r in ok
        .iter()
        .filter(|r| r.input.email.as_deref() != Some("not-an-email"))
    {
        people_rows += 1;
        let key = email_key(r.input.email.as_deref().unwrap_or_default());
        let country = country_code(r.input.country.as_deref().unwrap_or_default());
        let phone = r.input.phone.as_deref().unwrap_or_default();
        let phone =
            e164(country, phone).unwrap_or_else(|| panic!("invalid phone {country} {phone}"));
        assert_eq!(
            phone_of_email
                .entry(key.clone())
                .or_insert_with(|| phone.clone()),
            &phone,
            "one e-mail, two phones"
        );
        assert_eq!(
            email_of_phone.entry(phone).or_insert_with(|| key.clone()),
            &key,
            "one phone, two e-mails"
        );
    }
    assert_eq!(people_rows, csv.unique_people + csv.duplicate_rows);
    assert_eq!(phone_of_email.len(), csv.unique_people);
    assert_eq!(email_of_phone.len(), csv.unique_people);
    // Fuzzy duplicates exist: rows whose e-mail is not lower case or whose last name
    // differs from another row with the same key.
    assert!(ok.iter().any(|r| r
        .input
        .email
        .as_deref()
        .is_some_and(|e| e != e.to_lowercase())));
}

#[test]
fn synthetic_generation_and_import_parsing_are_fast() {
    let start = std::time::Instant::now();
    let csv = synthetic_import_csv(1, 100_000);
    let generated = start.elapsed();
    let (ok, errors) = synthetic_rows(&csv);
    let parsed = start.elapsed() - generated;
    eprintln!("100,000 rows: generated in {generated:?}, parsed in {parsed:?}");
    assert_eq!(ok.len() + errors.len(), 100_000);
    if !cfg!(debug_assertions) {
        assert!(
            generated.as_millis() < 1_000,
            "generation took {generated:?}"
        );
        assert!(parsed.as_millis() < 2_000, "parsing took {parsed:?}");
    }
}

#[test]
fn synthetic_edge_sizes() {
    for rows in [0, 1, 9, 10, 99, 100, 101] {
        let csv = synthetic_import_csv(3, rows);
        assert_eq!(
            csv.unique_people + csv.duplicate_rows + csv.broken_lines.len(),
            rows
        );
        assert_eq!(csv.text.lines().count(), rows + 1);
    }
}
