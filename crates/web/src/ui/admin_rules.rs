//! Settings: the routing rules (ordered, each with its conditions and target) and the
//! speed-to-lead policies. Each change saves the whole set through the same service
//! call as the API, so the API's checks (unknown reps and teams, unreachable rules,
//! bad conditions) come back in place.

use super::admin::{
    condition_from, condition_inputs, describe_condition, facts_datalist, json_editor, page,
    problems, refuse, require, respond,
};
use super::forms::form_value as get;
use super::layout::{csrf_field, field_errors};
use super::lead::error_response;
use super::{see_other, Signed};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::routing::{RouteTarget, RoutingRule, TeamStrategy};
use leadline_domain::sla::SlaPolicy;
use leadline_service::routing::RoutingRules;
use leadline_service::ServiceError;
use leadline_store::users::{TeamRow, UserRow};
use maud::html;

const SECTION: &str = "/admin/routing";
/// Condition rows in the "add" forms.
const CONDITION_ROWS: usize = 3;

fn strategy_label(s: TeamStrategy) -> &'static str {
    match s {
        TeamStrategy::WeightedRoundRobin => "weighted round robin",
        TeamStrategy::LeastLoaded => "least loaded",
        TeamStrategy::Territory => "by territory",
    }
}

fn target_text(t: &RouteTarget, users: &[UserRow], teams: &[TeamRow]) -> String {
    let team = |id: &str| {
        teams
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| format!("unknown team {id}"))
    };
    match t {
        RouteTarget::Rep { rep_id } => format!(
            "rep {}",
            users
                .iter()
                .find(|u| &u.id == rep_id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| rep_id.clone())
        ),
        RouteTarget::Team { team_id, strategy } => {
            format!("team {} ({})", team(team_id), strategy_label(*strategy))
        }
        RouteTarget::AccountOwner { fallback_team_id } => match fallback_team_id {
            Some(id) => format!("the account's owner, else team {}", team(id)),
            None => "the account's owner".into(),
        },
    }
}

struct Data {
    rules: RoutingRules,
    policies: Vec<SlaPolicy>,
    users: Vec<UserRow>,
    teams: Vec<TeamRow>,
}

async fn data(state: &AppState) -> Result<Data, ServiceError> {
    Ok(Data {
        rules: state.app.routing_rules().await?,
        policies: state.app.sla_policies().await?,
        users: state.app.list_users().await?,
        teams: state.app.list_teams().await?,
    })
}

