//! The lead list, its CSV export, saved views, bulk changes, the pipeline board and
//! the duplicates queue over real HTTP, on both databases.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

backend_tests! {
    async fn the_list_searches_filters_pages_and_exports(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let ana = srv.rep("ana@example.com", json!({ "password": PASSWORD, "name": "Ana Rep" })).await;
        for i in 0..7 {
            srv.create_lead(json!({ "first_name": format!("Person{i}"), "last_name": "Lister", "email": format!("p{i}@list.example.com"),
                "source": if i % 2 == 0 { "Website" } else { "Trade show" } })).await;
            srv.clock.advance(60_000);
        }
        let (_, hostile) = srv.create_lead(json!({ "first_name": "=HYPERLINK(\"http://evil.example\")", "last_name": "<img src=x onerror=alert(1)>",
            "email": "formula@list.example.com", "company": "+cmd|' /C calc'!A0", "phone": "+44 20 7946 0958", "source": "Website" })).await;
        let hostile_id = hostile["lead"]["id"].as_str().unwrap().to_string();
        let cookie = srv.cookie_for("ada@example.com", PASSWORD).await;

        let (status, page) = srv.page("/leads", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("8 leads") && page.contains("Person0 Lister"), "{page}");
        let lower = page.to_lowercase();
        assert!(lower.contains("&lt;img src=x onerror=alert(1)&gt;") && !lower.contains("<img src=x"), "{page}");
        // Search by a name's start, an e-mail in any case, a phone in any format.
        let (_, found) = srv.page("/leads?q=person3", &cookie).await;
        assert!(found.contains("1 lead<") && found.contains("Person3"), "{found}");
        let (_, found) = srv.page("/leads?q=P5%40LIST.example.com", &cookie).await;
        assert!(found.contains("1 lead<") && found.contains("Person5"), "{found}");
        let (_, found) = srv.page("/leads?q=020%207946%200958&source=", &cookie).await;
        assert!(found.contains("1 lead<") && found.contains("formula@list.example.com"), "{found}");
        // LIKE's wildcards are plain characters here.
        let (_, found) = srv.page("/leads?q=%25", &cookie).await;
        assert!(found.contains("No lead matches"), "{found}");
        // A filter by source, and bad filters named beside their fields.
        let sources = srv.app.list_sources().await.unwrap();
        let website = sources.iter().find(|s| s.name == "Website").unwrap().id.clone();
        let (_, found) = srv.page(&format!("/leads?source={website}"), &cookie).await;
        assert!(found.contains("5 leads"), "{found}");
        let (status, bad) = srv.page("/leads?score_min=lots&created_from=yesterday&sort=random", &cookie).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("id=\"filter-score_min-error\"") && bad.contains("a score is a number"), "{bad}");
        assert!(bad.contains("id=\"filter-created_from-error\""), "{bad}");
        assert!(bad.contains("value=\"lots\""), "typed values stay");

        // Paging: 3 per page through the service, no lead twice, none lost.
        let who = srv.app.user_by_email("ada@example.com").await.unwrap().unwrap();
        let scope = leadline_domain::access::LeadScope::All;
        let mut request = leadline_service::lead_list::ListRequest { sort: "oldest".into(), ..Default::default() };
        let mut seen = Vec::new();
        loop {
            let page = srv.app.lead_list(&scope, &who.id, "", &request, 3).await.unwrap();
            seen.extend(page.rows.iter().map(|r| r.id.clone()));
            match page.next { Some(next) => request.cursor = next, None => break }
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (8, 8));
        assert_eq!(seen.last(), Some(&hostile_id), "oldest first");

        // The CSV export: same filters, formulas neutralised.
        let csv = srv.client.get(srv.url("/leads.csv?q=formula")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(csv.status(), StatusCode::OK);
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
        let text = csv.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1, "{text}");
        let first_name = &rows[0][1];
        let company = &rows[0][6];
        assert!(first_name.starts_with('\'') && company.starts_with('\''), "{text}");

        // A saved view is this person's; the rep does not see it.
        let r = srv.form_post("/views", &cookie, &[("csrf", csrf_of(&page)), ("name", "Website leads".into()), ("query", format!("source={website}&cursor=junk"))]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, page) = srv.page("/leads", &cookie).await;
        assert!(page.contains(&format!("href=\"/leads?source={website}\">Website leads<")), "{page}");
        let r = srv.form_post("/views", &cookie, &[("csrf", csrf_of(&page)), ("name", "  ".into()), ("query", String::new())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let ana_cookie = srv.cookie_for("ana@example.com", PASSWORD).await;
        let (_, ana_page) = srv.page("/leads", &ana_cookie).await;
        assert!(!ana_page.contains("Website leads") && ana_page.contains("No lead matches"), "a rep lists only their own: {ana_page}");
        assert!(!ana_page.contains("name=\"action\""), "no bulk changes for reps");

        // Bulk: assign two leads to Ana; they show in her list and inbox.
        let ids: Vec<String> = seen.iter().take(2).cloned().collect();
        let mut form = vec![("csrf", csrf_of(&page)), ("nonce", nonce_after(&page, "action=\"/leads/bulk\"")), ("action", "assign".to_string()),
            ("owner_id", ana.clone()), ("back", "sort=score".to_string())];
        form.extend(ids.iter().map(|id| ("lead", id.clone())));
        let r = srv.form_post("/leads/bulk", &cookie, &form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/leads?sort=score");
        let (_, ana_page) = srv.page("/leads", &ana_cookie).await;
        assert!(ana_page.contains("2 leads"), "{ana_page}");
        // A rep may not send a bulk change.
        let r = srv.form_post("/leads/bulk", &ana_cookie, &[("csrf", csrf_of(&ana_page)), ("nonce", ulid::Ulid::new().to_string()), ("action", "nurture".into()), ("lead", ids[0].clone())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Bulk nurture: each lead as if alone; refused ones are listed.
        let (_, page) = srv.page("/leads", &cookie).await;
        let mut form = vec![("csrf", csrf_of(&page)), ("nonce", nonce_after(&page, "action=\"/leads/bulk\"")), ("action", "stage".to_string()), ("to", "converted".to_string())];
        form.extend(ids.iter().map(|id| ("lead", id.clone())));
        let r = srv.form_post("/leads/bulk", &cookie, &form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let outcome = r.text().await.unwrap();
        assert!(outcome.contains("0 changed; 2 not"), "new → converted is no allowed move: {outcome}");

        // The stage vocabulary this person reads.
        let r = srv.form_post("/account/vocabulary", &cookie, &[("csrf", csrf_of(&page)), ("vocabulary", "funnel".into()), ("back", "/leads".into())]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (status, moved) = srv.send(srv.client.post(srv.url(&format!("/api/v1/leads/{}/stage", ids[0]))).bearer_auth(&srv.token).json(&json!({ "stage": "mql" }))).await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        let (_, page) = srv.page("/leads?stage=mql", &cookie).await;
        assert!(page.contains("<td>MOFU</td>"), "{page}");
        let (_, ana_page) = srv.page("/leads?stage=mql", &ana_cookie).await;
        assert!(ana_page.contains("<td>MQL</td>"), "Ana kept the lifecycle's words: {ana_page}");

        // The pipeline board: a column per open stage with the moves the stage allows.
        let (status, board) = srv.page("/pipeline", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(board.contains("id=\"col-mql\"") && board.contains("name=\"back\" value=\"pipeline\""), "{board}");
        let at = board.find("id=\"col-mql\"").unwrap();
        let column = &board[at..];
        let form = vec![("csrf", csrf_of(&board)), ("nonce", nonce_after(column, "/stage\"")), ("back", "pipeline".to_string()), ("to", "sql".to_string())];
        let r = srv.form_post(&format!("/leads/{}/stage", ids[0]), &cookie, &form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "the playbook holds on the board too");
    }

    async fn the_duplicates_queue_merges_or_dismisses(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let (_, a) = srv.create_lead(json!({ "first_name": "Katherine", "last_name": "Johnson", "phone": "+44 20 7946 0111",
            "company": "Langley Ltd", "city": "Hampton", "source": "Website" })).await;
        let (_, b) = srv.create_lead(json!({ "first_name": "Kate", "last_name": "Johnson", "phone": "+44 20 7946 0111",
            "email": "kj@langley.example.com", "company": "Langley Ltd", "city": "Hampton", "source": "Trade show" })).await;
        let (a, b) = (a["lead"]["id"].as_str().unwrap().to_string(), b["lead"]["id"].as_str().unwrap().to_string());
        let (_, pairs) = srv.send(srv.get("/api/v1/duplicates")).await;
        let cookie = srv.cookie_for("ada@example.com", PASSWORD).await;
        let (status, queue) = srv.page("/duplicates", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        let Some(pair) = pairs["pairs"].as_array().and_then(|p| p.first()).cloned() else {
            // Matching merged them outright: nothing to queue, and the page says so.
            assert!(queue.contains("Nothing to review"), "{queue}");
            return;
        };
        let pair_id = pair["id"].as_str().unwrap().to_string();
        assert!(queue.contains("Compare and merge") && queue.contains(&format!("?pair={pair_id}")), "{queue}");
        // From the queue the compare page carries the pair, and the merge decides it.
        let (la, lb) = (pair["lead_a"]["id"].as_str().unwrap(), pair["lead_b"]["id"].as_str().unwrap());
        let (_, compare) = srv.page(&format!("/leads/{la}/merge/{lb}?pair={pair_id}"), &cookie).await;
        assert!(compare.contains(&format!("name=\"pair_id\" value=\"{pair_id}\"")), "{compare}");
        let form = vec![("csrf", csrf_of(&compare)), ("nonce", nonce_after(&compare, "/merge/")), ("pair_id", pair_id.clone()), ("pick.first_name", "take".to_string())];
        let r = srv.form_post(&format!("/leads/{la}/merge/{lb}"), &cookie, &form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let (_, merged) = srv.send(srv.get("/api/v1/duplicates?status=merged")).await;
        assert_eq!(merged["pairs"][0]["id"], pair_id.as_str(), "{merged}");
        let (_, queue) = srv.page("/duplicates", &cookie).await;
        assert!(queue.contains("Nothing to review"), "{queue}");
        let _ = (a, b);
    }
}
