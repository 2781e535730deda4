//! The demo server's seed file: its format, parsing and checking. Shared,
//! through `#[path]`, by the demo (`mod.rs`) and the fuzz harness
//! (`fuzz/src/lib.rs`, target `seed_json`), so the fuzzer runs the very code
//! that reads a seed file at start-up. Nothing here panics on any input: a
//! bad seed is an `Err` with a message naming what is wrong (never a secret
//! or a password).
//!
//! The format is version 2 of the seed contract shared with outside test
//! suites (`tests/fixtures/seed_v2.json` is a full example):
//! `{"issuer": "...", "clients": [{"client_id", "client_secret"
//! (absent for public and `private_key_jwt` clients), "client_name",
//! "redirect_uris", "grant_types", "response_types", "scope",
//! "token_endpoint_auth_method", "jwks" (inline: for `private_key_jwt`, and
//! on any client the keys of its signed request objects),
//! "require_pushed_authorization_requests", "require_signed_request_object"
//! and "dpop_bound_access_tokens" (booleans), "access_token_format" ("opaque" or "jwt"),
//! "access_token_lifetime" (seconds), the OpenID Connect registration fields (see
//! [`SeedOpenId`]) and the rest of RFC 7591 (`contacts`, `jwks_uri`, `owner`,
//! `metadata`, `allowed_cors_origins`, ...: see [`SeedRegistration`])}], "users": [{"username", "password", "claims"}], "scope_descriptions":
//! {"scope": "words for the consent page"}, "resources": ["https://api.example.com/"]}`
//! (the RFC 8707 resource indicators every client may ask tokens for,
//! `Config::resources`); `scope_descriptions` is the demo's own. A client id given twice is defined by its last entry, as is
//! a username. Without `token_endpoint_auth_method`, a client with a secret
//! uses `client_secret_basic`, one with `jwks` `private_key_jwt`, and one
//! with neither is public (`none`). A user's `claims` go into their JWT
//! access tokens by scope ([`SeedClaims`]); their `claims.sub`, when
//! given, is their subject (the user id, `sub` of every token and of
//! UserInfo), else their username is ([`Person`]). A user's
//! `claims.may_act` (the demo's own, an object such as `{"sub": "gateway"}`,
//! RFC 8693 §4.4) goes into all their JWT access tokens: in a token
//! exchange only that party may then act for them. A client listing
//! `urn:ietf:params:oauth:grant-type:token-exchange` turns token exchange
//! on, with the demo's rule (`exchange.rs`).
//!
//! What the server supports is honoured; a field, grant type or response
//! type it does not support yet (`registration`, any
//! unknown field, ...) is ignored and reported as an
//! [`Ignored`] note, one per field, which the demo logs: a seed written for
//! a fuller server must still start this one. A client whose way of
//! authenticating is not supported (`tls_client_auth`, `private_key_jwt`
//! without inline keys the server can use) is left out, with a note. A bad
//! value of an OpenID Connect registration field (a `logo_uri` that is no
//! URL, `subject_type: pairwise` without a sector, ...) leaves that field
//! out, with a note: an outside client's seed must start the server. Only a
//! malformed value of an OAuth field (a bad client id, redirect URI or
//! scope, a secret-based method without a secret) refuses the seed.
//!
//! In the FAPI 2.0 Security Profile (`--profile fapi2`, [`load_in`]) the
//! same seeds start the server: the password grant is not offered, the
//! clients the profile does not serve are registered but refused (a note
//! each), and an ID Token algorithm the profile forbids is left out.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::num::NonZeroU32;

use portcullis::oidc::scope_claims;
use portcullis::{
    AccessTokenFormat, Algorithm, ApplicationType, AuthMethod, ClaimsHook, Client, ClientAdmin,
    ClientBuilder, ClientError, ClientId, ClientSigningAlg, Config, GrantType, MemoryUsers, Origin,
    Profile, RandomSource, RedirectUri, Resource, ScopeSet, Secret, SecretHash, SubjectType,
    UnixTime, UserId, WebUrl,
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A parsed seed file.
#[derive(Deserialize)]
pub(crate) struct Seed {
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) clients: Vec<SeedClient>,
    #[serde(default)]
    pub(crate) users: Vec<SeedUser>,
    /// Not from the file: the pairwise salt when the demo derives it
    /// (from the seed file's bytes, so that every instance started with
    /// one file agrees on pairwise subjects); `None`: a random salt for
    /// this process.
    #[serde(skip)]
    #[allow(dead_code)] // set by the demo, not by the fuzz harness
    pub(crate) pairwise_salt_seed: Option<Vec<u8>>,
    /// The demo's own: words for scopes on the consent page
    /// (`{"read": "Read your documents"}`, see `scope_words.rs`).
    #[serde(default)]
    #[allow(dead_code)] // read by the demo, not by the fuzz harness
    pub(crate) scope_descriptions: BTreeMap<String, String>,
    /// RFC 8707 resource indicators every client may ask tokens for
    /// (`Config::resources`, RI-01). A value that is no resource indicator
    /// is left out with a note.
    pub(crate) resources: Option<Value>,
    /// Dynamic client registration (issue 19 part 2):
    /// `{"initial_access_token": "…"}` makes registering require that
    /// bearer token; without it registration is open (read by the demo).
    #[serde(default)]
    #[allow(dead_code)] // read by the demo, not by the fuzz harness
    pub(crate) registration: Option<Value>,
    /// Any other field: not supported yet.
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, Value>,
}

