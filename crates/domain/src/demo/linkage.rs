//! Lead lists with known truth for measuring matching (`matching_eval`).
//!
//! Two kinds of list, both generated from a seed (pure and deterministic):
//!
//! * [`trade_show_list`]: B2B badge scans — first and last name, e-mail, phone,
//!   company, job title, country. Some people are scanned several times, at several
//!   events. Colleagues share the company and its domain, some give the company
//!   switchboard number, and a few *namesakes* — different people with the same name
//!   at the same company, in different countries with different e-mails — share
//!   everything a name-and-company matcher looks at.
//! * [`consumer_list`]: home-show coupons and direct-mail replies — first and last name
//!   and postal address, a date of birth on some records, a phone on a few, no e-mail.
//!   People live in *households*: couples, families with grown-up children, a parent
//!   with a child, and fathers and sons of the same first name (Sr and Jr), sharing
//!   surname, address and landline.
//!
//! A person's first record is clean; each further record is a copy with a few
//! corruptions drawn from a [`CorruptionMix`] (typos, OCR errors, phonetic spellings,
//! nicknames, initials, swapped names, missing fields, street abbreviations and typos,
//! a missing house number, garbled dates of birth, e-mails and phones written another
//! way), recorded as tags so results can be broken down by cause. Records are shuffled
//! into arrival order.

use super::corrupt::{
    abbreviate_street, any_edit, dob_digit, dob_swap, drop_house_number, initial, nickname, ocr,
    phonetic, postal_typo, short_name_typo, street_typo,
};
use super::linkage_tables::NAMES;
use super::people::{
    business_local, freemail_local, gmail_dot_variant, is_gmail, pick, postal_code, street_line,
    typo, weighted, Company, Phone, PHONE_STYLES,
};
use super::synthetic::email_key;
use super::tables::{COUNTRIES, TITLES};
use crate::fields::LeadInput;
use crate::matching_eval::{LabelledList, LabelledRecord};
use crate::LeadField;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use time::{Date, Month};

/// One way a repeat record differs from the person's clean values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Corruption {
    /// One letter inserted, deleted, replaced or two swapped, in the first or last name.
    NameTypo,
    /// One letter of a first name of three to five letters replaced ("Lisa"/"Lusa").
    ShortNameTypo,
    /// An OCR misreading (rn/m, 0/O, 1/l, 5/S, cl/d, …) in a name, street or postcode
    /// (or, in a B2B list, the company).
    Ocr,
    /// A spelling that sounds the same (ph/f, ck/k, ie/y, ü/ue, …) in a name.
    Phonetic,
    /// A nickname for a formal first name ("Bob" for "Robert").
    Nickname,
    /// The first name cut to its initial.
    Initial,
    /// First and last name in each other's fields.
    SwappedNames,
    /// The name written all upper or all lower case (normalisation should undo it).
    NameCase,
    /// One field left blank.
    MissingField,
    /// "Street" as "St", "straße" as "str.", "Calle" as "C/".
    StreetAbbreviation,
    /// A typo in the street name.
    StreetTypo,
    /// The street without its house number.
    NoHouseNumber,
    /// A digit of the postal code wrong, or two swapped.
    PostalTypo,
    /// Day and month of the date of birth swapped.
    DobSwap,
    /// One digit of the date of birth wrong.
    DobDigit,
    /// The same e-mail address in other case (or, at Gmail, with dots moved).
    EmailCase,
    /// Another address of the person (private instead of work, or the reverse).
    OtherEmail,
    /// The phone number written another way (national, international, grouped, …).
    PhoneStyle,
    /// The company written differently: without or with another legal suffix, in
    /// capitals, or with a typo.
    CompanyVariant,
    /// Another job title (promoted, or written differently).
    TitleChange,
}

impl Corruption {
    /// The tag's kind, as it appears in `LabelledRecord::tags` before the `:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Corruption::NameTypo => "typo",
            Corruption::ShortNameTypo => "short_name_typo",
            Corruption::Ocr => "ocr",
            Corruption::Phonetic => "phonetic",
            Corruption::Nickname => "nickname",
            Corruption::Initial => "initial",
            Corruption::SwappedNames => "swapped_names",
            Corruption::NameCase => "name_case",
            Corruption::MissingField => "missing",
            Corruption::StreetAbbreviation => "street_abbreviation",
            Corruption::StreetTypo => "street_typo",
            Corruption::NoHouseNumber => "no_house_number",
            Corruption::PostalTypo => "postal_typo",
            Corruption::DobSwap => "dob_swap",
            Corruption::DobDigit => "dob_digit",
            Corruption::EmailCase => "email_case",
            Corruption::OtherEmail => "other_email",
            Corruption::PhoneStyle => "phone_style",
            Corruption::CompanyVariant => "company_variant",
            Corruption::TitleChange => "title_change",
        }
    }
}

