//! Shared qualification questions, their answers and the lead's horizon.
//!
//! Every rep asks the same questions (DESIGN.md §1 "one process for everyone"), so the
//! questions are a fixed, closed set ([`QuestionKey`]); lifecycle playbooks name the ones
//! a lead must have answered before it may enter a stage.
//!
//! Answers have one flat text form, used in JSON, storage and rule facts alike:
//!
//! | answer | text |
//! |---|---|
//! | yes / no / not known yet | `yes`, `no`, `unknown` |
//! | timeframe: deciding now | `now` |
//! | timeframe: within N months | `N_months` (`3_months`; `1_month`, `within_3_months` and `3 months` are read too) |
//! | timeframe: decides by a date | `YYYY-MM-DD` (`2027-03-01`) |
//! | timeframe: no plans to buy | `no_plans` |
//!
//! A flat string keeps answer maps readable (`{"need":"yes","timeframe":"3_months"}`)
//! and lets scoring and routing conditions compare `answers.timeframe` with plain text.
//!
//! The **horizon** says whether a lead decides soon (short-range: work it now) or months
//! away (long-range: handle with care, nurture). It is derived from the timeframe answer
//! and a rep may override it ([`HorizonSetting`]).

mod free_text;

pub use free_text::ReadAnswer;

use crate::conditions::Facts;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use time::macros::format_description;
use time::Date;

/// One of the shared qualification questions.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKey {
    /// Can they pay our price?
    CapacityToBuy,
    /// Can this person make (or sign off) the decision?
    Authority,
    /// Do they need what we offer?
    Need,
    /// When will they decide? Answered with a [`Timeframe`].
    Timeframe,
    /// Are they selecting a supplier now?
    SupplierSelection,
    /// Did they ask to be contacted? A yes makes the lead sales-ready.
    AskedToBeContacted,
}

impl QuestionKey {
    /// Every question, in the order a rep usually asks them.
    pub const ALL: [QuestionKey; 6] = [
        QuestionKey::CapacityToBuy,
        QuestionKey::Authority,
        QuestionKey::Need,
        QuestionKey::Timeframe,
        QuestionKey::SupplierSelection,
        QuestionKey::AskedToBeContacted,
    ];

    /// The stable key used in JSON, configuration and the `answers.<key>` facts.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKey::CapacityToBuy => "capacity_to_buy",
            QuestionKey::Authority => "authority",
            QuestionKey::Need => "need",
            QuestionKey::Timeframe => "timeframe",
            QuestionKey::SupplierSelection => "supplier_selection",
            QuestionKey::AskedToBeContacted => "asked_to_be_contacted",
        }
    }

    /// The question in the trade's own words, for the UI and error messages.
    pub fn label(self) -> &'static str {
        match self {
            QuestionKey::CapacityToBuy => "Capacity to buy at our price",
            QuestionKey::Authority => "Authority to decide",
            QuestionKey::Need => "Need for what we offer",
            QuestionKey::Timeframe => "Timeframe to buy",
            QuestionKey::SupplierSelection => "Selecting a supplier now",
            QuestionKey::AskedToBeContacted => "Asked to be contacted",
        }
    }

    /// Whether `answer` is a sensible answer to this question: the timeframe takes a
    /// [`Timeframe`] (or `unknown`), every other question takes yes / no / unknown.
    pub fn accepts(self, answer: &Answer) -> bool {
        match (self, answer) {
            (_, Answer::Unknown) => true,
            (QuestionKey::Timeframe, a) => matches!(a, Answer::Timeframe(_)),
            (_, a) => matches!(a, Answer::Yes | Answer::No),
        }
    }

    fn expected_answers(self) -> &'static str {
        match self {
            QuestionKey::Timeframe => "now, N_months, a date (YYYY-MM-DD), no_plans or unknown",
            _ => "yes, no or unknown",
        }
    }
}

