//! The demo's HTML pages: login, consent, error, busy and logout
//! confirmation, all in one layout ([`layout`]) with one small inline
//! stylesheet, and the headers every page is sent with ([`html`]).
//!
//! The pages are plain HTML forms: no script, no external asset, nothing a
//! generic client cannot fill in (the seed contract's "What the pages must
//! let a generic client do"). The stylesheet is allowed by its SHA-256 in
//! the Content-Security-Policy, so the policy stays `default-src 'none'`
//! with no `'unsafe-inline'`: an injected `<style>` or `<script>` would not
//! run. Every value from a client registration, a seed or a request is
//! escaped ([`esc`]); no style attribute is used (a hash does not allow one).
//!
//! The login and consent pages show what a client registered about itself
//! ([`Branding`]): its logo, and links to its privacy policy and terms of
//! service. A page that shows a logo allows images from the logo's origin
//! and nowhere else (`img-src <origin>`, see [`Page`]); links open a new
//! tab with `rel="noopener noreferrer"`, so the client's page neither gets
//! a handle on ours nor learns its address.

use std::sync::LazyLock;

use base64::Engine as _;
use portcullis::http::Response;
use portcullis::{Cause, Client, RequestFault, WebUrl};

/// The one stylesheet, inline in every page.
const STYLE: &str = "\
:root{--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--brand:#2455c3;--brand-dark:#1c4399;--bg:#eef2f7;--bad:#b42318}\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;\
padding:24px;background:var(--bg);color:var(--ink);\
font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif}\
.brand{font-weight:700;letter-spacing:.04em;color:var(--muted);margin:0 0 16px;font-size:.95rem}\
main{width:100%;max-width:440px;background:#fff;border:1px solid var(--line);border-radius:12px;\
padding:32px;box-shadow:0 6px 20px rgba(31,41,51,.08)}\
h1{font-size:1.35rem;line-height:1.3;margin:0 0 6px}\
.lead{color:var(--muted);margin:0 0 20px}\
label{display:block;font-weight:600;font-size:.9rem;margin:16px 0 6px}\
input[type=text],input[type=password]{width:100%;padding:10px 12px;border:1px solid #bcccdc;\
border-radius:8px;font:inherit;color:inherit}\
input:focus,button:focus{outline:2px solid var(--brand);outline-offset:2px}\
.actions{display:flex;gap:12px;margin-top:24px}\
button{flex:1;padding:10px 16px;border-radius:8px;font:inherit;font-weight:600;cursor:pointer;\
border:1px solid #bcccdc;background:#fff;color:var(--ink)}\
button.primary{background:var(--brand);border-color:var(--brand);color:#fff}\
button.primary:hover{background:var(--brand-dark)}\
.alert{background:#fef3f2;border:1px solid #fecdca;color:var(--bad);border-radius:8px;padding:10px 12px;margin:0}\
.user{background:var(--bg);border-radius:8px;padding:8px 12px;margin:0 0 20px;font-size:.95rem}\
.muted{color:var(--muted)}\
ul.scopes{list-style:none;padding:0;margin:8px 0 0;border:1px solid var(--line);border-radius:8px}\
ul.scopes li{display:flex;justify-content:space-between;align-items:baseline;gap:12px;\
padding:10px 12px;border-top:1px solid var(--line)}\
ul.scopes li:first-child{border-top:0}\
.scope{font-size:.8rem;color:var(--muted);white-space:nowrap}\
code{font-family:ui-monospace,\"DejaVu Sans Mono\",monospace;font-size:.9em}\
.note{font-size:.9rem;color:var(--muted);margin:20px 0 0}\
.note strong{color:var(--ink);overflow-wrap:anywhere}\
.logo{display:block;width:64px;height:64px;object-fit:contain;margin:0 0 16px;border-radius:12px}\
.links{font-size:.85rem;color:var(--muted);margin:20px 0 0}\
.links a{color:var(--brand)}";

/// The pages' Content-Security-Policy: nothing but the stylesheet above,
/// allowed by its hash; never framed. No `form-action`: browsers apply it
/// to the redirect that follows the consent form, which goes to the client.
/// A page showing a client's logo adds `img-src` for the logo's origin
/// ([`Page`]).
static CSP: LazyLock<String> = LazyLock::new(|| {
    let digest = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
    )
});

/// `s` safe in HTML text and in a double- or single-quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The layout every page shares: the brand line, then a card with the
/// title as its heading and `body` (HTML, already escaped) under it.
pub(crate) fn layout(title: &str, body: &str) -> String {
    layout_under("", title, body)
}