/// How repeat records are corrupted: relative weights of the kinds, and weights of
/// the number of corruptions per repeat record (index 0 = an exact copy, 1 = one, …).
/// Kinds that cannot apply to a record (no phone to restyle) give way to the others.
#[derive(Debug, Clone, PartialEq)]
pub struct CorruptionMix {
    pub kinds: Vec<(Corruption, u32)>,
    pub per_record: Vec<u32>,
}

/// Settings of [`trade_show_list`]; [`TradeShowConfig::new`] holds realistic defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeShowConfig {
    pub records: usize,
    pub seed: u64,
    /// Weights of 1, 2, 3, … records per person.
    pub records_per_person: Vec<u32>,
    /// Share of people who belong to a group of two to four namesakes at one company.
    pub namesake_share: f64,
    /// Share of people who give a phone at all.
    pub phone_share: f64,
    /// Of those, share who give the company switchboard (shared with colleagues).
    pub switchboard_share: f64,
    pub mix: CorruptionMix,
}

impl TradeShowConfig {
    pub fn new(records: usize, seed: u64) -> Self {
        use Corruption::*;
        TradeShowConfig {
            records,
            seed,
            records_per_person: vec![62, 24, 9, 5],
            namesake_share: 0.02,
            phone_share: 0.85,
            switchboard_share: 0.1,
            mix: CorruptionMix {
                kinds: vec![
                    (EmailCase, 12),
                    (OtherEmail, 10),
                    (PhoneStyle, 14),
                    (MissingField, 14),
                    (NameTypo, 10),
                    (ShortNameTypo, 4),
                    (Ocr, 5),
                    (Phonetic, 6),
                    (Nickname, 7),
                    (Initial, 4),
                    (SwappedNames, 4),
                    (NameCase, 4),
                    (CompanyVariant, 8),
                    (TitleChange, 6),
                ],
                per_record: vec![8, 50, 30, 12],
            },
        }
    }
}

/// Household make-up weights of [`consumer_list`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HouseholdMix {
    pub single: u32,
    pub couple: u32,
    /// A couple and one or two grown-up children.
    pub family: u32,
    pub parent_and_child: u32,
    /// Father and son of the same first name (and sometimes the mother).
    pub senior_and_junior: u32,
}

/// Settings of [`consumer_list`]; [`ConsumerConfig::new`] holds realistic defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    pub records: usize,
    pub seed: u64,
    pub records_per_person: Vec<u32>,
    pub households: HouseholdMix,
    /// Share of people who give a date of birth, and the share of their records that
    /// carry it. A Sr and Jr always give it on every record: without it they are the
    /// same values and no matcher can part them.
    pub dob_share: f64,
    pub dob_on_record: f64,
    /// Share of households with a landline on the list, and of their records giving it.
    pub phone_share: f64,
    pub phone_on_record: f64,
    pub mix: CorruptionMix,
}

impl ConsumerConfig {
    pub fn new(records: usize, seed: u64) -> Self {
        use Corruption::*;
        ConsumerConfig {
            records,
            seed,
            records_per_person: vec![55, 28, 12, 5],
            households: HouseholdMix {
                single: 48,
                couple: 28,
                family: 14,
                parent_and_child: 7,
                senior_and_junior: 3,
            },
            dob_share: 0.6,
            dob_on_record: 0.85,
            phone_share: 0.25,
            phone_on_record: 0.5,
            mix: CorruptionMix {
                kinds: vec![
                    (NameTypo, 12),
                    (ShortNameTypo, 4),
                    (Ocr, 8),
                    (Phonetic, 8),
                    (Nickname, 6),
                    (Initial, 4),
                    (SwappedNames, 4),
                    (NameCase, 3),
                    (MissingField, 10),
                    (StreetAbbreviation, 10),
                    (StreetTypo, 6),
                    (NoHouseNumber, 5),
                    (PostalTypo, 4),
                    (DobSwap, 4),
                    (DobDigit, 5),
                    (PhoneStyle, 3),
                ],
                per_record: vec![5, 45, 35, 15],
            },
        }
    }
}

/// Country mix of the B2B list (GB, US, DE, FR, NL, ES).
const B2B_COUNTRIES: [u32; 6] = [25, 25, 15, 12, 12, 11];
/// Country mix of the consumer list.
const CONSUMER_COUNTRIES: [u32; 6] = [40, 25, 15, 8, 6, 6];
/// Year the consumer list is "now": everyone on it is an adult.
const LIST_YEAR: i32 = 2026;

