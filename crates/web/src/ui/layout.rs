//! The page frame: head, the top bar with the signed-in person, the main area.

use super::CSRF_FIELD;
use leadline_service::sessions::SessionPrincipal;
use maud::{html, Markup, DOCTYPE};

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Leadline" }
            link rel="stylesheet" href="/assets/app.css";
            link rel="icon" href="/assets/icon.svg" type="image/svg+xml";
        }
    }
}

/// A page for someone not signed in (sign-in, setup, refusals): a narrow column.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { a.brand href="/" { "Leadline" } }
                main.narrow id="main" { (body) }
            }
        }
    }
}

/// A page for a signed-in person, with their name and a sign-out button.
pub fn signed_in(title: &str, who: &SessionPrincipal, body: Markup) -> Markup {
    frame(title, who, body, None)
}

/// [`signed_in`] with one of our scripts (`/assets/…`) loaded at the end of the body.
pub fn signed_in_live(title: &str, who: &SessionPrincipal, body: Markup, script: &str) -> Markup {
    frame(title, who, body, Some(script))
}

fn frame(title: &str, who: &SessionPrincipal, body: Markup, script: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Leadline" }
                    nav aria-label="Main" {
                        a href="/" { "Inbox" }
                        a href="/leads" { "Leads" }
                        a href="/pipeline" { "Pipeline" }
                        a href="/duplicates" { "Duplicates" }
                        @if who.role.allows(leadline_domain::access::Permission::ManageTeams) { a href="/team" { "Team" } }
                        @if super::admin::any_section(who) { a href="/admin" { "Settings" } }
                        a href="/account" { (who.user.name) " (" (who.role) ")" }
                        form method="post" action="/logout" {
                            (csrf_field(who))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
                @if let Some(src) = script { script src=(src) {} }
            }
        }
    }
}

pub fn csrf_field(who: &SessionPrincipal) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(who.session.csrf_token); }
}

/// A text input with its label and, when the server refused the value, the reason
/// beside it (tied to the input for screen readers).
pub fn field(
    name: &str,
    label: &str,
    kind: &str,
    value: Option<&str>,
    autocomplete: &str,
    error: Option<&str>,
) -> Markup {
    let error_id = format!("{name}-error");
    html! {
        label for=(name) { (label) }
        input id=(name) name=(name) type=(kind) value=[value] autocomplete=(autocomplete)
            required maxlength="1024"
            aria-invalid=[error.map(|_| "true")]
            aria-describedby=[error.map(|_| error_id.as_str())];
        @if let Some(message) = error {
            p.field-error id=(error_id) { (message) }
        }
    }
}

/// The message a refused form gives for `field`, if any.
pub fn error_for<'e>(errors: &'e [(String, String)], field: &str) -> Option<&'e str> {
    errors
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, m)| m.as_str())
}

/// A service's field errors as (field, message) pairs for the page.
pub fn field_errors(errors: Vec<leadline_domain::normalize::FieldError>) -> Vec<(String, String)> {
    errors.into_iter().map(|e| (e.field, e.message)).collect()
}

/// A service's field errors as one sentence, for a page with no field to put them by.
pub fn joined_messages(errors: &[leadline_domain::normalize::FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}
