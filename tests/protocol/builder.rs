//! `ServerBuilder::build` names the store trait that is missing and what
//! needs it; a host that implements only the protocol steps (no operator
//! traits, no replay cache) builds a working server once it turns off what
//! it does not implement.

use std::sync::Arc;

use portcullis::http::{Method, Request};
use portcullis::{
    AccessRecord, AuthMethod, AuthorizationServer, Client, ClientAdmin, ClientId, ClientStore,
    CodeRecord, Config, ConfigError, Exchange, GrantId, GrantType, MemoryStore, NewTokens,
    RefreshRecord, Rotation, ScopeSet, Secret, SecretHash, SessionId, StoreError, TokenHash,
    TokenStore, async_trait,
};
use serde_json::Value;

const ISSUER: &str = "https://auth.example.com";
const JWT_SECRET: &str = "0123456789abcdef0123456789abcdef-shared";

/// A host's store with the protocol steps only: `ClientStore` and
/// `TokenStore`, nothing else (here over a `MemoryStore`).
struct ProtocolOnly(MemoryStore);

#[async_trait]
impl ClientStore for ProtocolOnly {
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        self.0.client(id).await
    }

    async fn cors_origin_registered(
        &self,
        origin: &portcullis::Origin,
    ) -> Result<bool, StoreError> {
        self.0.cors_origin_registered(origin).await
    }
}

#[async_trait]
impl TokenStore for ProtocolOnly {
    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        self.0.insert_code(code).await
    }
    async fn find_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        self.0.find_code(hash).await
    }
    async fn exchange_code(
        &self,
        hash: &TokenHash,
        tokens: NewTokens,
    ) -> Result<Exchange, StoreError> {
        self.0.exchange_code(hash, tokens).await
    }
    async fn issue(&self, tokens: NewTokens) -> Result<(), StoreError> {
        self.0.issue(tokens).await
    }
    async fn find_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, StoreError> {
        self.0.find_access(hash).await
    }
    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        self.0.find_refresh(hash).await
    }
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: NewTokens,
    ) -> Result<Rotation, StoreError> {
        self.0.rotate_refresh(old, new).await
    }
    async fn replace_successor(
        &self,
        old: &TokenHash,
        successor: &TokenHash,
        new: NewTokens,
    ) -> Result<portcullis::Replacement, StoreError> {
        self.0.replace_successor(old, successor, new).await
    }
    async fn revoke_access(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.0.revoke_access(hash).await
    }
    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), StoreError> {
        self.0.revoke_grant(grant).await
    }
    async fn revoke_session(&self, session: &SessionId) -> Result<u64, StoreError> {
        self.0.revoke_session(session).await
    }
    async fn session_clients(&self, session: &SessionId) -> Result<Vec<ClientId>, StoreError> {
        self.0.session_clients(session).await
    }
}

fn missing(store: &'static str, err: ConfigError) {
    let ConfigError::MissingStore {
        store: named,
        needed_by,
    } = &err
    else {
        panic!("expected MissingStore, got {err:?}");
    };
    assert_eq!(*named, store);
    assert!(!needed_by.is_empty());
    let message = err.to_string();
    assert!(message.contains(store), "{message}");
}

#[test]
fn a_missing_client_store_is_named() {
    let store = Arc::new(MemoryStore::new());
    let err = AuthorizationServer::builder(Config::new(ISSUER))
        .token_store(store.clone())
        .replay_cache(store)
        .build()
        .unwrap_err();
    missing("ClientStore", err);
}

#[test]
fn a_missing_token_store_is_named() {
    let store = Arc::new(MemoryStore::new());
    let err = AuthorizationServer::builder(Config::new(ISSUER))
        .client_store(store.clone())
        .replay_cache(store)
        .build()
        .unwrap_err();
    missing("TokenStore", err);
}

#[test]
fn jwt_client_authentication_without_a_replay_cache_is_named() {
    // covers: CA-08
    let store = Arc::new(ProtocolOnly(MemoryStore::new()));
    let config = Config::new(ISSUER);
    assert!(config.jwt_client_authentication, "on by default");
    let err = AuthorizationServer::builder(config)
        .client_store(store.clone())
        .token_store(store)
        .build()
        .unwrap_err();
    let message = err.to_string();
    missing("ReplayCache", err);
    assert!(
        message.contains("jwt_client_authentication"),
        "names the setting that needs it: {message}"
    );
}

#[tokio::test]
async fn the_protocol_steps_alone_serve_tokens_once_jwt_client_authentication_is_off() {
    // covers: MD-01, CA-08
    let memory = MemoryStore::new();
    let client = Client::confidential(ClientId::parse("svc").unwrap(), SecretHash::sha256("s"))
        .token_endpoint_auth_method(AuthMethod::ClientSecretPost)
        .grant_type(GrantType::ClientCredentials)
        .scope(ScopeSet::parse("read").unwrap())
        .build()
        .unwrap();
    memory.insert_client(client).await.unwrap();
    let jwt_client = Client::client_secret_jwt(
        ClientId::parse("sj").unwrap(),
        Secret::new(JWT_SECRET.into()),
    )
    .grant_type(GrantType::ClientCredentials)
    .scope(ScopeSet::parse("read").unwrap())
    .build()
    .unwrap();
    memory.insert_client(jwt_client).await.unwrap();
    let store = Arc::new(ProtocolOnly(memory));
    let mut config = Config::new(ISSUER);
    config.jwt_client_authentication = false;
    config.dpop.enabled = false;
    let server = AuthorizationServer::builder(config)
        .client_store(store.clone())
        .token_store(store.clone())
        .build()
        .unwrap();
    assert!(server.replay_cache().is_none());
    // The same stores with the setting on, and a replay cache beside them.
    let with_jwt = AuthorizationServer::builder(Config::new(ISSUER))
        .client_store(store.clone())
        .token_store(store)
        .replay_cache(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();

    // The metadata no longer offers the JWT methods.
    let metadata: Value = serde_json::from_slice(server.metadata().body()).unwrap();
    let methods = metadata["token_endpoint_auth_methods_supported"].to_string();
    assert!(methods.contains("client_secret_basic"), "{methods}");
    assert!(!methods.contains("jwt"), "{methods}");
    assert!(metadata["token_endpoint_auth_signing_alg_values_supported"].is_null());

    // A secret still works.
    let body = b"grant_type=client_credentials&client_id=svc&client_secret=s";
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body);
    assert_eq!(server.token(&req).await.status(), 200);

    // A valid assertion of a `client_secret_jwt` client (the server with
    // the setting on accepts it) is refused: the server does not offer the
    // method.
    let claims = serde_json::json!({
        "iss": "sj", "sub": "sj", "aud": ISSUER,
        "exp": server.clock().now().as_secs() + 60, "jti": "once",
    });
    let assertion = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let body = format!(
        "grant_type=client_credentials\
        &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
        &client_assertion={assertion}"
    );
    let req = Request::new(Method::Post)
        .header("Content-Type", b"application/x-www-form-urlencoded")
        .body(body.as_bytes());
    let resp = server.token(&req).await;
    assert_eq!(resp.status(), 401);
    let err: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(err["error"], "invalid_client");
    assert_eq!(
        with_jwt.token(&req).await.status(),
        200,
        "the assertion is valid"
    );
}
