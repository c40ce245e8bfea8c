//! A large synthetic lead list for the 100,000-row import test and benchmark.
//!
//! The file has a known answer: how many distinct people it holds, how many rows
//! repeat an earlier person (exactly or fuzzily) and which lines are broken, so an
//! import run over it can be checked number by number.

use super::people::{
    ascii_fold, gmail_dot_variant, is_gmail, pick, postal_code, street_line, typo, weighted,
    Company, Phone, PHONE_STYLES,
};
use super::tables::{COUNTRIES, TITLES};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

/// The header line of [`synthetic_import_csv`] files (without line break).
pub const SYNTHETIC_HEADER: &str =
    "First Name,Last Name,E-mail Address,Phone Number,Company,Job Title,Street,Postal Code,City,Country";

/// A generated CSV lead list and the facts an importer should find in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticCsv {
    /// The file: header line, then `rows` data lines, each ending in `\n`.
    pub text: String,
    /// Data rows (not counting the header).
    pub rows: usize,
    /// Distinct people; each has a unique e-mail key and a unique phone number.
    pub unique_people: usize,
    /// Rows repeating an earlier person: half exact copies, half with the e-mail in
    /// other case (or Gmail dots moved), the phone written another way and/or a
    /// one-letter typo in the last name; e-mail key and phone number are always kept.
    pub duplicate_rows: usize,
    /// 1-based physical lines of broken rows: a wrong number of columns, or the
    /// e-mail "not-an-email" with no phone and no company (no usable identity).
    pub broken_lines: Vec<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unique,
    Duplicate,
    Broken,
}

struct Person {
    country: usize,
    first: &'static str,
    last: String,
    email: String,
    phone: Phone,
    phone_style: u8,
    company: Company,
    title: &'static str,
    street: String,
    postal: String,
    city: &'static str,
    country_name: &'static str,
}

/// Country mix of the synthetic list: GB, US, DE, FR, NL, ES.
const COUNTRY_WEIGHTS: [u32; 6] = [25, 25, 15, 12, 12, 11];

/// Generates `rows` data rows: 10% duplicates of earlier rows, 1% broken, the rest
/// distinct people. Deterministic for a seed; 100,000 rows take a fraction of a
/// second in release builds.
pub fn synthetic_import_csv(seed: u64, rows: usize) -> SyntheticCsv {
    let mut rng = StdRng::seed_from_u64(seed);
    let duplicates = rows / 10;
    let broken = rows / 100;
    let unique = rows - duplicates - broken;

    let mut kinds = Vec::with_capacity(rows);
    kinds.extend(std::iter::repeat_n(Kind::Unique, unique));
    kinds.extend(std::iter::repeat_n(Kind::Duplicate, duplicates));
    kinds.extend(std::iter::repeat_n(Kind::Broken, broken));
    kinds.shuffle(&mut rng);
    // A duplicate needs someone before it: make the first person row a unique one.
    if let Some(first) = kinds.iter().position(|k| *k != Kind::Broken) {
        if kinds[first] == Kind::Duplicate {
            if let Some(u) = kinds.iter().position(|k| *k == Kind::Unique) {
                kinds.swap(first, u);
            }
        }
    }

    let mut factory = Factory {
        identities: HashSet::with_capacity(unique * 2),
        emails: HashSet::with_capacity(unique * 2),
        phone_counters: [0; 6],
        phone_salt: rng.gen_range(0..1_000_000),
        serial: 0,
    };
    let mut people: Vec<Person> = Vec::with_capacity(unique);
    let mut text = String::with_capacity(rows * 140 + 128);
    text.push_str(SYNTHETIC_HEADER);
    text.push('\n');
    let mut broken_lines = Vec::with_capacity(broken);
    let mut broken_seen = 0usize;

    for (i, kind) in kinds.iter().enumerate() {
        let line = i as u64 + 2;
        match kind {
            Kind::Unique => {
                let person = factory.person(&mut rng);
                write_row(&mut text, &person, &Fuzz::none(&person));
                people.push(person);
            }
            Kind::Duplicate if !people.is_empty() => {
                let person = &people[rng.gen_range(0..people.len())];
                let fuzz = if rng.gen_bool(0.5) {
                    Fuzz::none(person)
                } else {
                    Fuzz::random(&mut rng, person)
                };
                write_row(&mut text, person, &fuzz);
            }
            // Only reachable if every row before was broken and there is no unique
            // row at all, which the counts above rule out; write a broken row.
            Kind::Duplicate | Kind::Broken => {
                let person = factory.person(&mut rng);
                write_broken(&mut text, &person, broken_seen);
                broken_seen += 1;
                broken_lines.push(line);
            }
        }
    }

    SyntheticCsv {
        text,
        rows,
        unique_people: people.len(),
        duplicate_rows: rows - people.len() - broken_lines.len(),
        broken_lines,
    }
}

