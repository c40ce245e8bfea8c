use crate::backend_tests;
use crate::harness::*;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn import_csv(srv: &TestServer, csv: &str, source: &str, channel: &str) -> Value {
    let form = Form::new()
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("list.csv"),
        )
        .text("source", source.to_string())
        .text("channel", channel.to_string())
        .text("default_region", "GB");
    let (status, job) = srv.send(srv.post("/api/v1/imports").multipart(form)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let (_, done) = srv
        .send(srv.get(&format!(
            "/api/v1/imports/{}?wait=60",
            job["id"].as_str().unwrap()
        )))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    done
}

backend_tests! {
    async fn stored_keys_of_an_older_form_are_rebuilt(srv: TestServer) {
        let person = json!({ "first_name": "Maren", "last_name": "Oyelaran", "street": "14 Quayside Road",
            "postal_code": "NE1 3DX", "city": "Newcastle", "country": "GB" });
        let mut with_email = person.clone();
        with_email["email"] = json!("maren.o@example.org");
        let (status, created) = srv.create_lead(with_email).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["lead"]["id"].as_str().unwrap().to_string();
        let stored_keys = |id: String| {
            let app = srv.app.clone();
            async move {
                let mut conn = app.db.acquire().await.unwrap();
                let mut keys: Vec<i64> = sqlx::query_scalar("SELECT match_key FROM match_keys WHERE record_id = $1")
                    .bind(&id).fetch_all(&mut *conn).await.unwrap();
                keys.sort();
                keys
            }
        };
        let want = {
            let mut conn = srv.app.db.acquire().await.unwrap();
            let record = leadline_store::leads::match_records(&mut conn, std::slice::from_ref(&id)).await.unwrap().pop().unwrap().record;
            leadline_domain::matching::blocking_keys(&record)
        };
        let email_key = want.iter().find(|k| k.starts_with("e:")).map(|k| leadline_store::leads::match_key_hash(k)).expect("an e-mail key");
        let mut want: Vec<i64> = want.iter().map(|k| leadline_store::leads::match_key_hash(k)).collect();
        want.sort();
        assert_eq!(stored_keys(id.clone()).await, want);
        // As a database from before the passes it has now: only the e-mail key, and an
        // older key form recorded.
        {
            let mut conn = srv.app.db.acquire().await.unwrap();
            sqlx::query("DELETE FROM match_keys WHERE record_id = $1 AND match_key <> $2")
                .bind(&id).bind(email_key).execute(&mut *conn).await.unwrap();
            leadline_store::settings::set(&mut conn, "matching_keys_version", "1", 0).await.unwrap();
        }
        assert_eq!(stored_keys(id.clone()).await.len(), 1);
        let report = srv.app.ensure_match_keys_current().await.unwrap().expect("rebuilt");
        assert_eq!(report.rebuilt, 1);
        assert_eq!(report.version, leadline_domain::matching::BLOCKING_KEYS_VERSION);
        assert_eq!(stored_keys(id.clone()).await, want);
        // Current now: nothing to do.
        assert!(srv.app.ensure_match_keys_current().await.unwrap().is_none());
        // The name and address alone find the lead again.
        srv.clock.advance(1000);
        let (status, again) = srv.create_lead(person).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["outcome"], "merged");
        assert_eq!(again["lead"]["id"], id.as_str());
    }

    async fn a_repeat_capture_enriches_the_existing_lead(srv: TestServer) {
        let (status, first) = srv.create_lead(json!({ "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@gmail.com", "source": "Webinar" })).await;
        assert_eq!(status, StatusCode::CREATED);
        let id = first["lead"]["id"].as_str().unwrap().to_string();
        srv.clock.advance(60_000);
        // Same person: Gmail dots and case differ, a typo in the surname, new phone and company.
        let (status, second) = srv.create_lead(json!({ "first_name": "jane", "last_name": "Deo", "email": "JaneDoe+promo@GMAIL.com",
            "phone": "+44 20 7946 0321", "company": "Doe Consulting Ltd", "source": "Google Ads", "channel": "sem",
            "attribution": { "utm_source": "google", "utm_medium": "cpc", "utm_term": "lead software" } })).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second["outcome"], "merged");
        assert_eq!(second["lead"]["id"], id.as_str());
        assert_eq!(second["lead"]["phone"], "+442079460321", "blank filled");
        assert_eq!(second["lead"]["company"], "Doe Consulting Ltd");
        assert_eq!(second["lead"]["last_name"], "Doe", "existing value kept");
        let conflict = second["conflicts"].as_array().unwrap().iter().find(|c| c["field"] == "last_name").unwrap();
        assert_eq!(conflict["alternate"], "Deo");

        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{id}"))).await;
        let touches = detail["touches"].as_array().unwrap();
        assert_eq!(touches.len(), 2, "the capture is added to the attribution");
        assert_eq!(touches[0]["position"], 0);
        assert_eq!(touches[1]["channel"], "sem");
        assert_eq!(touches[1]["utm_term"], "lead software");
        let decision = &detail["match_decisions"][0];
        assert_eq!(decision["decision"], "merged");
        let comparisons = decision["evidence"]["comparisons"].as_array().unwrap();
        let email = comparisons.iter().find(|c| c["field"] == "email").unwrap();
        assert_eq!(email["outcome"], "agree");
        assert!(email["weight"].as_f64().unwrap() > 10.0);
        let sum: f64 = comparisons.iter().map(|c| c["weight"].as_f64().unwrap()).sum();
        assert!((sum - decision["score"].as_f64().unwrap()).abs() < 1e-6, "evidence explains the score");
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let captured: Vec<&Value> = timeline["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "captured").collect();
        assert_eq!(captured.len(), 2);
        assert_eq!(captured[1]["payload"]["outcome"], "merged");
        assert_eq!(captured[1]["payload"]["alternates"][0]["alternate"], "Deo");
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1);
    }

    async fn consumer_lists_match_on_names_and_addresses(srv: TestServer) {
        // A home-show list, then a direct-mail list months later with the same households.
        let show = "First Name,Last Name,Street,Postcode,City,Phone\n\
            Jon,Smith,12 High Street,SW1A 1AA,London,\n\
            Mary,Smith,12 High Street,SW1A 1AA,London,\n\
            Priya,Patel,4 Mill Road,CB1 2AD,Cambridge,01223 496000\n";
        let done = import_csv(&srv, show, "Ideal Home Show", "home_show").await;
        assert_eq!(done["created_count"], 3, "{done}");
        srv.clock.advance(90 * 86_400_000);
        let mailing = "Name,Address,Zip,Town\n\
            John Smith,12 High St,SW1A 1AA,London\n\
            Priya Patel,4 Mill Rd,CB1 2AD,Cambridge\n\
            Peter Jones,7 Station Road,M1 1AE,Manchester\n";
        let done = import_csv(&srv, mailing, "Spring postcard", "direct_mail").await;
        assert_eq!(done["merged_count"], 2, "{done}");
        assert_eq!(done["created_count"], 1, "{done}");
        let (_, list) = srv.send(srv.get("/api/v1/leads?limit=100")).await;
        let leads = list["leads"].as_array().unwrap();
        assert_eq!(leads.len(), 4, "Mary stayed separate from Jon; Peter is new");
        let jon = leads.iter().find(|l| l["first_name"] == "Jon").unwrap();
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{}", jon["id"].as_str().unwrap()))).await;
        let channels: Vec<&str> = detail["touches"].as_array().unwrap().iter().map(|t| t["channel"].as_str().unwrap()).collect();
        assert_eq!(channels, vec!["home_show", "direct_mail"]);
    }

    async fn a_fuzzy_match_is_flagged_as_a_possible_duplicate(srv: TestServer) {
        let (_, first) = srv.create_lead(json!({ "first_name": "Robert", "last_name": "Chen", "company": "Northwind Traders Inc", "title": "CFO", "email": "rchen@northwind.example.com" })).await;
        let (status, second) = srv.create_lead(json!({ "first_name": "Robert", "last_name": "Chen", "company": "Northwind Traders", "phone": "+1 650 253 0000" })).await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        assert_eq!(second["possible_duplicate_of"], first["lead"]["id"]);
        assert_eq!(second["lead"]["possible_duplicate_of"], first["lead"]["id"]);
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{}", second["lead"]["id"].as_str().unwrap()))).await;
        assert_eq!(detail["match_decisions"][0]["decision"], "possible_duplicate");
    }

    async fn manual_merge_and_exact_undo(srv: TestServer) {
        let (_, a) = srv.create_lead(json!({ "first_name": "Lena", "last_name": "Fischer", "email": "lena@fischer.example.com",
            "consent": [{ "channel": "email", "granted": true, "wording": "ok" }] })).await;
        srv.clock.advance(1000);
        let (_, b) = srv.create_lead(json!({ "first_name": "Lena", "last_name": "Fisher", "phone": "+49 30 901820", "title": "CTO",
            "source": "Trade show", "channel": "trade_show",
            "consent": [{ "channel": "phone", "granted": true, "wording": "call me" }] })).await;
        let (a_id, b_id) = (a["lead"]["id"].as_str().unwrap(), b["lead"]["id"].as_str().unwrap());
        let (_, a_before) = srv.send(srv.get(&format!("/api/v1/leads/{a_id}"))).await;
        let (_, b_before) = srv.send(srv.get(&format!("/api/v1/leads/{b_id}"))).await;

        srv.clock.advance(1000);
        let (status, merged) = srv.send(srv.post(&format!("/api/v1/leads/{a_id}/merge")).json(&json!({ "other_lead_id": b_id }))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!(merged["lead"]["phone"], "+4930901820");
        assert_eq!(merged["lead"]["title"], "CTO");
        assert_eq!(merged["lead"]["last_name"], "Fischer");
        let (_, survivor) = srv.send(srv.get(&format!("/api/v1/leads/{a_id}"))).await;
        assert_eq!(survivor["touches"].as_array().unwrap().len(), 2);
        assert_eq!(survivor["consents"].as_array().unwrap().len(), 2);
        let (_, gone) = srv.send(srv.get(&format!("/api/v1/leads/{b_id}"))).await;
        assert_eq!(gone["merged_into"], a_id);
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1, "merged leads leave the list");
        let (status, body) = srv.send(srv.post(&format!("/api/v1/leads/{a_id}/merge")).json(&json!({ "other_lead_id": b_id }))).await;
        assert_error(status, &body, 409, "lead_merged");
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/leads/{b_id}")).json(&json!({ "title": "x" }))).await;
        assert_error(status, &body, 409, "lead_merged");

        srv.clock.advance(1000);
        let merge_id = merged["merge_id"].as_str().unwrap();
        let (status, undone) = srv.send(srv.post(&format!("/api/v1/merges/{merge_id}/undo"))).await;
        assert_eq!(status, StatusCode::OK, "{undone}");
        let (_, a_after) = srv.send(srv.get(&format!("/api/v1/leads/{a_id}"))).await;
        let (_, b_after) = srv.send(srv.get(&format!("/api/v1/leads/{b_id}"))).await;
        let strip = |mut v: Value| { v.as_object_mut().unwrap().remove("match_decisions"); v };
        assert_eq!(strip(a_after), strip(a_before), "survivor restored exactly");
        assert_eq!(strip(b_after), strip(b_before), "merged lead restored exactly");
        let (status, body) = srv.send(srv.post(&format!("/api/v1/merges/{merge_id}/undo"))).await;
        assert_error(status, &body, 409, "merge_already_undone");
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{a_id}/timeline"))).await;
        let kinds: Vec<&str> = timeline["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"merged") && kinds.contains(&"merge_undone"), "{kinds:?}");
        // Matching works again for both after the undo.
        let (_, again) = srv.create_lead(json!({ "email": "LENA@fischer.example.com", "first_name": "Lena", "last_name": "Fischer" })).await;
        assert_eq!(again["outcome"], "merged");
        assert_eq!(again["lead"]["id"], a_id);
    }

    async fn undo_is_refused_when_it_would_lose_later_edits(srv: TestServer) {
        let (_, a) = srv.create_lead(json!({ "first_name": "Ola", "last_name": "Nordmann", "email": "ola@nordmann.example.com" })).await;
        let (_, b) = srv.create_lead(json!({ "first_name": "Kari", "last_name": "Hansen", "email": "kari@hansen.example.com" })).await;
        let (a_id, b_id) = (a["lead"]["id"].as_str().unwrap(), b["lead"]["id"].as_str().unwrap());
        srv.clock.advance(1000);
        let (_, merged) = srv.send(srv.post(&format!("/api/v1/leads/{a_id}/merge")).json(&json!({ "other_lead_id": b_id }))).await;
        srv.clock.advance(1000);
        let (status, _) = srv.send(srv.patch(&format!("/api/v1/leads/{a_id}")).json(&json!({ "title": "Founder" }))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = srv.send(srv.post(&format!("/api/v1/merges/{}/undo", merged["merge_id"].as_str().unwrap()))).await;
        assert_error(status, &body, 409, "lead_changed_since_merge");
    }

    async fn a_merged_away_leads_email_and_phone_still_find_the_person(srv: TestServer) {
        let (_, a) = srv.create_lead(json!({ "first_name": "Lena", "last_name": "Fischer", "email": "lena@fischer.example.com" })).await;
        let (_, b) = srv.create_lead(json!({ "first_name": "Lena", "last_name": "Fischer", "email": "lena.f@work.example.com",
            "phone": "+49 30 901820" })).await;
        let (a_id, b_id) = (a["lead"]["id"].as_str().unwrap(), b["lead"]["id"].as_str().unwrap());
        assert_ne!(a_id, b_id);
        srv.clock.advance(1000);
        let (status, merged) = srv.send(srv.post(&format!("/api/v1/leads/{a_id}/merge")).json(&json!({ "other_lead_id": b_id }))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");

        // The old work address comes back from a trade-show list: it is Lena, not a new lead.
        let (status, again) = srv.create_lead(json!({ "email": "LENA.F@work.example.com", "title": "Head of IT" })).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["outcome"], "merged", "{again}");
        assert_eq!(again["lead"]["id"], a_id, "{again}");
        let (_, by_phone) = srv.create_lead(json!({ "first_name": "Lena", "last_name": "Fischer", "phone": "030 901820", "country": "DE" })).await;
        assert_eq!(by_phone["lead"]["id"], a_id, "{by_phone}");
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1, "no fresh duplicate: {list}");
        let (_, found) = srv.send(srv.get("/api/v1/leads?email=lena.f%40work.example.com")).await;
        assert_eq!(found["leads"][0]["id"], a_id, "found by the merged-away e-mail: {found}");
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{a_id}/timeline"))).await;
        let via = timeline["events"].as_array().unwrap().iter()
            .find(|e| e["kind"] == "captured" && e["payload"]["matched_merged_lead"] == b_id);
        assert!(via.is_some(), "the capture says it came through the merged lead: {timeline}");
    }

    async fn a_record_is_compared_with_every_value_the_lead_has_carried(srv: TestServer) {
        // A trade-show scan gives the work e-mail and the office address.
        let (status, first) = srv.create_lead(json!({ "first_name": "Aoife", "last_name": "Brennan",
            "email": "aoife.brennan@contoso.example.com", "phone": "+353 1 555 0100",
            "street": "5 Harbour Road", "postal_code": "D02 X285", "city": "Dublin", "country": "IE",
            "source": "Trade show" })).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let id = first["lead"]["id"].as_str().unwrap().to_string();
        // The same person later signs up with the same e-mail, another phone and her home
        // address: merged, and the lead keeps the first values with these as alternates.
        let (status, second) = srv.create_lead(json!({ "first_name": "Aoife", "last_name": "Brennan",
            "email": "aoife.brennan@contoso.example.com", "phone": "+353 87 555 0199",
            "street": "17 Seaview Terrace", "postal_code": "A96 R8C4", "city": "Greystones", "country": "IE",
            "source": "Webinar" })).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second["outcome"], "merged");
        assert_eq!(second["lead"]["phone"], "+35315550100", "the first phone stays");
        // A direct-mail reply with only her name, mobile and home address: it shares
        // nothing with the lead's current values but the name, and is still her.
        let (status, third) = srv.create_lead(json!({ "first_name": "Aoife", "last_name": "Brennan",
            "phone": "+353 87 555 0199", "street": "17 Seaview Tce", "postal_code": "A96 R8C4",
            "city": "Greystones", "country": "IE", "source": "Postcard" })).await;
        assert_eq!(status, StatusCode::OK, "{third}");
        assert_eq!(third["outcome"], "merged", "{third}");
        assert_eq!(third["lead"]["id"], id.as_str());
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let via = timeline["events"].as_array().unwrap().iter()
            .filter(|e| e["kind"] == "captured")
            .find(|e| e["payload"]["matched_earlier_values"] == true);
        assert!(via.is_some(), "the capture says it matched earlier values: {timeline}");
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1, "{list}");
    }

    async fn a_lead_changed_by_another_instance_is_compared_as_it_is_now(srv: TestServer) {
        // The capture leaves the lead's comparable view in this server's candidate cache.
        let (status, first) = srv.create_lead(json!({ "first_name": "Orla", "last_name": "Brennick",
            "email": "orla.brennick@harbourlights.ie", "source": "Webinar" })).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let id = first["lead"]["id"].as_str().unwrap().to_string();
        // Another instance on the same database changes her e-mail.
        let other = leadline_service::App::new(srv.app.db.clone(), srv.clock.clone());
        let mut patch = leadline_service::leads::LeadPatch::default();
        patch.fields.insert(leadline_domain::LeadField::Email, Some("orla@brennick-design.ie".into()));
        other.patch_lead(&leadline_domain::access::LeadScope::All, &id, &patch, "test").await.unwrap();
        // A record with the new e-mail is her: compared with the lead as it is now, not
        // as this server last read it (the old e-mail would disagree).
        let (status, second) = srv.create_lead(json!({ "first_name": "Orla", "last_name": "Brennick",
            "email": "orla@brennick-design.ie", "source": "Newsletter" })).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second["outcome"], "merged", "{second}");
        assert_eq!(second["lead"]["id"], id.as_str());
        // And once merged away by the other instance, a record of her lands on the
        // survivor, not on the lead this server saw live.
        let (status, survivor) = srv.create_lead(json!({ "first_name": "Orla", "last_name": "Shaw",
            "phone": "+353 1 555 0142", "source": "Trade show" })).await;
        assert_eq!(status, StatusCode::CREATED, "{survivor}");
        let survivor_id = survivor["lead"]["id"].as_str().unwrap().to_string();
        other.merge_leads(&leadline_domain::access::LeadScope::All, &survivor_id, &id, "test").await.unwrap();
        let (status, third) = srv.create_lead(json!({ "first_name": "Orla", "last_name": "Brennick",
            "email": "orla@brennick-design.ie", "source": "Postcard" })).await;
        assert_eq!(status, StatusCode::OK, "{third}");
        assert_eq!(third["outcome"], "merged", "{third}");
        assert_eq!(third["lead"]["id"], survivor_id.as_str(), "{third}");
    }
}
