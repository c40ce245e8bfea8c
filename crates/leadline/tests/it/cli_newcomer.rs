//! The binary as a newcomer meets it: readable import errors, token management, the
//! sample file the README imports, refusing a database that is not there, and rep
//! settings on `user add`.

use crate::harness::*;
use leadline_store::Backend;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `leadline ARGS` on `db_url` (in `dir`, if given); returns success, stdout, stderr.
fn leadline_in(dir: Option<&Path>, db_url: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leadline"));
    cmd.args(args)
        .env("LEADLINE_DATABASE_URL", db_url)
        .env("LEADLINE_LOG", "warn");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("run leadline");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn leadline(db_url: &str, args: &[&str]) -> (bool, String, String) {
    leadline_in(None, db_url, args)
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadline-cli-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn import_errors_are_explained(backend: Backend) {
    let Some((_guard, url)) = TestDatabase::create(backend).await else {
        return;
    };
    assert!(leadline(&url, &["migrate"]).0);
    let dir = temp_dir();
    let binary: Vec<u8> = (0..=255u8).cycle().take(2048).collect();
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.csv", b"", "the file is empty"),
        ("binary.bin", &binary, "binary data"),
        (
            "quote.csv",
            b"Email,Name\n\"a@b.example.com,Ann\nc@d.example.com,Cy\n",
            "never closed",
        ),
        (
            "dupes.csv",
            b"Email,E-mail,Name\na@b.example.com,c@d.example.com,Ann\n",
            "E-mail",
        ),
        (
            "nothing.csv",
            b"Foo,Bar\n1,2\n",
            "no column could be matched",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, out, err) = leadline(&url, &["import", path.to_str().unwrap(), "--source", "X"]);
        assert!(!ok, "{name}: {out}");
        assert!(
            err.contains(expected) && err.contains(name),
            "{name}: {err}"
        );
        assert!(!err.contains("invalid input"), "{name}: {err}");
    }
    let path = dir.join("header.csv");
    std::fs::write(&path, b"First Name,Last Name,Email\n").unwrap();
    let (ok, out, err) = leadline(&url, &["import", path.to_str().unwrap(), "--source", "X"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("0 rows") && out.contains("a header row but no rows of data"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

async fn tokens_are_listed_and_revoked(backend: Backend) {
    let Some((_guard, url)) = TestDatabase::create(backend).await else {
        return;
    };
    assert!(leadline(&url, &["migrate"]).0);
    let (ok, out, err) = leadline(&url, &["token", "list"]);
    assert!(ok && out.contains("no tokens"), "{out}{err}");
    let (ok, out, err) = leadline(&url, &["token", "create", "--name", "ci"]);
    assert!(ok, "{err}");
    let secret = out.lines().last().unwrap().to_string();
    let id = out
        .split("(id ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .to_string();
    let (ok, out, err) = leadline(&url, &["token", "list"]);
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("\tci\t")
            && line.contains("admin@leadline.invalid")
            && line.ends_with("active"),
        "{line}"
    );
    assert!(line.contains("last used never"), "{line}");
    assert!(
        !out.contains(&secret) && !out.contains(&secret[3..]),
        "no secret in the list"
    );

    // The token works until it is revoked, and not a moment after.
    let db = leadline_store::Db::connect(&url).await.unwrap();
    let app = leadline_service::App::new(db, std::sync::Arc::new(leadline_service::SystemClock));
    assert!(app.authenticate_token(&secret).await.unwrap().is_some());
    let (ok, out, err) = leadline(&url, &["token", "revoke", &id]);
    assert!(
        ok && out.contains("Revoked") && out.contains(&id),
        "{out}{err}"
    );
    assert!(app.authenticate_token(&secret).await.unwrap().is_none());
    let (_, out, _) = leadline(&url, &["token", "list", "--user", "admin@leadline.invalid"]);
    assert!(out.contains("revoked 20"), "{out}");
    let (ok, _, err) = leadline(&url, &["token", "revoke", "01NOSUCHTOKEN"]);
    assert!(
        !ok && err.contains("token") && err.contains("01NOSUCHTOKEN"),
        "{err}"
    );
    app.db.close().await;
}

/// The repository's sample file, which the README imports.
fn sample_badges() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/badges.csv")
}

async fn the_readme_import_example_runs(backend: Backend) {
    let Some((_guard, url)) = TestDatabase::create(backend).await else {
        return;
    };
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    assert!(
        readme.contains("import examples/badges.csv --source \"Expo 2026\" --channel trade_show"),
        "the README imports the sample file"
    );
    assert!(leadline(&url, &["migrate"]).0);
    let dir = temp_dir();
    let report = dir.join("report.csv");
    let file = sample_badges();
    let args = [
        "import",
        file.to_str().unwrap(),
        "--source",
        "Expo 2026",
        "--channel",
        "trade_show",
        "--report",
        report.to_str().unwrap(),
    ];
    let (ok, out, err) = leadline(&url, &args);
    assert!(ok, "{err}");
    assert!(out.contains("25 rows — 18 created, 2 merged, 0 unchanged, 4 rejected, 1 skipped (utf8 encoding, ',' delimited)"), "{out}");
    // The messy rows are explained, line by line.
    for reason in [
        "line 10: email: the part after '@' is empty",
        "line 16: expected 10 columns, found 9",
        "line 26: email: the e-mail address has no '@'",
    ] {
        assert!(out.contains(reason), "{reason}: {out}");
    }
    let text = std::fs::read_to_string(&report).unwrap();
    // One line per line of the sample file (its header, too), the blank line skipped.
    assert_eq!(text.lines().count(), 26, "{text}");
    assert!(text.contains("\n22,skipped,,empty row\n"), "{text}");
    assert!(text.contains("merged into lead"), "{text}");
    let (ok, out, _) = leadline(&url, &args);
    assert!(
        ok && out.contains("0 created, 0 merged, 20 unchanged, 4 rejected"),
        "importing it twice creates nothing: {out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

async fn a_missing_database_is_not_created(backend: Backend) {
    let Some((_guard, url)) = TestDatabase::create(backend).await else {
        return;
    };
    match backend {
        Backend::Sqlite => {
            let dir = temp_dir();
            let missing = "sqlite:nowhere/leadline.sqlite";
            for args in [
                &["token", "create", "--name", "me"][..],
                &["token", "list"],
                &["user", "list"],
                &["scoring", "show"],
                &["rescore"],
                &["import", sample_badges().to_str().unwrap(), "--source", "X"],
            ] {
                let (ok, out, err) = leadline_in(Some(&dir), missing, args);
                assert!(!ok, "{args:?}: {out}");
                assert!(
                    err.contains("nowhere/leadline.sqlite")
                        && err.contains("--database-url")
                        && err.contains("leadline migrate"),
                    "{args:?}: {err}"
                );
                assert!(!dir.join("nowhere").exists(), "nothing was created");
            }
            // A bare file name in the working directory, as the default URL is.
            let (ok, _, err) = leadline_in(
                Some(&dir),
                "sqlite:leadline.sqlite",
                &["token", "create", "--name", "me"],
            );
            assert!(!ok && err.contains("leadline.sqlite"), "{err}");
            assert!(!dir.join("leadline.sqlite").exists());
            // migrate (like serve and demo) starts a new database; then the others work.
            let (ok, out, err) = leadline_in(Some(&dir), "sqlite:leadline.sqlite", &["migrate"]);
            assert!(ok && out.contains("migrations applied"), "{err}");
            let (ok, out, err) = leadline_in(
                Some(&dir),
                "sqlite:leadline.sqlite",
                &["token", "create", "--name", "me"],
            );
            assert!(
                ok && out.lines().last().unwrap().starts_with("ll_"),
                "{out}{err}"
            );
            std::fs::remove_dir_all(dir).unwrap();
        }
        Backend::Postgres => {
            let (base, _) = url.rsplit_once('/').unwrap();
            let missing = format!("{base}/leadline_no_such_database");
            let (ok, _, err) = leadline(&missing, &["token", "list"]);
            assert!(
                !ok && err.contains("leadline_no_such_database") && err.contains("does not exist"),
                "{err}"
            );
        }
    }
}

async fn user_add_takes_rep_settings(backend: Backend) {
    let Some((_guard, url)) = TestDatabase::create(backend).await else {
        return;
    };
    assert!(leadline(&url, &["migrate"]).0);
    let add = |email: &str, extra: &[&str]| {
        let mut args = vec![
            "user", "add", "--email", email, "--name", "Rita Rep", "--role", "rep",
        ];
        args.extend_from_slice(extra);
        leadline(&url, &args)
    };
    let (ok, out, err) = add(
        "rita@example.com",
        &[
            "--working-hours",
            "mon-fri 08:00-12:00,13:00-16:00; sat 10:00-14:00",
            "--time-zone",
            "Europe/Berlin",
            "--territory",
            "DE",
            "--territory",
            "at",
            "--territory",
            "US-CA",
            "--capacity",
            "30",
            "--weight",
            "3",
        ],
    );
    assert!(ok, "{out}{err}");
    let settings = "hours mon-fri 08:00-12:00,13:00-16:00; sat 10:00-14:00 (Europe/Berlin)\tterritories DE,AT,US-CA\tcapacity 30\tweight 3";
    assert!(out.contains(settings), "{out}");
    // JSON hours, as the API takes them; a time zone alone keeps the default hours.
    let (ok, out, err) = add(
        "json@example.com",
        &[
            "--working-hours",
            r#"{"time_zone": "America/New_York", "week": [{"day": "sun", "start": "10:00", "end": "18:00"}]}"#,
        ],
    );
    assert!(
        ok && out.contains("hours sun 10:00-18:00 (America/New_York)"),
        "{out}{err}"
    );
    let (ok, out, err) = add("tz@example.com", &["--time-zone", "Asia/Singapore"]);
    assert!(
        ok && out.contains(
            "hours mon-fri 09:00-17:00 (Asia/Singapore)\tterritories none\tcapacity 50\tweight 1"
        ),
        "{out}{err}"
    );
    let (ok, out, _) = leadline(&url, &["user", "list"]);
    assert!(ok, "{out}");
    let rita = out
        .lines()
        .find(|l| l.contains("rita@example.com"))
        .unwrap();
    assert!(
        rita.contains("\trep\tactive\t") && rita.ends_with(settings),
        "{rita}"
    );

    // Every mistake is told in words, all at once where the server checks them.
    for (extra, expected) in [
        (
            &["--working-hours", "weekdays 9-5"][..],
            &["--working-hours", "\"weekdays\" is not a day"][..],
        ),
        (
            &["--working-hours", "mon-fri 9-5"],
            &["--working-hours", "\"9-5\" is not a time range"],
        ),
        (
            &["--working-hours", "{not json"],
            &["--working-hours is not valid JSON"],
        ),
        (
            &[
                "--time-zone",
                "Mars/Olympus",
                "--territory",
                "Atlantis",
                "--capacity=-1",
                "--weight",
                "0",
            ],
            &[
                "working_hours: unknown time zone \"Mars/Olympus\"",
                "territories[0]:",
                "capacity:",
                "weight:",
            ],
        ),
        (
            &["--working-hours", "mon 17:00-09:00"],
            &["working_hours: Mon: 17:00–09:00 must end after it starts"],
        ),
    ] {
        let (ok, _, err) = add("bad@example.com", extra);
        assert!(!ok, "{extra:?}");
        for e in expected {
            assert!(err.contains(e), "{extra:?}: expected {e:?} in {err}");
        }
        assert!(!err.contains("invalid input"), "{err}");
    }
}

/// Reads `serve`'s stdout until its welcome is complete; returns those lines.
async fn welcome_lines(child: &mut tokio::process::Child) -> Vec<String> {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let done = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let last = line.contains("API token:");
            seen.push(line);
            if last {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(done, Ok(true), "serve printed its welcome: {seen:?}");
    seen
}

async fn serve_demo_prints_full_urls(backend: Backend) {
    let Some((_guard, url)) = TestDatabase::create(backend).await else {
        return;
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args([
            "serve",
            "--demo",
            "--demo-leads",
            "100",
            "--bind",
            "127.0.0.1:0",
        ])
        .env("LEADLINE_DATABASE_URL", &url)
        .env("LEADLINE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start leadline serve");
    let lines = welcome_lines(&mut child).await;
    let text = lines.join("\n");
    let url_after = |label: &str| -> String {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label}: {text}"));
        line.split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap()
            .to_string()
    };
    let client = reqwest::Client::new();
    let get = |u: String| {
        let client = client.clone();
        async move { client.get(&u).send().await.unwrap() }
    };
    assert_eq!(get(url_after("Health:")).await.status(), 200);
    // The web app, and a printed demo sign-in that works there.
    let login = url_after("Web app:");
    assert!(login.ends_with("/login"), "{text}");
    let password = text
        .split("password for all: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("a demo password: {text}"))
        .to_string();
    let rep_email = lines
        .iter()
        .find(|l| l.trim_start().starts_with("rep "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("a demo rep: {text}"))
        .to_string();
    for role in ["admin ", "marketer ", "manager ", "rep "] {
        assert!(
            lines.iter().any(|l| l.trim_start().starts_with(role)),
            "{role}: {text}"
        );
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = no_redirects
        .post(&login)
        .form(&[
            ("email", rep_email.as_str()),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303, "{rep_email} / {password}");
    assert!(signed_in.headers().get("set-cookie").is_some());
    let doc: serde_json::Value = get(url_after("OpenAPI:")).await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let forms: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("http://") && l.contains("/f/"))
        .collect();
    assert_eq!(forms.len(), 2, "{text}");
    assert!(text.contains("(request a call"), "{text}");
    for line in forms {
        let form_url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .to_string();
        let page = get(form_url).await;
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    // The token line can be pasted as it is.
    let token_line = lines.iter().find(|l| l.contains("API token:")).unwrap();
    let command: Vec<&str> = token_line
        .split("API token:")
        .nth(1)
        .unwrap()
        .split("(in another")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert!(
        command.contains(&"--database-url") && command.contains(&"token"),
        "{token_line}"
    );
    let out = Command::new(command[0])
        .args(&command[1..])
        .env("LEADLINE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let api = url_after("API:");
    let leads: serde_json::Value = client
        .get(format!("{api}/leads?limit=5"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(leads["leads"].as_array().map(Vec::len), Some(5), "{leads}");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_import_example_runs_on_sqlite() {
    the_readme_import_example_runs(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_import_example_runs_on_postgres() {
    the_readme_import_example_runs(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_not_created_on_sqlite() {
    a_missing_database_is_not_created(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_not_created_on_postgres() {
    a_missing_database_is_not_created(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_takes_rep_settings_on_sqlite() {
    user_add_takes_rep_settings(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_takes_rep_settings_on_postgres() {
    user_add_takes_rep_settings(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_full_urls_on_sqlite() {
    serve_demo_prints_full_urls(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_full_urls_on_postgres() {
    serve_demo_prints_full_urls(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_errors_are_explained_on_sqlite() {
    import_errors_are_explained(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_errors_are_explained_on_postgres() {
    import_errors_are_explained(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_listed_and_revoked_on_sqlite() {
    tokens_are_listed_and_revoked(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_listed_and_revoked_on_postgres() {
    tokens_are_listed_and_revoked(Backend::Postgres).await
}
