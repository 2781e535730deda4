//! The demo's consent page (issue 19 part 5): what the registration says
//! about the client (name, logo, website, privacy policy, terms) and the
//! redirect URI the browser will be sent to, every value escaped, under a
//! Content-Security-Policy that allows the logo's origin and nothing more.

use serde_json::json;

use crate::harness::{ALICE_PASSWORD, Framework, Server, hidden};

/// A registration that tries to break out of every attribute and element
/// it is written into.
fn seed(issuer: &str) -> serde_json::Value {
    json!({"issuer": issuer, "clients": [{
        "client_id": "odd", "client_name": "<script>alert('name')</script> & \"co\"",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://odd.example/cb?next=\"><script>alert(2)</script>"],
        "scope": "read", "grant_types": ["authorization_code"],
        "logo_uri": "https://cdn.example:8443/logo.png?v=\"><script>alert(1)</script>",
        "client_uri": "https://odd.example/?q=<script>",
        "policy_uri": "https://odd.example/privacy?a=1&b='x'",
        "tos_uri": "https://odd.example/terms?\"onmouseover=\"alert(3)"
    }], "users": [{"username": "alice", "password": ALICE_PASSWORD}]})
}

#[tokio::test]
async fn the_consent_page_shows_the_registration_escaped_within_the_csp() {
    // covers: AZ-03
    // issue 19 part 5
    let server = Server::start_seeded(Framework::Axum, seed, &[]).await;
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "https://odd.example/cb?next=\"><script>alert(2)</script>";
    let mut url = url::Url::parse(&format!("{}/authorize", server.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "odd")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "read")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    let login = http.get(url.as_str()).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let login = login.text().await.unwrap();
    let resp = http
        .post(format!("{}/login", server.base))
        .form(&[
            ("csrf", hidden(&login, "csrf").as_str()),
            ("resume", hidden(&login, "resume").as_str()),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the consent page");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = resp.text().await.unwrap();
    assert!(body.contains("value=\"allow\""), "{body}");

    // The policy: the strict base, plus images from the logo's origin
    // alone (no scheme-wide source, no data:, no script, nothing else).
    let directives: Vec<&str> = csp.split("; ").collect();
    assert_eq!(directives[0], "default-src 'none'", "{csp}");
    assert!(directives[1].starts_with("style-src 'sha256-"), "{csp}");
    assert_eq!(
        &directives[2..],
        [
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "img-src https://cdn.example:8443"
        ],
        "{csp}"
    );

    // Nothing of the registration becomes markup.
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("onmouseover=\""), "{body}");
    let name = "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; &amp; &quot;co&quot;";
    assert!(
        body.contains(&format!("<h1>{name} wants to access your account</h1>")),
        "{body}"
    );
    // The logo, as an image of the allowed origin.
    assert!(
        body.contains(&format!(
            "<img class=\"logo\" src=\"https://cdn.example:8443/logo.png?v=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\" \
             alt=\"{name}\""
        )),
        "{body}"
    );
    // The links: website, privacy policy, terms; each in a new tab that
    // gets no handle on this page.
    for (href, words) in [
        ("https://odd.example/?q=", "Website"),
        ("https://odd.example/privacy?a=1&amp;b=", "Privacy policy"),
        (
            "https://odd.example/terms?&quot;onmouseover=&quot;alert(3)",
            "Terms of service",
        ),
    ] {
        let at = body
            .find(&format!("<a href=\"{href}"))
            .unwrap_or_else(|| panic!("no link to {href}: {body}"));
        let tag = &body[at..at + body[at..].find("</a>").unwrap()];
        assert!(
            tag.ends_with(&format!(
                "\" target=\"_blank\" rel=\"noopener noreferrer\">{words}"
            )),
            "{tag}"
        );
    }
    // Where the browser goes: the origin, and the redirect URI itself.
    assert!(
        body.contains(
            "you will be sent to <strong>https://odd.example</strong> \
             (<code>https://odd.example/cb?next=&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;</code>)"
        ),
        "{body}"
    );
}
