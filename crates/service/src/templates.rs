//! E-mail templates: saved only when every part parses with known merge fields, and
//! rendered for a chosen lead (the editor's preview; the sender's message).

use crate::error::{Result, ServiceError};
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::fields::LeadField;
use leadline_domain::normalize::FieldError;
use leadline_domain::qualification::QuestionKey;
use leadline_domain::template::{self, escape_html, Template, SPECIAL_FIELDS};
use leadline_store::new_id;
use leadline_store::templates::{self, EmailTemplate};

/// What a person writes.
#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
    pub name: String,
    pub subject: String,
    pub body_text: String,
    /// Empty: made from the text (paragraphs, escaped).
    pub body_html: String,
}

/// A template filled in for one lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMessage {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The addresses a message's links go to (made per message by the sender).
#[derive(Debug, Clone, Default)]
pub struct MessageLinks {
    pub unsubscribe: String,
    pub preferences: String,
    pub booking: String,
}

/// Whether templates may use this merge field: a lead field, `custom.<key>`,
/// `answers.<question>`, or one of [`SPECIAL_FIELDS`].
pub fn known_merge_field(name: &str) -> bool {
    if SPECIAL_FIELDS.contains(&name) {
        return true;
    }
    if let Some(key) = name.strip_prefix("custom.") {
        return !key.is_empty() && key.len() <= 64;
    }
    if let Some(q) = name.strip_prefix("answers.") {
        return q.parse::<QuestionKey>().is_ok();
    }
    name.parse::<LeadField>()
        .is_ok_and(|f| f != LeadField::FullName)
}

