//! Test harness: a real server on a random port over a fresh database per test.
//!
//! SQLite tests get a temporary file; Postgres tests get their own database on the
//! server named by `LEADLINE_TEST_POSTGRES_URL` (default: the local `test` database),
//! dropped afterwards. Without a reachable Postgres the Postgres variants skip with a
//! message — except under `CI=true`, where they fail.

use leadline_service::clock::ManualClock;
use leadline_service::outbox::NotifyConfig;
use leadline_service::App;
use leadline_store::{Backend, Db};
use leadline_web::{AppState, WebConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// 2026-11-22T10:00:00Z: tests run on a fixed clock they move by hand.
pub const T0: i64 = 1_795_341_600_000;

pub fn postgres_admin_url() -> String {
    std::env::var("LEADLINE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// A database that exists for one test.
pub enum TestDatabase {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Option<(TestDatabase, String)> {
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir()
                    .join(format!("leadline-test-{}.sqlite", ulid::Ulid::new()));
                let url = format!("sqlite:{}", path.display());
                Some((TestDatabase::Sqlite(path), url))
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let connect = tokio::time::timeout(
                    Duration::from_secs(5),
                    sqlx::PgConnection::connect(&admin_url),
                )
                .await;
                let mut admin = match connect {
                    Ok(Ok(c)) => c,
                    other => {
                        let why = match other {
                            Ok(Err(e)) => e.to_string(),
                            _ => "timed out".into(),
                        };
                        if std::env::var("CI").as_deref() == Ok("true") {
                            panic!("PostgreSQL at {admin_url} is unreachable under CI=true: {why}");
                        }
                        eprintln!("SKIPPED Postgres test: PostgreSQL at {admin_url} unreachable ({why}); set LEADLINE_TEST_POSTGRES_URL to run it");
                        return None;
                    }
                };
                let name = format!(
                    "leadline_test_{}",
                    ulid::Ulid::new().to_string().to_lowercase()
                );
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("postgres URL has a database");
                let url = format!("{base}/{name}");
                Some((TestDatabase::Postgres { admin_url, name }, url))
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            TestDatabase::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; use a runtime of our own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(async {
                        let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await
                            .ok()
                    })
                })
                .join();
            }
        }
    }
}

/// A migrated database and an `App` on a manual clock, without HTTP.
pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub url: String,
    pub backend: Backend,
    _db: TestDatabase,
}

impl TestApp {
    pub async fn start(backend: Backend) -> Option<TestApp> {
        let (db_guard, url) = TestDatabase::create(backend).await?;
        let db = Db::connect(&url).await.expect("connect test database");
        db.migrate().await.expect("migrate test database");
        let clock = Arc::new(ManualClock::new(T0));
        Some(TestApp {
            app: App::new(db, clock.clone()),
            clock,
            url,
            backend,
            _db: db_guard,
        })
    }
}

/// The real HTTP server on 127.0.0.1:0, with an API token ready.
pub struct TestServer {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
    pub backend: Backend,
    pub db_url: String,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _db: TestDatabase,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestServer {
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(
            backend,
            WebConfig {
                form_submissions_per_minute: 1000,
                ..Default::default()
            },
        )
        .await
    }

    pub async fn start_with(backend: Backend, config: WebConfig) -> Option<TestServer> {
        Self::start_full(backend, config, None).await
    }

    /// A server whose notifications go out as `notify` says (SMTP, timeouts, retries).
    pub async fn start_notifying(backend: Backend, notify: NotifyConfig) -> Option<TestServer> {
        let web = WebConfig {
            form_submissions_per_minute: 1000,
            ..Default::default()
        };
        Self::start_full(backend, web, Some(notify)).await
    }

    async fn start_full(
        backend: Backend,
        mut config: WebConfig,
        notify: Option<NotifyConfig>,
    ) -> Option<TestServer> {
        let TestApp {
            app,
            clock,
            url,
            backend,
            _db,
        } = TestApp::start(backend).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        config.public_url = base.clone();
        let app = match notify {
            Some(notify) => app
                .with_notify(notify)
                .expect("valid notification settings"),
            None => app,
        };
        let state = AppState::new(app.clone(), config);
        let server = tokio::spawn(leadline_web::serve(listener, state, std::future::pending()));
        let admin = app.default_admin().await.expect("create the admin");
        let (_, token) = app
            .create_token("tests", &admin.id)
            .await
            .expect("create token");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Some(TestServer {
            app,
            clock,
            base,
            client,
            token,
            backend,
            db_url: url,
            server,
            _db,
        })
    }

