//! A realistic, deterministic demo data set, and a large synthetic import file.
//!
//! `leadline demo` fills a fresh server with campaigns across every channel and a few
//! hundred captures that look like the real thing: people from six countries with
//! accents and name particles, companies with legal suffixes, phones in local
//! writing styles, repeat visitors written slightly differently, and a little mess.
//! Everything derives from a seed (no clock reads: the caller passes `today`), so a
//! demo, a screenshot or a test can be reproduced exactly.

mod corrupt;
mod linkage;
mod linkage_tables;
mod people;
mod sales_team;
mod synthetic;
mod tables;

pub use linkage::{
    consumer_list, trade_show_list, ConsumerConfig, Corruption, CorruptionMix, HouseholdMix,
    TradeShowConfig,
};
pub use sales_team::{routing_rules, sales_team, DemoTeam, DemoUser};
pub use synthetic::{synthetic_import_csv, SyntheticCsv, SYNTHETIC_HEADER};

use crate::channel::Channel;
use crate::fields::LeadInput;
use people::{
    business_local, freemail_local, gmail_dot_variant, is_gmail, pick, postal_code, street_line,
    typo, weighted, Company, Phone, PHONE_STYLES,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use tables::{COUNTRIES, TITLES};
use time::{Date, Duration};

/// A marketing campaign the demo captures belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoCampaign {
    /// Unique display name ("SaaStr Europe booth").
    pub name: String,
    /// The lead source the campaign belongs to ("Website", "Events", "Google Ads").
    pub source: String,
    /// The capture channel, which decides which fields its captures carry.
    pub channel: Channel,
    /// What the campaign cost, in cents, so cost-per-lead reports have numbers.
    pub cost_cents: i64,
    /// First day of the campaign; no capture is older.
    pub starts_on: Date,
    /// `None` for always-on campaigns (the contact form, partner referrals).
    pub ends_on: Option<Date>,
}

/// UTM parameters as the landing page received them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoUtm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

/// One capture: a person arriving through a campaign at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoCapture {
    /// Index into [`DemoData::campaigns`].
    pub campaign: usize,
    /// Raw values as the form, scanner or list gave them (not normalised).
    pub input: LeadInput,
    /// UTM tags; empty for offline channels.
    pub utm: DemoUtm,
    /// The page that linked to the form, for web channels.
    pub referrer: Option<String>,
    /// Days before `today`; at least 1, so no capture lies in the future whatever the
    /// time of day.
    pub captured_days_ago: u32,
    /// Seconds after midnight (0..86,400), in the capture's local business hours.
    pub captured_seconds_of_day: u32,
    /// Whether the person agreed to be e-mailed (never true without an e-mail).
    pub email_consent: bool,
    /// Whether the person agreed to be phoned (never true without a phone).
    pub phone_consent: bool,
}

/// The whole demo: campaigns and captures, captures ordered oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoData {
    /// Twelve campaigns covering every channel.
    pub campaigns: Vec<DemoCampaign>,
    /// Oldest first, the order a server would have received them in.
    pub captures: Vec<DemoCapture>,
}

/// Static description of a demo campaign.
struct CampaignSpec {
    name: &'static str,
    source: &'static str,
    channel: Channel,
    cost_cents: i64,
    start_days_ago: u32,
    end_days_ago: Option<u32>,
    /// Share of captures.
    weight: u32,
    /// Country weights in `tables::COUNTRIES` order: GB, US, DE, FR, NL, ES.
    countries: [u32; 6],
    email_consent: f64,
    phone_consent: f64,
}

const EVERYWHERE: [u32; 6] = [30, 30, 12, 10, 10, 8];

