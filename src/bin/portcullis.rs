//! `portcullis`: the operator's command-line tool for a portcullis
//! authorization server kept in SQLite or PostgreSQL. It registers and edits
//! clients, generates and rotates signing keys, purges and revokes tokens and
//! withdraws consent, through the same store traits the server uses.
//!
//! Every command prints a table by default, stable JSON with
//! `--format json` and the same document as YAML with `--format yaml`. Exit codes: 0 success, 1 the database or a store failed,
//! 2 bad input, 3 something named does not exist. Errors are one line on
//! stderr. See `docs/operator.md`.

// Arguments of the library's types (ClientId, RedirectUri, GrantType,
// ScopeSet, AuthMethod, AccessTokenFormat, Algorithm, UserId) are parsed by
// their `FromStr`, which clap's derive picks through `value_parser!` from the
// field type; a bad value is reported with the library's `ParseError`.

// The modules live beside this file, in `portcullis/`.
#[path = "portcullis/client.rs"]
mod client;
#[path = "portcullis/db.rs"]
mod db;
#[path = "portcullis/keys.rs"]
mod keys;
#[path = "portcullis/output.rs"]
mod output;
#[path = "portcullis/register.rs"]
mod register;
#[path = "portcullis/tokens.rs"]
mod tokens;
#[path = "portcullis/yaml.rs"]
mod yaml;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use portcullis::{
    AccessTokenFormat, Algorithm, ApplicationType, Audience, AuthMethod, ClientId,
    ClientMetadataObject, ClientSigningAlg, GrantType, Origin, RedirectUri, Resource, ScopeSet,
    SubjectType, UserId, WebUrl,
};

use crate::output::Output;

/// Operate a portcullis OAuth 2.0 authorization server: clients, signing
/// keys, tokens and consent, in its SQLite, PostgreSQL or MySQL/MariaDB database.
#[derive(Parser)]
#[command(name = "portcullis", version)]
struct Cli {
    /// The database: sqlite://PATH, postgres://USER:PASSWORD@HOST/NAME or
    /// mysql://USER:PASSWORD@HOST/NAME.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    database: Option<String>,
    /// Output: a table for people, or JSON (or YAML) for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table, help_heading = "Global options")]
    format: Format,
    /// Seconds to wait for the database when connecting.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 10,
        help_heading = "Global options"
    )]
    connect_timeout: u64,
    #[command(subcommand)]
    command: Command,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns (the default).
    Table,
    /// One JSON document with stable field names.
    Json,
    /// The JSON document as YAML (same fields, same order).
    Yaml,
}

#[derive(Subcommand)]
enum Command {
    /// Create or upgrade the schema (idempotent; run it after every upgrade).
    Migrate,
    /// Register, change, list, show and delete clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Generate, rotate, import and list the signing keys of JWT access tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Purge expired codes, tokens and keys; revoke tokens by client or user.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// List and withdraw the consent users gave to clients.
    #[command(subcommand)]
    Consent(ConsentCommand),
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; a generated secret is printed once and stored hashed.
    Create(Box<CreateArgs>),
    /// Change a client: redirect URIs, grants, scopes, flags; rotate its secret.
    Update(Box<UpdateArgs>),
    /// Replace a client's secret with a new generated one, printed once and
    /// stored hashed; the old one stops working at once.
    RotateSecret {
        /// The client id.
        client_id: ClientId,
        /// When the new secret expires (Unix seconds; 0 or absent: never).
        #[arg(long, value_name = "UNIX_TIME")]
        client_secret_expires_at: Option<u64>,
    },
    /// List clients, ordered by id, optionally filtered and paged.
    List(ListArgs),
    /// Show one client.
    Show {
        /// The client id.
        client_id: ClientId,
    },
    /// Delete a client, revoking its codes, tokens and consent.
    Delete {
        /// The client id.
        client_id: ClientId,
    },
}

/// `client list`: filters (all must hold) and paging. The store lists every
/// client; the CLI filters and pages (see docs/operator.md).
#[derive(Args)]
struct ListArgs {
    /// Only clients of this owner (exactly).
    #[arg(long, value_name = "OWNER")]
    owner: Option<String>,
    /// Only clients allowed this grant type.
    #[arg(long, value_name = "GRANT")]
    grant_type: Option<GrantType>,
    /// Only clients whose name contains this text (ignoring case).
    #[arg(long, value_name = "TEXT")]
    name_contains: Option<String>,
    /// At most this many clients (after the filters and --offset).
    #[arg(long, value_name = "N", alias = "page-size")]
    limit: Option<usize>,
    /// Skip this many clients (after the filters).
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: usize,
}

