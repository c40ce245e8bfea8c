//! The one configurable lead lifecycle (DESIGN.md §2).
//!
//! A [`Lifecycle`] is a list of stages, the moves allowed between them and the reasons a
//! rep may give for disqualifying a lead. Every stage maps onto the three ladders the
//! trade uses — the TOFU/MOFU/BOFU funnel, the name/target/suspect/prospect ladder and
//! qualification levels 1–6 — so each team can read the lifecycle in its own
//! [`Vocabulary`]. A stage may carry a *playbook*: the qualification questions a lead
//! must have answered before it may enter, so every rep follows the same process.
//!
//! The first stage is the entry stage where captured leads start. Configuration is plain
//! serde (TOML or JSON); call [`Lifecycle::validate`] after loading it.

use crate::qualification::{Answers, QuestionKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// What a stage means for the lead's journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Still being worked towards a sale.
    Open,
    /// The goal: an opportunity or customer.
    Won,
    /// Not ready now: keep in touch, educate, add value.
    Nurture,
    /// Not a lead for us; entering needs a reason.
    Disqualified,
}

impl StageKind {
    /// The stable key, as in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Open => "open",
            StageKind::Won => "won",
            StageKind::Nurture => "nurture",
            StageKind::Disqualified => "disqualified",
        }
    }
}

impl fmt::Display for StageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Marketing's funnel position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Funnel {
    /// Top of the funnel: first interest.
    Tofu,
    /// Middle of the funnel: repeated interest.
    Mofu,
    /// Bottom of the funnel: ready to talk to sales.
    Bofu,
}

impl Funnel {
    /// The abbreviation marketers use ("TOFU").
    pub fn label(self) -> &'static str {
        match self {
            Funnel::Tofu => "TOFU",
            Funnel::Mofu => "MOFU",
            Funnel::Bofu => "BOFU",
        }
    }
}

/// Sales' ladder from a bare name to a prospect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ladder {
    /// A name and contact details, nothing more.
    Name,
    /// Fits the profile we sell to.
    Target,
    /// Shows interest but is not qualified.
    Suspect,
    /// Qualified: fits, can buy, wants to be contacted.
    Prospect,
}

impl Ladder {
    /// The word sales people use.
    pub fn as_str(self) -> &'static str {
        match self {
            Ladder::Name => "name",
            Ladder::Target => "target",
            Ladder::Suspect => "suspect",
            Ladder::Prospect => "prospect",
        }
    }
}

/// Which words to describe a stage in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Vocabulary {
    /// The lifecycle's own stage labels.
    Stage,
    /// TOFU / MOFU / BOFU.
    Funnel,
    /// name / target / suspect / prospect.
    Ladder,
    /// Qualification level 1–6.
    QualificationLevel,
}

/// The lowest and highest qualification levels a stage may claim.
pub const QUALIFICATION_LEVELS: std::ops::RangeInclusive<u8> = 1..=6;

/// One stage of the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    /// Stable key (`sql`), stored on leads and used in transitions.
    pub key: String,
    /// What people see ("SQL").
    pub label: String,
    /// Open, won or a side state; decides reason and entry rules.
    pub kind: StageKind,
    /// Funnel position, if the stage has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funnel: Option<Funnel>,
    /// Sales-ladder rung, if the stage has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<Ladder>,
    /// Qualification level range `(min, max)`, each within 1..=6.
    pub qualification_level: (u8, u8),
    /// The playbook: question keys (see [`QuestionKey`]) that must be answered before a
    /// lead may enter this stage. Kept as text so validation can name a bad key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_answers: Vec<String>,
    /// Leads entering this stage go to a rep; the others stay with marketing/nurture.
    #[serde(default)]
    pub sales_ready: bool,
}

/// A reason a rep may give for disqualifying a lead; it tells marketing what its
/// sources really deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Stable key stored on the timeline event (`no_budget`).
    pub key: String,
    /// What the rep picks from ("No budget").
    pub label: String,
}

/// Stages, allowed moves and disqualify reasons. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// All stages; the first is the entry stage.
    pub stages: Vec<StageDef>,
    /// Allowed moves: stage key → the stage keys it may move to. A stage without an
    /// entry has no way out.
    #[serde(default)]
    pub transitions: BTreeMap<String, Vec<String>>,
    /// Reasons accepted when a lead is disqualified.
    pub disqualify_reasons: Vec<Reason>,
}

/// What a move is checked against: the lead's answers (for playbooks) and the reason
/// given (needed to disqualify).
#[derive(Debug, Clone, Copy)]
pub struct TransitionContext<'a> {
    /// The lead's qualification answers so far.
    pub answers: &'a Answers,
    /// The reason the actor gave, if any (a disqualify reason key).
    pub reason: Option<&'a str>,
}