    /// An API token acting as `user_id`.
    pub async fn token_for(&self, user_id: &str) -> String {
        let (_, token) = self
            .app
            .create_token("tests", user_id)
            .await
            .expect("create token");
        token
    }

    /// Creates a user through the API (`body` adds to or overrides the defaults) and
    /// returns its id.
    pub async fn user(&self, email: &str, role: &str, body: Value) -> String {
        let mut user = json!({ "email": email, "name": email, "role": role });
        user.as_object_mut()
            .unwrap()
            .extend(body.as_object().cloned().unwrap_or_default());
        let (status, created) = self.send(self.post("/api/v1/users").json(&user)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().unwrap().to_string()
    }

    /// A rep who works around the clock, with more settings from `body`.
    pub async fn rep(&self, email: &str, body: Value) -> String {
        let mut settings = json!({ "working_hours": always() });
        settings
            .as_object_mut()
            .unwrap()
            .extend(body.as_object().cloned().unwrap_or_default());
        self.user(email, "rep", settings).await
    }

    /// Replaces the routing rules, which must be accepted.
    pub async fn set_routing(&self, rules: Value) {
        let (status, body) = self
            .send(
                self.client
                    .put(self.url("/api/v1/routing"))
                    .bearer_auth(&self.token)
                    .json(&rules),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Signs `email` in with `password` through the sign-in page; the session cookie
    /// as a `Cookie` header value.
    pub async fn cookie_for(&self, email: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/login"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email}"
        );
        let set = response.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_string()
    }

    /// A page for a signed-in person: status and body.
    pub async fn page(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// A form POST from one of the app's own pages (same origin) with this session.
    pub fn form_post(
        &self,
        path: &str,
        cookie: &str,
        fields: &[(&str, String)],
    ) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .header("cookie", cookie)
            .header("origin", self.base.clone())
            .form(fields)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(&self.token)
    }

    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.patch(self.url(path)).bearer_auth(&self.token)
    }

    /// Sends and returns status and JSON body (Null when the body is not JSON).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST /api/v1/leads` with a JSON body.
    pub async fn create_lead(&self, body: Value) -> (StatusCode, Value) {
        self.send(self.post("/api/v1/leads").json(&body)).await
    }

    /// Defines a form through the API and returns its JSON.
    pub async fn create_form(&self, body: Value) -> Value {
        let (status, form) = self.send(self.post("/api/v1/forms").json(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{form}");
        form
    }

    /// A form token as a page would carry it, with the clock then moved past the
    /// minimum fill time as if a person had typed.
    pub async fn form_token(&self, key: &str) -> String {
        let (status, body) = self
            .send(self.client.get(self.url(&format!("/f/{key}/token"))))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.clock.advance(10_000);
        body["token"].as_str().unwrap().to_string()
    }
}

/// Working hours that never end, in UTC.
/// The session's CSRF token in a page.
pub fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    body[at..at + 64].to_string()
}

/// The `nonce` of the first form after `marker` in a page (each form has its own).
pub fn nonce_after(body: &str, marker: &str) -> String {
    let from = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in the page"));
    let at = body[from..]
        .find("name=\"nonce\" value=\"")
        .expect("a nonce")
        + from
        + 20;
    body[at..at + 26].to_string()
}

pub fn always() -> Value {
    let week: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({ "day": d, "start": "00:00", "end": "24:00" }))
        .collect();
    json!({ "time_zone": "UTC", "week": week })
}

/// Asserts the standard error shape and returns the error object.
pub fn assert_error<'a>(
    status: StatusCode,
    body: &'a Value,
    expected_status: u16,
    code: &str,
) -> &'a Value {
    assert_eq!(status.as_u16(), expected_status, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    error
}

/// Declares tests that run once on SQLite and once on Postgres:
/// `backend_tests! { async fn name(srv: TestServer) { … } }`.
#[macro_export]
macro_rules! backend_tests {
    ($( $(#[$meta:meta])* async fn $name:ident($arg:ident : $kind:ident) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                $(#[$meta])*
                async fn run($arg: $kind) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($kind::start(leadline_store::Backend::Sqlite).await.expect("sqlite always works")).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(it) = $kind::start(leadline_store::Backend::Postgres).await {
                        run(it).await
                    }
                }
            }
        )*
    };
}
