//! The lead workspace over real HTTP: everything about a lead on one page, fields
//! edited with the server's message beside a refused one, the playbook's questions
//! answered before the stage moves, a manager's reassignment, and a merge picking
//! fields that is undone from the timeline. Only the people who may see a lead do.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

backend_tests! {
    async fn a_rep_works_a_lead_from_its_workspace(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let ana = srv.rep("ana@example.com", json!({ "password": PASSWORD, "name": "Ana Rep" })).await;
        let bo = srv.rep("bo@example.com", json!({ "password": PASSWORD, "name": "Bo Rep" })).await;
        let mia = srv.user("mia@example.com", "manager", json!({ "password": PASSWORD, "name": "Mia Manager" })).await;
        let (_, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Ana's", "member_ids": [ana] }))).await;
        let (status, floor) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Floor", "manager_id": mia, "member_ids": [ana, bo] }))).await;
        assert_eq!(status, StatusCode::CREATED, "{floor}");
        srv.set_routing(json!({ "rules": [{ "id": "all", "name": "Everyone", "conditions": [],
            "target": { "type": "team", "team_id": team["id"], "strategy": "weighted_round_robin" } }] })).await;
        let (_, lead) = srv.create_lead(json!({ "first_name": "<script>alert(1)</script>", "last_name": "Quinn",
            "email": "zoe@buyer.example.com", "company": "Quinn & Co", "channel": "web_form", "source": "Website",
            "campaign": "Winter webinar", "attribution": { "utm_source": "newsletter", "referrer": "https://news.example/x" },
            "consent": [{ "channel": "email", "granted": true, "wording": "Send me product news" }] })).await;
        let id = lead["lead"]["id"].as_str().unwrap().to_string();
        let path = format!("/leads/{id}");
        srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{id}/answers")))
            .bearer_auth(&srv.token).json(&json!({ "answers": { "asked_to_be_contacted": "yes" } }))).await;

        // Not signed in: to the sign-in page, which comes back here.
        let anonymous = srv.client.get(srv.url(&path)).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
        let location = anonymous.headers()["location"].to_str().unwrap();
        assert_eq!(location, format!("/login?next=%2Fleads%2F{id}"));

        let ana_cookie = srv.cookie_for("ana@example.com", PASSWORD).await;
        let (status, page) = srv.page(&path, &ana_cookie).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        // (Names are capitalised on capture: "<Script>".)
        assert!(page.contains("alert(1)&lt;/script&gt; Quinn") && !page.to_lowercase().contains("<script>alert"), "{page}");
        assert!(page.contains("Quinn &amp; Co"));
        assert!(page.contains("aria-current=\"step\">New<"), "the path marks the stage: {page}");
        assert!(page.contains("Move to SQL") && page.contains("Needs an answer to: Need for what we offer"), "{page}");
        assert!(page.contains("Owner: <strong>Ana Rep</strong>"), "{page}");
        assert!(page.contains("Winter webinar") && page.contains("newsletter") && page.contains("https://news.example/x"), "attribution: {page}");
        assert!(page.contains("email: granted") && page.contains("Send me product news"), "consent: {page}");
        assert!(page.contains("id=\"timeline-title\"") && page.contains("routed"), "{page}");
        assert!(!page.contains("Reassign to"), "a rep reassigns nothing");
        assert!(!page.contains("Compare and merge"), "a rep merges nothing");

        // Another rep: as if there were no such lead.
        let bo_cookie = srv.cookie_for("bo@example.com", PASSWORD).await;
        let (status, other) = srv.page(&path, &bo_cookie).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!other.contains("Quinn"), "{other}");
        let (bo_csrf, bo_nonce) = {
            let (_, inbox) = srv.page("/", &bo_cookie).await;
            (csrf_of(&inbox), ulid_like())
        };
        let r = srv.form_post(&format!("{path}/fields"), &bo_cookie, &[("csrf", bo_csrf), ("nonce", bo_nonce), ("title", "Hacked".into())]).send().await.unwrap();
        assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());

        // A refused edit: the message beside its field, the typed values kept, nothing saved.
        let csrf = csrf_of(&page);
        let fields = |nonce: String, email: &str, title: &str| vec![("csrf", csrf.clone()), ("nonce", nonce),
            ("first_name", "<Script>alert(1)</script>".to_string()), ("last_name", "Quinn".into()),
            ("email", email.to_string()), ("company", "Quinn & Co".into()), ("title", title.to_string())];
        let nonce = nonce_after(&page, "/fields\"");
        let r = srv.form_post(&format!("{path}/fields"), &ana_cookie, &fields(nonce.clone(), "not an address", "CTO")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused = r.text().await.unwrap();
        let email_input = refused.find("id=\"field-email\"").expect("the e-mail input");
        let email_error = refused.find("id=\"field-email-error\"").expect("the e-mail's message");
        assert!(email_error > email_input && refused[email_input..email_error].contains("value=\"not an address\""), "{refused}");
        assert!(refused[email_input..].contains("aria-invalid=\"true\""));
        assert!(refused.contains("value=\"CTO\""), "typed values stay");
        assert_eq!(srv.app.lead(&id).await.unwrap().fields.title, None);
        // Corrected and sent with the same rendering's nonce: saved once, on the timeline.
        let r = srv.form_post(&format!("{path}/fields"), &ana_cookie, &fields(nonce.clone(), "zoe@buyer.example.com", "CTO")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        assert_eq!(srv.app.lead(&id).await.unwrap().fields.title.as_deref(), Some("CTO"));
        let again = srv.form_post(&format!("{path}/fields"), &ana_cookie, &fields(nonce, "zoe@buyer.example.com", "CTO")).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        let (_, page) = srv.page(&path, &ana_cookie).await;
        assert!(page.contains("title: (empty) → CTO"), "{page}");
        // Without the CSRF token: refused.
        let r = srv.form_post(&format!("{path}/fields"), &ana_cookie, &[("nonce", nonce_after(&page, "/fields\"")), ("title", "CEO".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The playbook: SQL needs `need` answered; answered, the move goes through.
        let stage = |page: &str, to: &str| {
            let marker = format!("name=\"to\" value=\"{to}\"");
            let at = page.find(&marker).expect("a move form");
            let start = page[..at].rfind("<form").unwrap();
            let nonce = nonce_after(&page[start..], "<form");
            vec![("csrf", csrf_of(page)), ("nonce", nonce), ("back", "lead".to_string()), ("to", to.to_string())]
        };
        let r = srv.form_post(&format!("{path}/stage"), &ana_cookie, &stage(&page, "sql")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("need"));
        let answers = vec![("csrf", csrf_of(&page)), ("nonce", nonce_after(&page, "/answers\"")), ("need", "yes".to_string()),
            ("timeframe", "next week maybe".to_string()), ("horizon", String::new())];
        let r = srv.form_post(&format!("{path}/answers"), &ana_cookie, &answers).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a timeframe is read strictly here");
        let mut answers = answers;
        answers[3].1 = "3_months".into();
        let r = srv.form_post(&format!("{path}/answers"), &ana_cookie, &answers).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let q = srv.app.qualification(&id).await.unwrap();
        assert_eq!(q.answers.get(leadline_domain::qualification::QuestionKey::Need).map(|a| a.to_string()).as_deref(), Some("yes"));
        let (_, page) = srv.page(&path, &ana_cookie).await;
        let r = srv.form_post(&format!("{path}/stage"), &ana_cookie, &stage(&page, "sql")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], path.as_str());
        assert_eq!(srv.app.lead(&id).await.unwrap().stage, "sql");
        let (_, page) = srv.page(&path, &ana_cookie).await;
        assert!(page.contains("aria-current=\"step\">SQL<") && page.contains("Move to Meeting"), "{page}");
        // The timeline filters by kind.
        let (_, filtered) = srv.page(&format!("{path}?kind=stage_changed"), &ana_cookie).await;
        let timeline = &filtered[filtered.find("id=\"timeline-title\"").unwrap()..];
        assert!(timeline.contains("→ sql") && !timeline.contains("title: (empty) → CTO"), "{timeline}");

        // A rep may not reassign; the manager gives the lead to Bo, whose inbox shows it.
        let r = srv.form_post(&format!("{path}/owner"), &ana_cookie, &[("csrf", csrf_of(&page)), ("nonce", ulid_like()), ("owner_id", bo.clone())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let mia_cookie = srv.cookie_for("mia@example.com", PASSWORD).await;
        let (status, mia_page) = srv.page(&path, &mia_cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(mia_page.contains("Reassign to") && mia_page.contains(&format!("value=\"{bo}\"")), "{mia_page}");
        let r = srv.form_post(&format!("{path}/owner"), &mia_cookie, &[("csrf", csrf_of(&mia_page)), ("nonce", nonce_after(&mia_page, "/owner\"")), ("owner_id", srv.app.default_admin().await.unwrap().id)]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "only to a rep");
        let r = srv.form_post(&format!("{path}/owner"), &mia_cookie, &[("csrf", csrf_of(&mia_page)), ("nonce", nonce_after(&mia_page, "/owner\"")), ("owner_id", bo.clone())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(srv.app.lead_owner(&id).await.unwrap().as_deref(), Some(bo.as_str()));
        let (_, bo_inbox) = srv.page("/", &bo_cookie).await;
        assert!(bo_inbox.contains("zoe@buyer.example.com"), "{bo_inbox}");
        let (status, _) = srv.page(&path, &ana_cookie).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no longer Ana's");
        let _ = floor;
    }

    async fn two_leads_merge_field_by_field_and_the_merge_is_undone(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let (_, a) = srv.create_lead(json!({ "first_name": "Jon", "last_name": "Smith", "email": "jon@smith.example.com",
            "phone": "+44 20 7946 0958", "company": "Smith Ltd", "source": "Website" })).await;
        let (_, b) = srv.create_lead(json!({ "first_name": "Jonathan", "last_name": "Smith", "email": "jonathan@other.example.org",
            "title": "Owner", "company": "Smithy", "source": "Trade show" })).await;
        let (a, b) = (a["lead"]["id"].as_str().unwrap().to_string(), b["lead"]["id"].as_str().unwrap().to_string());
        let cookie = srv.cookie_for("ada@example.com", PASSWORD).await;
        let (status, compare) = srv.page(&format!("/leads/{a}/merge/{b}"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "{compare}");
        assert!(compare.contains("name=\"pick.first_name\" value=\"take\"") && compare.contains("Jonathan"), "{compare}");
        assert!(compare.contains("name=\"pick.title\" value=\"take\" checked"), "a value only the other has is taken: {compare}");
        let fields = vec![("csrf", csrf_of(&compare)), ("nonce", nonce_after(&compare, "/merge/")),
            ("pick.first_name", "take".to_string()), ("pick.email", "keep".to_string()), ("pick.company", "keep".to_string()),
            ("pick.title", "take".to_string())];
        let r = srv.form_post(&format!("/leads/{a}/merge/{b}"), &cookie, &fields).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let merged = srv.app.lead(&a).await.unwrap();
        assert_eq!(merged.fields.first_name.as_deref(), Some("Jonathan"));
        assert_eq!(merged.fields.email.as_deref(), Some("jon@smith.example.com"));
        assert_eq!(merged.fields.title.as_deref(), Some("Owner"));
        assert_eq!(srv.app.lead(&b).await.unwrap().merged_into.as_deref(), Some(a.as_str()));
        // Sent again (a double click): merged once.
        let again = srv.form_post(&format!("/leads/{a}/merge/{b}"), &cookie, &fields).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        // The merged-away lead's page leads to the survivor.
        let r = srv.client.get(srv.url(&format!("/leads/{b}"))).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.headers()["location"], format!("/leads/{a}").as_str());

        let (_, page) = srv.page(&format!("/leads/{a}"), &cookie).await;
        assert!(page.contains("Undo this merge"), "{page}");
        let at = page.find("action=\"/merges/").unwrap() + 16;
        let merge_id: String = page[at..].chars().take_while(|c| *c != '/').collect();
        let undo = vec![("csrf", csrf_of(&page)), ("nonce", nonce_after(&page, "action=\"/merges/")), ("lead_id", a.clone())];
        let r = srv.form_post(&format!("/merges/{merge_id}/undo"), &cookie, &undo).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], format!("/leads/{a}").as_str());
        let restored = srv.app.lead(&a).await.unwrap();
        assert_eq!((restored.fields.first_name.as_deref(), restored.fields.title.as_deref()), (Some("Jon"), None));
        assert_eq!(srv.app.lead(&b).await.unwrap().merged_into, None);
        let (_, page) = srv.page(&format!("/leads/{a}"), &cookie).await;
        assert!(!page.contains("Undo this merge") && page.contains("merge undone"), "{page}");

        // A rep may not open the merge screen.
        let ana = srv.rep("ana@example.com", json!({ "password": PASSWORD })).await;
        let _ = ana;
        let rep_cookie = srv.cookie_for("ana@example.com", PASSWORD).await;
        let (status, _) = srv.page(&format!("/leads/{a}/merge/{b}"), &rep_cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The API takes the same picks.
        let (status, body) = srv.send(srv.post(&format!("/api/v1/leads/{a}/merge"))
            .json(&json!({ "other_lead_id": b, "take_from_other": ["company", "custom.nope", "full_name"] }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body) = srv.send(srv.post(&format!("/api/v1/leads/{a}/merge"))
            .json(&json!({ "other_lead_id": b, "take_from_other": ["company"] }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["lead"]["company"], "Smithy");
    }
}

/// A well-formed nonce no page handed out.
fn ulid_like() -> String {
    ulid::Ulid::new().to_string()
}

backend_tests! {
    async fn a_manager_sees_the_team_board_and_hands_leads_out(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let ana = srv.rep("ana@example.com", json!({ "password": PASSWORD, "name": "Ana Rep", "capacity": 1 })).await;
        let mia = srv.user("mia@example.com", "manager", json!({ "password": PASSWORD, "name": "Mia Manager" })).await;
        let (status, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Floor", "manager_id": mia, "member_ids": [ana] }))).await;
        assert_eq!(status, StatusCode::CREATED, "{team}");
        srv.set_routing(json!({ "rules": [{ "id": "all", "name": "Everyone", "conditions": [],
            "target": { "type": "team", "team_id": team["id"], "strategy": "weighted_round_robin" } }] })).await;
        let (_, routed) = srv.create_lead(json!({ "first_name": "Routed", "last_name": "Lead", "email": "r@buyer.example.com", "channel": "web_form", "source": "Website" })).await;
        let routed = routed["lead"]["id"].as_str().unwrap().to_string();
        srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{routed}/answers"))).bearer_auth(&srv.token)
            .json(&json!({ "answers": { "asked_to_be_contacted": "yes" } }))).await;
        let (_, pool) = srv.create_lead(json!({ "first_name": "Pool", "last_name": "Lead", "email": "p@buyer.example.com", "source": "Website" })).await;
        let pool = pool["lead"]["id"].as_str().unwrap().to_string();

        let cookie = srv.cookie_for("mia@example.com", PASSWORD).await;
        let (status, page) = srv.page("/team", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let waiting = &page[page.find("id=\"clocks-title\"").unwrap()..page.find("id=\"unassigned-title\"").unwrap()];
        assert!(waiting.contains("Routed Lead") && waiting.contains("role=\"timer\""), "{waiting}");
        let unowned = &page[page.find("id=\"unassigned-title\"").unwrap()..];
        assert!(unowned.contains("Pool Lead") && !unowned.contains("Routed Lead"), "{unowned}");
        assert!(page.contains("Ana Rep (1/1)"), "load and capacity: {page}");
        assert!(page.contains("data-live-src=\"/team/board\""));
        // Past the deadline, the clock shows as breached.
        srv.clock.advance(30 * 60_000);
        let (_, fragment) = srv.page("/team/board", &cookie).await;
        assert!(fragment.contains("1</strong> past their deadline") && fragment.contains("countdown breached"), "{fragment}");

        // The pool lead handed to Ana from the board.
        let at = page.find(&format!("action=\"/leads/{pool}/owner\"")).unwrap();
        let form = vec![("csrf", csrf_of(&page)), ("nonce", nonce_after(&page[at..], "<input")), ("back", "team".to_string()), ("owner_id", ana.clone())];
        let r = srv.form_post(&format!("/leads/{pool}/owner"), &cookie, &form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/team");
        assert_eq!(srv.app.lead_owner(&pool).await.unwrap().as_deref(), Some(ana.as_str()));

        // Reps have no team board.
        let rep_cookie = srv.cookie_for("ana@example.com", PASSWORD).await;
        let (status, _) = srv.page("/team", &rep_cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
