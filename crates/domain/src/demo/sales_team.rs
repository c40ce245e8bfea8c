//! The demo's sales organisation: follow-the-sun teams in London, New York and
//! Singapore plus a weekend cover team, so that whatever the hour a newcomer tries the
//! demo, a sales-ready lead finds a rep at work and is routed.
//!
//! Weekday shifts, in UTC: Singapore 07:00–19:00 is 23:00–11:00, London 07:00–19:00 is
//! 07:00–19:00 (06:00–18:00 in summer), New York 07:00–21:00 is 12:00–02:00 (11:00–01:00
//! in summer). The weekend team works Saturday and Sunday around the clock (UTC), from
//! the end of New York's Friday to the start of Singapore's Monday (Sunday 23:00 UTC).

use crate::access::Role;
use crate::conditions::{Condition, Operator};
use crate::routing::{RouteTarget, RoutingRule, TeamStrategy, Territory};
use crate::schedule::WorkingHours;
use serde_json::json;
use std::collections::HashMap;

/// A demo user with their rep settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoUser {
    /// Refers to the user within the demo (teams name their members by it).
    pub key: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub role: Role,
    pub working_hours: WorkingHours,
    pub territories: Vec<Territory>,
    pub capacity: u32,
    pub weight: u32,
}

/// A demo team; members and manager are user keys.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTeam {
    pub key: &'static str,
    pub name: &'static str,
    pub manager: &'static str,
    pub members: Vec<&'static str>,
}

const EMEA: &[&str] = &[
    "GB", "IE", "DE", "AT", "CH", "FR", "NL", "BE", "LU", "ES", "PT", "IT", "SE", "DK", "NO", "FI",
    "PL",
];
const AMERICAS: &[&str] = &["US", "CA", "MX", "BR", "AR", "CL", "CO"];
const APAC: &[&str] = &[
    "SG", "AU", "NZ", "JP", "IN", "HK", "KR", "MY", "ID", "PH", "TH",
];

fn hours(shorthand: &str, zone: &str) -> WorkingHours {
    WorkingHours::from_shorthand(shorthand, zone).expect("the demo's hours are well-formed")
}

fn countries(codes: &[&str]) -> Vec<Territory> {
    codes.iter().map(|c| Territory::from_code(c)).collect()
}

#[allow(clippy::too_many_arguments)]
fn user(
    key: &'static str,
    name: &'static str,
    email: &'static str,
    role: Role,
    working_hours: WorkingHours,
    territories: Vec<Territory>,
) -> DemoUser {
    DemoUser {
        key,
        name,
        email,
        role,
        working_hours,
        territories,
        capacity: 100,
        weight: 1,
    }
}

/// The users (managers first, then reps) and teams of the demo.
pub fn sales_team() -> (Vec<DemoUser>, Vec<DemoTeam>) {
    let london = || hours("mon-fri 07:00-19:00", "Europe/London");
    let new_york = || hours("mon-fri 07:00-21:00", "America/New_York");
    let singapore = || hours("mon-fri 07:00-19:00", "Asia/Singapore");
    let weekend = || hours("sat-sun 00:00-24:00", "UTC");
    let users = vec![
        user(
            "emea-manager",
            "Harriet Cole",
            "harriet.cole@sales.leadline-demo.example",
            Role::Manager,
            london(),
            vec![],
        ),
        user(
            "americas-manager",
            "Marcus Webb",
            "marcus.webb@sales.leadline-demo.example",
            Role::Manager,
            new_york(),
            vec![],
        ),
        user(
            "apac-manager",
            "Mei Tan",
            "mei.tan@sales.leadline-demo.example",
            Role::Manager,
            singapore(),
            vec![],
        ),
        user(
            "emea-1",
            "Oliver Grant",
            "oliver.grant@sales.leadline-demo.example",
            Role::Rep,
            london(),
            countries(&["GB", "IE"]),
        ),
        user(
            "emea-2",
            "Lena Fischer",
            "lena.fischer@sales.leadline-demo.example",
            Role::Rep,
            london(),
            countries(&["DE", "AT", "CH", "FR", "NL", "BE"]),
        ),
        user(
            "americas-1",
            "Jordan Ellis",
            "jordan.ellis@sales.leadline-demo.example",
            Role::Rep,
            new_york(),
            countries(&["US-NY", "US-MA", "CA"]),
        ),
        user(
            "americas-2",
            "Sofia Ramirez",
            "sofia.ramirez@sales.leadline-demo.example",
            Role::Rep,
            new_york(),
            countries(&["US", "MX", "BR"]),
        ),
        user(
            "apac-1",
            "Arjun Mehta",
            "arjun.mehta@sales.leadline-demo.example",
            Role::Rep,
            singapore(),
            countries(&["SG", "IN", "MY"]),
        ),
        user(
            "apac-2",
            "Hana Sato",
            "hana.sato@sales.leadline-demo.example",
            Role::Rep,
            singapore(),
            countries(&["JP", "AU", "NZ"]),
        ),
        user(
            "weekend-1",
            "Sam Okafor",
            "sam.okafor@sales.leadline-demo.example",
            Role::Rep,
            weekend(),
            vec![],
        ),
        user(
            "weekend-2",
            "Ines Duarte",
            "ines.duarte@sales.leadline-demo.example",
            Role::Rep,
            weekend(),
            vec![],
        ),
    ];
    let teams = vec![
        DemoTeam {
            key: "emea",
            name: "EMEA (London)",
            manager: "emea-manager",
            members: vec!["emea-1", "emea-2"],
        },
        DemoTeam {
            key: "americas",
            name: "Americas (New York)",
            manager: "americas-manager",
            members: vec!["americas-1", "americas-2"],
        },
        DemoTeam {
            key: "apac",
            name: "APAC (Singapore)",
            manager: "apac-manager",
            members: vec!["apac-1", "apac-2"],
        },
        DemoTeam {
            key: "weekend",
            name: "Weekend cover",
            manager: "emea-manager",
            members: vec!["weekend-1", "weekend-2"],
        },
        DemoTeam {
            key: "follow-the-sun",
            name: "Follow the sun (everyone)",
            manager: "emea-manager",
            members: vec![
                "emea-1",
                "emea-2",
                "americas-1",
                "americas-2",
                "apac-1",
                "apac-2",
                "weekend-1",
                "weekend-2",
            ],
        },
    ];
    (users, teams)
}

