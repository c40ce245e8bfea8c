//! Comparison levels: how the values of one field compare between two records.
//!
//! Every field has a short ordered list of levels, from "the same" to "clearly
//! different" (see [`Field::levels`]). A pair of records is turned into one level per
//! field both carry; the model gives every level its own weight. A typo, an initial, a
//! nickname, swapped first and last names or a day/month swap are levels of their own,
//! not disagreements.

use super::model::TermFrequencies;
use super::text::{
    ocr_skeleton, postal_chars, present, sound_skeleton, street_parts, surname_code, StreetParts,
};
use super::MatchRecord;
use rapidfuzz::distance::{jaro_winkler as jw, osa};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A field the matcher compares.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Email,
    Phone,
    FirstName,
    LastName,
    Company,
    Domain,
    Country,
    PostalCode,
    Street,
    DateOfBirth,
}

/// How the values of one field compare.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The same value in comparable form (case, accents, spacing, abbreviations).
    Exact,
    /// Close: one typo or OCR slip (Damerau–Levenshtein 1, or 2 in long values), or a
    /// high Jaro–Winkler similarity; a postcode in the same sector.
    Close,
    /// Spelled differently but sounding alike (same Soundex code).
    Phonetic,
    /// One side is the other's initial ("J" and "John").
    Initial,
    /// A known nickname ("Bob" and "Robert").
    Nickname,
    /// First and last name swapped between the records.
    Swapped,
    /// Day and month swapped in a date (US against European order).
    DayMonthSwapped,
    /// Same street, house number missing on one side.
    NoNumber,
    /// Same street, another house number.
    NumberDiffers,
    /// Same street in another postcode, town or country ("12 High Street" exists in
    /// every British town).
    Elsewhere,
    /// Clearly different.
    Disagree,
}

impl Field {
    /// Every field, in the order of explanations and of the model.
    pub const ALL: [Field; 10] = [
        Field::Email,
        Field::Phone,
        Field::FirstName,
        Field::LastName,
        Field::Company,
        Field::Domain,
        Field::Country,
        Field::PostalCode,
        Field::Street,
        Field::DateOfBirth,
    ];

    /// Its name in explanations.
    pub fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Phone => "phone",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Company => "company",
            Field::Domain => "domain",
            Field::Country => "country",
            Field::PostalCode => "postal_code",
            Field::Street => "street",
            Field::DateOfBirth => "date_of_birth",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The levels this field can compare at, best first; `Disagree` is always last.
    pub fn levels(self) -> &'static [Level] {
        use Level::*;
        match self {
            Field::Email | Field::Phone | Field::Domain | Field::Country => &[Exact, Disagree],
            Field::FirstName | Field::LastName => {
                &[Exact, Close, Phonetic, Nickname, Initial, Swapped, Disagree]
            }
            Field::Company | Field::PostalCode => &[Exact, Close, Disagree],
            Field::Street => &[Exact, Close, NoNumber, NumberDiffers, Elsewhere, Disagree],
            Field::DateOfBirth => &[Exact, DayMonthSwapped, Close, Disagree],
        }
    }

    /// Fields whose exact agreement is weighed by how common the value is: a shared
    /// "Smith" says less than a shared rare surname.
    pub fn uses_term_frequency(self) -> bool {
        matches!(
            self,
            Field::FirstName | Field::LastName | Field::Company | Field::PostalCode
        )
    }
}

impl Level {
    /// The coarse outcome shown beside the level.
    pub fn outcome(self) -> super::ComparisonOutcome {
        match self {
            Level::Exact => super::ComparisonOutcome::Agree,
            // Another house number is another dwelling.
            Level::Disagree | Level::NumberDiffers => super::ComparisonOutcome::Disagree,
            _ => super::ComparisonOutcome::Partial,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Exact => "exact",
            Level::Close => "close",
            Level::Phonetic => "phonetic",
            Level::Initial => "initial",
            Level::Nickname => "nickname",
            Level::Swapped => "swapped",
            Level::DayMonthSwapped => "day_month_swapped",
            Level::NoNumber => "no_number",
            Level::NumberDiffers => "number_differs",
            Level::Elsewhere => "elsewhere",
            Level::Disagree => "disagree",
        }
    }
}

/// Similarity from which names are close.
const NAME_CLOSE_JW: f64 = 0.92;
const COMPANY_CLOSE_JW: f64 = 0.90;
const STREET_CLOSE_JW: f64 = 0.88;
/// A name this common (share of records) is an established name of its own, not a typo.
const ESTABLISHED_SHARE: f64 = 0.0005;
const ESTABLISHED_MIN_COUNT: u64 = 3;
/// Two established names whose frequencies are within this ratio are two names
/// (Mark and Mary), not a name and its misspelling (Lisa and Lusa).
const DISTINCT_NAME_RATIO: f64 = 0.05;

/// One field's comparison: its level, the similarity where one was computed, and the
/// folded shared value for exact agreement on a term-frequency field.
pub(crate) struct Observed<'a> {
    pub field: Field,
    pub level: Level,
    pub similarity: Option<f64>,
    pub value: Option<&'a str>,
    /// First names at the nickname level that are each an established name of this
    /// database (Henry and Harry, Elizabeth and Betty): one person's two names, or two
    /// people's, which the names alone cannot tell.
    pub names_of_two: bool,
}