/// One client of the seed file.
#[derive(Deserialize, Default)]
pub(crate) struct SeedClient {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    /// Set for the demo's generated 256-bit secrets: one SHA-256 is enough.
    #[serde(skip)]
    pub(crate) generated: bool,
    pub(crate) client_name: Option<String>,
    #[serde(default)]
    pub(crate) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(crate) grant_types: Vec<String>,
    /// Only `code` is supported; the core checks `response_type` itself.
    #[serde(default)]
    pub(crate) response_types: Vec<String>,
    #[serde(default)]
    pub(crate) scope: String,
    pub(crate) token_endpoint_auth_method: Option<String>,
    /// The client's public keys (`{"keys": [...]}`): for `private_key_jwt`,
    /// and for any client the keys its request objects are signed with.
    pub(crate) jwks: Option<Value>,
    /// `opaque` (default) or `jwt`. A value that is neither is left out
    /// with a note.
    pub(crate) access_token_format: Option<Value>,
    /// Access token lifetime in seconds (the server's default otherwise).
    /// A value that is no positive number is left out with a note.
    pub(crate) access_token_lifetime: Option<Value>,
    /// The OpenID Connect registration fields.
    #[serde(flatten)]
    pub(crate) openid: SeedOpenId,
    /// RFC 9126 §6: every authorization request of the client is pushed
    /// (PA-02). A value that is no boolean is left out with a note.
    pub(crate) require_pushed_authorization_requests: Option<Value>,
    /// RFC 9101 §10.5: every authorization request of the client is a
    /// signed request object (JR-01). Left out with a note when no boolean.
    pub(crate) require_signed_request_object: Option<Value>,
    /// RFC 9449 §5.2: the client's access tokens are DPoP-bound, so every
    /// token request carries a proof (DP-02). Left out with a note when no
    /// boolean.
    pub(crate) dpop_bound_access_tokens: Option<Value>,
    /// The rest of the RFC 7591 and OpenID Connect registration fields
    /// (issue 19, seed contract v2).
    #[serde(flatten)]
    pub(crate) registration: SeedRegistration,
    /// Every other field: not supported yet.
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, Value>,
}

/// The registration fields of a seed client beyond the OAuth essentials
/// and [`SeedOpenId`] (issue 19, seed contract v2): the rest of RFC 7591 §2
/// and OpenID Connect Registration 1.0 §2, Ory Hydra's `owner`,
/// `metadata`, `skip_consent` and `allowed_cors_origins`, and the client's
/// own `resources` and `refresh_token_lifetime`. Kept
/// as JSON values and read by [`seed_registration`]: a bad value costs a
/// note and that field only.
#[derive(Deserialize, Default)]
pub(crate) struct SeedRegistration {
    /// `web` or `native`.
    pub(crate) application_type: Option<Value>,
    /// A list of strings (e-mail addresses).
    pub(crate) contacts: Option<Value>,
    /// An `https` URL (plain `http` on loopback); not with `jwks`.
    pub(crate) jwks_uri: Option<Value>,
    pub(crate) software_id: Option<Value>,
    pub(crate) software_version: Option<Value>,
    /// Unix seconds, `0` for never.
    pub(crate) client_secret_expires_at: Option<Value>,
    pub(crate) token_endpoint_auth_signing_alg: Option<Value>,
    pub(crate) request_object_signing_alg: Option<Value>,
    /// Browser origins (`https://app.example`).
    pub(crate) allowed_cors_origins: Option<Value>,
    pub(crate) owner: Option<Value>,
    /// A JSON object.
    pub(crate) metadata: Option<Value>,
    /// A boolean: users are not asked for consent.
    pub(crate) skip_consent: Option<Value>,
    /// Seconds.
    pub(crate) refresh_token_lifetime: Option<Value>,
    /// RFC 8707 resources the client may ask tokens for, beside the seed's
    /// `resources`.
    pub(crate) resources: Option<Value>,
}