/// A record under construction: the values a list row will carry.
#[derive(Debug, Clone, Default)]
struct Draft {
    first: Option<String>,
    last: Option<String>,
    email: Option<String>,
    phone: Option<(Phone, u8)>,
    company: Option<String>,
    title: Option<String>,
    street: Option<String>,
    postal: Option<String>,
    city: Option<String>,
    country: Option<String>,
    dob: Option<Date>,
    /// 0 ISO, 1 day-first dotted, 2 English month name.
    dob_style: u8,
}

impl Draft {
    fn input(&self) -> LeadInput {
        LeadInput {
            first_name: self.first.clone(),
            last_name: self.last.clone(),
            email: self.email.clone(),
            phone: self.phone.as_ref().map(|(p, style)| p.render(*style)),
            company: self.company.clone(),
            title: self.title.clone(),
            street: self.street.clone(),
            postal_code: self.postal.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            date_of_birth: self.dob.map(|d| write_date(d, self.dob_style)),
            ..LeadInput::default()
        }
    }
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn write_date(d: Date, style: u8) -> String {
    let (y, m, day) = (d.year(), u8::from(d.month()), d.day());
    match style {
        1 => format!("{day:02}.{m:02}.{y}"),
        2 => format!("{day} {} {y}", MONTH_NAMES[usize::from(m) - 1]),
        _ => format!("{y:04}-{m:02}-{day:02}"),
    }
}

/// A person as the truth knows them.
struct Person {
    household: u32,
    country: usize,
    first: &'static str,
    last: String,
    email: Option<String>,
    /// The person's other address (private for a work one, work for a private one).
    alt_email: Option<String>,
    phone: Option<Phone>,
    phone_style: u8,
    company: Option<Company>,
    title: Option<&'static str>,
    street: Option<String>,
    postal: Option<String>,
    city: Option<&'static str>,
    dob: Option<Date>,
    /// Whether the date of birth is on every record (Sr and Jr) or only on most.
    dob_always: bool,
    /// Whether the phone is on every record (B2B) or on some (consumer).
    phone_always: bool,
    dob_style: u8,
    records: usize,
}

impl Person {
    /// The clean values with every field the person has.
    fn clean(&self) -> Draft {
        let info = &COUNTRIES[self.country];
        Draft {
            first: Some(self.first.to_string()),
            last: Some(self.last.clone()),
            email: self.email.clone(),
            phone: self.phone.clone().map(|p| (p, self.phone_style)),
            company: self.company.map(|c| c.name_string()),
            title: self.title.map(str::to_string),
            street: self.street.clone(),
            postal: self.postal.clone(),
            city: self.city.map(str::to_string),
            country: Some(info.spellings[0].to_string()),
            dob: self.dob,
            dob_style: 0,
        }
    }

    /// One record as the list gives it before corruption: optional values that a
    /// person gives only sometimes are drawn here, the country spelled as it comes.
    fn base(&self, rng: &mut StdRng, cfg_dob: f64, cfg_phone: f64) -> Draft {
        let info = &COUNTRIES[self.country];
        let mut d = self.clean();
        d.country = Some(pick(rng, info.spellings).to_string());
        d.dob_style = self.dob_style;
        if !self.dob_always && !rng.gen_bool(cfg_dob) {
            d.dob = None;
        }
        if !self.phone_always && !rng.gen_bool(cfg_phone) {
            d.phone = None;
        }
        d
    }
}

/// Index of a Zipf-like pick from a table ordered most common first: weight
/// `1 / (rank + offset)`; a larger offset flattens the head.
fn zipf(rng: &mut StdRng, len: usize, offset: f64) -> usize {
    let weight = |r: usize| 1.0 / (r as f64 + offset);
    let total: f64 = (0..len).map(weight).sum();
    let mut roll = rng.gen::<f64>() * total;
    for r in 0..len {
        if roll < weight(r) {
            return r;
        }
        roll -= weight(r);
    }
    len.saturating_sub(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sex {
    Male,
    Female,
}

fn first_name(rng: &mut StdRng, country: usize, sex: Sex) -> &'static str {
    let table = match sex {
        Sex::Male => NAMES[country].male,
        Sex::Female => NAMES[country].female,
    };
    table[zipf(rng, table.len(), 3.0)]
}

fn surname(rng: &mut StdRng, country: usize) -> String {
    let table = NAMES[country].surnames;
    let mut last = table[zipf(rng, table.len(), 8.0)].to_string();
    if COUNTRIES[country].code == "ES" && rng.gen_bool(0.4) {
        last.push(' ');
        last.push_str(table[zipf(rng, table.len(), 8.0)]);
    }
    last
}

fn random_sex(rng: &mut StdRng) -> Sex {
    if rng.gen_bool(0.5) {
        Sex::Male
    } else {
        Sex::Female
    }
}

fn birthday(rng: &mut StdRng, year: i32) -> Date {
    let month = Month::try_from(rng.gen_range(1..=12u8)).unwrap_or(Month::January);
    let day = rng.gen_range(1..=28u8);
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN)
}

fn dob_style(rng: &mut StdRng, country: usize) -> u8 {
    match (COUNTRIES[country].code, rng.gen_range(0..10)) {
        (_, 0..=5) => 0,
        ("GB" | "US", _) => 2,
        _ => 1,
    }
}

/// Counters that keep phones and e-mails unique per person.
struct Uniques {
    phone_counters: [u64; 6],
    phone_salt: u64,
    emails: HashSet<String>,
}

impl Uniques {
    fn new(rng: &mut StdRng) -> Self {
        Uniques {
            phone_counters: [0; 6],
            phone_salt: rng.gen_range(0..1_000_000),
            emails: HashSet::new(),
        }
    }