/// A record's values as the comparison reads them — names, company and city folded,
/// postcode characters, street parts, Soundex codes — worked out once per record
/// instead of once per pair (folding is most of a comparison's cost). An empty string
/// stands for a missing value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Folded {
    first: String,
    last: String,
    company: String,
    postal: String,
    city: String,
    street: Option<StreetParts>,
    first_code: Option<String>,
    last_code: Option<String>,
    /// How the names sound and how OCR reads them (see [`sound_skeleton`],
    /// [`ocr_skeleton`]).
    first_sound: String,
    last_sound: String,
    first_ocr: String,
    last_ocr: String,
}

impl Folded {
    pub fn of(r: &MatchRecord) -> Folded {
        let fold = |v: &Option<String>| present(v).map(super::text::folded).unwrap_or_default();
        let first = fold(&r.first_name);
        let last = fold(&r.last_name);
        Folded {
            first_code: surname_code(&first),
            last_code: surname_code(&last),
            first_sound: sound_skeleton(&first),
            last_sound: sound_skeleton(&last),
            first_ocr: ocr_skeleton(&first),
            last_ocr: ocr_skeleton(&last),
            first,
            last,
            company: fold(&r.company_key),
            postal: present(&r.postal_code)
                .map(|p| postal_chars(p).collect())
                .unwrap_or_default(),
            city: fold(&r.city),
            street: present(&r.street).map(street_parts),
        }
    }
}

/// The forms of one folded name the levels look at.
#[derive(Clone, Copy)]
struct Name<'a> {
    folded: &'a str,
    code: Option<&'a str>,
    sound: &'a str,
    ocr: &'a str,
}

impl Folded {
    fn first(&self) -> Name<'_> {
        Name {
            folded: &self.first,
            code: self.first_code.as_deref(),
            sound: &self.first_sound,
            ocr: &self.first_ocr,
        }
    }

    fn last(&self) -> Name<'_> {
        Name {
            folded: &self.last,
            code: self.last_code.as_deref(),
            sound: &self.last_sound,
            ocr: &self.last_ocr,
        }
    }
}

/// A record made ready to be compared with many others (see [`Folded`]): what the
/// capture pipeline keeps for its candidates. Serialisable so that a cache can keep it
/// packed into one buffer (deserialise only what was serialised: the folded forms are
/// not checked against the record).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparable {
    record: MatchRecord,
    folded: Folded,
}

impl Comparable {
    pub fn new(record: MatchRecord) -> Comparable {
        let folded = Folded::of(&record);
        Comparable { record, folded }
    }

    pub fn record(&self) -> &MatchRecord {
        &self.record
    }
}

/// Something matching can compare: a plain [`MatchRecord`] (folded on the spot) or a
/// [`Comparable`] (folded once).
pub trait Comparand {
    fn view(&self) -> (&MatchRecord, Cow<'_, Folded>);
}

impl Comparand for MatchRecord {
    fn view(&self) -> (&MatchRecord, Cow<'_, Folded>) {
        (self, Cow::Owned(Folded::of(self)))
    }
}

impl Comparand for Comparable {
    fn view(&self) -> (&MatchRecord, Cow<'_, Folded>) {
        (&self.record, Cow::Borrowed(&self.folded))
    }
}

/// Term frequencies the comparison itself uses (to tell two established names from a
/// misspelling); `None` where the model has none.
#[derive(Clone, Copy, Default)]
pub(crate) struct NameFrequencies<'m> {
    pub first: Option<&'m TermFrequencies>,
    pub last: Option<&'m TermFrequencies>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locality {
    Same,
    Other,
    Unknown,
}