/// The OpenID Connect registration fields of a seed client (OpenID Connect
/// Registration 1.0 §2, RP-Initiated Logout 1.0 §3.1, Back-Channel Logout
/// 1.0 §2.2), by their registration names. Kept as JSON values and read by
/// [`seed_client`], so that a bad value (of any JSON type) costs a note and
/// that field only, never the seed.
#[derive(Deserialize, Default)]
pub(crate) struct SeedOpenId {
    /// Exact-match URIs, like `redirect_uris`.
    pub(crate) post_logout_redirect_uris: Option<Value>,
    pub(crate) backchannel_logout_uri: Option<Value>,
    pub(crate) backchannel_logout_session_required: Option<Value>,
    /// `public` or `pairwise`.
    pub(crate) subject_type: Option<Value>,
    /// `RS256`, `ES256` or `EdDSA`.
    pub(crate) id_token_signed_response_alg: Option<Value>,
    pub(crate) userinfo_signed_response_alg: Option<Value>,
    pub(crate) sector_identifier_uri: Option<Value>,
    pub(crate) require_auth_time: Option<Value>,
    /// Seconds.
    pub(crate) default_max_age: Option<Value>,
    pub(crate) logo_uri: Option<Value>,
    pub(crate) policy_uri: Option<Value>,
    pub(crate) tos_uri: Option<Value>,
    pub(crate) client_uri: Option<Value>,
}

/// One user of the seed file.
#[derive(Deserialize)]
pub(crate) struct SeedUser {
    pub(crate) username: String,
    pub(crate) password: String,
    /// OpenID Connect standard claims (Core 5.1), added by scope to the
    /// user's JWT access tokens (see [`SeedClaims`]).
    pub(crate) claims: Option<Map<String, Value>>,
    /// Every other field: not supported yet.
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, Value>,
}

/// Something in the seed the server does not support yet, left out: one
/// per field (or grant type, or response type). Names the entry and the
/// field, never a value that could be a secret.
pub(crate) struct Ignored {
    /// `seed`, `client <id>` or `user <name>`.
    pub(crate) entry: String,
    /// The field, with the value when that is the unsupported part
    /// (`grant_types urn:...:device_code`).
    pub(crate) field: String,
    /// What was done about it.
    pub(crate) why: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ignored: {}", self.entry, self.field, self.why)
    }
}

/// Collects the notes of one seed entry.
struct Notes<'a> {
    entry: String,
    out: &'a mut Vec<Ignored>,
}

impl Notes<'_> {
    fn note(&mut self, field: impl Into<String>, why: impl Into<String>) {
        self.out.push(Ignored {
            entry: self.entry.clone(),
            field: field.into(),
            why: why.into(),
        });
    }

    /// One note per field the server does not know or support yet.
    fn unsupported(&mut self, other: &BTreeMap<String, Value>) {
        for field in other.keys() {
            self.note(field.clone(), "not supported yet");
        }
    }
}

/// Parses a seed file's bytes (JSON).
pub(crate) fn parse(text: &[u8]) -> Result<Seed, String> {
    serde_json::from_slice(text).map_err(|e| format!("not a seed file: {e}"))
}

/// How a seeded client authenticates: its `token_endpoint_auth_method`, or
/// when absent `client_secret_basic` with a secret, `private_key_jwt` with
/// keys and `none` with neither. `None` for a method the server does not
/// support.
fn auth_method(c: &SeedClient) -> Option<AuthMethod> {
    match &c.token_endpoint_auth_method {
        Some(m) => AuthMethod::parse(m),
        None if c.client_secret.is_some() => Some(AuthMethod::ClientSecretBasic),
        None if c.jwks.is_some() => Some(AuthMethod::PrivateKeyJwt),
        None => Some(AuthMethod::None),
    }
}

