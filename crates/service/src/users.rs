//! Users, their roles and rep settings, and teams.
//!
//! Passwords (for the web app's login, which comes later) are argon2 hashes computed
//! on the blocking pool; API tokens belong to a user and act with its role.

use crate::error::{Result, ServiceError};
use crate::App;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use leadline_domain::access::{self, Role, TeamView};
use leadline_domain::limits;
use leadline_domain::normalize::{normalize_country, EmailAddress, FieldError};
use leadline_store::users::{self, TeamRow, UserRow};
use leadline_store::{new_id, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

/// A user as the API or CLI asks for it. Absent rep settings take defaults.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub password: Option<String>,
    pub active: Option<bool>,
    /// `{"time_zone": "Europe/London", "week": [{"day": "mon", "start": "09:00", "end": "17:00"}, …]}`
    pub working_hours: Option<Value>,
    /// `[{"country": "GB"}, {"country": "US", "region": "CA"}]`
    pub territories: Option<Value>,
    pub capacity: Option<i64>,
    pub weight: Option<i64>,
}

fn err(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        code: code.to_string(),
        message: message.into(),
    }
}

/// Default working hours: Monday to Friday, 09:00–17:00 UTC.
pub fn default_working_hours() -> Value {
    let week: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| json!({ "day": d, "start": "09:00", "end": "17:00" }))
        .collect();
    json!({ "time_zone": "UTC", "week": week })
}

/// Checks and normalises territories: a list of `{country, region?}` with ISO countries.
fn territories(value: &Value, errors: &mut Vec<FieldError>) -> Value {
    let Value::Array(items) = value else {
        errors.push(err(
            "territories",
            "invalid_type",
            "territories must be a list of {country, region}",
        ));
        return json!([]);
    };
    if let Err(e) = limits::check_count("territories", items.len(), limits::MAX_TERRITORIES) {
        errors.push(e);
        return json!([]);
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let country = item
            .get("country")
            .and_then(Value::as_str)
            .and_then(normalize_country);
        let region = item
            .get("region")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let extra = item
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k != "country" && k != "region"));
        match country {
            Some(c) if !extra => out.push(json!({ "country": c, "region": region })),
            _ => errors.push(err(
                &format!("territories[{i}]"),
                "invalid_territory",
                "each territory needs a known country and optionally a region",
            )),
        }
    }
    Value::Array(out)
}

fn hash_password(password: String) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("hashing a password: {e}")))
}

/// Who saves a team: someone who manages users (an admin, the CLI, the demo), or a
/// manager, whose changes are held to `access::refuse_team_change`.
#[derive(Debug, Clone, Copy)]
pub enum TeamEditor<'a> {
    Admin,
    Manager(&'a str),
}

