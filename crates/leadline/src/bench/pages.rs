//! `leadline bench pages`: server time of the web app's busiest screens — a rep's
//! inbox, a lead's workspace and a filtered list — on a database holding many leads,
//! timed over loopback with a signed-in session (sequential requests, so each figure
//! is one request's own time).

use super::{fresh_app, import_csv, print_latencies, start_server};
use leadline_domain::access::LeadScope;
use leadline_domain::demo::synthetic_import_csv;
use leadline_service::users::UserInput;
use serde_json::json;
use std::time::Instant;

const PASSWORD: &str = "bench password for the pages";

pub async fn run(
    db: &Option<String>,
    leads: usize,
    requests: usize,
    inbox_leads: usize,
) -> anyhow::Result<()> {
    let (app, _temp) = fresh_app(db).await?;
    let t0 = Instant::now();
    let csv = synthetic_import_csv(9_000_001, leads);
    let job = import_csv(&app, csv.text, "Preload").await?;
    println!(
        "preloaded {} leads in {:.1}s",
        job.created_count,
        t0.elapsed().as_secs_f64()
    );
    let rep: UserInput = serde_json::from_value(json!({
        "email": "rep@bench.example.com", "name": "Bench Rep", "role": "rep",
        "password": PASSWORD, "working_hours": super::round_the_clock(), "capacity": 100_000
    }))?;
    let rep = app.create_user(rep).await.map_err(crate::describe)?;
    let admin: UserInput = serde_json::from_value(json!({
        "email": "admin@bench.example.com", "name": "Bench Admin", "role": "admin", "password": PASSWORD
    }))?;
    app.create_user(admin).await.map_err(crate::describe)?;
    // A busy rep: `inbox_leads` of the newest leads are theirs.
    let request = leadline_service::lead_list::ListRequest::default();
    let mut ids = Vec::new();
    let mut page = app
        .lead_list(&LeadScope::All, &rep.id, "", &request, 200)
        .await
        .map_err(crate::describe)?;
    loop {
        ids.extend(page.rows.iter().map(|r| r.id.clone()));
        match (&page.next, ids.len() < inbox_leads) {
            (Some(next), true) => {
                let next = leadline_service::lead_list::ListRequest {
                    cursor: next.clone(),
                    ..Default::default()
                };
                page = app
                    .lead_list(&LeadScope::All, &rep.id, "", &next, 200)
                    .await
                    .map_err(crate::describe)?;
            }
            _ => break,
        }
    }
    ids.truncate(inbox_leads);
    for id in &ids {
        app.assign_lead(&LeadScope::All, id, &rep.id, "bench")
            .await
            .map_err(crate::describe)?;
    }
    println!("gave {} leads to the rep", ids.len());
    let (addr, _server) = start_server(&app).await?;
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let sign_in = |email: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client
                .post(format!("{base}/login"))
                .form(&[("email", email), ("password", PASSWORD)])
                .send()
                .await?;
            let cookie = r
                .headers()
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("sign-in of {email} failed: {}", r.status()))?;
            anyhow::Ok(cookie)
        }
    };
    let rep_cookie = sign_in("rep@bench.example.com").await?;
    let admin_cookie = sign_in("admin@bench.example.com").await?;
    let sources = app.list_sources().await.map_err(crate::describe)?;
    let source = sources.first().map(|s| s.id.clone()).unwrap_or_default();
    let pages: Vec<(&str, String, &str)> = vec![
        ("inbox (rep)", "/".to_string(), rep_cookie.as_str()),
        (
            "lead workspace (admin)",
            format!("/leads/{}", ids.first().cloned().unwrap_or_default()),
            admin_cookie.as_str(),
        ),
        (
            "filtered list: stage + source, newest (admin)",
            format!("/leads?stage=new&source={source}"),
            admin_cookie.as_str(),
        ),
        (
            "filtered list: name search (admin)",
            "/leads?q=mar".to_string(),
            admin_cookie.as_str(),
        ),
        (
            "filtered list: score sort (admin)",
            "/leads?sort=score".to_string(),
            admin_cookie.as_str(),
        ),
    ];
    for (what, path, cookie) in pages {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(requests);
        for n in 0..requests + 5 {
            let t = Instant::now();
            let r = client.get(&url).header("cookie", cookie).send().await?;
            let status = r.status();
            let body = r.bytes().await?;
            if !status.is_success() {
                anyhow::bail!("{what}: {path} answered {status}");
            }
            // The first few warm the caches, as a working server's would be.
            if n >= 5 {
                times.push(t.elapsed());
            }
            if n == 0 {
                println!("{what}: {} bytes", body.len());
            }
        }
        print_latencies(what, &mut times);
    }
    Ok(())
}
