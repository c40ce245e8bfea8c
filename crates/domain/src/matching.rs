//! Probabilistic record linkage: is an incoming lead someone we already have?
//!
//! The model is Fellegi–Sunter. Each field that both records carry is compared and gives
//! a weight in bits: agreement adds `log2(m/u)`, disagreement adds `log2((1-m)/(1-u))`,
//! where `m` is the chance the field agrees when the two records are the same person and
//! `u` the chance it agrees when they are not. A field missing on either side gives no
//! evidence and is left out. The weights add up to a score, and two thresholds cut the
//! score into [`MatchDecision::Sure`] (merge automatically), [`MatchDecision::Possible`]
//! (ask a human) and [`MatchDecision::Distinct`]. Because every point of the score comes
//! from a listed [`Comparison`], each decision explains itself.
//!
//! # Field model
//!
//! | field           |    m |      u | agree (bits) | disagree (bits) | why |
//! |-----------------|-----:|-------:|-------------:|----------------:|-----|
//! | `email`         | 0.85 | 5e-7   |       +20.70 |           -2.74 | The folded e-mail key is all but unique to a person; people keep a work and a private address, so `m` is well below 1. |
//! | `phone`         | 0.85 | 1e-5   |       +16.38 |           -2.74 | E.164 numbers are personal for mobiles, but households and office switchboards share landlines, so `u` is higher than for e-mail. |
//! | `first_name`    | 0.92 | 0.02   |        +5.52 |           -3.61 | Common first names reach 2–3 % of a population; typos and nicknames that escape the fuzzy rules cost some `m`. |
//! | `last_name`     | 0.95 | 0.005  |        +7.57 |           -4.31 | Surnames are more spread out than first names (even Smith is about 1 %); marriage explains most true disagreements. |
//! | `company`       | 0.80 | 0.008  |        +6.64 |           -2.31 | People change employer and write it differently; big employers make colleagues collide, so `u` is not tiny. |
//! | `domain`        | 0.80 | 0.04   |        +4.32 |           -2.26 | Says much the same as `company` (same employer), so it is scored weak to avoid counting that evidence twice; groups share domains. |
//! | `postal_code`   | 0.90 | 0.01   |        +6.49 |           -3.31 | Codes range from a street side (UK) to a town (US ZIP); people move. `u` is that of a compared pair, which already shares a block. |
//! | `street`        | 0.85 | 0.001  |        +9.73 |           -2.74 | Street plus house number inside the same locality is one dwelling. Outside a known-same locality it is only partial evidence (see below). |
//! | `date_of_birth` | 0.98 | 0.0002 |       +12.26 |           -5.64 | About 1 in 20 000 for two random people. Typos and swapped day/month score partial, so a full disagreement is rare for one person (placeholder dates) and strong evidence of two. |
//!
//! Partial agreement gives a fraction `t` of the agreement weight (never more, never
//! negative):
//! * names: Jaro–Winkler similarity (case- and accent-folded) of at least 0.97 is agreement;
//!   from 0.88 up to 0.97, `t` rises linearly from 0.3 to 1. An initial that matches
//!   ("J" vs "John") gives `t = 0.5`; a known nickname ("Bob" vs "Robert") `t = 0.8`;
//! * company keys: equal keys agree; Jaro–Winkler from 0.90 up is partial (0.3 → 1);
//! * postal code: same code without spaces agrees; a shared prefix covering all but the
//!   last three characters ("SW1A 1AA" vs "SW1A 2BB", "10115" vs "10117") gives `t = 0.4`;
//! * street: abbreviations are unified (street/st, road/rd, avenue/ave, straße/str, …) and
//!   the house number split off. Different house numbers always disagree. Street names
//!   agree from 0.97 similarity and are partial from 0.85. A street without house number
//!   on either side is capped at `t = 0.5`. The street only counts fully when the locality
//!   is known to be the same (postal code agrees, or city when there is no postal code);
//!   with unknown locality it is scaled by 0.5, in another locality by 0.1 — "12 High
//!   Street" exists in every British town;
//! * date of birth: one mistyped digit, or day and month swapped, gives `t = 0.4`.
//!
//! # Deciding
//!
//! Fellegi–Sunter assumes fields are independent, and household members break that:
//! spouses share the phone, the address and often the surname, which adds up to a
//! sure-looking score for two different people. So [`decide`] never says `Sure` while the
//! first names or the dates of birth clearly disagree; such a pair is at most `Possible`
//! for a person to review. The default thresholds ([`MatchThresholds::default`]) are
//! `sure = 20` bits (an e-mail key alone, a phone with a name, a full name with an address
//! or with a date of birth) and `possible = 8` bits.
//!
//! # Blocking
//!
//! Comparing an incoming lead with every stored lead does not scale; [`blocking_keys`]
//! returns a few keys, and only leads that share a key are compared. The keys are built
//! from identifiers or from a phonetic (Soundex) code of the surname combined with a
//! narrow second value, so no key is shared by a large part of the database.

use crate::normalize::NormalizedLead;
use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

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

/// How one field compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComparisonOutcome {
    /// Same value in comparable form: the full agreement weight.
    Agree,
    /// Close but not the same (typo, initial, nickname, same street elsewhere, …).
    Partial,
    /// Clearly different: the (negative) disagreement weight.
    Disagree,
}

/// One line of a match explanation: a field, how it compared and what it was worth.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct Comparison {
    /// One of `email`, `phone`, `first_name`, `last_name`, `company`, `domain`,
    /// `postal_code`, `street`, `date_of_birth`.
    pub field: String,
    /// How the two values compared.
    pub outcome: ComparisonOutcome,
    /// String similarity in 0..=1 where one was computed (names, company, street,
    /// postal-code prefix); `None` for exact-only fields.
    pub similarity: Option<f64>,
    /// Weight in bits added to the score (negative for disagreement).
    pub weight: f64,
}

/// The score of a pair and the comparisons it is made of; `score` is the sum of the
/// comparison weights, so the explanation always adds up.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub struct MatchEvidence {
    /// Sum of the comparison weights, in bits (log2 of the likelihood ratio).
    pub score: f64,
    /// One entry per field present on both sides, in a fixed field order.
    pub comparisons: Vec<Comparison>,
}

/// Score cut-offs in bits. Tenant-tunable; [`Default`] holds the tuned values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchThresholds {
    /// At or above this score a pair is merged automatically.
    pub sure: f64,
    /// At or above this score (and below `sure`) a pair is queued for review.
    pub possible: f64,
}

impl Default for MatchThresholds {
    /// `sure = 20`: reached by an e-mail key alone (20.7), a phone plus a name
    /// (16.4 + 5.5 or 7.6), a full name with a street address in the same postal code
    /// (≈ 29) or with a date of birth (≈ 25), but not by a full name with a postal code
    /// alone (19.6) or a phone alone (16.4). `possible = 8`: a full name alone (13.1)
    /// is worth a look, colleagues who share only company and domain (≈ 3) are not.
    fn default() -> Self {
        MatchThresholds {
            sure: 20.0,
            possible: 8.0,
        }
    }
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

// ---------------------------------------------------------------------------------------
// Field model

/// m/u probabilities of one field; see the table in the module documentation.
#[derive(Debug, Clone, Copy)]
struct FieldModel {
    m: f64,
    u: f64,
}

impl FieldModel {
    fn agree(self) -> f64 {
        (self.m / self.u).log2()
    }

    fn disagree(self) -> f64 {
        ((1.0 - self.m) / (1.0 - self.u)).log2()
    }

    /// A fraction `t` of the agreement weight.
    fn partial(self, t: f64) -> f64 {
        t.clamp(0.0, 1.0) * self.agree()
    }