/// The flags that set a client field, which `--from-json` replaces.
const FIELD_FLAGS: [&str; 42] = [
    "name",
    "redirect_uri",
    "grant_type",
    "scope",
    "default_scope",
    "token_endpoint_auth_method",
    "public",
    "jwks",
    "skip_consent",
    "allow_plain_pkce",
    "resource_server_for",
    "access_token_format",
    "access_token_lifetime",
    "refresh_token_lifetime",
    "id_token_signed_response_alg",
    "userinfo_signed_response_alg",
    "subject_type",
    "sector_identifier_uri",
    "post_logout_redirect_uri",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "require_auth_time",
    "default_max_age",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "client_uri",
    "require_pushed_authorization_requests",
    "require_signed_request_object",
    "dpop_bound_access_tokens",
    "resource",
    "application_type",
    "contact",
    "jwks_uri",
    "software_id",
    "software_version",
    "client_secret_expires_at",
    "token_endpoint_auth_signing_alg",
    "request_object_signing_alg",
    "allowed_cors_origin",
    "owner",
    "metadata",
];

/// `client create`: the RFC 7591 fields as flags.
#[derive(Args)]
struct CreateArgs {
    /// The client id (1 to 255 visible ASCII characters); random if absent.
    #[arg(long, visible_alias = "id")]
    client_id: Option<ClientId>,
    /// Read the client from an RFC 7591 registration document (a JSON
    /// file, or `-` for stdin) instead of the field flags; --client-id
    /// overrides its `client_id`. Secrets are generated, never read.
    #[arg(long, value_name = "FILE|-", conflicts_with_all = FIELD_FLAGS)]
    from_json: Option<PathBuf>,
    /// `client_name`, shown on the consent page (default: the client id).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// A redirect URI (repeat for several).
    #[arg(long, value_name = "URI")]
    redirect_uri: Vec<RedirectUri>,
    /// A grant type: authorization_code, client_credentials, password or
    /// refresh_token (repeat, or separate with commas; default
    /// authorization_code, as in RFC 7591).
    #[arg(long, value_name = "GRANT", value_delimiter = ',')]
    grant_type: Vec<GrantType>,
    /// The scopes the client may be granted, space-separated ("read write").
    #[arg(long, value_name = "SCOPES")]
    scope: Option<ScopeSet>,
    /// The scopes granted when a request names none (within --scope).
    #[arg(long, value_name = "SCOPES")]
    default_scope: Option<ScopeSet>,
    /// client_secret_basic (default), client_secret_post, none,
    /// private_key_jwt (needs --jwks) or client_secret_jwt.
    #[arg(long, value_name = "METHOD")]
    token_endpoint_auth_method: Option<AuthMethod>,
    /// A public client (no secret, PKCE required): the same as
    /// --token-endpoint-auth-method none.
    #[arg(long, conflicts_with = "token_endpoint_auth_method")]
    public: bool,
    /// The client's public JWKS (a JSON file): the keys a private_key_jwt
    /// client authenticates with, and for any client the keys its signed
    /// request objects are checked with (RFC 9101).
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// Do not ask users for consent (first-party clients).
    #[arg(long)]
    skip_consent: bool,
    /// Let the client use PKCE `plain` (the server must allow it too).
    #[arg(long)]
    allow_plain_pkce: bool,
    /// Register the client as a resource server for this audience
    /// (repeatable): it may introspect access tokens meant for it, whoever
    /// they were issued to. Every access token's audience is the server's
    /// JWT audience (default: the issuer).
    #[arg(long, value_name = "AUDIENCE")]
    resource_server_for: Vec<Audience>,
    /// The access token format: opaque (default) or jwt.
    #[arg(long, value_name = "FORMAT", visible_alias = "access-token-strategy")]
    access_token_format: Option<AccessTokenFormat>,
    /// Access token lifetime in seconds (default: the server's).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    access_token_lifetime: Option<u64>,
    /// Refresh token lifetime in seconds (default: the server's).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    refresh_token_lifetime: Option<u64>,
    #[command(flatten)]
    openid: OpenIdCreateArgs,
    // Pushed and signed authorization requests (issue 17, PA-02, JR-01).
    /// Every authorization request of the client must be pushed first
    /// (RFC 9126 §6).
    #[arg(long)]
    require_pushed_authorization_requests: bool,
    /// Every authorization request of the client must be a signed request
    /// object (RFC 9101 §10.5; needs --jwks, or client_secret_jwt).
    #[arg(long)]
    require_signed_request_object: bool,
    // DPoP and resource indicators (issue 17, DP-02, RI-01).
    /// The client's access tokens are DPoP-bound: every token request
    /// carries a DPoP proof (RFC 9449 §5.2).
    #[arg(long)]
    dpop_bound_access_tokens: bool,
    /// A resource (RFC 8707 resource indicator, an absolute URI) the client
    /// may ask tokens for, beside the server's own list (repeatable); a
    /// token asked for one has it as its audience.
    #[arg(long, value_name = "URI", visible_alias = "audience")]
    resource: Vec<Resource>,
    #[command(flatten)]
    registration: RegistrationCreateArgs,
}