fn parsed(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<Template> {
    match template::parse(text, &known_merge_field) {
        Ok(t) => Some(t),
        Err(problems) => {
            errors.extend(problems.into_iter().map(|p| FieldError {
                field: field.into(),
                code: "template_error".into(),
                message: p.to_string(),
            }));
            None
        }
    }
}

/// An HTML body for a text-only template: paragraphs of the escaped text, with the
/// merge fields (and their quoted fallbacks) left as written for the template to read.
fn html_from_text(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            format!(
                "<p>{}</p>",
                escape_outside_fields(p.trim()).replace('\n', "<br>\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` escaped for HTML except within `{{ … }}`.
fn escape_outside_fields(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&escape_html(&rest[..open]));
        match rest[open..].find("}}") {
            Some(close) => {
                out.push_str(&rest[open..open + close + 2]);
                rest = &rest[open + close + 2..];
            }
            None => {
                out.push_str(&escape_html(&rest[open..]));
                rest = "";
            }
        }
    }
    out.push_str(&escape_html(rest));
    out
}

impl App {
    /// Saves a new template (`id` None) or replaces one; every problem of every part is
    /// reported with its line and column.
    pub async fn save_template(
        &self,
        id: Option<&str>,
        input: &TemplateInput,
    ) -> Result<EmailTemplate> {
        let mut errors = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError {
                field: "name".into(),
                code: "invalid_length".into(),
                message: "a template's name has 1 to 200 characters".into(),
            });
        }
        let subject = input.subject.trim();
        if subject.is_empty() || subject.chars().count() > 500 || subject.contains(['\r', '\n']) {
            errors.push(FieldError {
                field: "subject".into(),
                code: "invalid_subject".into(),
                message: "a subject is one line of 1 to 500 characters".into(),
            });
        }
        if input.body_text.trim().is_empty() {
            errors.push(FieldError {
                field: "body_text".into(),
                code: "required".into(),
                message: "every message has a plain-text part".into(),
            });
        }
        for (field, text, max) in [
            ("body_text", &input.body_text, 100_000),
            ("body_html", &input.body_html, 200_000),
        ] {
            if text.len() > max {
                errors.push(FieldError {
                    field: field.into(),
                    code: "too_long".into(),
                    message: format!("at most {max} bytes"),
                });
            }
        }
        parsed("subject", subject, &mut errors);
        parsed("body_text", &input.body_text, &mut errors);
        let html = if input.body_html.trim().is_empty() {
            html_from_text(&input.body_text)
        } else {
            input.body_html.clone()
        };
        parsed("body_html", &html, &mut errors);
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        let existing = match id {
            Some(id) => Some(
                templates::get(&mut conn, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("template", id))?,
            ),
            None => None,
        };
        let template = EmailTemplate {
            id: existing.as_ref().map_or_else(new_id, |t| t.id.clone()),
            name: name.to_string(),
            subject: subject.to_string(),
            body_text: input.body_text.clone(),
            body_html: html,
            created_at: existing.as_ref().map_or(now, |t| t.created_at),
            updated_at: now,
        };
        if !templates::save(&mut conn, &template).await? {
            return Err(ServiceError::invalid(
                "name",
                "name_taken",
                format!("another template is called {name:?}"),
            ));
        }
        Ok(template)
    }

    pub async fn template(&self, id: &str) -> Result<EmailTemplate> {
        let mut conn = self.db.acquire().await?;
        templates::get(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("template", id))
    }

    pub async fn templates(&self) -> Result<Vec<EmailTemplate>> {
        let mut conn = self.db.acquire().await?;
        Ok(templates::list(&mut conn).await?)
    }

    /// The template filled in for a lead the caller may see.
    pub async fn render_template(
        &self,
        scope: &LeadScope,
        template_id: &str,
        lead_id: &str,
        links: &MessageLinks,
    ) -> Result<RenderedMessage> {
        let stored = self.template(template_id).await?;
        let lead = self.lead_for(scope, lead_id).await?;
        let qualification = self.qualification(lead_id).await?;
        let owner = match &qualification.owner_id {
            Some(id) => self.user(id).await.ok(),
            None => None,
        };
        let input = lead.fields.to_input();
        let value = |name: &str| -> Option<String> {
            match name {
                "owner.name" => owner.as_ref().map(|o| o.name.clone()),
                "owner.email" => owner.as_ref().map(|o| o.email.clone()),
                "unsubscribe_url" => Some(links.unsubscribe.clone()),
                "preferences_url" => Some(links.preferences.clone()),
                "booking_url" => Some(links.booking.clone()),
                other => {
                    if let Some(key) = other.strip_prefix("custom.") {
                        return lead.fields.custom.get(key).cloned();
                    }
                    if let Some(q) = other.strip_prefix("answers.") {
                        let q = q.parse::<QuestionKey>().ok()?;
                        return qualification.answers.get(q).map(|a| a.to_string());
                    }
                    let field = other.parse::<LeadField>().ok()?;
                    input.get(field).map(str::to_string)
                }
            }
        };
        let parse = |text: &str| {
            template::parse(text, &known_merge_field).map_err(|e| {
                ServiceError::Internal(anyhow::anyhow!("stored template {template_id}: {e:?}"))
            })
        };
        Ok(RenderedMessage {
            subject: parse(&stored.subject)?.render_text(&value),
            text: parse(&stored.body_text)?.render_text(&value),
            html: parse(&stored.body_html)?.render_html(&value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_fields_are_lead_fields_custom_answers_and_links() {
        for ok in [
            "first_name",
            "company",
            "custom.seats",
            "answers.timeframe",
            "unsubscribe_url",
            "owner.name",
        ] {
            assert!(known_merge_field(ok), "{ok}");
        }
        for bad in [
            "full_name",
            "custom.",
            "answers.mood",
            "password",
            "owner.password",
        ] {
            assert!(!known_merge_field(bad), "{bad}");
        }
    }

    #[test]
    fn a_text_template_makes_its_own_html() {
        assert_eq!(
            html_from_text("Hi {{ first_name }} & co,\nthanks.\n\nBye"),
            "<p>Hi {{ first_name }} &amp; co,<br>\nthanks.</p>\n<p>Bye</p>"
        );
        // A fallback's quotes stay quotes, so the HTML part still parses.
        let html = html_from_text(r#"From {{ company | "your team" }} "with" love"#);
        assert_eq!(
            html,
            r#"<p>From {{ company | "your team" }} &quot;with&quot; love</p>"#
        );
        assert_eq!(html_from_text("a <b> {{ x"), "<p>a &lt;b&gt; {{ x</p>");
    }
}
