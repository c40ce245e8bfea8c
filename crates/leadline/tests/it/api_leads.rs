use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

backend_tests! {
    async fn health_and_openapi_cover_every_route(srv: TestServer) {
        let (status, body) = srv.send(srv.client.get(srv.url("/healthz"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");

        let (status, doc) = srv.send(srv.client.get(srv.url("/api/v1/openapi.json"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 15, "{paths:?}");
        // Every documented operation exists in the router: none reaches the fallback.
        for (path, ops) in paths {
            let concrete = path.replace("{id}", "01NOTREAL").replace("{key}", "notreal");
            for method in ops.as_object().unwrap().keys() {
                let request = srv.client.request(method.to_uppercase().parse().unwrap(), srv.url(&concrete)).bearer_auth(&srv.token);
                if path == "/api/v1/stream" {
                    // An event stream never ends: its answer's head is enough.
                    let response = request.send().await.unwrap();
                    assert_eq!(response.headers()["content-type"], "text/event-stream");
                    continue;
                }
                let (_, body) = srv.send(request).await;
                assert_ne!(body["error"]["code"], "route_not_found", "{method} {path} is documented but not routed");
            }
        }
        let (status, body) = srv.send(srv.client.get(srv.url("/api/v1/nope"))).await;
        assert_error(status, &body, 404, "route_not_found");
    }

    async fn api_requires_a_valid_token(srv: TestServer) {
        let (status, body) = srv.send(srv.client.get(srv.url("/api/v1/leads"))).await;
        assert_error(status, &body, 401, "unauthorized");
        let (status, body) = srv.send(srv.client.get(srv.url("/api/v1/leads")).bearer_auth("ll_wrong")).await;
        assert_error(status, &body, 401, "unauthorized");
        let (status, body) = srv.send(srv.client.get(srv.url("/api/v1/leads")).header("Authorization", "Basic abc")).await;
        assert_error(status, &body, 401, "unauthorized");
        let response = srv.client.post(srv.url("/api/v1/leads")).json(&json!({"email": "a@b.co"})).send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        // Nothing was created by the unauthenticated attempt.
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 0);
    }

    async fn create_get_patch_and_timeline(srv: TestServer) {
        let (status, body) = srv.create_lead(json!({
            "first_name": "  ÉMILIE ", "last_name": "VAN DER BERG", "email": "Emilie.vdB@Example.COM",
            "phone": "020 7946 0958", "country": "United Kingdom", "company": "Acme Widgets Ltd.",
            "website": "https://www.acme-widgets.co.uk/about", "title": "Head of Operations",
            "custom": { "budget": 50000, "newsletter": true },
            "source": "Partner API", "channel": "referral", "campaign": "Q4 partner push",
            "attribution": { "utm_source": "partner", "utm_medium": "api" },
            "consent": [{ "channel": "email", "granted": true, "wording": "You may e-mail me." }]
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["outcome"], "created");
        let lead = &body["lead"];
        let id = lead["id"].as_str().unwrap().to_string();
        assert_eq!(lead["first_name"], "Émilie");
        assert_eq!(lead["last_name"], "Van der Berg");
        assert_eq!(lead["email"], "Emilie.vdB@example.com");
        assert_eq!(lead["phone"], "+442079460958");
        assert_eq!(lead["country"], "GB");
        assert_eq!(lead["company_key"], "acme widgets");
        assert_eq!(lead["domain"], "acme-widgets.co.uk");
        assert_eq!(lead["custom"]["budget"], "50000");
        assert!(lead["account_id"].is_string());

        let (status, detail) = srv.send(srv.get(&format!("/api/v1/leads/{id}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["touches"].as_array().unwrap().len(), 1);
        assert_eq!(detail["touches"][0]["channel"], "referral");
        assert_eq!(detail["touches"][0]["utm_source"], "partner");
        assert_eq!(detail["consents"][0]["status"], "granted");
        assert_eq!(detail["consents"][0]["wording"], "You may e-mail me.");

        srv.clock.advance(1000);
        let (status, patched) = srv.send(srv.patch(&format!("/api/v1/leads/{id}")).json(&json!({
            "title": "COO", "phone": null, "custom": { "budget": "75k", "newsletter": null }
        }))).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["title"], "COO");
        assert!(patched["phone"].is_null());
        assert_eq!(patched["custom"], json!({ "budget": "75k" }));

        let (status, bad) = srv.send(srv.patch(&format!("/api/v1/leads/{id}")).json(&json!({ "email": "not-an-email" }))).await;
        assert_error(status, &bad, 422, "invalid_email");
        assert_eq!(bad["error"]["field"], "email");

        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let kinds: Vec<&str> = timeline["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "captured").count(), 1);
        assert_eq!(kinds.iter().filter(|k| **k == "consent_changed").count(), 1);
        assert_eq!(kinds.iter().filter(|k| **k == "field_changed").count(), 4, "{kinds:?}");
        let title_change = timeline["events"].as_array().unwrap().iter()
            .find(|e| e["kind"] == "field_changed" && e["payload"]["field"] == "title").unwrap();
        assert_eq!(title_change["payload"]["old"], "Head of Operations");
        assert_eq!(title_change["payload"]["new"], "COO");
        let actor = title_change["actor"].as_str().unwrap();
        assert!(actor.starts_with("user:") && actor.contains(" token:"), "{actor}");

        let (status, body) = srv.send(srv.get("/api/v1/leads/01HNOSUCHLEAD0000000000000")).await;
        assert_error(status, &body, 404, "lead_not_found");
    }

    async fn idempotency_key_replays_and_creates_nothing(srv: TestServer) {
        let body = json!({ "email": "retry@example.org", "first_name": "Retry" });
        let send = || srv.post("/api/v1/leads").header("Idempotency-Key", "order-77").json(&body);
        let first = send().send().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first_body: Value = first.json().await.unwrap();
        let second = send().send().await.unwrap();
        assert_eq!(second.status(), StatusCode::CREATED);
        assert_eq!(second.headers()["idempotent-replayed"], "true");
        let second_body: Value = second.json().await.unwrap();
        assert_eq!(first_body, second_body);

        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1);
        let id = first_body["lead"]["id"].as_str().unwrap();
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{id}"))).await;
        assert_eq!(detail["touches"].as_array().unwrap().len(), 1, "the retry added no touch");

        let (status, body) = srv.send(srv.post("/api/v1/leads").header("Idempotency-Key", "order-77")
            .json(&json!({ "email": "other@example.org" }))).await;
        assert_error(status, &body, 422, "idempotency_key_reused");
        let (status, body) = srv.send(srv.post("/api/v1/leads").header("Idempotency-Key", "bad key with spaces")
            .json(&json!({ "email": "x@example.org" }))).await;
        assert_error(status, &body, 400, "invalid_idempotency_key");
        // An answered error is replayed too, without running again.
        let bad = json!({ "email": "nope" });
        let (s1, b1) = srv.send(srv.post("/api/v1/leads").header("Idempotency-Key", "k2").json(&bad)).await;
        let (s2, b2) = srv.send(srv.post("/api/v1/leads").header("Idempotency-Key", "k2").json(&bad)).await;
        assert_eq!((s1, &b1), (s2, &b2));
        assert_error(s1, &b1, 422, "invalid_email");
    }

    async fn list_filters_and_cursor_pagination(srv: TestServer) {
        let mut ids = Vec::new();
        for i in 0..25 {
            srv.clock.advance(1000);
            let source = if i % 2 == 0 { "Even source" } else { "Odd source" };
            let (status, body) = srv.create_lead(json!({
                "first_name": format!("Person{i}"), "last_name": "Listed", "email": format!("p{i}@list{i}.example.com"),
                "phone": format!("+1 650 253 {:04}", 1000 + i), "company": format!("Company {i} GmbH"), "source": source
            })).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            ids.push(body["lead"]["id"].as_str().unwrap().to_string());
        }
        // Pages of 10 walk every lead exactly once, newest first.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor { Some(c) => format!("/api/v1/leads?limit=10&cursor={c}"), None => "/api/v1/leads?limit=10".into() };
            let (status, page) = srv.send(srv.get(&path)).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            seen.extend(page["leads"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()));
            match page["next_cursor"].as_str() { Some(c) => cursor = Some(c.to_string()), None => break }
        }
        let mut expected = ids.clone();
        expected.reverse();
        assert_eq!(seen, expected);

        let one = |q: &str| srv.send(srv.get(&format!("/api/v1/leads?{q}")));
        let (_, by_email) = one("email=P7%40LIST7.example.com").await;
        assert_eq!(by_email["leads"][0]["id"], ids[7].as_str());
        assert_eq!(by_email["leads"].as_array().unwrap().len(), 1);
        let (_, by_phone) = one("phone=%2B16502531003").await;
        assert_eq!(by_phone["leads"][0]["id"], ids[3].as_str());
        let (_, by_company) = one("company=company%2012").await;
        assert_eq!(by_company["leads"][0]["id"], ids[12].as_str());
        let (_, by_source) = one("source=Odd%20source&limit=100").await;
        assert_eq!(by_source["leads"].as_array().unwrap().len(), 12);
        let (_, by_stage) = one("stage=new&limit=100").await;
        assert_eq!(by_stage["leads"].as_array().unwrap().len(), 25);
        let from = T0 + 5_000;
        let to = T0 + 10_000;
        let (_, ranged) = one(&format!("created_from={from}&created_to={to}")).await;
        assert_eq!(ranged["leads"].as_array().unwrap().len(), 5, "{ranged}");
        let (_, rfc) = one("created_from=2026-11-22T10:00:05Z&created_to=2026-11-22T10:00:10Z").await;
        assert_eq!(rfc["leads"].as_array().unwrap().len(), 5);

        for (query, field, code) in [
            ("limit=0", "limit", "out_of_range"),
            ("limit=100000", "limit", "out_of_range"),
            ("cursor=garbage", "cursor", "invalid_cursor"),
            ("created_from=yesterday", "created_from", "invalid_time"),
            ("email=not-an-email", "email", "invalid_email"),
        ] {
            let (status, body) = one(query).await;
            let error = assert_error(status, &body, 422, code);
            assert_eq!(error["field"], field);
        }
        let (status, body) = one("colour=blue").await;
        assert_error(status, &body, 400, "invalid_query");
    }
}