static CAMPAIGNS: [CampaignSpec; 12] = [
    CampaignSpec {
        name: "Contact us",
        source: "Website",
        channel: Channel::WebForm,
        cost_cents: 0,
        start_days_ago: 420,
        end_days_ago: None,
        weight: 14,
        countries: EVERYWHERE,
        email_consent: 0.8,
        phone_consent: 0.6,
    },
    CampaignSpec {
        name: "Spring pricing guide",
        source: "Website",
        channel: Channel::LandingPage,
        cost_cents: 180_000,
        start_days_ago: 130,
        end_days_ago: Some(75),
        weight: 9,
        countries: EVERYWHERE,
        email_consent: 0.9,
        phone_consent: 0.2,
    },
    CampaignSpec {
        name: "SaaStr Europe booth",
        source: "Events",
        channel: Channel::TradeShow,
        cost_cents: 2_450_000,
        start_days_ago: 47,
        end_days_ago: Some(45),
        weight: 10,
        countries: [25, 5, 20, 15, 25, 10],
        email_consent: 0.55,
        phone_consent: 0.3,
    },
    CampaignSpec {
        name: "Ideal Home Show London",
        source: "Events",
        channel: Channel::HomeShow,
        cost_cents: 850_000,
        start_days_ago: 110,
        end_days_ago: Some(93),
        weight: 7,
        countries: [1, 0, 0, 0, 0, 0],
        email_consent: 0.0,
        phone_consent: 0.75,
    },
    CampaignSpec {
        name: "Q3 postcard mailing",
        source: "Direct mail",
        channel: Channel::DirectMail,
        cost_cents: 620_000,
        start_days_ago: 160,
        end_days_ago: Some(100),
        weight: 5,
        countries: [1, 0, 0, 0, 0, 0],
        email_consent: 0.0,
        phone_consent: 0.45,
    },
    CampaignSpec {
        name: "Google Ads – lead gen",
        source: "Google Ads",
        channel: Channel::Sem,
        cost_cents: 1_200_000,
        start_days_ago: 240,
        end_days_ago: None,
        weight: 14,
        countries: EVERYWHERE,
        email_consent: 0.85,
        phone_consent: 0.4,
    },
    CampaignSpec {
        name: "LinkedIn lead gen form",
        source: "LinkedIn",
        channel: Channel::Social,
        cost_cents: 750_000,
        start_days_ago: 95,
        end_days_ago: Some(12),
        weight: 9,
        countries: EVERYWHERE,
        email_consent: 0.9,
        phone_consent: 0.1,
    },
    CampaignSpec {
        name: "Partner referrals",
        source: "Partners",
        channel: Channel::Referral,
        cost_cents: 0,
        start_days_ago: 365,
        end_days_ago: None,
        weight: 4,
        countries: EVERYWHERE,
        email_consent: 0.5,
        phone_consent: 0.5,
    },
    CampaignSpec {
        name: "Zapier integration",
        source: "Zapier",
        channel: Channel::Api,
        cost_cents: 17_400,
        start_days_ago: 200,
        end_days_ago: None,
        weight: 6,
        countries: EVERYWHERE,
        email_consent: 0.8,
        phone_consent: 0.3,
    },
    CampaignSpec {
        name: "Purchased list 2025",
        source: "Purchased lists",
        channel: Channel::Import,
        cost_cents: 300_000,
        start_days_ago: 33,
        end_days_ago: Some(33),
        weight: 10,
        countries: [50, 50, 0, 0, 0, 0],
        email_consent: 0.0,
        phone_consent: 0.0,
    },
    CampaignSpec {
        name: "Podcast sponsorship – Sales Talk",
        source: "Podcasts",
        channel: Channel::Other,
        cost_cents: 400_000,
        start_days_ago: 70,
        end_days_ago: Some(20),
        weight: 3,
        countries: [40, 60, 0, 0, 0, 0],
        email_consent: 0.7,
        phone_consent: 0.2,
    },
    CampaignSpec {
        name: "Webinar: the five-minute follow-up",
        source: "Webinars",
        channel: Channel::LandingPage,
        cost_cents: 90_000,
        start_days_ago: 28,
        end_days_ago: Some(21),
        weight: 5,
        countries: EVERYWHERE,
        email_consent: 0.95,
        phone_consent: 0.1,
    },
];

