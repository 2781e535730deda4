//! `client create | update | list | show | delete`.

use std::time::Duration;

use portcullis::{
    AccessTokenFormat, Algorithm, Audience, AuthMethod, Client, ClientError, ClientId,
    ClientSigningAlg, GrantType, OpenIdRegistration, RandomSource as _, RedirectUri,
    RegistrationFields, Resource, ScopeSet, Secret, SecretHash, SystemRandom, UnixTime, WebUrl,
    generate_secret,
};
use serde::Serialize;

use crate::output::{Output, fields, list, opt, opt_time, table};
use crate::{
    ClientCommand, CreateArgs, Ctx, Failure, ListArgs, OpenIdCreateArgs, OpenIdUpdateArgs,
    RegistrationCreateArgs, RegistrationUpdateArgs, UpdateArgs,
};

/// A client as printed: the RFC 7591 names, and never a secret or a hash.
#[derive(Serialize)]
pub(crate) struct ClientView {
    client_id: String,
    client_name: String,
    /// `confidential` or `public`.
    client_type: &'static str,
    token_endpoint_auth_method: &'static str,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    scope: String,
    default_scope: Option<String>,
    enabled: bool,
    skip_consent: bool,
    allow_plain_pkce: bool,
    access_token_format: &'static str,
    access_token_lifetime: Option<u64>,
    refresh_token_lifetime: Option<u64>,
    resource_server_audiences: Vec<String>,
    /// `null`: the server's default (RS256).
    id_token_signed_response_alg: Option<&'static str>,
    /// `null`: plain JSON.
    userinfo_signed_response_alg: Option<&'static str>,
    subject_type: &'static str,
    sector_identifier_uri: Option<String>,
    /// Derived: the host pairwise subjects are computed for.
    sector_identifier: Option<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    require_auth_time: bool,
    default_max_age: Option<u64>,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    client_uri: Option<String>,
    // Pushed and signed authorization requests (issue 17, PA-02, JR-01).
    /// The public JWKS document; `null` without one.
    jwks: Option<serde_json::Value>,
    require_pushed_authorization_requests: bool,
    require_signed_request_object: bool,
    // DPoP and resource indicators (issue 17, DP-02, RI-01).
    dpop_bound_access_tokens: bool,
    /// The resources (RFC 8707) the client may ask tokens for, beside the
    /// server's.
    resources: Vec<String>,
    // The full client model (issue 19).
    /// `web` or `native`.
    application_type: &'static str,
    /// As registered, in order.
    contacts: Vec<String>,
    jwks_uri: Option<String>,
    software_id: Option<String>,
    software_version: Option<String>,
    /// Unix seconds; `0` for never (RFC 7591 §3.2.1).
    client_secret_expires_at: u64,
    /// `null`: any algorithm the server allows.
    token_endpoint_auth_signing_alg: Option<&'static str>,
    /// `null`: any algorithm the server allows.
    request_object_signing_alg: Option<&'static str>,
    /// Sorted.
    allowed_cors_origins: Vec<String>,
    owner: Option<String>,
    /// The free-form object; `{}` for none.
    metadata: portcullis::ClientMetadataObject,
}

fn url(u: Option<&WebUrl>) -> Option<String> {
    u.map(|u| u.as_str().to_owned())
}

impl ClientView {
    fn of(c: &Client) -> Self {
        // Sorted as the stores return them, so `create`, `update` and
        // `show` print one client the same way.
        let mut redirect_uris: Vec<String> = c
            .redirect_uris()
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect();
        redirect_uris.sort_unstable();
        let mut grants = c.grant_types().to_vec();
        grants.sort_unstable();
        let mut audiences: Vec<String> = c
            .resource_server_audiences()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        audiences.sort_unstable();
        let mut post_logout_redirect_uris: Vec<String> = c
            .post_logout_redirect_uris()
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect();
        post_logout_redirect_uris.sort_unstable();
        let mut resources: Vec<String> = c
            .resources()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect();
        resources.sort_unstable();
        let mut origins: Vec<String> = c
            .allowed_cors_origins()
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect();
        origins.sort_unstable();
        Self {
            client_id: c.client_id().to_string(),
            client_name: c.client_name().to_owned(),
            client_type: if c.is_confidential() {
                "confidential"
            } else {
                "public"
            },
            token_endpoint_auth_method: c.token_endpoint_auth_method().as_str(),
            redirect_uris,
            grant_types: grants.iter().map(ToString::to_string).collect(),
            scope: c.scope().to_string(),
            default_scope: c.default_scope().map(ToString::to_string),
            enabled: c.is_enabled(),
            skip_consent: c.skips_consent(),
            allow_plain_pkce: c.allows_plain_pkce(),
            access_token_format: c.access_token_format().as_str(),
            access_token_lifetime: c.access_token_lifetime().map(|d| d.as_secs()),
            refresh_token_lifetime: c.refresh_token_lifetime().map(|d| d.as_secs()),
            resource_server_audiences: audiences,
            id_token_signed_response_alg: c.id_token_signed_response_alg().map(Algorithm::as_str),
            userinfo_signed_response_alg: c.userinfo_signed_response_alg().map(Algorithm::as_str),
            subject_type: c.subject_type().as_str(),
            sector_identifier_uri: url(c.sector_identifier_uri()),
            sector_identifier: c.sector_identifier().map(str::to_owned),
            post_logout_redirect_uris,
            backchannel_logout_uri: url(c.backchannel_logout_uri()),
            backchannel_logout_session_required: c.backchannel_logout_session_required(),
            require_auth_time: c.require_auth_time(),
            default_max_age: c.default_max_age().map(|d| d.as_secs()),
            logo_uri: url(c.logo_uri()),
            policy_uri: url(c.policy_uri()),
            tos_uri: url(c.tos_uri()),
            client_uri: url(c.client_uri()),
            jwks: c.jwks().and_then(|j| serde_json::from_str(j).ok()),
            require_pushed_authorization_requests: c.requires_pushed_authorization_requests(),
            require_signed_request_object: c.requires_signed_request_object(),
            dpop_bound_access_tokens: c.dpop_bound_access_tokens(),
            resources,
            application_type: c.application_type().as_str(),
            contacts: c.contacts().to_vec(),
            jwks_uri: url(c.jwks_uri()),
            software_id: c.software_id().map(str::to_owned),
            software_version: c.software_version().map(str::to_owned),
            client_secret_expires_at: c.client_secret_expires_at().map_or(0, UnixTime::as_secs),
            token_endpoint_auth_signing_alg: c
                .token_endpoint_auth_signing_alg()
                .map(ClientSigningAlg::as_str),
            request_object_signing_alg: c
                .request_object_signing_alg()
                .map(ClientSigningAlg::as_str),
            allowed_cors_origins: origins,
            owner: c.owner().map(str::to_owned),
            metadata: c.metadata().clone(),
        }
    }