/// [`layout`] with `top` (HTML, already escaped: a client's logo) above
/// the heading.
fn layout_under(top: &str, title: &str, body: &str) -> String {
    let title = esc(title);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · portcullis demo</title><style>{STYLE}</style></head>\
         <body><p class=\"brand\">portcullis demo</p><main>{top}<h1>{title}</h1>{body}</main></body></html>"
    )
}

/// A page's HTML and the one origin it may load images from (a client's
/// logo), so that the policy allows exactly what the page shows.
pub(crate) struct Page {
    body: String,
    /// The `img-src` source: an origin (`https://rp.example`) whose host is
    /// a plain name or an IP address, never a wildcard or anything a
    /// header could be split on.
    img_src: Option<String>,
}

impl From<String> for Page {
    /// A page without images.
    fn from(body: String) -> Self {
        Self {
            body,
            img_src: None,
        }
    }
}

/// A page as the browser gets it: never cached, never framed
/// (clickjacking, RFC 9700 §4.16), never leaking the query (which names the
/// client and its state) through `Referer` (§4.2), and no script or foreign
/// resource at all (the policy allows only [`STYLE`], and a client's logo
/// from its own origin when the page shows one).
pub(crate) fn html(status: u16, page: impl Into<Page>) -> Response {
    let page = page.into();
    let csp: std::borrow::Cow<'static, str> = match &page.img_src {
        None => CSP.as_str().into(),
        Some(origin) => format!("{}; img-src {origin}", CSP.as_str()).into(),
    };
    Response::new(status, page.body.into_bytes())
        .with_header("Content-Type", "text/html; charset=utf-8")
        .with_header("Cache-Control", "no-store")
        .with_header("X-Frame-Options", "DENY")
        .with_header("Content-Security-Policy", csp)
        .with_header("Referrer-Policy", "no-referrer")
}

/// What a client registered to be shown beside its name (OpenID Connect
/// Registration 1.0 §2): its logo, its home page (`client_uri`) and its
/// privacy policy and terms of service. Each is a [`WebUrl`], so only `http` or `https` (never
/// `javascript:` or `data:`).
#[derive(Clone, Copy, Default)]
pub(crate) struct Branding<'a> {
    logo: Option<&'a WebUrl>,
    policy: Option<&'a WebUrl>,
    tos: Option<&'a WebUrl>,
    /// `client_uri`: the client's home page.
    home: Option<&'a WebUrl>,
}

impl<'a> Branding<'a> {
    /// What `client` registered.
    pub(crate) fn of(client: &'a Client) -> Self {
        Self {
            logo: client.logo_uri(),
            policy: client.policy_uri(),
            tos: client.tos_uri(),
            home: client.client_uri(),
        }
    }

    /// The logo's origin, for `img-src`; `None` without a logo (or one
    /// whose origin cannot be written, which is then not shown).
    fn logo_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.logo?.as_str()).ok()?;
        // A URL parser accepts `*`, `;`, `,` and `'` in a host: written
        // into the policy they would widen `img-src` (`https://*`) or add a
        // directive. Only a plain host name or an IP address is a source.
        let plain = match url.host()? {
            url::Host::Domain(d) => d
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
            url::Host::Ipv4(_) | url::Host::Ipv6(_) => true,
        };
        let origin = url.origin();
        (plain && origin.is_tuple()).then(|| origin.ascii_serialization())
    }

    /// The `<img>` of the logo (with the client's name as its text), and
    /// the origin the page must allow images from.
    fn logo(&self, client_name: &str) -> (String, Option<String>) {
        match (self.logo, self.logo_origin()) {
            (Some(logo), Some(origin)) => (
                format!(
                    "<img class=\"logo\" src=\"{}\" alt=\"{}\" width=\"64\" height=\"64\">",
                    esc(logo.as_str()),
                    esc(client_name)
                ),
                Some(origin),
            ),
            _ => (String::new(), None),
        }
    }

    /// The links to the client's website, privacy policy and terms, if it
    /// registered them: a line at the foot of the page.
    fn links(&self, client_name: &str) -> String {
        let link = |url: &WebUrl, words: &str| {
            format!(
                "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{words}</a>",
                esc(url.as_str())
            )
        };
        let links: Vec<String> = [
            self.home.map(|u| link(u, "Website")),
            self.policy.map(|u| link(u, "Privacy policy")),
            self.tos.map(|u| link(u, "Terms of service")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if links.is_empty() {
            return String::new();
        }
        format!(
            "<p class=\"links\">{}: {}</p>",
            esc(client_name),
            links.join(" · ")
        )
    }
}

/// The two hidden fields every form of the authorization carries: the CSRF
/// token and the resume token portcullis gave for the suspended request.
/// Nothing else of the request (not its query, state or challenge).
fn tokens(csrf: &str, resume: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"resume\" value=\"{}\">",
        esc(csrf),
        esc(resume)
    )
}

