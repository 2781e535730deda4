//! Starts an example server (axum, actix-web or hyper) as a child process
//! with a seed file, and a cookie-keeping "browser" that fills in its login
//! and consent forms.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub(crate) const CALLBACK: &str = "http://127.0.0.1:8765/callback";
/// Printable ASCII with the characters RFC 6749 §2.3.1 encoding must survive.
pub(crate) const WEB_SECRET: &str = "we:b+se%cr/et~ !x";
pub(crate) const SVC_SECRET: &str = "svc-secret";
pub(crate) const PW_SECRET: &str = "pw-secret";
pub(crate) const ALICE_PASSWORD: &str = "correct horse battery staple";

/// Which example binary hosts the server: all four serve the same demo
/// (`examples/demo/mod.rs`), three through their framework's adapter and one
/// through the `tower` boundary alone (hyper via hyper-util's
/// `TowerToHyperService`, `BearerLayer` on the protected route).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Framework {
    Axum,
    #[cfg_attr(not(feature = "actix-web"), allow(dead_code))]
    Actix,
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    Hyper,
    Tower,
}

impl Framework {
    fn example(self) -> &'static str {
        match self {
            Self::Axum => "server",
            Self::Actix => "actix",
            Self::Hyper => "hyper",
            Self::Tower => "tower",
        }
    }
}

/// Where the example server keeps its state.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Memory,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
}

pub(crate) struct Server {
    pub(crate) base: String,
    child: Child,
    seed: std::path::PathBuf,
    log: std::path::PathBuf,
    db_dir: Option<std::path::PathBuf>,
}

static NEXT_DB: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.seed);
        let _ = std::fs::remove_file(&self.log);
        if let Some(dir) = &self.db_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Built by the test when needed (`tests/common/examples.rs`).
fn example_binary(framework: Framework) -> std::path::PathBuf {
    crate::examples::example(framework.example())
}

impl Server {
    pub(crate) async fn start_on(framework: Framework, backend: Backend) -> Self {
        match backend {
            Backend::Memory => Self::start_with(framework, None, None).await,
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!(
                    "portcullis-e2e-db-{}-{}",
                    std::process::id(),
                    NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("auth.db").display());
                let mut server = Self::start_with(framework, Some(&url), None).await;
                server.db_dir = Some(dir);
                server
            }
        }
    }

    /// Starts the example with `--database URL` when given, on `port` when
    /// given (a restart must keep its issuer).
    pub(crate) async fn start_with(
        framework: Framework,
        database: Option<&str>,
        port: Option<u16>,
    ) -> Self {
        // The issuer must be known before the port is: reserve a port first.
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let base = format!("http://127.0.0.1:{port}");
        let seed = serde_json::json!({
            "issuer": base,
            "clients": [
                {"client_id": "web", "client_secret": WEB_SECRET, "client_name": "Web <App>",
                 "redirect_uris": [CALLBACK], "grant_types": ["authorization_code", "refresh_token"],
                 "response_types": ["code"], "scope": "read write",
                 "token_endpoint_auth_method": "client_secret_basic"},
                {"client_id": "spa", "client_name": "SPA", "redirect_uris": [CALLBACK],
                 "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                 "scope": "read write", "token_endpoint_auth_method": "none"},
                {"client_id": "svc", "client_secret": SVC_SECRET, "redirect_uris": [],
                 "grant_types": ["client_credentials"], "response_types": [], "scope": "read",
                 "token_endpoint_auth_method": "client_secret_basic"},
                {"client_id": "jwtsvc", "client_secret": SVC_SECRET, "redirect_uris": [],
                 "grant_types": ["client_credentials"], "scope": "read write",
                 "access_token_format": "jwt",
                 "token_endpoint_auth_method": "client_secret_basic"},
                {"client_id": "shortsvc", "client_secret": SVC_SECRET, "redirect_uris": [],
                 "grant_types": ["client_credentials"], "scope": "read",
                 "access_token_lifetime": 2,
                 "token_endpoint_auth_method": "client_secret_basic"},
                {"client_id": "pw", "client_secret": PW_SECRET, "redirect_uris": [],
                 "grant_types": ["password", "refresh_token"], "scope": "read",
                 "token_endpoint_auth_method": "client_secret_basic"}
            ],
            "users": [{"username": "alice", "password": ALICE_PASSWORD}]
        });
        let args = database.map(|d| vec!["--database", d]).unwrap_or_default();
        Self::spawn(framework, port, &seed, &args).await
    }

    /// Starts the example on a free port with the seed `seed(base)` makes
    /// for the server's base URL, and these further arguments.
    pub(crate) async fn start_seeded(
        framework: Framework,
        seed: impl FnOnce(&str) -> serde_json::Value,
        args: &[&str],
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let seed = seed(&format!("http://127.0.0.1:{port}"));
        Self::spawn(framework, port, &seed, args).await
    }

    /// Starts one instance of a deployment (`tests/e2e/instances.rs`):
    /// the example on `port` with this seed (whose issuer may be another
    /// instance's base: one issuer behind a load balancer) and arguments.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) async fn start_instance(
        framework: Framework,
        port: u16,
        seed: &serde_json::Value,
        args: &[&str],
    ) -> Self {
        Self::spawn(framework, port, seed, args).await
    }

    /// SIGKILL, at once (a crashed instance); waits for it to be gone.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Writes the seed file and starts the example with it on `port`;
    /// returns once it says it is listening.
    async fn spawn(
        framework: Framework,
        port: u16,
        seed: &serde_json::Value,
        args: &[&str],
    ) -> Self {
        let base = format!("http://127.0.0.1:{port}");
        let path = std::env::temp_dir().join(format!(
            "portcullis-seed-{port}-{}.json",
            std::process::id()
        ));
        std::fs::write(&path, seed.to_string()).unwrap();
        let log = path.with_extension("log");
        let log_file = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(example_binary(framework))
            .args(["--addr", &format!("127.0.0.1:{port}"), "--seed"])
            .arg(&path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .env("RUST_LOG", "debug")
            .spawn()
            .unwrap_or_else(|e| panic!("example {framework:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.starts_with("listening on "))
        });
        assert!(ready.await.unwrap(), "server did not start");
        Self {
            base,
            child,
            seed: path,
            log,
            db_dir: None,
        }
    }

    /// The port the server listens on.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Sends SIGTERM, waits for the exit, and returns whether it was clean
    /// and everything the server logged.
    pub(crate) fn terminate(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        (
            status.success(),
            std::fs::read_to_string(&self.log).unwrap(),
        )
    }
}

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) body: String,
}

