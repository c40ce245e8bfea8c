use super::*;
use crate::conditions::{ConditionError, Operator};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const NOW: i64 = 1_750_000_000_000;
const EPS: f64 = 1e-9;

fn facts(pairs: &[(&str, Value)]) -> Facts {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn cond(field: &str, op: Operator, value: Value) -> Condition {
    Condition {
        field: field.into(),
        op,
        value,
    }
}

fn fit_rule(id: &str, points: f64, conditions: Vec<Condition>) -> FitRule {
    FitRule {
        id: id.into(),
        name: format!("{id} name"),
        conditions,
        points,
    }
}

fn eng_rule(id: &str, event_type: &str, points: f64, half_life: Option<f64>) -> EngagementRule {
    EngagementRule {
        id: id.into(),
        name: format!("{id} name"),
        event_type: event_type.into(),
        points,
        half_life_days: half_life,
        max_per_day: None,
    }
}

fn act(event_type: &str, occurred_at: i64) -> Activity {
    Activity {
        event_type: event_type.into(),
        occurred_at,
    }
}

fn config(fit: Vec<FitRule>, engagement: Vec<EngagementRule>) -> ScoringConfig {
    ScoringConfig {
        fit,
        engagement,
        thresholds: Thresholds::default(),
    }
}

fn days(d: f64) -> i64 {
    (d * DAY_MS as f64) as i64
}

/// The invariants every score must keep, whatever the input.
fn assert_adds_up(s: &Score) {
    let fit: f64 = s
        .parts
        .iter()
        .filter(|p| p.kind == RuleKind::Fit)
        .map(|p| p.points)
        .sum();
    let engagement: f64 = s
        .parts
        .iter()
        .filter(|p| p.kind == RuleKind::Engagement)
        .map(|p| p.points)
        .sum();
    let all: f64 = s.parts.iter().map(|p| p.points).sum();
    assert!((s.fit - fit).abs() < EPS, "fit {} vs parts {fit}", s.fit);
    assert!(
        (s.engagement - engagement).abs() < EPS,
        "engagement {} vs parts {engagement}",
        s.engagement
    );
    assert!(
        (s.total - all).abs() < EPS,
        "total {} vs parts {all}",
        s.total
    );
    assert!((s.total - (s.fit + s.engagement)).abs() < EPS);
    for p in &s.parts {
        assert!(p.points.is_finite() && p.base_points.is_finite(), "{p:?}");
        assert!(
            ((p.points * 100.0).round() - p.points * 100.0).abs() < 1e-6,
            "not cents: {p:?}"
        );
    }
}

// ---------------------------------------------------------------- decay

#[test]
fn decay_follows_the_half_life() {
    let cases: &[(f64, f64, i64, f64)] = &[
        // points, half-life days, age ms, expected
        (10.0, 7.0, 0, 10.0),
        (10.0, 7.0, days(7.0), 5.0),
        (10.0, 7.0, days(14.0), 2.5),
        (10.0, 7.0, days(21.0), 1.25),
        (60.0, 60.0, days(60.0), 30.0),
        (8.0, 0.5, DAY_MS / 2, 4.0),
        (-20.0, 10.0, days(10.0), -10.0),
        (10.0, 7.0, -days(3.0), 10.0),
        (10.0, 7.0, i64::MIN, 10.0),
        (10.0, f64::INFINITY, days(10_000.0), 10.0),
        (10.0, f64::INFINITY, i64::MAX, 10.0),
        (10.0, 7.0, i64::MAX, 0.0),
        (0.0, 7.0, days(3.0), 0.0),
        // Out of range input: no panic, no NaN.
        (10.0, f64::NAN, days(3.0), 10.0),
        (10.0, 0.0, days(3.0), 10.0),
        (10.0, -5.0, days(3.0), 10.0),
        (f64::NAN, 7.0, days(3.0), 0.0),
        (f64::INFINITY, 7.0, days(3.0), 0.0),
        (f64::NEG_INFINITY, f64::INFINITY, 0, 0.0),
    ];
    for &(points, half_life, age, expected) in cases {
        let got = decayed_points(points, half_life, age);
        assert!(
            (got - expected).abs() < 1e-12,
            "decayed_points({points}, {half_life}, {age}) = {got}, want {expected}"
        );
    }
    // Whole half-lives are exact, not merely close.
    assert_eq!(decayed_points(10.0, 7.0, days(7.0)), 5.0);
    assert_eq!(decayed_points(10.0, 7.0, days(14.0)), 2.5);
}

#[test]
fn decay_is_monotonic_and_continuous() {
    let mut last = decayed_points(100.0, 3.0, 0);
    for hour in 1..=24 * 60 {
        let now = decayed_points(100.0, 3.0, hour * 3_600_000);
        assert!(now <= last && now > 0.0 || now == 0.0);
        // One hour never takes more than 1% off with a 3-day half-life.
        assert!(last - now <= last * 0.01 + 1e-12);
        last = now;
    }
}

// ---------------------------------------------------------------- scoring

fn vp_facts() -> Facts {
    facts(&[
        ("title", json!("VP of Sales")),
        ("country", json!("GB")),
        ("company", json!("Acme Widgets Ltd")),
        ("email_domain", json!("acme.co.uk")),
        ("custom.employees", json!("500")),
    ])
}

#[test]
fn default_config_is_valid_and_has_every_standard_event() {
    let config = ScoringConfig::default();
    assert_eq!(config.validate(), Ok(()));
    for event in EVENT_TYPES {
        assert!(
            config.engagement.iter().any(|r| r.event_type == *event),
            "no default rule for {event}"
        );
    }
}

#[test]
fn default_config_puts_a_vp_who_requested_a_demo_yesterday_above_sql() {
    let config = ScoringConfig::default();
    let activities = [act("demo_requested", NOW - DAY_MS)];
    let s = score(&config, &vp_facts(), &activities, NOW);
    assert_adds_up(&s);
    assert_eq!(s.fit, 40.0, "{}", s.explain());
    assert!((s.engagement - 59.31).abs() < 0.005, "{}", s.explain());
    assert!(s.total >= config.thresholds.sql, "{}", s.explain());
    assert_eq!(stage_for(&s, &config.thresholds), Some("sql"));

    let ids: Vec<&str> = s.parts.iter().map(|p| p.rule_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "senior-title",
            "company-mid",
            "business-email",
            "core-market",
            "demo-requested"
        ]
    );
    let demo = s.parts.last().unwrap();
    assert_eq!(demo.kind, RuleKind::Engagement);
    assert_eq!(demo.base_points, 60.0);
    assert_eq!(demo.event_type.as_deref(), Some("demo_requested"));
    assert_eq!(demo.occurred_at, Some(NOW - DAY_MS));
    assert_eq!(demo.age_days, Some(1.0));
    assert_eq!(demo.half_life_days, Some(60.0));

    // The same profile with no activity is a target, never an MQL on fit alone.
    let cold = score(&config, &vp_facts(), &[], NOW);
    assert_eq!(stage_for(&cold, &config.thresholds), Some("target"));
}

