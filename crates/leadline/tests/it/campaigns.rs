//! Campaign cost and dates are set through the API, validated, by marketing.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

backend_tests! {
    async fn campaigns_carry_validated_cost_and_dates(srv: TestServer) {
        let (status, c) = srv.send(srv.post("/api/v1/campaigns").json(&json!({
            "name": "Expo 2026", "source": "Trade shows", "channel": "trade_show",
            "cost": "12500.50", "currency": "eur", "starts_on": "2026-11-01", "ends_on": "2026-11-03"
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        assert_eq!(c["cost_cents"], 1_250_050);
        assert_eq!(c["currency"], "EUR");
        assert_eq!((c["starts_on"].as_str(), c["ends_on"].as_str()), (Some("2026-11-01"), Some("2026-11-03")));
        assert_eq!(c["channel"], "trade_show");
        let id = c["id"].as_str().unwrap();
        let (_, sources) = srv.send(srv.get("/api/v1/sources")).await;
        assert_eq!(sources[0]["name"], "Trade shows");
        assert_eq!(sources[0]["channel"], "trade_show");

        // The source's channel is the default; minor units are taken as they are.
        let (status, c2) = srv.send(srv.post("/api/v1/campaigns").json(&json!({
            "name": "Tokyo booth", "source": "Trade shows", "cost_cents": 450000, "currency": "JPY"
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{c2}");
        assert_eq!(c2["channel"], "trade_show");
        let (status, body) = srv.send(srv.post("/api/v1/campaigns").json(&json!({ "name": "Expo 2026", "source": "Trade shows" }))).await;
        assert_error(status, &body, 409, "campaign_exists");

        // PATCH changes what it names; null clears.
        let (status, patched) = srv.send(srv.patch(&format!("/api/v1/campaigns/{id}")).json(&json!({ "ends_on": "2026-11-05", "cost": 13000 }))).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["cost_cents"], 1_300_000);
        assert_eq!(patched["ends_on"], "2026-11-05");
        assert_eq!(patched["name"], "Expo 2026");
        let (status, patched) = srv.send(srv.patch(&format!("/api/v1/campaigns/{id}")).json(&json!({ "ends_on": null, "cost_cents": null }))).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert!(patched["ends_on"].is_null() && patched["cost_cents"].is_null(), "{patched}");
        assert_eq!(patched["currency"], "EUR");
        let (_, got) = srv.send(srv.get(&format!("/api/v1/campaigns/{id}"))).await;
        assert_eq!(got, patched);
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/campaigns/{id}")).json(&json!({ "name": "Tokyo booth" }))).await;
        assert_error(status, &body, 409, "campaign_exists");

        // Every problem is named, and nothing is stored.
        for (body, field, code) in [
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "cost": "10.5" }), "currency", "required"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "cost_cents": 100 }), "currency", "required"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "cost": "10", "currency": "EURO" }), "currency", "unknown_currency"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "cost": "10.555", "currency": "EUR" }), "cost", "invalid_amount"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "cost": "1,000", "currency": "EUR" }), "cost", "invalid_amount"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "cost": "5", "cost_cents": 5, "currency": "EUR" }), "cost", "conflicting_fields"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "cost_cents": -5, "currency": "EUR" }), "cost_cents", "out_of_range"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "starts_on": "2026-11-02", "ends_on": "2026-11-01" }), "ends_on", "ends_before_start"),
            (json!({ "name": "X", "source": "S", "channel": "trade_show", "starts_on": "01/11/2026" }), "starts_on", "invalid_date"),
            (json!({ "name": "X", "source": "S", "channel": "fax" }), "channel", "unknown_channel"),
            (json!({ "name": "X", "source": "Brand new source" }), "channel", "required"),
            (json!({ "name": "", "source": "S", "channel": "sem" }), "name", "invalid_length"),
            (json!({ "source": "S", "channel": "sem" }), "name", "required"),
        ] {
            let (status, answer) = srv.send(srv.post("/api/v1/campaigns").json(&body)).await;
            let error = assert_error(status, &answer, 422, code);
            assert_eq!(error["field"], field, "{body}: {answer}");
        }
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/campaigns/{id}")).json(&json!({ "starts_on": "2026-11-10", "ends_on": "2026-11-09" }))).await;
        assert_error(status, &body, 422, "ends_before_start");
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/campaigns/{id}")).json(&json!({ "currency": null, "cost_cents": 5 }))).await;
        assert_error(status, &body, 422, "required");
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/campaigns/{id}")).json(&json!({ "budget": 5 }))).await;
        assert_error(status, &body, 422, "invalid_body");
        let (status, body) = srv.send(srv.patch("/api/v1/campaigns/01NOSUCH").json(&json!({ "name": "Y" }))).await;
        assert_error(status, &body, 404, "campaign_not_found");
        let (_, campaigns) = srv.send(srv.get("/api/v1/campaigns")).await;
        assert_eq!(campaigns.as_array().unwrap().len(), 2, "{campaigns}");
        let (_, sources) = srv.send(srv.get("/api/v1/sources")).await;
        assert_eq!(sources.as_array().unwrap().len(), 1, "a refused campaign creates no source: {sources}");

        // Marketers and admins set campaigns; managers and reps read them.
        for (role, expected) in [("marketer", 201), ("manager", 403), ("rep", 403)] {
            let user = srv.user(&format!("{role}@example.com"), role, json!({})).await;
            let token = srv.token_for(&user).await;
            let (status, body) = srv.send(srv.client.post(srv.url("/api/v1/campaigns")).bearer_auth(&token)
                .json(&json!({ "name": format!("By {role}"), "source": "Trade shows" }))).await;
            assert_eq!(status.as_u16(), expected, "{role}: {body}");
            let (status, _) = srv.send(srv.client.get(srv.url("/api/v1/campaigns")).bearer_auth(&token)).await;
            assert_eq!(status, StatusCode::OK);
        }
    }
}