impl App {
    /// Applies `input` over `user`, validating every field; all problems are reported.
    async fn apply_user_input(
        &self,
        user: &mut UserRow,
        input: UserInput,
        creating: bool,
    ) -> Result<()> {
        let mut errors = Vec::new();
        match input.email.as_deref().map(EmailAddress::parse) {
            Some(Ok(e)) => user.email = e.as_str().to_lowercase(),
            Some(Err(e)) => errors.push(err("email", "invalid_email", e.to_string())),
            None if creating => {
                errors.push(err("email", "required", "an e-mail address is required"))
            }
            None => {}
        }
        match input.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() && n.chars().count() <= 200 => user.name = n.to_string(),
            Some(_) => errors.push(err(
                "name",
                "invalid_length",
                "a name of 1 to 200 characters is required",
            )),
            None if creating => errors.push(err("name", "required", "a name is required")),
            None => {}
        }
        match input.role.as_deref().map(str::parse::<Role>) {
            Some(Ok(r)) => user.role = r.as_str().to_string(),
            Some(Err(e)) => errors.push(err("role", "unknown_role", e.to_string())),
            None if creating => errors.push(err(
                "role",
                "required",
                "a role is required: admin, manager, marketer or rep",
            )),
            None => {}
        }
        if let Some(active) = input.active {
            user.active = active;
        }
        if let Some(hours) = input.working_hours {
            match serde_json::from_value::<leadline_domain::schedule::WorkingHours>(hours) {
                Ok(h)
                    if h.week.len() > limits::MAX_WORKING_INTERVALS
                        || h.holidays.len() > limits::MAX_HOLIDAYS =>
                {
                    errors.extend(
                        [
                            limits::check_count(
                                "working_hours.week",
                                h.week.len(),
                                limits::MAX_WORKING_INTERVALS,
                            ),
                            limits::check_count(
                                "working_hours.holidays",
                                h.holidays.len(),
                                limits::MAX_HOLIDAYS,
                            ),
                        ]
                        .into_iter()
                        .filter_map(|r| r.err()),
                    );
                }
                Ok(h) => match h.validate() {
                    Ok(()) => user.working_hours = serde_json::to_value(&h).unwrap_or_default(),
                    Err(problems) => {
                        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                        errors.push(err(
                            "working_hours",
                            "invalid_working_hours",
                            text.join("; "),
                        ))
                    }
                },
                Err(e) => errors.push(err("working_hours", "invalid_working_hours", e.to_string())),
            }
        }
        if let Some(t) = input.territories {
            user.territories = territories(&t, &mut errors);
        }
        match input.capacity {
            Some(c) if (0..=100_000).contains(&c) => user.capacity = c,
            Some(_) => errors.push(err(
                "capacity",
                "out_of_range",
                "capacity is 0 to 100000 open leads",
            )),
            None => {}
        }
        match input.weight {
            Some(w) if (1..=1000).contains(&w) => user.weight = w,
            Some(_) => errors.push(err("weight", "out_of_range", "weight is 1 to 1000")),
            None => {}
        }
        if let Some(p) = input.password {
            if p.chars().count() < 12 || p.len() > 1024 {
                errors.push(err(
                    "password",
                    "weak_password",
                    "a password has at least 12 characters",
                ));
            } else {
                user.password_hash = Some(
                    tokio::task::spawn_blocking(move || hash_password(p))
                        .await
                        .map_err(|e| ServiceError::Internal(e.into()))??,
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(errors))
        }
    }

    pub async fn create_user(&self, input: UserInput) -> Result<UserRow> {
        let now = self.now();
        let mut user = UserRow {
            id: new_id(),
            email: String::new(),
            name: String::new(),
            role: String::new(),
            password_hash: None,
            active: true,
            working_hours: default_working_hours(),
            territories: json!([]),
            capacity: 50,
            weight: 1,
            created_at: now,
            updated_at: now,
        };
        self.apply_user_input(&mut user, input, true).await?;
        let mut conn = self.db.acquire().await?;
        let inserted = users::insert_user(&mut conn, &user).await;
        self.forget_directory();
        match inserted {
            Err(StoreError::Conflict(m)) => Err(ServiceError::conflict("user_exists", m)),
            other => other.map(|_| user).map_err(Into::into),
        }
    }

    /// Updates a user. Deactivating a user or setting its password ends all its web
    /// sessions at once.
    pub async fn update_user(&self, id: &str, input: UserInput) -> Result<UserRow> {
        let ends_sessions = input.password.is_some() || input.active == Some(false);
        let user = self.save_user_input(id, input).await?;
        if ends_sessions {
            self.end_sessions_of(id).await?;
        }
        Ok(user)
    }

    /// [`App::update_user`] without ending sessions (a user changing their own
    /// password keeps the session they do it in).
    pub(crate) async fn save_user_input(&self, id: &str, input: UserInput) -> Result<UserRow> {
        let mut conn = self.db.acquire().await?;
        let mut user = users::user_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", id))?;
        self.apply_user_input(&mut user, input, false).await?;
        user.updated_at = self.now();
        let updated = users::update_user(&mut conn, &user).await;
        self.forget_directory();
        match updated {
            Err(StoreError::Conflict(m)) => Err(ServiceError::conflict("user_exists", m)),
            other => other.map(|_| user).map_err(Into::into),
        }
    }

