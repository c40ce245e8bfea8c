//! Users (with their role and rep settings) and teams.

use crate::error::{json_column, unique_as_conflict};
use crate::{Result, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub active: bool,
    pub working_hours: serde_json::Value,
    pub territories: serde_json::Value,
    pub capacity: i64,
    pub weight: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const USER_COLUMNS: &str =
    "id, email, name, role, password_hash, active, working_hours, territories, \
    capacity, weight, created_at, updated_at";

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserRow> {
    let working_hours: String = row.try_get("working_hours")?;
    let territories: String = row.try_get("territories")?;
    Ok(UserRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        password_hash: row.try_get("password_hash")?,
        active: row.try_get::<i64, _>("active")? != 0,
        working_hours: json_column("users.working_hours", &working_hours)?,
        territories: json_column("users.territories", &territories)?,
        capacity: row.try_get("capacity")?,
        weight: row.try_get("weight")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a user; a taken e-mail address is a `Conflict`.
pub async fn insert_user(conn: &mut AnyConnection, u: &UserRow) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO users (id, email, name, role, password_hash, active, working_hours, territories, \
         capacity, weight, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(u.id.as_str())
    .bind(u.email.as_str())
    .bind(u.name.as_str())
    .bind(u.role.as_str())
    .bind(u.password_hash.as_deref())
    .bind(i64::from(u.active))
    .bind(u.working_hours.to_string())
    .bind(u.territories.to_string())
    .bind(u.capacity)
    .bind(u.weight)
    .bind(u.created_at)
    .bind(u.updated_at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "a user with e-mail {} exists",
            u.email
        )));
    }
    Ok(())
}

pub async fn update_user(conn: &mut AnyConnection, u: &UserRow) -> Result<()> {
    let done = sqlx::query(
        "UPDATE users SET email = $1, name = $2, role = $3, password_hash = $4, active = $5, \
         working_hours = $6, territories = $7, capacity = $8, weight = $9, updated_at = $10 WHERE id = $11",
    )
    .bind(u.email.as_str())
    .bind(u.name.as_str())
    .bind(u.role.as_str())
    .bind(u.password_hash.as_deref())
    .bind(i64::from(u.active))
    .bind(u.working_hours.to_string())
    .bind(u.territories.to_string())
    .bind(u.capacity)
    .bind(u.weight)
    .bind(u.updated_at)
    .bind(u.id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(unique_as_conflict(|| {
        format!("a user with e-mail {} exists", u.email)
    }))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("user"));
    }
    Ok(())
}

pub async fn user_by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn user_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    let row = sqlx::query(&sql)
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn list_users(conn: &mut AnyConnection) -> Result<Vec<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name, id");
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    rows.iter().map(user_from_row).collect()
}

/// The first active admin, if any (the owner of tokens made without `--user`).
pub async fn first_admin(conn: &mut AnyConnection) -> Result<Option<UserRow>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE role = 'admin' AND active = 1 ORDER BY created_at, id LIMIT 1"
    );
    let row = sqlx::query(&sql).fetch_optional(&mut *conn).await?;
    row.as_ref().map(user_from_row).transpose()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub manager_id: Option<String>,
    pub member_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Inserts or replaces a team and its membership.
pub async fn save_team(conn: &mut AnyConnection, t: &TeamRow, is_new: bool) -> Result<()> {
    if is_new {
        let done = sqlx::query(
            "INSERT INTO teams (id, name, manager_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(t.id.as_str())
        .bind(t.name.as_str())
        .bind(t.manager_id.as_deref())
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "a team named {} exists",
                t.name
            )));
        }
    } else {
        sqlx::query("UPDATE teams SET name = $1, manager_id = $2, updated_at = $3 WHERE id = $4")
            .bind(t.name.as_str())
            .bind(t.manager_id.as_deref())
            .bind(t.updated_at)
            .bind(t.id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(unique_as_conflict(|| {
                format!("a team named {} exists", t.name)
            }))?;
    }
    sqlx::query("DELETE FROM team_members WHERE team_id = $1")
        .bind(t.id.as_str())
        .execute(&mut *conn)
        .await?;
    for member in &t.member_ids {
        sqlx::query(
            "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(t.id.as_str())
        .bind(member.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn list_teams(conn: &mut AnyConnection) -> Result<Vec<TeamRow>> {
    let teams: Vec<(String, String, Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT id, name, manager_id, created_at, updated_at FROM teams ORDER BY name, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let members: Vec<(String, String)> =
        sqlx::query_as("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id")
            .fetch_all(&mut *conn)
            .await?;
    Ok(teams
        .into_iter()
        .map(|(id, name, manager_id, created_at, updated_at)| TeamRow {
            member_ids: members
                .iter()
                .filter(|(t, _)| *t == id)
                .map(|(_, u)| u.clone())
                .collect(),
            id,
            name,
            manager_id,
            created_at,
            updated_at,
        })
        .collect())
}

pub async fn team_by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<TeamRow>> {
    Ok(list_teams(conn).await?.into_iter().find(|t| t.id == id))
}