    /// The JWKS in words: its keys' ids (`kid`, or their type), or `-`.
    fn jwks_text(&self) -> String {
        let Some(keys) = self.jwks.as_ref().and_then(|j| j["keys"].as_array()) else {
            return "-".to_owned();
        };
        let names: Vec<String> = keys
            .iter()
            .map(|k| {
                let kty = k["kty"].as_str().unwrap_or("?");
                match k["kid"].as_str() {
                    Some(kid) => format!("{kid} ({kty})"),
                    None => format!("({kty}, no kid)"),
                }
            })
            .collect();
        format!("{} key(s): {}", names.len(), names.join(", "))
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", self.client_id.clone()),
            ("client_name", self.client_name.clone()),
            ("client_type", self.client_type.to_owned()),
            (
                "token_endpoint_auth_method",
                self.token_endpoint_auth_method.to_owned(),
            ),
            ("redirect_uris", list(&self.redirect_uris)),
            ("grant_types", list(&self.grant_types)),
            ("scope", or_dash(&self.scope)),
            ("default_scope", opt(self.default_scope.as_deref())),
            ("enabled", self.enabled.to_string()),
            ("skip_consent", self.skip_consent.to_string()),
            ("allow_plain_pkce", self.allow_plain_pkce.to_string()),
            ("access_token_format", self.access_token_format.to_owned()),
            (
                "access_token_lifetime",
                self.access_token_lifetime
                    .map_or_else(|| "server default".to_owned(), |s| format!("{s} s")),
            ),
            (
                "refresh_token_lifetime",
                self.refresh_token_lifetime
                    .map_or_else(|| "server default".to_owned(), |s| format!("{s} s")),
            ),
            (
                "resource_server_audiences",
                list(&self.resource_server_audiences),
            ),
            (
                "id_token_signed_response_alg",
                self.id_token_signed_response_alg
                    .unwrap_or("server default (RS256)")
                    .to_owned(),
            ),
            (
                "userinfo_signed_response_alg",
                self.userinfo_signed_response_alg
                    .unwrap_or("none (plain JSON)")
                    .to_owned(),
            ),
            ("subject_type", self.subject_type.to_owned()),
            (
                "sector_identifier_uri",
                opt(self.sector_identifier_uri.as_deref()),
            ),
            ("sector_identifier", opt(self.sector_identifier.as_deref())),
            (
                "post_logout_redirect_uris",
                list(&self.post_logout_redirect_uris),
            ),
            (
                "backchannel_logout_uri",
                opt(self.backchannel_logout_uri.as_deref()),
            ),
            (
                "backchannel_logout_session_required",
                self.backchannel_logout_session_required.to_string(),
            ),
            ("require_auth_time", self.require_auth_time.to_string()),
            (
                "default_max_age",
                self.default_max_age
                    .map_or_else(|| "-".to_owned(), |s| format!("{s} s")),
            ),
            ("logo_uri", opt(self.logo_uri.as_deref())),
            ("policy_uri", opt(self.policy_uri.as_deref())),
            ("tos_uri", opt(self.tos_uri.as_deref())),
            ("client_uri", opt(self.client_uri.as_deref())),
            ("jwks", self.jwks_text()),
            (
                "require_pushed_authorization_requests",
                self.require_pushed_authorization_requests.to_string(),
            ),
            (
                "require_signed_request_object",
                self.require_signed_request_object.to_string(),
            ),
            (
                "dpop_bound_access_tokens",
                self.dpop_bound_access_tokens.to_string(),
            ),
            ("resources", list(&self.resources)),
            ("application_type", self.application_type.to_owned()),
            ("contacts", list(&self.contacts)),
            ("jwks_uri", opt(self.jwks_uri.as_deref())),
            ("software_id", opt(self.software_id.as_deref())),
            ("software_version", opt(self.software_version.as_deref())),
            (
                "client_secret_expires_at",
                match self.client_secret_expires_at {
                    0 => "never".to_owned(),
                    t => opt_time(Some(t)),
                },
            ),
            (
                "token_endpoint_auth_signing_alg",
                self.token_endpoint_auth_signing_alg
                    .unwrap_or("any")
                    .to_owned(),
            ),
            (
                "request_object_signing_alg",
                self.request_object_signing_alg.unwrap_or("any").to_owned(),
            ),
            ("allowed_cors_origins", list(&self.allowed_cors_origins)),
            ("owner", opt(self.owner.as_deref())),
            (
                "metadata",
                if self.metadata.is_empty() {
                    "-".to_owned()
                } else {
                    serde_json::Value::Object(self.metadata.clone()).to_string()
                },
            ),
        ]
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

/// `client create` and `client update`: the client, and the secret when one
/// was just generated (`null` otherwise).
#[derive(Serialize)]
struct WithSecret {
    #[serde(flatten)]
    client: ClientView,
    client_secret: Option<String>,
    /// `client update --disable` only: how many codes and tokens of the
    /// client were revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens_revoked: Option<u64>,
}

/// `client delete`.
#[derive(Serialize)]
struct Deleted {
    client_id: String,
    deleted: bool,
    tokens_revoked: u64,
    consents_revoked: u64,
}

/// How a client authenticates, and what is stored for it.
enum Credential {
    None,
    Hash(SecretHash),
    /// `private_key_jwt`: the keys are [`Spec::jwks`].
    Keys,
    JwtSecret(Secret<String>),
}

/// Every field of a client, to build a new one or rebuild an edited one.
struct Spec {
    id: ClientId,
    name: String,
    method: AuthMethod,
    credential: Credential,
    redirect_uris: Vec<RedirectUri>,
    grants: Vec<GrantType>,
    scope: ScopeSet,
    default_scope: Option<ScopeSet>,
    enabled: bool,
    skip_consent: bool,
    allow_plain_pkce: bool,
    format: AccessTokenFormat,
    access_lifetime: Option<Duration>,
    refresh_lifetime: Option<Duration>,
    audiences: Vec<Audience>,
    openid: OpenIdRegistration,
    // Pushed and signed authorization requests (issue 17, PA-02, JR-01).
    /// The public JWKS: a `private_key_jwt` client's keys, any client's
    /// request object keys.
    jwks: Option<String>,
    require_pushed: bool,
    require_signed: bool,
    // DPoP and resource indicators (issue 17, DP-02, RI-01).
    dpop_bound: bool,
    resources: Vec<Resource>,
    /// The full client model (issue 19): kept through `client update`.
    registration: portcullis::RegistrationFields,
}

/// The OpenID Connect registration `client create` gives a client.
fn openid_of_create(a: OpenIdCreateArgs) -> OpenIdRegistration {
    let mut o = OpenIdRegistration::default();
    o.id_token_signed_response_alg = a.id_token_signed_response_alg;
    o.userinfo_signed_response_alg = a.userinfo_signed_response_alg;
    o.subject_type = a.subject_type.unwrap_or_default();
    o.sector_identifier_uri = a.sector_identifier_uri;
    o.post_logout_redirect_uris = a.post_logout_redirect_uri;
    o.backchannel_logout_uri = a.backchannel_logout_uri;
    o.backchannel_logout_session_required = a.backchannel_logout_session_required;
    o.require_auth_time = a.require_auth_time;
    o.default_max_age = a.default_max_age.map(Duration::from_secs);
    o.logo_uri = a.logo_uri;
    o.policy_uri = a.policy_uri;
    o.tos_uri = a.tos_uri;
    o.client_uri = a.client_uri;
    o
}

/// Applies `client update`'s changes to a client's OpenID Connect
/// registration.
fn edit_openid(
    o: &mut OpenIdRegistration,
    id: &ClientId,
    a: OpenIdUpdateArgs,
) -> Result<(), Failure> {
    for u in &a.remove_post_logout_redirect_uri {
        if !o.post_logout_redirect_uris.contains(u) {
            return Err(Failure::Input(format!(
                "client {id} has no post-logout redirect URI {}",
                u.as_str()
            )));
        }
        o.post_logout_redirect_uris.retain(|x| x != u);
    }
    o.post_logout_redirect_uris
        .extend(a.add_post_logout_redirect_uri);
    if let Some(v) = a.id_token_signed_response_alg {
        o.id_token_signed_response_alg = v.0;
    }
    if let Some(v) = a.userinfo_signed_response_alg {
        o.userinfo_signed_response_alg = v.0;
    }
    if let Some(v) = a.subject_type {
        o.subject_type = v;
    }
    if let Some(v) = a.sector_identifier_uri {
        o.sector_identifier_uri = v.0;
    }
    if let Some(v) = a.backchannel_logout_uri {
        o.backchannel_logout_uri = v.0;
    }
    if let Some(v) = a.backchannel_logout_session_required {
        o.backchannel_logout_session_required = v;
    }
    if let Some(v) = a.require_auth_time {
        o.require_auth_time = v;
    }
    if let Some(v) = a.default_max_age {
        o.default_max_age = v.0.map(Duration::from_secs);
    }
    for (field, v) in [
        (&mut o.logo_uri, a.logo_uri),
        (&mut o.policy_uri, a.policy_uri),
        (&mut o.tos_uri, a.tos_uri),
        (&mut o.client_uri, a.client_uri),
    ] {
        if let Some(v) = v {
            *field = v.0;
        }
    }
    Ok(())
}

/// The registration fields `client create` gives a client.
fn registration_of_create(a: RegistrationCreateArgs) -> RegistrationFields {
    RegistrationFields {
        application_type: a.application_type.unwrap_or_default(),
        contacts: a.contact,
        jwks_uri: a.jwks_uri,
        software_id: a.software_id,
        software_version: a.software_version,
        client_secret_expires_at: expires_at(a.client_secret_expires_at),
        token_endpoint_auth_signing_alg: a.token_endpoint_auth_signing_alg,
        request_object_signing_alg: a.request_object_signing_alg,
        allowed_cors_origins: a.allowed_cors_origin,
        owner: a.owner,
        metadata: a.metadata.unwrap_or_default(),
    }
}

/// `client_secret_expires_at` as given: Unix seconds, `0` for never.
fn expires_at(secs: Option<u64>) -> Option<UnixTime> {
    secs.filter(|s| *s != 0).map(UnixTime::from_secs)
}

/// Applies `client update`'s changes to a client's registration fields
/// (not `client_secret_expires_at`, which follows a rotation).
fn edit_registration(
    r: &mut RegistrationFields,
    id: &ClientId,
    a: RegistrationUpdateArgs,
) -> Result<(), Failure> {
    if let Some(t) = a.application_type {
        r.application_type = t;
    }
    for c in &a.remove_contact {
        if !r.contacts.contains(c) {
            return Err(Failure::Input(format!("client {id} has no contact {c}")));
        }
        r.contacts.retain(|x| x != c);
    }
    for c in a.add_contact {
        if !r.contacts.contains(&c) {
            r.contacts.push(c);
        }
    }
    for o in &a.remove_allowed_cors_origin {
        if !r.allowed_cors_origins.contains(o) {
            return Err(Failure::Input(format!(
                "client {id} has no allowed CORS origin {o}"
            )));
        }
        r.allowed_cors_origins.retain(|x| x != o);
    }
    for o in a.add_allowed_cors_origin {
        if !r.allowed_cors_origins.contains(&o) {
            r.allowed_cors_origins.push(o);
        }
    }
    if let Some(v) = a.jwks_uri {
        r.jwks_uri = v.0;
    }
    if let Some(v) = a.software_id {
        r.software_id = v.0;
    }
    if let Some(v) = a.software_version {
        r.software_version = v.0;
    }
    if let Some(v) = a.token_endpoint_auth_signing_alg {
        r.token_endpoint_auth_signing_alg = v.0;
    }
    if let Some(v) = a.request_object_signing_alg {
        r.request_object_signing_alg = v.0;
    }
    if let Some(v) = a.owner {
        r.owner = v.0;
    }
    if let Some(m) = a.metadata {
        r.metadata = m;
    }
    Ok(())
}

impl Spec {
    fn of(c: &Client) -> Self {
        let credential = if let Some(h) = c.secret_hash() {
            Credential::Hash(h.clone())
        } else if c.token_endpoint_auth_method() == AuthMethod::PrivateKeyJwt {
            Credential::Keys
        } else if let Some(s) = c.jwt_secret() {
            Credential::JwtSecret(s.clone())
        } else {
            Credential::None
        };
        Self {
            id: c.client_id().clone(),
            name: c.client_name().to_owned(),
            method: c.token_endpoint_auth_method(),
            credential,
            redirect_uris: c.redirect_uris().to_vec(),
            grants: c.grant_types().to_vec(),
            scope: c.scope().clone(),
            default_scope: c.default_scope().cloned(),
            enabled: c.is_enabled(),
            skip_consent: c.skips_consent(),
            allow_plain_pkce: c.allows_plain_pkce(),
            format: c.access_token_format(),
            access_lifetime: c.access_token_lifetime(),
            refresh_lifetime: c.refresh_token_lifetime(),
            audiences: c.resource_server_audiences().to_vec(),
            openid: c.openid_registration().clone(),
            jwks: c.jwks().map(str::to_owned),
            require_pushed: c.requires_pushed_authorization_requests(),
            require_signed: c.requires_signed_request_object(),
            dpop_bound: c.dpop_bound_access_tokens(),
            resources: c.resources().to_vec(),
            registration: c.registration().clone(),
        }
    }