fn country_in(codes: &[&str]) -> Condition {
    Condition {
        field: "country".into(),
        op: Operator::In,
        value: json!(codes),
    }
}

/// The demo's routing rules, with team keys resolved to ids by `team_id`: a lead goes to
/// its account's owner, else to its region's team while that team works, else to
/// whoever is working now.
pub fn routing_rules(team_id: &HashMap<&str, String>) -> Vec<RoutingRule> {
    let team = |key: &str, strategy| RouteTarget::Team {
        team_id: team_id.get(key).cloned().unwrap_or_default(),
        strategy,
    };
    vec![
        RoutingRule {
            id: "account-owner".into(),
            name: "Leads of a company we know go to its account owner".into(),
            conditions: vec![Condition {
                field: "domain".into(),
                op: Operator::Exists,
                value: serde_json::Value::Null,
            }],
            target: RouteTarget::AccountOwner {
                fallback_team_id: None,
            },
        },
        RoutingRule {
            id: "emea".into(),
            name: "EMEA leads to the London team".into(),
            conditions: vec![country_in(EMEA)],
            target: team("emea", TeamStrategy::Territory),
        },
        RoutingRule {
            id: "americas".into(),
            name: "Americas leads to the New York team".into(),
            conditions: vec![country_in(AMERICAS)],
            target: team("americas", TeamStrategy::Territory),
        },
        RoutingRule {
            id: "apac".into(),
            name: "APAC leads to the Singapore team".into(),
            conditions: vec![country_in(APAC)],
            target: team("apac", TeamStrategy::Territory),
        },
        RoutingRule {
            id: "follow-the-sun".into(),
            name: "Everyone else, and any lead outside its region's hours: whoever is working"
                .into(),
            conditions: vec![],
            target: team("follow-the-sun", TeamStrategy::LeastLoaded),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{self, validate_rules, Rep, RoundRobinState, RoutingContext, Team};

    /// 2026-01-05T00:00:00Z, a Monday in winter.
    const WINTER_MONDAY: i64 = 1_767_571_200_000;
    const MINUTE: i64 = 60_000;

    fn reps_and_teams() -> (Vec<Rep>, Vec<Team>) {
        let (users, teams) = sales_team();
        let reps = users
            .iter()
            .filter(|u| u.role == Role::Rep)
            .map(|u| Rep {
                id: u.key.into(),
                name: u.name.into(),
                active: true,
                weight: u.weight,
                capacity: u.capacity,
                open_leads: 0,
                territories: u.territories.clone(),
                working_hours: u.working_hours.clone(),
                team_ids: vec![],
            })
            .collect();
        let teams = teams
            .iter()
            .map(|t| Team {
                id: t.key.into(),
                name: t.name.into(),
                manager_id: Some(t.manager.into()),
                member_ids: t.members.iter().map(|m| m.to_string()).collect(),
                fallback_team_id: None,
            })
            .collect();
        (reps, teams)
    }

    fn rules() -> Vec<RoutingRule> {
        let ids: HashMap<&str, String> = sales_team()
            .1
            .iter()
            .map(|t| (t.key, t.key.to_string()))
            .collect();
        routing_rules(&ids)
    }

    #[test]
    fn the_demo_team_is_consistent() {
        let (users, teams) = sales_team();
        for u in &users {
            assert!(u.working_hours.validate().is_ok(), "{}", u.key);
        }
        let keys: Vec<&str> = users.iter().map(|u| u.key).collect();
        for t in &teams {
            assert!(keys.contains(&t.manager), "{}", t.key);
            assert!(t.members.iter().all(|m| keys.contains(m)), "{}", t.key);
        }
        let (reps, teams) = reps_and_teams();
        assert_eq!(validate_rules(&rules(), &reps, &teams), Ok(()));
    }

    #[test]
    fn someone_is_at_work_at_every_hour_of_the_year() {
        let (reps, _) = reps_and_teams();
        // Every 20 minutes (plus a few seconds, off the shift edges) for a year, so
        // both sides of every DST change in London and New York are covered.
        let mut at = WINTER_MONDAY + 7_000;
        let end = WINTER_MONDAY + 365 * 24 * 60 * MINUTE;
        while at < end {
            assert!(
                reps.iter().any(|r| r.working_hours.is_working(at)),
                "nobody works at {at}"
            );
            at += 20 * MINUTE;
        }
        // And right at the hand-overs.
        for hour in 0..(24 * 7) {
            for offset in [0, -1, 1] {
                let at = WINTER_MONDAY + hour * 60 * MINUTE + offset;
                assert!(reps.iter().any(|r| r.working_hours.is_working(at)), "{at}");
            }
        }
    }

    #[test]
    fn a_lead_from_anywhere_is_routed_at_any_hour() {
        let (reps, teams) = reps_and_teams();
        let rules = rules();
        let mut state = RoundRobinState::default();
        for hour in 0..(24 * 7) {
            let now = WINTER_MONDAY + hour * 60 * MINUTE + 17 * MINUTE;
            for country in ["GB", "DE", "US", "JP", "ZA", ""] {
                let mut facts = crate::conditions::Facts::new();
                if !country.is_empty() {
                    facts.insert("country".into(), json!(country));
                }
                let ctx = RoutingContext {
                    reps: &reps,
                    teams: &teams,
                    account_owner_id: None,
                    exclude_rep_ids: &[],
                    now,
                };
                let decision = routing::route(&rules, &facts, &ctx, &mut state);
                assert!(
                    decision.rep_id.is_some(),
                    "{country} at {now}: {:?}",
                    decision.explanation
                );
            }
        }
    }

    #[test]
    fn regional_teams_take_their_leads_in_their_hours() {
        let (reps, teams) = reps_and_teams();
        let rules = rules();
        let mut state = RoundRobinState::default();
        let route = |country: &str, now: i64, state: &mut RoundRobinState| {
            let mut facts = crate::conditions::Facts::new();
            facts.insert("country".into(), json!(country));
            let ctx = RoutingContext {
                reps: &reps,
                teams: &teams,
                account_owner_id: None,
                exclude_rep_ids: &[],
                now,
            };
            routing::route(&rules, &facts, &ctx, state)
        };
        // Monday 10:00 UTC: London is at work; a German lead goes to its territory rep.
        let d = route("DE", WINTER_MONDAY + 10 * 60 * MINUTE, &mut state);
        assert_eq!(
            (d.rule_id.as_deref(), d.rep_id.as_deref()),
            (Some("emea"), Some("emea-2"))
        );
        // Monday 03:00 UTC: London sleeps; Singapore picks the German lead up.
        let d = route("DE", WINTER_MONDAY + 3 * 60 * MINUTE, &mut state);
        assert_eq!(d.rule_id.as_deref(), Some("follow-the-sun"));
        assert!(
            d.rep_id.as_deref().is_some_and(|r| r.starts_with("apac")),
            "{d:?}"
        );
        // Saturday noon: the weekend team.
        let d = route(
            "US",
            WINTER_MONDAY + (5 * 24 + 12) * 60 * MINUTE,
            &mut state,
        );
        assert!(
            d.rep_id
                .as_deref()
                .is_some_and(|r| r.starts_with("weekend")),
            "{d:?}"
        );
    }
}
