//! Learning a match model from a database's own leads.
//!
//! 1. Term frequencies of first names, surnames, companies and postcodes.
//! 2. Candidate pairs from the same blocking as capture uses (weak blocks over
//!    [`MAX_WEAK_BLOCK`] skipped, here strong ones too), up to a cap.
//! 3. Each pair becomes a comparison pattern (one level per field); identical patterns
//!    are counted once.
//! 4. Expectation–maximisation fits a two-class mixture to the patterns (recordlinkage's
//!    ECM): the share of matches among candidate pairs, and for each class the chance
//!    of every level. Because capture scores the same kind of pairs (candidates from
//!    blocking), the fitted `u` is the right one to weigh them with. The hand-set prior
//!    enters as a Dirichlet prior worth a few hundred pairs, so a sparse level (swapped
//!    names, say) that the data barely shows keeps a sensible weight.

use super::blocking::{training_keys, MAX_WEAK_BLOCK};
use super::levels::{observe, Field, Folded, NameFrequencies};
use super::model::{
    FieldParams, LevelParams, MatchModel, ModelOrigin, TermFrequencies, TrainingSummary,
};
use super::text::{folded, postal_key, present};
use super::MatchRecord;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One comparison level index (into [`Field::levels`]) per field of [`Field::ALL`], or
/// `None` where either record lacks the field.
pub type Pattern = [Option<u8>; 10];

/// Knobs of a training run.
#[derive(Debug, Clone)]
pub struct TrainingOptions {
    /// Fewer records than this keep the prior.
    pub min_records: usize,
    /// Fewer candidate pairs than this keep the prior.
    pub min_pairs: usize,
    /// Most candidate pairs used.
    pub max_pairs: usize,
    pub max_iterations: u32,
    /// Largest change of any probability between iterations at convergence.
    pub tolerance: f64,
    /// Most common values kept per term-frequency table.
    pub top_values: usize,
    /// Weight of the prior, in pairs.
    pub prior_strength: f64,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        TrainingOptions {
            min_records: 500,
            min_pairs: 200,
            max_pairs: 2_000_000,
            max_iterations: 200,
            tolerance: 1e-6,
            top_values: 5_000,
            prior_strength: 200.0,
        }
    }
}

/// Why a database could not be trained on (the caller keeps its current model).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainingError {
    #[error("{records} leads are too few to learn from (at least {needed} are needed)")]
    TooFewRecords { records: usize, needed: usize },
    #[error("{pairs} candidate pairs are too few to learn from (at least {needed} are needed)")]
    TooFewPairs { pairs: usize, needed: usize },
}

/// A fitted two-class mixture over comparison patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture {
    /// Share of matches among the pairs.
    pub lambda: f64,
    /// `m[field][level]`, fields in [`Field::ALL`] order, levels in [`Field::levels`] order.
    pub m: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
    pub iterations: u32,
    pub converged: bool,
    /// Expected number of matching pairs.
    pub expected_matches: f64,
}

impl Mixture {
    fn from_model(model: &MatchModel, lambda: f64) -> Mixture {
        let take = |pick: fn(&LevelParams) -> f64| -> Vec<Vec<f64>> {
            model
                .fields
                .iter()
                .map(|f| f.levels.iter().map(pick).collect())
                .collect()
        };
        Mixture {
            lambda,
            m: take(|l| l.m),
            u: take(|l| l.u),
            iterations: 0,
            converged: false,
            expected_matches: 0.0,
        }
    }
}

/// Smallest probability a level keeps, so no level has an infinite weight.
const FLOOR: f64 = 1e-7;

