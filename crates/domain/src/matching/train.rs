//! Learning a match model from a database's own leads, as splink does.
//!
//! 1. Term frequencies of first names, surnames, companies and postcodes.
//! 2. u of every level from random pairs of records (nearly all two people); a level
//!    the sample barely shows keeps at least the hand-set prior's u.
//! 3. m by EM per blocking pass, u fixed, with the pass's own fields left out (its
//!    pairs were chosen for agreeing on them); each field's m is the average over the
//!    passes that estimated it, weighted by their expected matches. The prior's m
//!    enters as a Dirichlet prior worth a few hundred pairs.
//! 4. The population prior (the chance two random records are one person) by EM on
//!    it alone over all candidate pairs.
//! 5. Sanity bounds ([`constrain`]): households and neighbours fill the blocking
//!    passes, so a disagreement never counts for less than the prior says, another
//!    house number never for a match, and no near level more than the exact one.

use super::blocking::{training_keys, MAX_WEAK_BLOCK};
use super::levels::{observe, Field, Folded, NameFrequencies};
use super::model::{
    FieldParams, LevelParams, MatchModel, ModelOrigin, TermFrequencies, TrainingSummary,
};
use super::text::{folded, postal_key, present};
use super::{ComparisonOutcome, MatchRecord};
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
    /// Random pairs u is estimated from.
    pub random_pairs: usize,
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
            random_pairs: 1_000_000,
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

/// Keeps the learned weights sensible where the data misleads EM: within a blocking
/// pass's pairs, households and neighbours agree on everything but the first name,
/// so EM takes many of them for matches and a disagreement comes to count for little.
/// A clear disagreement counts against a match at least as much as the hand-set
/// prior says (the m it gives up goes to the exact level), and an exact agreement
/// never counts against one.
fn constrain(levels: &mut [LevelParams], prior: &[LevelParams]) {
    let last = levels.len() - 1;
    let floor = prior[last].weight().min(0.0);
    if levels[last].weight() > floor {
        let m = levels[last].u * floor.exp2();
        levels[0].m = (levels[0].m + levels[last].m - m).min(1.0 - FLOOR);
        levels[last].m = m.max(FLOOR);
    }
    if levels[0].m < levels[0].u {
        levels[0].u = levels[0].m;
    }
    // Another house number is another dwelling: it never counts for a match more than
    // the prior says (neighbours fill the postcode passes).
    for (l, p) in levels.iter_mut().zip(prior).take(last) {
        if l.level.outcome() == ComparisonOutcome::Disagree && l.weight() > p.weight() {
            l.m = l.u * p.weight().exp2();
        }
    }
    // A near agreement never says more than the same value (both names "swapped"
    // would otherwise count the one swap twice over).
    let exact = levels[0].weight();
    for l in levels.iter_mut().skip(1) {
        if l.weight() > exact {
            l.m = l.u * exact.exp2();
        }
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

/// The training keys' blocks of two leads or more and within the weak-block cap (as
/// capture skips larger ones), by key, in key order.
fn usable_blocks(records: &[MatchRecord]) -> Vec<(String, Vec<u32>)> {
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        for key in training_keys(r) {
            blocks.entry(key).or_default().push(i as u32);
        }
    }
    let mut usable: Vec<(String, Vec<u32>)> = blocks
        .into_iter()
        .filter(|(_, ids)| ids.len() >= 2 && ids.len() <= MAX_WEAK_BLOCK)
        .collect();
    usable.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    usable
}

/// The distinct pairs within these blocks, in block order, at most `max_pairs`.
fn distinct_pairs<'a>(
    blocks: impl Iterator<Item = &'a [u32]>,
    max_pairs: usize,
) -> Vec<(u32, u32)> {
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    let mut pairs = Vec::new();
    for ids in blocks {
        for (x, &i) in ids.iter().enumerate() {
            for &j in &ids[x + 1..] {
                let pair = (i.min(j), i.max(j));
                if seen.insert(pair) {
                    pairs.push(pair);
                    if pairs.len() >= max_pairs {
                        return pairs;
                    }
                }
            }
        }
    }
    pairs
}