/// `client create`: the rest of RFC 7591 and OpenID Connect Registration
/// (issue 19).
#[derive(Args)]
struct RegistrationCreateArgs {
    /// web (default) or native: a native client registers only
    /// private-scheme redirect URIs or http on loopback.
    #[arg(long, value_name = "TYPE")]
    application_type: Option<ApplicationType>,
    /// A way to reach the people responsible for the client, typically an
    /// e-mail address (repeatable).
    #[arg(long, value_name = "CONTACT")]
    contact: Vec<String>,
    /// Where the client publishes its public keys (https; not with --jwks).
    #[arg(long, value_name = "URL", conflicts_with = "jwks")]
    jwks_uri: Option<WebUrl>,
    /// The client software's id, the same for all its instances.
    #[arg(long, value_name = "TEXT")]
    software_id: Option<String>,
    /// The client software's version.
    #[arg(long, value_name = "TEXT")]
    software_version: Option<String>,
    /// When the generated secret expires (Unix seconds; 0: never).
    #[arg(long, value_name = "UNIX_TIME")]
    client_secret_expires_at: Option<u64>,
    /// The only algorithm accepted for the client's assertions (HS256 for
    /// client_secret_jwt; ES256, EdDSA, RS256 or PS256 for private_key_jwt).
    #[arg(long, value_name = "ALG")]
    token_endpoint_auth_signing_alg: Option<ClientSigningAlg>,
    /// The only algorithm accepted for the client's request objects.
    #[arg(long, value_name = "ALG")]
    request_object_signing_alg: Option<ClientSigningAlg>,
    /// A browser origin (https://app.example) that may call the token,
    /// revocation and UserInfo endpoints as this client (repeatable).
    #[arg(long, value_name = "ORIGIN")]
    allowed_cors_origin: Vec<Origin>,
    /// Who owns the client (a user, a team).
    #[arg(long, value_name = "OWNER")]
    owner: Option<String>,
    /// A free-form JSON object kept with the client ('{"tier": "gold"}').
    #[arg(long, value_name = "JSON", value_parser = json_object)]
    metadata: Option<ClientMetadataObject>,
}

