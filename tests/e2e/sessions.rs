//! The demo's browser sessions (`examples/demo/sessions.rs`): created only
//! for a page with a form, bounded in number (anonymous sessions give way
//! first), forgotten when idle, checked against their own CSRF token, and
//! carried in a cookie that is `Secure` behind an https issuer.

use serde_json::{Value, json};

use crate::harness::{self, ALICE_PASSWORD, CALLBACK, Framework, Page, Server, Session};
use crate::seed_v2::seed;

/// A valid request of `conf-basic` (the v2 fixture): it shows the login page.
fn login_url(server: &Server) -> String {
    format!(
        "{}/authorize?response_type=code&client_id=conf-basic&redirect_uri={}&scope=read\
         &state=s&code_challenge={}&code_challenge_method=S256",
        server.base,
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
}

/// The `Set-Cookie` values of a cookieless GET.
async fn set_cookies(url: &str) -> (u16, Vec<String>) {
    let resp = harness::http_client().get(url).send().await.unwrap();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (resp.status().as_u16(), cookies)
}

fn hidden(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker).unwrap() + marker.len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_owned()
}

async fn login_with_csrf(session: &Session, page: &Page, csrf: &str) -> Page {
    let resume = hidden(page, "resume");
    session
        .post(
            "/login",
            &[
                ("csrf", csrf),
                ("resume", &resume),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await
}

fn is_login_page(page: &Page) -> bool {
    page.status == 200 && page.body.contains("name=\"password\"")
}

#[tokio::test]
async fn a_session_only_for_a_page_with_a_form_and_secure_behind_https() {
    // covers: AZ-03
    // issue 15 finding 7
    let server = Server::start_seeded(Framework::Axum, seed, &[]).await;
    // An error page and an error redirect store nothing and set no cookie.
    let (status, cookies) = set_cookies(&format!(
        "{}/authorize?response_type=code&client_id=ghost",
        server.base
    ))
    .await;
    assert_eq!(status, 400);
    assert!(cookies.is_empty(), "{cookies:?}");
    let (status, cookies) = set_cookies(&login_url(&server).replace("code_challenge=", "x=")).await;
    assert_eq!(status, 302, "no PKCE: an error redirect");
    assert!(cookies.is_empty(), "{cookies:?}");
    // The login page needs a CSRF token, so a session.
    let (status, cookies) = set_cookies(&login_url(&server)).await;
    assert_eq!(status, 200);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(
        cookies[0].starts_with("sid=") && cookies[0].ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "plain http issuer: no Secure: {cookies:?}"
    );
    drop(server);

    // Behind a TLS-terminating proxy: the issuer is https, the cookie Secure.
    let https = |base: &str| -> Value {
        let mut s = seed(base);
        s["issuer"] = json!(base.replace("http://", "https://"));
        s
    };
    let server = Server::start_seeded(Framework::Axum, https, &[]).await;
    let (status, cookies) = set_cookies(&login_url(&server)).await;
    assert_eq!(status, 200);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(
        cookies[0].contains("; HttpOnly") && cookies[0].contains("; SameSite=Lax"),
        "{cookies:?}"
    );
    assert!(cookies[0].ends_with("; Secure"), "{cookies:?}");
}

#[tokio::test]
async fn the_session_map_is_capped_and_anonymous_sessions_give_way_first() {
    // issue 15 finding 7
    let server = Server::start_seeded(Framework::Axum, seed, &["--max-sessions", "2"]).await;
    let url = login_url(&server);
    // A logs in (and stays on the consent page).
    let a = Session::new(&server);
    let consent = a.login_on(&a.get(&url).await).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    // B and C open the login page: C's session pushes out B's, not A's.
    let b = Session::new(&server);
    let b_page = b.get(&url).await;
    let c = Session::new(&server);
    let c_page = c.get(&url).await;
    assert!(is_login_page(&b_page) && is_login_page(&c_page));
    let r = b.submit_login(&b_page.body, "alice", ALICE_PASSWORD).await;
    assert_eq!(r.status, 403, "B's session was evicted: {}", r.body);
    let r = c.submit_login(&c_page.body, "alice", ALICE_PASSWORD).await;
    assert_eq!(r.status, 200, "C's session is there: {}", r.body);
    // Two logged-in sessions; A is used last, so a new one pushes out C.
    assert!(!is_login_page(&a.get(&url).await), "A is still logged in");
    let d = Session::new(&server);
    assert!(is_login_page(&d.get(&url).await));
    assert!(!is_login_page(&a.get(&url).await), "A is still logged in");
    assert!(is_login_page(&c.get(&url).await), "C was evicted");
}

#[tokio::test]
async fn an_idle_session_expires() {
    // issue 15 finding 7
    let server = Server::start_seeded(Framework::Axum, seed, &["--session-idle", "1"]).await;
    let s = Session::new(&server);
    let page = s.get(&login_url(&server)).await;
    assert!(is_login_page(&page));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = s.submit_login(&page.body, "alice", ALICE_PASSWORD).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn only_the_sessions_own_csrf_token_is_accepted() {
    // issue 15 finding 7
    let server = Server::start_seeded(Framework::Axum, seed, &[]).await;
    let url = login_url(&server);
    let s = Session::new(&server);
    let page = s.get(&url).await;
    let other = Session::new(&server);
    let other_page = other.get(&url).await;
    let csrf = hidden(&page, "csrf");
    let mut last_changed = csrf.clone();
    let flipped = if last_changed.ends_with('A') {
        'B'
    } else {
        'A'
    };
    last_changed.pop();
    last_changed.push(flipped);
    for wrong in [
        last_changed.as_str(),
        &csrf[..csrf.len() - 1],
        "",
        &hidden(&other_page, "csrf"),
    ] {
        let r = login_with_csrf(&s, &page, wrong).await;
        assert_eq!(r.status, 403, "csrf {wrong:?}: {}", r.body);
    }
    let r = login_with_csrf(&s, &page, &csrf).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