fn render(signed: &Signed, d: &Data, errors: &[(String, String)], status: StatusCode) -> Response {
    let who = &signed.principal;
    let reps: Vec<&UserRow> = d
        .users
        .iter()
        .filter(|u| u.role == "rep" && u.active)
        .collect();
    let rules_json = serde_json::to_string_pretty(&d.rules).unwrap_or_default();
    let policies_json = serde_json::to_string_pretty(&d.policies).unwrap_or_default();
    let body = html! {
        (facts_datalist())
        (problems(errors))
        section.card aria-labelledby="rules-title" {
            h2 id="rules-title" { "Routing rules" }
            p.hint { "The first rule whose conditions all match and that finds a rep who is working and under capacity decides the owner. A rule without conditions takes every lead, so it comes last." }
            @if d.rules.rules.is_empty() {
                p.empty { "No rules: sales-ready leads stay unassigned for a manager to hand out." }
            } @else {
                ol.rules {
                    @for (i, rule) in d.rules.rules.iter().enumerate() {
                        li {
                            strong { (rule.name) }
                            " — "
                            @if rule.conditions.is_empty() { "every lead" }
                            @else { (rule.conditions.iter().map(describe_condition).collect::<Vec<_>>().join(" and ")) }
                            " → " (target_text(&rule.target, &d.users, &d.teams))
                            form.inline method="post" action="/admin/routing/rules/change" {
                                (csrf_field(who))
                                input type="hidden" name="index" value=(i);
                                @if i > 0 { button.secondary type="submit" name="do" value="up" aria-label={ "Move " (rule.name) " up" } { "↑" } }
                                @if i + 1 < d.rules.rules.len() { button.secondary type="submit" name="do" value="down" aria-label={ "Move " (rule.name) " down" } { "↓" } }
                                button.secondary type="submit" name="do" value="delete" aria-label={ "Delete " (rule.name) } { "Delete" }
                            }
                        }
                    }
                }
            }
            form.rule-form method="post" action="/admin/routing/rules" {
                (csrf_field(who))
                (super::forms::nonce_field())
                h3 { "Add a rule" }
                label for="rule-name" { "Name" }
                input id="rule-name" name="name" type="text" maxlength="200" required;
                @for n in 0..CONDITION_ROWS { (condition_inputs("rule", n)) }
                fieldset {
                    legend { "Send to" }
                    div {
                        label for="rule-target" { "Target" }
                        select id="rule-target" name="target" {
                            option value="team" { "a team" }
                            option value="rep" { "one rep" }
                            option value="account_owner" { "the owner of the lead's account (else the team)" }
                        }
                    }
                    div {
                        label for="rule-team" { "Team" }
                        select id="rule-team" name="team_id" {
                            option value="" { "—" }
                            @for t in &d.teams { option value=(t.id) { (t.name) } }
                        }
                    }
                    div {
                        label for="rule-strategy" { "Choosing a rep of the team" }
                        select id="rule-strategy" name="strategy" {
                            @for s in [TeamStrategy::WeightedRoundRobin, TeamStrategy::LeastLoaded, TeamStrategy::Territory] {
                                option value=(serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) { (strategy_label(s)) }
                            }
                        }
                    }
                    div {
                        label for="rule-rep" { "Rep" }
                        select id="rule-rep" name="rep_id" {
                            option value="" { "—" }
                            @for r in &reps { option value=(r.id) { (r.name) } }
                        }
                    }
                }
                div {
                    label for="rule-position" { "Place it" }
                    select id="rule-position" name="position" {
                        option value="first" { "first" }
                        option value="before_last" selected { "before the last rule" }
                        option value="last" { "last" }
                    }
                }
                button type="submit" { "Add rule" }
            }
            (json_editor(who, "/admin/routing/rules/json", "rules-json", "The rules as JSON", &rules_json))
        }
        section.card aria-labelledby="sla-title" {
            h2 id="sla-title" { "Speed-to-lead policies" }
            p.hint { "The first policy whose conditions match a routed lead sets its first-touch deadline." }
            ol.rules {
                @for (i, p) in d.policies.iter().enumerate() {
                    li {
                        strong { (p.name) } " — "
                        @if p.applies_to.is_empty() { "every routed lead" }
                        @else { (p.applies_to.iter().map(describe_condition).collect::<Vec<_>>().join(" and ")) }
                        ": first touch within " (p.first_touch_within_minutes) " min"
                        @if p.working_hours_only { " of working time" }
                        ", manager told " (p.escalate_after_minutes) " min after"
                        @if let Some(r) = p.reroute_after_minutes { ", re-routed at " (r) " min" }
                        form.inline method="post" action="/admin/routing/sla/change" {
                            (csrf_field(who))
                            input type="hidden" name="index" value=(i);
                            @if i > 0 { button.secondary type="submit" name="do" value="up" aria-label={ "Move " (p.name) " up" } { "↑" } }
                            button.secondary type="submit" name="do" value="delete" aria-label={ "Delete " (p.name) } { "Delete" }
                        }
                    }
                }
            }
            form.rule-form method="post" action="/admin/routing/sla" {
                (csrf_field(who))
                (super::forms::nonce_field())
                h3 { "Add a policy" }
                label for="sla-name" { "Name" }
                input id="sla-name" name="name" type="text" maxlength="200" required;
                @for n in 0..CONDITION_ROWS { (condition_inputs("sla", n)) }
                div.numbers {
                    div {
                        label for="sla-minutes" { "First touch within (minutes)" }
                        input id="sla-minutes" name="first_touch_within_minutes" type="text" inputmode="numeric" value="5" required;
                    }
                    div {
                        label for="sla-escalate" { "Tell the manager after (minutes past the deadline)" }
                        input id="sla-escalate" name="escalate_after_minutes" type="text" inputmode="numeric" value="0";
                    }
                    div {
                        label for="sla-reroute" { "Re-route after (minutes, empty: never)" }
                        input id="sla-reroute" name="reroute_after_minutes" type="text" inputmode="numeric";
                    }
                }
                label.check {
                    input type="checkbox" name="working_hours_only" value="yes" checked;
                    " Count only the rep's working hours"
                }
                div {
                    label for="sla-position" { "Place it" }
                    select id="sla-position" name="position" {
                        option value="first" selected { "first (most specific)" }
                        option value="last" { "last" }
                    }
                }
                button type="submit" { "Add policy" }
            }
            (json_editor(who, "/admin/routing/sla/json", "sla-json", "The policies as JSON", &policies_json))
        }
    };
    respond(status, page(who, SECTION, "Routing and SLA", body))
}

