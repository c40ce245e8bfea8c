//! The web app's sign-in pages over real HTTP: first-run setup, sign-in and out, the
//! session cookie's flags, CSRF and cross-site refusals, the security headers, the
//! password change that signs out other browsers, and user text shown as text.

use crate::backend_tests;
use crate::harness::*;
use leadline_service::users::UserInput;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

const PASSWORD: &str = "correct horse battery staple";

/// What a page answer holds that the tests look at.
struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Option<String>,
    csp: Option<String>,
    body: String,
}

async fn page(request: reqwest::RequestBuilder) -> Page {
    let response = request.send().await.expect("request");
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (status, location, set_cookie, csp) = (
        response.status(),
        header(LOCATION),
        header(SET_COOKIE),
        header(CONTENT_SECURITY_POLICY),
    );
    Page {
        status,
        location,
        set_cookie,
        csp,
        body: response.text().await.unwrap_or_default(),
    }
}

/// The session cookie pair (`leadline_session=…`) out of a Set-Cookie header.
fn cookie_of(p: &Page) -> String {
    let set = p.set_cookie.as_deref().expect("a Set-Cookie header");
    set.split(';').next().unwrap().to_string()
}

impl TestServer {
    fn form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .header("origin", self.base.clone())
            .form(fields)
    }

    fn with_cookie(&self, path: &str, cookie: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).header("cookie", cookie)
    }

    async fn sign_in(&self, email: &str, password: &str) -> String {
        let p = page(self.form("/login", &[("email", email), ("password", password)])).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        cookie_of(&p)
    }
}