impl CampaignSpec {
    fn consumer(&self) -> bool {
        self.channel.is_consumer_list()
    }

    /// Days-ago range captures can fall in: [newest, oldest], never today.
    fn window(&self) -> (u32, u32) {
        let newest = self.end_days_ago.unwrap_or(1).max(1);
        let oldest = self.start_days_ago.min(365).max(newest);
        (newest, oldest)
    }
}

/// A person behind one or more captures.
struct Person {
    country: usize,
    first: &'static str,
    last: String,
    consumer: bool,
    email: Option<String>,
    phone: Option<Phone>,
    phone_style: u8,
    company: Option<Company>,
    title: &'static str,
    street: String,
    postal: String,
    city: usize,
    country_spelling: &'static str,
    date_of_birth: Option<String>,
}

/// Per-capture facts tests need but the public type does not carry.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))]
struct CaptureMeta {
    person: usize,
    /// ISO code of the person's country (how a national phone number is read).
    country: &'static str,
    messy: bool,
}

/// Generates the demo data set: the fixed campaigns and `leads` captures.
///
/// About 6.5% of captures are a person seen before (an exact repeat, the e-mail in
/// other case or with Gmail dots moved, the phone written another way, or a one-letter
/// typo in the name), usually through another campaign, so matching and merging have
/// something to show; about 3% are messy (ALL CAPS, stray spaces, "Deutschland",
/// websites with paths, "call after 6pm" as a phone). Same seed, same data.
pub fn generate(seed: u64, leads: usize, today: Date) -> DemoData {
    generate_with_meta(seed, leads, today).0
}

fn days_before(today: Date, days: u32) -> Date {
    today
        .checked_sub(Duration::days(i64::from(days)))
        .unwrap_or(today)
}

fn generate_with_meta(seed: u64, leads: usize, today: Date) -> (DemoData, Vec<CaptureMeta>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let campaigns: Vec<DemoCampaign> = CAMPAIGNS
        .iter()
        .map(|c| DemoCampaign {
            name: c.name.to_string(),
            source: c.source.to_string(),
            channel: c.channel,
            cost_cents: c.cost_cents,
            starts_on: days_before(today, c.start_days_ago),
            ends_on: c.end_days_ago.map(|d| days_before(today, d)),
        })
        .collect();

    let duplicates = leads * 13 / 200;
    let messy = leads * 3 / 100;
    let originals = leads - duplicates;

    let mut gen = PersonFactory::new(&mut rng, originals);
    let mut people: Vec<Person> = Vec::with_capacity(originals);
    // (capture, days ago, meta) before sorting.
    let mut captures: Vec<(DemoCapture, CaptureMeta)> = Vec::with_capacity(leads);
    let weights: Vec<u32> = CAMPAIGNS.iter().map(|c| c.weight).collect();

    for i in 0..originals {
        // The first captures visit every campaign once, so every channel shows up.
        let campaign = if i < CAMPAIGNS.len() {
            i
        } else {
            weighted(&mut rng, &weights)
        };
        let spec = &CAMPAIGNS[campaign];
        let country = weighted(&mut rng, &spec.countries);
        let person = gen.person(&mut rng, country, spec.consumer());
        let (newest, oldest) = spec.window();
        let days = rng.gen_range(newest..=oldest);
        let capture = capture_for(&mut rng, &person, campaign, days, None);
        let country = COUNTRIES[person.country].code;
        people.push(person);
        captures.push((
            capture,
            CaptureMeta {
                person: i,
                country,
                messy: false,
            },
        ));
    }

    // Repeat visitors: an earlier person again, through a campaign running at or
    // after their first capture, written a little differently.
    if !people.is_empty() {
        for _ in 0..duplicates {
            let original = rng.gen_range(0..originals);
            let (first_capture, _) = &captures[original];
            let first_days = first_capture.captured_days_ago;
            let first_campaign = first_capture.campaign;
            let person = &people[original];
            let candidates: Vec<usize> = (0..CAMPAIGNS.len())
                .filter(|&c| {
                    let spec = &CAMPAIGNS[c];
                    spec.consumer() == person.consumer
                        && spec.countries[person.country] > 0
                        && spec.window().0 <= first_days
                })
                .collect();
            let others: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&c| c != first_campaign)
                .collect();
            let campaign = if !others.is_empty() && rng.gen_bool(0.8) {
                pick(&mut rng, &others)
            } else {
                first_campaign
            };
            let (newest, oldest) = CAMPAIGNS[campaign].window();
            let oldest = oldest.min(first_days).max(newest);
            let days = rng.gen_range(newest..=oldest);
            let first_seconds = first_capture.captured_seconds_of_day;
            let variation = Variation::random(&mut rng);
            let mut capture = capture_for(&mut rng, person, campaign, days, Some(variation));
            if days == first_days && capture.captured_seconds_of_day <= first_seconds {
                // Same day: come back later that day, never before the first visit.
                capture.captured_seconds_of_day =
                    (first_seconds + rng.gen_range(60..3600)).min(86_399);
            }
            let country = COUNTRIES[person.country].code;
            captures.push((
                capture,
                CaptureMeta {
                    person: original,
                    country,
                    messy: false,
                },
            ));
        }
    }

    // A little mess, only on first captures.
    let mut chosen = HashSet::new();
    while chosen.len() < messy.min(originals) {
        chosen.insert(rng.gen_range(0..originals));
    }
    let mut chosen: Vec<usize> = chosen.into_iter().collect();
    chosen.sort_unstable();
    for i in chosen {
        let person = &people[captures[i].1.person];
        make_messy(&mut rng, &mut captures[i].0.input, person);
        captures[i].1.messy = true;
    }

    captures.sort_by_key(|(c, _)| {
        (
            std::cmp::Reverse(c.captured_days_ago),
            c.captured_seconds_of_day,
        )
    });
    let (captures, meta) = captures.into_iter().unzip();
    (
        DemoData {
            campaigns,
            captures,
        },
        meta,
    )
}

