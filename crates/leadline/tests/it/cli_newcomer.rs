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
            b"Email,Name\n\"a@b.example,Ann\nc@d.example,Cy\n",
            "never closed",
        ),
        (
            "dupes.csv",
            b"Email,E-mail,Name\na@b.example,c@d.example,Ann\n",
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
