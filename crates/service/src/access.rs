//! Who may read and work on which lead. A caller's [`LeadScope`] comes from their role
//! and, for a manager, their teams; every use case that shows or changes a lead on
//! someone's behalf checks it here, so the API, the pages and the event stream agree.
//! A lead outside the scope answers "not found", as if it did not exist.

use crate::error::{Result, ServiceError};
use crate::App;
use leadline_domain::access::{LeadScope, Role};
use leadline_store::{users, work, AnyConnection};
use std::collections::HashSet;

impl App {
    /// The leads a user acting with `role` may see.
    pub async fn lead_scope(&self, user_id: &str, role: Role) -> Result<LeadScope> {
        if role != Role::Manager {
            return Ok(LeadScope::of(role, user_id, []));
        }
        let mut conn = self.db.acquire().await?;
        let teams = users::list_teams(&mut conn).await?;
        let members = teams
            .into_iter()
            .filter(|t| t.manager_id.as_deref() == Some(user_id))
            .flat_map(|t| t.member_ids);
        Ok(LeadScope::of(role, user_id, members))
    }

    /// Refuses, as "lead not found", a lead outside `scope`.
    pub async fn authorize_lead(&self, scope: &LeadScope, lead_id: &str) -> Result<()> {
        if scope.is_all() {
            return Ok(());
        }
        let mut conn = self.db.acquire().await?;
        authorize_lead_in(&mut conn, scope, lead_id).await
    }
}

/// `authorize_lead` on the caller's connection or transaction.
pub(crate) async fn authorize_lead_in(
    conn: &mut AnyConnection,
    scope: &LeadScope,
    lead_id: &str,
) -> Result<()> {
    if scope.is_all() {
        return Ok(());
    }
    let owner = work::owners(conn, &[lead_id.to_string()]).await?;
    if scope.includes(owner.get(lead_id).map(String::as_str)) {
        Ok(())
    } else {
        Err(ServiceError::not_found("lead", lead_id))
    }
}

/// Of `lead_ids`, those in `scope`.
pub(crate) async fn visible_leads(
    conn: &mut AnyConnection,
    scope: &LeadScope,
    lead_ids: &[String],
) -> Result<HashSet<String>> {
    if scope.is_all() {
        return Ok(lead_ids.iter().cloned().collect());
    }
    let owners = work::owners(conn, lead_ids).await?;
    Ok(lead_ids
        .iter()
        .filter(|id| scope.includes(owners.get(*id).map(String::as_str)))
        .cloned()
        .collect())
}