#[test]
fn default_config_leaves_a_low_fit_newsletter_signup_below_target() {
    let config = ScoringConfig::default();
    let f = facts(&[
        ("title", json!("Student")),
        ("email_domain", json!("gmail.com")),
        ("country", json!("BR")),
    ]);
    let s = score(&config, &f, &[act("form_submitted", NOW)], NOW);
    assert_adds_up(&s);
    assert_eq!(s.fit, -10.0);
    assert_eq!(s.engagement, 10.0);
    assert_eq!(stage_for(&s, &config.thresholds), None);
}

#[test]
fn the_best_possible_profile_alone_stays_below_mql_by_default() {
    let config = ScoringConfig::default();
    let f = facts(&[
        ("title", json!("Chief Revenue Officer and Team Lead")),
        ("country", json!("DE")),
        ("email_domain", json!("big.de")),
        ("custom.employees", json!(50_000)),
        ("custom.budget", json!("1,000,000")),
    ]);
    let s = score(&config, &f, &[], NOW);
    assert_eq!(s.fit, 55.0, "{}", s.explain());
    assert!(s.total < config.thresholds.mql);
}

#[test]
fn negative_fit_rules_subtract_and_can_make_the_score_negative() {
    let config = config(
        vec![
            fit_rule(
                "senior",
                15.0,
                vec![cond("title", Operator::ContainsAnyWord, json!(["VP"]))],
            ),
            fit_rule(
                "low-budget",
                -20.0,
                vec![cond("custom.budget", Operator::Lt, json!(5000))],
            ),
            fit_rule("base", 2.5, vec![]),
        ],
        vec![],
    );
    let cases = [
        (facts(&[("title", json!("VP"))]), 17.5),
        (facts(&[("custom.budget", json!("4,000"))]), -17.5),
        (
            facts(&[("title", json!("VP IT")), ("custom.budget", json!(100))]),
            -2.5,
        ),
        // A missing budget is not a low budget.
        (facts(&[("title", json!("Engineer"))]), 2.5),
    ];
    for (f, expected) in cases {
        let s = score(&config, &f, &[], NOW);
        assert_adds_up(&s);
        assert_eq!(s.total, expected, "{f:?}: {}", s.explain());
        assert_eq!(s.engagement, 0.0);
    }
}

#[test]
fn one_activity_can_match_several_rules_and_each_gives_a_part() {
    let config = config(
        vec![],
        vec![
            eng_rule("a", "webinar_attended", 10.0, Some(10.0)),
            eng_rule("b", "WEBINAR_attended", 5.0, None),
            eng_rule("c", "email_opened", 1.0, Some(10.0)),
        ],
    );
    let s = score(
        &config,
        &Facts::new(),
        &[act(" Webinar_Attended ", NOW - days(10.0))],
        NOW,
    );
    assert_adds_up(&s);
    assert_eq!(s.parts.len(), 2);
    assert_eq!(s.parts[0].rule_id, "a");
    assert_eq!(s.parts[0].points, 5.0);
    assert_eq!(s.parts[1].rule_id, "b");
    assert_eq!(s.parts[1].points, 5.0);
    assert_eq!(s.parts[1].half_life_days, None);
    assert_eq!(s.total, 10.0);
}