/// Compares two records field by field, calling `out` once per field both carry, in
/// [`Field::ALL`] order.
pub(crate) fn observe<'v>(
    (a, fa): (&MatchRecord, &'v Folded),
    (b, fb): (&MatchRecord, &'v Folded),
    freqs: NameFrequencies<'_>,
    out: &mut impl FnMut(Observed<'v>),
) {
    let exact = |field, same: bool| Observed {
        field,
        level: if same { Level::Exact } else { Level::Disagree },
        similarity: None,
        value: None,
        names_of_two: false,
    };
    if let (Some(x), Some(y)) = (present(&a.email_key), present(&b.email_key)) {
        out(exact(Field::Email, x.eq_ignore_ascii_case(y)));
    }
    if let (Some(x), Some(y)) = (present(&a.phone), present(&b.phone)) {
        out(exact(Field::Phone, x == y));
    }

    // Names: look for a swap before grading each.
    let (fa_first, fa_last, fb_first, fb_last) = (fa.first(), fa.last(), fb.first(), fb.last());
    let first = (!fa.first.is_empty() && !fb.first.is_empty())
        .then(|| name_level(fa_first, fb_first, true, freqs.first));
    let last = (!fa.last.is_empty() && !fb.last.is_empty())
        .then(|| name_level(fa_last, fb_last, false, freqs.last));
    let swapped = matches!(first, Some((Level::Disagree, _)))
        && swapped_names((fa_first, fa_last), (fb_first, fb_last), freqs.first);
    if let Some((level, sim)) = first {
        let level = if swapped { Level::Swapped } else { level };
        out(Observed {
            field: Field::FirstName,
            level,
            similarity: Some(sim),
            value: (level == Level::Exact).then_some(fa.first.as_str()),
            names_of_two: (level == Level::Nickname
                && established_pair(&fa.first, &fb.first, freqs.first))
                || (matches!(level, Level::Close | Level::Phonetic | Level::Nickname)
                    && gendered_forms(&fa.first, &fb.first)),
        });
    }
    if let Some((level, sim)) = last {
        let level = if swapped { Level::Swapped } else { level };
        out(Observed {
            field: Field::LastName,
            level,
            similarity: Some(sim),
            value: (level == Level::Exact).then_some(fa.last.as_str()),
            names_of_two: false,
        });
    }

    let (ca, cb) = (&fa.company, &fb.company);
    let mut company_agrees = false;
    if !ca.is_empty() && !cb.is_empty() {
        let (level, sim) = if ca == cb {
            (Level::Exact, 1.0)
        } else {
            let sim = jaro_winkler(ca, cb);
            let shorter = ca.chars().count().min(cb.chars().count());
            let one_slip = shorter >= 5 && edits_within(ca, cb, 1);
            let level = if sim >= COMPANY_CLOSE_JW || one_slip {
                Level::Close
            } else {
                Level::Disagree
            };
            (level, sim)
        };
        out(Observed {
            field: Field::Company,
            level,
            similarity: Some(sim),
            value: (level == Level::Exact).then_some(ca.as_str()),
            names_of_two: false,
        });
        company_agrees = level == Level::Exact;
    }
    // The web domain is the company's: when the company names agree it says nothing
    // more, and counting both counted one fact twice (namesakes at one company were
    // merged on it). It still speaks where the names are written differently.
    if let (Some(x), Some(y)) = (present(&a.domain), present(&b.domain)) {
        if !company_agrees {
            out(exact(Field::Domain, x.eq_ignore_ascii_case(y)));
        }
    }

    let countries = (present(&a.country), present(&b.country));
    let countries_differ = matches!(countries, (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y));
    if let (Some(x), Some(y)) = countries {
        out(exact(Field::Country, x.eq_ignore_ascii_case(y)));
    }
    let mut locality = if countries_differ {
        Locality::Other
    } else {
        Locality::Unknown
    };
    let (pa, pb) = (&fa.postal, &fb.postal);
    if present(&a.postal_code).is_some() && present(&b.postal_code).is_some() {
        if !pa.is_empty() && !pb.is_empty() {
            let level = if countries_differ {
                Level::Disagree
            } else {
                postal_level(pa, pb)
            };
            if !countries_differ {
                locality = if level == Level::Disagree {
                    Locality::Other
                } else {
                    Locality::Same
                };
            }
            out(Observed {
                field: Field::PostalCode,
                level,
                similarity: None,
                value: (level == Level::Exact).then_some(pa.as_str()),
                names_of_two: false,
            });
        }
    } else if !countries_differ && !fa.city.is_empty() && !fb.city.is_empty() {
        locality = if fa.city == fb.city || edits_within(&fa.city, &fb.city, 1) {
            Locality::Same
        } else {
            Locality::Other
        };
    }
    if let (Some(x), Some(y)) = (&fa.street, &fb.street) {
        if let Some((level, sim)) = street_level(x, y, locality) {
            out(Observed {
                field: Field::Street,
                level,
                similarity: Some(sim),
                value: None,
                names_of_two: false,
            });
        }
    }
    if let (Some(x), Some(y)) = (present(&a.date_of_birth), present(&b.date_of_birth)) {
        out(Observed {
            field: Field::DateOfBirth,
            level: dob_level(x, y),
            similarity: None,
            value: None,
            names_of_two: false,
        });
    }
}

/// Whether `a` and `b` are at most `k` edits apart (optimal string alignment: insert,
/// delete, substitute, swap two neighbours). Most pairs differ in length by more than
/// `k`, which settles it without the distance matrix; comparing a record with its
/// candidates asks this millions of times per import.
fn edits_within(a: &str, b: &str, k: usize) -> bool {
    if a.len().abs_diff(b.len()) > k * 4 {
        return false; // more characters apart than `k` edits can bridge, even in UTF-8
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    la.abs_diff(lb) <= k && {
        let within = osa::Args::default().score_cutoff(k);
        if a.is_ascii() && b.is_ascii() {
            osa::distance_with_args(a.bytes(), b.bytes(), &within).is_some()
        } else {
            osa::distance_with_args(a.chars(), b.chars(), &within).is_some()
        }
    }
}

/// Jaro–Winkler similarity (prefix weight 0.1, prefix bonus above 0.7), by
/// rapidfuzz's bit-parallel implementation: no allocation for short values, and bytes
/// instead of characters when both are ASCII.
fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        jw::similarity(a.bytes(), b.bytes())
    } else {
        jw::similarity(a.chars(), b.chars())
    }
}

/// Exact or close, for the swap test: a typo, an OCR misreading or another spelling.
fn near(a: Name<'_>, b: Name<'_>) -> bool {
    !a.folded.is_empty()
        && !b.folded.is_empty()
        && (a.folded == b.folded
            || typo_close(a.folded, b.folded)
            || a.sound == b.sound
            || a.ocr == b.ocr)
}

/// Whether the first and last names are swapped between the records: each cross pair
/// near (see [`near`]). A looser test (two slips, or an initial, on one pair) swapped
/// the names of household members (Harry and Henry James) too often.
///
/// A first name that lands on another established first name is no swap but another
/// person: "Rodriguez Mark" is not "Mary Rodriguez" reversed.
fn swapped_names(
    (a_first, a_last): (Name<'_>, Name<'_>),
    (b_first, b_last): (Name<'_>, Name<'_>),
    first_names: Option<&TermFrequencies>,
) -> bool {
    let two_first_names = |x: Name<'_>, y: Name<'_>| {
        x.folded != y.folded && established_pair(x.folded, y.folded, first_names)
    };
    near(a_first, b_last)
        && near(a_last, b_first)
        && !two_first_names(a_first, b_last)
        && !two_first_names(a_last, b_first)
}

/// One side is the other's initial ("j" and "john").
fn is_initial_of(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.chars().count() == 1 && long.chars().count() > 1 && long.starts_with(short)
}

/// One slip apart: Damerau–Levenshtein 1 for names of three letters or more, 2 for
/// long ones.
fn typo_close(a: &str, b: &str) -> bool {
    let shorter = a.chars().count().min(b.chars().count());
    let allowed = if shorter >= 8 { 2 } else { 1 };
    shorter >= 3 && edits_within(a, b, allowed)
}

/// Grades two non-empty names.
fn name_level(
    na: Name<'_>,
    nb: Name<'_>,
    first: bool,
    tf: Option<&TermFrequencies>,
) -> (Level, f64) {
    let (a, b) = (na.folded, nb.folded);
    if a == b {
        return (Level::Exact, 1.0);
    }
    let sim = jaro_winkler(a, b);
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if is_initial_of(a, b) {
        return (Level::Initial, sim);
    }
    if first && is_nickname(a, b) {
        return (Level::Nickname, sim);
    }
    // Two names that are both established in this database are two names, however
    // few letters tell them apart or however alike they sound (Mark and Mary, Maria
    // and Mary, Michael and Michelle): a household has such pairs, a typo rarely
    // produces another common name.
    if established_pair(a, b, tf) {
        return (Level::Disagree, sim);
    }
    if sim >= NAME_CLOSE_JW || typo_close(a, b) {
        return (Level::Close, sim);
    }
    // An OCR misreading ("Morris" read "Morns"), perhaps with a slip besides.
    if na.ocr == nb.ocr
        || (na.ocr.chars().count().min(nb.ocr.chars().count()) >= 5 && typo_close(na.ocr, nb.ocr))
    {
        return (Level::Close, sim);
    }
    let sound_alike = na.code == nb.code && sim >= 0.75;
    let same_sound = na.sound == nb.sound
        || (na.sound.chars().count().min(nb.sound.chars().count()) >= 5
            && typo_close(na.sound, nb.sound));
    if sound_alike || same_sound {
        return (Level::Phonetic, sim);
    }
    // A double name against one of its parts ("Anna Maria" and "Anna").
    if long.split(' ').any(|part| part == short) {
        return (Level::Close, sim);
    }
    // A first name cut short ("Chris" and "Christophe", "Ash" and "Ashley"): the
    // short forms the nickname table does not list. Three letters more at least:
    // José and Josefa, Paul and Paula, Christian and Christiane are couples.
    if first
        && short.chars().count() >= 3
        && long.chars().count() >= short.chars().count() + 3
        && long.starts_with(short)
    {
        return (Level::Nickname, sim);
    }
    (Level::Disagree, sim)
}

/// Endings that make a woman's name of a man's ("Manuel" and "Manuela", "François"
/// and "Françoise", "Jean" and "Jeanne", "Daniel" and "Danielle", "José" and
/// "Josefa", "Paul" and "Pauline").
const FEMININE_ENDINGS: &[&str] = &["a", "e", "fa", "ne", "le", "ine", "ette"];

/// Whether two folded first names are a man's and a woman's form of one name: the
/// longer is the shorter with a feminine ending, or the two differ only in a final
/// "o" and "a" ("Antonio" and "Antonia"). A couple or a parent and child are often
/// called so; a slip rarely lands exactly there.
fn gendered_forms(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.chars().count() < 3 {
        return false;
    }
    if let Some(ending) = long.strip_prefix(short) {
        return FEMININE_ENDINGS.contains(&ending);
    }
    let stem = |s: &'_ str| -> Option<(String, char)> {
        let last = s.chars().last()?;
        Some((s.chars().take(s.chars().count() - 1).collect(), last))
    };
    match (stem(a), stem(b)) {
        (Some((sa, la)), Some((sb, lb))) => sa == sb && matches!((la, lb), ('o', 'a') | ('a', 'o')),
        _ => false,
    }
}

