//! Roles and what each may do. Every API route names the permission it needs; an API
//! token acts with its user's role.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, teams and rules.
    Admin,
    /// Runs a sales team: all leads, routing, imports, merges; reads users.
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
            Role::Manager => !matches!(
                permission,
                ManageUsers
                    | ManageForms
                    | ConfigureLifecycle
                    | ManageIntegrations
                    | ManageCampaigns
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Every lead, not only the ones the user owns (reps see their own).
    ReadAllLeads,
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
            Permission::ManageIntegrations => "manage_integrations",
            Permission::ManageCampaigns => "manage_campaigns",
        }
    }
}

#[cfg(test)]
mod tests {
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
                RunImports,
                ReadCatalog,
                ReadUsers,
                ManageTeams,
                ConfigureScoring,
                ReadAllLeads,
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
}
