//! Web sign-in: sessions stored by hash, ended by sign-out, password change and
//! deactivation at once; failed attempts throttled per account and per client; the
//! first-run setup opens only while no one can sign in.

use crate::backend_tests;
use crate::harness::*;
use leadline_service::sessions::{
    SignIn, SignInOutcome, MAX_ACCOUNT_FAILURES, MAX_CLIENT_FAILURES, SESSION_IDLE_MS,
    SESSION_LIFETIME_MS, THROTTLE_WINDOW_MS,
};
use leadline_service::users::UserInput;

const PASSWORD: &str = "correct horse battery staple";

fn attempt(email: &str, password: &str, client: &str) -> SignIn {
    SignIn {
        email: email.into(),
        password: password.into(),
        client: Some(client.into()),
        user_agent: Some("test".into()),
    }
}

async fn signed_in(t: &TestApp, email: &str, password: &str) -> String {
    match t
        .app
        .sign_in(attempt(email, password, "127.0.0.1"))
        .await
        .unwrap()
    {
        SignInOutcome::SignedIn(s) => s.secret,
        other => panic!("expected a session, got {other:?}"),
    }
}

async fn user(t: &TestApp, email: &str, role: &str) -> String {
    t.app
        .create_user(UserInput {
            email: Some(email.into()),
            name: Some(email.into()),
            role: Some(role.into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .id
}

backend_tests! {
    async fn first_run_setup_opens_once_and_takes_over_the_placeholder_admin(t: TestApp) {
        assert!(t.app.setup_needed().await.unwrap());
        // API tokens made before setup belong to a placeholder admin without a password.
        let placeholder = t.app.default_admin().await.unwrap();
        assert!(t.app.setup_needed().await.unwrap());
        let weak = t.app.set_up_first_admin("ada@example.com", "Ada", "short").await;
        assert!(weak.is_err(), "a weak password is refused");
        let admin = t.app.set_up_first_admin("Ada@Example.com", "Ada", PASSWORD).await.unwrap();
        assert_eq!(admin.id, placeholder.id);
        assert_eq!(admin.email, "ada@example.com");
        assert_eq!(admin.role, "admin");
        assert!(!t.app.setup_needed().await.unwrap());
        let again = t.app.set_up_first_admin("eve@example.com", "Eve", PASSWORD).await;
        let err = again.unwrap_err().to_string();
        assert!(err.contains("administrator already"), "{err}");
        signed_in(&t, "ada@example.com", PASSWORD).await;
    }

    async fn sessions_are_stored_by_hash_and_end_on_sign_out(t: TestApp) {
        let id = user(&t, "rep@example.com", "rep").await;
        let secret = signed_in(&t, " REP@example.com ", PASSWORD).await;
        assert_eq!(secret.len(), 64);
        let who = t.app.authenticate_session(&secret).await.unwrap().expect("live session");
        assert_eq!(who.user.id, id);
        assert_eq!(who.role.to_string(), "rep");
        assert_eq!(who.session.csrf_token.len(), 64);
        assert_ne!(who.session.token_hash, secret, "only the hash is stored");
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
            .fetch_all(t.app.db.pool())
            .await
            .unwrap();
        assert_eq!(stored, vec![who.session.token_hash.clone()]);
        assert!(!stored.iter().any(|h| h == &secret));
        // Garbage and near misses open nothing.
        for bad in ["", "x", &secret[..63], &format!("{}0", &secret[..63]), &"g".repeat(64)] {
            if bad != secret {
                assert!(t.app.authenticate_session(bad).await.unwrap().is_none(), "{bad:?}");
            }
        }
        t.app.sign_out(&secret).await.unwrap();
        assert!(t.app.authenticate_session(&secret).await.unwrap().is_none());
        t.app.sign_out(&secret).await.unwrap();
    }

    async fn sessions_expire_when_idle_and_after_their_lifetime(t: TestApp) {
        user(&t, "rep@example.com", "rep").await;
        let idle = signed_in(&t, "rep@example.com", PASSWORD).await;
        t.clock.advance(SESSION_IDLE_MS - 1000);
        assert!(t.app.authenticate_session(&idle).await.unwrap().is_some(), "used just in time");
        // Use moved the idle expiry forward.
        t.clock.advance(SESSION_IDLE_MS - 1000);
        assert!(t.app.authenticate_session(&idle).await.unwrap().is_some());
        t.clock.advance(SESSION_IDLE_MS + 1);
        assert!(t.app.authenticate_session(&idle).await.unwrap().is_none(), "idle too long");

        let busy = signed_in(&t, "rep@example.com", PASSWORD).await;
        let mut used = 0;
        while used + SESSION_IDLE_MS / 2 < SESSION_LIFETIME_MS {
            t.clock.advance(SESSION_IDLE_MS / 2);
            used += SESSION_IDLE_MS / 2;
            assert!(t.app.authenticate_session(&busy).await.unwrap().is_some());
        }
        t.clock.advance(SESSION_IDLE_MS / 2);
        assert!(t.app.authenticate_session(&busy).await.unwrap().is_none(), "past its lifetime");
        assert!(t.app.prune_sessions().await.unwrap() >= 2);
    }

    async fn deactivation_and_password_changes_end_sessions_at_once(t: TestApp) {
        let id = user(&t, "rep@example.com", "rep").await;
        let laptop = signed_in(&t, "rep@example.com", PASSWORD).await;
        let phone = signed_in(&t, "rep@example.com", PASSWORD).await;
        let me = t.app.authenticate_session(&laptop).await.unwrap().unwrap();

        // Changing one's own password needs the current one and keeps this session only.
        let wrong = t.app.change_password(&me, "not it at all!!", "a brand new passphrase").await;
        assert!(wrong.is_err());
        assert!(t.app.authenticate_session(&phone).await.unwrap().is_some());
        t.app.change_password(&me, PASSWORD, "a brand new passphrase").await.unwrap();
        assert!(t.app.authenticate_session(&laptop).await.unwrap().is_some());
        assert!(t.app.authenticate_session(&phone).await.unwrap().is_none());
        assert!(matches!(
            t.app.sign_in(attempt("rep@example.com", PASSWORD, "127.0.0.1")).await.unwrap(),
            SignInOutcome::Refused
        ));
        let phone = signed_in(&t, "rep@example.com", "a brand new passphrase").await;

        // An admin deactivating the user ends every session.
        t.app.update_user(&id, UserInput { active: Some(false), ..Default::default() }).await.unwrap();
        assert!(t.app.authenticate_session(&laptop).await.unwrap().is_none());
        assert!(t.app.authenticate_session(&phone).await.unwrap().is_none());
        assert!(matches!(
            t.app.sign_in(attempt("rep@example.com", "a brand new passphrase", "127.0.0.1")).await.unwrap(),
            SignInOutcome::Refused
        ));
    }

    async fn failed_sign_ins_are_throttled_per_account_and_per_client(t: TestApp) {
        user(&t, "rep@example.com", "rep").await;
        user(&t, "other@example.com", "rep").await;
        for _ in 0..MAX_ACCOUNT_FAILURES {
            let o = t.app.sign_in(attempt("rep@example.com", "guess guess guess", "10.0.0.1")).await.unwrap();
            assert!(matches!(o, SignInOutcome::Refused), "{o:?}");
        }
        // Now even the right password is refused for a while, from any client.
        let o = t.app.sign_in(attempt("Rep@Example.com", PASSWORD, "10.0.0.2")).await.unwrap();
        let SignInOutcome::Throttled { retry_after_ms } = o else { panic!("{o:?}") };
        assert!(retry_after_ms > 0 && retry_after_ms <= THROTTLE_WINDOW_MS, "{retry_after_ms}");
        // Another account is not affected.
        signed_in(&t, "other@example.com", PASSWORD).await;
        // Once the window has passed, the right password works and clears the count.
        t.clock.advance(THROTTLE_WINDOW_MS + 1);
        signed_in(&t, "rep@example.com", PASSWORD).await;

        // One client guessing across many accounts is throttled too.
        for i in 0..MAX_CLIENT_FAILURES {
            let o = t.app.sign_in(attempt(&format!("nobody{i}@example.com"), "guess guess guess", "10.0.0.9")).await.unwrap();
            assert!(matches!(o, SignInOutcome::Refused), "{o:?}");
        }
        let o = t.app.sign_in(attempt("other@example.com", PASSWORD, "10.0.0.9")).await.unwrap();
        assert!(matches!(o, SignInOutcome::Throttled { .. }), "{o:?}");
        let o = t.app.sign_in(attempt("other@example.com", PASSWORD, "10.0.0.10")).await.unwrap();
        assert!(matches!(o, SignInOutcome::SignedIn(_)), "{o:?}");
    }

    async fn demo_people_get_one_kept_password_and_can_sign_in(t: TestApp) {
        assert_eq!(t.app.demo_sign_ins().await.unwrap(), None, "no demo team, no demo sign-ins");
        t.app.load_demo(42, 60).await.unwrap();
        let first = t.app.demo_sign_ins().await.unwrap().expect("the demo team is there");
        let roles: Vec<&str> = first.people.iter().map(|(_, _, r)| r.as_str()).collect();
        assert_eq!(&roles[..2], ["admin", "marketer"]);
        assert!(roles.contains(&"manager") && roles.contains(&"rep"));
        assert_eq!(first.password.len(), 16);
        let users = t.app.list_users().await.unwrap().len();
        // The next start prints the same password and adds no one.
        let again = t.app.demo_sign_ins().await.unwrap().unwrap();
        assert_eq!(again, first);
        assert_eq!(t.app.list_users().await.unwrap().len(), users);
        for (email, _, _) in &first.people {
            signed_in(&t, email, &first.password).await;
        }
        assert!(!t.app.setup_needed().await.unwrap());
    }

    async fn unknown_accounts_and_users_without_a_password_cannot_sign_in(t: TestApp) {
        let placeholder = t.app.default_admin().await.unwrap();
        for (email, password) in [
            (placeholder.email.as_str(), ""),
            (placeholder.email.as_str(), PASSWORD),
            ("nobody@example.com", PASSWORD),
            ("", ""),
            ("<script>@example.com", "' OR 1=1 --"),
        ] {
            let o = t.app.sign_in(attempt(email, password, "127.0.0.1")).await.unwrap();
            assert!(matches!(o, SignInOutcome::Refused), "{email}: {o:?}");
        }
    }
}