/// Creates distinct people: unique e-mail and phone per person.
struct PersonFactory {
    companies: Vec<Vec<Company>>,
    phone_counters: [u64; 6],
    phone_salt: u64,
    emails: HashSet<String>,
}

impl PersonFactory {
    fn new(rng: &mut StdRng, people: usize) -> PersonFactory {
        let companies = (0..COUNTRIES.len())
            .map(|country| {
                let info = &COUNTRIES[country];
                let max = info.company_stems.len() * info.company_sectors.len();
                let wanted = (10 + people / 30).min(max);
                let mut set = Vec::with_capacity(wanted);
                while set.len() < wanted {
                    let c = Company::random(rng, country);
                    if !set.contains(&c) {
                        set.push(c);
                    }
                }
                set
            })
            .collect();
        PersonFactory {
            companies,
            phone_counters: [0; 6],
            phone_salt: rng.gen_range(0..1_000_000),
            emails: HashSet::new(),
        }
    }

    fn person(&mut self, rng: &mut StdRng, country: usize, consumer: bool) -> Person {
        let info = &COUNTRIES[country];
        let first = pick(rng, info.first_names);
        let mut last = pick(rng, info.last_names).to_string();
        if info.double_surnames && rng.gen_bool(0.4) {
            last.push(' ');
            last.push_str(pick(rng, info.last_names));
        }
        let city = rng.gen_range(0..info.cities.len());
        let plan = if rng.gen_bool(if consumer { 0.65 } else { 0.35 }) {
            &info.mobiles[rng.gen_range(0..info.mobiles.len())]
        } else {
            &info.cities[city].landline
        };
        let counter = self.phone_counters[country];
        self.phone_counters[country] += 1;
        let phone = Phone::new(country, plan, counter, self.phone_salt, rng);
        let pool = &self.companies[country];
        // Skewed towards the first companies, so accounts collect several leads.
        let company = if consumer {
            None
        } else {
            let r: f64 = rng.gen();
            pool.get(((r * r) * pool.len() as f64) as usize).copied()
        };
        let email = if consumer {
            None
        } else {
            Some(self.email(rng, country, first, &last, company))
        };
        let title = if !info.local_titles.is_empty() && rng.gen_bool(0.25) {
            pick(rng, info.local_titles)
        } else {
            pick(rng, TITLES)
        };
        let date_of_birth = (consumer && rng.gen_bool(0.2)).then(|| {
            let (y, m, d) = (
                rng.gen_range(1950..2003),
                rng.gen_range(1..13),
                rng.gen_range(1..29),
            );
            match rng.gen_range(0..3) {
                0 => format!("{y}-{m:02}-{d:02}"),
                1 => format!("{d:02}/{m:02}/{y}"),
                _ => format!("{d}.{m}.{y}"),
            }
        });
        Person {
            country,
            first,
            last,
            consumer,
            email,
            phone: Some(phone),
            phone_style: Phone::common_style(rng),
            company,
            title,
            street: street_line(rng, info),
            postal: {
                let template = pick(rng, info.cities[city].postal);
                postal_code(rng, template)
            },
            city,
            country_spelling: pick(rng, info.spellings),
            date_of_birth,
        }
    }