/// `client update`: the rest of RFC 7591 and OpenID Connect Registration
/// (issue 19).
#[derive(Args)]
struct RegistrationUpdateArgs {
    /// web or native.
    #[arg(long, value_name = "TYPE")]
    application_type: Option<ApplicationType>,
    /// Add a contact (repeatable).
    #[arg(long, value_name = "CONTACT")]
    add_contact: Vec<String>,
    /// Remove a contact (repeatable).
    #[arg(long, value_name = "CONTACT")]
    remove_contact: Vec<String>,
    /// Where the client publishes its public keys, or `none`.
    #[arg(long, value_name = "URL|none")]
    jwks_uri: Option<OrNone<WebUrl>>,
    /// The client software's id, or `none`.
    #[arg(long, value_name = "TEXT|none")]
    software_id: Option<OrNone<String>>,
    /// The client software's version, or `none`.
    #[arg(long, value_name = "TEXT|none")]
    software_version: Option<OrNone<String>>,
    /// When the secret expires (Unix seconds; 0: never).
    #[arg(long, value_name = "UNIX_TIME")]
    client_secret_expires_at: Option<u64>,
    /// The only algorithm accepted for the client's assertions, or `any`.
    #[arg(long, value_name = "ALG|any")]
    token_endpoint_auth_signing_alg: Option<OrAny<ClientSigningAlg>>,
    /// The only algorithm accepted for the client's request objects, or
    /// `any`.
    #[arg(long, value_name = "ALG|any")]
    request_object_signing_alg: Option<OrAny<ClientSigningAlg>>,
    /// Allow a browser origin (repeatable).
    #[arg(long, value_name = "ORIGIN")]
    add_allowed_cors_origin: Vec<Origin>,
    /// Withdraw a browser origin (repeatable).
    #[arg(long, value_name = "ORIGIN")]
    remove_allowed_cors_origin: Vec<Origin>,
    /// Who owns the client, or `none`.
    #[arg(long, value_name = "OWNER|none")]
    owner: Option<OrNone<String>>,
    /// Replace the free-form metadata object (`{}` empties it).
    #[arg(long, value_name = "JSON", value_parser = json_object)]
    metadata: Option<ClientMetadataObject>,
}

impl RegistrationUpdateArgs {
    /// Whether any field is to change.
    fn any(&self) -> bool {
        self.application_type.is_some()
            || !self.add_contact.is_empty()
            || !self.remove_contact.is_empty()
            || self.jwks_uri.is_some()
            || self.software_id.is_some()
            || self.software_version.is_some()
            || self.client_secret_expires_at.is_some()
            || self.token_endpoint_auth_signing_alg.is_some()
            || self.request_object_signing_alg.is_some()
            || !self.add_allowed_cors_origin.is_empty()
            || !self.remove_allowed_cors_origin.is_empty()
            || self.owner.is_some()
            || self.metadata.is_some()
    }
}

/// A JSON object given on the command line (`--metadata`).
fn json_object(s: &str) -> Result<ClientMetadataObject, String> {
    match serde_json::from_str(s) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("metadata: must be a JSON object".into()),
        Err(e) => Err(format!("metadata: not JSON: {e}")),
    }
}

/// `client create`: the OpenID Connect registration fields.
#[derive(Args)]
struct OpenIdCreateArgs {
    /// How ID Tokens are signed: RS256 (the server's default), ES256 or
    /// EdDSA.
    #[arg(long, value_name = "ALG")]
    id_token_signed_response_alg: Option<Algorithm>,
    /// Sign UserInfo answers with this algorithm (default: plain JSON).
    #[arg(long, value_name = "ALG")]
    userinfo_signed_response_alg: Option<Algorithm>,
    /// public (default) or pairwise: a pairwise client's users get a
    /// different `sub` per sector (needs one redirect URI host or
    /// --sector-identifier-uri).
    #[arg(long, value_name = "TYPE")]
    subject_type: Option<SubjectType>,
    /// An https URL whose host is the sector of pairwise subjects (it is
    /// not fetched).
    #[arg(long, value_name = "URL")]
    sector_identifier_uri: Option<WebUrl>,
    /// Where the browser may be sent after logout (repeatable; matched
    /// exactly, like redirect URIs).
    #[arg(long, value_name = "URI", visible_alias = "post-logout-callback")]
    post_logout_redirect_uri: Vec<RedirectUri>,
    /// Where back-channel Logout Tokens are POSTed (https; http only for
    /// confidential clients).
    #[arg(
        long,
        value_name = "URL",
        visible_alias = "backchannel-logout-callback"
    )]
    backchannel_logout_uri: Option<WebUrl>,
    /// Logout Tokens and ID Tokens carry the session id (`sid`).
    #[arg(long)]
    backchannel_logout_session_required: bool,
    /// ID Tokens always carry `auth_time`.
    #[arg(long)]
    require_auth_time: bool,
    /// The `max_age` of requests that send none, in seconds.
    #[arg(long, value_name = "SECONDS")]
    default_max_age: Option<u64>,
    /// The client's logo, shown on login and consent pages.
    #[arg(long, value_name = "URL")]
    logo_uri: Option<WebUrl>,
    /// The client's privacy policy, linked on the consent page.
    #[arg(long, value_name = "URL")]
    policy_uri: Option<WebUrl>,
    /// The client's terms of service, linked on the consent page.
    #[arg(long, value_name = "URL")]
    tos_uri: Option<WebUrl>,
    /// The client's home page.
    #[arg(long, value_name = "URL")]
    client_uri: Option<WebUrl>,
}

