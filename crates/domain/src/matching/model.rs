//! The match model: m- and u-probabilities per field and level, the prior odds of a
//! match, term frequencies and the decision thresholds.
//!
//! [`MatchModel::prior`] holds hand-set values for a database too small to learn from;
//! [`super::train`] estimates them from a database's own leads.

use super::levels::{Field, Level};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// m and u of one comparison level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LevelParams {
    pub level: Level,
    /// Chance of this level when the two records are the same person.
    pub m: f64,
    /// Chance of this level when they are not.
    pub u: f64,
}

impl LevelParams {
    /// The level's weight in bits: `log2(m / u)`.
    pub fn weight(&self) -> f64 {
        (self.m / self.u).log2()
    }
}

/// The levels of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldParams {
    pub field: Field,
    /// In the order of [`Field::levels`].
    pub levels: Vec<LevelParams>,
}

/// How often each value of a field occurs, for term-frequency adjustment of exact
/// agreement: a shared common value is weaker evidence than a shared rare one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TermFrequencies {
    pub field: Field,
    /// Records that carry the field.
    pub records: u64,
    /// Folded value → number of records (the most common values only).
    pub values: BTreeMap<String, u64>,
    /// Mean count of a value not listed.
    pub rest_mean_count: f64,
    /// Chance that two random records carrying the field agree on it: the sum of the
    /// squared value shares. The exact level's average `u`.
    pub agreement_share: f64,
}

impl TermFrequencies {
    pub fn new(field: Field, records: u64) -> TermFrequencies {
        TermFrequencies {
            field,
            records,
            values: BTreeMap::new(),
            rest_mean_count: 1.0,
            agreement_share: 0.0,
        }
    }

    /// Count of a folded value, if listed.
    pub fn count(&self, folded: &str) -> Option<u64> {
        self.values.get(folded).copied()
    }

    /// Share of records carrying `folded`.
    pub fn share(&self, folded: &str) -> f64 {
        let count = self
            .count(folded)
            .map_or(self.rest_mean_count, |c| c as f64);
        count.max(1.0) / (self.records.max(1) as f64)
    }

    /// Bits to add to an exact agreement on `folded`: `log2(agreement_share / share)`,
    /// kept within bounds so a few very rare or very common values cannot dominate.
    pub fn adjustment(&self, folded: &str) -> f64 {
        if self.agreement_share <= 0.0 {
            return 0.0;
        }
        (self.agreement_share / self.share(folded))
            .log2()
            .clamp(-TF_MAX_PENALTY, TF_MAX_BONUS)
    }
}

/// Bounds of the term-frequency adjustment, in bits.
const TF_MAX_PENALTY: f64 = 8.0;
const TF_MAX_BONUS: f64 = 3.0;

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelOrigin {
    /// The hand-set prior (no training yet, or too few leads to train on).
    Prior,
    /// Estimated from the database's own leads.
    Trained(TrainingSummary),
}

/// What a training run saw and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrainingSummary {
    /// Unix seconds.
    pub trained_at: i64,
    /// Records trained on.
    pub records: u64,
    /// Candidate pairs from blocking the population prior was estimated over (m is
    /// estimated per blocking pass, u from random pairs).
    pub pairs: u64,
    /// Distinct comparison patterns among them.
    pub patterns: u64,
    pub iterations: u32,
    pub converged: bool,
    /// Expected number of matching pairs among the candidate pairs.
    pub expected_matches: f64,
}

/// Everything matching needs to weigh and decide a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchModel {
    /// Increases with every training run on a database; 0 for the built-in prior.
    pub version: u64,
    pub origin: ModelOrigin,
    /// log2 of the prior odds that two leads picked at random are one person (the
    /// population prior; training estimates it, the hand-set prior fixes it at −10).
    /// Blocking chooses which pairs are compared, it does not change these odds: a
    /// candidate's shared key counts in its score like any other agreement.
    pub prior_log2_odds: f64,
    /// A pair at or above this match probability is merged without asking, unless
    /// the household guard holds it back.
    pub sure_probability: f64,
    /// A pair at or above this probability (and below sure) goes to review.
    pub possible_probability: f64,
    /// One entry per field, in [`Field::ALL`] order.
    pub fields: Vec<FieldParams>,
    /// For the fields of [`Field::uses_term_frequency`] the model was trained on.
    pub term_frequencies: Vec<TermFrequencies>,
}

impl Default for MatchModel {
    fn default() -> Self {
        MatchModel::prior()
    }
}