/// `GET /admin/routing`.
pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageTeams) {
        return refused;
    }
    match data(&state).await {
        Ok(d) => render(&signed, &d, &[], StatusCode::OK),
        Err(e) => error_response(e),
    }
}

fn conditions(
    form: &[(String, String)],
) -> Result<Vec<leadline_domain::conditions::Condition>, String> {
    (0..CONDITION_ROWS)
        .filter_map(|n| {
            condition_from(
                get(form, &format!("field{n}")),
                get(form, &format!("op{n}")),
                get(form, &format!("value{n}")),
            )
        })
        .collect()
}

/// A slug of the name, unique among `taken`, as the new rule's id.
fn new_id(name: &str, taken: &[&str]) -> String {
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    slug = slug.trim_matches('-').chars().take(40).collect();
    if slug.is_empty() {
        slug = "rule".into();
    }
    let mut id = slug.clone();
    let mut n = 2;
    while taken.contains(&id.as_str()) {
        id = format!("{slug}-{n}");
        n += 1;
    }
    id
}

/// Saves the rules, or shows the page again with the service's reasons.
async fn save_rules(state: &AppState, signed: &Signed, rules: RoutingRules) -> Response {
    match state.app.set_routing_rules(&rules).await {
        Ok(()) => see_other(SECTION),
        Err(ServiceError::Invalid(errors)) => refused(state, signed, field_errors(errors)).await,
        Err(e) => error_response(e),
    }
}

async fn save_policies(state: &AppState, signed: &Signed, policies: Vec<SlaPolicy>) -> Response {
    match state.app.set_sla_policies(&policies).await {
        Ok(()) => see_other(SECTION),
        Err(ServiceError::Invalid(errors)) => refused(state, signed, field_errors(errors)).await,
        Err(e) => error_response(e),
    }
}

async fn refused(state: &AppState, signed: &Signed, errors: Vec<(String, String)>) -> Response {
    match data(state).await {
        Ok(d) => render(signed, &d, &errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => error_response(e),
    }
}

/// `POST /admin/routing/rules`: a new rule.
pub async fn add_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageTeams) {
        return r;
    }
    super::forms::once_form(
        &state,
        &signed,
        &form,
        SECTION,
        add_rule_now(&state, &signed, &form),
    )
    .await
}

async fn add_rule_now(state: &AppState, signed: &Signed, form: &[(String, String)]) -> Response {
    let mut rules = match state.app.routing_rules().await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let name = get(form, "name").trim().to_string();
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(("name".to_string(), "a rule needs a name".to_string()));
    }
    let conditions = conditions(form).unwrap_or_else(|e| {
        errors.push(("conditions".into(), e));
        Vec::new()
    });
    let target = match get(form, "target") {
        "rep" => RouteTarget::Rep {
            rep_id: get(form, "rep_id").to_string(),
        },
        "account_owner" => RouteTarget::AccountOwner {
            fallback_team_id: Some(get(form, "team_id").to_string()).filter(|t| !t.is_empty()),
        },
        _ => RouteTarget::Team {
            team_id: get(form, "team_id").to_string(),
            strategy: serde_json::from_value(serde_json::Value::String(
                get(form, "strategy").into(),
            ))
            .unwrap_or_default(),
        },
    };
    if !errors.is_empty() {
        return refused(state, signed, errors).await;
    }
    let taken: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    let rule = RoutingRule {
        id: new_id(&name, &taken),
        name,
        conditions,
        target,
    };
    let at = match get(form, "position") {
        "first" => 0,
        "last" => rules.rules.len(),
        _ => rules.rules.len().saturating_sub(1),
    };
    rules.rules.insert(at, rule);
    save_rules(state, signed, rules).await
}

/// Moves a list entry up or down, or deletes it; `false` for an index out of range.
fn change<T>(items: &mut Vec<T>, index: &str, what: &str) -> bool {
    let Ok(i) = index.parse::<usize>() else {
        return false;
    };
    if i >= items.len() {
        return false;
    }
    match what {
        "up" if i > 0 => items.swap(i, i - 1),
        "down" if i + 1 < items.len() => items.swap(i, i + 1),
        "delete" => {
            items.remove(i);
        }
        _ => return false,
    }
    true
}