    fn phone(
        &mut self,
        rng: &mut StdRng,
        country: usize,
        plan: &super::tables::PhonePlan,
    ) -> Phone {
        let counter = self.phone_counters[country];
        self.phone_counters[country] += 1;
        Phone::new(country, plan, counter, self.phone_salt, rng)
    }

    /// `local@domain`, with a number appended until its matching key is new.
    fn email(&mut self, local: &str, domain: &str) -> String {
        let mut n = 0u32;
        loop {
            let email = if n == 0 {
                format!("{local}@{domain}")
            } else {
                format!("{local}{n}@{domain}")
            };
            if self.emails.insert(email_key(&email)) {
                return email;
            }
            n += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------
// B2B

struct TradeShow<'a> {
    cfg: &'a TradeShowConfig,
    uniques: Uniques,
    switchboards: HashMap<Company, Phone>,
    /// (company, first, last) already taken, so namesakes at one company exist only
    /// where a namesake group puts them.
    identities: HashSet<(Company, &'static str, String)>,
    people: Vec<Person>,
    households: u32,
}

impl TradeShow<'_> {
    fn company_for(rng: &mut StdRng, country: usize) -> Company {
        let home = if rng.gen_bool(0.85) {
            country
        } else {
            weighted(rng, &B2B_COUNTRIES)
        };
        Company::random(rng, home)
    }

    fn phone_for(&mut self, rng: &mut StdRng, country: usize, company: Company) -> Option<Phone> {
        if !rng.gen_bool(self.cfg.phone_share) {
            return None;
        }
        let info = &COUNTRIES[country];
        if company.country == country && rng.gen_bool(self.cfg.switchboard_share) {
            let city = &info.cities[company.stem % info.cities.len()];
            let uniques = &mut self.uniques;
            let phone = self
                .switchboards
                .entry(company)
                .or_insert_with(|| uniques.phone(rng, country, &city.landline));
            return Some(phone.clone());
        }
        let plan = if rng.gen_bool(0.6) {
            &info.mobiles[rng.gen_range(0..info.mobiles.len())]
        } else {
            &info.cities[rng.gen_range(0..info.cities.len())].landline
        };
        Some(self.uniques.phone(rng, country, plan))
    }

    /// Work and private e-mail; which one the person gives on the list is drawn.
    fn emails(
        &mut self,
        rng: &mut StdRng,
        country: usize,
        first: &str,
        last: &str,
        company: Company,
    ) -> (String, String) {
        let info = &COUNTRIES[country];
        let work = self
            .uniques
            .email(&business_local(rng, first, last), &company.domain_string());
        let private = self
            .uniques
            .email(&freemail_local(rng, first, last), pick(rng, info.free_mail));
        if rng.gen_bool(0.75) {
            (work, private)
        } else {
            (private, work)
        }
    }

    fn person(
        &mut self,
        rng: &mut StdRng,
        country: usize,
        first: &'static str,
        last: String,
        company: Company,
        household: u32,
    ) -> Person {
        let (email, alt) = self.emails(rng, country, first, &last, company);
        let phone = self.phone_for(rng, country, company);
        let info = &COUNTRIES[country];
        let title = if !info.local_titles.is_empty() && rng.gen_bool(0.2) {
            pick(rng, info.local_titles)
        } else {
            pick(rng, TITLES)
        };
        Person {
            household,
            country,
            first,
            last,
            email: Some(email),
            alt_email: Some(alt),
            phone,
            phone_style: Phone::common_style(rng),
            company: Some(company),
            title: Some(title),
            street: None,
            postal: None,
            city: None,
            dob: None,
            dob_always: false,
            phone_always: true,
            dob_style: 0,
            records: 0,
        }
    }

    fn single(&mut self, rng: &mut StdRng) {
        let country = weighted(rng, &B2B_COUNTRIES);
        let (first, last, company) = loop {
            let sex = random_sex(rng);
            let first = first_name(rng, country, sex);
            let last = surname(rng, country);
            let company = Self::company_for(rng, country);
            if self.identities.insert((company, first, last.clone())) {
                break (first, last, company);
            }
        };
        let household = self.next_household();
        let p = self.person(rng, country, first, last, company, household);
        self.people.push(p);
    }

    /// Two to four people of one name at one company, each in another country.
    fn namesakes(&mut self, rng: &mut StdRng) {
        let size = rng.gen_range(2..=4usize);
        let home = weighted(rng, &B2B_COUNTRIES);
        let mut countries: Vec<usize> = (0..COUNTRIES.len()).filter(|&c| c != home).collect();
        countries.shuffle(rng);
        countries.insert(0, home);
        let (first, last, company) = loop {
            let sex = random_sex(rng);
            let first = first_name(rng, home, sex);
            let last = surname(rng, home);
            let company = Company::random(rng, home);
            if self.identities.insert((company, first, last.clone())) {
                break (first, last, company);
            }
        };
        let household = self.next_household();
        for &country in countries.iter().take(size) {
            let p = self.person(rng, country, first, last.clone(), company, household);
            self.people.push(p);
        }
    }

    fn next_household(&mut self) -> u32 {
        self.households += 1;
        self.households - 1
    }
}

/// A B2B trade-show list of `cfg.records` records (see the module docs).
pub fn trade_show_list(cfg: &TradeShowConfig) -> LabelledList {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let uniques = Uniques::new(&mut rng);
    let mut g = TradeShow {
        cfg,
        uniques,
        switchboards: HashMap::new(),
        identities: HashSet::new(),
        people: Vec::new(),
        households: 0,
    };
    let mut total = 0;
    while total < cfg.records {
        let before = g.people.len();
        // A group of n counts n people towards the share.
        if rng.gen_bool((cfg.namesake_share / 3.0).clamp(0.0, 1.0)) {
            g.namesakes(&mut rng);
        } else {
            g.single(&mut rng);
        }
        for p in &mut g.people[before..] {
            p.records = 1 + weighted(&mut rng, &cfg.records_per_person);
            total += p.records;
        }
    }
    let people = trim(g.people, cfg.records);
    assemble(
        &mut rng,
        "B2B trade show",
        &people,
        &cfg.mix,
        1.0,
        1.0,
        ListKind::TradeShow,
    )
}

// ---------------------------------------------------------------------------------------
// Consumer

struct Consumers<'a> {
    cfg: &'a ConsumerConfig,
    uniques: Uniques,
    addresses: HashSet<(usize, String, String)>,
    people: Vec<Person>,
    households: u32,
}

/// One member of a household being built: sex, first name, surname, year of birth.
type Member = (Sex, &'static str, String, i32);

impl Consumers<'_> {
    fn address(
        &mut self,
        rng: &mut StdRng,
        country: usize,
    ) -> (String, String, &'static str, usize) {
        let info = &COUNTRIES[country];
        loop {
            let city_index = rng.gen_range(0..info.cities.len());
            let city = &info.cities[city_index];
            let street = street_line(rng, info).replace(", Suite ", ", Apt ");
            let template = pick(rng, city.postal);
            let postal = postal_code(rng, template);
            if self
                .addresses
                .insert((country, postal.clone(), street.clone()))
            {
                return (street, postal, city.name, city_index);
            }
        }
    }

    fn other_first(rng: &mut StdRng, country: usize, sex: Sex, taken: &[Member]) -> &'static str {
        loop {
            let f = first_name(rng, country, sex);
            if taken.iter().all(|m| m.1 != f) {
                return f;
            }
        }
    }