    fn build(self) -> Result<Client, ClientError> {
        let mut b = match self.credential {
            Credential::None => Client::public(self.id),
            Credential::Hash(h) => Client::confidential(self.id, h),
            Credential::Keys => match self.jwks.clone() {
                Some(jwks) => Client::private_key_jwt(self.id, jwks),
                // Its keys are at `jwks_uri`, set with the registration.
                None => {
                    Client::public(self.id).token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
                }
            },
            Credential::JwtSecret(s) => Client::client_secret_jwt(self.id, s),
        };
        b = b
            .client_name(self.name)
            .token_endpoint_auth_method(self.method)
            .scope(self.scope)
            .enabled(self.enabled)
            .skip_consent(self.skip_consent)
            .dangerous_allow_plain_pkce(self.allow_plain_pkce)
            .access_token_format(self.format);
        for u in self.redirect_uris {
            b = b.redirect_uri(u);
        }
        for g in self.grants {
            b = b.grant_type(g);
        }
        for a in self.audiences {
            b = b.resource_server_for(a);
        }
        if let Some(d) = self.default_scope {
            b = b.default_scope(d);
        }
        if let Some(l) = self.access_lifetime {
            b = b.access_token_lifetime(l);
        }
        if let Some(l) = self.refresh_lifetime {
            b = b.refresh_token_lifetime(l);
        }
        for r in self.resources {
            b = b.resource(r);
        }
        b = b.dpop_bound_access_tokens(self.dpop_bound);
        b.openid_registration(self.openid)
            .registration(self.registration)
            .jwks(self.jwks)
            .require_pushed_authorization_requests(self.require_pushed)
            .require_signed_request_object(self.require_signed)
            .build()
    }
}

pub(crate) async fn run(ctx: &Ctx, cmd: ClientCommand) -> Result<Output, Failure> {
    match cmd {
        ClientCommand::Create(args) => create(ctx, *args).await,
        ClientCommand::Update(args) => update(ctx, *args).await,
        ClientCommand::RotateSecret {
            client_id,
            client_secret_expires_at,
        } => rotate_secret(ctx, &client_id, client_secret_expires_at).await,
        ClientCommand::List(args) => {
            let db = ctx.open(false).await?;
            let result = db.client_admin().clients().await;
            db.close().await;
            let clients = result.map_err(|e| Failure::store("list clients", &e))?;
            let (page, more) = filter(&clients, &args);
            let views: Vec<ClientView> = page.iter().map(|c| ClientView::of(c)).collect();
            let rows: Vec<Vec<String>> = views
                .iter()
                .map(|v| {
                    vec![
                        v.client_id.clone(),
                        v.client_name.clone(),
                        v.client_type.to_owned(),
                        v.token_endpoint_auth_method.to_owned(),
                        list(&v.grant_types),
                        or_dash(&v.scope),
                        v.enabled.to_string(),
                    ]
                })
                .collect();
            let text = table(
                &[
                    "CLIENT_ID",
                    "NAME",
                    "TYPE",
                    "AUTH_METHOD",
                    "GRANT_TYPES",
                    "SCOPE",
                    "ENABLED",
                ],
                &rows,
                "no clients",
            );
            let out = Output::new(&views, text)?;
            Ok(match more {
                0 => out,
                n => out.note(format!(
                    "{n} more client(s) match: --offset {}",
                    args.offset.saturating_add(views.len())
                )),
            })
        }
        ClientCommand::Show { client_id } => {
            let db = ctx.open(false).await?;
            let result = find(&db, &client_id).await;
            db.close().await;
            let view = ClientView::of(&result?);
            let text = fields(&view.fields());
            Output::new(&view, text)
        }
        ClientCommand::Delete { client_id } => {
            let db = ctx.open(false).await?;
            let result = delete(&db, &client_id).await;
            db.close().await;
            result
        }
    }
}

/// The clients `client list` shows, in the store's order (by id), and how
/// many more match after them. The store lists every client: an operator's
/// clients fit in memory, and filtering here keeps the store traits as
/// they are (see docs/operator.md).
fn filter<'a, C: std::ops::Deref<Target = Client>>(
    clients: &'a [C],
    a: &ListArgs,
) -> (Vec<&'a Client>, usize) {
    let needle = a.name_contains.as_deref().map(str::to_lowercase);
    let matching: Vec<&Client> = clients
        .iter()
        .map(|c| &**c)
        .filter(|c| a.owner.as_deref().is_none_or(|o| c.owner() == Some(o)))
        .filter(|c| a.grant_type.as_ref().is_none_or(|g| c.allows_grant(g)))
        .filter(|c| {
            needle
                .as_deref()
                .is_none_or(|n| c.client_name().to_lowercase().contains(n))
        })
        .collect();
    let rest: Vec<&Client> = matching.into_iter().skip(a.offset).collect();
    let limit = a.limit.unwrap_or(usize::MAX);
    let more = rest.len().saturating_sub(limit);
    (rest.into_iter().take(limit).collect(), more)
}

