//! Probabilistic record linkage: is an incoming lead someone we already have?
//!
//! The model is Fellegi–Sunter with comparison levels, as in splink and recordlinkage.
//! Each field both records carry is compared and lands on one level of that field
//! ([`levels`]: exact, close, phonetic, initial, nickname, swapped, day/month swapped,
//! house number differs, elsewhere, disagree). Every level has an `m` (its chance when
//! the records are one person) and a `u` (its chance when they are two), and adds
//! `log2(m/u)` bits; exact agreement on a name, company or postcode is adjusted by how
//! common the shared value is. A missing field gives no evidence. The bits add up to a
//! score; with the model's prior odds the score is a match probability, which the
//! model's thresholds cut into [`MatchDecision::Sure`] (merge automatically),
//! [`MatchDecision::Possible`] (ask a human) and [`MatchDecision::Distinct`]. Every
//! point of the score comes from a listed [`Comparison`], so each decision explains
//! itself.
//!
//! The m and u values are learned per database by [`train`] (u from random pairs, m by
//! EM per blocking pass, and the prior odds of two random leads being one person);
//! [`MatchModel::prior`] holds hand-set values for a database too small to learn from.
//!
//! # The household guard
//!
//! Fellegi–Sunter assumes fields are independent, and households break that: spouses,
//! parents and children share the surname, the address and often the phone, which adds
//! up to a sure-looking score for two different people. So [`decide`] never says `Sure`
//! while the first names clearly disagree (not a typo, initial, nickname or swap; two
//! established names of this database such as Mark and Mary count as different even a
//! letter apart) or two complete dates of birth clearly differ; such a pair is at most
//! `Possible`. So is a pair whose surnames clearly differ unless the e-mail agrees:
//! colleagues share a switchboard, a company and often a first name; a surname
//! changed by marriage usually keeps the e-mail. And so is a pair where one side has
//! no first name or only an initial, unless the e-mail key or the date of birth
//! agrees, or the phone and the company do (a workplace line, not a household's):
//! such a record at a household's address could be any of its members. That
//! last rule only holds a pair back; it does not show two leads to be two people
//! ([`shown_apart`]), so a record sure for both is not ambiguous between them.
//!
//! A first-name disagreement does not hold back two records at the same company that
//! share one person's own work address (`anne.duval@horizontextile.fr`, not `info@`,
//! not free mail, more in it than the surname): a household shares a family mailbox,
//! colleagues do not share a named one, so "Aqnne" and "Pat" there are a slip and a
//! nickname the lists do not know. The other way round, two different named work
//! addresses at one domain (`paul.roberts@`, `paul.roberts1@`) are namesakes at one
//! employer until a person says otherwise: such a pair is at most `Possible`.

mod blocking;
pub mod levels;
mod model;
mod text;
mod train;

pub use blocking::{
    block_cap, block_usable, blocking_keys, is_strong_key, BLOCKING_KEYS_VERSION,
    MAX_COLLEAGUE_BLOCK, MAX_NAME_BLOCK, MAX_WEAK_BLOCK, PASSES,
};
pub use levels::{Comparable, Comparand, Field, Folded, Level};
pub use model::{
    FieldParams, LevelParams, MatchModel, ModelOrigin, TermFrequencies, TrainingSummary,
};
pub use train::{fit_mixture, train, Mixture, Pattern, TrainingError, TrainingOptions};

pub(crate) use text::same_street;

use crate::normalize::NormalizedLead;
use levels::{observe, NameFrequencies, Observed};
use serde::{Deserialize, Serialize};

/// The comparable view of a lead: only the values matching looks at, already normalised.
///
/// Kept separate from [`NormalizedLead`] so the store can index and cache exactly these
/// values for candidates without loading whole leads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchRecord {
    /// Folded e-mail key (see [`NormalizedLead::email_key`]).
    pub email_key: Option<String>,
    /// E.164 only; `None` when the lead's phone did not parse, because raw strings
    /// compare unreliably.
    pub phone: Option<String>,
    /// As normalised; compared case- and accent-folded.
    pub first_name: Option<String>,
    /// As normalised; compared case- and accent-folded.
    pub last_name: Option<String>,
    /// Company name without legal suffixes (see [`NormalizedLead::company_key`]).
    pub company_key: Option<String>,
    /// Web domain of the employer (never a free-mail domain).
    pub domain: Option<String>,
    /// Street line with house number, as written; abbreviations are unified when compared.
    pub street: Option<String>,
    /// Compared without spaces and case.
    pub postal_code: Option<String>,
    /// Only tells whether two streets are in the same place when a postal code is missing.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2; different countries mean different addresses.
    pub country: Option<String>,
    /// YYYY-MM-DD.
    pub date_of_birth: Option<String>,
}