    fn household(&mut self, rng: &mut StdRng) {
        let country = weighted(rng, &CONSUMER_COUNTRIES);
        let hm = self.cfg.households;
        let kind = weighted(
            rng,
            &[
                hm.single,
                hm.couple,
                hm.family,
                hm.parent_and_child,
                hm.senior_and_junior,
            ],
        );
        let last = surname(rng, country);
        let mut members: Vec<Member> = Vec::new();
        let adult_year = |rng: &mut StdRng| rng.gen_range(1942..=1990);
        let add = |members: &mut Vec<Member>, rng: &mut StdRng, sex: Sex, year: i32| {
            let f = Self::other_first(rng, country, sex, members);
            members.push((sex, f, last.clone(), year));
        };
        match kind {
            0 => {
                let year = rng.gen_range(1942..=2006);
                let sex = random_sex(rng);
                add(&mut members, rng, sex, year);
            }
            1 | 2 => {
                let year = adult_year(rng);
                let sex = random_sex(rng);
                add(&mut members, rng, sex, year);
                let partner_sex = if rng.gen_bool(0.92) {
                    match sex {
                        Sex::Male => Sex::Female,
                        Sex::Female => Sex::Male,
                    }
                } else {
                    sex
                };
                let partner_year = year + rng.gen_range(-6..=6);
                add(&mut members, rng, partner_sex, partner_year);
                if rng.gen_bool(0.1) {
                    // Kept their own surname.
                    members[1].2 = surname(rng, country);
                }
                if kind == 2 {
                    for _ in 0..rng.gen_range(1..=2) {
                        let child = (year + rng.gen_range(22..=36)).min(LIST_YEAR - 18);
                        let sex = random_sex(rng);
                        add(&mut members, rng, sex, child);
                    }
                }
            }
            3 => {
                let year = rng.gen_range(1942..=1975);
                let sex = random_sex(rng);
                add(&mut members, rng, sex, year);
                let child = (year + rng.gen_range(22..=36)).min(LIST_YEAR - 18);
                let sex = random_sex(rng);
                add(&mut members, rng, sex, child);
            }
            _ => {
                let year = rng.gen_range(1942..=1975);
                add(&mut members, rng, Sex::Male, year);
                let junior = members[0].1;
                let child = (year + rng.gen_range(22..=34)).min(LIST_YEAR - 18);
                members.push((Sex::Male, junior, last.clone(), child));
                if rng.gen_bool(0.5) {
                    let mother = year + rng.gen_range(-4..=4);
                    add(&mut members, rng, Sex::Female, mother);
                }
            }
        }
        let senior_junior = kind == 4;
        let (street, postal, city, city_index) = self.address(rng, country);
        let info = &COUNTRIES[country];
        let phone = rng.gen_bool(self.cfg.phone_share).then(|| {
            self.uniques
                .phone(rng, country, &info.cities[city_index].landline)
        });
        let phone_style = Phone::common_style(rng);
        let household = self.households;
        self.households += 1;
        for (i, (_, first, last, year)) in members.into_iter().enumerate() {
            let gives_dob = (senior_junior && i < 2) || rng.gen_bool(self.cfg.dob_share);
            self.people.push(Person {
                household,
                country,
                first,
                last,
                email: None,
                alt_email: None,
                phone: phone.clone(),
                phone_style,
                company: None,
                title: None,
                street: Some(street.clone()),
                postal: Some(postal.clone()),
                city: Some(city),
                dob: gives_dob.then(|| birthday(rng, year)),
                dob_always: senior_junior && i < 2,
                phone_always: false,
                dob_style: dob_style(rng, country),
                records: 0,
            });
        }
    }
}

/// A consumer (home show / direct mail) list of `cfg.records` records (see the
/// module docs).
pub fn consumer_list(cfg: &ConsumerConfig) -> LabelledList {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let uniques = Uniques::new(&mut rng);
    let mut g = Consumers {
        cfg,
        uniques,
        addresses: HashSet::new(),
        people: Vec::new(),
        households: 0,
    };
    let mut total = 0;
    while total < cfg.records {
        let before = g.people.len();
        g.household(&mut rng);
        for p in &mut g.people[before..] {
            p.records = 1 + weighted(&mut rng, &cfg.records_per_person);
            total += p.records;
        }
    }
    let people = trim(g.people, cfg.records);
    assemble(
        &mut rng,
        "consumer",
        &people,
        &cfg.mix,
        cfg.dob_on_record,
        cfg.phone_on_record,
        ListKind::Consumer,
    )
}

// ---------------------------------------------------------------------------------------
// Records

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    TradeShow,
    Consumer,
}