/// A new secret for a secret-based client; the old one stops working. The
/// new secret expires at `expires` (never when `None`).
fn rotate(s: &mut Spec, expires: Option<UnixTime>) -> Result<Secret<String>, Failure> {
    let id = &s.id;
    let secret = match s.method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            let (new, hash) = new_secret()?;
            s.credential = Credential::Hash(hash);
            new
        }
        AuthMethod::ClientSecretJwt => {
            let (new, _) = new_secret()?;
            s.credential = Credential::JwtSecret(new.clone());
            new
        }
        other => {
            return Err(Failure::Input(format!(
                "client {id} uses {} and has no secret to rotate{}",
                other.as_str(),
                if other == AuthMethod::PrivateKeyJwt {
                    " (replace its keys with --jwks FILE or --jwks-uri URL)"
                } else {
                    ""
                }
            )));
        }
    };
    s.registration.client_secret_expires_at = expires;
    Ok(secret)
}

/// `client rotate-secret ID`.
async fn rotate_secret(ctx: &Ctx, id: &ClientId, expires: Option<u64>) -> Result<Output, Failure> {
    let db = ctx.open(false).await?;
    let result = async {
        let current = find(&db, id).await?;
        let mut s = Spec::of(&current);
        let secret = rotate(&mut s, expires_at(expires))?;
        let client = s.build().map_err(invalid(id))?;
        let method = client.token_endpoint_auth_method();
        let updated = db
            .client_admin()
            .update_client(client.clone())
            .await
            .map_err(|e| Failure::store("update client", &e))?;
        if !updated {
            return Err(Failure::NotFound(format!("unknown client {id}")));
        }
        with_secret(&client, Some(secret), method, None)
    }
    .await;
    db.close().await;
    result
}

