//! The settings screens over real HTTP: each refuses what the API refuses, with the
//! message in place, only for the roles that may change it, once per form.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

backend_tests! {
    async fn settings_check_like_the_api_and_act_once(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let ana = srv.rep("ana@example.com", json!({ "password": PASSWORD })).await;
        let mia = srv.user("mia@example.com", "manager", json!({ "password": PASSWORD })).await;
        let (status, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Floor", "manager_id": mia, "member_ids": [ana] }))).await;
        assert_eq!(status, StatusCode::CREATED, "{team}");
        let cookie = srv.cookie_for("mia@example.com", PASSWORD).await;
        let (status, page) = srv.page("/admin/routing", &cookie).await;
        assert_eq!(status, StatusCode::OK);

        // A rule sent twice with one rendering's nonce (a double click) is added once.
        let rule = |nonce: String, team_id: &str| vec![("csrf", csrf_of(&page)), ("nonce", nonce), ("name", "Web leads".to_string()),
            ("field0", "channel".to_string()), ("op0", "eq".to_string()), ("value0", "web_form".to_string()),
            ("target", "team".to_string()), ("team_id", team_id.to_string()), ("strategy", "least_loaded".to_string()), ("position", "first".to_string())];
        let nonce = nonce_after(&page, "/admin/routing/rules\"");
        let team_id = team["id"].as_str().unwrap().to_string();
        for _ in 0..2 {
            let r = srv.form_post("/admin/routing/rules", &cookie, &rule(nonce.clone(), &team_id)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
        let rules = srv.app.routing_rules().await.unwrap();
        assert_eq!(rules.rules.len(), 1, "{rules:?}");
        assert_eq!(rules.rules[0].id, "web-leads");
        // An unknown team: the API's reason, in place; nothing saved.
        let (_, page) = srv.page("/admin/routing", &cookie).await;
        let r = srv.form_post("/admin/routing/rules", &cookie, &rule(nonce_after(&page, "/admin/routing/rules\""), "nope")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("unknown team"));
        assert_eq!(srv.app.routing_rules().await.unwrap().rules.len(), 1);
        // JSON that does not read, and a bad number.
        let r = srv.form_post("/admin/routing/sla/json", &cookie, &[("csrf", csrf_of(&page)), ("json", "[{\"id\": 1}".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = srv.form_post("/admin/routing/sla", &cookie, &[("csrf", csrf_of(&page)), ("nonce", nonce_after(&page, "/admin/routing/sla\"")),
            ("name", "Fast".into()), ("first_touch_within_minutes", "soon".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("not a whole number of minutes"));
        // Without the CSRF token: refused.
        let r = srv.form_post("/admin/routing/rules", &cookie, &[("nonce", ulid::Ulid::new().to_string()), ("name", "X".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The form builder: a field error beside its input, then a form made.
        let (_, builder) = srv.page("/admin/forms", &cookie).await;
        let form = |nonce: String, redirect: &str| vec![("csrf", csrf_of(&builder)), ("nonce", nonce), ("name", "Demo <b>request</b>".to_string()),
            ("source", "Website".to_string()), ("channel", "web_form".to_string()), ("use2", "yes".to_string()), ("label2", "E-mail".to_string()),
            ("required2", "yes".to_string()), ("redirect_url", redirect.to_string())];
        let r = srv.form_post("/admin/forms", &cookie, &form(nonce_after(&builder, "action=\"/admin/forms\""), "javascript:alert(1)")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused = r.text().await.unwrap();
        assert!(refused.contains("id=\"form-redirect_url-error\"") && refused.contains("Demo &lt;b&gt;request&lt;/b&gt;"), "{refused}");
        let r = srv.form_post("/admin/forms", &cookie, &form(nonce_after(&builder, "action=\"/admin/forms\""), "")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (status, saved) = srv.page(r.headers()["location"].to_str().unwrap(), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(saved.contains("&lt;iframe src=") && saved.contains("/f/"), "{saved}");
        // The preview draws what the builder holds.
        let r = srv.form_post("/admin/forms/preview", &cookie, &[("csrf", csrf_of(&builder)), ("name", "Preview me".into()), ("use3", "yes".into()), ("label3", "Your phone".into())]).send().await.unwrap();
        let preview = r.text().await.unwrap();
        assert!(preview.contains("data-preview") && preview.contains("Your phone") && preview.contains("Preview me"), "{preview}");

        // Reps have no settings; managers no users to add or lifecycle to change.
        let rep_cookie = srv.cookie_for("ana@example.com", PASSWORD).await;
        for path in ["/admin/routing", "/admin/forms", "/admin/users", "/admin/imports", "/admin/webhooks", "/admin/scoring"] {
            let (status, _) = srv.page(path, &rep_cookie).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        let (status, _) = srv.page("/admin/tokens", &rep_cookie).await;
        assert_eq!(status, StatusCode::OK, "everyone has their own tokens");
        for path in ["/admin/lifecycle", "/admin/webhooks"] {
            let (status, _) = srv.page(path, &cookie).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} as a manager");
        }
        let (_, users) = srv.page("/admin/users", &cookie).await;
        assert!(!users.contains("Add a user"), "managers read users, admins add them");
        let r = srv.form_post("/admin/users", &cookie, &[("csrf", csrf_of(&users)), ("nonce", ulid::Ulid::new().to_string()), ("email", "x@example.com".into()), ("name", "X".into()), ("role", "admin".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // An admin edits the lifecycle as JSON: a broken one is refused with its problems.
        let admin = srv.cookie_for("ada@example.com", PASSWORD).await;
        let (_, lifecycle) = srv.page("/admin/lifecycle", &admin).await;
        let r = srv.form_post("/admin/lifecycle", &admin, &[("csrf", csrf_of(&lifecycle)), ("json", "{\"stages\": [], \"disqualify_reasons\": []}".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("no stages"));
    }
}

backend_tests! {
    async fn templates_are_checked_when_saved_and_previewed_escaped(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        srv.user("mo@example.com", "marketer", json!({ "password": PASSWORD })).await;
        let (_, lead) = srv.create_lead(json!({ "first_name": "<script>alert(1)</script>", "email": "x@buyer.example.com",
            "company": "Quinn & Co", "source": "Website" })).await;
        let lead = lead["lead"]["id"].as_str().unwrap().to_string();
        let cookie = srv.cookie_for("mo@example.com", PASSWORD).await;
        let (status, page) = srv.page("/admin/templates", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        let form = |nonce: String, text: &str| vec![("csrf", csrf_of(&page)), ("nonce", nonce), ("name", "Welcome".to_string()),
            ("subject", "Hello {{ first_name | \"there\" }}".to_string()), ("body_text", text.to_string()), ("body_html", String::new())];
        // An unknown merge field and an unclosed one: refused at save time, with places.
        let r = srv.form_post("/admin/templates", &cookie, &form(nonce_after(&page, "action=\"/admin/templates\""), "Hi {{ frist_name }},\nsee {{ company")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused = r.text().await.unwrap();
        assert!(refused.contains("line 1, column 4: unknown merge field &quot;frist_name&quot;"), "{refused}");
        assert!(refused.contains("line 2, column 5: {{ is never closed"), "{refused}");
        assert!(srv.app.templates().await.unwrap().is_empty());
        let r = srv.form_post("/admin/templates", &cookie, &form(nonce_after(&page, "action=\"/admin/templates\""), "Hi {{ first_name }} of {{ company }}.\n\nUnsubscribe: {{ unsubscribe_url }}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let edit = r.headers()["location"].to_str().unwrap().to_string();
        let (status, preview) = srv.page(&format!("{edit}?lead={lead}"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(preview.contains("Hello &lt;Script&gt;alert(1)&lt;/script&gt;"), "{preview}");
        assert!(preview.contains("sandbox") && preview.contains("/preview.html?lead="), "{preview}");
        let frame = srv.client.get(srv.url(&format!("{edit}/preview.html?lead={lead}"))).header("cookie", &cookie).send().await.unwrap();
        let csp = frame.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.starts_with("sandbox;") && csp.contains("default-src 'none'"), "{csp}");
        let html = frame.text().await.unwrap();
        assert!(html.contains("<p>Hi &lt;Script&gt;alert(1)&lt;/script&gt; of Quinn &amp; Co.</p>"), "{html}");
        assert!(html.contains("/u/preview"), "{html}");
        // Reps and managers have no templates.
        let rep = srv.rep("ana@example.com", json!({ "password": PASSWORD })).await;
        let _ = rep;
        let rep_cookie = srv.cookie_for("ana@example.com", PASSWORD).await;
        let (status, _) = srv.page(&edit, &rep_cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