/// The client a seed entry describes, or `None` when the server cannot
/// authenticate it (noted in `ignored`). People-chosen secrets are hashed
/// with `iterations` rounds of PBKDF2 (the demo's cost in the demo, one
/// round when fuzzing).
pub(crate) fn seed_client(
    c: &SeedClient,
    config: &Config,
    iterations: NonZeroU32,
    random: &dyn RandomSource,
    ignored: &mut Vec<Ignored>,
) -> Result<Option<Client>, String> {
    let id = ClientId::parse(&c.client_id).ok_or(format!("bad client_id {:?}", c.client_id))?;
    let mut notes = Notes {
        entry: format!("client {}", c.client_id),
        out: ignored,
    };
    let Some(method) = auth_method(c) else {
        let m = c.token_endpoint_auth_method.as_deref().unwrap_or_default();
        notes.note(
            format!("token_endpoint_auth_method {m}"),
            "not supported yet; the client is not registered",
        );
        return Ok(None);
    };
    let needs_secret = || format!("client {}: {method} needs a client_secret", c.client_id);
    let mut b = match method {
        AuthMethod::None => Client::public(id),
        AuthMethod::PrivateKeyJwt => {
            // Keys published at a usable `jwks_uri` (issue 19) stand in for
            // inline ones: the client is registered with it.
            let uri = c.registration.jwks_uri.as_ref().and_then(Value::as_str);
            let uri = uri
                .and_then(WebUrl::parse)
                .filter(|u| u.is_https() || u.is_loopback());
            match (&c.jwks, uri) {
                (Some(jwks), _) => Client::private_key_jwt(id, jwks.to_string()),
                (None, Some(uri)) => Client::private_key_jwt_uri(id, uri),
                (None, None) => {
                    notes.note(
                        "token_endpoint_auth_method private_key_jwt",
                        "only inline jwks are supported; the client is not registered",
                    );
                    return Ok(None);
                }
            }
        }
        AuthMethod::ClientSecretJwt => {
            let secret = c.client_secret.clone().ok_or_else(needs_secret)?;
            Client::client_secret_jwt(id, Secret::new(secret))
        }
        // client_secret_basic, client_secret_post (and any later method).
        _ => {
            let secret = c.client_secret.as_deref().ok_or_else(needs_secret)?;
            let hash = if c.generated {
                SecretHash::sha256(secret)
            } else {
                // Seed secrets are chosen by people: hash them slowly.
                SecretHash::pbkdf2(secret, iterations, random).map_err(|e| e.to_string())?
            };
            Client::confidential(id, hash).token_endpoint_auth_method(method)
        }
    };
    let uses_secret = matches!(
        method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost | AuthMethod::ClientSecretJwt
    );
    if c.client_secret.is_some() && !uses_secret {
        notes.note("client_secret", format!("a {method} client has no secret"));
    }
    // Any client may register keys: a `private_key_jwt` client signs its
    // assertions with them, and every client its request objects (JR-01).
    if let (Some(jwks), false) = (&c.jwks, method == AuthMethod::PrivateKeyJwt) {
        b = b.jwks(Some(jwks.to_string()));
    }
    if !config.profile.allows_client_authentication(method) {
        notes.note(
            format!("token_endpoint_auth_method {method}"),
            format!(
                "the {} profile serves only private_key_jwt clients; this client is refused",
                config.profile
            ),
        );
    }
    if let Some(name) = &c.client_name {
        b = b.client_name(name);
    }
    for uri in &c.redirect_uris {
        b = b.redirect_uri(RedirectUri::parse(uri).ok_or(format!("bad redirect URI {uri}"))?);
    }
    for g in &c.grant_types {
        match GrantType::parse(g) {
            // FAPI 2.0 §5.3.2.1-2: no password grant; the client keeps it
            // listed, and cannot use it.
            Some(GrantType::Password) if config.profile != Profile::Default => notes.note(
                format!("grant_types {g}"),
                format!("not offered under the {} profile", config.profile),
            ),
            // Token exchange: on with the demo's rule (`exchange.rs`).
            None => notes.note(format!("grant_types {g}"), "grant type not supported yet"),
            Some(grant) => b = b.grant_type(grant),
        }
    }
    for r in c.response_types.iter().filter(|r| *r != "code") {
        notes.note(format!("response_types {r}"), "only code is supported");
    }
    let scope = ScopeSet::parse(&c.scope).ok_or(format!("bad scope {:?}", c.scope))?;
    b = b.scope(scope);
    let v = c.access_token_format.as_ref();
    if let Some(f) = field(
        &mut notes,
        "access_token_format",
        v,
        string::<AccessTokenFormat>,
    ) {
        b = b.access_token_format(f);
    }
    let v = c.access_token_lifetime.as_ref();
    if let Some(l) = field(&mut notes, "access_token_lifetime", v, seconds) {
        b = b.access_token_lifetime(l);
    }
    b = seed_openid(b, &c.openid, method, config, &mut notes);
    let flag = c.require_pushed_authorization_requests.as_ref();
    if let Some(v) = field(
        &mut notes,
        "require_pushed_authorization_requests",
        flag,
        boolean,
    ) {
        b = b.require_pushed_authorization_requests(v);
    }
    let flag = c.require_signed_request_object.as_ref();
    if let Some(v) = field(&mut notes, "require_signed_request_object", flag, boolean) {
        b = b.require_signed_request_object(v);
    }
    let flag = c.dpop_bound_access_tokens.as_ref();
    if let Some(v) = field(&mut notes, "dpop_bound_access_tokens", flag, boolean) {
        b = b.dpop_bound_access_tokens(v);
    }
    b = seed_registration(b, &c.registration, &mut notes);
    notes.unsupported(&c.other);
    match b.clone().build() {
        Ok(client) => Ok(Some(client)),
        // Keys only for request objects: the client without them.
        Err(ClientError::InvalidJwks) if method != AuthMethod::PrivateKeyJwt => {
            notes.note(
                "jwks",
                "no key the server supports (EC P-256, Ed25519, RSA); \
                 the client is registered without keys",
            );
            b.jwks(None)
                .build()
                .map(Some)
                .map_err(|e| format!("client {}: {e}", c.client_id))
        }
        // No key the server can check a signature with (a P-384 key, say).
        Err(ClientError::InvalidJwks) => {
            notes.note(
                "jwks",
                "no key the server supports (EC P-256, Ed25519, RSA); the client is not registered",
            );
            Ok(None)
        }
        Err(e) => Err(format!("client {}: {e}", c.client_id)),
    }
}

/// Reads one OpenID Connect field: `None` when absent; a note and `None`
/// when its value does not parse.
fn field<T>(
    notes: &mut Notes<'_>,
    name: &str,
    value: Option<&Value>,
    parse: impl FnOnce(&Value) -> Result<T, String>,
) -> Option<T> {
    match parse(value?) {
        Ok(v) => Some(v),
        Err(why) => {
            notes.note(name, why);
            None
        }
    }
}