/// A problem in a lifecycle configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the lifecycle has no stages")]
    NoStages,
    #[error("stage key {0:?} is invalid; use 1 to 64 lower-case letters, digits and underscores")]
    BadStageKey(String),
    #[error("stage {0:?} is defined more than once")]
    DuplicateStage(String),
    #[error("the first stage {stage:?} is where new leads enter, so it must be an open stage, not {kind}")]
    EntryNotOpen { stage: String, kind: StageKind },
    #[error("transition {from:?} -> {to:?} names unknown stage {unknown:?}")]
    UnknownStageInTransition {
        from: String,
        to: String,
        unknown: String,
    },
    #[error("stage {stage:?} cannot be reached from the entry stage {entry:?}; add a transition into it")]
    Unreachable { stage: String, entry: String },
    #[error("the lifecycle needs a stage of kind {0} (leads that are not ready or not a lead must have somewhere to go)")]
    MissingSideState(StageKind),
    #[error("stage {stage:?} has qualification level ({min}, {max}); levels run from 1 to 6 and min must not exceed max")]
    BadQualificationLevel { stage: String, min: u8, max: u8 },
    #[error("stage {stage:?} playbook requires unknown question {question:?}; expected one of capacity_to_buy, authority, need, timeframe, supplier_selection, asked_to_be_contacted")]
    UnknownQuestion { stage: String, question: String },
    #[error("the lifecycle needs at least one disqualify reason")]
    NoDisqualifyReasons,
    #[error("disqualify reason key {0:?} is invalid; use 1 to 64 lower-case letters, digits and underscores")]
    BadReasonKey(String),
    #[error("disqualify reason {0:?} is listed more than once")]
    DuplicateReason(String),
}