impl MatchRecord {
    /// Takes the comparable values of a normalised lead. The phone is only taken when it
    /// parsed to E.164 (`phone_valid`).
    pub fn from_lead(lead: &NormalizedLead) -> Self {
        MatchRecord {
            email_key: lead.email_key.clone(),
            phone: if lead.phone_valid {
                lead.phone.clone()
            } else {
                None
            },
            first_name: lead.first_name.clone(),
            last_name: lead.last_name.clone(),
            company_key: lead.company_key.clone(),
            domain: lead.domain.clone(),
            street: lead.street.clone(),
            postal_code: lead.postal_code.clone(),
            city: lead.city.clone(),
            country: lead.country.clone(),
            date_of_birth: lead.date_of_birth.clone(),
        }
    }
}

/// How one field compared, coarsely (the [`Level`] says exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComparisonOutcome {
    /// Same value in comparable form.
    Agree,
    /// Close but not the same (typo, initial, nickname, swap, same street elsewhere, …).
    Partial,
    /// Clearly different.
    Disagree,
}

/// One line of a match explanation: a field, how it compared and what it was worth.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct Comparison {
    /// One of `email`, `phone`, `first_name`, `last_name`, `company`, `domain`,
    /// `country`, `postal_code`, `street`, `date_of_birth`.
    pub field: String,
    /// The comparison level the two values reached.
    pub level: Level,
    /// How the two values compared, coarsely.
    pub outcome: ComparisonOutcome,
    /// String similarity in 0..=1 where one was computed (names, company, street);
    /// `None` for exact-only fields.
    pub similarity: Option<f64>,
    /// Weight in bits added to the score (negative for disagreement), including the
    /// term-frequency adjustment.
    pub weight: f64,
}

/// The score of a pair and the comparisons it is made of; `score` is the sum of the
/// comparison weights, so the explanation always adds up.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct MatchEvidence {
    /// Sum of the comparison weights, in bits (log2 of the likelihood ratio).
    pub score: f64,
    /// Match probability: the score combined with the model's prior odds.
    pub probability: f64,
    /// True when the household guard holds the pair back from a sure merge.
    #[serde(default)]
    pub household_guard: bool,
    /// One entry per field present on both sides, in [`Field::ALL`] order.
    pub comparisons: Vec<Comparison>,
}

/// What to do with a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchDecision {
    /// Same person: merge without asking.
    Sure,
    /// Perhaps the same person: a human decides.
    Possible,
    /// Different people.
    Distinct,
}

/// The best candidate for an incoming record, with the evidence behind the decision.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MatchResult<K> {
    /// The caller's key of the chosen candidate (e.g. a lead id).
    pub candidate: K,
    /// Why: the comparisons and the score.
    pub evidence: MatchEvidence,
    /// `Sure` or `Possible`; distinct candidates are never returned.
    pub decision: MatchDecision,
}

/// Local parts of shared mailboxes: a first-name disagreement there is two people.
const ROLE_MAILBOXES: &[&str] = &[
    "accounts",
    "admin",
    "bookings",
    "buero",
    "büro",
    "careers",
    "contact",
    "contacto",
    "enquiries",
    "events",
    "finance",
    "hello",
    "help",
    "hr",
    "info",
    "inquiries",
    "jobs",
    "kontakt",
    "mail",
    "marketing",
    "news",
    "noreply",
    "office",
    "orders",
    "post",
    "press",
    "reception",
    "sales",
    "service",
    "support",
    "team",
    "webmaster",
];