/// Hand-set m/u per level: (level, m, u), in [`Field::levels`] order.
fn prior_levels(field: Field) -> &'static [(Level, f64, f64)] {
    use Level::*;
    match field {
        // The folded e-mail key is all but unique to a person; people keep a work and a
        // private address, so m is well below 1.
        Field::Email => &[(Exact, 0.85, 5e-7), (Disagree, 0.15, 1.0 - 5e-7)],
        // Households and office switchboards share landlines, so u is higher.
        Field::Phone => &[(Exact, 0.85, 1e-5), (Disagree, 0.15, 1.0 - 1e-5)],
        Field::FirstName => &[
            (Exact, 0.86, 0.02),
            (Close, 0.04, 0.003),
            (Phonetic, 0.01, 0.002),
            (Nickname, 0.02, 0.0008),
            (Initial, 0.02, 0.004),
            (Swapped, 0.01, 0.0004),
            (Disagree, 0.04, 0.97),
        ],
        Field::LastName => &[
            (Exact, 0.90, 0.005),
            (Close, 0.04, 0.002),
            (Phonetic, 0.015, 0.003),
            (Nickname, 0.0001, 0.0001),
            (Initial, 0.005, 0.002),
            (Swapped, 0.01, 0.0001),
            (Disagree, 0.03, 0.99),
        ],
        Field::Company => &[
            (Exact, 0.78, 0.008),
            (Close, 0.06, 0.01),
            (Disagree, 0.16, 0.98),
        ],
        Field::Domain => &[(Exact, 0.80, 0.04), (Disagree, 0.20, 0.96)],
        Field::Country => &[(Exact, 0.99, 0.9), (Disagree, 0.01, 0.1)],
        Field::PostalCode => &[
            (Exact, 0.88, 0.01),
            (Close, 0.05, 0.01),
            (Disagree, 0.07, 0.98),
        ],
        Field::Street => &[
            (Exact, 0.816, 0.001),
            (Close, 0.06, 0.0005),
            (NoNumber, 0.05, 0.002),
            (NumberDiffers, 0.004, 0.06),
            (Elsewhere, 0.02, 0.005),
            (Disagree, 0.05, 0.93),
        ],
        Field::DateOfBirth => &[
            (Exact, 0.95, 0.0002),
            (DayMonthSwapped, 0.01, 0.00002),
            (Close, 0.02, 0.0005),
            (Disagree, 0.02, 0.9993),
        ],
    }
}

impl MatchModel {
    /// The hand-set model. Its prior odds and thresholds reproduce the score cut-offs
    /// Leadline used before it learned weights: sure from 20 bits of evidence (an
    /// e-mail key alone, a phone with a name, a full name with an address), possible
    /// from 8 bits (a full name alone).
    pub fn prior() -> MatchModel {
        MatchModel {
            version: 0,
            origin: ModelOrigin::Prior,
            prior_log2_odds: -10.0,
            sure_probability: 0.999,
            possible_probability: 0.2,
            fields: Field::ALL
                .iter()
                .map(|&field| FieldParams {
                    field,
                    levels: prior_levels(field)
                        .iter()
                        .map(|&(level, m, u)| LevelParams { level, m, u })
                        .collect(),
                })
                .collect(),
            term_frequencies: Vec::new(),
        }
    }

    /// Checks a model read from storage: every field in order with every level, and
    /// probabilities inside (0, 1).
    pub fn validate(&self) -> Result<(), String> {
        if self.fields.len() != Field::ALL.len() {
            return Err(format!(
                "{} fields, expected {}",
                self.fields.len(),
                Field::ALL.len()
            ));
        }
        for (params, field) in self.fields.iter().zip(Field::ALL) {
            if params.field != field {
                return Err(format!(
                    "field {:?} where {field:?} was expected",
                    params.field
                ));
            }
            let levels: Vec<Level> = params.levels.iter().map(|l| l.level).collect();
            if levels != field.levels() {
                return Err(format!("{field:?} has levels {levels:?}"));
            }
            for l in &params.levels {
                let ok = |p: f64| p.is_finite() && p > 0.0 && p < 1.0;
                if !ok(l.m) || !ok(l.u) {
                    return Err(format!("{field:?} {:?}: m={} u={}", l.level, l.m, l.u));
                }
            }
        }
        let ok = |p: f64| p.is_finite() && p > 0.0 && p < 1.0;
        if !ok(self.sure_probability)
            || !ok(self.possible_probability)
            || self.possible_probability > self.sure_probability
        {
            return Err("thresholds must satisfy 0 < possible <= sure < 1".into());
        }
        if !self.prior_log2_odds.is_finite() {
            return Err("prior odds must be finite".into());
        }
        Ok(())
    }