fn string<T: std::str::FromStr>(v: &Value) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    v.as_str()
        .ok_or_else(|| "not a string".to_owned())?
        .parse()
        .map_err(|e: T::Err| e.to_string())
}

fn boolean(v: &Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| "not true or false".to_owned())
}

/// Whether a URI would carry a response in the clear over the network: plain
/// `http` to a host other than the loopback interface (the client model
/// refuses such logout URIs).
fn off_loopback_http(uri: &RedirectUri) -> bool {
    WebUrl::parse(uri.as_str()).is_some_and(|u| !u.is_https() && !u.is_loopback())
}

/// Sets the OpenID Connect registration fields of `o` on `b`; a field
/// whose value is bad, or that the client model would refuse (plain `http`
/// logout URIs off loopback, `pairwise` without a sector), is left out
/// with a note.
fn seed_openid(
    mut b: ClientBuilder,
    o: &SeedOpenId,
    method: AuthMethod,
    config: &Config,
    notes: &mut Notes<'_>,
) -> ClientBuilder {
    let uris = o.post_logout_redirect_uris.as_ref();
    let list = field(notes, "post_logout_redirect_uris", uris, |v| {
        v.as_array()
            .ok_or_else(|| "not a list".to_owned())?
            .iter()
            .map(string::<RedirectUri>)
            .collect::<Result<Vec<_>, _>>()
    });
    for uri in list.unwrap_or_default() {
        if off_loopback_http(&uri) {
            notes.note(
                "post_logout_redirect_uris",
                "plain http is allowed on loopback only; that URI is not registered",
            );
        } else {
            b = b.post_logout_redirect_uri(uri);
        }
    }
    let bcl = field(
        notes,
        "backchannel_logout_uri",
        o.backchannel_logout_uri.as_ref(),
        string::<WebUrl>,
    );
    match bcl {
        Some(u) if !u.is_https() && method == AuthMethod::None => notes.note(
            "backchannel_logout_uri",
            "plain http is allowed for confidential clients only",
        ),
        Some(u) => b = b.backchannel_logout_uri(u),
        None => {}
    }
    let v = o.backchannel_logout_session_required.as_ref();
    if let Some(v) = field(notes, "backchannel_logout_session_required", v, boolean) {
        b = b.backchannel_logout_session_required(v);
    }
    let v = o.require_auth_time.as_ref();
    if let Some(v) = field(notes, "require_auth_time", v, boolean) {
        b = b.require_auth_time(v);
    }
    let v = o.default_max_age.as_ref();
    if let Some(secs) = field(notes, "default_max_age", v, |v| {
        v.as_u64()
            .ok_or_else(|| "not a number of seconds".to_owned())
    }) {
        b = b.default_max_age(std::time::Duration::from_secs(secs));
    }
    let v = o.id_token_signed_response_alg.as_ref();
    // The server signs ID Tokens and UserInfo with its ID Token
    // algorithms only (under FAPI 2.0: PS256, ES256, EdDSA).
    let served = |v: &Value| {
        let alg = string::<Algorithm>(v)?;
        if config.id_token_signing_algs.contains(&alg) {
            Ok(alg)
        } else {
            Err(format!("the server does not sign with {alg}"))
        }
    };
    if let Some(alg) = field(notes, "id_token_signed_response_alg", v, served) {
        b = b.id_token_signed_response_alg(alg);
    }
    let v = o.userinfo_signed_response_alg.as_ref();
    if let Some(alg) = field(notes, "userinfo_signed_response_alg", v, served) {
        b = b.userinfo_signed_response_alg(alg);
    }
    for (name, value, set) in [
        (
            "logo_uri",
            &o.logo_uri,
            ClientBuilder::logo_uri as fn(_, _) -> _,
        ),
        ("policy_uri", &o.policy_uri, ClientBuilder::policy_uri),
        ("tos_uri", &o.tos_uri, ClientBuilder::tos_uri),
        ("client_uri", &o.client_uri, ClientBuilder::client_uri),
    ] {
        if let Some(u) = field(notes, name, value.as_ref(), string::<WebUrl>) {
            b = set(b, Some(u));
        }
    }
    let v = o.sector_identifier_uri.as_ref();
    match field(notes, "sector_identifier_uri", v, string::<WebUrl>) {
        Some(u) if !u.is_https() && !u.is_loopback() => notes.note(
            "sector_identifier_uri",
            "must use https (plain http on loopback only)",
        ),
        Some(u) => b = b.sector_identifier_uri(u),
        None => {}
    }
    let v = o.subject_type.as_ref();
    if let Some(t) = field(notes, "subject_type", v, string::<SubjectType>) {
        let with = b.clone().subject_type(t);
        match with.clone().build() {
            Err(ClientError::MissingSectorIdentifier) => notes.note(
                "subject_type pairwise",
                "needs a sector_identifier_uri or redirect URIs on one host; subjects stay public",
            ),
            _ => b = with,
        }
    }
    b
}