/// Fits the mixture to counted patterns by EM, starting from `init`. With a `prior`
/// (a mixture and its weight in pairs) the m and u estimates are its Dirichlet
/// posterior means; without, plain maximum likelihood.
pub fn fit_mixture(
    patterns: &[(Pattern, u64)],
    init: Mixture,
    prior: Option<(&Mixture, f64)>,
    max_iterations: u32,
    tolerance: f64,
) -> Mixture {
    let mut mix = init;
    let dims: Vec<usize> = mix.m.iter().map(Vec::len).collect();
    let total: f64 = patterns.iter().map(|(_, c)| *c as f64).sum();
    let mut weights = vec![0.0; patterns.len()];
    for iteration in 1..=max_iterations {
        // E: the chance each pattern is a match.
        let log_m: Vec<Vec<f64>> = mix
            .m
            .iter()
            .map(|f| f.iter().map(|p| p.ln()).collect())
            .collect();
        let log_u: Vec<Vec<f64>> = mix
            .u
            .iter()
            .map(|f| f.iter().map(|p| p.ln()).collect())
            .collect();
        let log_odds_prior = mix.lambda.ln() - (1.0 - mix.lambda).ln();
        for ((pattern, _), w) in patterns.iter().zip(weights.iter_mut()) {
            let mut log_ratio = log_odds_prior;
            for (f, level) in pattern.iter().enumerate() {
                if let Some(l) = level {
                    log_ratio += log_m[f][*l as usize] - log_u[f][*l as usize];
                }
            }
            *w = 1.0 / (1.0 + (-log_ratio).exp());
        }
        // M: re-estimate from the expected counts.
        let mut match_counts: Vec<Vec<f64>> = dims.iter().map(|&d| vec![0.0; d]).collect();
        let mut other_counts = match_counts.clone();
        let mut matches = 0.0;
        for ((pattern, count), w) in patterns.iter().zip(&weights) {
            let c = *count as f64;
            matches += c * w;
            for (f, level) in pattern.iter().enumerate() {
                if let Some(l) = level {
                    match_counts[f][*l as usize] += c * w;
                    other_counts[f][*l as usize] += c * (1.0 - w);
                }
            }
        }
        let estimate = |counts: &[f64], prior: Option<&[f64]>, strength: f64| -> Vec<f64> {
            let sum: f64 = counts.iter().sum();
            let raw: Vec<f64> = counts
                .iter()
                .enumerate()
                .map(|(l, c)| {
                    let pseudo = prior.map_or(0.0, |p| p[l] * strength);
                    let denom = sum + prior.map_or(0.0, |_| strength);
                    if denom > 0.0 {
                        (c + pseudo) / denom
                    } else {
                        1.0 / counts.len() as f64
                    }
                })
                .map(|p| p.max(FLOOR))
                .collect();
            let norm: f64 = raw.iter().sum();
            raw.into_iter()
                .map(|p| (p / norm).min(1.0 - FLOOR))
                .collect()
        };
        let strength = prior.map_or(0.0, |(_, s)| s);
        let new_m: Vec<Vec<f64>> = (0..dims.len())
            .map(|f| {
                estimate(
                    &match_counts[f],
                    prior.map(|(p, _)| p.m[f].as_slice()),
                    strength,
                )
            })
            .collect();
        let new_u: Vec<Vec<f64>> = (0..dims.len())
            .map(|f| {
                estimate(
                    &other_counts[f],
                    prior.map(|(p, _)| p.u[f].as_slice()),
                    strength,
                )
            })
            .collect();
        let new_lambda = if total > 0.0 {
            (matches / total).clamp(FLOOR, 1.0 - FLOOR)
        } else {
            mix.lambda
        };
        let mut change = (new_lambda - mix.lambda).abs();
        for f in 0..dims.len() {
            for l in 0..dims[f] {
                change = change
                    .max((new_m[f][l] - mix.m[f][l]).abs())
                    .max((new_u[f][l] - mix.u[f][l]).abs());
            }
        }
        mix.m = new_m;
        mix.u = new_u;
        mix.lambda = new_lambda;
        mix.iterations = iteration;
        mix.expected_matches = matches;
        if change < tolerance {
            mix.converged = true;
            break;
        }
    }
    mix
}

/// Keeps the learned weights sensible where blocking biases them: candidate pairs are
/// chosen because they share a surname, a postcode or a phone, so among them two
/// different people disagree on those fields less often than in the population, and
/// EM makes a disagreement count for little (or even for a match). A disagreement
/// counts against a match at least as much as the hand-set prior says, and an exact
/// agreement never counts against one.
fn constrain(levels: &mut [LevelParams], prior: &[LevelParams]) {
    let last = levels.len() - 1;
    let floor = prior[last].weight().min(0.0);
    if levels[last].weight() > floor {
        levels[last].u = (levels[last].m / floor.exp2()).min(1.0 - FLOOR);
    }
    if levels[0].m < levels[0].u {
        levels[0].u = levels[0].m;
    }
}