#[test]
fn engagement_parts_are_newest_first_and_rounded_to_cents() {
    let config = config(vec![], vec![eng_rule("v", "page_visited", 1.0, Some(3.0))]);
    let activities = [
        act("page_visited", NOW - DAY_MS),
        act("page_visited", NOW - 3_600_000),
        act("page_visited", NOW - days(2.0)),
        act("email_opened", NOW),
    ];
    let s = score(&config, &Facts::new(), &activities, NOW);
    assert_adds_up(&s);
    let times: Vec<i64> = s.parts.iter().filter_map(|p| p.occurred_at).collect();
    assert_eq!(times, [NOW - 3_600_000, NOW - DAY_MS, NOW - days(2.0)]);
    // 2^(-1/72) = 0.99042…, 2^(-1/3) = 0.79370…, 2^(-2/3) = 0.62996…
    let points: Vec<f64> = s.parts.iter().map(|p| p.points).collect();
    assert_eq!(points, [0.99, 0.79, 0.63]);
    assert_eq!(s.total, 2.41);
}

#[test]
fn future_activities_count_in_full_and_say_so() {
    let config = config(
        vec![],
        vec![eng_rule("d", "demo_requested", 60.0, Some(1.0))],
    );
    let s = score(
        &config,
        &Facts::new(),
        &[act("demo_requested", NOW + 90_000)],
        NOW,
    );
    assert_eq!(s.total, 60.0);
    assert!(s.parts[0].age_days.unwrap() < 0.0);
    assert!(s.explain().contains("clock skew"));
}

#[test]
fn max_per_day_keeps_the_earliest_activities_of_each_utc_day() {
    let mut rule = eng_rule("o", "email_opened", 1.0, None);
    rule.max_per_day = Some(2);
    let config = config(vec![], vec![rule]);
    let day = NOW.div_euclid(DAY_MS) * DAY_MS; // midnight UTC
    let activities = [
        act("email_opened", day + 5_000),
        act("email_opened", day + 1_000),
        act("email_opened", day + 3_000),
        act("email_opened", day + 2_000),
        act("email_opened", day - 1),      // the day before
        act("email_opened", day + DAY_MS), // the next day
    ];
    let s = score(&config, &Facts::new(), &activities, day + 2 * DAY_MS);
    assert_adds_up(&s);
    assert_eq!(s.capped, 2);
    assert_eq!(s.total, 4.0);
    let mut kept: Vec<i64> = s.parts.iter().filter_map(|p| p.occurred_at).collect();
    kept.sort_unstable();
    assert_eq!(kept, [day - 1, day + 1_000, day + 2_000, day + DAY_MS]);
    assert!(s.explain().contains("daily cap"));
}

#[test]
fn faded_activities_leave_the_explanation_but_are_counted() {
    let config = config(vec![], vec![eng_rule("v", "page_visited", 2.0, Some(7.0))]);
    let activities = [
        act("page_visited", NOW - days(365.0)),
        act("page_visited", NOW - days(7.0)),
    ];
    let s = score(&config, &Facts::new(), &activities, NOW);
    assert_adds_up(&s);
    assert_eq!(s.parts.len(), 1);
    assert_eq!(s.faded, 1);
    assert_eq!(s.total, 1.0);
    assert!(s.explain().contains("faded"));
}

#[test]
fn scores_do_not_depend_on_activity_order() {
    let config = ScoringConfig::default();
    let mut rng = StdRng::seed_from_u64(7);
    let mut activities: Vec<Activity> = (0..60)
        .map(|_| {
            act(
                EVENT_TYPES.choose(&mut rng).unwrap(),
                NOW - rng.gen_range(-DAY_MS..days(90.0)) / 1000 * 1000,
            )
        })
        .collect();
    let first = score(&config, &vp_facts(), &activities, NOW);
    for _ in 0..20 {
        activities.shuffle(&mut rng);
        assert_eq!(score(&config, &vp_facts(), &activities, NOW), first);
    }
}

#[test]
fn unvalidated_configs_still_score_without_nan_or_panic() {
    let mut bad = eng_rule("x", "", f64::NAN, Some(-1.0));
    bad.max_per_day = Some(0);
    let config = ScoringConfig {
        fit: vec![
            fit_rule("", f64::INFINITY, vec![]),
            fit_rule("huge", 1e300, vec![]),
        ],
        engagement: vec![bad, eng_rule("y", "e", 1e300, Some(f64::NAN))],
        thresholds: Thresholds {
            target: f64::NAN,
            mql: 1.0,
            sql: 0.0,
        },
    };
    let s = score(
        &config,
        &Facts::new(),
        &[act("", i64::MIN), act("e", i64::MAX)],
        i64::MIN,
    );
    assert!(s.total.is_finite() && s.fit.is_finite() && s.engagement.is_finite());
    let _ = stage_for(&s, &config.thresholds);
    let _ = next_decay_check(&config, &Facts::new(), &[act("e", i64::MAX)], i64::MIN);
    let _ = s.explain();
}

