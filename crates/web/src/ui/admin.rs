//! The settings area: a section per configuration, each shown only to the roles that
//! may change it, and the pieces its editors share.

use super::layout::csrf_field;
use super::{page_response, Signed};
use axum::http::StatusCode;
use axum::response::Response;
use leadline_domain::access::Permission;
use leadline_domain::conditions::{Condition, Operator};
use leadline_service::sessions::SessionPrincipal;
use maud::{html, Markup};
use serde_json::Value;

/// The sections, in the sidebar's order: address, name, the permission they need.
pub const SECTIONS: &[(&str, &str, Permission)] = &[
    ("/admin/forms", "Forms", Permission::ManageForms),
    ("/admin/routing", "Routing and SLA", Permission::ManageTeams),
    ("/admin/imports", "Import a list", Permission::RunImports),
    ("/admin/users", "Users and teams", Permission::ReadUsers),
    (
        "/admin/sources",
        "Sources and campaigns",
        Permission::ReadCatalog,
    ),
    ("/admin/scoring", "Scoring", Permission::ConfigureScoring),
    (
        "/admin/lifecycle",
        "Lifecycle and playbooks",
        Permission::ConfigureLifecycle,
    ),
    (
        "/admin/webhooks",
        "Webhooks",
        Permission::ManageIntegrations,
    ),
    ("/admin/tokens", "API tokens", Permission::ReadLeads),
];

/// Whether this person may open any section (the top bar's "Settings" link).
pub fn any_section(who: &SessionPrincipal) -> bool {
    SECTIONS.iter().any(|(_, _, p)| who.role.allows(*p))
}

/// A settings page: the sidebar with `current` marked, then the section's body.
pub fn page(who: &SessionPrincipal, current: &str, title: &str, body: Markup) -> Markup {
    let inner = html! {
        div.admin {
            nav.admin-nav aria-label="Settings" {
                ul {
                    @for (href, name, permission) in SECTIONS {
                        @if who.role.allows(*permission) {
                            li {
                                @if *href == current { a href=(href) aria-current="page" { (name) } }
                                @else { a href=(href) { (name) } }
                            }
                        }
                    }
                }
            }
            div.admin-main {
                h1 { (title) }
                (body)
            }
        }
    };
    super::layout::signed_in(title, who, inner)
}

pub fn respond(status: StatusCode, markup: Markup) -> Response {
    page_response(status, markup)
}

/// Refuses a settings form sent from another site, without this session's CSRF
/// token, or by a role without `permission`; `None` lets it on.
pub fn refuse(
    state: &crate::AppState,
    headers: &axum::http::HeaderMap,
    signed: &Signed,
    form: &[(String, String)],
    permission: Permission,
) -> Option<Response> {
    super::forms::refuse_form(
        state,
        headers,
        signed,
        super::forms::form_value(form, "csrf"),
    )
    .or_else(|| require(signed, permission))
}

/// A settings page's status: 422 when it shows why a save was refused.
pub fn status_for(errors: &[(String, String)]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A secret shown once, after it was made (an API token, a webhook's signing key).
pub fn secret_once(id: &str, label: &str, intro: &str, secret: &str) -> Markup {
    html! {
        div.alert.ok role="status" {
            p { (intro) }
            label for=(id) { (label) }
            input id=(id) type="text" readonly value=(secret);
        }
    }
}

/// Refuses a section the person's role does not open.
pub fn require(signed: &Signed, permission: Permission) -> Option<Response> {
    (!signed.principal.role.allows(permission)).then(super::refused_page)
}

/// `GET /admin`: the first section this person may open.
pub async fn index(signed: Signed) -> Response {
    let who = &signed.principal;
    match SECTIONS.iter().find(|(_, _, p)| who.role.allows(*p)) {
        Some((href, _, _)) => super::see_other(href),
        None => super::refused_page(),
    }
}

/// The service's messages for a refused save, listed where the form is.
pub fn problems(errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.alert.error role="alert" {
                p { "Not saved:" }
                ul { @for (field, message) in errors { li { @if !field.is_empty() { code { (field) } ": " } (message) } } }
            }
        }
    }
}

/// A configuration as JSON in a text area, for what the structured editor does not
/// cover; the service checks it exactly as the API would.
pub fn json_editor(
    who: &SessionPrincipal,
    action: &str,
    id: &str,
    label: &str,
    text: &str,
) -> Markup {
    html! {
        details.json-editor {
            summary { "Edit as JSON" }
            form method="post" action=(action) {
                (csrf_field(who))
                label for=(id) { (label) }
                textarea id=(id) name="json" rows="16" spellcheck="false" { (text) }
                button type="submit" { "Save JSON" }
            }
        }
    }
}

