//! `leadline bench matching`: matching quality on generated lists with known truth
//! (issue 10). No server and no database: the lists are replayed through the domain's
//! matching exactly as captures would be (see `leadline_domain::matching_eval`).

use leadline_domain::demo::{consumer_list, trade_show_list, ConsumerConfig, TradeShowConfig};
use leadline_domain::matching::{train, MatchModel, ModelOrigin, TrainingOptions};
use leadline_domain::matching_eval::{
    evaluate, evidence_line, pass_yield, prepare, record_line, CandidatePolicy, EvalOptions,
    EvalReport, LabelledList, PassYield, Prepared,
};
use leadline_domain::LeadField;
use std::fmt::Write as _;
use std::time::Instant;

/// Which earlier values a new record is compared with (see `CandidatePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Candidates {
    /// Each lead's merged values and every record merged into it (issue 10).
    EveryRecord,
    /// Each lead's merged values only (the capture pipeline before issue 10).
    LeadValues,
}

/// Which match model a list is measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelChoice {
    /// EM-trained on the list itself, as `leadline matching train` does on a database.
    Trained,
    /// The hand-set prior.
    Prior,
}

pub struct MatchingPlan {
    pub model: ModelChoice,
    pub records: usize,
    pub seed: u64,
    pub candidates: Candidates,
    /// Examples printed per kind of false merge and per cause of misses.
    pub examples: usize,
}

/// The model measured on a list: trained on the list's own records (unsupervised: the
/// truth is never shown to it), or the prior. Training that finds too little to learn
/// from keeps the prior, as the server does.
fn model_for(prepared: &Prepared, choice: ModelChoice) -> MatchModel {
    let prior = MatchModel::prior();
    match choice {
        ModelChoice::Prior => prior,
        ModelChoice::Trained => {
            train(&prepared.records, &prior, &TrainingOptions::default(), 0).unwrap_or(prior)
        }
    }
}

fn model_line(model: &MatchModel) -> String {
    match &model.origin {
        ModelOrigin::Prior => "prior".to_string(),
        ModelOrigin::Trained(t) => format!(
            "trained on {} records, {} pairs, {} EM iterations{}, prior log2 odds {:+.2}",
            t.records,
            t.pairs,
            t.iterations,
            if t.converged { "" } else { " (not converged)" },
            model.prior_log2_odds
        ),
    }
}

struct Row {
    name: String,
    report: EvalReport,
    /// What each blocking pass costs and finds on the list.
    passes: Vec<PassYield>,
    seconds: f64,
}

fn measure(list: &LabelledList, opts: &EvalOptions, choice: ModelChoice) -> Row {
    let started = Instant::now();
    let prepared = prepare(list);
    let model = model_for(&prepared, choice);
    eprintln!("{}: model {}", list.name, model_line(&model));
    let report = evaluate(&prepared, &model, opts);
    let seconds = started.elapsed().as_secs_f64();
    Row {
        name: list.name.clone(),
        report,
        passes: pass_yield(&prepared.records, &prepared.person),
        seconds,
    }
}

pub fn run_matching(plan: &MatchingPlan) -> anyhow::Result<()> {
    anyhow::ensure!(plan.records > 0, "--records must be at least 1");
    let started = Instant::now();
    let b2b = trade_show_list(&TradeShowConfig::new(plan.records, plan.seed));
    let consumer = consumer_list(&ConsumerConfig::new(plan.records, plan.seed));
    let names_only = consumer.without_fields(
        "consumer, names and address only",
        &[LeadField::DateOfBirth, LeadField::Phone],
    );
    let generated = started.elapsed().as_secs_f64();
    let opts = EvalOptions {
        candidates: match plan.candidates {
            Candidates::EveryRecord => CandidatePolicy::EveryRecord,
            Candidates::LeadValues => CandidatePolicy::LeadValues,
        },
        examples: plan.examples,
    };
    let rows: Vec<Row> = [&b2b, &consumer, &names_only]
        .into_iter()
        .map(|list| measure(list, &opts, plan.model))
        .collect();
    let lists = [&b2b, &consumer, &names_only];

    let candidates = match plan.candidates {
        Candidates::EveryRecord => "every-record",
        Candidates::LeadValues => "lead-values",
    };
    println!(
        "`leadline bench matching --records {} --seed {} --candidates {candidates}` \
         (lists generated in {generated:.1} s; seconds below: normalising and replaying one list)\n",
        plan.records, plan.seed
    );
    print!("{}", table(&rows));
    for (row, list) in rows.iter().zip(lists) {
        print!("{}", details(row, list));
    }
    Ok(())
}

/// 12345 -> "12,345".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| list | records | true pairs | blocking recall | sure precision | sure recall | sure F1 \
         | sure+possible recall | household merges | seconds |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let r = &row.report;
        let distinguishable = r.household_merges - r.indistinguishable_household_merges;
        let household = if r.indistinguishable_household_merges > 0 {
            format!(
                "{distinguishable} (+{} identical)",
                r.indistinguishable_household_merges
            )
        } else {
            distinguishable.to_string()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {household} | {:.1} |",
            row.name,
            thousands(r.records as u64),
            thousands(r.true_pairs),
            r.blocking_recall(),
            r.precision(),
            r.recall(),
            r.f1(),
            r.possible_recall(),
            row.seconds
        );
    }
    out
}

