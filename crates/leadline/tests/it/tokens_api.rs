//! `/api/v1/tokens`: list, create and revoke; a revoked token is refused at once.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<String> {
    list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

backend_tests! {
    async fn tokens_are_listed_created_and_revoked(srv: TestServer) {
        let rep = srv.user("rep@example.com", "rep", json!({})).await;
        let other = srv.user("other@example.com", "rep", json!({})).await;
        let rep_token = srv.token_for(&rep).await;
        let other_token = srv.token_for(&other).await;
        let as_rep = |m: reqwest::Method, path: &str| srv.client.request(m, srv.url(path)).bearer_auth(&rep_token);

        // A rep creates a token for themselves; the secret is shown in this answer only.
        let (status, created) = srv.send(as_rep(reqwest::Method::POST, "/api/v1/tokens").json(&json!({ "name": "laptop" }))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("ll_"));
        assert_eq!(created["token"]["user_id"], rep.as_str());
        let new_id = created["token"]["id"].as_str().unwrap().to_string();
        let (status, _) = srv.send(srv.client.get(srv.url("/api/v1/leads")).bearer_auth(&secret)).await;
        assert_eq!(status, StatusCode::OK);
        // …but not for someone else.
        let (status, body) = srv.send(as_rep(reqwest::Method::POST, "/api/v1/tokens").json(&json!({ "name": "x", "user_id": other }))).await;
        assert_error(status, &body, 403, "forbidden");
        let (status, body) = srv.send(as_rep(reqwest::Method::POST, "/api/v1/tokens").json(&json!({ "name": "" }))).await;
        assert_error(status, &body, 422, "invalid_name");

        // The rep lists their own two tokens; no list ever shows a secret or a hash.
        let (status, mine) = srv.send(as_rep(reqwest::Method::GET, "/api/v1/tokens")).await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!(ids(&mine).len(), 2, "{mine}");
        assert!(ids(&mine).contains(&new_id));
        let text = mine.to_string();
        assert!(!text.contains(&secret) && !text.contains("hash") && !text.contains("secret"), "{text}");
        // The admin sees everyone's: the harness's, the rep's two, the other rep's.
        let (_, all) = srv.send(srv.get("/api/v1/tokens")).await;
        assert_eq!(ids(&all).len(), 4, "{all}");
        let (status, made) = srv.send(srv.post("/api/v1/tokens").json(&json!({ "name": "for other", "user_id": other }))).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["token"]["user_id"], other.as_str());

        // Someone else's token is not the rep's to revoke, nor to know of.
        let (_, theirs) = srv.send(srv.client.get(srv.url("/api/v1/tokens")).bearer_auth(&other_token)).await;
        assert_eq!(ids(&theirs).len(), 2, "{theirs}");
        let (_, them) = srv.send(srv.client.get(srv.url("/api/v1/users/me")).bearer_auth(&other_token)).await;
        let their_id = them["token"]["id"].as_str().unwrap().to_string();
        assert!(ids(&theirs).contains(&their_id));
        let (status, body) = srv.send(as_rep(reqwest::Method::DELETE, &format!("/api/v1/tokens/{their_id}"))).await;
        assert_error(status, &body, 404, "token_not_found");
        let (status, _) = srv.send(srv.client.get(srv.url("/api/v1/leads")).bearer_auth(&other_token)).await;
        assert_eq!(status, StatusCode::OK, "still live");

        // Revoking is immediate, and revoking again changes nothing.
        let (status, revoked) = srv.send(as_rep(reqwest::Method::DELETE, &format!("/api/v1/tokens/{new_id}"))).await;
        assert_eq!(status, StatusCode::OK, "{revoked}");
        assert_eq!(revoked["token"]["revoked_at"], srv.app.now());
        let (status, body) = srv.send(srv.client.get(srv.url("/api/v1/leads")).bearer_auth(&secret)).await;
        assert_error(status, &body, 401, "unauthorized");
        srv.clock.advance(1000);
        let (status, again) = srv.send(as_rep(reqwest::Method::DELETE, &format!("/api/v1/tokens/{new_id}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["token"]["revoked_at"], revoked["token"]["revoked_at"]);
        // An admin revokes anyone's.
        let (status, _) = srv.send(srv.client.delete(srv.url(&format!("/api/v1/tokens/{their_id}"))).bearer_auth(&srv.token)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = srv.send(srv.client.get(srv.url("/api/v1/leads")).bearer_auth(&other_token)).await;
        assert_error(status, &body, 401, "unauthorized");
        let (status, body) = srv.send(srv.client.delete(srv.url("/api/v1/tokens/01NOSUCHTOKEN")).bearer_auth(&srv.token)).await;
        assert_error(status, &body, 404, "token_not_found");
        // A token can revoke itself.
        let (status, _) = srv.send(as_rep(reqwest::Method::GET, "/api/v1/tokens")).await;
        assert_eq!(status, StatusCode::OK);
        let (_, me) = srv.send(as_rep(reqwest::Method::GET, "/api/v1/users/me")).await;
        let own = me["token"]["id"].as_str().unwrap().to_string();
        let (status, _) = srv.send(as_rep(reqwest::Method::DELETE, &format!("/api/v1/tokens/{own}"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = srv.send(as_rep(reqwest::Method::GET, "/api/v1/tokens")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