    /// A business address at the company's domain (three in four) or a free-mail one;
    /// unique across the data set (compared case- and Gmail-dot-insensitively).
    fn email(
        &mut self,
        rng: &mut StdRng,
        country: usize,
        first: &str,
        last: &str,
        company: Option<Company>,
    ) -> String {
        let info = &COUNTRIES[country];
        let (mut local, domain) = match company {
            Some(c) if rng.gen_bool(0.75) => (business_local(rng, first, last), c.domain_string()),
            _ => (
                freemail_local(rng, first, last),
                pick(rng, info.free_mail).to_string(),
            ),
        };
        if local.is_empty() {
            local.push_str("info");
        }
        let mut n = 1;
        loop {
            let candidate = if n == 1 {
                format!("{local}@{domain}")
            } else {
                format!("{local}{n}@{domain}")
            };
            let key = if is_gmail(&candidate) {
                candidate.replace('.', "").to_lowercase()
            } else {
                candidate.to_lowercase()
            };
            if self.emails.insert(key) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// How a repeat capture differs from the person's first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variation {
    Exact,
    EmailCase,
    GmailDots,
    PhoneFormat,
    NameTypo,
}

impl Variation {
    fn random(rng: &mut StdRng) -> Variation {
        [
            Variation::Exact,
            Variation::EmailCase,
            Variation::GmailDots,
            Variation::PhoneFormat,
            Variation::NameTypo,
        ][rng.gen_range(0..5)]
    }
}

fn opt(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// Builds one capture of `person` through `campaign`, with the fields that channel's
/// forms or lists actually carry.
fn capture_for(
    rng: &mut StdRng,
    person: &Person,
    campaign: usize,
    days: u32,
    variation: Option<Variation>,
) -> DemoCapture {
    let spec = &CAMPAIGNS[campaign];
    let info = &COUNTRIES[person.country];
    let city = &info.cities[person.city];
    let mut input = LeadInput::default();
    let mut last = person.last.clone();
    let mut email = person.email.clone();
    let mut phone_style = person.phone_style;
    match variation {
        Some(Variation::EmailCase) | Some(Variation::GmailDots) if email.is_none() => {
            last = typo(rng, &last);
        }
        Some(Variation::GmailDots) if email.as_deref().is_some_and(is_gmail) => {
            email = email.as_deref().and_then(gmail_dot_variant).or(email);
        }
        Some(Variation::EmailCase) | Some(Variation::GmailDots) => {
            email = email.map(|e| shout_email(&e));
        }
        Some(Variation::PhoneFormat) => {
            phone_style = (phone_style + 1 + rng.gen_range(0..PHONE_STYLES - 1)) % PHONE_STYLES;
        }
        Some(Variation::NameTypo) => last = typo(rng, &last),
        Some(Variation::Exact) | None => {}
    }
    let phone = person.phone.as_ref().map(|p| p.render(phone_style));
    let company = person.company.map(|c| c.name_string());
    let website = person.company.map(|c| {
        let domain = c.domain_string();
        match rng.gen_range(0..4) {
            0 => format!("https://www.{domain}"),
            1 => format!("www.{domain}"),
            2 => domain,
            _ => format!("https://{domain}/"),
        }
    });
    let chance = |rng: &mut StdRng, p: f64| rng.gen_bool(p);
    // A repeat whose difference is the phone must show the phone.
    let phone_shown =
        |rng: &mut StdRng, p: f64| variation == Some(Variation::PhoneFormat) || rng.gen_bool(p);

    input.first_name = opt(person.first);
    input.last_name = Some(last.clone());
    input.email = email.clone();
    let mut utm = DemoUtm::default();
    let mut referrer = None;
    match spec.channel {
        Channel::WebForm => {
            input.company = company;
            if phone_shown(rng, 0.7) {
                input.phone = phone;
            }
            if chance(rng, 0.5) {
                input.title = opt(person.title);
            }
            if chance(rng, 0.25) {
                input.website = website;
            }
            input.country = opt(person.country_spelling);
            if chance(rng, 0.5) {
                input
                    .custom
                    .insert("message".into(), pick(rng, MESSAGES).into());
            }
            referrer = [
                None,
                Some("https://www.google.com/"),
                Some("https://www.bing.com/"),
                Some("https://duckduckgo.com/"),
                Some("https://www.linkedin.com/"),
            ][rng.gen_range(0..5)]
            .map(String::from);
            if chance(rng, 0.2) {
                utm = utm_of("newsletter", "email", "monthly-newsletter", None, None);
            }
        }
        Channel::LandingPage => {
            input.company = company;
            if chance(rng, 0.8) {
                input.title = opt(person.title);
            }
            if phone_shown(rng, 0.3) {
                input.phone = phone;
            }
            input.country = opt(person.country_spelling);
            let (source, medium) = pick(
                rng,
                &[
                    ("linkedin", "paid_social"),
                    ("newsletter", "email"),
                    ("google", "cpc"),
                    ("twitter", "social"),
                ],
            );
            let slug = if campaign == 1 {
                "spring-pricing-guide"
            } else {
                "webinar-five-minute-follow-up"
            };
            utm = utm_of(
                source,
                medium,
                slug,
                None,
                Some(if campaign == 1 {
                    "guide-download"
                } else {
                    "register"
                }),
            );
            referrer = Some(match source {
                "linkedin" => "https://www.linkedin.com/".to_string(),
                "google" => "https://www.google.com/".to_string(),
                "twitter" => "https://t.co/".to_string(),
                _ => "https://mail.google.com/".to_string(),
            });
        }
        Channel::TradeShow => {
            input.company = company;
            input.title = opt(person.title);
            if phone_shown(rng, 0.6) {
                input.phone = phone;
            }
            input.city = opt(city.name);
            input.country = opt(person.country_spelling);
            input.custom.insert(
                "badge_id".into(),
                format!("SSE-{:05}", rng.gen_range(10_000..99_999)),
            );
            if chance(rng, 0.4) {
                input
                    .custom
                    .insert("booth_notes".into(), pick(rng, BOOTH_NOTES).into());
            }
        }
        Channel::HomeShow | Channel::DirectMail => {
            if spec.channel == Channel::HomeShow && chance(rng, 0.3) {
                input.full_name = Some(format!("{} {}", person.first, last));
                input.first_name = None;
                input.last_name = None;
            }
            input.street = Some(person.street.clone());
            input.postal_code = Some(person.postal.clone());
            input.city = opt(city.name);
            if info.code == "US" {
                input.region = opt(city.region);
            }
            if spec.channel == Channel::DirectMail || chance(rng, 0.5) {
                input.country = opt(person.country_spelling);
            }
            if phone_shown(
                rng,
                if spec.channel == Channel::HomeShow {
                    0.9
                } else {
                    0.5
                },
            ) {
                input.phone = phone;
            }
            if spec.channel == Channel::HomeShow {
                input.date_of_birth = person.date_of_birth.clone();
                input
                    .custom
                    .insert("interest".into(), pick(rng, HOME_INTERESTS).into());
            } else {
                input.custom.insert(
                    "response_code".into(),
                    format!("Q3PC-{:04}", rng.gen_range(1..10_000)),
                );
            }
        }
        Channel::Sem => {
            input.company = company;
            if phone_shown(rng, 0.5) {
                input.phone = phone;
            }
            if chance(rng, 0.7) {
                input.country = opt(person.country_spelling);
            }
            utm = utm_of(
                "google",
                "cpc",
                "lead-gen-2025",
                Some(pick(rng, SEM_TERMS)),
                Some(pick(rng, &["rsa-pricing", "rsa-demo", "ad-variant-b"])),
            );
            referrer = opt("https://www.google.com/");
        }
        Channel::Social => {
            input.company = company;
            input.title = opt(person.title);
            if chance(rng, 0.8) {
                input.country = opt(person.country_spelling);
            }
            if phone_shown(rng, 0.1) {
                input.phone = phone;
            }
            utm = utm_of(
                "linkedin",
                "paid_social",
                "lead-gen-form-q3",
                None,
                Some(pick(rng, &["carousel-1", "single-image", "document-ad"])),
            );
        }
        Channel::Referral => {
            input.company = company;
            if phone_shown(rng, 0.7) {
                input.phone = phone;
            }
            if chance(rng, 0.6) {
                input.title = opt(person.title);
            }
            input
                .custom
                .insert("referred_by".into(), pick(rng, PARTNERS).into());
            referrer = opt("https://partners.leadline.example/");
        }
        Channel::Api => {
            if chance(rng, 0.8) {
                input.company = company;
            }
            if phone_shown(rng, 0.4) {
                input.phone = phone;
            }
            if chance(rng, 0.3) {
                input.website = website;
            }
            input.custom.insert(
                "zap".into(),
                pick(
                    rng,
                    &[
                        "Typeform → Leadline",
                        "Calendly → Leadline",
                        "Webflow form → Leadline",
                    ],
                )
                .into(),
            );
        }
        Channel::Import => {
            input.title = opt(person.title);
            input.company = company;
            if phone_shown(rng, 0.8) {
                input.phone = phone;
            }
            input.street = Some(person.street.clone());
            input.postal_code = Some(person.postal.clone());
            input.city = opt(city.name);
            if info.code == "US" {
                input.region = opt(city.region);
            }
            input.country = opt(person.country_spelling);
            if chance(rng, 0.5) {
                input.website = website;
            }
        }
        Channel::Other => {
            if chance(rng, 0.6) {
                input.company = company;
            }
            if phone_shown(rng, 0.3) {
                input.phone = phone;
            }
            input.custom.insert("promo_code".into(), "SALESTALK".into());
        }
    }
    let email_consent = input.email.is_some() && rng.gen_bool(spec.email_consent);
    let phone_consent = input.phone.is_some() && rng.gen_bool(spec.phone_consent);
    DemoCapture {
        campaign,
        input,
        utm,
        referrer,
        captured_days_ago: days,
        captured_seconds_of_day: seconds_of_day(rng, spec.channel),
        email_consent,
        phone_consent,
    }
}

fn utm_of(
    source: &str,
    medium: &str,
    campaign: &str,
    term: Option<&str>,
    content: Option<&str>,
) -> DemoUtm {
    DemoUtm {
        source: opt(source),
        medium: opt(medium),
        campaign: opt(campaign),
        term: term.map(String::from),
        content: content.map(String::from),
    }
}

/// "Jane.Doe@Example.com": the same mailbox typed with other capitals.
fn shout_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let mut out = String::with_capacity(email.len());
            let mut up = true;
            for c in local.chars() {
                out.extend(if up {
                    c.to_uppercase().collect::<Vec<_>>()
                } else {
                    vec![c]
                });
                up = matches!(c, '.' | '_' | '-');
            }
            out.push('@');
            out.push_str(&domain.to_uppercase());
            out
        }
        None => email.to_uppercase(),
    }
}

