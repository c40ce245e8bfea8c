//! Connection setup and migrations: the only place that knows which database it talks to.

use crate::Result;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Largest number of bind parameters we put in one statement (SQLite allows 32766,
/// PostgreSQL 65535); multi-row statements are chunked below it.
pub const MAX_BIND_PARAMS: usize = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A pool on one of the two backends.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    /// On SQLite, the one connection write transactions use. SQLite empties a
    /// connection's page cache whenever another connection has written, so writes
    /// spread over the pool re-read every page they touch; one writer keeps its cache.
    writer: Option<AnyPool>,
    backend: Backend,
    /// SQLite has one writer at a time. Writers of this process queue here, in order,
    /// instead of in SQLite's busy handler, which sleeps in steps of up to 100 ms and
    /// under load turns a 2 ms transaction into a 100 ms one.
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction from [`Db::begin`]; use it as a connection, then `commit`.
/// Dropped without a commit, it rolls back.
pub struct Tx {
    inner: Transaction<'static, sqlx::Any>,
    /// This process's write turn on SQLite, held until the transaction ends. Declared
    /// after `inner` so it is released only once the rollback has been started.
    _write_turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.inner.commit().await
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://USER@HOST/DB")]
pub struct UnsupportedUrl(pub String);

/// A command that needs an existing database was pointed at a SQLite file that is not
/// there (a typo, another working directory): said plainly instead of quietly creating
/// an empty database that knows no tokens or leads.
#[derive(Debug, thiserror::Error)]
#[error(
    "there is no database at {} ({}); point --database-url (or LEADLINE_DATABASE_URL) at the server's database, or create this one with `leadline migrate` (or `leadline serve`)",
    .path.display(),
    std::path::absolute(.path).unwrap_or_else(|_| .path.clone()).display()
)]
pub struct MissingDatabase {
    pub path: std::path::PathBuf,
}

/// The file a SQLite URL names (`sqlite:FILE`, `sqlite://FILE`, `sqlite:///ABSOLUTE`),
/// or `None` for an in-memory database or another backend.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.strip_prefix("//").unwrap_or(path);
    let memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory");
    (!memory).then(|| std::path::PathBuf::from(path))
}

impl Db {
    /// Connects to `url`, creating a SQLite file if needed (for `serve`, `migrate` and
    /// `demo`, which may start a new database). Does not migrate.
    pub async fn connect(
        url: &str,
    ) -> std::result::Result<Db, Box<dyn std::error::Error + Send + Sync>> {
        Self::connect_mode(url, true).await
    }

    /// Connects to a database that must exist already: a SQLite file that is missing is
    /// a [`MissingDatabase`] error, never a new empty file.
    pub async fn connect_existing(
        url: &str,
    ) -> std::result::Result<Db, Box<dyn std::error::Error + Send + Sync>> {
        if let Some(path) = sqlite_file(url) {
            if !path.exists() {
                return Err(Box::new(MissingDatabase { path }));
            }
        }
        Self::connect_mode(url, false).await
    }