async fn find(db: &crate::db::Db, id: &ClientId) -> Result<Client, Failure> {
    db.clients()
        .client(id)
        .await
        .map_err(|e| Failure::store("find client", &e))?
        .map(|c| (*c).clone())
        .ok_or_else(|| Failure::NotFound(format!("unknown client {id}")))
}

fn read_jwks(path: &std::path::Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("cannot read JWKS {}: {e}", path.display())))
}

fn invalid(id: &ClientId) -> impl Fn(ClientError) -> Failure + '_ {
    move |e| Failure::Input(format!("client {id}: {e}"))
}

/// A fresh 256-bit secret and its hash (CA-05).
fn new_secret() -> Result<(Secret<String>, SecretHash), Failure> {
    generate_secret(&SystemRandom::new())
        .map_err(|e| Failure::Store(format!("cannot generate a secret: {e}")))
}

/// A random client id: 128 bits, hex.
fn random_id() -> Result<ClientId, Failure> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|e| Failure::Store(format!("cannot generate a client id: {e}")))?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    ClientId::parse(&hex).ok_or_else(|| Failure::Store("generated client id is invalid".into()))
}

const SECRET_NOTE: &str =
    "the client secret is shown only once; it is stored hashed and cannot be recovered";
const JWT_SECRET_NOTE: &str =
    "client_secret_jwt needs the secret in clear: it is stored unhashed (prefer private_key_jwt)";