/// Builds the term-frequency table of one field.
fn term_frequencies(
    field: Field,
    values: impl Iterator<Item = String>,
    top: usize,
) -> TermFrequencies {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut records = 0u64;
    for v in values.filter(|v| !v.is_empty()) {
        records += 1;
        *counts.entry(v).or_default() += 1;
    }
    let mut tf = TermFrequencies::new(field, records);
    if records == 0 {
        return tf;
    }
    let n = records as f64;
    tf.agreement_share = counts.values().map(|&c| (c as f64 / n).powi(2)).sum();
    let mut sorted: Vec<(String, u64)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest = sorted.split_off(sorted.len().min(top));
    let rest_total: u64 = rest.iter().map(|(_, c)| c).sum();
    tf.rest_mean_count = if rest.is_empty() {
        1.0
    } else {
        rest_total as f64 / rest.len() as f64
    };
    tf.values = sorted.into_iter().collect::<BTreeMap<_, _>>();
    tf
}

fn field_values<'a>(
    records: &'a [MatchRecord],
    pick: fn(&MatchRecord) -> &Option<String>,
    fold: fn(&str) -> String,
) -> impl Iterator<Item = String> + 'a {
    records
        .iter()
        .filter_map(move |r| present(pick(r)).map(fold))
}

/// Candidate pairs from blocking, deterministic and capped.
fn candidate_pairs(records: &[MatchRecord], max_pairs: usize) -> Vec<(u32, u32)> {
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        for key in training_keys(r) {
            blocks.entry(key).or_default().push(i as u32);
        }
    }
    let mut keys: Vec<&String> = blocks
        .iter()
        .filter(|(_, ids)| ids.len() >= 2 && ids.len() <= MAX_WEAK_BLOCK)
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    let mut pairs = Vec::new();
    'blocks: for key in keys {
        let ids = &blocks[key];
        for (x, &i) in ids.iter().enumerate() {
            for &j in &ids[x + 1..] {
                let pair = (i.min(j), i.max(j));
                if seen.insert(pair) {
                    pairs.push(pair);
                    if pairs.len() >= max_pairs {
                        break 'blocks;
                    }
                }
            }
        }
    }
    pairs
}

/// The comparison pattern of a pair under `model` (whose term frequencies tell
/// established names apart).
pub(crate) fn pattern_of(
    a: (&MatchRecord, &Folded),
    b: (&MatchRecord, &Folded),
    freqs: NameFrequencies<'_>,
) -> Pattern {
    let mut pattern: Pattern = [None; 10];
    observe(a, b, freqs, &mut |o| {
        let index = o
            .field
            .levels()
            .iter()
            .position(|l| *l == o.level)
            .expect("observed levels are the field's levels");
        pattern[o.field.index()] = Some(index as u8);
    });
    pattern
}