    pub fn field(&self, field: Field) -> &FieldParams {
        &self.fields[field.index()]
    }

    pub(crate) fn level(&self, field: Field, level: Level) -> &LevelParams {
        let params = self.field(field);
        params
            .levels
            .iter()
            .find(|l| l.level == level)
            .unwrap_or_else(|| params.levels.last().expect("a validated model has levels"))
    }

    pub fn term_frequencies(&self, field: Field) -> Option<&TermFrequencies> {
        self.term_frequencies.iter().find(|t| t.field == field)
    }

    /// Weight of one observed level, with the term-frequency adjustment for an exact
    /// agreement on `folded_value`.
    pub(crate) fn weight(&self, field: Field, level: Level, folded_value: Option<&str>) -> f64 {
        let base = self.level(field, level).weight();
        match (level, folded_value, self.term_frequencies(field)) {
            (Level::Exact, Some(v), Some(tf)) => base + tf.adjustment(v),
            _ => base,
        }
    }

    /// Match probability for a score in bits.
    pub fn probability(&self, score: f64) -> f64 {
        let log_odds = self.prior_log2_odds + score;
        1.0 / (1.0 + (-log_odds).exp2())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_prior_is_valid_and_round_trips() {
        let m = MatchModel::prior();
        m.validate().unwrap();
        let json = serde_json::to_string(&m).unwrap();
        let back: MatchModel = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        // Every level's m and u sum to about one per field.
        for f in &m.fields {
            let sm: f64 = f.levels.iter().map(|l| l.m).sum();
            let su: f64 = f.levels.iter().map(|l| l.u).sum();
            assert!((sm - 1.0).abs() < 0.02, "{:?} m sums to {sm}", f.field);
            assert!((su - 1.0).abs() < 0.02, "{:?} u sums to {su}", f.field);
        }
    }

    #[test]
    fn model_validate_rejects_broken_models() {
        let mut m = MatchModel::prior();
        m.fields[2].levels[0].m = 0.0;
        assert!(m.validate().is_err());
        let mut m = MatchModel::prior();
        m.fields.swap(0, 1);
        assert!(m.validate().is_err());
        let mut m = MatchModel::prior();
        m.fields.pop();
        assert!(m.validate().is_err());
        let mut m = MatchModel::prior();
        m.fields[8].levels.remove(2);
        assert!(m.validate().is_err());
        let mut m = MatchModel::prior();
        m.possible_probability = 0.9999;
        assert!(m.validate().is_err());
        let mut m = MatchModel::prior();
        m.prior_log2_odds = f64::NAN;
        assert!(m.validate().is_err());
    }

    #[test]
    fn model_prior_thresholds_reproduce_the_old_cut_offs() {
        let m = MatchModel::prior();
        assert!(m.probability(20.0) >= m.sure_probability);
        assert!(m.probability(19.9) < m.sure_probability);
        assert!(m.probability(8.0) >= m.possible_probability);
        assert!(m.probability(7.9) < m.possible_probability);
    }

    #[test]
    fn model_term_frequency_adjustment() {
        let mut tf = TermFrequencies::new(Field::LastName, 10_000);
        tf.values.insert("smith".into(), 100);
        tf.values.insert("nguyen".into(), 10);
        tf.rest_mean_count = 1.5;
        tf.agreement_share = 0.002;
        // Smith is 1 % of records: weaker than average.
        assert!(tf.adjustment("smith") < 0.0);
        assert!((tf.adjustment("smith") - (0.002f64 / 0.01).log2()).abs() < 1e-9);
        // A rare name is stronger, up to the cap.
        assert!(tf.adjustment("nguyen") > 0.0);
        assert!(tf.adjustment("zyxwv") <= TF_MAX_BONUS);
        assert!(tf.adjustment("zyxwv") >= tf.adjustment("nguyen"));
        let mut m = MatchModel::prior();
        m.term_frequencies.push(tf);
        let plain = m.weight(Field::LastName, Level::Exact, None);
        assert!(m.weight(Field::LastName, Level::Exact, Some("smith")) < plain);
        assert_eq!(
            m.weight(Field::LastName, Level::Close, Some("smith")),
            m.level(Field::LastName, Level::Close).weight()
        );
    }
}