/// Reads `--from-json`'s document: a file, or stdin for `-`.
fn read_document(path: &std::path::Path) -> Result<serde_json::Value, Failure> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Failure::Input(format!("cannot read the document from stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?
    };
    serde_json::from_str(&text).map_err(|e| {
        Failure::Input(format!(
            "invalid_client_metadata: the registration document is not JSON: {e}"
        ))
    })
}

/// `client create --from-json FILE|-`: an RFC 7591 registration document.
async fn create_from_json(
    ctx: &Ctx,
    path: &std::path::Path,
    id: Option<ClientId>,
) -> Result<Output, Failure> {
    let doc = read_document(path)?;
    let (registered, secret) =
        crate::register::client_of_document(doc, id, || random_id().ok(), || new_secret().ok())
            .map_err(|e| Failure::Input(e.to_string()))?;
    let out = insert(ctx, registered.client, secret).await?;
    Ok(match registered.ignored.as_slice() {
        [] => out,
        fields => out.note(format!("ignored (not supported): {}", fields.join(", "))),
    })
}

/// Stores a new client; the output of `create`.
async fn insert(
    ctx: &Ctx,
    client: Client,
    secret: Option<Secret<String>>,
) -> Result<Output, Failure> {
    let id = client.client_id().clone();
    let method = client.token_endpoint_auth_method();
    let db = ctx.open(false).await?;
    let result = async {
        if db
            .clients()
            .client(&id)
            .await
            .map_err(|e| Failure::store("find client", &e))?
            .is_some()
        {
            return Err(Failure::Input(format!("client {id} already exists")));
        }
        db.client_admin()
            .insert_client(client.clone())
            .await
            .map_err(|e| Failure::store("create client", &e))
    }
    .await;
    db.close().await;
    result?;
    with_secret(&client, secret, method, None)
}

