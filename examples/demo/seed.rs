//! The demo server's seed file: its format, parsing and checking. Shared,
//! through `#[path]`, by the demo (`mod.rs`) and the fuzz harness
//! (`fuzz/src/lib.rs`, target `seed_json`), so the fuzzer runs the very code
//! that reads a seed file at start-up. Nothing here panics on any input: a
//! bad seed is an `Err` with a message naming what is wrong (never a secret
//! or a password).
//!
//! The format: `{"issuer": "...", "clients": [{"client_id", "client_secret"
//! (absent for public clients), "client_name", "redirect_uris",
//! "grant_types", "response_types", "scope", "token_endpoint_auth_method",
//! "access_token_format" ("opaque" or "jwt"), "access_token_lifetime"
//! (seconds)}], "users": [{"username", "password"}]}`. Unknown fields are
//! ignored. A client id given twice is defined by its last entry, as is a
//! username.

use std::num::NonZeroU32;

use portcullis::{
    AccessTokenFormat, AuthMethod, Client, ClientAdmin, ClientId, Config, GrantType, MemoryUsers,
    RandomSource, RedirectUri, ScopeSet, Secret, SecretHash,
};
use serde::Deserialize;

/// A parsed seed file.
#[derive(Deserialize)]
pub(crate) struct Seed {
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) clients: Vec<SeedClient>,
    #[serde(default)]
    pub(crate) users: Vec<SeedUser>,
}

/// One client of the seed file.
#[derive(Deserialize)]
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
    #[serde(default)]
    pub(crate) scope: String,
    pub(crate) token_endpoint_auth_method: Option<String>,
    /// `opaque` (default) or `jwt`.
    pub(crate) access_token_format: Option<String>,
    /// Access token lifetime in seconds (the server's default otherwise).
    pub(crate) access_token_lifetime: Option<u64>,
}

/// One user of the seed file.
#[derive(Deserialize)]
pub(crate) struct SeedUser {
    pub(crate) username: String,
    pub(crate) password: String,
}

/// Parses a seed file's bytes (JSON).
pub(crate) fn parse(text: &[u8]) -> Result<Seed, String> {
    serde_json::from_slice(text).map_err(|e| format!("not a seed file: {e}"))
}

/// The client a seed entry describes. People-chosen secrets are hashed
/// with `iterations` rounds of PBKDF2 (the demo's cost in the demo, one
/// round when fuzzing).
pub(crate) fn seed_client(
    c: &SeedClient,
    iterations: NonZeroU32,
    random: &dyn RandomSource,
) -> Result<Client, String> {
    let id = ClientId::parse(&c.client_id).ok_or(format!("bad client_id {:?}", c.client_id))?;
    let mut b = match &c.client_secret {
        Some(secret) if c.generated => Client::confidential(id, SecretHash::sha256(secret)),
        // Seed secrets are chosen by people: hash them slowly.
        Some(secret) => Client::confidential(
            id,
            SecretHash::pbkdf2(secret, iterations, random).map_err(|e| e.to_string())?,
        ),
        None => Client::public(id),
    };
    if let Some(name) = &c.client_name {
        b = b.client_name(name);
    }
    for uri in &c.redirect_uris {
        b = b.redirect_uri(RedirectUri::parse(uri).ok_or(format!("bad redirect URI {uri}"))?);
    }
    for g in &c.grant_types {
        b = b.grant_type(GrantType::parse(g).ok_or(format!("unsupported grant type {g}"))?);
    }
    b = b.scope(ScopeSet::parse(&c.scope).ok_or(format!("bad scope {:?}", c.scope))?);
    if let Some(f) = &c.access_token_format {
        b = b.access_token_format(
            AccessTokenFormat::parse(f).ok_or(format!("unknown access token format {f}"))?,
        );
    }
    if let Some(secs) = c.access_token_lifetime {
        b = b.access_token_lifetime(std::time::Duration::from_secs(secs));
    }
    if let Some(m) = &c.token_endpoint_auth_method {
        b = b.token_endpoint_auth_method(
            AuthMethod::parse(m).ok_or(format!("unsupported auth method {m}"))?,
        );
    }
    b.build()
        .map_err(|e| format!("client {}: {e}", c.client_id))
}

/// A checked seed: the server's configuration (the issuer, and the password
/// grant if a client uses it), its clients and its users.
pub(crate) struct Loaded {
    pub(crate) config: Config,
    pub(crate) clients: Vec<Client>,
    pub(crate) users: MemoryUsers,
}

/// Checks every entry of `seed` and hashes its secrets and passwords with
/// `iterations` rounds of PBKDF2. The issuer itself is checked when the
/// server is built from the configuration.
pub(crate) fn load(
    seed: &Seed,
    iterations: NonZeroU32,
    random: &dyn RandomSource,
) -> Result<Loaded, String> {
    let mut config = Config::new(seed.issuer.clone());
    if seed
        .clients
        .iter()
        .any(|c| c.grant_types.iter().any(|g| g == "password"))
    {
        config.grant_types.push(GrantType::Password);
    }
    let clients = seed
        .clients
        .iter()
        .map(|c| seed_client(c, iterations, random))
        .collect::<Result<Vec<_>, _>>()?;
    let users = MemoryUsers::new(iterations).map_err(|e| e.to_string())?;
    for u in &seed.users {
        users
            .insert(&u.username, &Secret::new(u.password.clone()))
            .map_err(|e| format!("user {:?}: {e}", u.username))?;
    }
    Ok(Loaded {
        config,
        clients,
        users,
    })
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
