use crate::backend_tests;
use crate::harness::*;
use leadline_domain::demo::synthetic_import_csv;
use leadline_service::imports::{ImportRequest, NoProgress};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

/// A trade-show export from European Excel: semicolons, Windows-1252, and trouble.
fn messy_csv() -> Vec<u8> {
    let text = "Vorname;Nachname;E-mail Address;Phone Number;Firma;Notes\r\n\
        J\u{fc}rgen;M\u{fc}ller;juergen@mueller-bau.de;030 901820;M\u{fc}ller Bau GmbH;met at booth\r\n\
        Jos\u{e9};Garc\u{ed}a;jose@garcia.es;+34 912 345 678;Garc\u{ed}a S.L.;=HYPERLINK(\"http://evil.example\",\"x\")\r\n\
        Too;Many;cols@example.com;;;x;extra\r\n\
        Bad;Email;not-an-email;;;\r\n\
        ;;;;;\r\n\
        Ann;O'Neil;ann@oneil.ie;;O'Neil Ltd;\r\n\
        \r\n\
        \x20 \t \r\n\
        ;;\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

async fn upload(srv: &TestServer, bytes: Vec<u8>, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name("booth.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    for (k, v) in extra {
        form = form.text(k.to_string(), v.to_string());
    }
    srv.send(srv.post("/api/v1/imports").multipart(form)).await
}

async fn finished(srv: &TestServer, job: &Value) -> Value {
    let id = job["id"].as_str().unwrap();
    let (status, done) = srv
        .send(srv.get(&format!("/api/v1/imports/{id}?wait=60")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["status"], "completed", "{done}");
    done
}

backend_tests! {
    async fn multipart_import_reports_every_row_and_reimport_creates_nothing(srv: TestServer) {
        let fields = [("source", "Messe Berlin 2026"), ("campaign", "Booth scans"), ("channel", "trade_show"), ("default_region", "DE")];
        let (status, job) = upload(&srv, messy_csv(), &fields).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let done = finished(&srv, &job).await;
        assert_eq!(done["encoding"], "windows1252");
        assert_eq!(done["delimiter"], ";");
        assert_eq!(done["created_count"], 3, "{done}");
        assert_eq!(done["rejected_count"], 2, "{done}");
        assert_eq!(done["skipped_count"], 4, "{done}");
        assert_eq!(done["total_rows"], 9, "every line but the header");

        let id = job["id"].as_str().unwrap();
        let report = srv.get(&format!("/api/v1/imports/{id}/report")).send().await.unwrap();
        assert_eq!(report.headers()["content-type"], "text/csv; charset=utf-8");
        let report = report.text().await.unwrap();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines[0], "line,outcome,lead_id,reason");
        assert!(lines[1].starts_with("2,created,"), "{report}");
        assert!(lines[3].starts_with("4,rejected,,") && lines[3].contains("expected 6 columns, found 7"), "{report}");
        assert!(lines[4].starts_with("5,rejected,,") && lines[4].contains("email"), "{report}");
        // Every line of the file has its line in the report: blank ones are skipped.
        let file_lines = String::from_utf8_lossy(&messy_csv()).lines().count();
        assert_eq!(lines.len(), file_lines, "{report}");
        for (i, line) in lines.iter().enumerate().skip(1) {
            assert!(line.starts_with(&format!("{},", i + 1)), "line {} is reported in order: {report}", i + 1);
        }
        for n in [6, 8, 9, 10] {
            assert_eq!(lines[n - 1], format!("{n},skipped,,empty row"), "{report}");
        }

        let (_, list) = srv.send(srv.get("/api/v1/leads?email=juergen%40mueller-bau.de")).await;
        let lead = &list["leads"][0];
        assert_eq!(lead["first_name"], "Jürgen");
        assert_eq!(lead["phone"], "+4930901820");
        assert_eq!(lead["custom"]["Notes"], "met at booth");
        let (_, list) = srv.send(srv.get("/api/v1/leads?email=jose%40garcia.es")).await;
        assert_eq!(list["leads"][0]["custom"]["Notes"], "=HYPERLINK(\"http://evil.example\",\"x\")", "stored as given");
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{}", lead["id"].as_str().unwrap()))).await;
        assert_eq!(detail["touches"][0]["channel"], "trade_show");
        assert_eq!(detail["touches"][0]["import_id"], id);

        // The same file again: every good row is recognised, nothing is created.
        let (_, again) = upload(&srv, messy_csv(), &fields).await;
        let done = finished(&srv, &again).await;
        assert_eq!(done["created_count"], 0, "{done}");
        assert_eq!(done["merged_count"], 0, "{done}");
        assert_eq!(done["unchanged_count"], 3, "{done}");
        let (_, list) = srv.send(srv.get("/api/v1/leads?limit=100")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 3);
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{}", lead["id"].as_str().unwrap()))).await;
        assert_eq!(detail["touches"].as_array().unwrap().len(), 1, "no second touch");
    }

    async fn file_level_problems_are_refused_up_front(srv: TestServer) {
        let (status, body) = upload(&srv, Vec::new(), &[("source", "X")]).await;
        assert_error(status, &body, 422, "unreadable_file");
        let (status, body) = upload(&srv, b"Email\nx@example.com\n".to_vec(), &[]).await;
        assert_eq!(assert_error(status, &body, 422, "required")["field"], "source");
        let (status, body) = upload(&srv, b"Email\nx@example.com\n".to_vec(), &[("source", "X"), ("map", "Nope=email")]).await;
        assert_error(status, &body, 422, "unreadable_file");
        let (status, body) = upload(&srv, b"Email\nx@example.com\n".to_vec(), &[("source", "X"), ("colour", "red")]).await;
        assert_error(status, &body, 422, "unknown_part");
        let (status, body) = upload(&srv, b"Email\nx@example.com\n".to_vec(), &[("source", "X"), ("channel", "fax")]).await;
        assert_error(status, &body, 422, "unknown_channel");
        let (status, body) = srv.send(srv.post("/api/v1/imports").body("not multipart")).await;
        assert_error(status, &body, 415, "unsupported_media_type");
        let (status, body) = srv.send(srv.get("/api/v1/imports/nope")).await;
        assert_error(status, &body, 404, "import_not_found");
        // --map puts odd columns where they belong.
        let csv = b"Mobil,Who\n0151 23456789,Jana Nowak\n".to_vec();
        let (status, job) = upload(&srv, csv, &[("source", "Mapped"), ("map", "Mobil=phone"), ("map", "Who=full_name"), ("default_region", "DE")]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let done = finished(&srv, &job).await;
        assert_eq!(done["created_count"], 1, "{done}");
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"][0]["phone"], "+4915123456789");
        assert_eq!(list["leads"][0]["last_name"], "Nowak");
    }

    async fn hundred_thousand_rows_with_duplicates_and_broken_rows(t: TestApp) {
        let csv = synthetic_import_csv(2026, 100_000);
        let bytes = csv.text.into_bytes();
        let run = |bytes: Vec<u8>| {
            let app = t.app.clone();
            async move {
                let request = ImportRequest {
                    file_name: "big.csv".into(), bytes, source: "Big list".into(),
                    channel: leadline_domain::Channel::Import, campaign: None, overrides: vec![],
                    default_region: Some("US".into()), actor: "test".into(), caller: None,
                };
                let job = app.create_import(&request).await.unwrap();
                app.run_import(job, &request, &NoProgress).await.unwrap()
            }
        };
        let first = run(bytes.clone()).await;
        assert_eq!(first.job.total_rows, 100_000);
        assert_eq!(first.job.created_count as usize, csv.unique_people, "every person created once");
        assert_eq!(first.job.merged_count as usize, csv.duplicate_rows, "every duplicate merged once");
        assert_eq!(first.job.rejected_count as usize, csv.broken_lines.len());
        let rejected: Vec<u64> = first.rows.iter().filter(|r| r.outcome == "rejected").map(|r| r.line).collect();
        assert_eq!(rejected, csv.broken_lines, "every broken row reported with its line");
        let (leads, _) = t.app.list_leads(&leadline_domain::access::LeadScope::All, &Default::default(), None, 1).await.unwrap();
        assert_eq!(leads.len(), 1);

        let second = run(bytes).await;
        assert_eq!(second.job.created_count, 0);
        assert_eq!(second.job.merged_count, 0);
        assert_eq!(second.job.unchanged_count as usize, csv.unique_people + csv.duplicate_rows);
        let mut conn = t.app.db.acquire().await.unwrap();
        let total = leadline_store::leads::count(&mut conn).await.unwrap();
        assert_eq!(total as usize, csv.unique_people);
    }
}