/// Takes records off the last people until the list has exactly `records`.
fn trim(mut people: Vec<Person>, records: usize) -> Vec<Person> {
    let mut total: usize = people.iter().map(|p| p.records).sum();
    while total > records {
        let Some(last) = people.last_mut() else {
            break;
        };
        let cut = (total - records).min(last.records);
        last.records -= cut;
        total -= cut;
        if last.records == 0 {
            people.pop();
        }
    }
    people
}

fn assemble(
    rng: &mut StdRng,
    name: &str,
    people: &[Person],
    mix: &CorruptionMix,
    dob_on_record: f64,
    phone_on_record: f64,
    kind: ListKind,
) -> LabelledList {
    let mut records = Vec::new();
    for (id, p) in people.iter().enumerate() {
        for n in 0..p.records {
            let mut draft = p.base(rng, dob_on_record, phone_on_record);
            let mut tags = Vec::new();
            if n > 0 {
                let count = weighted(rng, &mix.per_record);
                corrupt(rng, &mut draft, p, mix, count, kind, &mut tags);
            }
            records.push(LabelledRecord {
                input: draft.input(),
                person: id as u32,
                household: p.household,
                tags,
            });
        }
    }
    records.shuffle(rng);
    LabelledList {
        name: name.to_string(),
        records,
        persons: people.iter().map(|p| p.clean().input()).collect(),
    }
}

