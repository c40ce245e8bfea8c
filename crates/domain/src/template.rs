//! E-mail templates with merge fields: `Hello {{ first_name | "there" }}`.
//!
//! A template is parsed when it is saved, so a syntax error or an unknown merge field is
//! reported then (with its line and column), never at send time. Rendering fills each
//! field from the lead (or its fallback, or nothing) and, for the HTML part, escapes the
//! values: a lead named `<script>` is text in every message. The template's own HTML is
//! the marketer's and is kept as written.

use std::fmt;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Field {
        name: String,
        fallback: Option<String>,
    },
}

/// A template that parsed, with only known merge fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// What is wrong at one place of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// 1-based line and column (in characters) of the `{{` that starts the problem.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Merge fields every template may use besides the lead's own fields.
pub const SPECIAL_FIELDS: &[&str] = &[
    "owner.name",
    "owner.email",
    "unsubscribe_url",
    "preferences_url",
    "booking_url",
];

fn position(src: &str, byte: usize) -> (usize, usize) {
    let before = &src[..byte];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Reads `name` or `name | "fallback"` between the braces.
fn field(inner: &str) -> Result<(String, Option<String>), String> {
    let (name, fallback) = match inner.split_once('|') {
        Some((name, rest)) => {
            let rest = rest.trim();
            let quoted = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .filter(|r| !r.contains('"'));
            match quoted {
                Some(text) => (name, Some(text.to_string())),
                None => return Err(format!("the fallback after | must be in double quotes, as in {{{{ {} | \"friend\" }}}}", name.trim())),
            }
        }
        None => (inner, None),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err("an empty merge field: name a field between {{ and }}".into());
    }
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !ok {
        return Err(format!(
            "{name:?} is not a merge field name (letters, digits, _ and .)"
        ));
    }
    Ok((name.to_string(), fallback))
}

/// Parses `src`; `known` says which merge fields exist. Every problem is reported.
pub fn parse(src: &str, known: &dyn Fn(&str) -> bool) -> Result<Template, Vec<TemplateError>> {
    let mut parts = Vec::new();
    let mut errors = Vec::new();
    let mut rest = 0;
    let push_text =
        |parts: &mut Vec<Part>, text: &str, errors: &mut Vec<TemplateError>, at: usize| {
            if let Some(stray) = text.find("}}") {
                let (line, column) = position(src, at + stray);
                errors.push(TemplateError {
                    line,
                    column,
                    message: "}} without a {{ before it".into(),
                });
            }
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
        };
    while let Some(open) = src[rest..].find("{{").map(|i| rest + i) {
        push_text(&mut parts, &src[rest..open], &mut errors, rest);
        let (line, column) = position(src, open);
        let Some(close) = src[open + 2..].find("}}").map(|i| open + 2 + i) else {
            errors.push(TemplateError {
                line,
                column,
                message: "{{ is never closed with }}".into(),
            });
            rest = src.len();
            break;
        };
        let inner = &src[open + 2..close];
        if inner.contains("{{") {
            errors.push(TemplateError {
                line,
                column,
                message: "{{ is never closed with }} before the next {{".into(),
            });
        } else {
            match field(inner) {
                Ok((name, fallback)) if known(&name) => parts.push(Part::Field { name, fallback }),
                Ok((name, _)) => errors.push(TemplateError {
                    line,
                    column,
                    message: format!("unknown merge field {name:?}"),
                }),
                Err(message) => errors.push(TemplateError {
                    line,
                    column,
                    message,
                }),
            }
        }
        rest = close + 2;
    }
    if rest < src.len() {
        push_text(&mut parts, &src[rest..], &mut errors, rest);
    }
    if errors.is_empty() {
        Ok(Template { parts })
    } else {
        Err(errors)
    }
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Template {
    fn render(&self, value: &dyn Fn(&str) -> Option<String>, html: bool) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field { name, fallback } => {
                    let v = value(name)
                        .filter(|v| !v.trim().is_empty())
                        .or_else(|| fallback.clone())
                        .unwrap_or_default();
                    if html {
                        out.push_str(&escape_html(&v));
                    } else {
                        out.push_str(&v);
                    }
                }
            }
        }
        out
    }

    /// The plain-text part: values as they are.
    pub fn render_text(&self, value: &dyn Fn(&str) -> Option<String>) -> String {
        self.render(value, false)
    }

    /// The HTML part: every value escaped.
    pub fn render_html(&self, value: &dyn Fn(&str) -> Option<String>) -> String {
        self.render(value, true)
    }

    /// The merge fields the template uses, in order of first use.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Field { name, .. } = part {
                if !out.contains(&name.as_str()) {
                    out.push(name);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> bool {
        matches!(name, "first_name" | "company" | "custom.seats") || SPECIAL_FIELDS.contains(&name)
    }

    fn lead(name: &str) -> Option<String> {
        match name {
            "first_name" => Some("<script>alert(1)</script>".into()),
            "company" => Some("Quinn & Co".into()),
            "custom.seats" => Some("   ".into()),
            _ => None,
        }
    }

    #[test]
    fn fields_fill_from_the_lead_or_their_fallback() {
        let t = parse("Hi {{ first_name }}, {{company}} and {{ custom.seats | \"a few\" }} seats. {{ owner.name | \"We\" }}", &known).unwrap();
        assert_eq!(
            t.fields(),
            ["first_name", "company", "custom.seats", "owner.name"]
        );
        assert_eq!(
            t.render_text(&lead),
            "Hi <script>alert(1)</script>, Quinn & Co and a few seats. We"
        );
        assert_eq!(
            t.render_html(&lead),
            "Hi &lt;script&gt;alert(1)&lt;/script&gt;, Quinn &amp; Co and a few seats. We"
        );
        // The template's own HTML stays as written.
        let t = parse("<p>{{ company }}</p>", &known).unwrap();
        assert_eq!(t.render_html(&lead), "<p>Quinn &amp; Co</p>");
        assert_eq!(parse("", &known).unwrap().parts, vec![]);
    }

    #[test]
    fn mistakes_are_reported_with_their_place() {
        let errors = parse(
            "Hi {{ frist_name }}\n{{ company | no quotes }} {{ }}\nbye }} {{ first_name",
            &known,
        )
        .unwrap_err();
        let found: Vec<(usize, usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.column, e.message.as_str()))
            .collect();
        assert_eq!(found.len(), 5, "{errors:?}");
        assert_eq!((found[0].0, found[0].1), (1, 4));
        assert!(found[0].2.contains("unknown merge field \"frist_name\""));
        assert!(found[1].2.contains("double quotes") && found[1].0 == 2);
        assert!(found[2].2.contains("empty merge field"));
        assert!(found[3].2.contains("without a {{") && found[3].0 == 3);
        assert!(found[4].2.contains("never closed"));
        assert_eq!(
            errors[0].to_string(),
            "line 1, column 4: unknown merge field \"frist_name\""
        );
        assert!(parse("{{ first_name {{ company }}", &known).is_err());
        assert!(parse("{{ drop table; }}", &known).is_err());
    }

    #[test]
    fn escaping_covers_attributes_too() {
        assert_eq!(escape_html(r#"a"b'c<d>&"#), "a&quot;b&#39;c&lt;d&gt;&amp;");
    }
}