async fn create(ctx: &Ctx, a: CreateArgs) -> Result<Output, Failure> {
    if let Some(path) = &a.from_json {
        return create_from_json(ctx, path, a.client_id).await;
    }
    // Everything is checked before the database is touched.
    let id = match a.client_id {
        Some(id) => id,
        None => random_id()?,
    };
    let method = if a.public {
        AuthMethod::None
    } else {
        a.token_endpoint_auth_method
            .unwrap_or(AuthMethod::ClientSecretBasic)
    };
    let jwks = a.jwks.as_deref().map(read_jwks).transpose()?;
    let mut secret = None;
    let credential = match method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            let (s, hash) = new_secret()?;
            secret = Some(s);
            Credential::Hash(hash)
        }
        AuthMethod::ClientSecretJwt => {
            let (s, _) = new_secret()?;
            secret = Some(s.clone());
            Credential::JwtSecret(s)
        }
        AuthMethod::PrivateKeyJwt if jwks.is_none() && a.registration.jwks_uri.is_none() => {
            return Err(Failure::Input(
                "private_key_jwt needs the client's public keys: --jwks FILE or --jwks-uri URL"
                    .into(),
            ));
        }
        AuthMethod::PrivateKeyJwt => Credential::Keys,
        _ => Credential::None,
    };
    let grants = if a.grant_type.is_empty() {
        vec![GrantType::AuthorizationCode]
    } else {
        a.grant_type
    };
    let spec = Spec {
        name: a.name.unwrap_or_else(|| id.to_string()),
        id: id.clone(),
        method,
        credential,
        redirect_uris: a.redirect_uri,
        grants,
        scope: a.scope.unwrap_or_default(),
        default_scope: a.default_scope,
        enabled: true,
        skip_consent: a.skip_consent,
        allow_plain_pkce: a.allow_plain_pkce,
        format: a.access_token_format.unwrap_or_default(),
        access_lifetime: a.access_token_lifetime.map(Duration::from_secs),
        refresh_lifetime: a.refresh_token_lifetime.map(Duration::from_secs),
        audiences: a.resource_server_for,
        openid: openid_of_create(a.openid),
        jwks,
        require_pushed: a.require_pushed_authorization_requests,
        require_signed: a.require_signed_request_object,
        dpop_bound: a.dpop_bound_access_tokens,
        resources: a.resource,
        registration: registration_of_create(a.registration),
    };
    let client = spec.build().map_err(invalid(&id))?;
    insert(ctx, client, secret).await
}

/// The output of `create` and `update`: the client, the secret if new.
fn with_secret(
    client: &Client,
    secret: Option<Secret<String>>,
    method: AuthMethod,
    tokens_revoked: Option<u64>,
) -> Result<Output, Failure> {
    let shown = secret.is_some();
    let view = ClientView::of(client);
    let mut pairs = view.fields();
    if let Some(n) = tokens_revoked {
        pairs.push(("tokens_revoked", n.to_string()));
    }
    if let Some(s) = &secret {
        pairs.push(("client_secret", s.expose_secret().clone()));
    }
    let text = fields(&pairs);
    let out = Output::new(
        &WithSecret {
            client: view,
            client_secret: secret.map(Secret::into_inner),
            tokens_revoked,
        },
        text,
    )?;
    Ok(match (shown, method) {
        (true, AuthMethod::ClientSecretJwt) => out.note(SECRET_NOTE).note(JWT_SECRET_NOTE),
        (true, _) => out.note(SECRET_NOTE),
        (false, _) => out,
    })
}

async fn update(ctx: &Ctx, a: UpdateArgs) -> Result<Output, Failure> {
    let changes = a.name.is_some()
        || !a.add_redirect_uri.is_empty()
        || !a.remove_redirect_uri.is_empty()
        || !a.add_grant_type.is_empty()
        || !a.remove_grant_type.is_empty()
        || !a.add_scope.is_empty()
        || !a.remove_scope.is_empty()
        || a.default_scope.is_some()
        || a.clear_default_scope
        || a.skip_consent.is_some()
        || a.allow_plain_pkce.is_some()
        || !a.add_resource_server_for.is_empty()
        || !a.remove_resource_server_for.is_empty()
        || a.access_token_format.is_some()
        || a.access_token_lifetime.is_some()
        || a.refresh_token_lifetime.is_some()
        || a.rotate_secret
        || a.jwks.is_some()
        || a.remove_jwks
        || a.require_pushed_authorization_requests.is_some()
        || a.require_signed_request_object.is_some()
        || a.dpop_bound_access_tokens.is_some()
        || !a.add_resource.is_empty()
        || !a.remove_resource.is_empty()
        || a.enable
        || a.disable
        || a.openid.any()
        || a.registration.any();
    if !changes {
        return Err(Failure::Input(
            "nothing to change: give at least one option (see `client update --help`)".into(),
        ));
    }
    let jwks = a.jwks.as_deref().map(read_jwks).transpose()?;
    let disable = a.disable;
    let db = ctx.open(false).await?;
    let result = async {
        let current = find(&db, &a.client_id).await?;
        let (client, secret) = edit(&current, a, jwks)?;
        let method = client.token_endpoint_auth_method();
        let updated = db
            .client_admin()
            .update_client(client.clone())
            .await
            .map_err(|e| Failure::store("update client", &e))?;
        if !updated {
            return Err(Failure::NotFound(format!(
                "unknown client {}",
                client.client_id()
            )));
        }
        // Disabled first, so no new token can be issued to it, then its
        // tokens revoked: they stop working while it is disabled anyway,
        // and enabling it again must not bring them back.
        let tokens_revoked = if disable {
            let id = client.client_id();
            Some(db.tokens().revoke_client(id).await.map_err(|e| {
                Failure::store(
                    &format!("client {id} was disabled, but revoking its tokens failed (run `portcullis tokens revoke --client {id}`)"),
                    &e,
                )
            })?)
        } else {
            None
        };
        with_secret(&client, secret, method, tokens_revoked)
    }
    .await;
    db.close().await;
    result
}

