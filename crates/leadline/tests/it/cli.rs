//! The `leadline` binary itself: tokens, imports with reports, migrations, demo.

use crate::harness::*;
use leadline_store::Backend;
use std::process::Command;

fn leadline(db_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(args)
        .env("LEADLINE_DATABASE_URL", db_url)
        .env("LEADLINE_LOG", "warn")
        .output()
        .expect("run leadline");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn run(backend: Backend) {
    let Some((_guard, url)) = TestDatabase::create(backend).await else {
        return;
    };
    let (ok, out, err) = leadline(&url, &["migrate"]);
    assert!(ok, "{err}");
    assert!(out.contains("migrations applied"));

    let (ok, out, err) = leadline(&url, &["token", "create", "--name", "ci"]);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap();
    assert!(token.starts_with("ll_") && token.len() == 67, "{out}");
    assert!(
        out.contains("role admin"),
        "without --user the token acts as the admin: {out}"
    );
    assert!(!err.contains(token), "the secret is not logged");

    let (ok, out, err) = leadline(
        &url,
        &[
            "user",
            "add",
            "--email",
            "rep@example.com",
            "--name",
            "Rita Rep",
            "--role",
            "rep",
        ],
    );
    assert!(
        ok && out.contains("Added Rita Rep <rep@example.com> as rep"),
        "{out}{err}"
    );
    let (ok, _, err) = leadline(
        &url,
        &[
            "user", "add", "--email", "bad", "--name", "X", "--role", "boss",
        ],
    );
    assert!(
        !ok && err.contains("email:") && err.contains("role:"),
        "{err}"
    );
    let (ok, out, err) = leadline(
        &url,
        &[
            "token",
            "create",
            "--name",
            "rita",
            "--user",
            "rep@example.com",
        ],
    );
    assert!(ok && out.contains("role rep"), "{out}{err}");
    let (ok, _, err) = leadline(
        &url,
        &[
            "token",
            "create",
            "--name",
            "x",
            "--user",
            "nobody@example.com",
        ],
    );
    assert!(!ok && err.contains("leadline user add"), "{err}");

    let dir = std::env::temp_dir().join(format!("leadline-cli-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("badges.csv");
    let mut bytes =
        b"\xEF\xBB\xBFFirst Name,Last Name,E-mail Address,Phone Number,Company\n".to_vec();
    bytes.extend_from_slice(
        "Zoë,Adams,zoe@adams.example.com,+44 20 7946 0001,Adams Ltd\n".as_bytes(),
    );
    bytes.extend_from_slice(b"Bad,Row,not-an-email,,\n");
    bytes.extend_from_slice(b"=cmd|' /C calc'!A0,Evil,evil@example.com,,\n");
    bytes.extend_from_slice(b"Short,Row\n");
    std::fs::write(&file, &bytes).unwrap();
    let report = dir.join("report.csv");
    let args = [
        "import",
        file.to_str().unwrap(),
        "--source",
        "Badge scans",
        "--campaign",
        "Expo",
        "--channel",
        "trade_show",
        "--report",
        report.to_str().unwrap(),
    ];
    let (ok, out, err) = leadline(&url, &args);
    assert!(ok, "{err}");
    assert!(out.contains("4 rows — 2 created, 0 merged, 0 unchanged, 2 rejected, 0 skipped (utf8bom encoding, ',' delimited)"), "{out}");
    assert!(
        out.contains("line 3:") && out.contains("line 5: expected 5 columns, found 2"),
        "{out}"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "line,outcome,lead_id,reason");
    assert_eq!(lines.len(), 5);
    assert!(lines[1].starts_with("2,created,"));

    let (ok, out, err) = leadline(&url, &args);
    assert!(ok, "{err}");
    assert!(
        out.contains("4 rows — 0 created, 0 merged, 2 unchanged, 2 rejected"),
        "{out}"
    );

    let (ok, out, err) = leadline(
        &url,
        &[
            "import",
            dir.join("missing.csv").to_str().unwrap(),
            "--source",
            "X",
        ],
    );
    assert!(
        !ok && out.is_empty() && err.contains("missing.csv"),
        "{err}"
    );
    let (ok, _, err) = leadline(
        &url,
        &[
            "import",
            file.to_str().unwrap(),
            "--source",
            "X",
            "--map",
            "nonsense",
        ],
    );
    assert!(!ok && err.contains("column=field"), "{err}");
    let rules = dir.join("scoring.toml");
    std::fs::write(&rules, "[thresholds]\ntarget = 10\nmql = 30\nsql = 50\n\n[[engagement]]\nid = \"opened\"\nevent_type = \"email_opened\"\npoints = 2\nhalf_life_days = 7\n").unwrap();
    let (ok, out, err) = leadline(&url, &["scoring", "load", rules.to_str().unwrap()]);
    assert!(
        ok && out.contains("loaded 0 fit and 1 engagement rules"),
        "{out}{err}"
    );
    std::fs::write(&rules, "[thresholds]\ntarget = 10\nmql = 5\nsql = 50\n[[fit]]\nid = \"x\"\npoints = 1\nbogus = 2\n").unwrap();
    let (ok, _, err) = leadline(&url, &["scoring", "load", rules.to_str().unwrap()]);
    assert!(
        !ok && err.contains("line") && err.contains("bogus"),
        "{err}"
    );
    let (ok, out, err) = leadline(&url, &["rescore"]);
    assert!(ok && out.contains("rescored"), "{out}{err}");

    let (ok, out, err) = leadline(&url, &["demo", "--leads", "100"]);
    assert!(ok, "{err}");
    assert!(out.contains("already holds 2 leads"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_on_sqlite() {
    run(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_on_postgres() {
    run(Backend::Postgres).await
}