impl fmt::Display for QuestionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A question key that is not one of [`QuestionKey::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown qualification question {0:?}; expected one of capacity_to_buy, authority, need, timeframe, supplier_selection, asked_to_be_contacted")]
pub struct UnknownQuestion(pub String);

impl FromStr for QuestionKey {
    type Err = UnknownQuestion;
    /// Accepts the key in any case, with spaces or dashes for underscores.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        QuestionKey::ALL
            .into_iter()
            .find(|q| q.as_str() == wanted)
            .ok_or_else(|| UnknownQuestion(s.to_string()))
    }
}

/// When the lead expects to decide. Serialised in the flat text form (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub enum Timeframe {
    /// Deciding now.
    Now,
    /// Deciding within this many months (`0` is read as now).
    WithinMonths(u8),
    /// Deciding by this date.
    Date(Date),
    /// No plans to buy.
    NoPlans,
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timeframe::Now | Timeframe::WithinMonths(0) => f.write_str("now"),
            Timeframe::WithinMonths(n) => write!(f, "{n}_months"),
            Timeframe::Date(d) => write!(
                f,
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            ),
            Timeframe::NoPlans => f.write_str("no_plans"),
        }
    }
}

impl FromStr for Timeframe {
    type Err = AnswerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || AnswerError::UnknownAnswer(s.to_string());
        let t = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match t.as_str() {
            "now" => return Ok(Timeframe::Now),
            "no_plans" => return Ok(Timeframe::NoPlans),
            _ => {}
        }
        let months = t.strip_prefix("within_").unwrap_or(&t);
        if let Some(n) = months
            .strip_suffix("_months")
            .or_else(|| months.strip_suffix("_month"))
        {
            return match n.parse::<u8>() {
                Ok(0) => Ok(Timeframe::Now),
                Ok(n) => Ok(Timeframe::WithinMonths(n)),
                Err(_) => Err(unknown()),
            };
        }
        Date::parse(s.trim(), format_description!("[year]-[month]-[day]"))
            .map(Timeframe::Date)
            .map_err(|_| unknown())
    }
}

impl From<Timeframe> for String {
    fn from(t: Timeframe) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for Timeframe {
    type Error = AnswerError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// An answer to one qualification question. Serialised in the flat text form (see
/// module docs): `"yes"`, `"no"`, `"unknown"`, or a timeframe text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub enum Answer {
    /// The lead said yes.
    Yes,
    /// The lead said no.
    No,
    /// Asked, but the lead could not or would not say. Does not count as answered.
    Unknown,
    /// The answer to [`QuestionKey::Timeframe`].
    Timeframe(Timeframe),
}

/// Alias kept for readers who think of the stored value rather than the act of answering.
pub type AnswerValue = Answer;

impl Answer {
    /// Parses `text` as an answer to `question`, refusing answers that do not fit it
    /// (a timeframe for "need", "yes" for the timeframe).
    pub fn parse_for(question: QuestionKey, text: &str) -> Result<Answer, AnswerError> {
        let answer: Answer = text.parse()?;
        check_kind(question, &answer)?;
        Ok(answer)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Yes => f.write_str("yes"),
            Answer::No => f.write_str("no"),
            Answer::Unknown => f.write_str("unknown"),
            Answer::Timeframe(t) => t.fmt(f),
        }
    }
}

impl FromStr for Answer {
    type Err = AnswerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "yes" => Ok(Answer::Yes),
            "no" => Ok(Answer::No),
            "unknown" => Ok(Answer::Unknown),
            _ => s.parse().map(Answer::Timeframe),
        }
    }
}

impl From<Answer> for String {
    fn from(a: Answer) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for Answer {
    type Error = AnswerError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Why an answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("unknown answer {0:?}; expected yes, no, unknown, now, N_months (e.g. 3_months), a date (YYYY-MM-DD) or no_plans")]
    UnknownAnswer(String),
    #[error("question {question} takes {expected}, not {answer:?}")]
    WrongKind {
        question: QuestionKey,
        answer: String,
        expected: &'static str,
    },
}

fn check_kind(question: QuestionKey, answer: &Answer) -> Result<(), AnswerError> {
    if question.accepts(answer) {
        Ok(())
    } else {
        Err(AnswerError::WrongKind {
            question,
            answer: answer.to_string(),
            expected: question.expected_answers(),
        })
    }
}

/// A lead's answers, one per question. Serialised as a JSON object keyed by question
/// (`{"need":"yes","timeframe":"3_months"}`); every answer is checked against its
/// question when set or deserialised, so a stored map is always consistent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(
    try_from = "BTreeMap<QuestionKey, Answer>",
    into = "BTreeMap<QuestionKey, Answer>"
)]
pub struct Answers(BTreeMap<QuestionKey, Answer>);

impl Answers {
    /// No answers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds answers from pairs, refusing any answer that does not fit its question.
    pub fn try_from_pairs(
        pairs: impl IntoIterator<Item = (QuestionKey, Answer)>,
    ) -> Result<Self, AnswerError> {
        let mut answers = Answers::new();
        for (question, answer) in pairs {
            answers.set(question, answer)?;
        }
        Ok(answers)
    }

    /// Records an answer, returning the one it replaces.
    pub fn set(
        &mut self,
        question: QuestionKey,
        answer: Answer,
    ) -> Result<Option<Answer>, AnswerError> {
        check_kind(question, &answer)?;
        Ok(self.0.insert(question, answer))
    }

    /// Forgets an answer.
    pub fn remove(&mut self, question: QuestionKey) -> Option<Answer> {
        self.0.remove(&question)
    }

    /// The recorded answer, `unknown` included.
    pub fn get(&self, question: QuestionKey) -> Option<&Answer> {
        self.0.get(&question)
    }

    /// True when the question has a real answer: `unknown` or no answer does not count,
    /// because a playbook wants the lead to have actually told us.
    pub fn is_answered(&self, question: QuestionKey) -> bool {
        matches!(self.0.get(&question), Some(a) if *a != Answer::Unknown)
    }

    /// True when the answer is `yes`.
    pub fn is_yes(&self, question: QuestionKey) -> bool {
        self.0.get(&question) == Some(&Answer::Yes)
    }

    /// The timeframe answer, if one was given.
    pub fn timeframe(&self) -> Option<&Timeframe> {
        match self.0.get(&QuestionKey::Timeframe) {
            Some(Answer::Timeframe(t)) => Some(t),
            _ => None,
        }
    }

    /// The questions of `required` that are not answered yet, in the given order.
    pub fn missing(&self, required: &[QuestionKey]) -> Vec<QuestionKey> {
        required
            .iter()
            .copied()
            .filter(|q| !self.is_answered(*q))
            .collect()
    }

    /// All recorded answers in question order.
    pub fn iter(&self) -> impl Iterator<Item = (QuestionKey, &Answer)> {
        self.0.iter().map(|(q, a)| (*q, a))
    }

    /// The number of recorded answers (`unknown` included).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<BTreeMap<QuestionKey, Answer>> for Answers {
    type Error = AnswerError;
    fn try_from(map: BTreeMap<QuestionKey, Answer>) -> Result<Self, Self::Error> {
        Answers::try_from_pairs(map)
    }
}

impl From<Answers> for BTreeMap<QuestionKey, Answer> {
    fn from(a: Answers) -> Self {
        a.0
    }
}

/// Rule facts from answers: `answers.<question>` → `"yes"`, `"no"` or the timeframe text
/// (`"now"`, `"3_months"`, `"2027-03-01"`, `"no_plans"`). `unknown` answers are left
/// out, so `exists` on an answer fact means "answered", as in playbooks.
pub fn answers_to_facts(answers: &Answers) -> Facts {
    answers
        .iter()
        .filter(|(_, a)| **a != Answer::Unknown)
        .map(|(q, a)| {
            (
                format!("answers.{}", q.as_str()),
                Value::String(a.to_string()),
            )
        })
        .collect()
}

/// The explicit "contact me" signal: the lead asked to be contacted. Such a lead goes to
/// a rep even before its score reaches a sales-ready stage (issue 4, sales-ready split).
pub fn sales_ready_signal(answers: &Answers) -> bool {
    answers.is_yes(QuestionKey::AskedToBeContacted)
}

/// Whether the lead decides soon or months away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Horizon {
    /// Decides now or within the cut-off: work it now.
    ShortRange,
    /// Decision months away (or no plans): needs careful handling and nurturing.
    LongRange,
}

impl Horizon {
    /// The stable key, as used in the `horizon` rule fact.
    pub fn as_str(self) -> &'static str {
        match self {
            Horizon::ShortRange => "short_range",
            Horizon::LongRange => "long_range",
        }
    }
}

impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default short-range cut-off: 90 days. A quarter is the period sales teams forecast
/// and plan in, so a decision inside it belongs in this quarter's pipeline; "within 3
/// months" is the usual way a lead says "soon" and must land on the short side.
pub const DEFAULT_SHORT_RANGE_DAYS: u32 = 90;

/// Days counted per month when the timeframe is given in months. Using a fixed 30 keeps
/// "within 3 months" short-range under the 90-day default whatever today's month is.
pub const DAYS_PER_MONTH: u32 = 30;

/// The horizon for a timeframe with the default 90-day cut-off.
pub fn derive_horizon(timeframe: &Timeframe, today: Date) -> Horizon {
    derive_horizon_with_cutoff(timeframe, today, DEFAULT_SHORT_RANGE_DAYS)
}

/// The horizon for a timeframe: short-range when the decision is at most
/// `short_range_days` away (inclusive; a date already past counts as now), long-range
/// otherwise and when there are no plans. Months count as [`DAYS_PER_MONTH`] days.
pub fn derive_horizon_with_cutoff(
    timeframe: &Timeframe,
    today: Date,
    short_range_days: u32,
) -> Horizon {
    let days_away: i64 = match timeframe {
        Timeframe::Now => 0,
        Timeframe::WithinMonths(n) => i64::from(*n) * i64::from(DAYS_PER_MONTH),
        Timeframe::Date(d) => (*d - today).whole_days(),
        Timeframe::NoPlans => return Horizon::LongRange,
    };
    if days_away <= i64::from(short_range_days) {
        Horizon::ShortRange
    } else {
        Horizon::LongRange
    }
}

/// The horizon derived from the timeframe answer, if there is one (default cut-off).
pub fn horizon_from_answers(answers: &Answers, today: Date) -> Option<Horizon> {
    answers.timeframe().map(|t| derive_horizon(t, today))
}

/// A lead's horizon: the value derived from its answers plus an optional manual
/// override by a rep, who may know better than the form did.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct HorizonSetting {
    /// Derived from the timeframe answer; `None` until one is given.
    #[serde(default)]
    pub derived: Option<Horizon>,
    /// A rep's override, kept when answers change.
    #[serde(default)]
    pub manual: Option<Horizon>,
}

impl HorizonSetting {
    /// The horizon in force: the manual override wins over the derived value.
    pub fn effective(&self) -> Option<Horizon> {
        self.manual.or(self.derived)
    }

    /// True when a rep's override is in force.
    pub fn is_overridden(&self) -> bool {
        self.manual.is_some()
    }

    /// Re-derives from the answers (e.g. after a new timeframe answer), keeping any
    /// manual override.
    pub fn update_derived(&mut self, answers: &Answers, today: Date) {
        self.derived = horizon_from_answers(answers, today);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::{Condition, Operator};
    use serde_json::json;
    use time::macros::date;

    fn answers(pairs: &[(QuestionKey, Answer)]) -> Answers {
        Answers::try_from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn every_question_round_trips_through_key_parse_and_serde() {
        for q in QuestionKey::ALL {
            assert_eq!(q.as_str().parse::<QuestionKey>().unwrap(), q);
            assert_eq!(q.to_string(), q.as_str());
            let json = serde_json::to_value(q).unwrap();
            assert_eq!(json, json!(q.as_str()));
            assert_eq!(serde_json::from_value::<QuestionKey>(json).unwrap(), q);
        }
    }

    #[test]
    fn question_parsing_is_forgiving_and_errors_list_the_keys() {
        assert_eq!(
            "Capacity to buy".parse::<QuestionKey>().unwrap(),
            QuestionKey::CapacityToBuy
        );
        assert_eq!(
            " asked-to-be-contacted ".parse::<QuestionKey>().unwrap(),
            QuestionKey::AskedToBeContacted
        );
        let err = "budget".parse::<QuestionKey>().unwrap_err();
        assert_eq!(err, UnknownQuestion("budget".into()));
        let msg = err.to_string();
        assert!(msg.contains("\"budget\""), "{msg}");
        for q in QuestionKey::ALL {
            assert!(msg.contains(q.as_str()), "{msg} lacks {q}");
        }
    }

    #[test]
    fn labels_use_the_trade_wording_and_are_distinct() {
        assert_eq!(
            QuestionKey::CapacityToBuy.label(),
            "Capacity to buy at our price"
        );
        assert_eq!(QuestionKey::Authority.label(), "Authority to decide");
        assert_eq!(
            QuestionKey::AskedToBeContacted.label(),
            "Asked to be contacted"
        );
        let labels: std::collections::BTreeSet<_> =
            QuestionKey::ALL.iter().map(|q| q.label()).collect();
        assert_eq!(labels.len(), QuestionKey::ALL.len());
    }

    #[test]
    fn answers_parse_and_print_in_the_flat_text_form() {
        let cases = [
            ("yes", Answer::Yes, "yes"),
            ("YES", Answer::Yes, "yes"),
            (" no ", Answer::No, "no"),
            ("unknown", Answer::Unknown, "unknown"),
            ("now", Answer::Timeframe(Timeframe::Now), "now"),
            ("0_months", Answer::Timeframe(Timeframe::Now), "now"),
            (
                "3_months",
                Answer::Timeframe(Timeframe::WithinMonths(3)),
                "3_months",
            ),
            (
                "1_month",
                Answer::Timeframe(Timeframe::WithinMonths(1)),
                "1_months",
            ),
            (
                "within 6 months",
                Answer::Timeframe(Timeframe::WithinMonths(6)),
                "6_months",
            ),
            (
                "within-12-months",
                Answer::Timeframe(Timeframe::WithinMonths(12)),
                "12_months",
            ),
            (
                "2027-03-01",
                Answer::Timeframe(Timeframe::Date(date!(2027 - 03 - 01))),
                "2027-03-01",
            ),
            (
                "2028-02-29",
                Answer::Timeframe(Timeframe::Date(date!(2028 - 02 - 29))),
                "2028-02-29",
            ),
            (
                "No plans",
                Answer::Timeframe(Timeframe::NoPlans),
                "no_plans",
            ),
        ];
        for (text, answer, canonical) in cases {
            assert_eq!(text.parse::<Answer>(), Ok(answer), "{text}");
            assert_eq!(answer.to_string(), canonical, "{text}");
            assert_eq!(canonical.parse::<Answer>(), Ok(answer), "{canonical}");
        }
    }

    #[test]
    fn bad_answers_are_refused_with_the_accepted_forms() {
        for bad in [
            "",
            "maybe",
            "y",
            "2027-02-29",
            "2027-13-01",
            "-1_months",
            "300_months",
            "x_months",
            "01/03/2027",
        ] {
            let err = bad.parse::<Answer>().unwrap_err();
            assert_eq!(err, AnswerError::UnknownAnswer(bad.into()));
            assert!(err.to_string().contains("no_plans"), "{err}");
        }
    }

    #[test]
    fn answers_must_fit_their_question() {
        let cases = [
            (QuestionKey::Need, "yes", true),
            (QuestionKey::Need, "unknown", true),
            (QuestionKey::Need, "now", false),
            (QuestionKey::Need, "2027-01-01", false),
            (QuestionKey::Timeframe, "3_months", true),
            (QuestionKey::Timeframe, "no_plans", true),
            (QuestionKey::Timeframe, "unknown", true),
            (QuestionKey::Timeframe, "yes", false),
            (QuestionKey::Timeframe, "no", false),
            (QuestionKey::AskedToBeContacted, "no", true),
        ];
        for (q, text, ok) in cases {
            let result = Answer::parse_for(q, text);
            assert_eq!(result.is_ok(), ok, "{q} = {text}: {result:?}");
            let mut a = Answers::new();
            assert_eq!(a.set(q, text.parse().unwrap()).is_ok(), ok);
        }
        let err = Answer::parse_for(QuestionKey::Timeframe, "yes").unwrap_err();
        assert_eq!(
            err.to_string(),
            "question timeframe takes now, N_months, a date (YYYY-MM-DD), no_plans or unknown, not \"yes\""
        );
    }

    #[test]
    fn answer_maps_round_trip_through_json_and_refuse_mismatches() {
        let a = answers(&[
            (QuestionKey::Need, Answer::Yes),
            (
                QuestionKey::Timeframe,
                Answer::Timeframe(Timeframe::WithinMonths(3)),
            ),
            (QuestionKey::Authority, Answer::Unknown),
        ]);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            json,
            json!({"authority": "unknown", "need": "yes", "timeframe": "3_months"})
        );
        assert_eq!(serde_json::from_value::<Answers>(json).unwrap(), a);
        for bad in [
            json!({"need": "now"}),
            json!({"timeframe": "yes"}),
            json!({"budget": "yes"}),
            json!({"need": "perhaps"}),
            json!({"need": true}),
        ] {
            assert!(
                serde_json::from_value::<Answers>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_or_absent_answers_do_not_count_as_answered() {
        let mut a = answers(&[
            (QuestionKey::Need, Answer::No),
            (QuestionKey::Authority, Answer::Unknown),
            (
                QuestionKey::Timeframe,
                Answer::Timeframe(Timeframe::NoPlans),
            ),
        ]);
        assert!(a.is_answered(QuestionKey::Need));
        assert!(a.is_answered(QuestionKey::Timeframe));
        assert!(!a.is_answered(QuestionKey::Authority));
        assert!(!a.is_answered(QuestionKey::CapacityToBuy));
        assert_eq!(
            a.missing(&QuestionKey::ALL),
            vec![
                QuestionKey::CapacityToBuy,
                QuestionKey::Authority,
                QuestionKey::SupplierSelection,
                QuestionKey::AskedToBeContacted
            ]
        );
        assert_eq!(a.timeframe(), Some(&Timeframe::NoPlans));
        assert_eq!(a.len(), 3);
        assert_eq!(a.set(QuestionKey::Need, Answer::Yes), Ok(Some(Answer::No)));
        assert!(a.is_yes(QuestionKey::Need));
        assert_eq!(a.remove(QuestionKey::Need), Some(Answer::Yes));
        assert!(!a.is_answered(QuestionKey::Need));
        assert!(Answers::new().is_empty());
    }

    #[test]
    fn answers_become_rule_facts() {
        let a = answers(&[
            (QuestionKey::Need, Answer::Yes),
            (QuestionKey::Authority, Answer::No),
            (QuestionKey::CapacityToBuy, Answer::Unknown),
            (
                QuestionKey::Timeframe,
                Answer::Timeframe(Timeframe::Date(date!(2027 - 03 - 01))),
            ),
        ]);
        let facts = answers_to_facts(&a);
        let expected: Facts = [
            ("answers.authority", "no"),
            ("answers.need", "yes"),
            ("answers.timeframe", "2027-03-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
        assert_eq!(facts, expected);
        let needs = Condition {
            field: "answers.need".into(),
            op: Operator::Eq,
            value: json!("yes"),
        };
        assert!(needs.validate().is_ok());
        assert!(needs.matches(&facts));
        let capacity_known = Condition {
            field: "answers.capacity_to_buy".into(),
            op: Operator::Exists,
            value: Value::Null,
        };
        assert!(!capacity_known.matches(&facts));
        let soon = Condition {
            field: "answers.timeframe".into(),
            op: Operator::In,
            value: json!(["now", "1_months", "3_months"]),
        };
        let now = answers(&[(QuestionKey::Timeframe, Answer::Timeframe(Timeframe::Now))]);
        assert!(soon.matches(&answers_to_facts(&now)));
        assert!(!soon.matches(&facts));
    }

    #[test]
    fn only_an_explicit_yes_to_contact_is_a_sales_ready_signal() {
        let cases = [
            (None, false),
            (Some(Answer::Unknown), false),
            (Some(Answer::No), false),
            (Some(Answer::Yes), true),
        ];
        for (answer, expected) in cases {
            let mut a = answers(&[(QuestionKey::Need, Answer::Yes)]);
            if let Some(answer) = answer {
                a.set(QuestionKey::AskedToBeContacted, answer).unwrap();
            }
            assert_eq!(sales_ready_signal(&a), expected, "{answer:?}");
        }
    }

    #[test]
    fn horizon_follows_the_timeframe_with_an_inclusive_90_day_cut_off() {
        let today = date!(2027 - 01 - 01);
        let cases = [
            (Timeframe::Now, Horizon::ShortRange),
            (Timeframe::NoPlans, Horizon::LongRange),
            (Timeframe::WithinMonths(0), Horizon::ShortRange),
            (Timeframe::WithinMonths(1), Horizon::ShortRange),
            (Timeframe::WithinMonths(3), Horizon::ShortRange),
            (Timeframe::WithinMonths(4), Horizon::LongRange),
            (Timeframe::WithinMonths(255), Horizon::LongRange),
            (Timeframe::Date(today), Horizon::ShortRange),
            (Timeframe::Date(date!(2020 - 01 - 01)), Horizon::ShortRange),
            // 2027 is not a leap year: Jan 31 + Feb 28 + Mar 31 = 90 days to Apr 1.
            (Timeframe::Date(date!(2027 - 04 - 01)), Horizon::ShortRange),
            (Timeframe::Date(date!(2027 - 04 - 02)), Horizon::LongRange),
            (Timeframe::Date(date!(2030 - 01 - 01)), Horizon::LongRange),
        ];
        for (tf, expected) in cases {
            assert_eq!(derive_horizon(&tf, today), expected, "{tf}");
        }
    }

    #[test]
    fn horizon_counts_the_leap_day() {
        // 2028 is a leap year: Jan 31 + Feb 29 + Mar 30 = 90 days to Mar 31.
        let today = date!(2028 - 01 - 01);
        let cases = [
            (date!(2028 - 03 - 31), Horizon::ShortRange),
            (date!(2028 - 04 - 01), Horizon::LongRange),
        ];
        for (d, expected) in cases {
            assert_eq!(derive_horizon(&Timeframe::Date(d), today), expected, "{d}");
        }
        // Counting from the leap day itself.
        let leap_day = date!(2028 - 02 - 29);
        assert_eq!(
            derive_horizon(&Timeframe::Date(date!(2028 - 05 - 29)), leap_day),
            Horizon::ShortRange
        );
        assert_eq!(
            derive_horizon(&Timeframe::Date(date!(2028 - 05 - 30)), leap_day),
            Horizon::LongRange
        );
    }

    #[test]
    fn the_cut_off_is_configurable() {
        let today = date!(2027 - 06 - 15);
        let cases = [
            (Timeframe::WithinMonths(1), 30, Horizon::ShortRange),
            (Timeframe::WithinMonths(2), 30, Horizon::LongRange),
            (
                Timeframe::Date(date!(2027 - 07 - 15)),
                30,
                Horizon::ShortRange,
            ),
            (
                Timeframe::Date(date!(2027 - 07 - 16)),
                30,
                Horizon::LongRange,
            ),
            (Timeframe::Now, 0, Horizon::ShortRange),
            (
                Timeframe::Date(date!(2027 - 06 - 16)),
                0,
                Horizon::LongRange,
            ),
            (Timeframe::WithinMonths(6), 180, Horizon::ShortRange),
            (Timeframe::NoPlans, u32::MAX, Horizon::LongRange),
        ];
        for (tf, days, expected) in cases {
            assert_eq!(
                derive_horizon_with_cutoff(&tf, today, days),
                expected,
                "{tf} / {days}"
            );
        }
    }

    #[test]
    fn manual_horizon_wins_over_the_derived_one() {
        let cases = [
            (None, None, None),
            (Some(Horizon::LongRange), None, Some(Horizon::LongRange)),
            (None, Some(Horizon::ShortRange), Some(Horizon::ShortRange)),
            (
                Some(Horizon::LongRange),
                Some(Horizon::ShortRange),
                Some(Horizon::ShortRange),
            ),
        ];
        for (derived, manual, expected) in cases {
            let s = HorizonSetting { derived, manual };
            assert_eq!(s.effective(), expected, "{s:?}");
            assert_eq!(s.is_overridden(), manual.is_some());
        }
    }

    #[test]
    fn re_deriving_keeps_the_override() {
        let today = date!(2027 - 01 - 01);
        let mut s = HorizonSetting {
            derived: None,
            manual: Some(Horizon::ShortRange),
        };
        let a = answers(&[(
            QuestionKey::Timeframe,
            Answer::Timeframe(Timeframe::WithinMonths(9)),
        )]);
        s.update_derived(&a, today);
        assert_eq!(s.derived, Some(Horizon::LongRange));
        assert_eq!(s.effective(), Some(Horizon::ShortRange));
        s.manual = None;
        assert_eq!(s.effective(), Some(Horizon::LongRange));
        s.update_derived(&Answers::new(), today);
        assert_eq!(s.effective(), None);
        assert_eq!(horizon_from_answers(&a, today), Some(Horizon::LongRange));
    }

    #[test]
    fn horizon_types_round_trip_through_json() {
        for h in [Horizon::ShortRange, Horizon::LongRange] {
            let v = serde_json::to_value(h).unwrap();
            assert_eq!(v, json!(h.as_str()));
            assert_eq!(serde_json::from_value::<Horizon>(v).unwrap(), h);
        }
        let s = HorizonSetting {
            derived: Some(Horizon::LongRange),
            manual: Some(Horizon::ShortRange),
        };
        let v = serde_json::to_value(s).unwrap();
        assert_eq!(v, json!({"derived": "long_range", "manual": "short_range"}));
        assert_eq!(serde_json::from_value::<HorizonSetting>(v).unwrap(), s);
        assert_eq!(
            serde_json::from_value::<HorizonSetting>(json!({})).unwrap(),
            HorizonSetting::default()
        );
        assert!(serde_json::from_value::<HorizonSetting>(json!({"auto": "x"})).is_err());
        for tf in [
            Timeframe::Now,
            Timeframe::WithinMonths(18),
            Timeframe::Date(date!(2031 - 12 - 31)),
            Timeframe::NoPlans,
        ] {
            let v = serde_json::to_value(tf).unwrap();
            assert_eq!(v, json!(tf.to_string()));
            assert_eq!(serde_json::from_value::<Timeframe>(v).unwrap(), tf);
        }
    }
}