/// Applies the changes of `client update` to `current`.
fn edit(
    current: &Client,
    a: UpdateArgs,
    jwks: Option<String>,
) -> Result<(Client, Option<Secret<String>>), Failure> {
    let id = a.client_id;
    let mut s = Spec::of(current);
    if let Some(name) = a.name {
        s.name = name;
    }
    for u in &a.remove_redirect_uri {
        if !s.redirect_uris.contains(u) {
            return Err(Failure::Input(format!(
                "client {id} has no redirect URI {}",
                u.as_str()
            )));
        }
        s.redirect_uris.retain(|x| x != u);
    }
    s.redirect_uris.extend(a.add_redirect_uri);
    for r in &a.remove_resource_server_for {
        if !s.audiences.contains(r) {
            return Err(Failure::Input(format!(
                "client {id} is no resource server for {r}"
            )));
        }
        s.audiences.retain(|x| x != r);
    }
    s.audiences.extend(a.add_resource_server_for);
    for g in &a.remove_grant_type {
        if !s.grants.contains(g) {
            return Err(Failure::Input(format!("client {id} has no grant type {g}")));
        }
        s.grants.retain(|x| x != g);
    }
    s.grants.extend(a.add_grant_type);
    for remove in &a.remove_scope {
        let missing = remove.difference(&s.scope);
        if !missing.is_empty() {
            return Err(Failure::Input(format!(
                "client {id} has no scope {missing}"
            )));
        }
        s.scope = s.scope.difference(remove);
    }
    for add in &a.add_scope {
        s.scope = s.scope.union(add);
    }
    if a.clear_default_scope {
        s.default_scope = None;
    }
    if let Some(d) = a.default_scope {
        s.default_scope = Some(d);
    }
    if let Some(v) = a.skip_consent {
        s.skip_consent = v;
    }
    if let Some(v) = a.allow_plain_pkce {
        s.allow_plain_pkce = v;
    }
    if let Some(f) = a.access_token_format {
        s.format = f;
    }
    if let Some(l) = a.access_token_lifetime {
        s.access_lifetime = l.0;
    }
    if let Some(l) = a.refresh_token_lifetime {
        s.refresh_lifetime = l.0;
    }
    if a.enable {
        s.enabled = true;
    }
    if a.disable {
        s.enabled = false;
    }
    edit_openid(&mut s.openid, &id, a.openid)?;
    let jwks_uri_after = match &a.registration.jwks_uri {
        Some(v) => v.0.is_some(),
        None => s.registration.jwks_uri.is_some(),
    };
    if a.remove_jwks {
        if s.method == AuthMethod::PrivateKeyJwt && !jwks_uri_after {
            return Err(Failure::Input(format!(
                "client {id} uses private_key_jwt: its keys can be replaced (--jwks FILE, or --jwks-uri URL with --remove-jwks), not removed"
            )));
        }
        s.jwks = None;
    }
    if let Some(j) = jwks {
        s.jwks = Some(j);
    }
    if let Some(v) = a.require_pushed_authorization_requests {
        s.require_pushed = v;
    }
    if let Some(v) = a.require_signed_request_object {
        s.require_signed = v;
    }
    if let Some(v) = a.dpop_bound_access_tokens {
        s.dpop_bound = v;
    }
    for r in &a.remove_resource {
        if !s.resources.contains(r) {
            return Err(Failure::Input(format!("client {id} has no resource {r}")));
        }
        s.resources.retain(|x| x != r);
    }
    for r in a.add_resource {
        if !s.resources.contains(&r) {
            s.resources.push(r);
        }
    }
    let mut secret = None;
    let expires = a.registration.client_secret_expires_at;
    if a.rotate_secret {
        secret = Some(rotate(&mut s, expires_at(expires))?);
    } else if let Some(t) = expires {
        s.registration.client_secret_expires_at = expires_at(Some(t));
    }
    edit_registration(&mut s.registration, &id, a.registration)?;
    let client = s.build().map_err(invalid(&id))?;
    Ok((client, secret))
}

async fn delete(db: &crate::db::Db, id: &ClientId) -> Result<Output, Failure> {
    find(db, id).await?;
    // Delete first, so no new token can be issued to it, then revoke.
    let deleted = db
        .client_admin()
        .delete_client(id)
        .await
        .map_err(|e| Failure::store("delete client", &e))?;
    if !deleted {
        return Err(Failure::NotFound(format!("unknown client {id}")));
    }
    let tokens_revoked = db.tokens().revoke_client(id).await.map_err(|e| {
        Failure::store(
            &format!("client {id} was deleted, but revoking its tokens failed (run `portcullis tokens revoke --client {id}`)"),
            &e,
        )
    })?;
    let mut consents_revoked = 0;
    for user in db.consenting_users(id).await? {
        if db
            .consents()
            .revoke_consent(&user, id)
            .await
            .map_err(|e| {
                Failure::store(
                    &format!("client {id} was deleted, but withdrawing the consent of {user} failed (run `portcullis consent revoke --user {user} --client {id}`)"),
                    &e,
                )
            })?
        {
            consents_revoked += 1;
        }
    }
    let out = Deleted {
        client_id: id.to_string(),
        deleted: true,
        tokens_revoked,
        consents_revoked,
    };
    let text = fields(&[
        ("client_id", out.client_id.clone()),
        ("deleted", "true".into()),
        ("tokens_revoked", tokens_revoked.to_string()),
        ("consents_revoked", consents_revoked.to_string()),
    ]);
    Output::new(&out, text)
}
