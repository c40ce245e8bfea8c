//! `leadline matching show`: the match model in force as a readable table.

use leadline_domain::matching::{MatchModel, ModelOrigin};
use std::fmt::Write;

/// Most common values shown per term-frequency table.
const TOP_VALUES: usize = 5;

pub fn render(model: &MatchModel) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "match model version {}", model.version);
    match &model.origin {
        ModelOrigin::Prior => {
            let _ = writeln!(
                out,
                "origin: hand-set prior (not trained on this database yet)"
            );
        }
        ModelOrigin::Trained(t) => {
            let _ = writeln!(
                out,
                "origin: trained at {} on {} leads, {} candidate pairs ({} patterns), {} EM iterations, {}, {:.0} expected matching pairs",
                time::OffsetDateTime::from_unix_timestamp(t.trained_at)
                    .ok()
                    .and_then(|ts| ts.format(&time::format_description::well_known::Rfc3339).ok())
                    .unwrap_or_else(|| t.trained_at.to_string()),
                t.records,
                t.pairs,
                t.patterns,
                t.iterations,
                if t.converged { "converged" } else { "NOT converged" },
                t.expected_matches
            );
        }
    }
    let prior_p = model.probability(0.0);
    let _ = writeln!(
        out,
        "prior: log2 odds {:+.2} (two leads picked at random are one person with probability {prior_p:.3e} before any evidence; {})",
        model.prior_log2_odds,
        match &model.origin {
            ModelOrigin::Prior => "hand-set",
            ModelOrigin::Trained(_) => "the population prior, learned from these leads",
        }
    );
    let bits = |p: f64| (p / (1.0 - p)).log2() - model.prior_log2_odds;
    let _ = writeln!(
        out,
        "sure merge at probability >= {} (score >= {:.1} bits), review at >= {} (score >= {:.1} bits)\n",
        model.sure_probability,
        bits(model.sure_probability),
        model.possible_probability,
        bits(model.possible_probability)
    );
    let _ = writeln!(
        out,
        "{:<14} {:<18} {:>10} {:>10} {:>9}",
        "field", "level", "m", "u", "bits"
    );
    for field in &model.fields {
        for level in &field.levels {
            let _ = writeln!(
                out,
                "{:<14} {:<18} {:>10.6} {:>10.6} {:>+9.2}",
                field.field.name(),
                level.level.name(),
                level.m,
                level.u,
                level.weight()
            );
        }
    }
    for tf in &model.term_frequencies {
        let mut top: Vec<(&String, &u64)> = tf.values.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let shown: Vec<String> = top
            .iter()
            .take(TOP_VALUES)
            .map(|(v, c)| format!("{v} ({c}, {:+.1} bits)", tf.adjustment(v)))
            .collect();
        let _ = writeln!(
            out,
            "\nterm frequencies of {}: {} records, {} values listed; most common: {}",
            tf.field.name(),
            tf.records,
            tf.values.len(),
            shown.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_report_lists_every_level() {
        let model = MatchModel::prior();
        let text = render(&model);
        assert!(text.contains("hand-set prior"), "{text}");
        let rows = text
            .lines()
            .filter(|l| l.starts_with("first_name "))
            .count();
        assert_eq!(rows, model.fields[2].levels.len());
        assert!(text.contains("score >= 20.0 bits"), "{text}");
        assert!(
            text.contains("prior: log2 odds -10.00 (two leads picked at random are one person with probability 9.756e-4 before any evidence; hand-set)"),
            "{text}"
        );
    }
}