struct Factory {
    /// (country, first, last, company) combinations already used: no two people
    /// share a name at the same company, so even a name-and-company matcher can
    /// tell them apart.
    identities: HashSet<(u8, &'static str, String, u8, u8)>,
    /// E-mail matching keys already used.
    emails: HashSet<String>,
    phone_counters: [u64; 6],
    phone_salt: u64,
    serial: u64,
}

impl Factory {
    fn person(&mut self, rng: &mut StdRng) -> Person {
        self.serial += 1;
        let country = weighted(rng, &COUNTRY_WEIGHTS);
        let info = &COUNTRIES[country];
        // Past a few hundred thousand people the name-at-company space runs out; after
        // a bounded number of tries a repeat is accepted. E-mail and phone stay unique,
        // so a matcher sees such a pair as at most a possible duplicate.
        let mut attempts = 0;
        let (first, last, company) = loop {
            attempts += 1;
            let first = pick(rng, info.first_names);
            let mut last = pick(rng, info.last_names).to_string();
            if info.double_surnames && rng.gen_bool(0.4) {
                last.push(' ');
                last.push_str(pick(rng, info.last_names));
            }
            let company = Company::random(rng, country);
            let key = (
                country as u8,
                first,
                last,
                company.stem as u8,
                company.sector as u8,
            );
            if attempts >= 64 || !self.identities.contains(&key) {
                let last = key.2.clone();
                self.identities.insert(key);
                break (first, last, company);
            }
        };
        let email = self.email(rng, country, first, &last, company);
        let city_index = rng.gen_range(0..info.cities.len());
        let city = &info.cities[city_index];
        let plan = if rng.gen_bool(0.4) {
            &info.mobiles[rng.gen_range(0..info.mobiles.len())]
        } else {
            &city.landline
        };
        let counter = self.phone_counters[country];
        self.phone_counters[country] += 1;
        let phone = Phone::new(country, plan, counter, self.phone_salt, rng);
        Person {
            country,
            first,
            last,
            email,
            phone,
            phone_style: Phone::common_style(rng),
            company,
            title: if !info.local_titles.is_empty() && rng.gen_bool(0.2) {
                pick(rng, info.local_titles)
            } else {
                pick(rng, TITLES)
            },
            street: street_line(rng, info),
            postal: {
                let template = pick(rng, city.postal);
                postal_code(rng, template)
            },
            city: city.name,
            country_name: info.spellings[0],
        }
    }