    pub async fn user(&self, id: &str) -> Result<UserRow> {
        let mut conn = self.db.acquire().await?;
        users::user_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", id))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let mut conn = self.db.acquire().await?;
        Ok(users::user_by_email(&mut conn, &email.trim().to_lowercase()).await?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>> {
        let mut conn = self.db.acquire().await?;
        Ok(users::list_users(&mut conn).await?)
    }

    /// The owner of tokens created without naming a user: the first admin, created
    /// (without a password) when the database has none yet.
    pub async fn default_admin(&self) -> Result<UserRow> {
        let mut conn = self.db.acquire().await?;
        if let Some(admin) = users::first_admin(&mut conn).await? {
            return Ok(admin);
        }
        drop(conn);
        self.create_user(UserInput {
            email: Some("admin@leadline.invalid".into()),
            name: Some("Administrator".into()),
            role: Some("admin".into()),
            ..Default::default()
        })
        .await
    }

    /// Creates or replaces a team (by id) after checking its manager and members exist.
    pub async fn save_team(
        &self,
        editor: TeamEditor<'_>,
        id: Option<&str>,
        name: &str,
        manager_id: Option<&str>,
        member_ids: &[String],
    ) -> Result<TeamRow> {
        limits::check_count("member_ids", member_ids.len(), limits::MAX_TEAM_MEMBERS)
            .map_err(|e| ServiceError::Invalid(vec![e]))?;
        let mut errors = Vec::new();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(err(
                "name",
                "invalid_length",
                "a team name of 1 to 200 characters is required",
            ));
        }
        let mut tx = self.db.begin().await?;
        if let Some(m) = manager_id {
            if users::user_by_id(&mut tx, m).await?.is_none() {
                errors.push(err("manager_id", "unknown_user", format!("no user {m:?}")));
            }
        }
        let mut member_roles = Vec::with_capacity(member_ids.len());
        for (i, member) in member_ids.iter().enumerate() {
            let user = users::user_by_id(&mut tx, member).await?;
            member_roles.push((
                member.as_str(),
                user.as_ref().and_then(|u| u.role.parse::<Role>().ok()),
            ));
            if user.is_none() {
                errors.push(err(
                    &format!("member_ids[{i}]"),
                    "unknown_user",
                    format!("no user {member:?}"),
                ));
            }
        }
        if let TeamEditor::Manager(manager) = editor {
            // Checked in the transaction that saves, against the teams as they are.
            let teams = users::list_teams(&mut tx).await?;
            let views: Vec<TeamView<'_>> = teams
                .iter()
                .map(|t| TeamView {
                    id: &t.id,
                    name: &t.name,
                    manager_id: t.manager_id.as_deref(),
                    member_ids: &t.member_ids,
                })
                .collect();
            if let Some(why) =
                access::refuse_team_change(manager, &views, id, manager_id, &member_roles)
            {
                return Err(ServiceError::Forbidden(why));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let now = self.now();
        let existing = match id {
            Some(id) => Some(
                users::team_by_id(&mut tx, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("team", id))?,
            ),
            None => None,
        };
        let mut members = member_ids.to_vec();
        members.sort();
        members.dedup();
        let team = TeamRow {
            id: existing
                .as_ref()
                .map(|t| t.id.clone())
                .unwrap_or_else(new_id),
            name: name.to_string(),
            manager_id: manager_id.map(str::to_string),
            member_ids: members,
            created_at: existing.as_ref().map(|t| t.created_at).unwrap_or(now),
            updated_at: now,
        };
        match users::save_team(&mut tx, &team, existing.is_none()).await {
            Err(StoreError::Conflict(m)) => return Err(ServiceError::conflict("team_exists", m)),
            other => other?,
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.forget_directory();
        Ok(team)
    }

    pub async fn list_teams(&self) -> Result<Vec<TeamRow>> {
        let mut conn = self.db.acquire().await?;
        Ok(users::list_teams(&mut conn).await?)
    }
}
