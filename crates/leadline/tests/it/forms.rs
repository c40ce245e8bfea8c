use crate::backend_tests;
use crate::harness::*;
use leadline_web::WebConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn contact_form(redirect: Option<&str>) -> Value {
    json!({
        "name": "Contact <us>",
        "source": "Website",
        "campaign": "Always-on",
        "fields": [
            { "name": "first_name", "label": "First name", "required": true },
            { "name": "last_name", "label": "Last name" },
            { "name": "email", "label": "E-mail", "required": true },
            { "name": "phone", "label": "Phone" },
            { "name": "custom.message", "label": "Message" }
        ],
        "consent": { "channels": ["email", "phone"], "wording": "I agree that Acme may contact me.", "required": true },
        "redirect_url": redirect,
        "default_region": "GB"
    })
}

async fn lead_count(srv: &TestServer) -> usize {
    let (_, list) = srv.send(srv.get("/api/v1/leads?limit=500")).await;
    list["leads"].as_array().unwrap().len()
}

backend_tests! {
    async fn form_definitions_are_validated(srv: TestServer) {
        let (status, body) = srv.send(srv.post("/api/v1/forms").json(&json!({
            "name": "", "source": "Web", "fields": [{ "name": "emial", "label": "E-mail" }],
            "redirect_url": "javascript:alert(1)"
        }))).await;
        let error = assert_error(status, &body, 422, "invalid_fields");
        let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"name") && fields.contains(&"fields[0].name") && fields.contains(&"redirect_url"), "{fields:?}");
        let (status, body) = srv.send(srv.post("/api/v1/forms").json(&json!({ "name": "x" }))).await;
        let error = assert_error(status, &body, 422, "invalid_body");
        assert_eq!(error["field"], "source");
    }

    async fn hosted_form_urlencoded_submission_redirects_and_records_consent(srv: TestServer) {
        let form = srv.create_form(contact_form(Some("https://example.com/thanks"))).await;
        let key = form["key"].as_str().unwrap();
        assert_eq!(form["url"], srv.url(&format!("/f/{key}")));

        let page = srv.client.get(srv.url(&format!("/f/{key}?utm_source=google&utm_campaign=brand"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("Contact &lt;us&gt;"), "form name is escaped");
        assert!(!html.contains("Contact <us>"));
        assert!(html.contains("name=\"utm_source\" value=\"google\""));
        assert!(html.contains("I agree that Acme may contact me."));
        let token = html.split("name=\"_ts\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        srv.clock.advance(8_000);

        let response = srv.client.post(srv.url(&format!("/f/{key}")))
            .header("User-Agent", "Mozilla/5.0 test")
            .form(&[("_ts", token.as_str()), ("first_name", "jürgen"), ("last_name", "MÜLLER"),
                    ("email", "j.mueller@example.de"), ("phone", "020 7946 0018"), ("custom.message", "Call me"),
                    ("consent", "yes"), ("utm_source", "google"), ("utm_campaign", "brand"), ("fax", "")])
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "https://example.com/thanks");

        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        let lead = &list["leads"][0];
        assert_eq!(lead["first_name"], "Jürgen");
        assert_eq!(lead["last_name"], "Müller");
        assert_eq!(lead["phone"], "+442079460018", "default region GB read the local number");
        assert_eq!(lead["custom"]["message"], "Call me");
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{}", lead["id"].as_str().unwrap()))).await;
        let consents = detail["consents"].as_array().unwrap();
        assert_eq!(consents.len(), 2);
        for c in consents {
            assert_eq!(c["status"], "granted");
            assert_eq!(c["wording"], "I agree that Acme may contact me.");
            assert_eq!(c["evidence"]["ip"], "127.0.0.1");
            assert_eq!(c["evidence"]["user_agent"], "Mozilla/5.0 test");
            assert_eq!(c["evidence"]["form_key"], key);
        }
        assert_eq!(detail["touches"][0]["channel"], "web_form");
        assert_eq!(detail["touches"][0]["utm_source"], "google");
        assert_eq!(detail["touches"][0]["form_id"], form["id"]);
    }

    async fn json_submission_from_another_site_with_cors(srv: TestServer) {
        let form = srv.create_form(contact_form(None)).await;
        let key = form["key"].as_str().unwrap();
        let preflight = srv.client.request(reqwest::Method::OPTIONS, srv.url(&format!("/f/{key}")))
            .header("Origin", "https://customer-site.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send().await.unwrap();
        assert!(preflight.status().is_success());
        assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

        let token = srv.form_token(key).await;
        let response = srv.client.post(srv.url(&format!("/f/{key}")))
            .header("Origin", "https://customer-site.example")
            .json(&json!({ "_ts": token, "first_name": "Ana", "email": "ana@customer.example.com", "consent": true }))
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(lead_count(&srv).await, 1);

        let (_, embed) = srv.send(srv.get(&format!("/api/v1/forms/{}/embed", form["id"].as_str().unwrap()))).await;
        assert!(embed["iframe"].as_str().unwrap().contains(&format!("/f/{key}?embed=1")));
        assert!(embed["iframe"].as_str().unwrap().contains("Contact &lt;us&gt;"));
        assert_eq!(embed["token_url"], srv.url(&format!("/f/{key}/token")));
    }

    async fn spam_defences_and_validation(srv: TestServer) {
        let form = srv.create_form(contact_form(None)).await;
        let key = form["key"].as_str().unwrap();
        let url = srv.url(&format!("/f/{key}"));

        // Honeypot filled: answered like a success, nothing stored.
        let token = srv.form_token(key).await;
        let (status, body) = srv.send(srv.client.post(&url).json(&json!({
            "_ts": token, "first_name": "Bot", "email": "bot@spam.example.com", "consent": "yes", "fax": "+1 555 0100"
        }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(lead_count(&srv).await, 0);

        // Too fast: a token issued this instant.
        let (_, fresh) = srv.send(srv.client.get(srv.url(&format!("/f/{key}/token")))).await;
        let (status, body) = srv.send(srv.client.post(&url).json(&json!({
            "_ts": fresh["token"], "first_name": "Quick", "email": "quick@example.com", "consent": "yes"
        }))).await;
        assert_error(status, &body, 422, "too_fast");

        // Missing and forged tokens.
        let (status, body) = srv.send(srv.client.post(&url).json(&json!({ "first_name": "A", "email": "a@example.com", "consent": "yes" }))).await;
        assert_error(status, &body, 422, "form_token_missing");
        let (status, body) = srv.send(srv.client.post(&url).json(&json!({ "_ts": "1.abcdef", "first_name": "A", "email": "a@example.com", "consent": "yes" }))).await;
        assert_error(status, &body, 422, "form_token_invalid");

        // Required fields and consent, all reported at once.
        let token = srv.form_token(key).await;
        let (status, body) = srv.send(srv.client.post(&url).json(&json!({ "_ts": token, "email": "bad@" }))).await;
        let error = assert_error(status, &body, 422, "invalid_fields");
        let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"first_name") && fields.contains(&"consent"), "{fields:?}");

        // A URL-encoded failure re-renders the page with the errors and the values, escaped.
        let token = srv.form_token(key).await;
        let response = srv.client.post(&url).form(&[("_ts", token.as_str()), ("email", "<script>alert(1)</script>")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text().await.unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("First name is required"));

        // 64 KiB body cap.
        let token = srv.form_token(key).await;
        let huge = "x".repeat(70 * 1024);
        let (status, body) = srv.send(srv.client.post(&url).json(&json!({ "_ts": token, "first_name": huge }))).await;
        assert_error(status, &body, 413, "body_too_large");

        // Unknown form, wrong media type, broken JSON.
        let (status, body) = srv.send(srv.client.post(srv.url("/f/nosuchform")).json(&json!({}))).await;
        assert_error(status, &body, 404, "form_not_found");
        let (status, body) = srv.send(srv.client.post(&url).header("content-type", "text/xml").body("<a/>")).await;
        assert_error(status, &body, 415, "unsupported_media_type");
        let (status, body) = srv.send(srv.client.post(&url).header("content-type", "application/json").body("{\"email\": ")).await;
        assert_error(status, &body, 400, "malformed_json");
        assert_eq!(lead_count(&srv).await, 0);
    }
}

mod rate_limit {
    use super::*;

    async fn run(backend: leadline_store::Backend) {
        let config = WebConfig {
            form_submissions_per_minute: 3,
            ..Default::default()
        };
        let Some(srv) = TestServer::start_with(backend, config).await else {
            return;
        };
        let form = srv.create_form(contact_form(None)).await;
        let key = form["key"].as_str().unwrap();
        let token = srv.form_token(key).await;
        let mut statuses = Vec::new();
        for i in 0..5 {
            let response = srv.client.post(srv.url(&format!("/f/{key}")))
                .json(&json!({ "_ts": token, "first_name": "R", "email": format!("r{i}@example.com"), "consent": "yes" }))
                .send().await.unwrap();
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(response.headers()["retry-after"], "60");
            }
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
        assert_eq!(
            lead_count(&srv).await,
            3,
            "rate-limited submissions store nothing"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(leadline_store::Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(leadline_store::Backend::Postgres).await
    }
}