/// Explanations add up for random rule sets, activities and clocks.
#[test]
fn explanation_sums_to_the_score_for_random_configs() {
    let mut rng = StdRng::seed_from_u64(0x01ea_d11e);
    let fields = ["title", "country", "custom.employees", "custom.budget"];
    let events = ["email_opened", "page_visited", "demo_requested", "x"];
    for iteration in 0..200 {
        let fit: Vec<FitRule> = (0..rng.gen_range(0..8))
            .map(|i| {
                let conditions = (0..rng.gen_range(0..3))
                    .map(|_| match rng.gen_range(0..4) {
                        0 => cond("title", Operator::ContainsAnyWord, json!(["VP", "Head"])),
                        1 => cond("country", Operator::In, json!(["GB", "DE"])),
                        2 => cond(
                            "custom.employees",
                            Operator::Gte,
                            json!(rng.gen_range(0..1000)),
                        ),
                        _ => cond("custom.budget", Operator::Lt, json!(5000)),
                    })
                    .collect();
                fit_rule(&format!("f{i}"), rng.gen_range(-50.0..50.0), conditions)
            })
            .collect();
        let engagement: Vec<EngagementRule> = (0..rng.gen_range(0..8))
            .map(|i| {
                let half_life = match rng.gen_range(0..4) {
                    0 => None,
                    1 => Some(f64::INFINITY),
                    _ => Some(rng.gen_range(0.1..120.0)),
                };
                let mut rule = eng_rule(
                    &format!("e{i}"),
                    events[rng.gen_range(0..events.len())],
                    rng.gen_range(-30.0..80.0),
                    half_life,
                );
                if rng.gen_bool(0.3) {
                    rule.max_per_day = Some(rng.gen_range(1..4));
                }
                rule
            })
            .collect();
        let config = config(fit, engagement);
        assert_eq!(config.validate(), Ok(()), "iteration {iteration}");
        let now = NOW + rng.gen_range(-days(10.0)..days(10.0));
        let activities: Vec<Activity> = (0..rng.gen_range(0..40))
            .map(|_| {
                act(
                    events[rng.gen_range(0..events.len())],
                    now - rng.gen_range(-days(2.0)..days(400.0)),
                )
            })
            .collect();
        let mut f = Facts::new();
        for field in fields {
            if rng.gen_bool(0.6) {
                let value = match field {
                    "title" => json!(["VP Sales", "Engineer", "Head of IT"][rng.gen_range(0..3)]),
                    "country" => json!(["GB", "US", "DE"][rng.gen_range(0..3)]),
                    _ => json!(rng.gen_range(0..10_000)),
                };
                f.insert(field.to_string(), value);
            }
        }

        let s = score(&config, &f, &activities, now);
        assert_adds_up(&s);

        // Rounding per part never moves the total far from the exact sum.
        let mut exact = 0.0;
        let mut pairs = 0usize;
        for rule in &config.fit {
            if all_match(&rule.conditions, &f) {
                exact += rule.points;
                pairs += 1;
            }
        }
        let (hits, capped) = engagement_hits(&config, &activities);
        assert_eq!(capped, s.capped);
        for hit in &hits {
            exact += decayed_points(
                hit.rule.points,
                hit.rule.half_life_days.unwrap_or(f64::INFINITY),
                now - hit.activity.occurred_at,
            );
            pairs += 1;
        }
        assert_eq!(pairs, s.parts.len() + s.faded, "iteration {iteration}");
        assert!(
            (s.total - exact).abs() <= 0.005 * pairs as f64 + EPS,
            "iteration {iteration}: {} vs exact {exact}",
            s.total
        );
    }
}

// ---------------------------------------------------------------- stages

#[test]
fn stage_for_picks_the_highest_line_reached() {
    let t = Thresholds::default();
    let cases = [
        (-5.0, None),
        (19.99, None),
        (20.0, Some("target")),
        (59.99, Some("target")),
        (60.0, Some("mql")),
        (89.99, Some("mql")),
        (90.0, Some("sql")),
        (1e9, Some("sql")),
        (f64::NAN, None),
    ];
    for (total, expected) in cases {
        let s = Score {
            total,
            ..Score::default()
        };
        assert_eq!(stage_for(&s, &t), expected, "{total}");
        assert_eq!(stage_for_total(total, &t), expected, "{total}");
    }
}