/// `client update`: every change is checked before anything is written.
#[derive(Args)]
struct UpdateArgs {
    /// The client id.
    client_id: ClientId,
    /// A new `client_name`.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Add a redirect URI (repeatable).
    #[arg(long, value_name = "URI")]
    add_redirect_uri: Vec<RedirectUri>,
    /// Remove a redirect URI (repeatable).
    #[arg(long, value_name = "URI")]
    remove_redirect_uri: Vec<RedirectUri>,
    /// Allow a grant type (repeatable, or comma-separated).
    #[arg(long, value_name = "GRANT", value_delimiter = ',')]
    add_grant_type: Vec<GrantType>,
    /// Withdraw a grant type (repeatable, or comma-separated).
    #[arg(long, value_name = "GRANT", value_delimiter = ',')]
    remove_grant_type: Vec<GrantType>,
    /// Add scopes ("a b"; repeatable).
    #[arg(long, value_name = "SCOPES")]
    add_scope: Vec<ScopeSet>,
    /// Remove scopes ("a b"; repeatable).
    #[arg(long, value_name = "SCOPES")]
    remove_scope: Vec<ScopeSet>,
    /// Set the default scope.
    #[arg(long, value_name = "SCOPES", conflicts_with = "clear_default_scope")]
    default_scope: Option<ScopeSet>,
    /// Remove the default scope.
    #[arg(long)]
    clear_default_scope: bool,
    /// Whether users skip the consent page: true or false.
    #[arg(long, value_name = "BOOL")]
    skip_consent: Option<bool>,
    /// Whether the client may use PKCE `plain`: true or false.
    #[arg(long, value_name = "BOOL")]
    allow_plain_pkce: Option<bool>,
    /// Register the client as a resource server for an audience
    /// (repeatable).
    #[arg(long, value_name = "AUDIENCE")]
    add_resource_server_for: Vec<Audience>,
    /// Withdraw a resource-server audience (repeatable).
    #[arg(long, value_name = "AUDIENCE")]
    remove_resource_server_for: Vec<Audience>,
    /// The access token format: opaque or jwt.
    #[arg(long, value_name = "FORMAT", visible_alias = "access-token-strategy")]
    access_token_format: Option<AccessTokenFormat>,
    /// Access token lifetime: seconds, or `default` for the server's.
    #[arg(long, value_name = "SECONDS|default")]
    access_token_lifetime: Option<Lifetime>,
    /// Refresh token lifetime: seconds, or `default` for the server's.
    #[arg(long, value_name = "SECONDS|default")]
    refresh_token_lifetime: Option<Lifetime>,
    /// Replace the secret with a new generated one, printed once; the old
    /// one stops working at once.
    #[arg(long)]
    rotate_secret: bool,
    /// Set or replace the client's public JWKS (a JSON file): a
    /// private_key_jwt client's keys, or any client's request object keys.
    #[arg(long, value_name = "FILE", conflicts_with = "remove_jwks")]
    jwks: Option<PathBuf>,
    /// Enable the client.
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    /// Disable the client: it can no longer authenticate or authorize, its
    /// tokens stop working at once, and they are revoked, so enabling it
    /// again does not bring them back.
    #[arg(long)]
    disable: bool,
    #[command(flatten)]
    openid: OpenIdUpdateArgs,
    // Pushed and signed authorization requests (issue 17, PA-02, JR-01).
    /// Remove the client's JWKS (not for private_key_jwt, whose keys they
    /// are: replace them with --jwks).
    #[arg(long)]
    remove_jwks: bool,
    /// Whether every authorization request must be pushed: true or false.
    #[arg(long, value_name = "BOOL")]
    require_pushed_authorization_requests: Option<bool>,
    /// Whether every authorization request must be a signed request
    /// object: true or false.
    #[arg(long, value_name = "BOOL")]
    require_signed_request_object: Option<bool>,
    // DPoP and resource indicators (issue 17, DP-02, RI-01).
    /// Whether the client's access tokens are DPoP-bound (every token
    /// request carries a proof): true or false.
    #[arg(long, value_name = "BOOL")]
    dpop_bound_access_tokens: Option<bool>,
    /// Allow the client to ask tokens for a resource (RFC 8707; repeatable).
    #[arg(long, value_name = "URI", visible_alias = "add-audience")]
    add_resource: Vec<Resource>,
    /// Withdraw an allowed resource (repeatable).
    #[arg(long, value_name = "URI", visible_alias = "remove-audience")]
    remove_resource: Vec<Resource>,
    #[command(flatten)]
    registration: RegistrationUpdateArgs,
}