/// Applies `count` different corruptions drawn from the mix; a kind that cannot apply
/// to this record is set aside and another drawn.
fn corrupt(
    rng: &mut StdRng,
    d: &mut Draft,
    p: &Person,
    mix: &CorruptionMix,
    count: usize,
    kind: ListKind,
    tags: &mut Vec<String>,
) {
    let mut open: Vec<(Corruption, u32)> = mix.kinds.iter().copied().filter(|k| k.1 > 0).collect();
    let mut done = 0;
    while done < count && !open.is_empty() {
        let weights: Vec<u32> = open.iter().map(|k| k.1).collect();
        let at = weighted(rng, &weights);
        let (c, _) = open.remove(at);
        if let Some(field) = apply(rng, c, d, p, kind) {
            tags.push(format!("{}:{field}", c.as_str()));
            done += 1;
        }
    }
}

/// Which name a name corruption hits: the last name a little more often (it carries
/// more weight in matching and in blocking).
fn name_field(rng: &mut StdRng, d: &Draft) -> Option<LeadField> {
    match (d.first.is_some(), d.last.is_some()) {
        (true, true) if rng.gen_bool(0.45) => Some(LeadField::FirstName),
        (_, true) => Some(LeadField::LastName),
        (true, false) => Some(LeadField::FirstName),
        (false, false) => None,
    }
}

fn slot(d: &mut Draft, field: LeadField) -> &mut Option<String> {
    match field {
        LeadField::FirstName => &mut d.first,
        LeadField::LastName => &mut d.last,
        LeadField::Email => &mut d.email,
        LeadField::Company => &mut d.company,
        LeadField::Title => &mut d.title,
        LeadField::Street => &mut d.street,
        LeadField::PostalCode => &mut d.postal,
        LeadField::City => &mut d.city,
        _ => &mut d.country,
    }
}

/// Whether a name is down to its initial ("J", "J."), which no further slip touches.
fn is_initial(name: &str) -> bool {
    name.trim_end_matches('.').chars().count() <= 1
}

/// Changes one text field with `f`; `None` if the field is blank or `f` cannot apply
/// (or it is a name already cut to its initial).
fn change(
    d: &mut Draft,
    field: LeadField,
    f: impl FnOnce(&str) -> Option<String>,
) -> Option<&'static str> {
    let s = slot(d, field);
    let old = s.as_deref()?;
    if matches!(field, LeadField::FirstName | LeadField::LastName) && is_initial(old) {
        return None;
    }
    let new = f(old)?;
    *s = Some(new);
    Some(field.as_str())
}

fn apply(
    rng: &mut StdRng,
    c: Corruption,
    d: &mut Draft,
    p: &Person,
    kind: ListKind,
) -> Option<&'static str> {
    use Corruption::*;
    match c {
        NameTypo => {
            let f = name_field(rng, d)?;
            change(d, f, |s| any_edit(rng, s))
        }
        ShortNameTypo => change(d, LeadField::FirstName, |s| short_name_typo(rng, s)),
        Ocr => {
            let mut fields = vec![LeadField::LastName, LeadField::FirstName];
            fields.extend(match kind {
                ListKind::Consumer => [LeadField::Street, LeadField::PostalCode],
                ListKind::TradeShow => [LeadField::Company, LeadField::LastName],
            });
            fields.shuffle(rng);
            fields
                .into_iter()
                .find_map(|f| change(d, f, |s| ocr(rng, s)))
        }
        Phonetic => {
            let mut fields = [LeadField::LastName, LeadField::FirstName];
            fields.shuffle(rng);
            fields
                .into_iter()
                .find_map(|f| change(d, f, |s| phonetic(rng, s)))
        }
        Nickname => change(d, LeadField::FirstName, |s| {
            (s == p.first).then(|| nickname(rng, s)).flatten()
        }),
        Initial => change(d, LeadField::FirstName, |s| initial(rng, s)),
        SwappedNames => {
            if d.first.as_deref().is_none_or(is_initial) || d.last.is_none() {
                return None;
            }
            std::mem::swap(&mut d.first, &mut d.last);
            Some("name")
        }
        NameCase => {
            if d.first.is_none() && d.last.is_none() {
                return None;
            }
            let upper = rng.gen_bool(0.7);
            for s in [&mut d.first, &mut d.last].into_iter().flatten() {
                *s = if upper {
                    s.to_uppercase()
                } else {
                    s.to_lowercase()
                };
            }
            Some("name")
        }
        MissingField => missing(rng, d, kind, p.dob_always),
        StreetAbbreviation => change(d, LeadField::Street, |s| abbreviate_street(rng, s)),
        StreetTypo => change(d, LeadField::Street, |s| street_typo(rng, s)),
        NoHouseNumber => change(d, LeadField::Street, drop_house_number),
        PostalTypo => change(d, LeadField::PostalCode, |s| postal_typo(rng, s)),
        DobSwap => {
            d.dob = Some(dob_swap(d.dob?)?);
            Some(LeadField::DateOfBirth.as_str())
        }
        DobDigit => {
            d.dob = Some(dob_digit(rng, d.dob?));
            Some(LeadField::DateOfBirth.as_str())
        }
        EmailCase => change(d, LeadField::Email, |s| {
            if is_gmail(s) && rng.gen_bool(0.4) {
                gmail_dot_variant(s)
            } else if rng.gen_bool(0.5) {
                Some(s.to_uppercase())
            } else {
                // "Jane.Doe@Acme.com": capitals where a person would put them.
                let mut out = String::with_capacity(s.len());
                let mut up = true;
                for ch in s.chars() {
                    out.extend(if up {
                        ch.to_uppercase().collect::<Vec<_>>()
                    } else {
                        vec![ch]
                    });
                    up = matches!(ch, '.' | '@' | '_' | '-');
                }
                Some(out)
            }
        }),
        OtherEmail => {
            let alt = p.alt_email.clone()?;
            change(d, LeadField::Email, |s| (s != alt).then_some(alt))
        }
        PhoneStyle => {
            let (phone, style) = d.phone.take()?;
            let other = (style + 1 + rng.gen_range(0..PHONE_STYLES - 1)) % PHONE_STYLES;
            let changed = phone.render(other) != phone.render(style);
            d.phone = Some((phone, if changed { other } else { style }));
            changed.then_some(LeadField::Phone.as_str())
        }
        CompanyVariant => change(d, LeadField::Company, |s| company_variant(rng, s)),
        TitleChange => change(d, LeadField::Title, |s| {
            let t = pick(rng, TITLES);
            (t != s).then(|| t.to_string())
        }),
    }
}