/// Whether `email` (an e-mail key) reads as one person's own address at an employer:
/// not free mail, not a role mailbox, and with more in its local part than `surname`
/// (`jsmith@`, but not the `smith@` a family business shares).
fn own_work_address(email: &str, surname: Option<&str>) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    if crate::normalize::is_free_mail_domain(domain) {
        return false;
    }
    let local = local.to_lowercase();
    let mailbox = local.trim_end_matches(|c: char| c.is_ascii_digit());
    if ROLE_MAILBOXES.contains(&mailbox) {
        return false;
    }
    let surname: String = surname
        .map(text::folded)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let rest = if surname.is_empty() {
        local
    } else {
        local.replacen(&surname, "", 1)
    };
    rest.chars().any(char::is_alphabetic)
}

/// The guard as the comparisons of a pair decide it: a clear first-name or date-of-
/// birth disagreement, or two clearly different surnames without a shared e-mail (a
/// shared phone, address or company is how colleagues and lodgers look alike; a
/// surname changed by marriage keeps the e-mail).
///
/// A pair whose first names cannot be told apart (one side has none, or only an
/// initial) is held back as well unless something only one person has agrees (the
/// e-mail key, the date of birth, or the phone at the same company) or the two records
/// are the same values again:
/// "J Smith" or "Smith" at the Smiths' address and phone is any of the household.
#[derive(Default)]
struct Guard {
    /// Two complete dates of birth clearly differ.
    dates_of_birth_differ: bool,
    /// The first names clearly differ.
    first_names_differ: bool,
    /// Both carry the same e-mail key, and it is one person's own work address
    /// ([`own_work_address`]).
    own_work_address: bool,
    /// Each carries its own work address at one domain, and they differ: namesakes at
    /// one employer (`paul.roberts@` and `paul.roberts1@`).
    two_work_addresses: bool,
    surnames_differ: bool,
    same_email: bool,
    /// First names compared at a level other than an initial.
    first_names_told: bool,
    /// E-mail key or date of birth agree (exactly, or a date with a slip or swap).
    personal: bool,
    /// Company and phone agree: a workplace, not a household.
    same_company: bool,
    same_phone: bool,
    /// The two records carry the same values: the same record captured again.
    identical: bool,
}

impl Guard {
    fn of(a: &MatchRecord, b: &MatchRecord) -> Guard {
        let (Some(x), Some(y)) = (&a.email_key, &b.email_key) else {
            return Guard::default();
        };
        fn domain(email: &str) -> Option<&str> {
            email.rsplit_once('@').map(|(_, d)| d)
        }
        // Checked first: most compared pairs have addresses at different domains, and
        // reading a local part allocates (this runs for every pair).
        if domain(x) != domain(y) {
            return Guard::default();
        }
        let own = own_work_address(x, a.last_name.as_deref())
            && own_work_address(y, b.last_name.as_deref());
        Guard {
            own_work_address: own && x == y,
            two_work_addresses: own && x != y,
            ..Guard::default()
        }
    }

    fn see(&mut self, o: &Observed<'_>) {
        let (field, level) = (o.field, o.level);
        self.dates_of_birth_differ |= field == Field::DateOfBirth && level == Level::Disagree;
        self.first_names_differ |= field == Field::FirstName && level == Level::Disagree;
        self.surnames_differ |= field == Field::LastName && level == Level::Disagree;
        self.same_email |= field == Field::Email && level == Level::Exact;
        self.first_names_told |=
            field == Field::FirstName && level != Level::Initial && !o.names_of_two;
        self.same_company |=
            field == Field::Company && matches!(level, Level::Exact | Level::Close);
        self.same_phone |= field == Field::Phone && level == Level::Exact;
        self.personal |= match field {
            Field::Email => level == Level::Exact,
            Field::DateOfBirth => level != Level::Disagree,
            _ => false,
        };
    }

    fn holds(&self) -> bool {
        self.apart()
            || self.two_work_addresses
            || (!self.first_names_told && !self.known_person() && !self.identical)
    }

    /// Whether something beyond the names pins the record to one person: the e-mail
    /// key or the date of birth, or the same phone at the same company ("S. Johnson"
    /// on Granite Analytics' line is Susan, unless two Johnsons with an S work there).
    fn known_person(&self) -> bool {
        self.personal || (self.same_company && self.same_phone)
    }