/// A browser: keeps cookies, follows redirects within the server by hand,
/// stops at the client's callback.
pub(crate) struct Session {
    http: reqwest::Client,
    base: String,
}

pub(crate) fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {body}"))
        + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Session {
    pub(crate) fn new(server: &Server) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            http,
            base: server.base.clone(),
        }
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            body: resp.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(url).send().await.unwrap()).await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.base);
        Self::page(self.http.post(url).form(form).send().await.unwrap()).await
    }

    /// Posts an authorization request as a form (OpenID Connect §3.1.2.1).
    pub(crate) async fn post_authorize(&self, query: &str) -> Page {
        let url = format!("{}/authorize", self.base);
        let resp = self
            .http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(query.to_owned())
            .send()
            .await
            .unwrap();
        Self::page(resp).await
    }

    /// Submits the login form of `login_page`: its CSRF and resume tokens
    /// (the only state the form carries) with these credentials.
    pub(crate) async fn submit_login(&self, login_page: &str, user: &str, password: &str) -> Page {
        let (csrf, resume) = (hidden(login_page, "csrf"), hidden(login_page, "resume"));
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("resume", &resume),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }

    /// Opens the authorization URL, logs in if asked, and returns the page
    /// after login (consent page or redirect).
    pub(crate) async fn login(&self, url: &str) -> Page {
        let page = self.get(url).await;
        self.login_on(&page).await
    }

    /// Logs in on this login page; returns the consent page or the redirect
    /// to the client that follows.
    pub(crate) async fn login_on(&self, login_page: &Page) -> Page {
        assert_eq!(login_page.status, 200, "expected the login page");
        let resp = self
            .submit_login(&login_page.body, "alice", ALICE_PASSWORD)
            .await;
        assert!(
            resp.status == 200 || resp.status == 302,
            "login must continue the authorization: {} {}",
            resp.status,
            resp.body
        );
        resp
    }

    /// Submits the consent form of `consent_page` as is.
    pub(crate) async fn submit_consent(&self, consent_page: &Page, decision: &str) -> Page {
        let (csrf, resume) = (
            hidden(&consent_page.body, "csrf"),
            hidden(&consent_page.body, "resume"),
        );
        self.post(
            "/consent",
            &[("csrf", &csrf), ("resume", &resume), ("decision", decision)],
        )
        .await
    }

    pub(crate) async fn decide(&self, consent_page: &Page, decision: &str) -> url::Url {
        assert_eq!(consent_page.status, 200, "expected the consent page");
        assert!(consent_page.body.contains("Allow") && consent_page.body.contains("Deny"));
        let resp = self.submit_consent(consent_page, decision).await;
        assert_eq!(resp.status, 302);
        url::Url::parse(&resp.location.unwrap()).unwrap()
    }

    /// Drives the browser from the authorization URL to the client's
    /// callback: login when `fresh`, consent when asked.
    pub(crate) async fn browse_to_callback(&self, url: &str, fresh: bool) -> url::Url {
        let page = if fresh {
            self.login(url).await
        } else {
            self.get(url).await
        };
        if page.status == 302 {
            return url::Url::parse(&page.location.unwrap()).unwrap();
        }
        self.decide(&page, "allow").await
    }
}

/// One response read off a raw connection.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl RawResponse {
    /// Every value of a header (names are case-insensitive).
    pub(crate) fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).first().copied()
    }
}

/// Sends `head` (request line and headers, without the blank line) and then
/// `body`, which may be only a part of what the head announces, on a fresh
/// connection, and reads one response without waiting for the connection to
/// close. A server that waited for the rest of the body would time out here.
pub(crate) async fn raw(server: &Server, head: &str, body: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{head}\r\nHost: {addr}\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    // The server may stop reading and close early: that is what is tested.
    let _ = stream.write_all(&request).await;
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a response");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed inside the body");
            body.extend_from_slice(&chunk[..n]);
        }
        RawResponse {
            status: status.parse().unwrap(),
            headers,
            body: String::from_utf8(body).unwrap(),
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("no response within 10 s: was the whole body awaited?")
}