    fn email(
        &mut self,
        rng: &mut StdRng,
        country: usize,
        first: &str,
        last: &str,
        company: Company,
    ) -> String {
        let info = &COUNTRIES[country];
        let mut local = String::with_capacity(24);
        ascii_fold(first, &mut local);
        local.push('.');
        ascii_fold(last, &mut local);
        let business = rng.gen_bool(0.7);
        let mut email = String::with_capacity(48);
        let mut attempt = 0u32;
        loop {
            email.clear();
            email.push_str(&local);
            if !business {
                // Free-mail boxes carry a number, as real ones mostly must.
                email.push_str(&(self.serial % 997 + u64::from(attempt) * 1000).to_string());
            } else if attempt > 0 {
                email.push_str(&attempt.to_string());
            }
            email.push('@');
            if business {
                company.domain(&mut email);
            } else {
                email.push_str(pick(rng, info.free_mail));
            }
            let key = email_key(&email);
            if self.emails.insert(key) {
                return email;
            }
            attempt += 1;
        }
    }
}

/// The key a matcher compares e-mails by: lower case; at Gmail also without dots.
pub(crate) fn email_key(email: &str) -> String {
    let lower = email.to_lowercase();
    if is_gmail(&lower) {
        if let Some((local, domain)) = lower.split_once('@') {
            return format!("{}@{domain}", local.replace('.', ""));
        }
    }
    lower
}

/// How a duplicate row is written differently from the person's first row.
struct Fuzz {
    email: Option<String>,
    phone_style: u8,
    last: Option<String>,
}

impl Fuzz {
    fn none(person: &Person) -> Fuzz {
        Fuzz {
            email: None,
            phone_style: person.phone_style,
            last: None,
        }
    }

    /// At least one of: e-mail case or Gmail dots, phone format, last-name typo.
    fn random(rng: &mut StdRng, person: &Person) -> Fuzz {
        let mask = rng.gen_range(1u8..8);
        let email = (mask & 1 != 0).then(|| {
            if is_gmail(&person.email) && rng.gen_bool(0.5) {
                gmail_dot_variant(&person.email).unwrap_or_else(|| person.email.to_uppercase())
            } else {
                person.email.to_uppercase()
            }
        });
        let phone_style = if mask & 2 != 0 {
            (person.phone_style + 1 + rng.gen_range(0..PHONE_STYLES - 1)) % PHONE_STYLES
        } else {
            person.phone_style
        };
        let last = (mask & 4 != 0).then(|| typo(rng, &person.last));
        Fuzz {
            email,
            phone_style,
            last,
        }
    }
}

fn write_row(out: &mut String, p: &Person, fuzz: &Fuzz) {
    field(out, p.first);
    out.push(',');
    field(out, fuzz.last.as_deref().unwrap_or(&p.last));
    out.push(',');
    field(out, fuzz.email.as_deref().unwrap_or(&p.email));
    out.push(',');
    field(out, &p.phone.render(fuzz.phone_style));
    out.push(',');
    let mut company = String::with_capacity(40);
    p.company.name(&mut company);
    field(out, &company);
    out.push(',');
    field(out, p.title);
    out.push(',');
    field(out, &p.street);
    out.push(',');
    field(out, &p.postal);
    out.push(',');
    field(out, p.city);
    out.push(',');
    field(out, p.country_name);
    out.push('\n');
}

/// Broken rows in turn: an unquoted comma in the company name (11 columns), a row
/// cut short after the job title (6 columns), and twice an invalid e-mail with no
/// phone and no company (no usable identity).
fn write_broken(out: &mut String, p: &Person, n: usize) {
    let phone = p.phone.render(p.phone_style);
    match n % 4 {
        0 | 1 => {
            let info = &COUNTRIES[p.country];
            let company = format!(
                "{} {}, {}",
                info.company_stems[p.company.stem],
                info.company_sectors[p.company.sector],
                info.legal_suffixes[0]
            );
            let values = [
                p.first,
                &p.last,
                &p.email,
                &phone,
                &company,
                p.title,
                &p.street,
                &p.postal,
                p.city,
                p.country_name,
            ];
            let columns = if n % 4 == 1 { 6 } else { values.len() };
            for (i, value) in values.iter().take(columns).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if i == 4 && columns == values.len() {
                    out.push_str(value); // the unquoted comma
                } else {
                    field(out, value);
                }
            }
            out.push('\n');
        }
        _ => {
            field(out, p.first);
            out.push(',');
            field(out, &p.last);
            out.push_str(",not-an-email,,,");
            field(out, p.title);
            out.push_str(",,,,");
            field(out, p.country_name);
            out.push('\n');
        }
    }
}

/// Writes one CSV value, quoting it when it holds a delimiter, quote or line break.
fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        for c in value.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(value);
    }
}