    fn weight(self, outcome: ComparisonOutcome, t: f64) -> f64 {
        match outcome {
            ComparisonOutcome::Agree => self.agree(),
            ComparisonOutcome::Partial => self.partial(t),
            ComparisonOutcome::Disagree => self.disagree(),
        }
    }
}

const EMAIL: FieldModel = FieldModel { m: 0.85, u: 5e-7 };
const PHONE: FieldModel = FieldModel { m: 0.85, u: 1e-5 };
const FIRST_NAME: FieldModel = FieldModel { m: 0.92, u: 0.02 };
const LAST_NAME: FieldModel = FieldModel { m: 0.95, u: 0.005 };
const COMPANY: FieldModel = FieldModel { m: 0.80, u: 0.008 };
const DOMAIN: FieldModel = FieldModel { m: 0.80, u: 0.04 };
const POSTAL_CODE: FieldModel = FieldModel { m: 0.90, u: 0.01 };
const STREET: FieldModel = FieldModel { m: 0.85, u: 0.001 };
const DATE_OF_BIRTH: FieldModel = FieldModel { m: 0.98, u: 0.0002 };

/// Name similarity at which names count as the same.
const NAME_AGREE: f64 = 0.97;
/// Name similarity below which names clearly differ.
const NAME_PARTIAL: f64 = 0.88;
const COMPANY_PARTIAL: f64 = 0.90;
const STREET_AGREE: f64 = 0.97;
const STREET_PARTIAL: f64 = 0.85;
/// Smallest share of the agreement weight a similarity-based partial gets.
const PARTIAL_FLOOR: f64 = 0.3;
const INITIAL_T: f64 = 0.5;
const NICKNAME_T: f64 = 0.8;
const POSTAL_PREFIX_T: f64 = 0.4;
const DOB_TYPO_T: f64 = 0.4;
const STREET_NO_NUMBER_T: f64 = 0.5;
const LOCALITY_UNKNOWN_FACTOR: f64 = 0.5;
const LOCALITY_OTHER_FACTOR: f64 = 0.1;

/// Fields whose clear disagreement means two people however much else agrees
/// (household members share everything else).
const VETO_FIELDS: [&str; 2] = ["first_name", "date_of_birth"];

/// Common nickname pairs (folded). Optional refinement: a nickname that is not listed
/// still often scores partial through Jaro–Winkler.
const NICKNAMES: &[(&str, &str)] = &[
    ("alex", "alexander"),
    ("alex", "alexandra"),
    ("andy", "andrew"),
    ("bill", "william"),
    ("billy", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("cathy", "catherine"),
    ("charlie", "charles"),
    ("chris", "christina"),
    ("chris", "christine"),
    ("chris", "christopher"),
    ("chuck", "charles"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("dave", "david"),
    ("dick", "richard"),
    ("ed", "edward"),
    ("fritz", "friedrich"),
    ("greg", "gregory"),
    ("hank", "henry"),
    ("hans", "johannes"),
    ("harry", "henry"),
    ("jack", "john"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("joe", "joseph"),
    ("johnny", "john"),
    ("kate", "katherine"),
    ("kathy", "katherine"),
    ("katie", "katherine"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("maggie", "margaret"),
    ("matt", "matthew"),
    ("meg", "margaret"),
    ("mike", "michael"),
    ("nick", "nicholas"),
    ("pat", "patricia"),
    ("pat", "patrick"),
    ("peggy", "margaret"),
    ("rich", "richard"),
    ("rick", "richard"),
    ("rob", "robert"),
    ("sam", "samantha"),
    ("sam", "samuel"),
    ("sepp", "josef"),
    ("steve", "stephen"),
    ("steve", "steven"),
    ("sue", "susan"),
    ("ted", "edward"),
    ("tom", "thomas"),
    ("tony", "anthony"),
    ("will", "william"),
];

// ---------------------------------------------------------------------------------------
// Public API

/// Compares two records field by field and returns the score with its explanation.
///
/// Symmetric: `compare(a, b)` and `compare(b, a)` give the same score.
pub fn compare(a: &MatchRecord, b: &MatchRecord) -> MatchEvidence {
    let mut sink = Explainer {
        score: 0.0,
        comparisons: Vec::with_capacity(9),
    };
    run(a, b, &mut sink);
    MatchEvidence {
        score: sink.score,
        comparisons: sink.comparisons,
    }
}

/// Turns evidence into a decision: by thresholds, except that a clear disagreement on
/// the first name or date of birth caps the decision at `Possible` (see module docs).
pub fn decide(e: &MatchEvidence, t: &MatchThresholds) -> MatchDecision {
    let vetoed = e
        .comparisons
        .iter()
        .any(|c| c.outcome == ComparisonOutcome::Disagree && VETO_FIELDS.contains(&&*c.field));
    decide_parts(e.score, vetoed, t)
}

/// Finds the best candidate for `incoming`, or `None` when every candidate is distinct.
///
/// Candidates are ranked by decision first (a `Sure` beats a `Possible`, even one with a
/// higher score that was capped because first names differ — that one is typically a
/// household member of the person found) and then by score; on a tie the earlier
/// candidate wins, so the result is deterministic for a given order. Only the winner's
/// explanation is built, keeping the per-candidate cost low.
pub fn best_match<'a, K: Clone>(
    incoming: &MatchRecord,
    candidates: impl IntoIterator<Item = (K, &'a MatchRecord)>,
    t: &MatchThresholds,
) -> Option<MatchResult<K>> {
    let mut best: Option<(K, &MatchRecord, MatchDecision, f64)> = None;
    for (key, record) in candidates {
        let mut scorer = Scorer::default();
        run(incoming, record, &mut scorer);
        let decision = decide_parts(scorer.score, scorer.vetoed, t);
        if decision == MatchDecision::Distinct {
            continue;
        }
        let better = match &best {
            None => true,
            Some((_, _, best_decision, best_score)) => {
                let rank = decision_rank(decision);
                let best_rank = decision_rank(*best_decision);
                rank > best_rank || (rank == best_rank && scorer.score > *best_score)
            }
        };
        if better {
            best = Some((key, record, decision, scorer.score));
        }
    }
    best.map(|(candidate, record, decision, _)| MatchResult {
        candidate,
        evidence: compare(incoming, record),
        decision,
    })
}

/// Largest block a weak key may form and still be used. A weak key (surname and
/// postcode, surname and domain …) shared by more leads than this says little about
/// identity and would flood matching with candidates, so it is skipped; the strong
/// keys (e-mail, phone) are always used, whatever their size.
pub const MAX_WEAK_BLOCK: usize = 64;

/// True for keys that identify a person on their own (e-mail key, E.164 phone).
pub fn is_strong_key(key: &str) -> bool {
    key.starts_with("e:") || key.starts_with("p:")
}

/// Keys under which a record is filed for candidate lookup. Two records are compared
/// only when they share a key, so every pair that should be `Sure` must share one.
///
/// Keys (all parts folded; `<sx>` is the Soundex code of the last name, which tolerates
/// typos such as Smith/Smyth and Johnson/Jonhson):
/// * `e:<email_key>` and `p:<e164>` — identifiers;
/// * `n:<sx>:<postal>` — person in a postal area (consumer lists);
/// * `a:<postal>:<house number>` — dwelling (catches surname changes);
/// * `t:<city>:<house number>:<sx>` — dwelling when one side lacks a postal code;
/// * `d:<domain>:<sx>` and `c:<company_key>:<first initial><sx>` — B2B;
/// * `b:<date of birth>:<sx>` — person by birthday.
///
/// Nothing is keyed on country, city, first name or company alone, which would put a
/// large share of all leads into one block. Callers may still skip oversized blocks
/// (a company switchboard phone, a shared info@ inbox).
pub fn blocking_keys(r: &MatchRecord) -> Vec<String> {
    let mut keys = Vec::with_capacity(8);
    let mut buf = String::new();

    let surname = present(&r.last_name).and_then(|l| {
        fold_into(l, &mut buf);
        surname_code(&buf)
    });
    let postal = present(&r.postal_code)
        .map(postal_key)
        .filter(|p| !p.is_empty());
    let house = present(&r.street).and_then(|s| street_parts(s).first_number());

    if let Some(e) = present(&r.email_key) {
        keys.push(format!("e:{}", e.to_lowercase()));
    }
    if let Some(p) = present(&r.phone) {
        keys.push(format!("p:{p}"));
    }
    if let (Some(sx), Some(pc)) = (&surname, &postal) {
        keys.push(format!("n:{sx}:{pc}"));
    }
    if let (Some(pc), Some(h)) = (&postal, &house) {
        keys.push(format!("a:{pc}:{h}"));
    }
    if let (Some(city), Some(h), Some(sx)) = (present(&r.city), &house, &surname) {
        fold_into(city, &mut buf);
        if !buf.is_empty() {
            keys.push(format!("t:{buf}:{h}:{sx}"));
        }
    }
    if let (Some(d), Some(sx)) = (present(&r.domain), &surname) {
        keys.push(format!("d:{}:{sx}", d.to_lowercase()));
    }
    if let (Some(c), Some(sx)) = (present(&r.company_key), &surname) {
        let initial = present(&r.first_name)
            .and_then(|f| {
                fold_into(f, &mut buf);
                buf.chars().next()
            })
            .unwrap_or('_');
        keys.push(format!("c:{}:{initial}{sx}", c.to_lowercase()));
    }
    if let (Some(dob), Some(sx)) = (present(&r.date_of_birth), &surname) {
        keys.push(format!("b:{dob}:{sx}"));
    }
    keys
}

// ---------------------------------------------------------------------------------------
// Scoring core: one pass over the fields, feeding a sink. `compare` collects an
// explanation; `best_match` only keeps the score so scanning candidates does not
// allocate an explanation per candidate.

trait Sink {
    fn push(
        &mut self,
        field: &'static str,
        outcome: ComparisonOutcome,
        similarity: Option<f64>,
        weight: f64,
    );
}

#[derive(Default)]
struct Scorer {
    score: f64,
    vetoed: bool,
}

impl Sink for Scorer {
    fn push(&mut self, field: &'static str, outcome: ComparisonOutcome, _: Option<f64>, w: f64) {
        self.score += w;
        if outcome == ComparisonOutcome::Disagree && VETO_FIELDS.contains(&field) {
            self.vetoed = true;
        }
    }
}

struct Explainer {
    score: f64,
    comparisons: Vec<Comparison>,
}

impl Sink for Explainer {
    fn push(
        &mut self,
        field: &'static str,
        outcome: ComparisonOutcome,
        similarity: Option<f64>,
        weight: f64,
    ) {
        self.score += weight;
        self.comparisons.push(Comparison {
            field: field.to_owned(),
            outcome,
            similarity,
            weight,
        });
    }
}

fn decide_parts(score: f64, vetoed: bool, t: &MatchThresholds) -> MatchDecision {
    if score >= t.sure {
        if vetoed {
            MatchDecision::Possible
        } else {
            MatchDecision::Sure
        }
    } else if score >= t.possible {
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

/// Outcome of one field plus the partial fraction `t` (ignored unless partial).
type Graded = (ComparisonOutcome, Option<f64>, f64);

fn emit<S: Sink>(sink: &mut S, field: &'static str, model: FieldModel, graded: Graded) {
    let (outcome, similarity, t) = graded;
    sink.push(field, outcome, similarity, model.weight(outcome, t));
}

fn exact(same: bool) -> Graded {
    if same {
        (ComparisonOutcome::Agree, None, 1.0)
    } else {
        (ComparisonOutcome::Disagree, None, 0.0)
    }
}

/// Whether the two addresses are in the same place, as far as we can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locality {
    Same,
    Other,
    Unknown,
}

fn run<S: Sink>(a: &MatchRecord, b: &MatchRecord, sink: &mut S) {
    let mut fa = String::new();
    let mut fb = String::new();

    if let (Some(x), Some(y)) = (present(&a.email_key), present(&b.email_key)) {
        emit(sink, "email", EMAIL, exact(x.eq_ignore_ascii_case(y)));
    }
    if let (Some(x), Some(y)) = (present(&a.phone), present(&b.phone)) {
        emit(sink, "phone", PHONE, exact(x == y));
    }
    if let (Some(x), Some(y)) = (present(&a.first_name), present(&b.first_name)) {
        if let Some(g) = compare_names(x, y, true, &mut fa, &mut fb) {
            emit(sink, "first_name", FIRST_NAME, g);
        }
    }
    if let (Some(x), Some(y)) = (present(&a.last_name), present(&b.last_name)) {
        if let Some(g) = compare_names(x, y, false, &mut fa, &mut fb) {
            emit(sink, "last_name", LAST_NAME, g);
        }
    }
    if let (Some(x), Some(y)) = (present(&a.company_key), present(&b.company_key)) {
        emit(sink, "company", COMPANY, compare_company(x, y));
    }
    if let (Some(x), Some(y)) = (present(&a.domain), present(&b.domain)) {
        emit(sink, "domain", DOMAIN, exact(x.eq_ignore_ascii_case(y)));
    }

    let countries_differ = match (present(&a.country), present(&b.country)) {
        (Some(x), Some(y)) => !x.eq_ignore_ascii_case(y),
        _ => false,
    };
    let mut locality = if countries_differ {
        Locality::Other
    } else {
        Locality::Unknown
    };
    if let (Some(x), Some(y)) = (present(&a.postal_code), present(&b.postal_code)) {
        let g = if countries_differ {
            (ComparisonOutcome::Disagree, None, 0.0)
        } else {
            compare_postal(x, y)
        };
        if !countries_differ {
            locality = match g.0 {
                ComparisonOutcome::Disagree => Locality::Other,
                _ => Locality::Same,
            };
        }
        emit(sink, "postal_code", POSTAL_CODE, g);
    } else if !countries_differ {
        if let (Some(x), Some(y)) = (present(&a.city), present(&b.city)) {
            fold_into(x, &mut fa);
            fold_into(y, &mut fb);
            if !fa.is_empty() && !fb.is_empty() {
                locality = if fa == fb {
                    Locality::Same
                } else {
                    Locality::Other
                };
            }
        }
    }
    if let (Some(x), Some(y)) = (present(&a.street), present(&b.street)) {
        if let Some(g) = compare_street(x, y, locality) {
            emit(sink, "street", STREET, g);
        }
    }
    if let (Some(x), Some(y)) = (present(&a.date_of_birth), present(&b.date_of_birth)) {
        emit(sink, "date_of_birth", DATE_OF_BIRTH, compare_dob(x, y));
    }
}

/// Maps a similarity between `partial_from` and `agree_at` to a partial fraction.
fn grade_similarity(sim: f64, agree_at: f64, partial_from: f64) -> Graded {
    if sim >= agree_at {
        (ComparisonOutcome::Agree, Some(sim), 1.0)
    } else if sim >= partial_from {
        let span = agree_at - partial_from;
        let frac = if span > 0.0 {
            (sim - partial_from) / span
        } else {
            0.0
        };
        let t = PARTIAL_FLOOR + (1.0 - PARTIAL_FLOOR) * frac;
        (ComparisonOutcome::Partial, Some(sim), t)
    } else {
        (ComparisonOutcome::Disagree, Some(sim), 0.0)
    }
}

fn compare_names(
    a: &str,
    b: &str,
    first: bool,
    fa: &mut String,
    fb: &mut String,
) -> Option<Graded> {
    fold_into(a, fa);
    fold_into(b, fb);
    if fa.is_empty() || fb.is_empty() {
        return None;
    }
    if fa == fb {
        return Some((ComparisonOutcome::Agree, Some(1.0), 1.0));
    }
    let sim = strsim::jaro_winkler(fa, fb);
    let (short, long) = if fa.len() <= fb.len() {
        (&**fa, &**fb)
    } else {
        (&**fb, &**fa)
    };
    if short.chars().count() == 1 && long.chars().count() > 1 && long.starts_with(short) {
        return Some((ComparisonOutcome::Partial, Some(sim), INITIAL_T));
    }
    if first && sim < NAME_AGREE && is_nickname(fa, fb) {
        return Some((ComparisonOutcome::Partial, Some(sim), NICKNAME_T));
    }
    Some(grade_similarity(sim, NAME_AGREE, NAME_PARTIAL))
}

fn is_nickname(a: &str, b: &str) -> bool {
    NICKNAMES
        .iter()
        .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
}

fn compare_company(a: &str, b: &str) -> Graded {
    if a.eq_ignore_ascii_case(b) {
        return (ComparisonOutcome::Agree, Some(1.0), 1.0);
    }
    // Equal keys were handled above, so this only yields partial or disagreement.
    grade_similarity(strsim::jaro_winkler(a, b), 1.0, COMPANY_PARTIAL)
}

/// Postal code chars that matter: letters and digits, upper-cased.
fn postal_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
}

fn postal_key(s: &str) -> String {
    postal_chars(s).collect()
}

fn compare_postal(a: &str, b: &str) -> Graded {
    let la = postal_chars(a).count();
    let lb = postal_chars(b).count();
    if la == 0 || lb == 0 {
        return (ComparisonOutcome::Disagree, None, 0.0);
    }
    if postal_chars(a).eq(postal_chars(b)) {
        return (ComparisonOutcome::Agree, None, 1.0);
    }
    let common = postal_chars(a)
        .zip(postal_chars(b))
        .take_while(|(x, y)| x == y)
        .count();
    let shorter = la.min(lb);
    if common >= 3 && common + 3 >= shorter {
        let sim = common as f64 / la.max(lb) as f64;
        (ComparisonOutcome::Partial, Some(sim), POSTAL_PREFIX_T)
    } else {
        (ComparisonOutcome::Disagree, None, 0.0)
    }
}

fn compare_street(a: &str, b: &str, locality: Locality) -> Option<Graded> {
    let pa = street_parts(a);
    let pb = street_parts(b);
    if pa.is_empty() || pb.is_empty() {
        return None;
    }
    let numbers_known = !pa.number.is_empty() && !pb.number.is_empty();
    if numbers_known && pa.number != pb.number {
        return Some((ComparisonOutcome::Disagree, None, 0.0));
    }
    let (sim, mut graded) = match (pa.name.is_empty(), pb.name.is_empty()) {
        (true, true) => (1.0, (ComparisonOutcome::Agree, Some(1.0), 1.0)),
        (false, false) => {
            let sim = if pa.name == pb.name {
                1.0
            } else {
                strsim::jaro_winkler(&pa.name, &pb.name)
            };
            (sim, grade_similarity(sim, STREET_AGREE, STREET_PARTIAL))
        }
        // Only a house number on one side: too little to say more than "maybe".
        _ => (0.0, (ComparisonOutcome::Partial, Some(0.0), PARTIAL_FLOOR)),
    };
    if graded.0 == ComparisonOutcome::Disagree {
        return Some(graded);
    }
    if !numbers_known && graded.2 > STREET_NO_NUMBER_T {
        graded = (ComparisonOutcome::Partial, Some(sim), STREET_NO_NUMBER_T);
    }
    let factor = match locality {
        Locality::Same => 1.0,
        Locality::Unknown => LOCALITY_UNKNOWN_FACTOR,
        Locality::Other => LOCALITY_OTHER_FACTOR,
    };
    if factor < 1.0 {
        graded = (ComparisonOutcome::Partial, Some(sim), graded.2 * factor);
    }
    Some(graded)
}

fn compare_dob(a: &str, b: &str) -> Graded {
    if a == b {
        return (ComparisonOutcome::Agree, None, 1.0);
    }
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let one_typo = x.len() == y.len() && x.iter().zip(y).filter(|(p, q)| p != q).count() == 1;
    // YYYY-MM-DD with day and month swapped (US vs European order).
    let swapped = x.len() == 10
        && y.len() == 10
        && x[..5] == y[..5]
        && x[5..7] == y[8..10]
        && x[8..10] == y[5..7];
    if one_typo || swapped {
        (ComparisonOutcome::Partial, None, DOB_TYPO_T)
    } else {
        (ComparisonOutcome::Disagree, None, 0.0)
    }
}

// ---------------------------------------------------------------------------------------
// Normalising for comparison

/// Trimmed value, `None` when missing or blank.
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Case- and accent-folds `s` into `out`: lower case, combining marks removed, a few
/// letters spelled out (ß → ss, æ → ae, ø → o, …), apostrophes dropped and every other
/// run of non-alphanumerics turned into one space.
fn fold_into(s: &str, out: &mut String) {
    out.clear();
    let mut gap = false;
    for c in s.nfd() {
        if is_combining_mark(c) || matches!(c, '\'' | '’' | '‘' | '`' | '´') {
            continue;
        }
        if !c.is_alphanumeric() {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        match c {
            'ß' | 'ẞ' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' => out.push('d'),
            'þ' | 'Þ' => out.push_str("th"),
            'ı' => out.push('i'),
            _ => out.extend(c.to_lowercase()),
        }
    }
}

/// American Soundex of a folded name (letter + three digits), falling back to the first
/// four characters for names without Latin letters.
fn surname_code(folded: &str) -> Option<String> {
    let mut out = String::with_capacity(4);
    let mut last = 0u8;
    for c in folded.chars().filter(char::is_ascii_alphabetic) {
        let c = c.to_ascii_lowercase();
        let code = match c {
            'b' | 'f' | 'p' | 'v' => b'1',
            'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => b'2',
            'd' | 't' => b'3',
            'l' => b'4',
            'm' | 'n' => b'5',
            'r' => b'6',
            'h' | 'w' => b'-',
            _ => 0,
        };
        if out.is_empty() {
            out.push(c.to_ascii_uppercase());
            last = if code == b'-' { 0 } else { code };
            continue;
        }
        match code {
            b'-' => {} // h and w do not separate equal codes
            0 => last = 0,
            _ => {
                if code != last {
                    out.push(char::from(code));
                    if out.len() == 4 {
                        break;
                    }
                }
                last = code;
            }
        }
    }
    if out.is_empty() {
        let prefix: String = folded.chars().filter(|c| *c != ' ').take(4).collect();
        return (!prefix.is_empty()).then_some(prefix);
    }
    while out.len() < 4 {
        out.push('0');
    }
    Some(out)
}

/// A street split into house number(s) and the street name with unified abbreviations.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct StreetParts {
    /// House number tokens ("12", "12a", "12 14"), space separated.
    number: String,
    /// Street name tokens, abbreviated and joined without spaces so "Haupt Str" and
    /// "Hauptstr" compare equal.
    name: String,
}

impl StreetParts {
    fn is_empty(&self) -> bool {
        self.number.is_empty() && self.name.is_empty()
    }

    fn first_number(&self) -> Option<String> {
        self.number
            .split(' ')
            .next()
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
    }
}

/// Words that introduce a flat or unit number, which is not the house number.
const UNIT_WORDS: [&str; 6] = ["flat", "apt", "apartment", "unit", "suite", "ste"];

pub(crate) fn street_parts(s: &str) -> StreetParts {
    let mut folded = String::with_capacity(s.len());
    fold_into(s, &mut folded);
    let mut parts = StreetParts::default();
    let mut skip_next = false;
    let mut after_number = false;
    for tok in folded.split(' ').filter(|t| !t.is_empty()) {
        if skip_next {
            skip_next = false;
            continue;
        }
        if UNIT_WORDS.contains(&tok) {
            skip_next = true;
            after_number = false;
            continue;
        }
        if tok.starts_with(|c: char| c.is_ascii_digit()) && !is_ordinal(tok) {
            if !parts.number.is_empty() {
                parts.number.push(' ');
            }
            parts.number.push_str(tok);
            after_number = true;
            continue;
        }
        if after_number && tok.chars().count() == 1 {
            // "12 a" is house number 12a.
            parts.number.push_str(tok);
            after_number = false;
            continue;
        }
        after_number = false;
        if let Some(stem) = tok.strip_suffix("strasse").filter(|s| !s.is_empty()) {
            // "hauptstrasse" → "hauptstr"; the whole word is handled by `abbreviate`.
            parts.name.push_str(stem);
            parts.name.push_str("str");
        } else {
            parts.name.push_str(abbreviate(tok));
        }
    }
    parts
}

/// "1st", "22nd", "3rd", "4th": a street name, not a house number.
fn is_ordinal(tok: &str) -> bool {
    let digits = tok.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &tok[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(suffix, "st" | "nd" | "rd" | "th")
}

fn abbreviate(tok: &str) -> &str {
    match tok {
        "street" => "st",
        "road" => "rd",
        "avenue" | "av" => "ave",
        "drive" => "dr",
        "lane" => "ln",
        "boulevard" => "blvd",
        "place" => "pl",
        "court" => "ct",
        "square" => "sq",
        "terrace" => "ter",
        "crescent" => "cres",
        "highway" => "hwy",
        "parkway" => "pkwy",
        "strasse" => "str",
        other => other,
    }
}

/// Whether two street strings name the same street and house number once abbreviations,
/// case and accents are unified (used by merge to avoid spurious conflicts).
pub(crate) fn same_street(a: &str, b: &str) -> bool {
    street_parts(a) == street_parts(b)
}

#[cfg(test)]
mod strong_key_tests {
    use super::*;

    #[test]
    fn email_and_phone_keys_are_strong_and_nothing_else_is() {
        let r = MatchRecord {
            email_key: Some("jane@example.com".into()),
            phone: Some("+442079460958".into()),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            company_key: Some("acme".into()),
            domain: Some("acme.example".into()),
            street: Some("12 High Street".into()),
            postal_code: Some("SW1A 1AA".into()),
            city: Some("London".into()),
            ..Default::default()
        };
        let keys = blocking_keys(&r);
        let strong: Vec<&String> = keys.iter().filter(|k| is_strong_key(k)).collect();
        assert_eq!(strong, vec!["e:jane@example.com", "p:+442079460958"]);
        assert!(keys.len() > strong.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a record from `field=value` pairs.
    fn rec(fields: &[(&str, &str)]) -> MatchRecord {
        let mut r = MatchRecord::default();
        for &(k, v) in fields {
            let v = Some(v.to_owned());
            match k {
                "email" => r.email_key = v,
                "phone" => r.phone = v,
                "first" => r.first_name = v,
                "last" => r.last_name = v,
                "company" => r.company_key = v,
                "domain" => r.domain = v,
                "street" => r.street = v,
                "postal" => r.postal_code = v,
                "city" => r.city = v,
                "country" => r.country = v,
                "dob" => r.date_of_birth = v,
                other => panic!("unknown test field {other}"),
            }
        }
        r
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Expect {
        Sure,
        Possible,
        Distinct,
        NotSure,
    }

    struct Case {
        name: &'static str,
        a: Vec<(&'static str, &'static str)>,
        b: Vec<(&'static str, &'static str)>,
        expect: Expect,
    }

    fn case(
        name: &'static str,
        a: &[(&'static str, &'static str)],
        b: &[(&'static str, &'static str)],
        expect: Expect,
    ) -> Case {
        Case {
            name,
            a: a.to_vec(),
            b: b.to_vec(),
            expect,
        }
    }

    fn cases() -> Vec<Case> {
        use Expect::*;
        vec![
            case(
                "same email, same names",
                &[
                    ("email", "jane.doe@acme.com"),
                    ("first", "Jane"),
                    ("last", "Doe"),
                ],
                &[
                    ("email", "jane.doe@acme.com"),
                    ("first", "Jane"),
                    ("last", "Doe"),
                ],
                Sure,
            ),
            case(
                "same email, similar names",
                &[
                    ("email", "jon.smith@example.org"),
                    ("first", "Jon"),
                    ("last", "Smith"),
                ],
                &[
                    ("email", "jon.smith@example.org"),
                    ("first", "John"),
                    ("last", "Smith"),
                ],
                Sure,
            ),
            case(
                "same email key only",
                &[("email", "jane@example.org")],
                &[
                    ("email", "jane@example.org"),
                    ("first", "Jane"),
                    ("last", "Doe"),
                ],
                Sure,
            ),
            // A shared inbox (info@, office@) is used by several people: the key says
            // "same organisation", the names say "different people". A human decides.
            case(
                "shared inbox, totally different names",
                &[
                    ("email", "info@bakery.de"),
                    ("first", "Anna"),
                    ("last", "Becker"),
                ],
                &[
                    ("email", "info@bakery.de"),
                    ("first", "Thomas"),
                    ("last", "Wolf"),
                ],
                Possible,
            ),
            case(
                "couple sharing an e-mail address",
                &[
                    ("email", "smiths@example.org"),
                    ("first", "Mary"),
                    ("last", "Smith"),
                ],
                &[
                    ("email", "smiths@example.org"),
                    ("first", "John"),
                    ("last", "Smith"),
                ],
                Possible,
            ),
            case(
                "same email, surname changed by marriage",
                &[
                    ("email", "anna@example.org"),
                    ("first", "Anna"),
                    ("last", "Becker"),
                ],
                &[
                    ("email", "anna@example.org"),
                    ("first", "Anna"),
                    ("last", "Wolf"),
                ],
                Sure,
            ),
            case(
                "same email, typo in last name",
                &[
                    ("email", "p.johnson@example.com"),
                    ("first", "Paul"),
                    ("last", "Johnson"),
                ],
                &[
                    ("email", "p.johnson@example.com"),
                    ("first", "Paul"),
                    ("last", "Jonhson"),
                ],
                Sure,
            ),
            case(
                "same phone, same last name, similar first name",
                &[
                    ("phone", "+447700900123"),
                    ("first", "Katherine"),
                    ("last", "Brown"),
                ],
                &[
                    ("phone", "+447700900123"),
                    ("first", "Katharine"),
                    ("last", "Brown"),
                ],
                Sure,
            ),
            case(
                "same phone, same first name, Smith vs Smyth",
                &[
                    ("phone", "+14155550100"),
                    ("first", "Peter"),
                    ("last", "Smith"),
                ],
                &[
                    ("phone", "+14155550100"),
                    ("first", "Peter"),
                    ("last", "Smyth"),
                ],
                Sure,
            ),
            case(
                "same phone only",
                &[("phone", "+14155550100")],
                &[("phone", "+14155550100")],
                Possible,
            ),
            case(
                "spouses: shared phone and address, different first names",
                &[
                    ("phone", "+442079460000"),
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "SW1A 1AA"),
                ],
                &[
                    ("phone", "+442079460000"),
                    ("first", "Mary"),
                    ("last", "Smith"),
                    ("street", "12 High St"),
                    ("postal", "SW1A 1AA"),
                ],
                Possible,
            ),
            case(
                "consumer list: Jon/John Smith at the same address",
                &[
                    ("first", "Jon"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "SW1A 1AA"),
                ],
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High St"),
                    ("postal", "SW1A1AA"),
                ],
                Sure,
            ),
            case(
                "consumer list: same address, different first name",
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "SW1A 1AA"),
                ],
                &[
                    ("first", "Mary"),
                    ("last", "Smith"),
                    ("street", "12 High St"),
                    ("postal", "SW1A 1AA"),
                ],
                NotSure,
            ),
            case(
                "same name and street, postcode in another town",
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "SW1A 1AA"),
                ],
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "M1 1AE"),
                ],
                NotSure,
            ),
            case(
                "same name, different postcode and street",
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "SW1A 1AA"),
                ],
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "3 Mill Lane"),
                    ("postal", "M1 1AE"),
                ],
                Distinct,
            ),
            case(
                "same name and postcode only",
                &[("first", "John"), ("last", "Smith"), ("postal", "10001")],
                &[("first", "John"), ("last", "Smith"), ("postal", "10001")],
                Possible,
            ),
            case(
                "same name and postcode, same date of birth",
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("postal", "10001"),
                    ("dob", "1980-04-12"),
                ],
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("postal", "10001"),
                    ("dob", "1980-04-12"),
                ],
                Sure,
            ),
            case(
                "father and son: same name and address, different dates of birth",
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "SW1A 1AA"),
                    ("dob", "1955-02-01"),
                ],
                &[
                    ("first", "John"),
                    ("last", "Smith"),
                    ("street", "12 High Street"),
                    ("postal", "SW1A 1AA"),
                    ("dob", "1984-09-30"),
                ],
                Possible,
            ),
            case(
                "full name and date of birth",
                &[("first", "Anna"), ("last", "Müller"), ("dob", "1990-12-24")],
                &[
                    ("first", "Anna"),
                    ("last", "Mueller"),
                    ("dob", "1990-12-24"),
                ],
                Sure,
            ),
            // Same employer and the same full name is almost always the same person when
            // the company key and the web domain both agree; with only one of them it
            // could be a namesake at a big employer, so a human confirms.
            case(
                "B2B: same company and domain, same full name, no email on one side",
                &[
                    ("email", "j.weber@contoso.com"),
                    ("first", "Julia"),
                    ("last", "Weber"),
                    ("company", "contoso"),
                    ("domain", "contoso.com"),
                ],
                &[
                    ("first", "Julia"),
                    ("last", "Weber"),
                    ("company", "contoso"),
                    ("domain", "contoso.com"),
                ],
                Sure,
            ),
            case(
                "B2B: same company, similar full name",
                &[
                    ("first", "Jon"),
                    ("last", "Weber"),
                    ("company", "contoso"),
                    ("domain", "contoso.com"),
                ],
                &[
                    ("first", "John"),
                    ("last", "Weber"),
                    ("company", "contoso"),
                    ("domain", "contoso.com"),
                ],
                Sure,
            ),
            case(
                "B2B: same company key only, same full name",
                &[
                    ("first", "Julia"),
                    ("last", "Weber"),
                    ("company", "contoso"),
                ],
                &[
                    ("first", "Julia"),
                    ("last", "Weber"),
                    ("company", "contoso"),
                ],
                Possible,
            ),
            case(
                "B2B: colleagues",
                &[
                    ("first", "Julia"),
                    ("last", "Weber"),
                    ("company", "contoso"),
                    ("domain", "contoso.com"),
                ],
                &[
                    ("first", "Omar"),
                    ("last", "Haddad"),
                    ("company", "contoso"),
                    ("domain", "contoso.com"),
                ],
                Distinct,
            ),
            case(
                "initial and full first name with phone",
                &[
                    ("phone", "+4930123456"),
                    ("first", "J"),
                    ("last", "Schmidt"),
                ],
                &[
                    ("phone", "+4930123456"),
                    ("first", "Jürgen"),
                    ("last", "Schmidt"),
                ],
                Sure,
            ),
            case(
                "nickname with email",
                &[
                    ("email", "bob@example.org"),
                    ("first", "Bob"),
                    ("last", "Miller"),
                ],
                &[
                    ("email", "bob@example.org"),
                    ("first", "Robert"),
                    ("last", "Miller"),
                ],
                Sure,
            ),
            case(
                "German address spelled two ways",
                &[
                    ("first", "Jörg"),
                    ("last", "Weiß"),
                    ("street", "Hauptstraße 5"),
                    ("postal", "10115"),
                ],
                &[
                    ("first", "Joerg"),
                    ("last", "Weiss"),
                    ("street", "Hauptstr. 5"),
                    ("postal", "10115"),
                ],
                Sure,
            ),
            case(
                "completely different people",
                &[
                    ("email", "a@x.com"),
                    ("phone", "+14155550100"),
                    ("first", "Alice"),
                    ("last", "Nguyen"),
                    ("postal", "94110"),
                    ("street", "1 Valencia St"),
                    ("dob", "1970-01-01"),
                ],
                &[
                    ("email", "b@y.com"),
                    ("phone", "+442079460000"),
                    ("first", "Robert"),
                    ("last", "Okafor"),
                    ("postal", "SW1A 1AA"),
                    ("street", "10 Downing Street"),
                    ("dob", "1985-06-15"),
                ],
                Distinct,
            ),
            case(
                "empty record vs full record",
                &[],
                &[("email", "a@x.com"), ("first", "Alice"), ("last", "Nguyen")],
                Distinct,
            ),
            case("empty vs empty", &[], &[], Distinct),
            case(
                "blank strings count as missing",
                &[("email", "  "), ("first", ""), ("last", " ")],
                &[("email", "a@x.com"), ("first", "Alice"), ("last", "Nguyen")],
                Distinct,
            ),
        ]
    }

    fn check(e: Expect, d: MatchDecision) -> bool {
        match e {
            Expect::Sure => d == MatchDecision::Sure,
            Expect::Possible => d == MatchDecision::Possible,
            Expect::Distinct => d == MatchDecision::Distinct,
            Expect::NotSure => d != MatchDecision::Sure,
        }
    }

    #[test]
    fn matching_table_decisions() {
        let t = MatchThresholds::default();
        let mut failures = Vec::new();
        for c in cases() {
            let (a, b) = (rec(&c.a), rec(&c.b));
            let e = compare(&a, &b);
            let d = decide(&e, &t);
            if !check(c.expect, d) {
                failures.push(format!(
                    "{}: expected {:?}, got {d:?} ({e:#?})",
                    c.name, c.expect
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn matching_weights_sum_to_score() {
        for c in cases() {
            let e = compare(&rec(&c.a), &rec(&c.b));
            let sum: f64 = e.comparisons.iter().map(|c| c.weight).sum();
            assert!(
                (sum - e.score).abs() < 1e-9,
                "{}: {sum} vs {}",
                c.name,
                e.score
            );
            assert!(e.score.is_finite(), "{}", c.name);
        }
    }

    #[test]
    fn matching_is_symmetric() {
        for c in cases() {
            let (a, b) = (rec(&c.a), rec(&c.b));
            let ab = compare(&a, &b);
            let ba = compare(&b, &a);
            assert!((ab.score - ba.score).abs() < 1e-9, "{}", c.name);
            let fields = |e: &MatchEvidence| {
                e.comparisons
                    .iter()
                    .map(|c| (c.field.clone(), c.outcome))
                    .collect::<Vec<_>>()
            };
            assert_eq!(fields(&ab), fields(&ba), "{}", c.name);
        }
    }

    #[test]
    fn matching_sure_pairs_share_a_blocking_key() {
        let t = MatchThresholds::default();
        let mut sure = 0;
        for c in cases() {
            let (a, b) = (rec(&c.a), rec(&c.b));
            if decide(&compare(&a, &b), &t) != MatchDecision::Sure {
                continue;
            }
            sure += 1;
            let ka = blocking_keys(&a);
            let kb = blocking_keys(&b);
            assert!(
                ka.iter().any(|k| kb.contains(k)),
                "{}: no shared key between {ka:?} and {kb:?}",
                c.name
            );
        }
        assert!(sure >= 12, "only {sure} sure cases");
    }

    #[test]
    fn matching_possible_pairs_share_a_blocking_key() {
        // Review candidates should be findable too.
        let t = MatchThresholds::default();
        for c in cases() {
            let (a, b) = (rec(&c.a), rec(&c.b));
            if decide(&compare(&a, &b), &t) != MatchDecision::Possible {
                continue;
            }
            // Same name and street in another town shares no key on purpose: keying on
            // name plus street alone would make huge "Smith, High Street" blocks.
            if c.name == "same name and street, postcode in another town" {
                continue;
            }
            let ka = blocking_keys(&a);
            let kb = blocking_keys(&b);
            assert!(
                ka.iter().any(|k| kb.contains(k)),
                "{}: {ka:?} / {kb:?}",
                c.name
            );
        }
    }

    fn outcome_of(e: &MatchEvidence, field: &str) -> Option<ComparisonOutcome> {
        e.comparisons
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.outcome)
    }

    fn weight_of(e: &MatchEvidence, field: &str) -> f64 {
        e.comparisons
            .iter()
            .find(|c| c.field == field)
            .map_or(0.0, |c| c.weight)
    }

    #[test]
    fn matching_name_outcomes() {
        use ComparisonOutcome::*;
        let table: &[(&str, &str, ComparisonOutcome)] = &[
            ("John", "John", Agree),
            ("JOHN", "john", Agree),
            ("José", "Jose", Agree),
            ("Zoë", "ZOE", Agree),
            ("Jon", "John", Partial),
            ("J", "John", Partial),
            ("J.", "John", Partial),
            ("Bob", "Robert", Partial),
            ("Katie", "Katherine", Partial),
            ("Mary", "John", Disagree),
            ("J", "M", Disagree),
            ("Anna", "Thomas", Disagree),
        ];
        for &(x, y, want) in table {
            let e = compare(&rec(&[("first", x)]), &rec(&[("first", y)]));
            assert_eq!(outcome_of(&e, "first_name"), Some(want), "{x} vs {y}");
        }
        let last: &[(&str, &str, ComparisonOutcome)] = &[
            ("Smith", "Smyth", Partial),
            ("Johnson", "Jonhson", Partial),
            ("O'Brien", "OBrien", Agree),
            ("Müller", "MULLER", Agree),
            ("Weiß", "Weiss", Agree),
            ("García López", "García", Partial),
            ("Smith", "Jones", Disagree),
        ];
        for &(x, y, want) in last {
            let e = compare(&rec(&[("last", x)]), &rec(&[("last", y)]));
            assert_eq!(outcome_of(&e, "last_name"), Some(want), "{x} vs {y}");
        }
    }

    #[test]
    fn matching_partial_weights_lie_between_zero_and_agreement() {
        let full = compare(&rec(&[("first", "John")]), &rec(&[("first", "John")]));
        let part = compare(&rec(&[("first", "Jon")]), &rec(&[("first", "John")]));
        let none = compare(&rec(&[("first", "Mary")]), &rec(&[("first", "John")]));
        let (f, p, n) = (
            weight_of(&full, "first_name"),
            weight_of(&part, "first_name"),
            weight_of(&none, "first_name"),
        );
        assert!(n < 0.0 && 0.0 < p && p < f, "{n} {p} {f}");
    }

    #[test]
    fn matching_street_outcomes() {
        use ComparisonOutcome::*;
        let table: &[(&str, &str, ComparisonOutcome)] = &[
            ("12 High Street", "12 High St", Agree),
            ("12 High Street", "12 high st.", Agree),
            ("Flat 3, 12 High Street", "12 High St", Agree),
            ("Hauptstraße 5", "Hauptstr. 5", Agree),
            ("Haupt Straße 5", "Hauptstrasse 5", Agree),
            ("5 Elm Avenue", "5 Elm Ave", Agree),
            ("7 Mill Road", "7 Mill Rd", Agree),
            ("3 Oak Drive", "3 Oak Dr", Agree),
            ("12a High Street", "12 A High Street", Agree),
            ("12 High Street", "14 High Street", Disagree),
            ("12 High Street", "12 Mill Lane", Disagree),
            ("12 High Street", "12 Hihg Street", Partial),
            ("High Street", "High Street", Partial),
            ("12 High Street", "High Street", Partial),
            ("100 1st Avenue", "100 1st Ave", Agree),
        ];
        for &(x, y, want) in table {
            let e = compare(
                &rec(&[("street", x), ("postal", "AB1 2CD")]),
                &rec(&[("street", y), ("postal", "AB1 2CD")]),
            );
            assert_eq!(outcome_of(&e, "street"), Some(want), "{x} vs {y}: {e:?}");
        }
    }

    #[test]
    fn matching_street_counts_less_outside_a_known_locality() {
        let s = ("street", "12 High Street");
        let same = compare(
            &rec(&[s, ("postal", "SW1A 1AA")]),
            &rec(&[s, ("postal", "SW1A 1AA")]),
        );
        let unknown = compare(&rec(&[s]), &rec(&[s]));
        let other = compare(
            &rec(&[s, ("postal", "SW1A 1AA")]),
            &rec(&[s, ("postal", "M1 1AE")]),
        );
        let by_city = compare(&rec(&[s, ("city", "Leeds")]), &rec(&[s, ("city", "LEEDS")]));
        let (ws, wu, wo, wc) = (
            weight_of(&same, "street"),
            weight_of(&unknown, "street"),
            weight_of(&other, "street"),
            weight_of(&by_city, "street"),
        );
        assert!(ws > wu && wu > wo && wo > 0.0, "{ws} {wu} {wo}");
        assert_eq!(ws, wc);
        assert_eq!(
            outcome_of(&other, "street"),
            Some(ComparisonOutcome::Partial)
        );
    }

    #[test]
    fn matching_postal_codes() {
        use ComparisonOutcome::*;
        let table: &[(&str, &str, ComparisonOutcome)] = &[
            ("SW1A 1AA", "sw1a1aa", Agree),
            ("10115", "10115", Agree),
            ("SW1A 1AA", "SW1A 2BB", Partial),
            ("10115", "10117", Partial),
            ("10001", "10999", Disagree),
            ("SW1A 1AA", "M1 1AE", Disagree),
            ("-", "10115", Disagree),
        ];
        for &(x, y, want) in table {
            let e = compare(&rec(&[("postal", x)]), &rec(&[("postal", y)]));
            assert_eq!(outcome_of(&e, "postal_code"), Some(want), "{x} vs {y}");
        }
        // Same digits in different countries are different places.
        let e = compare(
            &rec(&[("postal", "10115"), ("country", "DE")]),
            &rec(&[("postal", "10115"), ("country", "US")]),
        );
        assert_eq!(outcome_of(&e, "postal_code"), Some(Disagree));
    }

    #[test]
    fn matching_date_of_birth_moves_the_score_strongly() {
        let base = [("first", "John"), ("last", "Smith"), ("postal", "10001")];
        let with = |dob: &'static str| {
            let mut v = base.to_vec();
            v.push(("dob", dob));
            rec(&v)
        };
        let plain = compare(&rec(&base), &rec(&base)).score;
        let agree = compare(&with("1980-04-12"), &with("1980-04-12")).score;
        let typo = compare(&with("1980-04-12"), &with("1980-04-13")).score;
        let swapped = compare(&with("1980-04-12"), &with("1980-12-04")).score;
        let differ = compare(&with("1980-04-12"), &with("1975-11-30")).score;
        assert!(agree - plain > 10.0, "{agree} {plain}");
        assert!(plain - differ > 4.0, "{plain} {differ}");
        assert!(plain < typo && typo < agree);
        assert_eq!(typo, swapped);
        // Without the date of birth this pair is Possible; a conflicting one leaves
        // it Possible at most (veto), never Sure.
        let t = MatchThresholds::default();
        let e = compare(&with("1980-04-12"), &with("1975-11-30"));
        assert_ne!(decide(&e, &t), MatchDecision::Sure);
        assert_eq!(
            decide(&compare(&with("1980-04-12"), &with("1980-04-12")), &t),
            MatchDecision::Sure
        );
    }

    #[test]
    fn matching_company_partial_and_domain() {
        let e = compare(
            &rec(&[("company", "acme"), ("domain", "acme.com")]),
            &rec(&[("company", "acme"), ("domain", "ACME.com")]),
        );
        assert_eq!(outcome_of(&e, "company"), Some(ComparisonOutcome::Agree));
        assert_eq!(outcome_of(&e, "domain"), Some(ComparisonOutcome::Agree));
        let e = compare(
            &rec(&[("company", "contoso")]),
            &rec(&[("company", "contosso")]),
        );
        assert_eq!(outcome_of(&e, "company"), Some(ComparisonOutcome::Partial));
        assert!(weight_of(&e, "company") < COMPANY.agree());
        let e = compare(&rec(&[("company", "ibm")]), &rec(&[("company", "ibx")]));
        assert_eq!(outcome_of(&e, "company"), Some(ComparisonOutcome::Disagree));
    }

    #[test]
    fn matching_missing_fields_are_omitted() {
        let e = compare(
            &rec(&[("email", "a@x.com"), ("first", "Ann")]),
            &rec(&[("phone", "+14155550100"), ("first", "Ann")]),
        );
        let fields: Vec<&str> = e.comparisons.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["first_name"]);
        let empty = compare(&MatchRecord::default(), &rec(&[("email", "a@x.com")]));
        assert!(empty.comparisons.is_empty());
        assert_eq!(empty.score, 0.0);
    }

    #[test]
    fn matching_explanation_fields_use_documented_names_and_order() {
        let full = rec(&[
            ("email", "a@x.com"),
            ("phone", "+14155550100"),
            ("first", "Ann"),
            ("last", "Lee"),
            ("company", "acme"),
            ("domain", "acme.com"),
            ("street", "1 Main St"),
            ("postal", "94110"),
            ("city", "San Francisco"),
            ("country", "US"),
            ("dob", "1990-01-02"),
        ]);
        let e = compare(&full, &full);
        let fields: Vec<&str> = e.comparisons.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "email",
                "phone",
                "first_name",
                "last_name",
                "company",
                "domain",
                "postal_code",
                "street",
                "date_of_birth"
            ]
        );
        assert!(e
            .comparisons
            .iter()
            .all(|c| c.outcome == ComparisonOutcome::Agree));
    }

    #[test]
    fn matching_documented_weight_table_matches_constants() {
        let table: &[(&str, FieldModel, f64, f64)] = &[
            ("email", EMAIL, 20.70, -2.74),
            ("phone", PHONE, 16.38, -2.74),
            ("first_name", FIRST_NAME, 5.52, -3.61),
            ("last_name", LAST_NAME, 7.57, -4.31),
            ("company", COMPANY, 6.64, -2.31),
            ("domain", DOMAIN, 4.32, -2.26),
            ("postal_code", POSTAL_CODE, 6.49, -3.31),
            ("street", STREET, 9.73, -2.74),
            ("date_of_birth", DATE_OF_BIRTH, 12.26, -5.64),
        ];
        for &(name, model, agree, disagree) in table {
            assert!(
                (model.agree() - agree).abs() < 0.005,
                "{name} agree {}",
                model.agree()
            );
            assert!(
                (model.disagree() - disagree).abs() < 0.005,
                "{name} disagree {}",
                model.disagree()
            );
        }
    }

    #[test]
    fn matching_decide_thresholds_and_veto() {
        let t = MatchThresholds {
            sure: 10.0,
            possible: 5.0,
        };
        let ev = |score: f64, comparisons: Vec<Comparison>| MatchEvidence { score, comparisons };
        assert_eq!(decide(&ev(10.0, vec![]), &t), MatchDecision::Sure);
        assert_eq!(decide(&ev(9.99, vec![]), &t), MatchDecision::Possible);
        assert_eq!(decide(&ev(5.0, vec![]), &t), MatchDecision::Possible);
        assert_eq!(decide(&ev(4.99, vec![]), &t), MatchDecision::Distinct);
        let veto = |field: &str| Comparison {
            field: field.into(),
            outcome: ComparisonOutcome::Disagree,
            similarity: None,
            weight: 0.0,
        };
        assert_eq!(
            decide(&ev(50.0, vec![veto("first_name")]), &t),
            MatchDecision::Possible
        );
        assert_eq!(
            decide(&ev(50.0, vec![veto("date_of_birth")]), &t),
            MatchDecision::Possible
        );
        assert_eq!(
            decide(&ev(50.0, vec![veto("last_name")]), &t),
            MatchDecision::Sure
        );
        let nan = MatchThresholds {
            sure: f64::NAN,
            possible: f64::NAN,
        };
        assert_eq!(decide(&ev(50.0, vec![]), &nan), MatchDecision::Distinct);
    }

    #[test]
    fn matching_best_match_picks_the_strongest_candidate() {
        let t = MatchThresholds::default();
        let incoming = rec(&[
            ("first", "John"),
            ("last", "Smith"),
            ("street", "12 High St"),
            ("postal", "SW1A 1AA"),
            ("phone", "+442079460000"),
        ]);
        let wife = rec(&[
            ("first", "Mary"),
            ("last", "Smith"),
            ("street", "12 High Street"),
            ("postal", "SW1A 1AA"),
            ("phone", "+442079460000"),
            ("dob", "1970-01-01"),
        ]);
        let him = rec(&[
            ("first", "Jon"),
            ("last", "Smith"),
            ("postal", "SW1A 1AA"),
            ("street", "12 High Street"),
        ]);
        let stranger = rec(&[("first", "Alice"), ("last", "Nguyen"), ("postal", "94110")]);
        // The wife scores higher (shared phone) but is capped at Possible; he is Sure.
        assert!(compare(&incoming, &wife).score > compare(&incoming, &him).score);
        let r = best_match(
            &incoming,
            [("wife", &wife), ("him", &him), ("stranger", &stranger)],
            &t,
        )
        .expect("a match");
        assert_eq!(r.candidate, "him");
        assert_eq!(r.decision, MatchDecision::Sure);
        assert_eq!(r.evidence, compare(&incoming, &him));

        let r = best_match(&incoming, [(1, &wife), (2, &stranger)], &t).expect("possible");
        assert_eq!((r.candidate, r.decision), (1, MatchDecision::Possible));

        assert!(best_match(&incoming, [(1, &stranger)], &t).is_none());
        assert!(best_match(&incoming, Vec::<(u8, &MatchRecord)>::new(), &t).is_none());

        // Ties keep the first candidate.
        let r = best_match(&incoming, [("a", &him), ("b", &him)], &t).expect("a match");
        assert_eq!(r.candidate, "a");
        // Higher score wins among equal decisions.
        let him_exact = rec(&[
            ("first", "John"),
            ("last", "Smith"),
            ("postal", "SW1A 1AA"),
            ("street", "12 High Street"),
        ]);
        let r = best_match(&incoming, [("a", &him), ("b", &him_exact)], &t).expect("a match");
        assert_eq!(r.candidate, "b");
    }

    #[test]
    fn matching_blocking_keys_shape() {
        let r = rec(&[
            ("email", "jane.doe@acme.com"),
            ("phone", "+447700900123"),
            ("first", "Jane"),
            ("last", "Doe"),
            ("company", "acme"),
            ("domain", "acme.com"),
            ("street", "Flat 2, 12 High Street"),
            ("postal", "SW1A 1AA"),
            ("city", "London"),
            ("country", "GB"),
            ("dob", "1980-04-12"),
        ]);
        let keys = blocking_keys(&r);
        assert_eq!(
            keys,
            [
                "e:jane.doe@acme.com",
                "p:+447700900123",
                "n:D000:SW1A1AA",
                "a:SW1A1AA:12",
                "t:london:12:D000",
                "d:acme.com:D000",
                "c:acme:jD000",
                "b:1980-04-12:D000",
            ]
        );
        assert_eq!(keys, blocking_keys(&r.clone()), "deterministic");
        assert!(blocking_keys(&MatchRecord::default()).is_empty());
        // Country, city or first name alone never make a key.
        let broad = rec(&[("first", "John"), ("country", "GB"), ("city", "London")]);
        assert!(blocking_keys(&broad).is_empty());
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
    }

    #[test]
    fn matching_blocking_tolerates_surname_typos() {
        for (x, y) in [
            ("Smith", "Smyth"),
            ("Johnson", "Jonhson"),
            ("Müller", "Mueller"),
            ("Meyer", "Meier"),
        ] {
            let a = rec(&[("last", x), ("postal", "10115")]);
            let b = rec(&[("last", y), ("postal", "10 115")]);
            let (ka, kb) = (blocking_keys(&a), blocking_keys(&b));
            assert!(ka.iter().any(|k| kb.contains(k)), "{x}/{y}: {ka:?} {kb:?}");
        }
    }

    #[test]
    fn matching_soundex_codes() {
        for (name, code) in [
            ("robert", "R163"),
            ("rupert", "R163"),
            ("rubin", "R150"),
            ("ashcraft", "A261"),
            ("tymczak", "T522"),
            ("pfister", "P236"),
            ("smith", "S530"),
            ("smyth", "S530"),
            ("lee", "L000"),
            ("иванов", "иван"),
        ] {
            assert_eq!(surname_code(name).as_deref(), Some(code), "{name}");
        }
        assert_eq!(surname_code(""), None);
    }

    #[test]
    fn matching_from_lead_drops_unparsed_phone() {
        let mut lead = NormalizedLead {
            first_name: Some("Ann".into()),
            email_key: Some("ann@x.com".into()),
            phone: Some("call me maybe".into()),
            phone_valid: false,
            country: Some("DE".into()),
            ..NormalizedLead::default()
        };
        let r = MatchRecord::from_lead(&lead);
        assert_eq!(r.phone, None);
        assert_eq!(r.first_name.as_deref(), Some("Ann"));
        assert_eq!(r.email_key.as_deref(), Some("ann@x.com"));
        assert_eq!(r.country.as_deref(), Some("DE"));
        lead.phone = Some("+4930123456".into());
        lead.phone_valid = true;
        assert_eq!(
            MatchRecord::from_lead(&lead).phone.as_deref(),
            Some("+4930123456")
        );
    }

    #[test]
    fn matching_serde_names() {
        assert_eq!(
            serde_json::to_string(&MatchDecision::Possible).unwrap(),
            "\"possible\""
        );
        assert_eq!(
            serde_json::to_string(&ComparisonOutcome::Partial).unwrap(),
            "\"partial\""
        );
        let e = compare(&rec(&[("first", "Jon")]), &rec(&[("first", "John")]));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["comparisons"][0]["field"], "first_name");
        assert_eq!(json["comparisons"][0]["outcome"], "partial");
        let back: MatchEvidence = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn matching_odd_input_does_not_panic() {
        let odd = [
            "",
            " ",
            "-",
            "''",
            "ß",
            "ẞ",
            "😀",
            "e\u{301}",
            "\u{301}",
            "12",
            "1st",
            "flat",
            "straße",
            "strasse",
            "0000-00-00",
            "1980-04-1",
            "ǅ",
            "İstanbul",
            "a\u{0}b",
            "\u{200b}",
            "12 12 12 12",
            "Straße 5 a b c",
            "日本語の住所 1-2-3",
        ];
        for x in odd {
            for y in odd {
                let a = rec(&[
                    ("email", x),
                    ("phone", x),
                    ("first", x),
                    ("last", x),
                    ("company", x),
                    ("domain", x),
                    ("street", x),
                    ("postal", x),
                    ("city", x),
                    ("country", x),
                    ("dob", x),
                ]);
                let b = rec(&[
                    ("first", y),
                    ("last", y),
                    ("street", y),
                    ("postal", y),
                    ("dob", y),
                    ("city", y),
                ]);
                let e = compare(&a, &b);
                assert!(e.score.is_finite());
                let _ = decide(&e, &MatchThresholds::default());
                let _ = blocking_keys(&a);
                let _ = blocking_keys(&b);
            }
        }
    }

    #[test]
    fn matching_same_street_helper() {
        assert!(same_street("12 High Street", "12 high st."));
        assert!(same_street("Hauptstraße 5", "Hauptstr. 5"));
        assert!(!same_street("12 High Street", "14 High Street"));
    }
}