/// The login page for `client` (`None` when not known: a form sent again
/// without the client's id): its name, and its logo and links when it
/// registered them ([`Branding`]). `client_id` goes back with the form only
/// so that a failed attempt can name the client again; the demo looks the
/// client up and never shows what the form says. After a failed attempt
/// (`retry` holds the username typed) the page says so and keeps the
/// username.
pub(crate) fn login_page(
    client: Option<&Client>,
    resume: &str,
    csrf: &str,
    retry: Option<&str>,
) -> Page {
    let lead = match client {
        Some(c) => format!("to continue to <strong>{}</strong>", esc(c.client_name())),
        None => "to continue".to_owned(),
    };
    let client_field = client.map_or_else(String::new, |c| {
        format!(
            "<input type=\"hidden\" name=\"client_id\" value=\"{}\">",
            esc(c.client_id().as_str())
        )
    });
    let branding = client.map(Branding::of).unwrap_or_default();
    let name = client.map_or("", Client::client_name);
    let (logo, img_src) = branding.logo(name);
    let (msg, username, focus) = match retry {
        Some(username) => (
            "<p class=\"alert\" role=\"alert\">Wrong username or password. Please try again.</p>",
            esc(username),
            ("", " autofocus"),
        ),
        None => ("", String::new(), (" autofocus", "")),
    };
    let body = layout_under(
        &logo,
        "Sign in",
        &format!(
            "<p class=\"lead\">{lead}</p>{msg}<form method=\"post\" action=\"/login\">{}{client_field}\
             <label for=\"username\">Username</label>\
             <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required{}>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{}>\
             <div class=\"actions\"><button type=\"submit\" class=\"primary\">Sign in</button></div></form>{}",
            tokens(csrf, resume),
            focus.0,
            focus.1,
            branding.links(name)
        ),
    );
    Page { body, img_src }
}

/// What the consent page shows.
pub(crate) struct Consent<'a> {
    pub(crate) client_name: &'a str,
    /// The client's logo and links, when it registered them.
    pub(crate) branding: Branding<'a>,
    /// The signed-in user: their name when known, and their username.
    pub(crate) user_name: Option<&'a str>,
    pub(crate) username: &'a str,
    /// Each scope asked for, with its words when there are any.
    pub(crate) scopes: Vec<(&'a str, Option<&'a str>)>,
    /// Each standard claim the request names beyond the scopes (its
    /// `claims` parameter), with the words of the scope it falls under:
    /// consenting shares it too (issue 16).
    pub(crate) claims: Vec<(&'a str, Option<&'a str>)>,
    /// Where the browser is sent afterwards: its origin (see
    /// [`destination`]), and the redirect URI itself.
    pub(crate) destination: String,
    pub(crate) redirect_uri: &'a str,
    pub(crate) resume: &'a str,
    pub(crate) csrf: &'a str,
}

/// The consent page: who asks (with its logo and links when registered),
/// who is signed in, what for (in words), and where the browser goes next;
/// Deny and Allow as submit buttons.
pub(crate) fn consent_page(c: &Consent<'_>) -> Page {
    let client = esc(c.client_name);
    let (logo, img_src) = c.branding.logo(c.client_name);
    let user = match c.user_name {
        Some(name) => format!(
            "<strong>{}</strong> <span class=\"muted\">({})</span>",
            esc(name),
            esc(c.username)
        ),
        None => format!("<strong>{}</strong>", esc(c.username)),
    };
    let items: String = c
        .scopes
        .iter()
        .map(|(scope, words)| match words {
            Some(w) => format!(
                "<li><span>{}</span><code class=\"scope\">{}</code></li>",
                esc(w),
                esc(scope)
            ),
            None => format!("<li><code>{}</code></li>", esc(scope)),
        })
        .collect();
    // The claims asked for by name, in the words of their scope.
    let claims: String = if c.claims.is_empty() {
        String::new()
    } else {
        let items: String = c
            .claims
            .iter()
            .map(|(claim, words)| {
                format!(
                    "<li><span>{}</span><code class=\"scope\">{}</code></li>",
                    esc(words.unwrap_or("Share this detail")),
                    esc(claim)
                )
            })
            .collect();
        format!("<p>It also asks for these details by name:</p><ul class=\"scopes\">{items}</ul>")
    };
    let body = layout_under(
        &logo,
        &format!("{} wants to access your account", c.client_name),
        &format!(
            "<p class=\"user\">Signed in as {user}</p>\
             <p>This will allow <strong>{client}</strong> to:</p><ul class=\"scopes\">{items}</ul>{claims}\
             <p class=\"note\">After you choose, you will be sent to <strong>{}</strong> \
             (<code>{}</code>).</p>\
             <form method=\"post\" action=\"/consent\">{}<div class=\"actions\">\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             <button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Allow</button>\
             </div></form>{}",
            esc(&c.destination),
            esc(c.redirect_uri),
            tokens(c.csrf, c.resume),
            c.branding.links(c.client_name)
        ),
    );
    Page { body, img_src }
}