    /// The part of the guard that shows the two to be two people (a clear first-name
    /// or date-of-birth disagreement, or clearly different surnames without a shared
    /// e-mail). First names that cannot be told apart hold a pair back from a sure
    /// merge but say nothing of the kind: two leads a record is sure for are not two
    /// people because one of them has no first name.
    fn apart(&self) -> bool {
        let first_names_apart =
            self.first_names_differ && !(self.own_work_address && self.same_company);
        self.dates_of_birth_differ
            || first_names_apart
            || (self.surnames_differ && !self.same_email)
    }

    /// Records whether the two records are identical, where that decides the guard.
    fn compared(&mut self, a: &MatchRecord, b: &MatchRecord) {
        if !self.first_names_told && !self.known_person() {
            self.identical = a == b;
        }
    }
}

/// Scores a pair without building an explanation: (score, guarded).
fn score_pair(
    (a, fa): (&MatchRecord, &Folded),
    (b, fb): (&MatchRecord, &Folded),
    model: &MatchModel,
) -> (f64, bool) {
    let mut score = 0.0;
    let mut guard = Guard::of(a, b);
    observe(
        (a, fa),
        (b, fb),
        name_frequencies(model),
        &mut |o: Observed<'_>| {
            score += model.weight(o.field, o.level, o.value);
            guard.see(&o);
        },
    );
    guard.compared(a, b);
    (score, guard.holds())
}

/// Whether the household guard shows the two records to be two people (see
/// `Guard::apart`); cheaper than [`compare`], no explanation built.
fn shown_apart_folded(
    (a, fa): (&MatchRecord, &Folded),
    (b, fb): (&MatchRecord, &Folded),
    model: &MatchModel,
) -> bool {
    let mut guard = Guard::of(a, b);
    observe(
        (a, fa),
        (b, fb),
        name_frequencies(model),
        &mut |o: Observed<'_>| guard.see(&o),
    );
    guard.apart()
}

/// Whether the household guard shows `a` and `b` to be two people: clearly different
/// first names or complete dates of birth, or clearly different surnames without a
/// shared e-mail. Narrower than [`MatchEvidence::household_guard`], which also holds
/// back a pair whose first names cannot be told apart (one side has none, or only an
/// initial): such a pair is not sure, but nothing shows it to be two people. This is
/// the test for two leads one record is sure for: apart, the record is ambiguous;
/// otherwise the record links them.
pub fn shown_apart(a: &MatchRecord, b: &MatchRecord, model: &MatchModel) -> bool {
    shown_apart_folded((a, &Folded::of(a)), (b, &Folded::of(b)), model)
}

fn name_frequencies(model: &MatchModel) -> NameFrequencies<'_> {
    NameFrequencies {
        first: model.term_frequencies(Field::FirstName),
        last: model.term_frequencies(Field::LastName),
    }
}

/// Compares two records field by field and returns the score with its explanation.
///
/// Symmetric: `compare(a, b, m)` and `compare(b, a, m)` give the same score.
pub fn compare(a: &MatchRecord, b: &MatchRecord, model: &MatchModel) -> MatchEvidence {
    explain((a, &Folded::of(a)), (b, &Folded::of(b)), model)
}

/// [`compare`] on records already folded.
fn explain(
    (a, fa): (&MatchRecord, &Folded),
    (b, fb): (&MatchRecord, &Folded),
    model: &MatchModel,
) -> MatchEvidence {
    let mut comparisons = Vec::with_capacity(10);
    let mut score = 0.0;
    let mut guard = Guard::of(a, b);
    observe(
        (a, fa),
        (b, fb),
        name_frequencies(model),
        &mut |o: Observed<'_>| {
            let weight = model.weight(o.field, o.level, o.value);
            score += weight;
            guard.see(&o);
            comparisons.push(Comparison {
                field: o.field.name().to_owned(),
                level: o.level,
                outcome: o.level.outcome(),
                similarity: o.similarity,
                weight,
            });
        },
    );
    guard.compared(a, b);
    MatchEvidence {
        score,
        probability: model.probability(score),
        household_guard: guard.holds(),
        comparisons,
    }
}

/// Turns evidence into a decision by the model's thresholds, except that the household
/// guard caps it at `Possible` (see the module documentation).
pub fn decide(e: &MatchEvidence, model: &MatchModel) -> MatchDecision {
    decide_parts(model.probability(e.score), e.household_guard, model)
}