/// A positive number of seconds.
fn seconds(v: &Value) -> Result<std::time::Duration, String> {
    match v.as_u64() {
        Some(n) if n > 0 => Ok(std::time::Duration::from_secs(n)),
        _ => Err("not a positive number of seconds".to_owned()),
    }
}

/// A list of `T`s; any entry that does not parse refuses the list.
fn list_of<T: std::str::FromStr>(v: &Value) -> Result<Vec<T>, String>
where
    T::Err: fmt::Display,
{
    v.as_array()
        .ok_or_else(|| "not a list".to_owned())?
        .iter()
        .map(string::<T>)
        .collect()
}

/// Sets `set(b)` unless the client model then refuses the client for a
/// reason it did not refuse it for before (a registration rule: `jwks`
/// with `jwks_uri`, a native client's redirect URIs, an algorithm that
/// does not fit the method, ...): then the field is left out with a note
/// saying why.
fn checked(
    b: ClientBuilder,
    notes: &mut Notes<'_>,
    name: &str,
    set: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> ClientBuilder {
    let before = b.clone().build().err();
    let with = set(b.clone());
    match with.clone().build() {
        Err(e) if Some(e) != before => {
            notes.note(name, e.to_string());
            b
        }
        _ => with,
    }
}

/// Sets the registration fields of `r` (issue 19) on `b`; a field whose
/// value is bad, or that the client model refuses, is left out with a
/// note.
fn seed_registration(
    mut b: ClientBuilder,
    r: &SeedRegistration,
    notes: &mut Notes<'_>,
) -> ClientBuilder {
    let v = r.application_type.as_ref();
    if let Some(t) = field(notes, "application_type", v, string::<ApplicationType>) {
        b = checked(b, notes, "application_type", |b| b.application_type(t));
    }
    let v = r.contacts.as_ref();
    if let Some(list) = field(notes, "contacts", v, list_of::<String>) {
        b = checked(b, notes, "contacts", |mut b| {
            for c in list {
                b = b.contact(c);
            }
            b
        });
    }
    let v = r.jwks_uri.as_ref();
    if let Some(u) = field(notes, "jwks_uri", v, string::<WebUrl>) {
        b = checked(b, notes, "jwks_uri", |b| b.jwks_uri(u));
    }
    for (name, value, set) in [
        (
            "software_id",
            &r.software_id,
            ClientBuilder::software_id as fn(ClientBuilder, Option<String>) -> ClientBuilder,
        ),
        (
            "software_version",
            &r.software_version,
            ClientBuilder::software_version,
        ),
        ("owner", &r.owner, ClientBuilder::owner),
    ] {
        if let Some(text) = field(notes, name, value.as_ref(), string::<String>) {
            b = checked(b, notes, name, |b| set(b, Some(text)));
        }
    }
    let v = r.client_secret_expires_at.as_ref();
    if let Some(secs) = field(notes, "client_secret_expires_at", v, |v| {
        v.as_u64()
            .ok_or_else(|| "not a number of seconds".to_owned())
    }) {
        // RFC 7591 §3.2.1: 0 is never.
        let at = (secs != 0).then(|| UnixTime::from_secs(secs));
        b = b.client_secret_expires_at(at);
    }
    let v = r.token_endpoint_auth_signing_alg.as_ref();
    let name = "token_endpoint_auth_signing_alg";
    if let Some(alg) = field(notes, name, v, string::<ClientSigningAlg>) {
        b = checked(b, notes, name, |b| b.token_endpoint_auth_signing_alg(alg));
    }
    let v = r.request_object_signing_alg.as_ref();
    let name = "request_object_signing_alg";
    if let Some(alg) = field(notes, name, v, string::<ClientSigningAlg>) {
        b = checked(b, notes, name, |b| b.request_object_signing_alg(alg));
    }
    b = seed_cors_origins(b, r.allowed_cors_origins.as_ref(), notes);
    let v = r.metadata.as_ref();
    if let Some(m) = field(notes, "metadata", v, |v| {
        v.as_object()
            .cloned()
            .ok_or_else(|| "not a JSON object".to_owned())
    }) {
        b = b.metadata(m);
    }
    let v = r.skip_consent.as_ref();
    if let Some(skip) = field(notes, "skip_consent", v, boolean) {
        b = b.skip_consent(skip);
    }
    let v = r.refresh_token_lifetime.as_ref();
    if let Some(l) = field(notes, "refresh_token_lifetime", v, seconds) {
        b = b.refresh_token_lifetime(l);
    }
    let v = r.resources.as_ref();
    if let Some(list) = field(notes, "resources", v, list_of::<Resource>) {
        for res in list {
            b = b.resource(res);
        }
    }
    b
}

/// The seeded users' claims (OpenID Connect Core 5.1), added to their JWT
/// access tokens by scope (Core 5.4: `profile`, `email`, `address`,
/// `phone`), unchanged: numbers stay numbers, `address` an object; and
/// the demo's own `may_act` (an object, RFC 8693 §4.4) in every one. Keyed
/// by subject (the user id tokens carry); the core writes `sub` itself.
#[derive(Default)]
pub(crate) struct SeedClaims {
    by_user: HashMap<UserId, Map<String, Value>>,
}

impl ClaimsHook for SeedClaims {
    fn claims(
        &self,
        _client: &Client,
        user: Option<&UserId>,
        scope: &ScopeSet,
    ) -> Map<String, Value> {
        let Some(claims) = user.and_then(|u| self.by_user.get(u)) else {
            return Map::new();
        };
        let mut out: Map<String, Value> = scope
            .iter()
            .flat_map(|granted| scope_claims(granted.as_str()))
            .filter_map(|name| Some(((*name).to_owned(), claims.get(*name)?.clone())))
            .collect();
        // The demo's own: `claims.may_act` (RFC 8693 §4.4), who alone may
        // act for the user in a token exchange, whatever the scope.
        if let Some(may_act) = claims.get("may_act").filter(|v| v.is_object()) {
            out.insert("may_act".to_owned(), may_act.clone());
        }
        out
    }
}

/// A checked seed: the server's configuration (the issuer, and the password
/// grant if a client uses it), its clients, its users and their claims, and
/// what was ignored.
pub(crate) struct Loaded {
    pub(crate) config: Config,
    pub(crate) clients: Vec<Client>,
    pub(crate) users: MemoryUsers,
    /// Each user once (the last entry of a username), in seed order.
    pub(crate) people: Vec<Person>,
    pub(crate) claims: SeedClaims,
    pub(crate) ignored: Vec<Ignored>,
    /// The ids of the clients left out (each also has a note in `ignored`,
    /// which the demo logs; the fuzz harness checks them).
    #[allow(dead_code)]
    pub(crate) left_out: Vec<String>,
}

/// Checks every entry of `seed` and hashes its secrets and passwords with
/// `iterations` rounds of PBKDF2. The issuer itself is checked when the
/// server is built from the configuration.
#[allow(dead_code)] // the fuzz harness's and the tests'; the demo names its profile
pub(crate) fn load(
    seed: &Seed,
    iterations: NonZeroU32,
    random: &dyn RandomSource,
) -> Result<Loaded, String> {
    load_in(seed, Profile::Default, iterations, random)
}

/// [`load`] for a server in `profile`: under the FAPI 2.0 Security Profile
/// the configuration starts from `Config::fapi2_security_profile`, the
/// password grant is not offered (a client listing it cannot use it), and
/// each client the profile does not serve (any but `private_key_jwt`) is
/// registered, refused by the server, and noted. Every seed that starts the
/// demo in its default profile starts it in this one.
pub(crate) fn load_in(
    seed: &Seed,
    profile: Profile,
    iterations: NonZeroU32,
    random: &dyn RandomSource,
) -> Result<Loaded, String> {
    let mut ignored = Vec::new();
    Notes {
        entry: "seed".into(),
        out: &mut ignored,
    }
    .unsupported(&seed.other);
    let mut config = match profile {
        Profile::Fapi2Security => Config::fapi2_security_profile(seed.issuer.clone()),
        _ => Config::new(seed.issuer.clone()),
    };
    config.resources = seed_resources(seed.resources.as_ref(), &mut ignored);
    let (mut clients, mut left_out) = (Vec::new(), Vec::new());
    for c in &seed.clients {
        // A later entry of a client id replaces an earlier one, even when
        // the later one cannot be registered.
        clients.retain(|k: &Client| k.client_id().as_str() != c.client_id);
        left_out.retain(|k| *k != c.client_id);
        match seed_client(c, &config, iterations, random, &mut ignored)? {
            Some(client) => clients.push(client),
            None => left_out.push(c.client_id.clone()),
        }
    }
    if config.profile == Profile::Default
        && clients.iter().any(|c| c.allows_grant(GrantType::Password))
    {
        config.grant_types.push(GrantType::Password);
    }
    if clients
        .iter()
        .any(|c| c.subject_type() == SubjectType::Pairwise)
    {
        // From the seed file when the demo started from one (the same on
        // every instance started with it, and across restarts); otherwise
        // random, living as long as the process: pairwise subjects then
        // change when it restarts. A real server keeps its salt.
        let salt = match &seed.pairwise_salt_seed {
            Some(salt) => salt.clone(),
            None => {
                let mut salt = vec![0; 32];
                random
                    .fill(&mut salt)
                    .map_err(|e| format!("cannot generate the pairwise salt: {e}"))?;
                salt
            }
        };
        config.pairwise_salt = Some(Secret::new(salt));
    }
    let users = MemoryUsers::new(iterations).map_err(|e| e.to_string())?;
    let people = people(&seed.users, &mut ignored)?;
    let mut claims = SeedClaims::default();
    for (u, p) in people.iter() {
        users
            .insert_with_id(
                &p.username,
                p.subject.clone(),
                &Secret::new(u.password.clone()),
            )
            .map_err(|e| format!("user {:?}: {e}", p.username))?;
        claims.by_user.insert(p.subject.clone(), p.claims.clone());
    }
    let people = people.into_iter().map(|(_, p)| p).collect();
    Ok(Loaded {
        config,
        clients,
        users,
        people,
        claims,
        ignored,
        left_out,
    })
}

/// A client's `allowed_cors_origins` (CO-01): each origin on `b`; a value
/// that is not a list leaves them all out, an entry that is no origin
/// (`https`, or `http` on loopback, without a path) that entry; a note each.
fn seed_cors_origins(
    mut b: ClientBuilder,
    value: Option<&Value>,
    notes: &mut Notes<'_>,
) -> ClientBuilder {
    let Some(value) = value else {
        return b;
    };
    let Some(list) = value.as_array() else {
        notes.note("allowed_cors_origins", "not a list");
        return b;
    };
    for v in list {
        match string::<Origin>(v) {
            Ok(origin) => b = b.allowed_cors_origin(origin),
            Err(why) => notes.note("allowed_cors_origins", why),
        }
    }
    b
}

/// The seed's `resources`: each RFC 8707 resource indicator once, in seed
/// order. A value that is not a list leaves them all out, an entry that is
/// no absolute URI without fragment (or no string) that entry; a note each.
fn seed_resources(value: Option<&Value>, ignored: &mut Vec<Ignored>) -> Vec<Resource> {
    let mut notes = Notes {
        entry: "seed".into(),
        out: ignored,
    };
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(list) = value.as_array() else {
        notes.note("resources", "not a list");
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in list {
        match string::<Resource>(v) {
            Ok(r) if !out.contains(&r) => out.push(r),
            Ok(_) => {}
            Err(why) => notes.note("resources", why),
        }
    }
    out
}

/// A seeded user as the server knows them: the name they sign in with,
/// their subject (the user id, `sub` of their tokens) and their claims.
pub(crate) struct Person {
    pub(crate) username: String,
    /// The seed's `claims.sub` when it is a usable one, else the username.
    pub(crate) subject: UserId,
    /// The seed's `claims`, `sub` included.
    pub(crate) claims: Map<String, Value>,
}

/// Each user of the seed once (the last entry of a username defines it,
/// claims included), with their subject: the seed's `claims.sub` (the
/// contract: "With a `sub` given, that is the user's subject"), or without
/// one the username, which is the stable identifier the server picks (a
/// seed's usernames are unique and do not change while the seed keeps
/// the user). A `sub` that is no user id (not a string, empty, over 255
/// bytes, a control character) or that would make two users one (another
/// user's `sub`, or another user's username, which that user's subject
/// may be) is left out with a note: that user's subject is their
/// username. Subjects are therefore unique, and a username never changes
/// owner. A username that is no user id refuses the seed, as before
/// subjects could differ from usernames.
fn people<'a>(
    users: &'a [SeedUser],
    ignored: &mut Vec<Ignored>,
) -> Result<Vec<(&'a SeedUser, Person)>, String> {
    let mut last: Vec<&SeedUser> = Vec::new();
    for u in users {
        last.retain(|k| k.username != u.username);
        last.push(u);
    }
    let mut out: Vec<(&SeedUser, Person)> = Vec::with_capacity(last.len());
    for u in &last {
        let mut notes = Notes {
            entry: format!("user {}", u.username),
            out: ignored,
        };
        notes.unsupported(&u.other);
        let claims = u.claims.clone().unwrap_or_default();
        let given = claims.get("sub").map(|sub| {
            sub.as_str().ok_or("not a string").and_then(|s| {
                UserId::parse(s).ok_or("not a user id (1 to 255 bytes, no control character)")
            })
        });
        let subject = match given {
            Some(Ok(sub)) if sub.as_str() == u.username => Some(sub),
            Some(Ok(sub)) => {
                let taken = last.iter().any(|k| k.username == sub.as_str())
                    || out.iter().any(|(_, p)| p.subject == sub);
                if taken {
                    notes.note(
                        "claims.sub",
                        "another user has this subject or username; the subject is the username",
                    );
                    None
                } else {
                    Some(sub)
                }
            }
            Some(Err(why)) => {
                notes.note("claims.sub", format!("{why}; the subject is the username"));
                None
            }
            None => None,
        };
        let Some(subject) = subject.or_else(|| UserId::parse(&u.username)) else {
            return Err(format!("user {:?}: invalid username", u.username));
        };
        out.push((
            u,
            Person {
                username: u.username.clone(),
                subject,
                claims,
            },
        ));
    }
    Ok(out)
}

/// Stores the clients, replacing those already there (a persistent store
/// keeps clients across restarts, and a later entry of the seed replaces an
/// earlier one with the same id).
pub(crate) async fn save_clients(
    store: &dyn ClientAdmin,
    clients: Vec<Client>,
) -> Result<(), String> {
    for client in clients {
        let id = client.client_id().as_str().to_owned();
        let saved = match store.update_client(client.clone()).await {
            Ok(true) => Ok(()),
            Ok(false) => store.insert_client(client).await,
            Err(e) => Err(e),
        };
        saved.map_err(|e| format!("client {id}: {e}"))?;
    }
    Ok(())
}
