use thiserror::Error;

/// Storage failures. Callers map `NotFound`/`Conflict` to user errors; the rest are
/// unexpected and become logged 500s at the edge.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored JSON in {column} is corrupt: {source}")]
    CorruptJson {
        column: &'static str,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// True when the database rejected a row because of a UNIQUE constraint.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Turns a UNIQUE violation into a `Conflict` saying `message`; other errors pass.
pub(crate) fn unique_as_conflict(
    message: impl FnOnce() -> String,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        let e = StoreError::Database(e);
        if e.is_unique_violation() {
            StoreError::Conflict(message())
        } else {
            e
        }
    }
}

pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::CorruptJson { column, source })
}