/// Candidate pairs from blocking, deterministic and capped.
fn candidate_pairs(records: &[MatchRecord], max_pairs: usize) -> Vec<(u32, u32)> {
    let blocks = usable_blocks(records);
    distinct_pairs(blocks.iter().map(|(_, ids)| ids.as_slice()), max_pairs)
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

/// A small deterministic generator (splitmix64) for sampling random pairs: training
/// must give the same model for the same leads, whatever the `rand` version.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is below 2^-40 for any list we hold.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `count` pairs of distinct records drawn uniformly at random (all pairs when there
/// are fewer), deterministically.
fn random_pairs(n: usize, count: usize) -> Vec<(u32, u32)> {
    let all = n.saturating_sub(1) as u128 * n as u128 / 2;
    if all <= count as u128 {
        return (0..n as u32)
            .flat_map(|i| (i + 1..n as u32).map(move |j| (i, j)))
            .collect();
    }
    let mut rng = SplitMix(0x5EED_1EAD_11E5);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let (i, j) = (rng.below(n), rng.below(n));
        if i != j {
            out.push((i.min(j) as u32, i.max(j) as u32));
        }
    }
    out
}

/// u of every level from the patterns of random pairs: among random pairs nearly all
/// are two different people, so a level's share among them is its chance for a
/// non-match (splink's method). A level seen fewer than [`MIN_SEEN`] times (a swap of
/// first and last names, say) keeps at least the prior's u: a sample too small to
/// show it says only that it is rare, and an unbounded weight for a common name
/// written the other way round merged Mary Smith with Smith Mary.
fn u_from_random_pairs(patterns: &[(Pattern, u64)], prior_u: &[Vec<f64>]) -> Vec<Vec<f64>> {
    Field::ALL
        .iter()
        .enumerate()
        .map(|(f, field)| {
            let mut counts = vec![0.0f64; field.levels().len()];
            for (pattern, c) in patterns {
                if let Some(l) = pattern[f] {
                    counts[l as usize] += *c as f64;
                }
            }
            let sum: f64 = counts.iter().sum::<f64>().max(1.0);
            let raw: Vec<f64> = counts
                .iter()
                .zip(&prior_u[f])
                .map(|(&c, &p)| {
                    if c < MIN_SEEN {
                        (c / sum).max(p)
                    } else {
                        c / sum
                    }
                })
                .collect();
            let norm: f64 = raw.iter().sum();
            raw.into_iter()
                .map(|u| (u / norm).clamp(FLOOR, 1.0 - FLOOR))
                .collect()
        })
        .collect()
}

/// Fewer random pairs than this at a level say only that the level is rare.
const MIN_SEEN: f64 = 10.0;

/// A blocking pass training estimates m on, by key prefix, and the fields it leaves
/// out: the pass chose its pairs because they agree (or nearly agree) on those, so
/// among its pairs those fields say nothing about match or not.
const TRAINING_PASSES: &[(&str, &[Field])] = &[
    ("e", &[Field::Email]),
    ("p", &[Field::Phone]),
    ("l", &[Field::Email]),
    ("n", &[Field::LastName, Field::PostalCode]),
    ("a", &[Field::PostalCode, Field::Street]),
    ("r", &[Field::PostalCode, Field::Street]),
    ("t", &[Field::Street, Field::LastName]),
    ("w", &[Field::LastName]),
    ("f", &[Field::FirstName, Field::LastName]),
    ("m", &[Field::FirstName, Field::PostalCode]),
    ("d", &[Field::Domain, Field::LastName]),
    ("c", &[Field::Company, Field::FirstName, Field::LastName]),
    ("b", &[Field::DateOfBirth, Field::LastName]),
    ("g", &[Field::DateOfBirth, Field::FirstName]),
];

/// What EM found on one pass: m per field and level, and the expected number of
/// matching pairs that carried each field (the weight of this pass's m for it).
struct PassFit {
    m: Vec<Vec<f64>>,
    weight: Vec<f64>,
    iterations: u32,
    converged: bool,
}

