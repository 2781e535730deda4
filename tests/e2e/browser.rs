//! The demo's login, consent, error and logout pages in a real browser: headless
//! Chromium (Debian's `chromium`), driven through `chromedriver` (Debian's
//! `chromium-driver`) by the `fantoccini` WebDriver client. The browser
//! fills in and submits the forms as a person would; what it shows is
//! checked, and a screenshot of each page is taken. With
//! `PORTCULLIS_UPDATE_SCREENSHOTS=1` the screenshots are written to
//! `docs/images/` (shown in `docs/openid-connect.md`).
//!
//! Without `chromium` or `chromedriver` on the `PATH` the test is skipped
//! with a message, except under `CI=true` (`.ci/run` installs both), where
//! that is a failure. Each test starts its own chromedriver on a free port,
//! in a process group of its own that a guard kills on drop, so no browser
//! process outlives the test, even a failed one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::harness::{ALICE_PASSWORD, Framework, Server};

/// A fixed PKCE challenge (RFC 7636 Appendix B): the browser test never
/// redeems the code.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// How long any one wait for the browser may take.
const WAIT: Duration = Duration::from_secs(20);

/// `name` on the `PATH`, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// chromedriver and the browser it drives, in one process group; killed
/// (the whole group: chromedriver, Chromium and its helpers) and their
/// profile directory removed on drop, whatever happened.
struct Chromedriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (`process_group(0)`).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Starts chromedriver and opens a headless Chromium session, or says why
/// not: `None` (skip) when the programs are missing outside CI.
async fn browser() -> Option<(Chromedriver, Client)> {
    use std::os::unix::process::CommandExt;
    let (chromium, driver) = match (on_path("chromium"), on_path("chromedriver")) {
        (Some(c), Some(d)) => (c, d),
        _ => {
            let why = "chromium and chromedriver are not installed \
                       (apt-get install chromium chromium-driver)";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must run the browser test: {why}"
            );
            eprintln!("skipping the headless-browser test: {why}");
            return None;
        }
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let profile = std::env::temp_dir().join(format!(
        "portcullis-e2e-chromium-{}-{port}",
        std::process::id()
    ));
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let guard = Chromedriver {
        child,
        port,
        profile,
    };
    let url = format!("http://127.0.0.1:{}", guard.port);
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while http
        .get(format!("{url}/status"))
        .send()
        .await
        .map_or(true, |r| !r.status().is_success())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                // The test runs as root in CI, where Chromium's sandbox
                // cannot start; the only page it opens is the demo's.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=900,1000",
                format!("--user-data-dir={}", guard.profile.display()),
            ],
        },
    }))
    .unwrap();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session");
    Some((guard, client))
}

/// The logo the `photos` client registers (served by its listener): a
/// small picture of a photo, drawn here.
const LOGO_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\">\
<rect width=\"64\" height=\"64\" rx=\"14\" fill=\"#f59e0b\"/>\
<rect x=\"12\" y=\"16\" width=\"40\" height=\"32\" rx=\"4\" fill=\"#fff\"/>\
<circle cx=\"24\" cy=\"27\" r=\"4\" fill=\"#f59e0b\"/>\
<path d=\"M14 46l12-12 8 8 6-6 10 10z\" fill=\"#b45309\"/></svg>";

/// A client's redirect URI, played by a local listener: each request's
/// target (path and query) goes to the channel, and the browser gets a
/// small page back; `/logo.svg` is the client's logo (not reported).
async fn callback_listener() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/callback", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            // A connection of its own each: Chromium opens spare ones.
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let target = head.split(' ').nth(1).unwrap_or_default();
                let (kind, body) = if target == "/logo.svg" {
                    ("image/svg+xml", LOGO_SVG)
                } else {
                    let _ = tx.send(target.to_owned());
                    (
                        "text/html",
                        "<!doctype html><title>Back at the client</title><p>Back at the client.",
                    )
                };
                let _ = stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                             Connection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    (uri, rx)
}

/// The next request to the callback path (Chromium may ask for a favicon).
async fn next_callback(rx: &mut mpsc::UnboundedReceiver<String>) -> url::Url {
    next_hit(rx, "/callback").await
}