/// `client update`: the OpenID Connect registration fields.
#[derive(Args)]
struct OpenIdUpdateArgs {
    /// How ID Tokens are signed: RS256, ES256, EdDSA, or `default` (RS256).
    #[arg(long, value_name = "ALG|default")]
    id_token_signed_response_alg: Option<OrDefault<Algorithm>>,
    /// Sign UserInfo answers with this algorithm, or `default` (plain
    /// JSON).
    #[arg(long, value_name = "ALG|default")]
    userinfo_signed_response_alg: Option<OrDefault<Algorithm>>,
    /// public or pairwise.
    #[arg(long, value_name = "TYPE")]
    subject_type: Option<SubjectType>,
    /// The sector of pairwise subjects (an https URL), or `none`.
    #[arg(long, value_name = "URL|none")]
    sector_identifier_uri: Option<OrNone<WebUrl>>,
    /// Add a post-logout redirect URI (repeatable).
    #[arg(long, value_name = "URI")]
    add_post_logout_redirect_uri: Vec<RedirectUri>,
    /// Remove a post-logout redirect URI (repeatable).
    #[arg(long, value_name = "URI")]
    remove_post_logout_redirect_uri: Vec<RedirectUri>,
    /// Where back-channel Logout Tokens are POSTed, or `none`.
    #[arg(long, value_name = "URL|none")]
    backchannel_logout_uri: Option<OrNone<WebUrl>>,
    /// Whether Logout Tokens and ID Tokens carry `sid`: true or false.
    #[arg(long, value_name = "BOOL")]
    backchannel_logout_session_required: Option<bool>,
    /// Whether ID Tokens always carry `auth_time`: true or false.
    #[arg(long, value_name = "BOOL")]
    require_auth_time: Option<bool>,
    /// The `max_age` of requests that send none, in seconds, or `none`.
    #[arg(long, value_name = "SECONDS|none")]
    default_max_age: Option<OrNone<u64>>,
    /// The client's logo, or `none`.
    #[arg(long, value_name = "URL|none")]
    logo_uri: Option<OrNone<WebUrl>>,
    /// The client's privacy policy, or `none`.
    #[arg(long, value_name = "URL|none")]
    policy_uri: Option<OrNone<WebUrl>>,
    /// The client's terms of service, or `none`.
    #[arg(long, value_name = "URL|none")]
    tos_uri: Option<OrNone<WebUrl>>,
    /// The client's home page, or `none`.
    #[arg(long, value_name = "URL|none")]
    client_uri: Option<OrNone<WebUrl>>,
}

impl OpenIdUpdateArgs {
    /// Whether any field is to change.
    fn any(&self) -> bool {
        self.id_token_signed_response_alg.is_some()
            || self.userinfo_signed_response_alg.is_some()
            || self.subject_type.is_some()
            || self.sector_identifier_uri.is_some()
            || !self.add_post_logout_redirect_uri.is_empty()
            || !self.remove_post_logout_redirect_uri.is_empty()
            || self.backchannel_logout_uri.is_some()
            || self.backchannel_logout_session_required.is_some()
            || self.require_auth_time.is_some()
            || self.default_max_age.is_some()
            || self.logo_uri.is_some()
            || self.policy_uri.is_some()
            || self.tos_uri.is_some()
            || self.client_uri.is_some()
    }
}

/// A value, or the word `default` for the server's default (`None`).
#[derive(Clone, Debug)]
struct OrDefault<T>(Option<T>);

/// A value, or the word `none` to remove it (`None`).
#[derive(Clone, Debug)]
struct OrNone<T>(Option<T>);

/// A value, or the word `any` for no restriction (`None`).
#[derive(Clone, Debug)]
struct OrAny<T>(Option<T>);