/// The operators a condition may use, as the editors offer them.
pub const OPERATORS: &[(&str, &str)] = &[
    ("eq", "is"),
    ("ne", "is not"),
    ("in", "is one of (comma-separated)"),
    ("not_in", "is none of (comma-separated)"),
    ("contains", "contains"),
    (
        "contains_any_word",
        "contains any word of (comma-separated)",
    ),
    ("starts_with", "starts with"),
    ("gt", ">"),
    ("gte", "≥"),
    ("lt", "<"),
    ("lte", "≤"),
    ("exists", "is filled in"),
    ("not_exists", "is empty"),
];

/// A condition from the editor's three inputs; `None` when the row was left empty.
pub fn condition_from(field: &str, op: &str, value: &str) -> Option<Result<Condition, String>> {
    let field = field.trim();
    if field.is_empty() {
        return None;
    }
    let op: Operator = match serde_json::from_value(Value::String(op.to_string())) {
        Ok(op) => op,
        Err(_) => return Some(Err(format!("{op:?} is not an operator"))),
    };
    let value = value.trim();
    let list = || {
        Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| Value::String(v.to_string()))
                .collect(),
        )
    };
    let value = match op {
        Operator::In | Operator::NotIn | Operator::ContainsAnyWord => list(),
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
            match value
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => Value::Number(n),
                None => return Some(Err(format!("{field}: {value:?} is not a number"))),
            }
        }
        Operator::Exists | Operator::NotExists => Value::Null,
        _ => Value::String(value.to_string()),
    };
    Some(Ok(Condition {
        field: field.to_string(),
        op,
        value,
    }))
}

/// A condition as people read it: `channel is web_form`.
pub fn describe_condition(c: &Condition) -> String {
    let op = serde_json::to_value(c.op)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let words = OPERATORS
        .iter()
        .find(|(key, _)| *key == op)
        .map(|(_, w)| w.split(" (").next().unwrap_or(w))
        .unwrap_or(&op);
    let value = match &c.value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        v => v.to_string(),
    };
    format!("{} {words} {value}", c.field)
        .trim_end()
        .to_string()
}

/// The three inputs of one condition row; `n` tells the rows apart.
pub fn condition_inputs(prefix: &str, n: usize) -> Markup {
    html! {
        fieldset.condition {
            legend { "Condition " (n + 1) }
            div {
                label for={ (prefix) "-field-" (n) } { "Fact" }
                input id={ (prefix) "-field-" (n) } name={ "field" (n) } type="text" list="facts" maxlength="100";
            }
            div {
                label for={ (prefix) "-op-" (n) } { "Test" }
                select id={ (prefix) "-op-" (n) } name={ "op" (n) } {
                    @for (key, words) in OPERATORS { option value=(key) { (words) } }
                }
            }
            div {
                label for={ (prefix) "-value-" (n) } { "Value" }
                input id={ (prefix) "-value-" (n) } name={ "value" (n) } type="text" maxlength="500";
            }
        }
    }
}

/// The datalist of facts the condition inputs suggest.
pub fn facts_datalist() -> Markup {
    use leadline_domain::conditions::STANDARD_FACTS;
    use leadline_domain::qualification::QuestionKey;
    html! {
        datalist id="facts" {
            @for f in STANDARD_FACTS { option value=(f) {} }
            @for q in QuestionKey::ALL { option value={ "answers." (q.as_str()) } {} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_rows_read_as_conditions() {
        let c = condition_from("channel", "eq", " web_form ")
            .unwrap()
            .unwrap();
        assert_eq!(describe_condition(&c), "channel is web_form");
        let c = condition_from("country", "in", "GB, IE,,")
            .unwrap()
            .unwrap();
        assert_eq!(c.value, serde_json::json!(["GB", "IE"]));
        assert_eq!(describe_condition(&c), "country is one of GB, IE");
        let c = condition_from("score", "gte", "40").unwrap().unwrap();
        assert_eq!(c.value, serde_json::json!(40.0));
        assert!(condition_from("score", "gte", "lots").unwrap().is_err());
        assert!(condition_from("score", "bigger", "1").unwrap().is_err());
        assert!(condition_from("  ", "eq", "x").is_none());
        let c = condition_from("phone", "exists", "ignored")
            .unwrap()
            .unwrap();
        assert_eq!(describe_condition(&c), "phone is filled in");
    }
}