/// Blanks one field the record has, with weights by list kind. Never the only name
/// or anchor of a record, which normalisation would reject: one corruption blanks one
/// field and every record starts with both names and two anchors. A date of birth that
/// is on every record of a person (Sr and Jr) stays.
fn missing(
    rng: &mut StdRng,
    d: &mut Draft,
    kind: ListKind,
    keep_dob: bool,
) -> Option<&'static str> {
    let options: &[(LeadField, u32)] = match kind {
        ListKind::Consumer => &[
            (LeadField::FirstName, 4),
            (LeadField::Street, 20),
            (LeadField::PostalCode, 25),
            (LeadField::City, 30),
            (LeadField::DateOfBirth, 15),
            (LeadField::Phone, 6),
        ],
        ListKind::TradeShow => &[
            (LeadField::Email, 25),
            (LeadField::Phone, 25),
            (LeadField::Company, 15),
            (LeadField::Title, 25),
            (LeadField::FirstName, 5),
            (LeadField::Country, 5),
        ],
    };
    let present: Vec<(LeadField, u32)> = options
        .iter()
        .copied()
        .filter(|(f, _)| match f {
            LeadField::DateOfBirth => d.dob.is_some() && !keep_dob,
            LeadField::Phone => d.phone.is_some(),
            other => slot(d, *other).is_some(),
        })
        .collect();
    if present.is_empty() {
        return None;
    }
    let weights: Vec<u32> = present.iter().map(|o| o.1).collect();
    let field = present[weighted(rng, &weights)].0;
    match field {
        LeadField::DateOfBirth => d.dob = None,
        LeadField::Phone => d.phone = None,
        other => *slot(d, other) = None,
    }
    Some(field.as_str())
}

/// "Kestrel Logistics Ltd" -> "Kestrel Logistics", "Kestrel Logistics Limited",
/// "KESTREL LOGISTICS LTD" or "Kestrel Logistcs Ltd".
fn company_variant(rng: &mut StdRng, name: &str) -> Option<String> {
    let words: Vec<&str> = name.split(' ').collect();
    let out = match rng.gen_range(0..4) {
        0 if words.len() > 2 => words[..words.len() - 1].join(" "),
        1 if words.len() > 2 => {
            let swap = match *words.last()? {
                "Ltd" | "Ltd." => "Limited",
                "Limited" => "Ltd",
                "GmbH" => "GmbH & Co. KG",
                "Inc." | "Inc" => "Incorporated",
                "B.V." => "BV",
                "BV" => "B.V.",
                "S.L." => "SL",
                "SAS" => "S.A.S.",
                _ => "Group",
            };
            format!("{} {swap}", words[..words.len() - 1].join(" "))
        }
        2 => name.to_uppercase(),
        _ => {
            let longest = words.iter().max_by_key(|w| w.len())?;
            name.replacen(longest, &typo(rng, longest), 1)
        }
    };
    (out != name).then_some(out)
}

#[cfg(test)]
mod tests;