fn decide_parts(probability: f64, guarded: bool, model: &MatchModel) -> MatchDecision {
    if probability >= model.sure_probability {
        if guarded {
            MatchDecision::Possible
        } else {
            MatchDecision::Sure
        }
    } else if probability >= model.possible_probability {
        MatchDecision::Possible
    } else {
        MatchDecision::Distinct
    }
}

fn decision_rank(d: MatchDecision) -> u8 {
    match d {
        MatchDecision::Sure => 2,
        MatchDecision::Possible => 1,
        MatchDecision::Distinct => 0,
    }
}

/// A candidate scored against the incoming record, not distinct.
struct Scored<'a, K, R> {
    key: K,
    record: &'a R,
    decision: MatchDecision,
    score: f64,
    /// The candidate carries exactly the incoming record's values (the same record
    /// captured again): it wins a tie, so a record already on file is never ambiguous.
    identical: bool,
}

/// Scores every candidate once and keeps those that are not distinct, best first: sure
/// before possible (a `Sure` beats a higher-scoring `Possible` held back by the
/// household guard — typically a household member of the person found), then by
/// score, then a candidate identical to the incoming record; other ties keep the input
/// order.
fn score_all<'a, K, R: Comparand + 'a>(
    incoming: (&MatchRecord, &Folded),
    candidates: impl IntoIterator<Item = (K, &'a R)>,
    model: &MatchModel,
) -> Vec<Scored<'a, K, R>> {
    let mut found = Vec::new();
    for (key, record) in candidates {
        let (c, fc) = record.view();
        let (score, guarded) = score_pair(incoming, (c, &fc), model);
        let decision = decide_parts(model.probability(score), guarded, model);
        if decision != MatchDecision::Distinct {
            found.push(Scored {
                key,
                record,
                decision,
                score,
                identical: c == incoming.0,
            });
        }
    }
    // A stable sort keeps the input order among equals.
    found.sort_by(|x, y| {
        decision_rank(y.decision)
            .cmp(&decision_rank(x.decision))
            .then(y.score.total_cmp(&x.score))
            .then(y.identical.cmp(&x.identical))
    });
    found
}