macro_rules! or_word {
    ($t:ident, $word:literal) => {
        impl<T: FromStr> FromStr for $t<T>
        where
            T::Err: std::fmt::Display,
        {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                if s == $word {
                    return Ok(Self(None));
                }
                s.parse()
                    .map(|v| Self(Some(v)))
                    .map_err(|e| format!("{e} (or `{}`)", $word))
            }
        }
    };
}
or_word!(OrDefault, "default");
or_word!(OrNone, "none");
or_word!(OrAny, "any");

/// A per-client lifetime, or `None` for the server's default.
#[derive(Clone, Copy, Debug)]
struct Lifetime(Option<Duration>);

/// Where a server is needed: its issuer, and the key timing it uses.
#[derive(Args)]
struct ServerArgs {
    /// The issuer of the server (an https URL, or http on loopback).
    #[arg(
        long,
        env = "PORTCULLIS_ISSUER",
        value_name = "URL",
        default_value = "http://127.0.0.1:9400"
    )]
    issuer: String,
    /// How long before it signs a rotated-in key is published, in seconds
    /// (the server's `key_publish_lead`).
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    publish_lead: u64,
    /// Longest JWT access token lifetime, in seconds: a retired key stays
    /// published this long after it stops signing (`jwt_max_lifetime`).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    jwt_max_lifetime: u64,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make sure a key of --algorithm signs now, generating one only if
    /// none does; with --force, generate a new key that signs at once.
    Generate {
        #[command(flatten)]
        server: ServerArgs,
        /// ES256 (default), EdDSA, RS256 or PS256 (a 2048-bit RSA key).
        #[arg(long, value_name = "ALG", default_value = "ES256")]
        algorithm: Algorithm,
        /// Generate a new key even if one signs now; it signs at once and
        /// the current keys of its algorithm stop signing (resource servers
        /// that cached the JWKS may refuse its tokens until they reload it:
        /// prefer `keys rotate`).
        #[arg(long)]
        force: bool,
    },
    /// Rotate the keys of --algorithm: a new key is published now and signs
    /// after --publish-lead; the current key of that algorithm signs until
    /// then and stays published --jwt-max-lifetime longer. Keys of other
    /// algorithms go on signing.
    Rotate {
        #[command(flatten)]
        server: ServerArgs,
        /// ES256 (default), EdDSA, RS256 or PS256 (a 2048-bit RSA key).
        #[arg(long, value_name = "ALG", default_value = "ES256")]
        algorithm: Algorithm,
    },
    /// Rotate in a private key from a PKCS#8 DER file (e.g. an RSA key of
    /// another size than 2048 bits); it replaces the keys of its algorithm.
    Import {
        #[command(flatten)]
        server: ServerArgs,
        /// The key's algorithm: RS256, PS256, ES256 or EdDSA.
        #[arg(long, value_name = "ALG")]
        algorithm: Algorithm,
        /// The PKCS#8 DER file.
        #[arg(long, value_name = "FILE")]
        pkcs8: PathBuf,
    },
    /// List every stored key with its state; never prints a private key.
    List,
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Delete expired codes, access and refresh tokens, and keys no longer
    /// published; print the counts.
    Purge {
        #[command(flatten)]
        server: ServerArgs,
        /// Count what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Revoke every code and token of a client or of a user.
    Revoke(RevokeArgs),
}

/// `tokens revoke`: exactly one of --client and --user.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct RevokeArgs {
    /// Revoke everything issued to this client.
    #[arg(long, value_name = "CLIENT_ID")]
    client: Option<ClientId>,
    /// Revoke everything issued for this user.
    #[arg(long, value_name = "USER_ID")]
    user: Option<UserId>,
}

#[derive(Subcommand)]
enum ConsentCommand {
    /// List the consent a user has given.
    List {
        /// The user.
        #[arg(long, value_name = "USER_ID")]
        user: UserId,
    },
    /// Withdraw a user's consent for a client, and revoke the codes and
    /// tokens the client holds for that user.
    Revoke {
        /// The user.
        #[arg(long, value_name = "USER_ID")]
        user: UserId,
        /// The client.
        #[arg(long, value_name = "CLIENT_ID")]
        client: ClientId,
        /// Withdraw the consent only; leave the tokens valid until they expire.
        #[arg(long)]
        keep_tokens: bool,
    },
}