#[test]
fn crossing_is_detected_in_both_directions() {
    let t = Thresholds::default();
    let rose = |from, to| Some(ScoreChange::Rose { from, to });
    let fell = |from, to| Some(ScoreChange::Fell { from, to });
    let cases = [
        (10.0, 25.0, rose(None, "target"), Some("target")),
        (55.0, 61.0, rose(Some("target"), "mql"), Some("mql")),
        (10.0, 95.0, rose(None, "sql"), Some("sql")),
        (60.0, 90.0, rose(Some("mql"), "sql"), Some("sql")),
        (95.0, 89.0, fell("sql", Some("mql")), None),
        (61.0, 5.0, fell("mql", None), None),
        (25.0, 19.0, fell("target", None), None),
        (61.0, 89.0, None, None),
        (70.0, 60.0, None, None),
        (5.0, -5.0, None, None),
        (f64::NAN, 95.0, rose(None, "sql"), Some("sql")),
        (95.0, f64::NAN, fell("sql", None), None),
    ];
    for (before, after, change, up) in cases {
        let got = ScoreChange::between(before, after, &t);
        assert_eq!(got, change, "{before} -> {after}");
        assert_eq!(crossed(before, after, &t), up, "{before} -> {after}");
        if let Some(c) = got {
            let expected = match c {
                ScoreChange::Rose { to, .. } => to,
                ScoreChange::Fell { from, .. } => from,
            };
            assert_eq!(c.stage(), expected);
        }
    }
    assert_eq!(
        serde_json::to_value(ScoreChange::Rose {
            from: None,
            to: "mql"
        })
        .unwrap(),
        json!({"direction": "rose", "from": null, "to": "mql"})
    );
}

#[test]
fn decay_moves_a_lead_down_a_stage_over_time() {
    let config = ScoringConfig::default();
    let demo_at = NOW - DAY_MS;
    let activities = [act("demo_requested", demo_at)];
    let before = score(&config, &vp_facts(), &activities, NOW);
    let after = score(&config, &vp_facts(), &activities, NOW + days(30.0));
    assert_eq!(
        ScoreChange::between(before.total, after.total, &config.thresholds),
        Some(ScoreChange::Fell {
            from: "sql",
            to: Some("mql")
        })
    );
}

// ---------------------------------------------------------------- next decay check

#[test]
fn next_decay_check_finds_the_minute_a_lead_drops_a_stage() {
    let config = ScoringConfig::default();
    let demo_at = NOW - DAY_MS;
    let activities = [act("demo_requested", demo_at)];
    let f = vp_facts();
    let at = next_decay_check(&config, &f, &activities, NOW).expect("it will drop");
    let stage = |t| stage_for(&score(&config, &f, &activities, t), &config.thresholds);
    assert_eq!(stage(at), Some("mql"));
    assert_eq!(stage(at - 60_000), Some("sql"));
    // 40 + 60 * 2^(-a/60) < 90  <=>  a > 60 * log2(1.2) ≈ 15.78 days.
    let expected = demo_at + days(60.0 * 1.2f64.log2());
    assert!((at - expected).abs() < 3_600_000, "{at} vs {expected}");

    // From there on, the next drop is from mql to target.
    let later = next_decay_check(&config, &f, &activities, at).expect("and drop again");
    assert!(later > at);
    assert_eq!(stage(later), Some("target"));
}

#[test]
fn next_decay_check_is_none_when_decay_cannot_change_the_stage() {
    let config = ScoringConfig::default();
    // No activities: only fit, which does not decay.
    assert_eq!(next_decay_check(&config, &vp_facts(), &[], NOW), None);
    // A small decaying part on top of a target-level fit never reaches another line.
    assert_eq!(
        next_decay_check(&config, &vp_facts(), &[act("email_opened", NOW)], NOW),
        None
    );
    // Points that never fade.
    let forever = config_with_thresholds(
        vec![eng_rule("w", "webinar_attended", 100.0, None)],
        Thresholds::default(),
    );
    assert_eq!(
        next_decay_check(
            &forever,
            &Facts::new(),
            &[act("webinar_attended", NOW)],
            NOW
        ),
        None
    );
}

#[test]
fn next_decay_check_sees_negative_points_fading_upwards() {
    let config = ScoringConfig {
        fit: vec![fit_rule("base", 30.0, vec![])],
        engagement: vec![eng_rule("b", "email_bounced", -20.0, Some(10.0))],
        thresholds: Thresholds::default(),
    };
    let activities = [act("email_bounced", NOW)];
    let at = next_decay_check(&config, &Facts::new(), &activities, NOW).unwrap();
    let stage = |t| {
        stage_for(
            &score(&config, &Facts::new(), &activities, t),
            &config.thresholds,
        )
    };
    assert_eq!(stage(NOW), None);
    assert_eq!(stage(at), Some("target"));
    // 30 - 20 * 2^(-a/10) >= 20  <=>  a >= 10 days; rounding to cents gets there about
    // ten minutes early (-10.004 shows as -10.00).
    assert!((at - (NOW + days(10.0))).abs() <= 3_600_000, "{at}");
    assert_eq!(stage(at - 60_000), None);
}

fn config_with_thresholds(
    engagement: Vec<EngagementRule>,
    thresholds: Thresholds,
) -> ScoringConfig {
    ScoringConfig {
        fit: vec![],
        engagement,
        thresholds,
    }
}

// ---------------------------------------------------------------- TOML

