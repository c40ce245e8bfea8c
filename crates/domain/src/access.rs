//! Roles and what each may do. Every API route names the permission it needs; an API
//! token acts with its user's role.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

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
pub enum Role {
    /// Everything, including users, teams and rules.
    Admin,
    /// Runs a sales team: their teams' leads and the unassigned ones, routing, forms,
    /// imports, merges; reads users.
    Manager,
    /// Runs capture and nurture: forms, imports, scoring rules, merges.
    Marketer,
    /// Works leads: reads and updates leads, logs touches.
    Rep,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Marketer, Role::Rep];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Marketer => "marketer",
            Role::Rep => "rep",
        }
    }

    /// Whether this role holds `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            // A manager sets up the forms their team's leads come in through.
            Role::Manager => !matches!(
                permission,
                ManageUsers
                    | ConfigureLifecycle
                    | ManageIntegrations
                    | ManageCampaigns
                    | ReadAllLeads
            ),
            Role::Marketer => !matches!(
                permission,
                ManageUsers | ReadUsers | ManageTeams | ConfigureLifecycle
            ),
            Role::Rep => matches!(permission, ReadLeads | WriteLeads | ReadCatalog),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected admin, manager, marketer or rep")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ReadLeads,
    /// Capture, edit, log touches.
    WriteLeads,
    MergeLeads,
    ManageForms,
    RunImports,
    /// Sources and campaigns.
    ReadCatalog,
    ReadUsers,
    ManageUsers,
    ManageTeams,
    /// Stages, transitions, playbooks and disqualify reasons.
    ConfigureLifecycle,
    /// Fit and engagement rules and thresholds.
    ConfigureScoring,
    /// Every lead, not only those of the user's scope (see [`LeadScope`]).
    ReadAllLeads,
    /// Accounts (companies by web domain) and who owns them.
    ReadAccounts,
    /// Webhooks, their deliveries and dead letters.
    ManageIntegrations,
    /// Create and edit campaigns: names, sources, cost and dates (marketing's budget).
    ManageCampaigns,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadLeads => "read_leads",
            Permission::WriteLeads => "write_leads",
            Permission::MergeLeads => "merge_leads",
            Permission::ManageForms => "manage_forms",
            Permission::RunImports => "run_imports",
            Permission::ReadCatalog => "read_catalog",
            Permission::ReadUsers => "read_users",
            Permission::ManageUsers => "manage_users",
            Permission::ManageTeams => "manage_teams",
            Permission::ConfigureLifecycle => "configure_lifecycle",
            Permission::ConfigureScoring => "configure_scoring",
            Permission::ReadAllLeads => "read_all_leads",
            Permission::ReadAccounts => "read_accounts",
            Permission::ManageIntegrations => "manage_integrations",
            Permission::ManageCampaigns => "manage_campaigns",
        }
    }
}

/// Which leads a user may read and work on. Every use case that shows or changes a
/// lead on someone's behalf asks this, so the API, the pages and the event stream agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LeadScope {
    /// Every lead: admins, marketers, and the server itself (forms, imports, jobs).
    All,
    /// The leads owned by one of `owners`; with `unowned`, also those nobody owns yet.
    Owned {
        owners: BTreeSet<String>,
        unowned: bool,
    },
}

impl LeadScope {
    /// A user's scope. Admins and marketers see every lead. A manager sees their own
    /// leads, their teams' members' leads (`managed_members`) and the unassigned pool
    /// they distribute; not other teams' leads. A rep sees their own leads.
    pub fn of(
        role: Role,
        user_id: &str,
        managed_members: impl IntoIterator<Item = String>,
    ) -> LeadScope {
        if role.allows(Permission::ReadAllLeads) {
            return LeadScope::All;
        }
        let mut owners: BTreeSet<String> = BTreeSet::from([user_id.to_string()]);
        if role == Role::Manager {
            owners.extend(managed_members);
        }
        LeadScope::Owned {
            owners,
            unowned: role == Role::Manager,
        }
    }

    /// Whether a lead with this owner (`None`: nobody) is in scope.
    pub fn includes(&self, owner_id: Option<&str>) -> bool {
        match self {
            LeadScope::All => true,
            LeadScope::Owned { owners, unowned } => match owner_id {
                Some(owner) => owners.contains(owner),
                None => *unowned,
            },
        }
    }