    async fn connect_mode(
        url: &str,
        create: bool,
    ) -> std::result::Result<Db, Box<dyn std::error::Error + Send + Sync>> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| UnsupportedUrl(url.to_string()))?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                let mode = if create { "rwc" } else { "rw" };
                format!("{url}{sep}mode={mode}")
            }
            _ => url.to_string(),
        };
        // Statement logging would print whole multi-row INSERTs into the log; request
        // tracing covers timing instead. `LEADLINE_SQL_TRACE=1` turns it on (statement
        // text only, never bound values) for counting the statements a request runs.
        let statement_log = match std::env::var_os("LEADLINE_SQL_TRACE") {
            Some(_) => log::LevelFilter::Info,
            None => log::LevelFilter::Off,
        };
        let options = AnyConnectOptions::from_str(&url)?
            .log_statements(statement_log)
            .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(3600));
        let pool_options = || {
            AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // WAL lets readers run beside the single writer; NORMAL sync is
                            // durable across application crashes and is what WAL is meant for.
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = NORMAL",
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 15000",
                                "PRAGMA cache_size = -262144",
                            ] {
                                conn.execute(pragma).await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let pool = pool_options()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .connect_with(options.clone())
            .await?;
        let writer = match backend {
            Backend::Sqlite => Some(
                pool_options()
                    .max_connections(1)
                    .connect_with(options)
                    .await?,
            ),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            writer,
            backend,
            write_gate: Arc::default(),
        })
    }

    /// Applies pending migrations from the one shared `migrations/` folder.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        if self.backend == Backend::Sqlite {
            self.cluster_match_keys().await?;
        }
        Ok(())
    }

    /// On SQLite, keeps `match_keys` as a `WITHOUT ROWID` table: its rows are then
    /// stored in the primary key's B-tree itself instead of in a rowid table plus a
    /// separate key index, so every blocking key written touches two B-trees, not three
    /// (an import writes about fourteen keys per lead). PostgreSQL has no rowid and its
    /// migration stands as written; the queries are the same on both. The shared
    /// migration creates the table with a rowid, as PostgreSQL's syntax needs, and
    /// this rebuilds it once.
    async fn cluster_match_keys(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        let sql: Option<String> = sqlx::query_scalar(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'match_keys'",
        )
        .fetch_optional(&mut *tx)
        .await?;
        if sql.is_none_or(|sql| sql.to_uppercase().contains("WITHOUT ROWID")) {
            return Ok(());
        }
        for statement in [
            "CREATE TABLE match_keys_clustered (\
                 match_key BIGINT NOT NULL, \
                 record_id TEXT NOT NULL, \
                 PRIMARY KEY (match_key, record_id)\
             ) WITHOUT ROWID",
            "INSERT INTO match_keys_clustered (match_key, record_id) \
             SELECT match_key, record_id FROM match_keys ORDER BY match_key, record_id",
            "DROP TABLE match_keys",
            "ALTER TABLE match_keys_clustered RENAME TO match_keys",
            "CREATE INDEX match_keys_record ON match_keys (record_id)",
        ] {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`: a deferred
    /// transaction that reads and then writes fails at once with "database is locked"
    /// when another writer committed in between (busy_timeout cannot help there), while
    /// IMMEDIATE takes the write lock up front and waits its turn.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.write_gate.clone().lock_owned().await;
                let writer = self.writer.as_ref().unwrap_or(&self.pool);
                Tx {
                    inner: writer.begin_with("BEGIN IMMEDIATE").await?,
                    _write_turn: Some(turn),
                }
            }
            Backend::Postgres => Tx {
                inner: self.pool.begin().await?,
                _write_turn: None,
            },
        })
    }

    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Cheap liveness probe for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }

    /// Names and columns of every table (for the test that both backends agree).
    pub async fn schema(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut conn = self.acquire().await?;
        let rows: Vec<(String, String)> = match self.backend {
            Backend::Sqlite => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                     ORDER BY m.name, p.cid",
                )
                .fetch_all(&mut *conn)
                .await?
            }
            Backend::Postgres => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' \
                     ORDER BY table_name, ordinal_position",
                )
                .fetch_all(&mut *conn)
                .await?
            }
        };
        let mut tables: Vec<(String, Vec<String>)> = Vec::new();
        for (table, column) in rows {
            match tables.last_mut() {
                Some((t, cols)) if *t == table => cols.push(column),
                _ => tables.push((table, vec![column])),
            }
        }
        Ok(tables)
    }
}

/// Serialises transactions that share `key` until they end: `pg_advisory_xact_lock`
/// on PostgreSQL; on SQLite a write transaction (`BEGIN IMMEDIATE`) already excludes
/// every other writer, so nothing is needed.
pub async fn lock_for_transaction(conn: &mut AnyConnection, key: i64) -> crate::Result<()> {
    if !is_sqlite(conn) {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The one dialect difference in our query text. PostgreSQL needs numbered `$n`
/// placeholders; SQLite accepts them too, but looks numbered names up in a list for
/// every bind, which makes a statement with thousands of parameters quadratic (it was
/// 85% of import time). Plain `?` binds positionally in O(1). Statements built here
/// always number their parameters in bind order, so both spellings mean the same.
fn is_sqlite(conn: &AnyConnection) -> bool {
    conn.backend_name() == "SQLite"
}

/// The clause that makes a claiming `SELECT` skip rows another transaction holds
/// (PostgreSQL). SQLite has one writer at a time, so nothing is needed there.
pub fn skip_locked(conn: &AnyConnection) -> &'static str {
    if is_sqlite(conn) {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    }
}

/// Placeholders for `n` values bound in order, the first being parameter `first`.
pub fn placeholders(conn: &AnyConnection, first: usize, n: usize) -> String {
    let sqlite = is_sqlite(conn);
    let mut s = String::with_capacity(n * 4);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        if sqlite {
            s.push('?');
        } else {
            s.push('$');
            s.push_str(&(first + i).to_string());
        }
    }
    s
}

/// An aggregate joining the text values of `column` in a group with commas, in the
/// dialect of `conn`: one row per group instead of one per value, which is what
/// reading large blocks of ids costs most.
pub fn comma_joined(conn: &AnyConnection, column: &str) -> String {
    if is_sqlite(conn) {
        format!("group_concat({column}, ',')")
    } else {
        format!("string_agg({column}, ',')")
    }
}

/// `($1, $2), ($3, $4), …` (or `(?, ?), …` on SQLite) for `rows` rows of `cols` values.
pub fn row_placeholders(conn: &AnyConnection, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        s.push_str(&placeholders(conn, r * cols + 1, cols));
        s.push(')');
    }
    s
}

/// How many rows of `cols` values fit in one statement.
pub fn rows_per_statement(cols: usize) -> usize {
    (MAX_BIND_PARAMS / cols).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_under_the_bind_parameter_limit() {
        assert_eq!(rows_per_statement(30), 1000);
        assert_eq!(rows_per_statement(MAX_BIND_PARAMS * 2), 1);
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        use std::path::PathBuf;
        for (url, file) in [
            ("sqlite:leadline.sqlite", Some("leadline.sqlite")),
            ("sqlite://leadline.sqlite", Some("leadline.sqlite")),
            (
                "sqlite:///var/lib/leadline.db",
                Some("/var/lib/leadline.db"),
            ),
            ("sqlite:data/x.db?mode=rwc", Some("data/x.db")),
            ("sqlite::memory:", None),
            ("sqlite:", None),
            ("sqlite:x.db?mode=memory&cache=shared", None),
            ("postgres://u@h/d", None),
        ] {
            assert_eq!(sqlite_file(url), file.map(PathBuf::from), "{url}");
        }
        let e = MissingDatabase {
            path: PathBuf::from("nowhere/leadline.sqlite"),
        };
        let text = e.to_string();
        assert!(
            text.contains("nowhere/leadline.sqlite")
                && text.contains("--database-url")
                && text.contains("leadline migrate"),
            "{text}"
        );
    }

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite:x.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://u@h/d"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://u@h/d"), None);
    }
}

/// A bind value collected while building a dynamic query.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    Int(i64),
    Float(f64),
}

/// Collects bind values for a dynamically built query and hands out their `$n`
/// placeholders in order, so filters can be added in any combination.
#[derive(Debug, Default)]
pub struct Params(Vec<Param>);

impl Params {
    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.0.push(Param::Text(value.into()));
        format!("${}", self.0.len())
    }

    /// Placeholders for a list of text values, for `IN (…)`; an empty list becomes
    /// `NULL`, which matches nothing.
    pub fn text_list(&mut self, values: &[String]) -> String {
        if values.is_empty() {
            return "NULL".to_string();
        }
        values
            .iter()
            .map(|v| self.text(v.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn int(&mut self, value: i64) -> String {
        self.0.push(Param::Int(value));
        format!("${}", self.0.len())
    }

    pub fn float(&mut self, value: f64) -> String {
        self.0.push(Param::Float(value));
        format!("${}", self.0.len())
    }

    pub fn bind_as<'q, O>(
        self,
        mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for p in self.0 {
            q = match p {
                Param::Text(t) => q.bind(t),
                Param::Int(i) => q.bind(i),
                Param::Float(f) => q.bind(f),
            };
        }
        q
    }

    pub fn bind_scalar<'q, O>(
        self,
        mut q: sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for p in self.0 {
            q = match p {
                Param::Text(t) => q.bind(t),
                Param::Int(i) => q.bind(i),
                Param::Float(f) => q.bind(f),
            };
        }
        q
    }

    pub fn bind<'q>(
        self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for p in self.0 {
            q = match p {
                Param::Text(t) => q.bind(t),
                Param::Int(i) => q.bind(i),
                Param::Float(f) => q.bind(f),
            };
        }
        q
    }
}
