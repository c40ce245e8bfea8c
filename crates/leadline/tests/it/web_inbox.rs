//! The rep inbox over real HTTP: a routed lead shows in its rep's inbox with its
//! first-touch deadline, never in another rep's; logging a call stops the clock and
//! sets the next step, which falls due; the form is checked like every other.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

async fn cookie_for(srv: &TestServer, email: &str) -> String {
    srv.cookie_for(email, PASSWORD).await
}

async fn inbox(srv: &TestServer, cookie: &str) -> (reqwest::header::HeaderMap, String) {
    let response = srv
        .client
        .get(srv.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?} {cookie}",
        response.headers().get("location")
    );
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

backend_tests! {
    async fn the_inbox_shows_a_reps_routed_leads_and_logs_touches(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let ana = srv.rep("ana@example.com", json!({ "password": PASSWORD })).await;
        srv.rep("bo@example.com", json!({ "password": PASSWORD })).await;
        let (_, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Ana's", "member_ids": [ana] }))).await;
        srv.set_routing(json!({ "rules": [{ "id": "all", "name": "Everyone", "conditions": [],
            "target": { "type": "team", "team_id": team["id"], "strategy": "weighted_round_robin" } }] })).await;
        let (_, lead) = srv.create_lead(json!({ "first_name": "Zoë", "last_name": "<b>Quinn</b>",
            "email": "zoe@buyer.example.com", "company": "Quinn & Co", "channel": "web_form", "source": "Website" })).await;
        let id = lead["lead"]["id"].as_str().unwrap().to_string();
        let (status, routed) = srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{id}/answers")))
            .bearer_auth(&srv.token).json(&json!({ "answers": { "asked_to_be_contacted": "yes" } }))).await;
        assert_eq!(status, StatusCode::OK, "{routed}");
        assert_eq!(routed["owner_id"], ana.as_str(), "{routed}");
        srv.create_lead(json!({ "email": "nobody@buyer.example.com", "source": "Website" })).await;

        let ana_cookie = cookie_for(&srv, "ana@example.com").await;
        let (headers, page) = inbox(&srv, &ana_cookie).await;
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");
        assert!(page.contains("First touch due (1)"), "{page}");
        assert!(page.contains("Zoë &lt;b&gt;Quinn&lt;/b&gt;") && page.contains("Quinn &amp; Co"), "{page}");
        assert!(page.contains("data-due=") && page.contains("role=\"timer\""), "{page}");
        assert!(page.contains("<script src=\"/assets/inbox.js\">"), "{page}");
        assert!(!page.contains("nobody@buyer.example.com"), "an unrouted lead is no one's");
        let js = srv.client.get(srv.url("/assets/inbox.js")).send().await.unwrap();
        assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");

        // The list alone, for the page to swap in, and the session's live events.
        let fragment = srv.client.get(srv.url("/inbox/leads")).header("cookie", &ana_cookie).send().await.unwrap();
        assert_eq!(fragment.status(), StatusCode::OK);
        let fragment = fragment.text().await.unwrap();
        assert!(fragment.contains("id=\"inbox\"") && fragment.contains("zoe@buyer.example.com"), "{fragment}");
        let stream = srv.client.get(srv.url("/events")).header("cookie", &ana_cookie).send().await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        drop(stream);
        let anonymous = srv.client.get(srv.url("/events")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);

        // Another rep never sees it, and cannot log on it.
        let bo_cookie = cookie_for(&srv, "bo@example.com").await;
        let (_, bo_page) = inbox(&srv, &bo_cookie).await;
        assert!(!bo_page.contains("zoe@buyer.example.com") && bo_page.contains("No open leads are yours"), "{bo_page}");
        let bo_csrf = csrf_of(&bo_page);
        let post = |cookie: &str, fields: Vec<(&str, String)>| srv.client.post(srv.url(&format!("/leads/{id}/touch")))
            .header("cookie", cookie.to_string()).header("origin", srv.base.clone()).form(&fields);
        let refused = post(&bo_cookie, vec![("csrf", bo_csrf), ("kind", "call_attempt".into())]).send().await.unwrap();
        assert!(matches!(refused.status().as_u16(), 403 | 404), "{}", refused.status());

        // Forms without the token, or with nonsense, are refused and log nothing.
        let csrf = csrf_of(&page);
        let nonce = {
            let at = page.find("name=\"nonce\" value=\"").expect("a nonce") + 20;
            page[at..at + 26].to_string()
        };
        let r = post(&ana_cookie, vec![("kind", "call_attempt".into()), ("nonce", nonce.clone())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = post(&ana_cookie, vec![("csrf", csrf.clone()), ("kind", "call_attempt".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "no nonce");
        let r = post(&ana_cookie, vec![("csrf", csrf.clone()), ("nonce", nonce.clone()), ("kind", "telepathy".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("is not one of"));
        // A refused form gives its nonce back: corrected, it may be sent again.
        let r = post(&ana_cookie, vec![("csrf", csrf.clone()), ("nonce", nonce.clone()), ("kind", "call_attempt".into()), ("next_step", "x".into()), ("next_step_due", "2026-13-45".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(srv.app.sales_touches(&id).await.unwrap().is_empty());

        // A call logged: the clock stops, the next step is set. Sent twice (a double
        // click without the page's script), it is logged once.
        let call = vec![("csrf", csrf.clone()), ("nonce", nonce.clone()), ("kind", "connected_call".into()), ("outcome", "interested".into()),
            ("notes", "=cmd|' /C calc'!A0".into()), ("next_step", "Send pricing".into()), ("next_step_due", "2026-12-10".into())];
        for _ in 0..2 {
            let r = post(&ana_cookie, call.clone()).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            assert_eq!(r.headers()["location"], "/");
        }
        let touches = srv.app.sales_touches(&id).await.unwrap();
        assert_eq!(touches.len(), 1);
        assert_eq!(touches[0].kind, "connected_call");
        // The same form used again for something else is refused.
        let r = post(&ana_cookie, vec![("csrf", csrf.clone()), ("nonce", nonce.clone()), ("kind", "voicemail".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("sent already"));
        assert_eq!(srv.app.sales_touches(&id).await.unwrap().len(), 1);
        let (_, page) = inbox(&srv, &ana_cookie).await;
        assert!(!page.contains("First touch due") && page.contains("Open (1)"), "{page}");
        assert!(!page.contains("Losing touch"), "a next step is planned: {page}");
        assert!(page.contains("Next step: Send pricing"), "{page}");
        assert!(!page.contains("data-due="));

        // Once its day has come, the next step is overdue.
        srv.clock.set(leadline_domain::schedule::local_instant("2026-12-11", "09:00", "UTC").unwrap());
        // (Over a week later: the session has ended, so Ana signs in again.)
        let ana_cookie = cookie_for(&srv, "ana@example.com").await;
        let (_, page) = inbox(&srv, &ana_cookie).await;
        assert!(page.contains("Next step overdue (1)"), "{page}");
        assert!(page.contains("Losing touch (1)") && page.contains("next step 24 h late"), "{page}");

        // Disqualified with a listed reason, it leaves the inbox; a made-up reason is refused.
        let nonce_at = page.find("action=\"/leads/").and_then(|at| page[at..].find("/stage\"").map(|s| at + s)).expect("a stage form");
        let form = &page[nonce_at..];
        let at = form.find("name=\"nonce\" value=\"").unwrap() + 20;
        let nonce = form[at..at + 26].to_string();
        let at = form.find("value=\"disqualified:").expect("a listed reason") + 7;
        let to: String = form[at..].chars().take_while(|c| *c != '"').collect();
        let csrf = csrf_of(&page);
        let stage = |fields: Vec<(&str, String)>| srv.client.post(srv.url(&format!("/leads/{id}/stage")))
            .header("cookie", ana_cookie.clone()).header("origin", srv.base.clone()).form(&fields);
        let r = stage(vec![("csrf", csrf.clone()), ("nonce", nonce.clone()), ("to", "disqualified:because".into())]).send().await.unwrap();
        let status = r.status();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text().await.unwrap());
        let r = stage(vec![("csrf", csrf.clone()), ("nonce", nonce.clone()), ("to", to.clone())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{to}: {}", r.text().await.unwrap());
        let (_, page) = inbox(&srv, &ana_cookie).await;
        assert!(page.contains("No open leads are yours"), "{page}");
    }
}