impl FromStr for Lifetime {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "default" {
            return Ok(Self(None));
        }
        match s.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Self(Some(Duration::from_secs(n)))),
            _ => Err("expected a positive number of seconds, or `default`"),
        }
    }
}

/// Why a command failed; each kind has its exit code.
#[derive(Debug)]
enum Failure {
    /// The database or a store failed (exit 1).
    Store(String),
    /// Bad input (exit 2).
    Input(String),
    /// Something named does not exist (exit 3).
    NotFound(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Store(_) => 1,
            Self::Input(_) => 2,
            Self::NotFound(_) => 3,
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::Store(m) | Self::Input(m) | Self::NotFound(m) => m,
        }
    }

    /// A store failure with its whole cause chain on one line, and a hint
    /// when the schema is missing.
    fn store(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut text = String::new();
        let mut next = Some(error);
        while let Some(e) = next {
            let msg = e.to_string();
            // `StoreError` says only "storage failure"; its source says what.
            let generic = msg == "storage failure" && e.source().is_some();
            if !generic && !text.contains(&msg) {
                if !text.is_empty() {
                    text.push_str(": ");
                }
                text.push_str(&msg);
            }
            next = e.source();
        }
        let missing_schema = text.contains("no such table")
            || (text.contains("relation \"portcullis_") && text.contains("does not exist"));
        let hint = if missing_schema {
            " (run `portcullis migrate` first)"
        } else {
            ""
        };
        Self::Store(one_line(&format!("{context}: {text}{hint}")))
    }
}

/// Joins lines, so every message is one line.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What clap reports, on one line: the lines before its usage block.
fn clap_message(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let lines: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    let text = lines.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{text} (see --help)")
}

/// The settings every command shares.
struct Ctx {
    database: Option<String>,
    connect_timeout: std::time::Duration,
}

impl Ctx {
    /// Opens the database; `create` lets `migrate` create a missing SQLite file.
    async fn open(&self, create: bool) -> Result<db::Db, Failure> {
        let url = self.database.as_deref().ok_or_else(|| {
            Failure::Input("no database: pass --database URL or set PORTCULLIS_DATABASE_URL".into())
        })?;
        db::Db::open(url, self.connect_timeout, create).await
    }
}

async fn run(cli: Cli) -> Result<Output, Failure> {
    let ctx = Ctx {
        database: cli.database,
        connect_timeout: std::time::Duration::from_secs(cli.connect_timeout.max(1)),
    };
    match cli.command {
        Command::Migrate => {
            let db = ctx.open(true).await?;
            let result = db.migrate().await;
            db.close().await;
            result
        }
        Command::Client(c) => client::run(&ctx, c).await,
        Command::Keys(c) => keys::run(&ctx, c).await,
        Command::Tokens(c) => tokens::run(&ctx, c).await,
        Command::Consent(c) => tokens::consent(&ctx, c).await,
    }
}

/// Warns when the database password was given on the command line, where
/// other local users can read it (`ps`, `/proc`) and shells keep it.
fn warn_password_in_argv(cli: &Cli, matches: &clap::ArgMatches) {
    let from_argv =
        matches.value_source("database") == Some(clap::parser::ValueSource::CommandLine);
    if from_argv && cli.database.as_deref().is_some_and(db::has_password) {
        eprintln!(
            "warning: the database password in --database is visible to other local users \
             and kept in shell history; set PORTCULLIS_DATABASE_URL instead"
        );
    }
}

fn main() -> ExitCode {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((cli, matches)) => {
            warn_password_in_argv(&cli, &matches);
            cli
        }
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    eprintln!("error: a subcommand is missing (see --help)");
                    ExitCode::from(2)
                }
                _ => {
                    eprintln!("error: {}", clap_message(&e));
                    ExitCode::from(2)
                }
            };
        }
    };
    let format = cli.format;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(out) => {
            let text = match format {
                Format::Table => out.text(),
                Format::Json => out.json(),
                Format::Yaml => match out.yaml() {
                    Ok(text) => text,
                    Err(e) => {
                        eprintln!("error: cannot write the output as YAML: {e}");
                        return ExitCode::from(1);
                    }
                },
            };
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => {
                    for note in out.notes() {
                        eprintln!("note: {note}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot write the output: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(f) => {
            eprintln!("error: {}", one_line(f.message()));
            ExitCode::from(f.exit_code())
        }
    }
}