fn details(row: &Row, list: &LabelledList) -> String {
    let r = &row.report;
    let mut out = String::new();
    let _ = writeln!(out, "\n### {}\n", row.name);
    let _ = writeln!(
        out,
        "{} records of {} people ({} rejected, {} values dropped by normalisation) -> {} leads; \
         {} merged pairs, {} correct; {} pairs of leads queued for review, {} of them one \
         person's leads; {} candidates scored, {} weak-key lookups skipped for block size.",
        thousands(r.records as u64),
        thousands(r.persons as u64),
        r.rejected,
        r.dropped_fields,
        thousands(r.leads as u64),
        thousands(r.merged_pairs),
        thousands(r.correct_pairs),
        thousands(r.possible_flags as u64),
        thousands(r.true_possible_flags as u64),
        thousands(r.comparisons),
        thousands(r.skipped_weak_keys),
    );

    let _ = writeln!(
        out,
        "\nBlocking passes, over the whole list at once (pairs sharing a key of the pass, \
         weak blocks over the cap left out; \"alone\": no other pass brings the pair together):\n\n\
         | pass | | pairs | true pairs | pairs alone | true pairs alone |\n\
         |---|---|---:|---:|---:|---:|"
    );
    for y in row.passes.iter().filter(|y| y.pairs > 0) {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            y.pass,
            y.description,
            thousands(y.pairs),
            thousands(y.true_pairs),
            thousands(y.only_here),
            thousands(y.true_only_here)
        );
    }

    let _ = writeln!(
        out,
        "\nFalse merges (sure merges into another person's lead):\n"
    );
    if r.false_merge_count.is_empty() {
        out.push_str("- none\n");
    }
    for (kind, n) in &r.false_merge_count {
        let _ = writeln!(out, "- {kind}: {n}");
        for fm in r.false_merges.iter().filter(|fm| &fm.kind == kind) {
            let _ = writeln!(
                out,
                "  - record {} `{}`\n    into `{}`{}\n    tags {:?} / {:?}; {}",
                fm.record,
                record_line(&fm.incoming_values),
                record_line(&fm.candidate_values),
                if fm.matched_lead_values {
                    " (lead's merged values)"
                } else {
                    ""
                },
                list.records[fm.record].tags,
                list.records[fm.matched].tags,
                evidence_line(&fm.evidence)
            );
        }
    }

    if !r.false_merge_causes.is_empty() {
        let mut causes: Vec<(&String, &usize)> = r.false_merge_causes.iter().collect();
        causes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let _ = writeln!(
            out,
            "\nFalse merges by the corruptions of the two records:\n"
        );
        for (cause, n) in causes {
            let _ = writeln!(out, "- {cause}: {n}");
        }
    }

    let mut causes: Vec<(&String, &u64)> = r.miss_count.iter().collect();
    causes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let missed: u64 = causes.iter().map(|c| *c.1).sum();
    let _ = writeln!(
        out,
        "\nMissed true pairs (not in one lead): {}, by what the model says of the pair alone:\n",
        thousands(missed)
    );
    for (cause, n) in causes {
        let _ = writeln!(out, "- {cause}: {}", thousands(*n));
        for m in r.misses.get(cause).into_iter().flatten() {
            let (a, b) = (&list.records[m.first], &list.records[m.second]);
            let _ = writeln!(
                out,
                "  - `{}` {:?}\n    `{}` {:?}\n    {}",
                input_line(&a.input),
                a.tags,
                input_line(&b.input),
                b.tags,
                evidence_line(&m.evidence)
            );
        }
    }

    let _ = writeln!(
        out,
        "\nBy corruption (true pairs one of whose records carries it):\n\n\
         | corruption | pairs | blocked | sure recall | sure+possible recall |\n\
         |---|---:|---:|---:|---:|"
    );
    for (kind, s) in &r.by_tag {
        let share = |x: u64| {
            if s.pairs == 0 {
                1.0
            } else {
                x as f64 / s.pairs as f64
            }
        };
        let _ = writeln!(
            out,
            "| {kind} | {} | {:.4} | {:.4} | {:.4} |",
            thousands(s.pairs),
            share(s.blocked),
            share(s.merged),
            share(s.found)
        );
    }
    out
}

/// A raw record on one line, as the list gives it.
fn input_line(i: &leadline_domain::LeadInput) -> String {
    [
        i.first_name.as_deref(),
        i.last_name.as_deref(),
        i.email.as_deref(),
        i.phone.as_deref(),
        i.company.as_deref(),
        i.title.as_deref(),
        i.street.as_deref(),
        i.postal_code.as_deref(),
        i.city.as_deref(),
        i.country.as_deref(),
        i.date_of_birth.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn table_has_one_row_per_list_and_the_promised_columns() {
        let list = consumer_list(&ConsumerConfig::new(300, 1));
        let row = measure(&list, &EvalOptions::default(), ModelChoice::Prior);
        let text = table(&[row]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("| sure+possible recall | household merges | seconds |"));
        assert!(lines[2].starts_with("| consumer | 300 | "));
        assert_eq!(lines[2].matches('|').count(), 11);
    }
}