    /// Whether a notification about a lead reaches this user: it names someone in
    /// scope (owner, previous owner, manager: `audience`), or the lead has no owner
    /// and the scope takes unowned leads.
    pub fn sees_lead_event(&self, audience: &[String], lead_owner_id: Option<&str>) -> bool {
        match self {
            LeadScope::All => true,
            LeadScope::Owned { owners, unowned } => {
                audience.iter().any(|a| owners.contains(a))
                    || (lead_owner_id.is_none() && *unowned)
                    || lead_owner_id.is_some_and(|o| owners.contains(o))
            }
        }
    }

    /// Whether a lead this user creates becomes theirs. A user who cannot see unowned
    /// leads (a rep) would otherwise lose sight of the lead they just entered.
    pub fn owns_what_it_creates(&self) -> bool {
        matches!(self, LeadScope::Owned { unowned: false, .. })
    }

    pub fn is_all(&self) -> bool {
        matches!(self, LeadScope::All)
    }
}

/// A team as the team-change rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct TeamView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub manager_id: Option<&'a str>,
    pub member_ids: &'a [String],
}

/// Why the manager `manager` may not save a team (`team_id`: the one replaced, `None`
/// for a new one) with `new_manager` and `members` (each with its role, `None` for an
/// unknown id, which validation names), if they may not. A manager's lead scope is
/// their teams' members' leads, so a manager may not widen it over people another
/// manager looks after: they change only teams they manage, name no other manager, and
/// take in only reps that no other manager's team has. Admins are not asked.
pub fn refuse_team_change(
    manager: &str,
    teams: &[TeamView<'_>],
    team_id: Option<&str>,
    new_manager: Option<&str>,
    members: &[(&str, Option<Role>)],
) -> Option<String> {
    if let Some(team) = team_id.and_then(|id| teams.iter().find(|t| t.id == id)) {
        if team.manager_id != Some(manager) {
            return Some(format!("team {:?} is not yours to change", team.name));
        }
    }
    if new_manager.is_some_and(|m| m != manager) {
        return Some("a manager makes teams they manage themselves".into());
    }
    for (member, role) in members {
        let theirs = teams.iter().find(|t| {
            t.manager_id.is_some_and(|m| m != manager) && t.member_ids.iter().any(|id| id == member)
        });
        if let Some(team) = theirs {
            return Some(format!(
                "{member:?} is in team {:?}, which another manager runs",
                team.name
            ));
        }
        if role.is_some_and(|r| r != Role::Rep) {
            return Some(format!(
                "{member:?} is not a rep; only an admin puts them in a team"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {

    fn team<'a>(id: &'a str, manager: Option<&'a str>, members: &'a [String]) -> TeamView<'a> {
        TeamView {
            id,
            name: id,
            manager_id: manager,
            member_ids: members,
        }
    }

    #[test]
    fn a_manager_changes_only_their_own_people() {
        let north = vec!["a".to_string()];
        let south = vec!["b".to_string()];
        let pool: Vec<String> = Vec::new();
        let teams = [
            team("north", Some("m1"), &north),
            team("south", Some("m2"), &south),
            team("pool", None, &pool),
        ];
        let rep = Some(Role::Rep);
        let refuse = |team_id, new_manager, members: &[(&str, Option<Role>)]| {
            refuse_team_change("m1", &teams, team_id, new_manager, members)
        };
        // Their own team, themselves as manager, their own or unteamed reps: fine.
        assert_eq!(
            refuse(Some("north"), Some("m1"), &[("a", rep), ("c", rep)]),
            None
        );
        assert_eq!(refuse(None, None, &[]), None);
        assert_eq!(refuse(None, Some("m1"), &[("c", rep)]), None);
        // An unmanaged team's members are nobody else's.
        assert_eq!(
            refuse(None, Some("m1"), &[("x", None)]),
            None,
            "unknown ids are validation's"
        );
        // Another manager's team, another manager, another manager's rep, a non-rep.
        let refusals = [
            refuse(Some("south"), Some("m1"), &[]),
            refuse(Some("pool"), Some("m1"), &[]),
            refuse(None, Some("m2"), &[]),
            refuse(Some("north"), Some("m1"), &[("b", rep)]),
            refuse(None, None, &[("m2", Some(Role::Manager))]),
            refuse(None, None, &[("boss", Some(Role::Admin))]),
        ];
        for (i, r) in refusals.iter().enumerate() {
            assert!(r.is_some(), "case {i} should be refused");
        }
        assert_eq!(
            refusals[0].as_deref(),
            Some("team \"south\" is not yours to change")
        );
    }

    use super::*;
    use Permission::*;

    #[test]
    fn the_permission_table() {
        let all = [
            ReadLeads,
            WriteLeads,
            MergeLeads,
            ManageForms,
            RunImports,
            ReadCatalog,
            ReadUsers,
            ManageUsers,
            ManageTeams,
            ConfigureLifecycle,
            ConfigureScoring,
            ReadAllLeads,
            ReadAccounts,
            ManageIntegrations,
            ManageCampaigns,
        ];
        let expect = |role: Role, allowed: &[Permission]| {
            for p in all {
                assert_eq!(role.allows(p), allowed.contains(&p), "{role} {p:?}");
            }
        };
        expect(Role::Admin, &all);
        expect(
            Role::Manager,
            &[
                ReadLeads,
                WriteLeads,
                MergeLeads,
                ManageForms,
                RunImports,
                ReadCatalog,
                ReadUsers,
                ManageTeams,
                ConfigureScoring,
                ReadAccounts,
            ],
        );
        expect(
            Role::Marketer,
            &[
                ReadLeads,
                WriteLeads,
                MergeLeads,
                ManageForms,
                RunImports,
                ReadCatalog,
                ConfigureScoring,
                ReadAllLeads,
                ReadAccounts,
                ManageIntegrations,
                ManageCampaigns,
            ],
        );
        expect(Role::Rep, &[ReadLeads, WriteLeads, ReadCatalog]);
    }

    #[test]
    fn roles_parse_case_insensitively() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert_eq!(" Manager ".parse::<Role>().unwrap(), Role::Manager);
        assert!("owner".parse::<Role>().is_err());
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scopes_follow_the_role() {
        for role in [Role::Admin, Role::Marketer] {
            assert_eq!(LeadScope::of(role, "u", ["x".to_string()]), LeadScope::All);
        }
        assert_eq!(
            LeadScope::of(Role::Rep, "r1", ["r2".to_string()]),
            LeadScope::Owned {
                owners: set(&["r1"]),
                unowned: false
            },
            "a rep's scope ignores team members"
        );
        assert_eq!(
            LeadScope::of(Role::Manager, "m", ["r1".to_string(), "r2".to_string()]),
            LeadScope::Owned {
                owners: set(&["m", "r1", "r2"]),
                unowned: true
            }
        );
    }

    #[test]
    fn who_sees_which_lead() {
        let rep = LeadScope::of(Role::Rep, "r1", []);
        let manager = LeadScope::of(Role::Manager, "m", ["r1".to_string()]);
        let cases = [
            (Some("r1"), true, true, true),
            (Some("r2"), false, false, true),
            (Some("m"), false, true, true),
            (None, false, true, true),
        ];
        for (owner, by_rep, by_manager, by_all) in cases {
            assert_eq!(rep.includes(owner), by_rep, "rep, owner {owner:?}");
            assert_eq!(
                manager.includes(owner),
                by_manager,
                "manager, owner {owner:?}"
            );
            assert_eq!(LeadScope::All.includes(owner), by_all);
        }
        assert!(rep.owns_what_it_creates());
        assert!(!manager.owns_what_it_creates());
        assert!(!LeadScope::All.owns_what_it_creates());
    }

    #[test]
    fn lead_events_reach_the_scopes_they_name() {
        let rep = LeadScope::of(Role::Rep, "r1", []);
        let other = LeadScope::of(Role::Rep, "r2", []);
        let manager = LeadScope::of(Role::Manager, "m", ["r1".to_string()]);
        let other_manager = LeadScope::of(Role::Manager, "m2", ["r2".to_string()]);
        let assigned = ["r1".to_string()];
        assert!(rep.sees_lead_event(&assigned, Some("r1")));
        assert!(!other.sees_lead_event(&assigned, Some("r1")));
        assert!(manager.sees_lead_event(&assigned, Some("r1")));
        assert!(!other_manager.sees_lead_event(&assigned, Some("r1")));
        // Taken from r2 and given to r1: r2 hears of it (previous owner).
        let moved = ["r1".to_string(), "r2".to_string()];
        assert!(other.sees_lead_event(&moved, Some("r1")));
        // A new unowned lead: managers distribute those; reps do not see them.
        assert!(manager.sees_lead_event(&[], None));
        assert!(other_manager.sees_lead_event(&[], None));
        assert!(!rep.sees_lead_event(&[], None));
        assert!(LeadScope::All.sees_lead_event(&[], None));
    }
}