/// Whether the best of `ranked` is sure but another sure candidate is a member of its
/// household (the guard shows the two to be two people, [`shown_apart`]): the record
/// could be either, so a person decides.
fn ambiguous<K, R: Comparand>(ranked: &[Scored<'_, K, R>], model: &MatchModel) -> bool {
    let Some((winner, rest)) = ranked.split_first() else {
        return false;
    };
    if winner.decision != MatchDecision::Sure {
        return false;
    }
    let (w, fw) = winner.record.view();
    rest.iter()
        .take_while(|o| o.decision == MatchDecision::Sure)
        .any(|o| {
            let (r, fr) = o.record.view();
            shown_apart_folded((w, &fw), (r, &fr), model)
        })
}

fn explained<K, R: Comparand>(
    incoming: (&MatchRecord, &Folded),
    scored: Scored<'_, K, R>,
    model: &MatchModel,
) -> MatchResult<K> {
    let (c, fc) = scored.record.view();
    MatchResult {
        candidate: scored.key,
        evidence: explain(incoming, (c, &fc), model),
        decision: scored.decision,
    }
}

/// Every candidate that is not distinct, best first (sure before possible, then by
/// score; ties keep the input order), each with its explanation. The household
/// ambiguity rule of [`best_match`] is not applied: each result is decided on its own.
pub fn all_matches<'a, K: Clone, R: Comparand + 'a>(
    incoming: &impl Comparand,
    candidates: impl IntoIterator<Item = (K, &'a R)>,
    model: &MatchModel,
) -> Vec<MatchResult<K>> {
    let (record, folded) = incoming.view();
    let incoming = (record, folded.as_ref());
    score_all(incoming, candidates, model)
        .into_iter()
        .map(|s| explained(incoming, s, model))
        .collect()
}

/// Finds the best candidate for `incoming`, or `None` when every candidate is distinct
/// (ranked as in [`all_matches`]). Only the winner's explanation is built, keeping the
/// per-candidate cost low. When the record is sure for two candidates that the
/// household guard shows to be two people ([`shown_apart`]: two members of the
/// household are leads), it is only `Possible`.
pub fn best_match<'a, K: Clone, R: Comparand + 'a>(
    incoming: &impl Comparand,
    candidates: impl IntoIterator<Item = (K, &'a R)>,
    model: &MatchModel,
) -> Option<MatchResult<K>> {
    let (record, folded) = incoming.view();
    let incoming = (record, folded.as_ref());
    let ranked = score_all(incoming, candidates, model);
    let ambiguous = ambiguous(&ranked, model);
    let mut best = explained(incoming, ranked.into_iter().next()?, model);
    if ambiguous {
        best.decision = MatchDecision::Possible;
    }
    Some(best)
}

/// What a record's candidates give: the best one as [`best_match`] decides it, and
/// every one that is not distinct as [`all_matches`] lists them (the best first, with
/// its own decision). Each candidate is compared once.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedMatches<K> {
    pub best: Option<MatchResult<K>>,
    pub all: Vec<MatchResult<K>>,
}

/// [`best_match`] and [`all_matches`] in one pass over the candidates.
pub fn rank_matches<'a, K: Clone, R: Comparand + 'a>(
    incoming: &impl Comparand,
    candidates: impl IntoIterator<Item = (K, &'a R)>,
    model: &MatchModel,
) -> RankedMatches<K> {
    let (record, folded) = incoming.view();
    let incoming = (record, folded.as_ref());
    let ranked = score_all(incoming, candidates, model);
    let ambiguous = ambiguous(&ranked, model);
    let all: Vec<MatchResult<K>> = ranked
        .into_iter()
        .map(|s| explained(incoming, s, model))
        .collect();
    let best = all.first().cloned().map(|mut best| {
        if ambiguous {
            best.decision = MatchDecision::Possible;
        }
        best
    });
    RankedMatches { best, all }
}

/// Most leads one record links as each other's duplicates; a record surely matching
/// more than this many leads is a data problem a person sees anyway.
pub const MAX_LINKED: usize = 8;

/// Why a capture puts a pair of leads in the duplicates review queue (indices into the
/// record's matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewReason {
    /// The record's own lead and the lead of the match the record matched.
    Matched(usize),
    /// The leads of two matches the record is sure for.
    SureForBoth(usize, usize),
}

/// The pairs of leads a capture puts in the duplicates review queue, from every
/// candidate the record matched (`matches`, as [`rank_matches`] lists them); `live`
/// gives the lead a candidate stands for.
///
/// - `lead`, the one the record created (`created`) or merged into, with the lead of
///   every match (a created lead) or of every possible match (a merged one: the record
///   is this lead's person, and perhaps that one's too).
/// - The leads the record is sure for with each other, since one record cannot be two
///   people, unless `apart` says the two candidates are two people ([`shown_apart`]:
///   two members of a household, each sure for a letter to the family). Two leads
///   that merely cannot be told apart (one has no first name) are linked.
///
/// A lead is never paired with itself; the same pair may come twice.
pub fn review_pairs<K, L: PartialEq + Clone>(
    lead: &L,
    created: bool,
    matches: &[MatchResult<K>],
    live: impl Fn(&K) -> L,
    apart: impl Fn(&K, &K) -> bool,
) -> Vec<(L, L, ReviewReason)> {
    let mut out = Vec::new();
    for (i, m) in matches.iter().enumerate() {
        if created || m.decision == MatchDecision::Possible {
            let other = live(&m.candidate);
            if other != *lead {
                out.push((lead.clone(), other, ReviewReason::Matched(i)));
            }
        }
    }
    let mut sure: Vec<(usize, L)> = Vec::new();
    for (i, m) in matches.iter().enumerate() {
        if m.decision != MatchDecision::Sure {
            continue;
        }
        let other = live(&m.candidate);
        // A created lead is no candidate, but `live` could still name it.
        let own_new_lead = created && other == *lead;
        if !own_new_lead && !sure.iter().any(|(_, l)| *l == other) {
            sure.push((i, other));
        }
    }
    sure.truncate(MAX_LINKED);
    for (x, (i, a)) in sure.iter().enumerate() {
        for (j, b) in &sure[x + 1..] {
            if !apart(&matches[*i].candidate, &matches[*j].candidate) {
                out.push((a.clone(), b.clone(), ReviewReason::SureForBoth(*i, *j)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