/// The example in the module docs, cut out of the source so the docs cannot rot.
fn doc_example() -> String {
    let source = include_str!("mod.rs");
    let start = source.find("//! ```toml\n").expect("doc example") + "//! ```toml\n".len();
    source[start..]
        .lines()
        .take_while(|l| l.trim() != "//! ```")
        .map(|l| {
            l.strip_prefix("//!")
                .unwrap_or(l)
                .strip_prefix(' ')
                .unwrap_or("")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_documented_toml_example_parses_and_scores() {
    let config = ScoringConfig::from_toml(&doc_example()).unwrap();
    assert_eq!(config.fit.len(), 4);
    assert_eq!(config.engagement.len(), 3);
    assert_eq!(
        config.thresholds,
        Thresholds {
            target: 20.0,
            mql: 60.0,
            sql: 90.0
        }
    );
    assert_eq!(config.fit[3].points, -20.0);
    assert_eq!(
        config.fit[2].conditions[0],
        cond("custom.employees", Operator::Gte, json!(200))
    );
    assert_eq!(config.engagement[0].max_per_day, Some(3));
    assert_eq!(config.engagement[2].half_life_days, None);

    let s = score(
        &config,
        &vp_facts(),
        &[
            act("demo_requested", NOW - days(60.0)),
            act("reference_call", NOW - days(999.0)),
        ],
        NOW,
    );
    assert_adds_up(&s);
    // 15 + 10 + 10 fit, 30 from the demo after one half-life, 20 that never fade.
    assert_eq!((s.fit, s.engagement, s.total), (35.0, 50.0, 85.0));
}

#[test]
fn toml_infinite_half_life_means_no_decay_and_thresholds_default() {
    let config = ScoringConfig::from_toml(
        r#"
[[engagement]]
id = "w"
event_type = "webinar_attended"
points = 15
half_life_days = inf
"#,
    )
    .unwrap();
    assert_eq!(config.thresholds, Thresholds::default());
    assert!(config.fit.is_empty());
    let s = score(
        &config,
        &Facts::new(),
        &[act("webinar_attended", NOW - days(5000.0))],
        NOW,
    );
    assert_eq!(s.total, 15.0);
    assert_eq!(s.parts[0].half_life_days, None);
    // A blank name falls back to the id in explanations.
    assert_eq!(s.parts[0].rule_name, "w");
}

fn toml_error(text: &str) -> (Option<usize>, Option<usize>, String) {
    match ScoringConfig::from_toml(text) {
        Err(ScoringConfigError::Toml {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a TOML error, got {other:?}"),
    }
}

#[test]
fn toml_errors_name_the_line_and_column() {
    let cases: &[(&str, usize, &str)] = &[
        // text, expected line, a word the message must contain
        (
            "[thresholds]\ntarget = 1\nmql = 2\nsql = 3\nmax = 4\n",
            5,
            "max",
        ),
        (
            "[[fit]]\nid = \"a\"\npoints = 1\nweight = 2\n",
            4,
            "weight",
        ),
        (
            "[[fit]]\nid = \"a\"\npoints = 1\nconditions = [\n  { field = \"title\", op = \"like\", value = \"x\" },\n]\n",
            5,
            "like",
        ),
        (
            "[[engagement]]\nid = \"a\"\nevent_type = \"x\"\npoints = \"ten\"\n",
            4,
            "",
        ),
        ("[[fit]]\nid = \"a\"\npoints = \n", 3, ""),
        ("[scoring]\nx = 1\n", 1, "scoring"),
        (
            "[[fit]]\nid = \"a\"\npoints = 1\nconditions = [{ field = \"title\", op = \"eq\", value = 1, extra = 2 }]\n",
            4,
            "extra",
        ),
    ];
    for (text, line, word) in cases {
        let (got_line, column, message) = toml_error(text);
        assert_eq!(got_line, Some(*line), "{text:?}: {message}");
        assert!(column.is_some_and(|c| c >= 1), "{text:?}");
        assert!(message.contains(word), "{text:?}: {message}");
        let shown = ScoringConfig::from_toml(text).unwrap_err().to_string();
        assert!(
            shown.starts_with(&format!("scoring TOML, line {line}, column ")),
            "{shown}"
        );
    }
    // A missing required field is reported too (serde cannot always place it).
    let (_, _, message) = toml_error("[[fit]]\nname = \"no id\"\npoints = 1\n");
    assert!(message.contains("id"), "{message}");
}

#[test]
fn toml_that_parses_is_still_validated() {
    let err = ScoringConfig::from_toml(
        "[thresholds]\ntarget = 50\nmql = 40\nsql = 80\n\n[[fit]]\nid = \"a\"\npoints = 1\n\n[[fit]]\nid = \"a\"\npoints = 2\n",
    )
    .unwrap_err();
    let ScoringConfigError::Invalid(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("\"a\" is used by more than one rule"),
        "{shown}"
    );
    assert!(shown.contains("increasing"), "{shown}");
}

#[test]
fn line_and_column_count_characters() {
    let text = "a = 1\nnäme = ü\n";
    assert_eq!(config::line_column(text, 0), (1, 1));
    assert_eq!(config::line_column(text, 6), (2, 1));
    // "näme = " is 8 bytes but 7 characters.
    assert_eq!(config::line_column(text, 14), (2, 8));
    assert_eq!(config::line_column(text, 999), (3, 1));
}

// ---------------------------------------------------------------- validation

#[test]
fn validation_reports_every_kind_of_problem() {
    let good_fit = || fit_rule("f", 1.0, vec![cond("country", Operator::Eq, json!("GB"))]);
    let good_eng = || eng_rule("e", "email_opened", 1.0, Some(7.0));
    type Mutate = fn(&mut ScoringConfig);
    let cases: Vec<(&str, Mutate, ScoringConfigError)> = vec![
        (
            "empty fit id",
            |c| c.fit[0].id = " ".into(),
            ScoringConfigError::EmptyRuleId {
                kind: RuleKind::Fit,
                index: 0,
            },
        ),
        (
            "empty engagement id",
            |c| c.engagement[0].id = String::new(),
            ScoringConfigError::EmptyRuleId {
                kind: RuleKind::Engagement,
                index: 0,
            },
        ),
        (
            "long id",
            |c| c.fit[0].id = "x".repeat(65),
            ScoringConfigError::RuleIdTooLong { id: "x".repeat(65) },
        ),
        (
            "duplicate across kinds",
            |c| c.engagement[0].id = "f".into(),
            ScoringConfigError::DuplicateRuleId { id: "f".into() },
        ),
        (
            "unknown field",
            |c| {
                c.fit[0]
                    .conditions
                    .push(cond("salary", Operator::Gt, json!(1)))
            },
            ScoringConfigError::InvalidCondition {
                rule_id: "f".into(),
                index: 1,
                error: ConditionError::UnknownField("salary".into()),
            },
        ),
        (
            "bad value",
            |c| c.fit[0].conditions[0].op = Operator::Gt,
            ScoringConfigError::InvalidCondition {
                rule_id: "f".into(),
                index: 0,
                error: ConditionError::BadValue {
                    op: "gt".into(),
                    expected: "a number",
                },
            },
        ),
        (
            "circular",
            |c| c.fit[0].conditions[0] = cond("score", Operator::Gt, json!(50)),
            ScoringConfigError::CircularCondition {
                rule_id: "f".into(),
                index: 0,
                field: "score".into(),
            },
        ),
        (
            "nan fit points",
            |c| c.fit[0].points = f64::NAN,
            ScoringConfigError::InvalidPoints {
                rule_id: "f".into(),
                points: f64::NAN,
            },
        ),
        (
            "infinite engagement points",
            |c| c.engagement[0].points = f64::NEG_INFINITY,
            ScoringConfigError::InvalidPoints {
                rule_id: "e".into(),
                points: f64::NEG_INFINITY,
            },
        ),
        (
            "absurd points",
            |c| c.fit[0].points = MAX_POINTS * 2.0,
            ScoringConfigError::InvalidPoints {
                rule_id: "f".into(),
                points: MAX_POINTS * 2.0,
            },
        ),
        (
            "zero half-life",
            |c| c.engagement[0].half_life_days = Some(0.0),
            ScoringConfigError::InvalidHalfLife {
                rule_id: "e".into(),
                half_life_days: 0.0,
            },
        ),
        (
            "negative half-life",
            |c| c.engagement[0].half_life_days = Some(-3.0),
            ScoringConfigError::InvalidHalfLife {
                rule_id: "e".into(),
                half_life_days: -3.0,
            },
        ),
        (
            "nan half-life",
            |c| c.engagement[0].half_life_days = Some(f64::NAN),
            ScoringConfigError::InvalidHalfLife {
                rule_id: "e".into(),
                half_life_days: f64::NAN,
            },
        ),
        (
            "empty event type",
            |c| c.engagement[0].event_type = String::new(),
            ScoringConfigError::InvalidEventType {
                rule_id: "e".into(),
                event_type: String::new(),
            },
        ),
        (
            "event type with spaces",
            |c| c.engagement[0].event_type = "Email Opened".into(),
            ScoringConfigError::InvalidEventType {
                rule_id: "e".into(),
                event_type: "Email Opened".into(),
            },
        ),
        (
            "zero max per day",
            |c| c.engagement[0].max_per_day = Some(0),
            ScoringConfigError::ZeroMaxPerDay {
                rule_id: "e".into(),
            },
        ),
        (
            "thresholds out of order",
            |c| c.thresholds.mql = c.thresholds.sql,
            ScoringConfigError::InvalidThresholds {
                target: 20.0,
                mql: 90.0,
                sql: 90.0,
            },
        ),
        (
            "infinite threshold",
            |c| c.thresholds.sql = f64::INFINITY,
            ScoringConfigError::InvalidThresholds {
                target: 20.0,
                mql: 60.0,
                sql: f64::INFINITY,
            },
        ),
    ];
    for (what, mutate, expected) in cases {
        let mut c = config(vec![good_fit()], vec![good_eng()]);
        assert_eq!(c.validate(), Ok(()));
        mutate(&mut c);
        let errors = c.validate().expect_err(what);
        assert_eq!(errors.len(), 1, "{what}: {errors:?}");
        // NaN != NaN, so compare the messages, which carry every field.
        assert_eq!(errors[0].to_string(), expected.to_string(), "{what}");
        assert!(!errors[0].to_string().is_empty());
    }
}

#[test]
fn validation_collects_all_problems_and_reports_a_duplicate_once() {
    let config = ScoringConfig {
        fit: vec![
            fit_rule("a", 1.0, vec![]),
            fit_rule("a", 1.0, vec![]),
            fit_rule("a", f64::NAN, vec![]),
        ],
        engagement: vec![eng_rule("b", "", 1.0, Some(0.0))],
        thresholds: Thresholds {
            target: 3.0,
            mql: 2.0,
            sql: 1.0,
        },
    };
    let errors = config.validate().unwrap_err();
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert_eq!(
        errors
            .iter()
            .filter(|e| matches!(e, ScoringConfigError::DuplicateRuleId { .. }))
            .count(),
        1
    );
}

#[test]
fn infinite_half_life_is_valid() {
    let c = config(vec![], vec![eng_rule("e", "x", 1.0, Some(f64::INFINITY))]);
    assert_eq!(c.validate(), Ok(()));
}

// ---------------------------------------------------------------- serde

#[test]
fn config_round_trips_through_json() {
    let config = ScoringConfig::default();
    let text = serde_json::to_string(&config).unwrap();
    let back: ScoringConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(back, config);
    // Unknown keys are refused in JSON too.
    assert!(serde_json::from_str::<ScoringConfig>(r#"{"fit": [], "bogus": 1}"#).is_err());
    // JSON null means no decay.
    let rule: EngagementRule = serde_json::from_value(
        json!({"id": "e", "event_type": "x", "points": 1, "half_life_days": null}),
    )
    .unwrap();
    assert_eq!(rule.half_life_days, None);
}

#[test]
fn stored_scores_are_compact_and_round_trip() {
    let config = ScoringConfig::default();
    let s = score(
        &config,
        &vp_facts(),
        &[act("email_clicked", NOW - days(3.0))],
        NOW,
    );
    let value = serde_json::to_value(&s).unwrap();
    assert_eq!(value["parts"][0]["kind"], json!("fit"));
    assert!(value["parts"][0].get("event_type").is_none());
    let last = s.parts.len() - 1;
    assert_eq!(value["parts"][last]["kind"], json!("engagement"));
    assert_eq!(value["parts"][last]["half_life_days"], json!(14.0));
    let back: Score = serde_json::from_value(value).unwrap();
    assert_eq!(back, s);
}

#[test]
fn explain_lists_every_part() {
    let s = score(
        &ScoringConfig::default(),
        &vp_facts(),
        &[act("demo_requested", NOW - DAY_MS)],
        NOW,
    );
    let text = s.explain();
    assert!(
        text.starts_with("score 99.31 = fit 40.00 + engagement 59.31"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1 + s.parts.len());
    assert!(
        text.contains("+15.00  Senior title (decision maker) (fit)"),
        "{text}"
    );
    assert!(
        text.contains("+59.31  Demo requested: demo_requested 1.0 days ago (60.00 before decay, half-life 60 days)"),
        "{text}"
    );
}

#[test]
fn reported_activities_must_be_scored_and_not_ahead_of_time() {
    let config = ScoringConfig::default();
    let known = config.event_types();
    assert!(known.contains(&"email_opened".to_string()), "{known:?}");
    assert!(known.windows(2).all(|w| w[0] < w[1]), "sorted, once each");
    assert_eq!(config.check_activity("email_opened", None, NOW), Ok(()));
    assert_eq!(
        config.check_activity("email_opened", Some(NOW - 86_400_000), NOW),
        Ok(())
    );
    // Up to the skew ahead is fine; a millisecond more is not.
    assert_eq!(
        config.check_activity("email_opened", Some(NOW + MAX_FUTURE_SKEW_MS), NOW),
        Ok(())
    );
    assert_eq!(
        config.check_activity("email_opened", Some(NOW + MAX_FUTURE_SKEW_MS + 1), NOW),
        Err(vec![ActivityError::InFuture {
            ahead_ms: MAX_FUTURE_SKEW_MS + 1
        }])
    );
    assert_eq!(
        config.check_activity("email_opened", Some(-1), NOW),
        Err(vec![ActivityError::BeforeEpoch])
    );
    // An unknown type and a bad time are both reported.
    let errors = config
        .check_activity("fax_received", Some(NOW + 86_400_000), NOW)
        .unwrap_err();
    assert_eq!(errors.len(), 2);
    let message = errors[0].to_string();
    assert!(
        message.contains("\"fax_received\"") && message.contains("email_opened, "),
        "{message}"
    );
    // With no engagement rules, nothing can be reported, and the message says why.
    let bare = ScoringConfig {
        engagement: Vec::new(),
        ..ScoringConfig::default()
    };
    let message = bare.check_activity("email_opened", None, NOW).unwrap_err()[0].to_string();
    assert!(message.contains("add engagement rules first"), "{message}");
    assert_eq!(
        config
            .check_activity("x", Some(i64::MAX), i64::MAX - 1)
            .unwrap_err()
            .len(),
        1,
        "no overflow"
    );
}