backend_tests! {
    async fn first_run_setup_creates_the_admin_and_signs_them_in(srv: TestServer) {
        // No one can sign in yet: the sign-in page sends people to setup.
        let p = page(srv.client.get(srv.url("/login"))).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(p.location.as_deref(), Some("/setup"));
        let p = page(srv.client.get(srv.url("/setup"))).await;
        assert_eq!(p.status, StatusCode::OK);
        let csp = p.csp.expect("a CSP");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(p.body.contains("href=\"/assets/app.css\""));

        // Mistakes come back beside their fields, the values kept.
        let p = page(srv.form("/setup", &[("name", "Ada"), ("email", "ada@example.com"), ("password", PASSWORD), ("confirm", "something else")])).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.body.contains("The two passwords differ."), "{}", p.body);
        assert!(p.body.contains("value=\"ada@example.com\""));
        let p = page(srv.form("/setup", &[("name", ""), ("email", "not-an-email"), ("password", "short"), ("confirm", "short")])).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.body.contains("id=\"email-error\"") && p.body.contains("id=\"password-error\""), "{}", p.body);

        // From another site: refused.
        let forged = srv.client.post(srv.url("/setup")).header("origin", "https://evil.example")
            .form(&[("name", "Eve"), ("email", "eve@example.com"), ("password", PASSWORD), ("confirm", PASSWORD)]);
        assert_eq!(page(forged).await.status, StatusCode::FORBIDDEN);

        let p = page(srv.form("/setup", &[("name", "Ada <b>Admin</b>"), ("email", "ada@example.com"), ("password", PASSWORD), ("confirm", PASSWORD)])).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(p.location.as_deref(), Some("/"), "the home page, the inbox");
        let set = p.set_cookie.clone().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
        let cookie = cookie_of(&p);
        let account = page(srv.with_cookie("/account", &cookie)).await;
        assert_eq!(account.status, StatusCode::OK);
        assert!(account.body.contains("Ada &lt;b&gt;Admin&lt;/b&gt;"), "{}", account.body);
        assert!(!account.body.contains("<b>Admin</b>"));

        // Setup is closed now.
        let p = page(srv.client.get(srv.url("/setup"))).await;
        assert_eq!(p.location.as_deref(), Some("/login"));
        let p = page(srv.form("/setup", &[("name", "Eve"), ("email", "eve@example.com"), ("password", PASSWORD), ("confirm", PASSWORD)])).await;
        assert_eq!(p.location.as_deref(), Some("/login"));
        assert!(srv.app.user_by_email("eve@example.com").await.unwrap().is_none());
    }

    async fn sign_in_and_out_with_csrf_and_a_way_back(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        srv.app.create_user(UserInput {
            email: Some("rep@example.com".into()),
            name: Some("<script>alert(1)</script>".into()),
            role: Some("rep".into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        }).await.unwrap();

        // Not signed in: sent to the sign-in page, which brings the person back.
        let p = page(srv.client.get(srv.url("/account"))).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        assert_eq!(p.location.as_deref(), Some("/login?next=%2Faccount"));
        let p = page(srv.client.get(srv.url("/login?next=%2Faccount"))).await;
        assert!(p.body.contains("name=\"next\" value=\"/account\""), "{}", p.body);
        // Another site is never a way back.
        let p = page(srv.client.get(srv.url("/login?next=%2F%2Fevil.example"))).await;
        assert!(!p.body.contains("evil.example"), "{}", p.body);

        let p = page(srv.form("/login", &[("email", "rep@example.com"), ("password", "wrong password!")])).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
        assert!(p.body.contains("do not match"), "{}", p.body);
        assert!(p.set_cookie.is_none());
        let forged = srv.client.post(srv.url("/login")).header("origin", "https://evil.example")
            .form(&[("email", "rep@example.com"), ("password", PASSWORD)]);
        assert_eq!(page(forged).await.status, StatusCode::FORBIDDEN);

        let p = page(srv.form("/login", &[("email", "rep@example.com"), ("password", PASSWORD), ("next", "/account")])).await;
        assert_eq!(p.location.as_deref(), Some("/account"));
        let cookie = cookie_of(&p);
        let account = page(srv.with_cookie("/account", &cookie)).await;
        assert_eq!(account.status, StatusCode::OK);
        assert!(account.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!account.body.contains("<script>"), "user text is escaped");
        let csrf = csrf_of(&account.body);

        // Signing out needs the session's CSRF token.
        let logout = |token: &str| srv.client.post(srv.url("/logout")).header("cookie", cookie.clone())
            .header("origin", srv.base.clone()).form(&[("csrf", token.to_string())]);
        assert_eq!(page(logout("")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(page(logout(&"0".repeat(64))).await.status, StatusCode::FORBIDDEN);
        assert_eq!(page(srv.with_cookie("/account", &cookie)).await.status, StatusCode::OK, "still signed in");
        let p = page(logout(&csrf)).await;
        assert_eq!(p.location.as_deref(), Some("/login"));
        assert_eq!(page(srv.with_cookie("/account", &cookie)).await.status, StatusCode::SEE_OTHER, "signed out");
    }

    async fn a_password_change_signs_out_other_browsers(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        let laptop = srv.sign_in("ada@example.com", PASSWORD).await;
        let phone = srv.sign_in("ada@example.com", PASSWORD).await;
        let account = page(srv.with_cookie("/account", &laptop)).await;
        let csrf = csrf_of(&account.body);
        let change = |fields: Vec<(&str, &str)>| srv.client.post(srv.url("/account/password"))
            .header("cookie", laptop.clone()).header("origin", srv.base.clone()).form(&fields);

        let p = page(change(vec![("csrf", &csrf), ("current_password", "not the password"), ("password", "a brand new passphrase"), ("confirm", "a brand new passphrase")])).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.body.contains("id=\"current_password-error\""), "{}", p.body);
        let p = page(change(vec![("csrf", &csrf), ("current_password", PASSWORD), ("password", "short"), ("confirm", "short")])).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.body.contains("id=\"password-error\""), "{}", p.body);
        let p = page(change(vec![("current_password", PASSWORD), ("password", "a brand new passphrase"), ("confirm", "a brand new passphrase")])).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "no CSRF token");
        assert_eq!(page(srv.with_cookie("/account", &phone)).await.status, StatusCode::OK);

        let p = page(change(vec![("csrf", &csrf), ("current_password", PASSWORD), ("password", "a brand new passphrase"), ("confirm", "a brand new passphrase")])).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(p.body.contains("Password changed"));
        assert_eq!(page(srv.with_cookie("/account", &laptop)).await.status, StatusCode::OK);
        assert_eq!(page(srv.with_cookie("/account", &phone)).await.status, StatusCode::SEE_OTHER);
        srv.sign_in("ada@example.com", "a brand new passphrase").await;
    }

    async fn sign_in_is_throttled_and_the_stylesheet_is_served(srv: TestServer) {
        srv.app.set_up_first_admin("ada@example.com", "Ada", PASSWORD).await.unwrap();
        for _ in 0..leadline_service::sessions::MAX_ACCOUNT_FAILURES {
            let p = page(srv.form("/login", &[("email", "ada@example.com"), ("password", "guess guess")])).await;
            assert_eq!(p.status, StatusCode::UNAUTHORIZED);
        }
        let p = page(srv.form("/login", &[("email", "ada@example.com"), ("password", PASSWORD)])).await;
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(p.body.contains("Too many failed sign-ins"), "{}", p.body);
        // Oversized and malformed bodies are refused without a session.
        let huge = "x".repeat(200_000);
        let p = page(srv.form("/login", &[("email", huge.as_str()), ("password", PASSWORD)])).await;
        assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
        let css = srv.client.get(srv.url("/assets/app.css")).send().await.unwrap();
        assert_eq!(css.status(), StatusCode::OK);
        assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
        assert!(css.text().await.unwrap().contains(":root"));
    }
}