/// `POST /admin/routing/rules/change`: up, down or delete.
pub async fn change_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageTeams) {
        return r;
    }
    let mut rules = match state.app.routing_rules().await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    if !change(&mut rules.rules, get(&form, "index"), get(&form, "do")) {
        // The page was out of date (another manager changed the rules): show them now.
        return see_other(SECTION);
    }
    save_rules(&state, &signed, rules).await
}

/// `POST /admin/routing/rules/json`.
pub async fn rules_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageTeams) {
        return r;
    }
    match serde_json::from_str::<RoutingRules>(get(&form, "json")) {
        Ok(rules) => save_rules(&state, &signed, rules).await,
        Err(e) => refused(&state, &signed, vec![("json".into(), e.to_string())]).await,
    }
}

fn minutes(
    form: &[(String, String)],
    key: &str,
    errors: &mut Vec<(String, String)>,
) -> Option<u32> {
    let v = get(form, key).trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push((
                key.into(),
                format!("{v:?} is not a whole number of minutes"),
            ));
            None
        }
    }
}

/// `POST /admin/routing/sla`: a new policy.
pub async fn add_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageTeams) {
        return r;
    }
    super::forms::once_form(
        &state,
        &signed,
        &form,
        SECTION,
        add_policy_now(&state, &signed, &form),
    )
    .await
}

async fn add_policy_now(state: &AppState, signed: &Signed, form: &[(String, String)]) -> Response {
    let mut policies = match state.app.sla_policies().await {
        Ok(p) => p,
        Err(e) => return error_response(e),
    };
    let mut errors = Vec::new();
    let name = get(form, "name").trim().to_string();
    if name.is_empty() {
        errors.push(("name".to_string(), "a policy needs a name".to_string()));
    }
    let applies_to = conditions(form).unwrap_or_else(|e| {
        errors.push(("conditions".into(), e));
        Vec::new()
    });
    let within = minutes(form, "first_touch_within_minutes", &mut errors);
    if within.is_none()
        && !errors
            .iter()
            .any(|(f, _)| f == "first_touch_within_minutes")
    {
        errors.push((
            "first_touch_within_minutes".into(),
            "say within how many minutes".into(),
        ));
    }
    let escalate = minutes(form, "escalate_after_minutes", &mut errors).unwrap_or(0);
    let reroute = minutes(form, "reroute_after_minutes", &mut errors);
    if !errors.is_empty() {
        return refused(state, signed, errors).await;
    }
    let taken: Vec<&str> = policies.iter().map(|p| p.id.as_str()).collect();
    let policy = SlaPolicy {
        id: new_id(&name, &taken),
        name,
        applies_to,
        first_touch_within_minutes: within.unwrap_or(5),
        escalate_after_minutes: escalate,
        reroute_after_minutes: reroute,
        working_hours_only: get(form, "working_hours_only") == "yes",
    };
    let at = if get(form, "position") == "last" {
        policies.len()
    } else {
        0
    };
    policies.insert(at, policy);
    save_policies(state, signed, policies).await
}

/// `POST /admin/routing/sla/change`: up or delete.
pub async fn change_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageTeams) {
        return r;
    }
    let mut policies = match state.app.sla_policies().await {
        Ok(p) => p,
        Err(e) => return error_response(e),
    };
    if !change(&mut policies, get(&form, "index"), get(&form, "do")) {
        return see_other(SECTION);
    }
    save_policies(&state, &signed, policies).await
}

/// `POST /admin/routing/sla/json`.
pub async fn policies_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageTeams) {
        return r;
    }
    match serde_json::from_str::<Vec<SlaPolicy>>(get(&form, "json")) {
        Ok(policies) => save_policies(&state, &signed, policies).await,
        Err(e) => refused(&state, &signed, vec![("json".into(), e.to_string())]).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_slugs_unique_in_the_set() {
        assert_eq!(new_id("UK web leads", &[]), "uk-web-leads");
        assert_eq!(new_id("UK web leads", &["uk-web-leads"]), "uk-web-leads-2");
        assert_eq!(new_id("¡¡", &[]), "rule");
    }

    #[test]
    fn entries_move_and_go() {
        let mut v = vec![1, 2, 3];
        assert!(change(&mut v, "0", "down"));
        assert_eq!(v, [2, 1, 3]);
        assert!(change(&mut v, "2", "up"));
        assert_eq!(v, [2, 3, 1]);
        assert!(change(&mut v, "1", "delete"));
        assert_eq!(v, [2, 1]);
        assert!(
            !change(&mut v, "0", "up")
                && !change(&mut v, "9", "delete")
                && !change(&mut v, "x", "up")
        );
    }
}