/// How a redirect URI is shown to the user: the origin of an http(s) URI
/// (`https://app.example.com`), otherwise the URI without its query and
/// fragment (a native app's `com.example.app:/callback`).
pub(crate) fn destination(redirect_uri: &str) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.origin().ascii_serialization(),
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

/// The error page of a request that cannot be sent back to the client (an
/// unknown client, an unregistered redirect URI, an expired form...): what
/// happened in words, and the OAuth error code for the client's developer.
pub(crate) fn error_page(cause: Option<Cause>, code: Option<&str>) -> String {
    let (title, words) = explain(cause);
    let code = code.map_or_else(String::new, |c| {
        format!(
            "<p class=\"note\">Error code for the application's developer: <code>{}</code></p>",
            esc(c)
        )
    });
    layout(
        title,
        &format!(
            "<p class=\"lead\">{}</p><p>Go back to the application you came from and try again.</p>{code}",
            esc(words)
        ),
    )
}

/// A title and a sentence for each cause of an error page.
fn explain(cause: Option<Cause>) -> (&'static str, &'static str) {
    match cause {
        Some(Cause::InvalidRequest(
            RequestFault::MissingParameter("client_id")
            | RequestFault::InvalidParameter("client_id"),
        )) => (
            "Unknown application",
            "The application that sent you here is not registered with this server, so it cannot sign you in.",
        ),
        Some(Cause::InvalidRequest(
            RequestFault::MissingParameter("redirect_uri")
            | RequestFault::InvalidParameter("redirect_uri")
            | RequestFault::DuplicateParameter("redirect_uri"),
        )) => (
            "Unknown return address",
            "The address the application asked to send you back to is not registered, so you were not sent there.",
        ),
        Some(Cause::InvalidRequest(RequestFault::ResumeRefused)) => (
            "This page has expired",
            "This sign-in was already completed or took too long.",
        ),
        Some(Cause::Overloaded) => (
            "Busy",
            "The server is busy right now. Please try again in a moment.",
        ),
        Some(Cause::Store | Cause::Random | Cause::Signing(_) | Cause::Internal(_)) => (
            "Something went wrong",
            "The server could not complete the request.",
        ),
        _ => (
            "This request cannot be completed",
            "The application sent a request this server cannot accept.",
        ),
    }
}

/// The page of a login the server was too busy to check.
pub(crate) fn busy_page() -> String {
    layout(
        "Busy",
        "<p class=\"lead\">The server is busy right now. Please try again in a moment.</p>",
    )
}

/// The logout confirmation page: a form posting to `action` with the CSRF
/// token and `hidden` fields, a Log out and a Cancel submit button
/// (`decision` = `logout` or `cancel`), as the seed contract's Logout asks.
pub(crate) fn logout_page(
    client_name: Option<&str>,
    action: &str,
    csrf: &str,
    hidden: &[(&str, &str)],
) -> String {
    let lead = match client_name {
        Some(name) => format!(
            "You are signing out of <strong>{}</strong> and of this server.",
            esc(name)
        ),
        None => "You are signing out of this server.".to_owned(),
    };
    let fields: String = hidden
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(name),
                esc(value)
            )
        })
        .collect();
    layout(
        "Log out?",
        &format!(
            "<p class=\"lead\">{lead}</p><form method=\"post\" action=\"{}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">{fields}<div class=\"actions\">\
             <button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button>\
             <button type=\"submit\" name=\"decision\" value=\"logout\" class=\"primary\">Log out</button>\
             </div></form>",
            esc(action),
            esc(csrf)
        ),
    )
}

