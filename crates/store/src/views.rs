//! Each person's saved list views and preferences.

use crate::Result;
use sqlx::AnyConnection;

/// A named list: the filters as the list page's query string.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct SavedView {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub query: String,
    pub created_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, view: &SavedView) -> Result<()> {
    sqlx::query(
        "INSERT INTO saved_views (id, user_id, name, query, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(view.id.as_str())
    .bind(view.user_id.as_str())
    .bind(view.name.as_str())
    .bind(view.query.as_str())
    .bind(view.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A person's views, by name.
pub async fn of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<SavedView>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, name, query, created_at FROM saved_views WHERE user_id = $1 ORDER BY name, id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Deletes one of the person's views; whether there was one.
pub async fn delete(conn: &mut AnyConnection, user_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn preference(
    conn: &mut AnyConnection,
    user_id: &str,
    name: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM user_preferences WHERE user_id = $1 AND name = $2")
            .bind(user_id)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn set_preference(
    conn: &mut AnyConnection,
    user_id: &str,
    name: &str,
    value: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_preferences (user_id, name, value) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value",
    )
    .bind(user_id)
    .bind(name)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