/// EM over one pass's patterns with u fixed (from random pairs) and the pass's own
/// fields left out: only m and the share of matches among the pass's pairs are
/// estimated. The prior's m enters as a Dirichlet prior of `strength` pairs.
fn fit_m(
    patterns: &[(Pattern, u64)],
    u: &[Vec<f64>],
    prior_m: &[Vec<f64>],
    strength: f64,
    max_iterations: u32,
    tolerance: f64,
) -> PassFit {
    let mut m = prior_m.to_vec();
    let mut lambda: f64 = 0.1;
    let mut weight = vec![0.0; u.len()];
    let log_u: Vec<Vec<f64>> = u
        .iter()
        .map(|f| f.iter().map(|p| p.ln()).collect())
        .collect();
    let mut fit = PassFit {
        m: m.clone(),
        weight: weight.clone(),
        iterations: 0,
        converged: false,
    };
    for iteration in 1..=max_iterations {
        let log_prior = lambda.ln() - (1.0f64 - lambda).ln();
        let mut counts: Vec<Vec<f64>> = u.iter().map(|f| vec![0.0; f.len()]).collect();
        let (mut matches, mut total) = (0.0, 0.0);
        weight.iter_mut().for_each(|w| *w = 0.0);
        for (pattern, c) in patterns {
            let mut log_ratio = log_prior;
            for (f, level) in pattern.iter().enumerate() {
                if let Some(l) = level {
                    log_ratio += m[f][*l as usize].ln() - log_u[f][*l as usize];
                }
            }
            let w = 1.0 / (1.0 + (-log_ratio).exp());
            let c = *c as f64;
            matches += c * w;
            total += c;
            for (f, level) in pattern.iter().enumerate() {
                if let Some(l) = level {
                    counts[f][*l as usize] += c * w;
                    weight[f] += c * w;
                }
            }
        }
        let mut change: f64 = 0.0;
        for f in 0..m.len() {
            let sum: f64 = counts[f].iter().sum::<f64>() + strength;
            if sum <= 0.0 {
                continue; // a field none of the pairs carries (or left out) keeps its m
            }
            let new: Vec<f64> = counts[f]
                .iter()
                .zip(&prior_m[f])
                .map(|(c, p)| ((c + p * strength) / sum).clamp(FLOOR, 1.0 - FLOOR))
                .collect();
            for (a, b) in new.iter().zip(&m[f]) {
                change = change.max((a - b).abs());
            }
            m[f] = new;
        }
        let new_lambda = if total > 0.0 {
            (matches / total).clamp(FLOOR, 1.0 - FLOOR)
        } else {
            lambda
        };
        change = change.max((new_lambda - lambda).abs());
        lambda = new_lambda;
        fit.iterations = iteration;
        if change < tolerance {
            fit.converged = true;
            break;
        }
    }
    fit.m = m;
    fit.weight = weight;
    fit
}

/// Pairs of each training pass, from the training keys' blocks (weak blocks over the
/// cap skipped, as in capture), each pass capped at `max_pairs`, deterministic.
fn pass_pairs(records: &[MatchRecord], max_pairs: usize) -> Vec<Vec<(u32, u32)>> {
    let blocks = usable_blocks(records);
    TRAINING_PASSES
        .iter()
        .map(|(prefix, _)| {
            let of_pass = blocks
                .iter()
                .filter(|(key, _)| key.split(':').next() == Some(prefix))
                .map(|(_, ids)| ids.as_slice());
            distinct_pairs(of_pass, max_pairs)
        })
        .collect()
}

/// Counts the patterns of `pairs`, with the fields of `mask` left out.
fn count_patterns(
    pairs: &[(u32, u32)],
    records: &[MatchRecord],
    folded: &[Folded],
    freqs: NameFrequencies<'_>,
    mask: &[Field],
) -> Vec<(Pattern, u64)> {
    let mut counted: HashMap<Pattern, u64> = HashMap::new();
    for &(i, j) in pairs {
        let (i, j) = (i as usize, j as usize);
        let mut p = pattern_of((&records[i], &folded[i]), (&records[j], &folded[j]), freqs);
        for f in mask {
            p[f.index()] = None;
        }
        *counted.entry(p).or_default() += 1;
    }
    let mut patterns: Vec<(Pattern, u64)> = counted.into_iter().collect();
    patterns.sort();
    patterns
}