/// The next request to the client's `path`.
async fn next_hit(rx: &mut mpsc::UnboundedReceiver<String>, path: &str) -> url::Url {
    loop {
        let target = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("the browser reaches the client")
            .expect("the listener runs");
        if target.starts_with(path) {
            return url::Url::parse(&format!("http://client{target}")).unwrap();
        }
    }
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Takes a screenshot of what the browser shows; writes it to
/// `docs/images/NAME.png` when `PORTCULLIS_UPDATE_SCREENSHOTS=1`.
async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
    if std::env::var("PORTCULLIS_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// The text of the element `css` finds, once the page shows it.
async fn text_of(client: &Client, css: &str) -> String {
    match client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element.text().await.unwrap(),
        Err(e) => panic!("no {css} on {:?}: {e}", client.current_url().await),
    }
}

/// How many elements `css` finds.
async fn count(client: &Client, css: &str) -> usize {
    client.find_all(Locator::Css(css)).await.unwrap().len()
}

/// The page shows the `photos` client's logo, loaded (the policy allowed
/// it), and links to its privacy policy and terms that open apart from
/// this page.
async fn assert_logo_and_links(client: &Client, origin: &str) {
    let logo = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("img.logo"))
        .await
        .expect("the client's logo");
    assert_eq!(
        logo.attr("src").await.unwrap().as_deref(),
        Some(format!("{origin}/logo.svg").as_str())
    );
    assert_eq!(
        logo.attr("alt").await.unwrap().as_deref(),
        Some("Photo Album")
    );
    // Loaded and decoded: `complete` with a width of its own.
    let loaded = client
        .execute(
            "const i = arguments[0]; return i.complete && i.naturalWidth > 0;",
            vec![serde_json::to_value(&logo).unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(loaded, json!(true), "the logo was blocked or not served");
    for (path, words) in [
        ("/privacy", "Privacy policy"),
        ("/terms", "Terms of service"),
    ] {
        let link = client
            .find(Locator::Css(&format!("a[href=\"{origin}{path}\"]")))
            .await
            .unwrap_or_else(|_| panic!("a link to {path}"));
        assert_eq!(link.text().await.unwrap(), words);
        assert_eq!(
            link.attr("rel").await.unwrap().as_deref(),
            Some("noopener noreferrer")
        );
    }
}

/// Types into the login form and submits it.
async fn sign_in(client: &Client, username: &str, password: &str) {
    for (css, value) in [
        ("input[name=username]", username),
        ("input[name=password]", password),
    ] {
        let input = client.find(Locator::Css(css)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    let page = client.find(Locator::Css("html")).await.unwrap();
    client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click may return before the answer to the form (a password hash
    // away) has replaced the page: wait until the old page is gone, so
    // what is read next is the new one.
    for _ in 0..200 {
        if page.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the sign-in form's page was not replaced within 10 s");
}

/// The authorization URL of the `photos` client.
fn authorize_url(server: &Server, callback: &str, scope: &str, state: &str) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", server.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "photos")
        .append_pair("redirect_uri", callback)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    url.into()
}

#[tokio::test]
async fn a_headless_browser_signs_in_consents_and_denies_on_the_demo_pages() {
    // covers: AZ-03, AZ-05, AZ-07
    // issue 16
    let Some((driver, client)) = browser().await else {
        return;
    };
    let (callback, mut hits) = callback_listener().await;
    let logged_out = callback.replace("/callback", "/logged-out");
    let client_origin = callback.trim_end_matches("/callback").to_owned();
    let seed = {
        let callback = callback.clone();
        let logged_out = logged_out.clone();
        let origin = client_origin.clone();
        move |issuer: &str| {
            json!({
                "issuer": issuer,
                "clients": [{
                    "client_id": "photos", "client_secret": "photos-secret",
                    "client_name": "Photo Album", "redirect_uris": [callback],
                    "post_logout_redirect_uris": [logged_out],
                    "logo_uri": format!("{origin}/logo.svg"),
                    "policy_uri": format!("{origin}/privacy"),
                    "tos_uri": format!("{origin}/terms"),
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "scope": "openid profile email phone read write",
                    "token_endpoint_auth_method": "client_secret_basic"}],
                "users": [{"username": "alice", "password": ALICE_PASSWORD,
                           "claims": {"name": "Alice Adams", "email": "alice@example.com"}}],
                "scope_descriptions": {"read": "See your photo albums"}
            })
        }
    };
    let server = Server::start_seeded(Framework::Axum, seed, &[]).await;
    let flow = async {
        // The login page: the client by name, one text and one password
        // input, no script, styled (the inline stylesheet passed the CSP).
        let url = authorize_url(
            &server,
            &callback,
            "openid profile email read write",
            "st-1",
        );
        client.goto(&url).await.unwrap();
        assert_eq!(text_of(&client, "h1").await, "Sign in");
        assert!(text_of(&client, "main").await.contains("Photo Album"));
        assert_eq!(count(&client, "input[type=text]").await, 1);
        assert_eq!(count(&client, "input[type=password]").await, 1);
        assert_eq!(count(&client, "script").await, 0);
        let button = client.find(Locator::Css("button")).await.unwrap();
        assert_eq!(
            button.css_value("background-color").await.unwrap(),
            "rgba(36, 85, 195, 1)",
            "the stylesheet applies: its hash is in the Content-Security-Policy"
        );
        // The client's logo loads (the policy allows its origin), and its
        // policy and terms are linked.
        assert_logo_and_links(&client, &client_origin).await;
        screenshot(&client, "login").await;

        // A wrong password: the form again, with a message; nothing issued.
        sign_in(&client, "alice", "not the password").await;
        assert!(
            text_of(&client, "[role=alert]")
                .await
                .contains("Wrong username or password")
        );
        assert!(text_of(&client, "main").await.contains("Photo Album"));
        assert_eq!(count(&client, "input[type=password]").await, 1);
        let username = client.find(Locator::Css("input[name=username]")).await;
        assert_eq!(
            username.unwrap().prop("value").await.unwrap().as_deref(),
            Some("alice"),
            "the username typed is kept"
        );
        assert!(hits.try_recv().is_err(), "nothing reached the client");
        screenshot(&client, "login-error").await;

        // The right password: the consent page names the user, says the
        // scopes in words (the seed's own for `read`, the name for `write`)
        // and where the browser goes next.
        sign_in(&client, "alice", ALICE_PASSWORD).await;
        let h1 = text_of(&client, "h1").await;
        assert_eq!(h1, "Photo Album wants to access your account");
        let main = text_of(&client, "main").await;
        for shown in [
            "Signed in as Alice Adams (alice)",
            "Confirm who you are",
            "See your email address",
            "See your photo albums",
            "write",
        ] {
            assert!(
                main.contains(shown),
                "consent page without {shown:?}: {main}"
            );
        }
        let origin = callback.trim_end_matches("/callback");
        assert!(
            main.contains(&format!("you will be sent to {origin}")),
            "{main}"
        );
        assert_eq!(count(&client, "input[type=hidden][name=csrf]").await, 1);
        assert_eq!(count(&client, "script").await, 0);
        assert_logo_and_links(&client, &client_origin).await;
        screenshot(&client, "consent").await;

        // Allow: the browser lands on the client's redirect URI with a code
        // and the state.
        client
            .find(Locator::Css("button[value=allow]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let back = next_callback(&mut hits).await;
        assert!(
            param(&back, "code").is_some_and(|c| !c.is_empty()),
            "{back}"
        );
        assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
        assert_eq!(param(&back, "iss").as_deref(), Some(server.base.as_str()));
        let landed = client.current_url().await.unwrap();
        assert!(landed.as_str().starts_with(&callback), "{landed}");
        assert_eq!(param(&landed, "state").as_deref(), Some("st-1"));

        // Deny, for a scope not granted before (still signed in): the
        // client gets access_denied with the state, and no code.
        let url = authorize_url(&server, &callback, "openid phone", "st-2");
        client.goto(&url).await.unwrap();
        assert!(
            text_of(&client, "main")
                .await
                .contains("See your phone number")
        );
        client
            .find(Locator::Css("button[value=deny]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let back = next_callback(&mut hits).await;
        assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(&back, "state").as_deref(), Some("st-2"));
        assert!(param(&back, "code").is_none(), "{back}");

        // An unknown client: the demo's error page, never a redirect.
        client
            .goto(&format!(
                "{}/authorize?response_type=code&client_id=ghost&state=st-3",
                server.base
            ))
            .await
            .unwrap();
        assert_eq!(text_of(&client, "h1").await, "Unknown application");
        assert!(text_of(&client, "main").await.contains("invalid_request"));
        assert!(
            client
                .current_url()
                .await
                .unwrap()
                .as_str()
                .starts_with(&server.base)
        );
        screenshot(&client, "error").await;

        // RP-Initiated Logout without an ID Token: the confirmation page
        // names the client, has Log out and Cancel and the CSRF token;
        // Log out ends the session and lands on the registered
        // post-logout URI with the state (LO-01).
        let mut url = url::Url::parse(&format!("{}/end_session", server.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", "photos")
            .append_pair("post_logout_redirect_uri", &logged_out)
            .append_pair("state", "st-4");
        client.goto(url.as_str()).await.unwrap();
        assert_eq!(text_of(&client, "h1").await, "Log out?");
        assert!(text_of(&client, "main").await.contains("Photo Album"));
        assert_eq!(count(&client, "input[type=hidden][name=csrf]").await, 1);
        assert_eq!(count(&client, "button[value=logout]").await, 1);
        assert_eq!(count(&client, "button[value=cancel]").await, 1);
        assert_eq!(count(&client, "script").await, 0);
        let logout = client.find(Locator::Css("button[value=logout]")).await;
        assert_eq!(logout.unwrap().text().await.unwrap(), "Log out");
        screenshot(&client, "logout").await;
        client
            .find(Locator::Css("button[value=logout]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let back = next_hit(&mut hits, "/logged-out").await;
        assert_eq!(param(&back, "state").as_deref(), Some("st-4"));
        // Signed out: the next authorization asks for a login.
        let url = authorize_url(&server, &callback, "openid", "st-5");
        client.goto(&url).await.unwrap();
        assert_eq!(text_of(&client, "h1").await, "Sign in");
    };
    tokio::time::timeout(Duration::from_secs(180), flow)
        .await
        .expect("the browser run finishes");
    // Ends Chromium through chromedriver; the guard kills what is left.
    client.close().await.unwrap();
    drop(driver);
}

#[tokio::test]
async fn the_pages_inline_stylesheet_is_allowed_by_its_hash_not_by_unsafe_inline() {
    // covers: AZ-03
    // issue 16
    // Without a browser too: the policy names the SHA-256 of the page's one
    // <style>, allows nothing else, and refuses framing.
    let server = Server::start_seeded(
        Framework::Axum,
        |issuer| json!({"issuer": issuer, "clients": [], "users": []}),
        &[],
    )
    .await;
    let resp = crate::harness::http_client()
        .get(format!(
            "{}/authorize?response_type=code&client_id=ghost",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = resp.text().await.unwrap();
    assert_eq!(body.matches("<style>").count(), 1, "{body}");
    assert!(
        !body.contains("<script") && !body.contains(" style="),
        "{body}"
    );
    let start = body.find("<style>").unwrap() + "<style>".len();
    let end = body.find("</style>").unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &body.as_bytes()[start..end]);
    let hash = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, digest);
    assert_eq!(
        csp,
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
        )
    );
}

#[tokio::test]
async fn a_clients_logo_and_links_are_escaped_and_only_the_logos_origin_may_serve_images() {
    // covers: AZ-03
    // issue 16 (item 6: the client's logo, policy and terms links)
    // Without a browser: what the login page says and the policy it is
    // sent with, for a client whose registration tries to break out of
    // the attributes, and for one without a logo.
    let seed = |issuer: &str| {
        json!({"issuer": issuer, "clients": [{
            "client_id": "odd", "client_name": "<b>\"Eve's\" & co</b>",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://odd.example/cb"], "scope": "read",
            "grant_types": ["authorization_code"],
            "logo_uri": "https://cdn.example:8443/logo.png?v=\"><script>alert(1)</script>",
            "policy_uri": "https://odd.example/privacy?a=1&b='x'",
            "tos_uri": "https://odd.example/terms"
        }, {
            "client_id": "plain", "client_name": "Plain",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://plain.example/cb"], "scope": "read",
            "grant_types": ["authorization_code"]
        }, {
            "client_id": "wild", "client_name": "Wild",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://wild.example/cb"], "scope": "read",
            "grant_types": ["authorization_code"],
            "logo_uri": "https://*/logo.png"
        }, {
            "client_id": "split", "client_name": "Split",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://split.example/cb"], "scope": "read",
            "grant_types": ["authorization_code"],
            "logo_uri": "https://x;script-src/logo.png"
        }], "users": []})
    };
    let server = Server::start_seeded(Framework::Axum, seed, &[]).await;
    let login = |client: &str, redirect: &str| {
        let mut url = url::Url::parse(&format!("{}/authorize", server.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", "read")
            .append_pair("code_challenge", CHALLENGE)
            .append_pair("code_challenge_method", "S256");
        crate::harness::http_client().get(url.as_str()).send()
    };
    let resp = login("odd", "https://odd.example/cb").await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = resp.text().await.unwrap();
    // Exactly the logo's origin, after the strict base policy.
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(
        csp.ends_with("; frame-ancestors 'none'; img-src https://cdn.example:8443"),
        "{csp}"
    );
    assert!(!body.contains("<script") && !body.contains("<b>"), "{body}");
    assert!(
        body.contains(
            "<img class=\"logo\" src=\"https://cdn.example:8443/logo.png?v=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\" \
             alt=\"&lt;b&gt;&quot;Eve&#39;s&quot; &amp; co&lt;/b&gt;\""
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "<a href=\"https://odd.example/privacy?a=1&amp;b=&#39;x&#39;\" target=\"_blank\" \
             rel=\"noopener noreferrer\">Privacy policy</a>"
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "<a href=\"https://odd.example/terms\" target=\"_blank\" \
             rel=\"noopener noreferrer\">Terms of service</a>"
        ),
        "{body}"
    );
    // No logo, no links: no image allowed at all.
    let resp = login("plain", "https://plain.example/cb").await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = resp.text().await.unwrap();
    assert!(!csp.contains("img-src"), "{csp}");
    assert!(!body.contains("<img") && !body.contains("<a "), "{body}");
    // A logo whose host would widen or split the policy (review finding):
    // not shown, and no image allowed.
    for (client, redirect) in [
        ("wild", "https://wild.example/cb"),
        ("split", "https://split.example/cb"),
    ] {
        let resp = login(client, redirect).await.unwrap();
        assert_eq!(resp.status(), 200, "{client}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = resp.text().await.unwrap();
        assert!(
            !csp.contains("img-src") && !csp.contains("script-src"),
            "{csp}"
        );
        assert!(!body.contains("<img"), "{body}");
    }
}

/// A `fetch` the page runs: a POST to the token endpoint with Basic
/// credentials (an `Authorization` header, so the browser sends a CORS
/// preflight first). Its status and whether an access token came back, or
/// the error the browser reported.
const FETCH_TOKEN: &str = "const [url, auth, done] = arguments;\
    fetch(url, {method: 'POST', headers: {'Authorization': auth,\
      'Content-Type': 'application/x-www-form-urlencoded'},\
      body: 'grant_type=client_credentials&scope=read'})\
    .then(r => r.json().then(j => done({status: r.status, token: typeof j.access_token})))\
    .catch(e => done({error: String(e)}));";

#[tokio::test]
async fn a_page_of_a_registered_origin_fetches_tokens_and_another_origin_cannot() {
    // covers: CO-01
    // issue 19 part 3: CORS in a real browser, which sends the preflight
    // and enforces the answer itself.
    let Some((driver, client)) = browser().await else {
        return;
    };
    // The client's web app: the listener's pages, at http://127.0.0.1:port.
    let (callback, _hits) = callback_listener().await;
    let app = callback.trim_end_matches("/callback").to_owned();
    let seed = {
        let app = app.clone();
        move |issuer: &str| {
            json!({"issuer": issuer, "clients": [{
                "client_id": "webapp", "client_secret": "webapp-secret",
                "redirect_uris": [], "grant_types": ["client_credentials"], "scope": "read",
                "token_endpoint_auth_method": "client_secret_basic",
                "allowed_cors_origins": [app]
            }], "users": []})
        }
    };
    let server = Server::start_seeded(Framework::Axum, seed, &[]).await;
    let token_url = format!("{}/token", server.base);
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "webapp:webapp-secret"
        )
    );
    let flow = async {
        // From the registered origin: the preflight passes, the answer is
        // readable.
        client.goto(&format!("{app}/app")).await.unwrap();
        let got = client
            .execute_async(FETCH_TOKEN, vec![json!(token_url), json!(basic)])
            .await
            .unwrap();
        assert_eq!(got, json!({"status": 200, "token": "string"}), "{got}");
        // The same page from another origin (`localhost` is not
        // `127.0.0.1`): the browser refuses to let it read anything.
        let other = app.replace("127.0.0.1", "localhost");
        client.goto(&format!("{other}/app")).await.unwrap();
        let got = client
            .execute_async(FETCH_TOKEN, vec![json!(token_url), json!(basic)])
            .await
            .unwrap();
        assert!(
            got["error"]
                .as_str()
                .is_some_and(|e| e.contains("TypeError")),
            "{got}"
        );
    };
    tokio::time::timeout(Duration::from_secs(120), flow)
        .await
        .expect("the browser run finishes");
    client.close().await.unwrap();
    drop(driver);
}