/// Time of day by channel: stands and mail rooms keep opening hours, web forms follow
/// the working day with a long evening tail.
fn seconds_of_day(rng: &mut StdRng, channel: Channel) -> u32 {
    const WEB_HOURS: [u32; 24] = [
        1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 8, 9, 10, 10, 9, 7, 5, 4, 4, 3, 2, 1,
    ];
    let hour = match channel {
        Channel::TradeShow | Channel::HomeShow => rng.gen_range(9..18),
        Channel::DirectMail | Channel::Import => rng.gen_range(9..17),
        _ => weighted(rng, &WEB_HOURS) as u32,
    };
    hour * 3600 + rng.gen_range(0..3600)
}

/// Applies one kind of real-world mess to a capture.
fn make_messy(rng: &mut StdRng, input: &mut LeadInput, person: &Person) {
    let info = &COUNTRIES[person.country];
    match rng.gen_range(0..5) {
        0 => {
            for name in [
                &mut input.first_name,
                &mut input.last_name,
                &mut input.full_name,
            ]
            .into_iter()
            .flatten()
            {
                *name = name.to_uppercase();
            }
        }
        1 => {
            if let Some(n) = &mut input.first_name {
                *n = format!("  {n} ");
            }
            if let Some(n) = &mut input.last_name {
                *n = format!("{}  ", n.replace(' ', "  "));
            }
            if let Some(n) = &mut input.full_name {
                *n = format!(" {}", n.replace(' ', "   "));
            }
        }
        2 => input.country = opt(pick(rng, info.messy_spellings)),
        3 if person.company.is_some() => {
            let domain = person
                .company
                .map(|c| c.domain_string())
                .unwrap_or_default();
            input.website = Some(match rng.gen_range(0..3) {
                0 => format!("https://www.{domain}/en/contact-us?ref=footer"),
                1 => format!("www.{domain}/impressum"),
                _ => format!("http://{domain}/about/team/"),
            });
        }
        _ => {
            input.phone = opt(pick(
                rng,
                &[
                    "call after 6pm",
                    "ask for reception",
                    "n/a",
                    "mobile – see card",
                ],
            ))
        }
    }
}

static MESSAGES: &[&str] = &[
    "Please call me about pricing for 20 seats.",
    "We are replacing our spreadsheet process – can we see a demo?",
    "Do you integrate with our e-mail marketing tool?",
    "Need a quote before the end of the quarter.",
    "Just researching for next year.",
    "Can you host the data in the EU?",
];

static BOOTH_NOTES: &[&str] = &[
    "Hot – wants a demo next week",
    "Budget approved for Q3",
    "Evaluating three vendors",
    "Just collecting swag",
    "Call back in the new year",
    "Knows our CEO; send the partner deck",
];

static HOME_INTERESTS: &[&str] = &[
    "Kitchen",
    "Bathroom",
    "Solar panels",
    "Windows and doors",
    "Garden room",
    "Loft conversion",
];

static SEM_TERMS: &[&str] = &[
    "lead management software",
    "crm for small business",
    "lead tracking tool",
    "sales lead software",
    "speed to lead",
    "trade show lead capture app",
];

static PARTNERS: &[&str] = &[
    "Brightline Consulting",
    "Kestrel Digital Ltd",
    "Agentur Nordlicht GmbH",
    "Oranje Advies B.V.",
];

#[cfg(test)]
mod tests;