/// Learns a model from `records`, starting from (and keeping the thresholds of)
/// `current`. The result's version is one more than `current`'s.
pub fn train(
    records: &[MatchRecord],
    current: &MatchModel,
    options: &TrainingOptions,
    now: i64,
) -> Result<MatchModel, TrainingError> {
    if records.len() < options.min_records {
        return Err(TrainingError::TooFewRecords {
            records: records.len(),
            needed: options.min_records,
        });
    }
    let top = options.top_values;
    let term_frequencies = vec![
        term_frequencies(
            Field::FirstName,
            field_values(records, |r| &r.first_name, folded),
            top,
        ),
        term_frequencies(
            Field::LastName,
            field_values(records, |r| &r.last_name, folded),
            top,
        ),
        term_frequencies(
            Field::Company,
            field_values(records, |r| &r.company_key, folded),
            top,
        ),
        term_frequencies(
            Field::PostalCode,
            field_values(records, |r| &r.postal_code, postal_key),
            top,
        ),
    ];
    let freqs = NameFrequencies {
        first: term_frequencies
            .iter()
            .find(|t| t.field == Field::FirstName),
        last: term_frequencies.iter().find(|t| t.field == Field::LastName),
    };

    let pairs = candidate_pairs(records, options.max_pairs);
    if pairs.len() < options.min_pairs {
        return Err(TrainingError::TooFewPairs {
            pairs: pairs.len(),
            needed: options.min_pairs,
        });
    }
    // Records take part in many pairs: fold each once.
    let folded: Vec<Folded> = records.iter().map(Folded::of).collect();
    let mut counted: HashMap<Pattern, u64> = HashMap::new();
    for &(i, j) in &pairs {
        let (i, j) = (i as usize, j as usize);
        let p = pattern_of((&records[i], &folded[i]), (&records[j], &folded[j]), freqs);
        *counted.entry(p).or_default() += 1;
    }
    let mut patterns: Vec<(Pattern, u64)> = counted.into_iter().collect();
    patterns.sort();

    // Start from the prior's m and the candidates' own level shares as u (nearly all
    // candidate pairs are two different people).
    let prior = MatchModel::prior();
    let prior_mix = Mixture::from_model(&prior, 0.05);
    let mut init = Mixture::from_model(current, 0.05);
    for (f, field) in Field::ALL.iter().enumerate() {
        let mut counts = vec![1.0; field.levels().len()];
        for (pattern, c) in &patterns {
            if let Some(l) = pattern[f] {
                counts[l as usize] += *c as f64;
            }
        }
        let sum: f64 = counts.iter().sum();
        init.u[f] = counts.iter().map(|c| c / sum).collect();
    }
    let mix = fit_mixture(
        &patterns,
        init,
        Some((&prior_mix, options.prior_strength)),
        options.max_iterations,
        options.tolerance,
    );

    let fields = Field::ALL
        .iter()
        .enumerate()
        .map(|(f, &field)| {
            let mut levels: Vec<LevelParams> = field
                .levels()
                .iter()
                .enumerate()
                .map(|(l, &level)| LevelParams {
                    level,
                    m: mix.m[f][l],
                    u: mix.u[f][l],
                })
                .collect();
            constrain(&mut levels, &prior.field(field).levels);
            FieldParams { field, levels }
        })
        .collect();
    Ok(MatchModel {
        version: current.version + 1,
        origin: ModelOrigin::Trained(TrainingSummary {
            trained_at: now,
            records: records.len() as u64,
            pairs: pairs.len() as u64,
            patterns: patterns.len() as u64,
            iterations: mix.iterations,
            converged: mix.converged,
            expected_matches: mix.expected_matches,
        }),
        prior_log2_odds: (mix.lambda / (1.0 - mix.lambda)).log2(),
        sure_probability: current.sure_probability,
        possible_probability: current.possible_probability,
        fields,
        term_frequencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn sample(probs: &[f64], rng: &mut StdRng) -> u8 {
        let mut x: f64 = rng.gen();
        for (i, p) in probs.iter().enumerate() {
            if x < *p {
                return i as u8;
            }
            x -= p;
        }
        (probs.len() - 1) as u8
    }

    /// A known mixture over the ten fields.
    fn truth() -> Mixture {
        let mut mix = Mixture::from_model(&MatchModel::prior(), 0.2);
        // Make u realistic for candidate pairs and distinct from m.
        for (f, field) in Field::ALL.iter().enumerate() {
            let n = field.levels().len();
            let mut u = vec![0.02; n];
            u[0] = 0.10;
            u[n - 1] = 1.0 - 0.10 - 0.02 * (n as f64 - 2.0);
            mix.u[f] = u;
            let mut m = vec![0.02; n];
            m[0] = 0.80;
            m[n - 1] = 1.0 - 0.80 - 0.02 * (n as f64 - 2.0);
            mix.m[f] = m;
        }
        mix
    }

    #[test]
    fn em_recovers_a_known_mixture() {
        let truth = truth();
        let mut rng = StdRng::seed_from_u64(7);
        let mut counted: HashMap<Pattern, u64> = HashMap::new();
        for _ in 0..60_000 {
            let is_match = rng.gen::<f64>() < truth.lambda;
            let mut p: Pattern = [None; 10];
            for (f, level) in p.iter_mut().enumerate() {
                // A fifth of fields missing at random.
                if rng.gen::<f64>() < 0.2 {
                    continue;
                }
                let probs = if is_match { &truth.m[f] } else { &truth.u[f] };
                *level = Some(sample(probs, &mut rng));
            }
            *counted.entry(p).or_default() += 1;
        }
        let patterns: Vec<(Pattern, u64)> = counted.into_iter().collect();
        // Start from the hand-set prior, far from the truth.
        let init = Mixture::from_model(&MatchModel::prior(), 0.05);
        let fit = fit_mixture(&patterns, init, None, 500, 1e-8);
        assert!(fit.converged, "converged in {} iterations", fit.iterations);
        assert!(
            (fit.lambda - truth.lambda).abs() < 0.01,
            "lambda {}",
            fit.lambda
        );
        for f in 0..10 {
            for l in 0..truth.m[f].len() {
                assert!(
                    (fit.m[f][l] - truth.m[f][l]).abs() < 0.02,
                    "m[{f}][{l}] {} vs {}",
                    fit.m[f][l],
                    truth.m[f][l]
                );
                assert!(
                    (fit.u[f][l] - truth.u[f][l]).abs() < 0.02,
                    "u[{f}][{l}] {} vs {}",
                    fit.u[f][l],
                    truth.u[f][l]
                );
            }
        }
        let total: f64 = patterns.iter().map(|(_, c)| *c as f64).sum();
        assert!((fit.expected_matches / total - fit.lambda).abs() < 1e-3);
    }

    #[test]
    fn em_with_a_strong_prior_stays_near_it() {
        let patterns: Vec<(Pattern, u64)> = vec![([Some(0); 10], 3), ([Some(1); 10], 2)];
        let prior = Mixture::from_model(&MatchModel::prior(), 0.05);
        let fit = fit_mixture(&patterns, prior.clone(), Some((&prior, 1e6)), 100, 1e-9);
        for f in 0..10 {
            for l in 0..prior.m[f].len() {
                assert!((fit.m[f][l] - prior.m[f][l]).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn train_refuses_too_small_databases() {
        let records = vec![MatchRecord::default(); 10];
        let err = train(
            &records,
            &MatchModel::prior(),
            &TrainingOptions::default(),
            0,
        )
        .unwrap_err();
        assert_eq!(
            err,
            TrainingError::TooFewRecords {
                records: 10,
                needed: 500
            }
        );
        // Many records but nothing to block on: no pairs.
        let records: Vec<MatchRecord> = (0..600)
            .map(|i| MatchRecord {
                email_key: Some(format!("person{i}@example.org")),
                ..Default::default()
            })
            .collect();
        let err = train(
            &records,
            &MatchModel::prior(),
            &TrainingOptions::default(),
            0,
        )
        .unwrap_err();
        assert!(matches!(err, TrainingError::TooFewPairs { .. }), "{err:?}");
    }

    #[test]
    fn term_frequency_tables() {
        let values = ["smith", "smith", "smith", "jones", "nguyen", "okafor"].map(String::from);
        let tf = term_frequencies(Field::LastName, values.into_iter(), 2);
        assert_eq!(tf.records, 6);
        assert_eq!(tf.count("smith"), Some(3));
        assert_eq!(tf.values.len(), 2);
        assert_eq!(tf.rest_mean_count, 1.0);
        let share = (0.5f64).powi(2) + 3.0 * (1.0f64 / 6.0).powi(2);
        assert!((tf.agreement_share - share).abs() < 1e-12);
    }

    #[test]
    fn candidate_pairs_are_unique_and_capped() {
        let r = MatchRecord {
            email_key: Some("a@x.org".into()),
            phone: Some("+4930123456".into()),
            ..Default::default()
        };
        let records = vec![r.clone(), r.clone(), r];
        // Shared by two keys, each pair listed once.
        assert_eq!(candidate_pairs(&records, 100), vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(candidate_pairs(&records, 2).len(), 2);
    }
}
