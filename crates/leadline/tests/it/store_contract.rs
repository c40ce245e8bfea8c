//! The storage contract both backends must honour.

use crate::backend_tests;
use crate::harness::*;
use leadline_domain::normalize::{DataFlag, NormalizedLead};
use leadline_store::leads::{self, LeadRecord};
use leadline_store::Backend;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_end_with_the_same_tables_and_columns() {
    let sqlite = TestApp::start(Backend::Sqlite).await.unwrap();
    let Some(postgres) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let a = sqlite.app.db.schema().await.unwrap();
    let b = postgres.app.db.schema().await.unwrap();
    assert!(a.len() >= 14, "{a:?}");
    assert_eq!(a, b);
}

backend_tests! {
    async fn every_lead_column_round_trips(t: TestApp) {
        let mut custom = BTreeMap::new();
        custom.insert("emoji 🚀".to_string(), "名前 \"quoted\" \n newline".to_string());
        let lead = LeadRecord {
            id: leadline_store::new_id(),
            fields: NormalizedLead {
                first_name: Some("Zoé".into()), last_name: Some("O'Brien".into()), title: Some("CEO".into()),
                email: Some("Zoe@example.com".into()), email_key: Some("zoe@example.com".into()),
                phone: Some("call after 6pm".into()), phone_valid: false,
                company: Some("Ünïcode & Co".into()), company_key: Some("unicode and".into()),
                website: Some("https://example.com".into()), domain: Some("example.com".into()),
                street: Some("1 Rue de l'Église".into()), postal_code: Some("75001".into()), city: Some("Paris".into()),
                region: Some("Île-de-France".into()), country: Some("FR".into()), date_of_birth: Some("1980-02-29".into()),
                custom, flags: vec![DataFlag::PhoneUnparseable],
            },
            stage: "new".into(), account_id: None, source_id: None, campaign_id: None,
            possible_duplicate_of: Some("01ABC".into()), merged_into: None,
            created_at: i64::MAX / 2, updated_at: -1,
        };
        let mut conn = t.app.db.acquire().await.unwrap();
        leads::insert_many(&mut conn, std::slice::from_ref(&lead)).await.unwrap();
        assert_eq!(leads::get(&mut conn, &lead.id).await.unwrap(), Some(lead.clone()));
        let mut changed = lead.clone();
        changed.fields = NormalizedLead { email: Some("x@y.co".into()), ..Default::default() };
        changed.fields.phone_valid = true;
        leads::update(&mut conn, &changed).await.unwrap();
        assert_eq!(leads::get(&mut conn, &lead.id).await.unwrap(), Some(changed));
        let keys = vec![("e:x@y.co".to_string(), lead.id.clone()), ("e:x@y.co".to_string(), lead.id.clone())];
        leads::insert_match_keys(&mut conn, &keys).await.unwrap();
        let found = leads::find_by_match_keys(&mut conn, &["e:x@y.co".to_string(), "nope".to_string()], |_, _| true).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found["e:x@y.co"], vec![lead.id.clone()]);
        // A block over the caller's limit is counted, not transferred.
        let others: Vec<LeadRecord> = (0..2).map(|_| LeadRecord { id: leadline_store::new_id(), ..lead.clone() }).collect();
        leads::insert_many(&mut conn, &others).await.unwrap();
        let crowd: Vec<(String, String)> = std::iter::once(&lead).chain(&others).map(|l| ("n:S530:SW1A1AA".to_string(), l.id.clone())).collect();
        leads::insert_match_keys(&mut conn, &crowd).await.unwrap();
        let keys = ["n:S530:SW1A1AA".to_string(), "e:x@y.co".to_string()];
        let found = leads::find_by_match_keys(&mut conn, &keys, |_, size| size <= 2).await.unwrap();
        assert_eq!(found.keys().collect::<Vec<_>>(), vec!["e:x@y.co"]);
        let found = leads::find_by_match_keys(&mut conn, &keys, |_, size| size <= 3).await.unwrap();
        assert_eq!(found["n:S530:SW1A1AA"].len(), 3);
    }

    async fn migrations_are_idempotent(t: TestApp) {
        t.app.db.migrate().await.unwrap();
        t.app.db.migrate().await.unwrap();
        let db = leadline_store::Db::connect(&t.url).await.unwrap();
        db.migrate().await.unwrap();
        assert_eq!(db.backend(), t.backend);
    }

    async fn demo_data_loads_once_through_the_pipeline(t: TestApp) {
        let summary = t.app.load_demo(7, 400).await.unwrap();
        let leadline_service::demo::DemoSummary::Loaded { captures, created, merged, campaigns, .. } = summary else {
            panic!("demo should load into an empty database: {summary:?}")
        };
        assert_eq!(captures, 400);
        assert!(merged >= 10, "the demo has repeat captures that merge: {merged}");
        assert!(campaigns >= 11);
        let mut conn = t.app.db.acquire().await.unwrap();
        assert_eq!(leads::count(&mut conn).await.unwrap() as usize, created);
        let campaigns = t.app.list_campaigns().await.unwrap();
        let channels: std::collections::BTreeSet<String> = campaigns.iter().map(|c| c.channel.clone()).collect();
        assert_eq!(channels.len(), 11, "every channel is represented: {channels:?}");
        assert!(campaigns.iter().all(|c| c.cost_cents.is_some()));
        assert!(matches!(t.app.load_demo(7, 400).await.unwrap(), leadline_service::demo::DemoSummary::Skipped { .. }));
    }
}