/// Why a lead may not make a move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("unknown stage {stage:?}; stages: {}", list(.known))]
    UnknownStage { stage: String, known: Vec<String> },
    #[error("the lead is already in stage {0}")]
    AlreadyInStage(String),
    #[error("cannot move from {from} to {to}; allowed: {}", list(.allowed))]
    NotAllowed {
        from: String,
        to: String,
        allowed: Vec<String>,
    },
    #[error("moving to {stage} needs a disqualify reason, one of: {}", list(.valid))]
    ReasonRequired { stage: String, valid: Vec<String> },
    #[error("unknown disqualify reason {reason:?}; one of: {}", list(.valid))]
    UnknownReason { reason: String, valid: Vec<String> },
    #[error("cannot enter {stage} until these questions are answered: {}", questions(.missing))]
    MissingAnswers { stage: String, missing: Vec<String> },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn questions(keys: &[String]) -> String {
    keys.iter()
        .map(|k| match k.parse::<QuestionKey>() {
            Ok(q) => format!("{} ({})", q.as_str(), q.label()),
            Err(_) => k.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[allow(clippy::too_many_arguments)]
fn stage(
    key: &str,
    label: &str,
    kind: StageKind,
    funnel: Option<Funnel>,
    ladder: Option<Ladder>,
    qualification_level: (u8, u8),
    required_answers: &[QuestionKey],
    sales_ready: bool,
) -> StageDef {
    StageDef {
        key: key.to_string(),
        label: label.to_string(),
        kind,
        funnel,
        ladder,
        qualification_level,
        required_answers: required_answers
            .iter()
            .map(|q| q.as_str().to_string())
            .collect(),
        sales_ready,
    }
}

impl Default for Lifecycle {
    /// The DESIGN.md §2 table. Open stages move forward along the ladder (any later open
    /// stage up to `meeting`, since a score or a "call me" form may skip rungs); every
    /// open stage may go to `nurture` or `disqualified`; `meeting` converts; nurtured
    /// leads re-engage at `engaged`, `mql` or `sql` (or are disqualified); a disqualified
    /// lead may be reopened as `new`; nothing leaves `converted`.
    ///
    /// Playbook: entering `sql` needs `need` and `asked_to_be_contacted` answered,
    /// entering `meeting` needs `authority` and `timeframe`. `sql` and `meeting` are
    /// sales-ready. The side states, absent from the table, are placed as: `nurture` a
    /// suspect at level 2 (interested, not ready), `disqualified` level 1.
    fn default() -> Self {
        use Funnel::*;
        use Ladder::*;
        use QuestionKey as Q;
        use StageKind::*;
        let stages = vec![
            stage("new", "New", Open, None, Some(Name), (1, 1), &[], false),
            stage(
                "target",
                "Target",
                Open,
                None,
                Some(Target),
                (1, 1),
                &[],
                false,
            ),
            stage(
                "engaged",
                "Engaged",
                Open,
                Some(Tofu),
                Some(Suspect),
                (2, 2),
                &[],
                false,
            ),
            stage(
                "mql",
                "MQL",
                Open,
                Some(Mofu),
                Some(Suspect),
                (2, 2),
                &[],
                false,
            ),
            stage(
                "sql",
                "SQL",
                Open,
                Some(Bofu),
                Some(Prospect),
                (3, 6),
                &[Q::Need, Q::AskedToBeContacted],
                true,
            ),
            stage(
                "meeting",
                "Meeting",
                Open,
                Some(Bofu),
                Some(Prospect),
                (3, 3),
                &[Q::Authority, Q::Timeframe],
                true,
            ),
            stage(
                "converted",
                "Converted",
                Won,
                None,
                None,
                (6, 6),
                &[],
                false,
            ),
            stage(
                "nurture",
                "Nurture",
                Nurture,
                None,
                Some(Suspect),
                (2, 2),
                &[],
                false,
            ),
            stage(
                "disqualified",
                "Disqualified",
                Disqualified,
                None,
                None,
                (1, 1),
                &[],
                false,
            ),
        ];
        let ladder = ["new", "target", "engaged", "mql", "sql", "meeting"];
        let mut transitions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, from) in ladder.iter().enumerate() {
            let mut to: Vec<String> = ladder[i + 1..].iter().map(|s| s.to_string()).collect();
            if *from == "meeting" {
                to.push("converted".into());
            }
            to.extend(["nurture".to_string(), "disqualified".to_string()]);
            transitions.insert(from.to_string(), to);
        }
        transitions.insert(
            "nurture".into(),
            ["engaged", "mql", "sql", "disqualified"]
                .map(String::from)
                .to_vec(),
        );
        transitions.insert("disqualified".into(), vec!["new".into()]);
        let disqualify_reasons = [
            ("not_a_lead", "Not a lead: just a name"),
            ("no_budget", "No budget"),
            ("not_decision_maker", "Not the decision maker"),
            ("no_need", "No need"),
            ("bought_elsewhere", "Bought elsewhere"),
            ("bad_contact_data", "Bad contact data"),
            ("duplicate", "Duplicate"),
            ("competitor", "Competitor"),
            ("spam", "Spam"),
        ]
        .into_iter()
        .map(|(key, label)| Reason {
            key: key.into(),
            label: label.into(),
        })
        .collect();
        Lifecycle {
            stages,
            transitions,
            disqualify_reasons,
        }
    }
}

impl Lifecycle {
    /// The stage with this key.
    pub fn stage(&self, key: &str) -> Option<&StageDef> {
        self.stages.iter().find(|s| s.key == key)
    }

    /// Where captured leads start: the first stage.
    pub fn entry_stage(&self) -> Option<&StageDef> {
        self.stages.first()
    }

    /// The first stage of a kind, e.g. where not-ready leads go
    /// (`first_of_kind(StageKind::Nurture)`).
    pub fn first_of_kind(&self, kind: StageKind) -> Option<&StageDef> {
        self.stages.iter().find(|s| s.kind == kind)
    }

    /// The stages a lead in `from` may move to (empty for unknown stages).
    pub fn allowed_from(&self, from: &str) -> &[String] {
        self.transitions.get(from).map_or(&[], Vec::as_slice)
    }

    /// Whether a lead in this stage belongs with a rep.
    pub fn is_sales_ready_stage(&self, stage: &str) -> bool {
        self.stage(stage).is_some_and(|s| s.sales_ready)
    }

    /// The sales-ready split (issue 4): a lead goes to a rep when its stage is
    /// sales-ready or it explicitly asked to be contacted; otherwise it is nurtured.
    pub fn is_sales_ready(&self, stage: &str, answers: &Answers) -> bool {
        self.is_sales_ready_stage(stage) || crate::qualification::sales_ready_signal(answers)
    }

    /// The disqualify reason with this key.
    pub fn reason(&self, key: &str) -> Option<&Reason> {
        self.disqualify_reasons.iter().find(|r| r.key == key)
    }

    /// The playbook questions still unanswered for entering `stage`, in playbook order.
    /// Keys that are not questions can never be answered and are always listed.
    pub fn missing_answers(&self, stage: &str, answers: &Answers) -> Vec<String> {
        self.stage(stage)
            .map(|s| {
                s.required_answers
                    .iter()
                    .filter(|k| {
                        k.parse::<QuestionKey>()
                            .map_or(true, |q| !answers.is_answered(q))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Describes a stage in one vocabulary: `mql` is "MQL", "MOFU", "suspect" or "2";
    /// `sql` has level "3–6". `None` for an unknown stage or one the vocabulary does
    /// not cover (`new` has no funnel position).
    pub fn describe(&self, stage: &str, vocabulary: Vocabulary) -> Option<String> {
        let s = self.stage(stage)?;
        match vocabulary {
            Vocabulary::Stage => Some(s.label.clone()),
            Vocabulary::Funnel => s.funnel.map(|f| f.label().to_string()),
            Vocabulary::Ladder => s.ladder.map(|l| l.as_str().to_string()),
            Vocabulary::QualificationLevel => {
                let (min, max) = s.qualification_level;
                Some(if min == max {
                    min.to_string()
                } else {
                    format!("{min}–{max}")
                })
            }
        }
    }

    /// Checks the whole configuration, reporting every problem found rather than the
    /// first, so an admin can fix a file in one go.
    pub fn validate(&self) -> Result<(), Vec<LifecycleError>> {
        let mut errors = Vec::new();
        let Some(entry) = self.stages.first() else {
            errors.push(LifecycleError::NoStages);
            if self.disqualify_reasons.is_empty() {
                errors.push(LifecycleError::NoDisqualifyReasons);
            }
            return Err(errors);
        };

        let mut keys = BTreeSet::new();
        for s in &self.stages {
            if !is_valid_key(&s.key) {
                errors.push(LifecycleError::BadStageKey(s.key.clone()));
            }
            if !keys.insert(s.key.as_str()) {
                errors.push(LifecycleError::DuplicateStage(s.key.clone()));
            }
            let (min, max) = s.qualification_level;
            if !QUALIFICATION_LEVELS.contains(&min)
                || !QUALIFICATION_LEVELS.contains(&max)
                || min > max
            {
                errors.push(LifecycleError::BadQualificationLevel {
                    stage: s.key.clone(),
                    min,
                    max,
                });
            }
            for q in &s.required_answers {
                if q.parse::<QuestionKey>().is_err() {
                    errors.push(LifecycleError::UnknownQuestion {
                        stage: s.key.clone(),
                        question: q.clone(),
                    });
                }
            }
        }
        if entry.kind != StageKind::Open {
            errors.push(LifecycleError::EntryNotOpen {
                stage: entry.key.clone(),
                kind: entry.kind,
            });
        }
        for kind in [StageKind::Nurture, StageKind::Disqualified] {
            if self.first_of_kind(kind).is_none() {
                errors.push(LifecycleError::MissingSideState(kind));
            }
        }

        for (from, targets) in &self.transitions {
            for to in targets {
                for end in [from, to] {
                    if !keys.contains(end.as_str()) {
                        errors.push(LifecycleError::UnknownStageInTransition {
                            from: from.clone(),
                            to: to.clone(),
                            unknown: end.clone(),
                        });
                        break;
                    }
                }
            }
        }

        let mut reached = BTreeSet::from([entry.key.as_str()]);
        let mut queue = VecDeque::from([entry.key.as_str()]);
        while let Some(at) = queue.pop_front() {
            for to in self.allowed_from(at) {
                if keys.contains(to.as_str()) && reached.insert(to.as_str()) {
                    queue.push_back(to.as_str());
                }
            }
        }
        let mut reported = BTreeSet::new();
        for s in &self.stages {
            if !reached.contains(s.key.as_str()) && reported.insert(s.key.as_str()) {
                errors.push(LifecycleError::Unreachable {
                    stage: s.key.clone(),
                    entry: entry.key.clone(),
                });
            }
        }

        if self.disqualify_reasons.is_empty() {
            errors.push(LifecycleError::NoDisqualifyReasons);
        }
        let mut reasons = BTreeSet::new();
        for r in &self.disqualify_reasons {
            if !is_valid_key(&r.key) {
                errors.push(LifecycleError::BadReasonKey(r.key.clone()));
            }
            if !reasons.insert(r.key.as_str()) {
                errors.push(LifecycleError::DuplicateReason(r.key.clone()));
            }
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Whether a lead may move from `from` to `to`. Checked in order: both stages
    /// exist, the move is not a no-op, it is an allowed transition, a disqualification
    /// carries a configured reason, and the target's playbook answers are given.
    pub fn check_transition(
        &self,
        from: &str,
        to: &str,
        ctx: &TransitionContext<'_>,
    ) -> Result<(), TransitionError> {
        let unknown = |stage: &str| TransitionError::UnknownStage {
            stage: stage.to_string(),
            known: self.stages.iter().map(|s| s.key.clone()).collect(),
        };
        self.stage(from).ok_or_else(|| unknown(from))?;
        let target = self.stage(to).ok_or_else(|| unknown(to))?;
        if from == to {
            return Err(TransitionError::AlreadyInStage(to.to_string()));
        }
        let allowed = self.allowed_from(from);
        if !allowed.iter().any(|a| a == to) {
            return Err(TransitionError::NotAllowed {
                from: from.to_string(),
                to: to.to_string(),
                allowed: allowed.to_vec(),
            });
        }
        if target.kind == StageKind::Disqualified {
            let valid: Vec<String> = self
                .disqualify_reasons
                .iter()
                .map(|r| r.key.clone())
                .collect();
            match ctx.reason.map(str::trim).filter(|r| !r.is_empty()) {
                None => {
                    return Err(TransitionError::ReasonRequired {
                        stage: to.to_string(),
                        valid,
                    })
                }
                Some(r) if self.reason(r).is_none() => {
                    return Err(TransitionError::UnknownReason {
                        reason: r.to_string(),
                        valid,
                    })
                }
                Some(_) => {}
            }
        }
        let missing = self.missing_answers(to, ctx.answers);
        if !missing.is_empty() {
            return Err(TransitionError::MissingAnswers {
                stage: to.to_string(),
                missing,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qualification::{Answer, Timeframe};
    use serde_json::json;

    const STAGES: [&str; 9] = [
        "new",
        "target",
        "engaged",
        "mql",
        "sql",
        "meeting",
        "converted",
        "nurture",
        "disqualified",
    ];

    fn all_answered() -> Answers {
        Answers::try_from_pairs(QuestionKey::ALL.map(|q| {
            let a = if q == QuestionKey::Timeframe {
                Answer::Timeframe(Timeframe::Now)
            } else {
                Answer::Yes
            };
            (q, a)
        }))
        .unwrap()
    }

    fn ctx<'a>(answers: &'a Answers, reason: Option<&'a str>) -> TransitionContext<'a> {
        TransitionContext { answers, reason }
    }

    fn errors(l: &Lifecycle) -> Vec<LifecycleError> {
        l.validate().err().unwrap_or_default()
    }

    #[test]
    fn the_default_lifecycle_is_valid_and_has_the_design_stages() {
        let l = Lifecycle::default();
        assert_eq!(l.validate(), Ok(()));
        let keys: Vec<_> = l.stages.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, STAGES);
        assert_eq!(l.entry_stage().map(|s| s.key.as_str()), Some("new"));
        assert_eq!(
            l.first_of_kind(StageKind::Nurture).map(|s| s.key.as_str()),
            Some("nurture")
        );
        assert_eq!(
            l.first_of_kind(StageKind::Disqualified)
                .map(|s| s.key.as_str()),
            Some("disqualified")
        );
        assert_eq!(
            l.first_of_kind(StageKind::Won).map(|s| s.key.as_str()),
            Some("converted")
        );
    }

    #[test]
    fn every_default_stage_reads_in_every_vocabulary() {
        let l = Lifecycle::default();
        /// stage, label, funnel, ladder, level
        type Row = (
            &'static str,
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
        );
        let table: [Row; 9] = [
            ("new", "New", None, Some("name"), "1"),
            ("target", "Target", None, Some("target"), "1"),
            ("engaged", "Engaged", Some("TOFU"), Some("suspect"), "2"),
            ("mql", "MQL", Some("MOFU"), Some("suspect"), "2"),
            ("sql", "SQL", Some("BOFU"), Some("prospect"), "3–6"),
            ("meeting", "Meeting", Some("BOFU"), Some("prospect"), "3"),
            ("converted", "Converted", None, None, "6"),
            ("nurture", "Nurture", None, Some("suspect"), "2"),
            ("disqualified", "Disqualified", None, None, "1"),
        ];
        for (stage, label, funnel, ladder, level) in table {
            let d = |v| l.describe(stage, v);
            assert_eq!(d(Vocabulary::Stage).as_deref(), Some(label), "{stage}");
            assert_eq!(d(Vocabulary::Funnel).as_deref(), funnel, "{stage}");
            assert_eq!(d(Vocabulary::Ladder).as_deref(), ladder, "{stage}");
            assert_eq!(
                d(Vocabulary::QualificationLevel).as_deref(),
                Some(level),
                "{stage}"
            );
        }
        assert_eq!(l.describe("lost", Vocabulary::Stage), None);
    }

    #[test]
    fn every_default_transition_is_allowed_or_refused_as_designed() {
        let l = Lifecycle::default();
        let expected: [(&str, &[&str]); 9] = [
            (
                "new",
                &[
                    "target",
                    "engaged",
                    "mql",
                    "sql",
                    "meeting",
                    "nurture",
                    "disqualified",
                ],
            ),
            (
                "target",
                &[
                    "engaged",
                    "mql",
                    "sql",
                    "meeting",
                    "nurture",
                    "disqualified",
                ],
            ),
            (
                "engaged",
                &["mql", "sql", "meeting", "nurture", "disqualified"],
            ),
            ("mql", &["sql", "meeting", "nurture", "disqualified"]),
            ("sql", &["meeting", "nurture", "disqualified"]),
            ("meeting", &["converted", "nurture", "disqualified"]),
            ("converted", &[]),
            ("nurture", &["engaged", "mql", "sql", "disqualified"]),
            ("disqualified", &["new"]),
        ];
        let answers = all_answered();
        let c = ctx(&answers, Some("no_budget"));
        let mut checked = 0;
        for (from, allowed) in expected {
            for to in STAGES {
                let result = l.check_transition(from, to, &c);
                if from == to {
                    assert_eq!(
                        result,
                        Err(TransitionError::AlreadyInStage(to.into())),
                        "{from} -> {to}"
                    );
                } else if allowed.contains(&to) {
                    assert_eq!(result, Ok(()), "{from} -> {to}");
                } else {
                    assert_eq!(
                        result,
                        Err(TransitionError::NotAllowed {
                            from: from.into(),
                            to: to.into(),
                            allowed: allowed.iter().map(|s| s.to_string()).collect(),
                        }),
                        "{from} -> {to}"
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 81);
    }

    #[test]
    fn refusals_explain_themselves() {
        let l = Lifecycle::default();
        let answers = all_answered();
        let c = ctx(&answers, None);
        let msg = |from, to| l.check_transition(from, to, &c).unwrap_err().to_string();
        assert_eq!(
            msg("converted", "mql"),
            "cannot move from converted to mql; allowed: none"
        );
        assert_eq!(
            msg("sql", "mql"),
            "cannot move from sql to mql; allowed: meeting, nurture, disqualified"
        );
        assert_eq!(msg("mql", "mql"), "the lead is already in stage mql");
        let unknown = msg("mql", "lost");
        assert!(
            unknown.starts_with("unknown stage \"lost\"; stages: new, target"),
            "{unknown}"
        );
        assert_eq!(
            l.check_transition("lost", "mql", &c),
            Err(TransitionError::UnknownStage {
                stage: "lost".into(),
                known: STAGES.map(String::from).to_vec(),
            })
        );
    }

    #[test]
    fn disqualifying_needs_a_configured_reason() {
        let l = Lifecycle::default();
        let answers = Answers::new();
        let valid: Vec<String> = l.disqualify_reasons.iter().map(|r| r.key.clone()).collect();
        for reason in [None, Some(""), Some("   ")] {
            assert_eq!(
                l.check_transition("mql", "disqualified", &ctx(&answers, reason)),
                Err(TransitionError::ReasonRequired {
                    stage: "disqualified".into(),
                    valid: valid.clone(),
                }),
                "{reason:?}"
            );
        }
        let err = l
            .check_transition("mql", "disqualified", &ctx(&answers, Some("too_far")))
            .unwrap_err();
        assert_eq!(
            err,
            TransitionError::UnknownReason {
                reason: "too_far".into(),
                valid: valid.clone(),
            }
        );
        assert!(err.to_string().contains("not_a_lead, no_budget"), "{err}");
        for r in &valid {
            assert_eq!(
                l.check_transition("new", "disqualified", &ctx(&answers, Some(r))),
                Ok(()),
                "{r}"
            );
        }
        assert_eq!(
            l.check_transition("sql", "disqualified", &ctx(&answers, Some(" spam "))),
            Ok(())
        );
        // A reason is not needed elsewhere (but may be given).
        assert_eq!(
            l.check_transition("mql", "nurture", &ctx(&answers, None)),
            Ok(())
        );
        assert_eq!(
            l.check_transition("disqualified", "new", &ctx(&answers, Some("x"))),
            Ok(())
        );
    }

    #[test]
    fn default_reasons_include_the_trade_feedback() {
        let l = Lifecycle::default();
        for key in [
            "not_a_lead",
            "no_budget",
            "not_decision_maker",
            "no_need",
            "bought_elsewhere",
            "bad_contact_data",
            "duplicate",
            "competitor",
            "spam",
        ] {
            assert!(l.reason(key).is_some(), "{key}");
        }
        assert_eq!(
            l.reason("not_a_lead").map(|r| r.label.as_str()),
            Some("Not a lead: just a name")
        );
    }

    #[test]
    fn playbooks_block_entry_and_list_the_missing_questions() {
        let l = Lifecycle::default();
        use QuestionKey as Q;
        let yes = |qs: &[Q]| Answers::try_from_pairs(qs.iter().map(|q| (*q, Answer::Yes))).unwrap();
        let cases: Vec<(&str, &str, Answers, Vec<&str>)> = vec![
            (
                "mql",
                "sql",
                Answers::new(),
                vec!["need", "asked_to_be_contacted"],
            ),
            ("mql", "sql", yes(&[Q::Need]), vec!["asked_to_be_contacted"]),
            (
                "nurture",
                "sql",
                yes(&[Q::AskedToBeContacted]),
                vec!["need"],
            ),
            (
                "mql",
                "sql",
                Answers::try_from_pairs([
                    (Q::Need, Answer::Unknown),
                    (Q::AskedToBeContacted, Answer::No),
                ])
                .unwrap(),
                vec!["need"],
            ),
            ("mql", "sql", yes(&[Q::Need, Q::AskedToBeContacted]), vec![]),
            (
                "sql",
                "meeting",
                Answers::new(),
                vec!["authority", "timeframe"],
            ),
            (
                "sql",
                "meeting",
                Answers::try_from_pairs([
                    (Q::Authority, Answer::No),
                    (Q::Timeframe, Answer::Timeframe(Timeframe::NoPlans)),
                ])
                .unwrap(),
                vec![],
            ),
            ("new", "meeting", yes(&[Q::Authority]), vec!["timeframe"]),
            ("new", "mql", Answers::new(), vec![]),
            ("meeting", "converted", Answers::new(), vec![]),
        ];
        for (from, to, answers, missing) in cases {
            let result = l.check_transition(from, to, &ctx(&answers, None));
            let expected = if missing.is_empty() {
                Ok(())
            } else {
                Err(TransitionError::MissingAnswers {
                    stage: to.into(),
                    missing: missing.iter().map(|s| s.to_string()).collect(),
                })
            };
            assert_eq!(result, expected, "{from} -> {to} with {answers:?}");
        }
        let err = l
            .check_transition("mql", "sql", &ctx(&Answers::new(), None))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot enter sql until these questions are answered: need (Need for what we offer), asked_to_be_contacted (Asked to be contacted)"
        );
    }

    #[test]
    fn only_sql_and_meeting_are_sales_ready_unless_the_lead_asked_for_contact() {
        let l = Lifecycle::default();
        let none = Answers::new();
        let asked =
            Answers::try_from_pairs([(QuestionKey::AskedToBeContacted, Answer::Yes)]).unwrap();
        for s in STAGES {
            let ready = matches!(s, "sql" | "meeting");
            assert_eq!(l.is_sales_ready_stage(s), ready, "{s}");
            assert_eq!(l.is_sales_ready(s, &none), ready, "{s}");
            assert!(l.is_sales_ready(s, &asked), "{s}");
        }
        assert!(!l.is_sales_ready_stage("lost"));
    }

    #[test]
    fn validation_reports_each_kind_of_mistake() {
        type Breaker = fn(&mut Lifecycle);
        let cases: Vec<(&str, Breaker, Vec<LifecycleError>)> = vec![
            (
                "duplicate stage",
                |l| {
                    let mut dup = l.stages[3].clone();
                    dup.label = "Again".into();
                    l.stages.push(dup);
                },
                vec![LifecycleError::DuplicateStage("mql".into())],
            ),
            (
                "bad stage key",
                |l| {
                    l.stages.push(stage(
                        "Lost Deal",
                        "Lost",
                        StageKind::Open,
                        None,
                        None,
                        (1, 1),
                        &[],
                        false,
                    ));
                    l.transitions
                        .get_mut("new")
                        .unwrap()
                        .push("Lost Deal".into());
                },
                vec![LifecycleError::BadStageKey("Lost Deal".into())],
            ),
            (
                "unknown target",
                |l| l.transitions.get_mut("mql").unwrap().push("won".into()),
                vec![LifecycleError::UnknownStageInTransition {
                    from: "mql".into(),
                    to: "won".into(),
                    unknown: "won".into(),
                }],
            ),
            (
                "unknown source",
                |l| {
                    l.transitions.insert("lost".into(), vec!["new".into()]);
                },
                vec![LifecycleError::UnknownStageInTransition {
                    from: "lost".into(),
                    to: "new".into(),
                    unknown: "lost".into(),
                }],
            ),
            (
                "unreachable",
                |l| {
                    l.transitions
                        .get_mut("meeting")
                        .unwrap()
                        .retain(|s| s != "converted");
                },
                vec![LifecycleError::Unreachable {
                    stage: "converted".into(),
                    entry: "new".into(),
                }],
            ),
            (
                "no nurture",
                |l| {
                    l.stages.retain(|s| s.key != "nurture");
                    for targets in l.transitions.values_mut() {
                        targets.retain(|s| s != "nurture");
                    }
                    l.transitions.remove("nurture");
                },
                vec![LifecycleError::MissingSideState(StageKind::Nurture)],
            ),
            (
                "disqualified is open",
                |l| l.stages[8].kind = StageKind::Open,
                vec![LifecycleError::MissingSideState(StageKind::Disqualified)],
            ),
            (
                "level zero",
                |l| l.stages[0].qualification_level = (0, 1),
                vec![LifecycleError::BadQualificationLevel {
                    stage: "new".into(),
                    min: 0,
                    max: 1,
                }],
            ),
            (
                "level seven",
                |l| l.stages[4].qualification_level = (3, 7),
                vec![LifecycleError::BadQualificationLevel {
                    stage: "sql".into(),
                    min: 3,
                    max: 7,
                }],
            ),
            (
                "levels reversed",
                |l| l.stages[4].qualification_level = (6, 3),
                vec![LifecycleError::BadQualificationLevel {
                    stage: "sql".into(),
                    min: 6,
                    max: 3,
                }],
            ),
            (
                "unknown question",
                |l| l.stages[5].required_answers.push("budget".into()),
                vec![LifecycleError::UnknownQuestion {
                    stage: "meeting".into(),
                    question: "budget".into(),
                }],
            ),
            (
                "no reasons",
                |l| l.disqualify_reasons.clear(),
                vec![LifecycleError::NoDisqualifyReasons],
            ),
            (
                "duplicate reason",
                |l| {
                    let r = l.disqualify_reasons[0].clone();
                    l.disqualify_reasons.push(r);
                },
                vec![LifecycleError::DuplicateReason("not_a_lead".into())],
            ),
            (
                "bad reason key",
                |l| {
                    l.disqualify_reasons.push(Reason {
                        key: "".into(),
                        label: "Nothing".into(),
                    })
                },
                vec![LifecycleError::BadReasonKey("".into())],
            ),
            (
                "entry not open",
                |l| {
                    let nurture = l.stages.remove(7);
                    l.stages.insert(0, nurture);
                },
                vec![
                    LifecycleError::EntryNotOpen {
                        stage: "nurture".into(),
                        kind: StageKind::Nurture,
                    },
                    // From nurture, new/target are reachable only via disqualified -> new.
                ],
            ),
            (
                "no stages",
                |l| {
                    l.stages.clear();
                    l.transitions.clear();
                },
                vec![LifecycleError::NoStages],
            ),
        ];
        for (name, breaker, expected) in cases {
            let mut l = Lifecycle::default();
            breaker(&mut l);
            assert_eq!(errors(&l), expected, "{name}");
            for e in &expected {
                assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn validation_collects_every_problem_at_once() {
        let mut l = Lifecycle::default();
        l.disqualify_reasons.clear();
        l.stages[0].qualification_level = (2, 1);
        l.stages[4].required_answers = vec!["budget".into()];
        l.transitions.remove("disqualified");
        l.transitions.insert("new".into(), vec!["nowhere".into()]);
        let errs = errors(&l);
        assert!(
            errs.contains(&LifecycleError::NoDisqualifyReasons),
            "{errs:?}"
        );
        assert!(errs.contains(&LifecycleError::BadQualificationLevel {
            stage: "new".into(),
            min: 2,
            max: 1
        }));
        assert!(errs.contains(&LifecycleError::UnknownQuestion {
            stage: "sql".into(),
            question: "budget".into()
        }));
        assert!(errs.contains(&LifecycleError::UnknownStageInTransition {
            from: "new".into(),
            to: "nowhere".into(),
            unknown: "nowhere".into()
        }));
        // With new leading nowhere, every other stage is cut off.
        let unreachable = errs
            .iter()
            .filter(|e| matches!(e, LifecycleError::Unreachable { .. }))
            .count();
        assert_eq!(unreachable, 8, "{errs:?}");
        assert_eq!(
            LifecycleError::Unreachable {
                stage: "converted".into(),
                entry: "new".into()
            }
            .to_string(),
            "stage \"converted\" cannot be reached from the entry stage \"new\"; add a transition into it"
        );
    }

    #[test]
    fn an_unvalidated_playbook_key_blocks_entry_instead_of_being_ignored() {
        let mut l = Lifecycle::default();
        l.stages[3].required_answers = vec!["budget".into(), "need".into()];
        let answers = all_answered();
        assert_eq!(
            l.check_transition("new", "mql", &ctx(&answers, None)),
            Err(TransitionError::MissingAnswers {
                stage: "mql".into(),
                missing: vec!["budget".into()],
            })
        );
    }

    #[test]
    fn lifecycles_round_trip_through_json_with_short_stage_entries() {
        let l = Lifecycle::default();
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(serde_json::from_value::<Lifecycle>(v.clone()).unwrap(), l);
        assert_eq!(
            v["stages"][4],
            json!({
                "key": "sql",
                "label": "SQL",
                "kind": "open",
                "funnel": "bofu",
                "ladder": "prospect",
                "qualification_level": [3, 6],
                "required_answers": ["need", "asked_to_be_contacted"],
                "sales_ready": true
            })
        );
        assert_eq!(v["transitions"]["disqualified"], json!(["new"]));
        let minimal = json!({
            "stages": [
                {"key": "new", "label": "New", "kind": "open", "qualification_level": [1, 1]},
                {"key": "won", "label": "Won", "kind": "won", "qualification_level": [6, 6]},
                {"key": "later", "label": "Later", "kind": "nurture", "qualification_level": [2, 2]},
                {"key": "out", "label": "Out", "kind": "disqualified", "qualification_level": [1, 1]}
            ],
            "transitions": {"new": ["won", "later", "out"]},
            "disqualify_reasons": [{"key": "spam", "label": "Spam"}]
        });
        let m: Lifecycle = serde_json::from_value(minimal).unwrap();
        assert_eq!(m.validate(), Ok(()));
        assert!(!m.stages[0].sales_ready);
        assert!(m.stages[0].required_answers.is_empty());
        assert_eq!(m.describe("new", Vocabulary::Funnel), None);
        let typo = json!({
            "stages": [{"key": "new", "label": "New", "kind": "open", "qualification_level": [1, 1], "sales_redy": true}],
            "disqualify_reasons": []
        });
        assert!(serde_json::from_value::<Lifecycle>(typo).is_err());
        for (v, json) in [
            (Vocabulary::Stage, "stage"),
            (Vocabulary::Funnel, "funnel"),
            (Vocabulary::Ladder, "ladder"),
            (Vocabulary::QualificationLevel, "qualification_level"),
        ] {
            assert_eq!(serde_json::to_value(v).unwrap(), json!(json));
            assert_eq!(
                serde_json::from_value::<Vocabulary>(json!(json)).unwrap(),
                v
            );
        }
    }

    #[test]
    fn missing_answers_and_allowed_moves_for_unknown_stages_are_empty() {
        let l = Lifecycle::default();
        assert!(l.allowed_from("lost").is_empty());
        assert!(l.allowed_from("converted").is_empty());
        assert!(l.missing_answers("lost", &Answers::new()).is_empty());
        assert_eq!(
            l.missing_answers("meeting", &Answers::new()),
            vec!["authority".to_string(), "timeframe".to_string()]
        );
    }
}