fn established_pair(a: &str, b: &str, tf: Option<&TermFrequencies>) -> bool {
    let Some(tf) = tf else { return false };
    let (Some(ca), Some(cb)) = (tf.count(a), tf.count(b)) else {
        return false;
    };
    let records = tf.records.max(1) as f64;
    let established =
        |c: u64| c >= ESTABLISHED_MIN_COUNT && c as f64 / records >= ESTABLISHED_SHARE;
    established(ca)
        && established(cb)
        && (ca.min(cb) as f64) / (ca.max(cb) as f64) >= DISTINCT_NAME_RATIO
}

fn postal_level(a: &str, b: &str) -> Level {
    if a == b {
        return Level::Exact;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let shorter = la.min(lb);
    // Same sector ("SW1A 1AA" and "SW1A 2BB", "10115" and "10117"), or one slip.
    if (common >= 3 && common + 3 >= shorter && la.max(lb) >= 5)
        || (la == lb && la >= 4 && edits_within(a, b, 1))
    {
        Level::Close
    } else {
        Level::Disagree
    }
}

fn street_level(pa: &StreetParts, pb: &StreetParts, locality: Locality) -> Option<(Level, f64)> {
    if pa.is_empty() || pb.is_empty() {
        return None;
    }
    let (level, sim) = match (pa.name.is_empty(), pb.name.is_empty()) {
        // Only house numbers: the same number says little, another one a lot.
        (true, true) => {
            if pa.number == pb.number {
                (Level::NoNumber, 1.0)
            } else {
                (Level::Disagree, 0.0)
            }
        }
        (false, false) => {
            let sim = if pa.name == pb.name {
                1.0
            } else {
                jaro_winkler(&pa.name, &pb.name)
            };
            let same_name = pa.name == pb.name;
            let close_name = same_name
                || sim >= STREET_CLOSE_JW
                || edits_within(&pa.name, &pb.name, 2) && pa.name.len().min(pb.name.len()) >= 6;
            let numbers_known = !pa.number.is_empty() && !pb.number.is_empty();
            let same_number = pa.number == pb.number;
            let level = if !close_name {
                Level::Disagree
            } else if numbers_known && !same_number && !number_slip(&pa.number, &pb.number) {
                Level::NumberDiffers
            } else if !numbers_known {
                Level::NoNumber
            } else if same_name && same_number {
                Level::Exact
            } else {
                Level::Close
            };
            (level, sim)
        }
        // A house number on one side, a street name on the other.
        _ => return None,
    };
    let level = match (level, locality) {
        (Level::Exact | Level::Close | Level::NoNumber, Locality::Other) => Level::Elsewhere,
        (level, _) => level,
    };
    Some((level, sim))
}

/// Whether two different house numbers are one number with a slip: misread by OCR
/// ("13O8" for "1308"), or one edit apart in a number of three characters or more
/// ("1038" for "1308"). Two short numbers a digit apart ("12", "14") are neighbours.
fn number_slip(a: &str, b: &str) -> bool {
    ocr_skeleton(a) == ocr_skeleton(b)
        || (a.chars().count().min(b.chars().count()) >= 3 && edits_within(a, b, 1))
}

fn dob_level(a: &str, b: &str) -> Level {
    if a == b {
        return Level::Exact;
    }
    let (x, y) = (a.as_bytes(), b.as_bytes());
    // YYYY-MM-DD with day and month swapped (US against European order).
    if x.len() == 10
        && y.len() == 10
        && x[..5] == y[..5]
        && x[5..7] == y[8..10]
        && x[8..10] == y[5..7]
    {
        return Level::DayMonthSwapped;
    }
    let differing = x.len() == y.len() && x.iter().zip(y).filter(|(p, q)| p != q).count() == 1;
    let transposed = x.len() == y.len() && edits_within(a, b, 1);
    if differing || transposed {
        Level::Close
    } else {
        Level::Disagree
    }
}

/// Common nickname pairs (folded). A nickname that is not listed still often scores
/// close or phonetic.
const NICKNAMES: &[(&str, &str)] = &[
    ("abby", "abigail"),
    ("al", "albert"),
    ("al", "alan"),
    ("alex", "alexander"),
    ("alex", "alexandra"),
    ("andy", "andrew"),
    ("ben", "benjamin"),
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
    ("don", "donald"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("fred", "frederick"),
    ("fritz", "friedrich"),
    ("greg", "gregory"),
    ("hank", "henry"),
    ("hans", "johannes"),
    ("harry", "henry"),
    ("jack", "john"),
    ("jake", "jacob"),
    ("jen", "jennifer"),
    ("jenny", "jennifer"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("joe", "joseph"),
    ("johnny", "john"),
    ("jon", "jonathan"),
    ("josh", "joshua"),
    ("kate", "katherine"),
    ("kathy", "katherine"),
    ("katie", "katherine"),
    ("ken", "kenneth"),
    ("larry", "lawrence"),
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
    ("pete", "peter"),
    ("rich", "richard"),
    ("rick", "richard"),
    ("rob", "robert"),
    ("ron", "ronald"),
    ("sam", "samantha"),
    ("sam", "samuel"),
    ("sandy", "sandra"),
    ("sepp", "josef"),
    ("steve", "stephen"),
    ("steve", "steven"),
    ("sue", "susan"),
    ("ted", "edward"),
    ("tim", "timothy"),
    ("tom", "thomas"),
    ("tony", "anthony"),
    ("vicky", "victoria"),
    ("will", "william"),
];

fn is_nickname(a: &str, b: &str) -> bool {
    NICKNAMES
        .iter()
        .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(first: &str, last: &str) -> MatchRecord {
        MatchRecord {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            ..Default::default()
        }
    }

    fn levels_of(a: &MatchRecord, b: &MatchRecord) -> Vec<(Field, Level)> {
        levels_with(a, b, NameFrequencies::default())
    }

    fn levels_with(
        a: &MatchRecord,
        b: &MatchRecord,
        freqs: NameFrequencies<'_>,
    ) -> Vec<(Field, Level)> {
        let mut out = Vec::new();
        let (fa, fb) = (Folded::of(a), Folded::of(b));
        observe((a, &fa), (b, &fb), freqs, &mut |o| {
            out.push((o.field, o.level))
        });
        out
    }

    fn first_level(x: &str, y: &str) -> Level {
        levels_of(&rec(x, "Doe"), &rec(y, "Doe"))[0].1
    }

    fn last_level(x: &str, y: &str) -> Level {
        levels_of(&rec("Ann", x), &rec("Ann", y))[1].1
    }

    /// Values the distance functions are checked against strsim on: typos, swaps,
    /// accents, non-Latin scripts, words and phrases.
    const ORACLE_WORDS: [&str; 32] = [
        "a",
        "ab",
        "ba",
        "abc",
        "acb",
        "lisa",
        "lusa",
        "mark",
        "mauk",
        "müller",
        "muller",
        "mueller",
        "jonhson",
        "johnson",
        "johnsons",
        "straße",
        "strasse",
        "東京",
        "東京都",
        "smith",
        "smyth",
        "katherine",
        "catherine",
        "kathrine",
        "high street",
        "high st",
        "northwind traders",
        "northwind trading",
        "dixon",
        "dicksonx",
        "ann",
        "anne",
    ];

    #[test]
    fn edits_within_agrees_with_the_full_distance() {
        let words: Vec<&str> = std::iter::once("").chain(ORACLE_WORDS).collect();
        for &a in &words {
            for &b in &words {
                let d = strsim::osa_distance(a, b);
                for k in 0..3 {
                    assert_eq!(edits_within(a, b, k), d <= k, "{a:?} {b:?} k={k}");
                }
            }
        }
    }

    #[test]
    fn jaro_winkler_agrees_with_strsim() {
        let words = ORACLE_WORDS;
        for a in words {
            for b in words {
                let (ours, oracle) = (jaro_winkler(a, b), strsim::jaro_winkler(a, b));
                assert!(
                    (ours - oracle).abs() < 1e-9,
                    "{a:?} {b:?}: {ours} vs {oracle}"
                );
            }
        }
    }

    #[test]
    fn levels_every_field_lists_disagree_last_and_exact_first() {
        for f in Field::ALL {
            let levels = f.levels();
            assert_eq!(levels.first(), Some(&Level::Exact), "{f:?}");
            assert_eq!(levels.last(), Some(&Level::Disagree), "{f:?}");
            assert_eq!(Field::ALL[f.index()], f);
        }
    }

    #[test]
    fn levels_first_names() {
        use Level::*;
        for (x, y, want) in [
            ("John", "john", Exact),
            ("Zoë", "Zoe", Exact),
            ("Lisa", "Lusa", Close),
            ("Mark", "Mauk", Close),
            ("Jon", "John", Close),
            ("Catherine", "Katherine", Close),
            ("Stephen", "Steven", Phonetic),
            ("J", "John", Initial),
            ("J.", "John", Initial),
            ("Bob", "Robert", Nickname),
            ("Liz", "Elizabeth", Nickname),
            ("Anna Maria", "Anna", Close),
            ("Mary", "Peter", Disagree),
            ("Ann", "Bob", Disagree),
        ] {
            assert_eq!(first_level(x, y), want, "{x}/{y}");
            assert_eq!(first_level(y, x), want, "{y}/{x} (symmetric)");
        }
    }

    #[test]
    fn levels_last_names() {
        use Level::*;
        for (x, y, want) in [
            ("Smith", "SMITH", Exact),
            ("Müller", "Muller", Exact),
            ("Smith", "Smyth", Close),
            ("Johnson", "Jonhson", Close),
            ("Schwarzenegger", "Schwarzeneger", Close),
            ("Meyer", "Maier", Phonetic),
            ("Smith", "Nguyen", Disagree),
        ] {
            assert_eq!(last_level(x, y), want, "{x}/{y}");
        }
    }

    #[test]
    fn levels_ocr_misreadings_and_other_spellings() {
        use Level::*;
        for (x, y, want) in [
            // OCR: "rr"/"rn", "ri"/"n", "cl"/"d".
            ("Morris", "Morns", Close),
            ("Mitchell", "Mitchcll", Close),
            ("Karin", "Kann", Close),
            ("Claude", "Daude", Close),
            // Spellings that sound alike but start differently (Soundex misses them).
            ("Olivia", "Eaulivia", Phonetic),
            ("Phillips", "Fillips", Phonetic),
            ("Johnson", "Johnsen", Close),
            ("Mueller", "Müller", Close),
            ("Schmidt", "Shmit", Phonetic),
            // Still different names.
            ("Morris", "Norton", Disagree),
            ("Olivia", "Amelia", Disagree),
        ] {
            assert_eq!(last_level(x, y), want, "{x}/{y}");
            assert_eq!(last_level(y, x), want, "{y}/{x} (symmetric)");
        }
        // A first name cut short is a nickname; a surname cut short is not.
        assert_eq!(first_level("Ash", "Ashley"), Level::Nickname);
        assert_eq!(first_level("Christophe", "Chris"), Level::Nickname);
        assert_eq!(last_level("Ash", "Ashley"), Level::Disagree);
        assert_eq!(first_level("Al", "Alfred"), Level::Disagree);
        // Three letters more at least: a name and its feminine form are two people.
        assert_eq!(first_level("Tom", "Tomas"), Level::Disagree);
        assert_eq!(first_level("Dan", "Daniela"), Level::Nickname);
    }

    #[test]
    fn levels_swaps_with_another_spelling_but_not_loose_ones() {
        let l = levels_of(&rec("Peters", "Pieter"), &rec("Pieter", "Peeters"));
        assert_eq!(l[0].1, Level::Swapped);
        // An OCR misreading on one side.
        let l = levels_of(&rec("Morns", "Anna"), &rec("Anna", "Morris"));
        assert_eq!(l[0].1, Level::Swapped);
        assert_eq!(levels_of(&rec("Anna", "Morris"), &rec("Morns", "Anna")), l);
        // Two slips, or an initial, on one cross pair: two people (Harry and Henry James).
        for (a, b) in [
            (rec("James", "Harry"), rec("Henry", "James")),
            (rec("C.", "Garcia"), rec("Garcia", "Carol")),
        ] {
            assert_ne!(levels_of(&a, &b)[0].1, Level::Swapped, "{a:?} {b:?}");
        }
    }

    #[test]
    fn levels_swapped_first_and_last_names() {
        let l = levels_of(&rec("Smith", "John"), &rec("John", "Smith"));
        assert_eq!(
            l,
            vec![
                (Field::FirstName, Level::Swapped),
                (Field::LastName, Level::Swapped)
            ]
        );
        // With a typo on one side too.
        let l = levels_of(&rec("Smiht", "John"), &rec("John", "Smith"));
        assert_eq!(l[0].1, Level::Swapped);
        // Same first name is never a swap.
        let l = levels_of(&rec("John", "John"), &rec("John", "Smith"));
        assert_eq!(l[0].1, Level::Exact);
    }

    #[test]
    fn levels_established_names_are_two_people_but_typos_are_not() {
        let mut tf = TermFrequencies::new(Field::FirstName, 10_000);
        tf.values.insert("mark".into(), 120);
        tf.values.insert("mary".into(), 150);
        tf.values.insert("lisa".into(), 90);
        tf.values.insert("lusa".into(), 1);
        tf.values.insert("jon".into(), 20);
        tf.values.insert("john".into(), 200);
        let freqs = NameFrequencies {
            first: Some(&tf),
            last: None,
        };
        let lvl = |x: &str, y: &str| levels_with(&rec(x, "Doe"), &rec(y, "Doe"), freqs)[0].1;
        assert_eq!(lvl("Mark", "Mary"), Level::Disagree);
        assert_eq!(lvl("Lisa", "Lusa"), Level::Close);
        // Established both: two names even though they sound alike.
        assert_eq!(lvl("Jon", "John"), Level::Disagree);
        // Without frequencies a one-letter difference is a typo.
        assert_eq!(first_level("Mark", "Mary"), Level::Close);
        // A swap that lands one established first name on another is no swap.
        let swapped = |a: (&str, &str), b: (&str, &str)| {
            levels_with(&rec(a.0, a.1), &rec(b.0, b.1), freqs)[0].1 == Level::Swapped
        };
        assert!(swapped(("Rodriguez", "Mary"), ("Mary", "Rodriguez")));
        assert!(swapped(("Rodriguez", "Lusa"), ("Lisa", "Rodriguez")));
        assert!(!swapped(("Rodriguez", "Mark"), ("Mary", "Rodriguez")));
        // Without frequencies Mark and Mary are a slip, so the swap stands.
        let plain = levels_of(&rec("Rodriguez", "Mark"), &rec("Mary", "Rodriguez"));
        assert_eq!(plain[0].1, Level::Swapped);
    }

    #[test]
    fn levels_nicknames_that_are_names_of_their_own_are_marked() {
        let mut tf = TermFrequencies::new(Field::FirstName, 10_000);
        tf.values.insert("henry".into(), 80);
        tf.values.insert("harry".into(), 60);
        tf.values.insert("robert".into(), 200);
        tf.values.insert("bob".into(), 2);
        let freqs = NameFrequencies {
            first: Some(&tf),
            last: None,
        };
        let first = |x: &str, y: &str| {
            let (a, b) = (rec(x, "Doe"), rec(y, "Doe"));
            let (fa, fb) = (Folded::of(&a), Folded::of(&b));
            let mut seen = None;
            observe((&a, &fa), (&b, &fb), freqs, &mut |o| {
                if o.field == Field::FirstName {
                    seen = Some((o.level, o.names_of_two));
                }
            });
            seen.unwrap()
        };
        // Both common here: Henry and Harry may be two people of one household.
        assert_eq!(first("Henry", "Harry"), (Level::Nickname, true));
        // Bob is rare here: Robert's nickname, not a name of its own.
        assert_eq!(first("Robert", "Bob"), (Level::Nickname, false));
        assert_eq!(first("Henry", "Henry"), (Level::Exact, false));
        // A man's and a woman's form of one name, whatever the frequencies.
        for (x, y) in [
            ("Manuel", "Manuela"),
            ("José", "Josefa"),
            ("François", "Françoise"),
            ("Jean", "Jeanne"),
            ("Antonio", "Antonia"),
        ] {
            assert!(first(x, y).1, "{x} {y}: {:?}", first(x, y));
        }
        // Slips elsewhere in the name are not.
        for (x, y) in [
            ("Manuel", "Manuek"),
            ("Antonio", "Antonoi"),
            ("Jean", "Joan"),
        ] {
            assert!(!first(x, y).1, "{x} {y}: {:?}", first(x, y));
        }
    }

    fn addr(street: &str, postal: Option<&str>, city: Option<&str>) -> MatchRecord {
        MatchRecord {
            street: Some(street.into()),
            postal_code: postal.map(Into::into),
            city: city.map(Into::into),
            ..Default::default()
        }
    }

    fn street_of(a: &MatchRecord, b: &MatchRecord) -> Option<Level> {
        levels_of(a, b)
            .into_iter()
            .find(|(f, _)| *f == Field::Street)
            .map(|(_, l)| l)
    }

    #[test]
    fn levels_streets() {
        use Level::*;
        let pc = Some("10115");
        for (x, y, want) in [
            ("12 High Street", "12 high st", Some(Exact)),
            ("Hauptstraße 5", "Hauptstr. 5", Some(Exact)),
            ("12 High Street", "12 Hihg Street", Some(Close)),
            ("High Street", "12 High Street", Some(NoNumber)),
            ("12 High Street", "14 High Street", Some(NumberDiffers)),
            ("1308 Park Avenue", "13O8 Park Avenue", Some(Close)),
            ("1308 Park Avenue", "1038 Park Avenue", Some(Close)),
            ("1308 Park Avenue", "130 Park Avenue", Some(Close)),
            ("1308 Park Avenue", "1297 Park Avenue", Some(NumberDiffers)),
            ("Gran Vía, 2379", "Gran Vía, 81", Some(NumberDiffers)),
            ("12 High Street", "12 Church Road", Some(Disagree)),
            ("12", "12", Some(NoNumber)),
            ("12", "High Street", None),
            ("2162 rue du Faubourg", "2162 r. du Faubourg", Some(Exact)),
            ("77 chemin des Vignes", "77 ch. des Vignes", Some(Exact)),
            ("Calle Sierpes, 9", "C/ Sierpes, 9", Some(Exact)),
            ("Königsallee 60", "Königsal. 60", Some(Exact)),
            ("Oudegracht 108", "Oudegr. 108", Some(Exact)),
            ("Avenida de Mayo 5", "Avda. de Mayo 5", Some(Exact)),
            ("Bahnhofweg 3", "Bahnhofwg. 3", Some(Exact)),
        ] {
            assert_eq!(
                street_of(&addr(x, pc, None), &addr(y, pc, None)),
                want,
                "{x}/{y}"
            );
        }
        // Another postcode or town: the same street elsewhere.
        assert_eq!(
            street_of(
                &addr("12 High Street", Some("SW1A 1AA"), None),
                &addr("12 High Street", Some("M1 1AE"), None)
            ),
            Some(Elsewhere)
        );
        assert_eq!(
            street_of(
                &addr("12 High Street", None, Some("Leeds")),
                &addr("12 High Street", None, Some("York"))
            ),
            Some(Elsewhere)
        );
        // Unknown locality keeps the level.
        assert_eq!(
            street_of(
                &addr("12 High Street", None, None),
                &addr("12 High Street", None, None)
            ),
            Some(Exact)
        );
    }

    #[test]
    fn levels_postal_codes() {
        use Level::*;
        for (x, y, want) in [
            ("SW1A 1AA", "sw1a1aa", Exact),
            ("SW1A 1AA", "SW1A 2BB", Close),
            ("10115", "10117", Close),
            ("10115", "10151", Close),
            ("10115", "80331", Disagree),
            ("SW1A 1AA", "M1 1AE", Disagree),
        ] {
            let a = MatchRecord {
                postal_code: Some(x.into()),
                ..Default::default()
            };
            let b = MatchRecord {
                postal_code: Some(y.into()),
                ..Default::default()
            };
            assert_eq!(
                levels_of(&a, &b),
                vec![(Field::PostalCode, want)],
                "{x}/{y}"
            );
        }
    }

    #[test]
    fn levels_dates_of_birth() {
        use Level::*;
        for (x, y, want) in [
            ("1980-04-12", "1980-04-12", Exact),
            ("1980-04-12", "1980-12-04", DayMonthSwapped),
            ("1980-04-12", "1980-04-13", Close),
            ("1980-04-12", "1908-04-12", Close),
            ("1980-04-12", "1981-05-12", Disagree),
            ("1980-04-12", "1975-10-30", Disagree),
        ] {
            let a = MatchRecord {
                date_of_birth: Some(x.into()),
                ..Default::default()
            };
            let b = MatchRecord {
                date_of_birth: Some(y.into()),
                ..Default::default()
            };
            assert_eq!(
                levels_of(&a, &b),
                vec![(Field::DateOfBirth, want)],
                "{x}/{y}"
            );
        }
    }

    #[test]
    fn levels_countries_and_companies() {
        let a = MatchRecord {
            company_key: Some("Contoso".into()),
            country: Some("DE".into()),
            ..Default::default()
        };
        let mut b = a.clone();
        assert_eq!(
            levels_of(&a, &b),
            vec![
                (Field::Company, Level::Exact),
                (Field::Country, Level::Exact)
            ]
        );
        b.company_key = Some("Fabrikam".into());
        b.country = Some("fr".into());
        assert_eq!(
            levels_of(&a, &b),
            vec![
                (Field::Company, Level::Disagree),
                (Field::Country, Level::Disagree)
            ]
        );
        b.company_key = Some("Contosa".into());
        assert_eq!(levels_of(&a, &b)[0], (Field::Company, Level::Close));
    }
}