/// After a logout that sends the browser nowhere (no registered
/// post-logout URI was asked for).
pub(crate) fn logged_out_page() -> String {
    layout(
        "You are signed out",
        "<p class=\"lead\">You have signed out of this server. You can close this window.</p>",
    )
}

/// After the user chose Cancel on the logout confirmation page: nothing
/// changed, and the browser is sent nowhere.
pub(crate) fn still_signed_in_page() -> String {
    layout(
        "You are still signed in",
        "<p class=\"lead\">You chose not to sign out. You can go back to the application you came from.</p>",
    )
}

/// The device verification page (RFC 8628 §3.3, the `verification_uri`):
/// one visible text input for the user code, as the seed contract asks,
/// with the CSRF token hidden; `error` after a code that found nothing.
pub(crate) fn device_code_page(action: &str, csrf: &str, error: bool) -> String {
    let msg = if error {
        "<p class=\"alert\" role=\"alert\">That code is not valid or has expired. Check the code on your device and try again.</p>"
    } else {
        ""
    };
    layout(
        "Connect a device",
        &format!(
            "<p class=\"lead\">Enter the code shown on your device.</p>{msg}\
             <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label for=\"user_code\">Code</label>\
             <input type=\"text\" id=\"user_code\" name=\"user_code\" autocomplete=\"off\" \
             autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"XXXX-XXXX\" required autofocus>\
             <div class=\"actions\"><button type=\"submit\" class=\"primary\">Continue</button></div></form>",
            esc(action),
            esc(csrf)
        ),
    )
}

/// The login page of the device flow: the user code rides along hidden
/// (the user typed it, or it came in `verification_uri_complete`).
pub(crate) fn device_login_page(
    action: &str,
    csrf: &str,
    user_code: &str,
    retry: Option<&str>,
) -> String {
    let (msg, username) = match retry {
        Some(u) => (
            "<p class=\"alert\" role=\"alert\">Wrong username or password. Please try again.</p>",
            esc(u),
        ),
        None => ("", String::new()),
    };
    layout(
        "Sign in",
        &format!(
            "<p class=\"lead\">to connect your device</p>{msg}<form method=\"post\" action=\"{}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"user_code\" value=\"{}\">\
             <label for=\"username\">Username</label>\
             <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <div class=\"actions\"><button type=\"submit\" class=\"primary\">Sign in</button></div></form>",
            esc(action),
            esc(csrf),
            esc(user_code)
        ),
    )
}

/// What the device consent page shows.
pub(crate) struct DeviceConsent<'a> {
    pub(crate) client_name: &'a str,
    pub(crate) branding: Branding<'a>,
    pub(crate) username: &'a str,
    pub(crate) scopes: Vec<(&'a str, Option<&'a str>)>,
    pub(crate) action: &'a str,
    pub(crate) resume: &'a str,
    pub(crate) csrf: &'a str,
}

/// The device consent page: which application on which device asks for
/// what, with a warning to approve only a device the user holds (RFC 8628
/// §5.4); Deny and Allow as submit buttons.
pub(crate) fn device_consent_page(c: &DeviceConsent<'_>) -> Page {
    let (logo, img_src) = c.branding.logo(c.client_name);
    let items: String = c
        .scopes
        .iter()
        .map(|(scope, words)| match words {
            Some(w) => format!(
                "<li><span>{}</span><code class=\"scope\">{}</code></li>",
                esc(w),
                esc(scope)
            ),
            None => format!("<li><code>{}</code></li>", esc(scope)),
        })
        .collect();
    let body = layout_under(
        &logo,
        &format!("Connect {} on your device?", c.client_name),
        &format!(
            "<p class=\"user\">Signed in as <strong>{}</strong></p>\
             <p>This will allow <strong>{}</strong> on your device to:</p><ul class=\"scopes\">{items}</ul>\
             <p class=\"note\">Allow only if you started this on a device you have in front of you.</p>\
             <form method=\"post\" action=\"{}\">{}<div class=\"actions\">\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             <button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Allow</button>\
             </div></form>{}",
            esc(c.username),
            esc(c.client_name),
            esc(c.action),
            tokens(c.csrf, c.resume),
            c.branding.links(c.client_name)
        ),
    );
    Page { body, img_src }
}

/// After the user decided on a device: no form.
pub(crate) fn device_done_page(approved: bool) -> String {
    if approved {
        layout(
            "Device connected",
            "<p class=\"lead\">You can return to your device: it will continue on its own.</p>",
        )
    } else {
        layout(
            "Device not connected",
            "<p class=\"lead\">You denied the request. Your device will not get access.</p>",
        )
    }
}