/// The share of matches among all pairs of records (the prior of a random pair),
/// by EM on λ alone with m and u fixed: the candidate pairs hold nearly every match,
/// and a pair blocking never brings together is as good as certainly two people.
fn population_lambda(
    patterns: &[(Pattern, u64)],
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    all_pairs: f64,
) -> (f64, f64) {
    let bits: Vec<(f64, f64)> = patterns
        .iter()
        .map(|(pattern, c)| {
            let mut log_ratio = 0.0;
            for (f, level) in pattern.iter().enumerate() {
                if let Some(l) = level {
                    log_ratio += (m[f][*l as usize] / u[f][*l as usize]).ln();
                }
            }
            (log_ratio, *c as f64)
        })
        .collect();
    let mut lambda = 1e-4f64;
    let mut matches = 0.0;
    for _ in 0..200 {
        let log_prior = lambda.ln() - (1.0 - lambda).ln();
        matches = bits
            .iter()
            .map(|(r, c)| c / (1.0 + (-(log_prior + r)).exp()))
            .sum::<f64>();
        let new = (matches / all_pairs).clamp(FLOOR * FLOOR, 0.5);
        let done = (new / lambda - 1.0).abs() < 1e-9;
        lambda = new;
        if done {
            break;
        }
    }
    (lambda, matches)
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

    // 1. u from random pairs.
    let random = random_pairs(records.len(), options.random_pairs);
    let prior = MatchModel::prior();
    let prior_mix = Mixture::from_model(&prior, 0.0);
    let u = u_from_random_pairs(
        &count_patterns(&random, records, &folded, freqs, &[]),
        &prior_mix.u,
    );

    // 2. m by EM per pass, u fixed, the pass's own fields left out; each field's m is
    //    the average over the passes that estimated it, weighted by their expected
    //    matches carrying the field.
    let prior_m = prior_mix.m.clone();
    let mut m_sum: Vec<Vec<f64>> = u.iter().map(|f| vec![0.0; f.len()]).collect();
    let mut m_weight = vec![0.0; u.len()];
    let (mut iterations, mut converged) = (0, true);
    let per_pass = (options.max_pairs / TRAINING_PASSES.len()).max(1);
    for ((_, mask), pairs) in TRAINING_PASSES.iter().zip(pass_pairs(records, per_pass)) {
        if pairs.len() < options.min_pairs {
            continue;
        }
        let patterns = count_patterns(&pairs, records, &folded, freqs, mask);
        let fit = fit_m(
            &patterns,
            &u,
            &prior_m,
            options.prior_strength,
            options.max_iterations,
            options.tolerance,
        );
        iterations = iterations.max(fit.iterations);
        converged &= fit.converged;
        for f in 0..u.len() {
            if mask.iter().any(|x| x.index() == f) || fit.weight[f] <= 0.0 {
                continue;
            }
            for (sum, m) in m_sum[f].iter_mut().zip(&fit.m[f]) {
                *sum += m * fit.weight[f];
            }
            m_weight[f] += fit.weight[f];
        }
    }
    let m: Vec<Vec<f64>> = (0..u.len())
        .map(|f| {
            if m_weight[f] > 0.0 {
                m_sum[f].iter().map(|s| s / m_weight[f]).collect()
            } else {
                prior_m[f].clone()
            }
        })
        .collect();

    // 3. The population prior, over the candidate pairs of all passes.
    let patterns = count_patterns(&pairs, records, &folded, freqs, &[]);
    let n = records.len() as f64;
    let (lambda, expected_matches) = population_lambda(&patterns, &m, &u, n * (n - 1.0) / 2.0);

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
                    m: m[f][l],
                    u: u[f][l],
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
            iterations,
            converged,
            expected_matches,
        }),
        prior_log2_odds: (lambda / (1.0 - lambda)).log2(),
        sure_probability: current.sure_probability,
        possible_probability: current.possible_probability,
        fields,
        term_frequencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Level;
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
        let patterns = draw(&truth, 60_000, 7);
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

    /// Patterns of `n` pairs drawn from a known mixture (a fifth of fields missing).
    fn draw(truth: &Mixture, n: usize, seed: u64) -> Vec<(Pattern, u64)> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut counted: HashMap<Pattern, u64> = HashMap::new();
        for _ in 0..n {
            let is_match = rng.gen::<f64>() < truth.lambda;
            let mut p: Pattern = [None; 10];
            for (f, level) in p.iter_mut().enumerate() {
                if rng.gen::<f64>() < 0.2 {
                    continue;
                }
                let probs = if is_match { &truth.m[f] } else { &truth.u[f] };
                *level = Some(sample(probs, &mut rng));
            }
            *counted.entry(p).or_default() += 1;
        }
        let mut patterns: Vec<(Pattern, u64)> = counted.into_iter().collect();
        patterns.sort();
        patterns
    }

    #[test]
    fn u_from_random_pairs_recovers_the_non_match_shares_and_keeps_rare_levels_bounded() {
        let mut truth = truth();
        truth.lambda = 1e-4; // random pairs: nearly all two people
        let patterns = draw(&truth, 200_000, 11);
        let prior = Mixture::from_model(&MatchModel::prior(), 0.0);
        let u = u_from_random_pairs(&patterns, &prior.u);
        for (f, (got, want)) in u.iter().zip(&truth.u).enumerate() {
            for (l, (g, w)) in got.iter().zip(want).enumerate() {
                assert!((g - w).abs() < 0.005, "u[{f}][{l}] {g} vs {w}");
            }
        }
        // A level never seen keeps the prior's u rather than an unbounded weight.
        let mut disagree: Pattern = [None; 10];
        disagree[Field::FirstName.index()] = Some(6);
        let never: Vec<(Pattern, u64)> = vec![(disagree, 1_000_000)];
        let u = u_from_random_pairs(&never, &prior.u);
        let first = Field::FirstName.index();
        let swapped = Field::FirstName
            .levels()
            .iter()
            .position(|l| *l == Level::Swapped)
            .unwrap();
        assert!(u[first][swapped] >= prior.u[first][swapped] * 0.95);
    }

    #[test]
    fn em_with_u_fixed_recovers_m_and_leaves_masked_fields_alone() {
        let truth = truth();
        let mask = [Field::LastName, Field::PostalCode];
        let mut patterns = draw(&truth, 60_000, 5);
        for (p, _) in patterns.iter_mut() {
            for f in mask {
                p[f.index()] = None;
            }
        }
        let prior = Mixture::from_model(&MatchModel::prior(), 0.0);
        let fit = fit_m(&patterns, &truth.u, &prior.m, 0.0, 500, 1e-9);
        assert!(fit.converged, "{} iterations", fit.iterations);
        for f in 0..10 {
            let masked = mask.iter().any(|x| x.index() == f);
            assert_eq!(fit.weight[f] == 0.0, masked, "field {f}");
            for l in 0..truth.m[f].len() {
                let want = if masked { prior.m[f][l] } else { truth.m[f][l] };
                assert!(
                    (fit.m[f][l] - want).abs() < 0.02,
                    "m[{f}][{l}] {} vs {want}",
                    fit.m[f][l]
                );
            }
        }
    }

    #[test]
    fn population_lambda_recovers_the_share_of_matches() {
        // Well-separated classes, as real fields are (an exact name or address is
        // rare between two people).
        let mut truth = truth();
        for f in 0..10 {
            let n = truth.m[f].len();
            truth.u[f] = vec![0.01 / (n as f64 - 1.0); n];
            truth.u[f][n - 1] = 0.99;
            truth.m[f] = vec![0.05 / (n as f64 - 1.0); n];
            truth.m[f][0] = 0.95;
        }
        // 30,000 candidate pairs drawn with a 20 % match share, among 3 million pairs.
        let patterns = draw(&truth, 30_000, 9);
        let (lambda, matches) = population_lambda(&patterns, &truth.m, &truth.u, 3e6);
        assert!((matches - 6_000.0).abs() < 300.0, "{matches} matches");
        assert!((lambda - 0.002).abs() < 1e-4, "lambda {lambda}");
    }

    #[test]
    fn random_pairs_are_distinct_deterministic_and_all_when_few() {
        assert_eq!(
            random_pairs(4, 100),
            [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        );
        assert!(random_pairs(1, 10).is_empty());
        let a = random_pairs(1_000, 5_000);
        assert_eq!(a.len(), 5_000);
        assert!(a.iter().all(|&(i, j)| i < j && j < 1_000));
        assert_eq!(a, random_pairs(1_000, 5_000));
    }

    #[test]
    fn constrain_keeps_partial_levels_below_exact_and_disagreement_negative() {
        let prior = MatchModel::prior();
        let street = &prior.field(Field::Street).levels;
        let mut levels = street.clone();
        // As EM over neighbours gives them: another house number and a disagreement
        // counting for a match, a close street above the exact one.
        let set = |ls: &mut Vec<LevelParams>, level: Level, m: f64, u: f64| {
            let l = ls.iter_mut().find(|l| l.level == level).unwrap();
            l.m = m;
            l.u = u;
        };
        set(&mut levels, Level::Exact, 0.5, 0.001);
        set(&mut levels, Level::Close, 0.1, 0.0001);
        set(&mut levels, Level::NumberDiffers, 0.2, 0.01);
        set(&mut levels, Level::Disagree, 0.1, 0.9);
        constrain(&mut levels, street);
        let w = |level: Level| levels.iter().find(|l| l.level == level).unwrap().weight();
        assert!(w(Level::Close) <= w(Level::Exact) + 1e-9);
        let prior_w = |level: Level| street.iter().find(|l| l.level == level).unwrap().weight();
        assert!(w(Level::NumberDiffers) <= prior_w(Level::NumberDiffers) + 1e-9);
        assert!(w(Level::Disagree) <= prior_w(Level::Disagree) + 1e-9);
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
