//! `Config`: issuer, endpoint paths, lifetimes, enabled grants, PKCE policy,
//! body limit. `Config::new` is secure by default (OAuth 2.1, RFC 9700).

use crate::error::ConfigError;
use crate::grant_type::GrantType;
use crate::keys::Algorithm;
use crate::scope::ScopeSet;

/// Where each endpoint is mounted, relative to the issuer. Used for the
/// metadata document and by adapters that mount the routes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointPaths {
    /// Authorization endpoint (default `/authorize`).
    pub authorization: String,
    /// Token endpoint (default `/token`).
    pub token: String,
    /// Revocation endpoint (default `/revoke`).
    pub revocation: String,
    /// Introspection endpoint (default `/introspect`).
    pub introspection: String,
    /// Metadata document (default `/.well-known/oauth-authorization-server`).
    pub metadata: String,
    /// JWKS document (default `/jwks.json`).
    pub jwks: String,
}

impl Default for EndpointPaths {
    fn default() -> Self {
        Self {
            authorization: "/authorize".into(),
            token: "/token".into(),
            revocation: "/revoke".into(),
            introspection: "/introspect".into(),
            metadata: "/.well-known/oauth-authorization-server".into(),
            jwks: "/jwks.json".into(),
        }
    }
}

/// Server configuration. Start from [`Config::new`] and change fields.
///
/// ```
/// let mut config = portcullis::Config::new("https://auth.example.com");
/// config.access_token_lifetime = 600;
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Config {
    /// The issuer identifier (RFC 8414 §2): `https` URL, no trailing slash.
    pub issuer: String,
    /// Endpoint paths under the issuer.
    pub paths: EndpointPaths,
    /// Access token lifetime in seconds (default 3600).
    pub access_token_lifetime: u64,
    /// Refresh token lifetime in seconds (default 30 days). Each rotation
    /// starts a new lifetime.
    pub refresh_token_lifetime: u64,
    /// Authorization code lifetime in seconds (default 60, at most 600, AC-01).
    pub code_lifetime: u64,
    /// How long, in seconds, a suspended authorization request waits for
    /// the host to resume it after its login or consent page (default 900;
    /// see `AuthorizationServer::resume`).
    pub authorization_request_lifetime: u64,
    /// The grant types this server offers (default: `authorization_code`,
    /// `client_credentials`, `refresh_token`). Adding `password` needs a
    /// `PasswordVerifier` (PW-01).
    pub grant_types: Vec<GrantType>,
    /// Whether confidential clients must use PKCE too (default `true`,
    /// OAuth 2.1; public clients always must, PK-02).
    pub require_pkce_for_confidential: bool,
    /// Whether clients registered for it may use PKCE `plain` (default
    /// `false`; PK-01). When `false`, metadata lists only `S256`.
    pub dangerous_allow_plain_pkce: bool,
    /// The scopes this server knows, for the metadata document; `None`
    /// omits `scopes_supported`.
    pub scopes_supported: Option<ScopeSet>,
    /// Largest request body accepted, in bytes (default 64 KiB, TOK-08).
    pub max_body_size: usize,
    /// The algorithm of generated signing keys (default `ES256`).
    pub signing_algorithm: Algorithm,
    /// The `aud` of JWT access tokens, and the audience bearer validation
    /// expects (default: the issuer).
    pub jwt_audience: Option<String>,
    /// Longest life of a JWT access token in seconds (default 1 day): longer
    /// lifetimes are cut to it, and a rotated-out key stays published this
    /// long after it stops signing (JW-01).
    pub jwt_max_lifetime: u64,
    /// How long before it signs a rotated-in key is published, in seconds
    /// (default 15 minutes): longer than any JWKS cache of a resource server.
    pub key_publish_lead: u64,
    /// How long the server caches the keys of its `KeyProvider`, in seconds
    /// (default 60): other instances see a rotation within this time.
    pub key_cache_ttl: u64,
    /// Clock skew tolerated when checking JWT `exp`, `iat` and `nbf`, in
    /// seconds (default 30; TK-05).
    pub leeway: u64,
    /// Whether bearer validation of a JWT access token also checks that it
    /// was not revoked (a store lookup; default `true`).
    pub jwt_revocation_check: bool,
}

impl Config {
    /// Secure defaults for this issuer.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            paths: EndpointPaths::default(),
            access_token_lifetime: 3600,
            refresh_token_lifetime: 30 * 24 * 3600,
            code_lifetime: 60,
            authorization_request_lifetime: 900,
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::ClientCredentials,
                GrantType::RefreshToken,
            ],
            require_pkce_for_confidential: true,
            dangerous_allow_plain_pkce: false,
            scopes_supported: None,
            max_body_size: 64 * 1024,
            signing_algorithm: Algorithm::Es256,
            jwt_audience: None,
            jwt_max_lifetime: 24 * 3600,
            key_publish_lead: 15 * 60,
            key_cache_ttl: 60,
            leeway: 30,
            jwt_revocation_check: true,
        }
    }

    /// Whether the server offers `grant`.
    pub fn offers(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The audience of JWT access tokens.
    pub fn audience(&self) -> &str {
        self.jwt_audience.as_deref().unwrap_or(&self.issuer)
    }

    /// The absolute URL of an endpoint path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.issuer).map_err(|_| ConfigError::InvalidIssuer)?;
        let loopback = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok
            || url.query().is_some()
            || url.fragment().is_some()
            || self.issuer.ends_with('/')
            || !url.username().is_empty()
        {
            return Err(ConfigError::InvalidIssuer);
        }
        for (name, life, max) in [
            ("access tokens", self.access_token_lifetime, u64::MAX),
            ("refresh tokens", self.refresh_token_lifetime, u64::MAX),
            ("authorization codes", self.code_lifetime, 600),
            (
                "suspended authorization requests",
                self.authorization_request_lifetime,
                u64::MAX,
            ),
            ("JWT access tokens", self.jwt_max_lifetime, u64::MAX),
        ] {
            if life == 0 || life > max {
                return Err(ConfigError::InvalidLifetime(name));
            }
        }
        let p = &self.paths;
        for (name, path) in [
            ("authorization", &p.authorization),
            ("token", &p.token),
            ("revocation", &p.revocation),
            ("introspection", &p.introspection),
            ("metadata", &p.metadata),
            ("jwks", &p.jwks),
        ] {
            if !path.starts_with('/') {
                return Err(ConfigError::InvalidPath(name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_rules() {
        assert!(Config::new("https://a.example").validate().is_ok());
        assert!(Config::new("https://a.example/tenant").validate().is_ok());
        assert!(Config::new("http://127.0.0.1:9400").validate().is_ok());
        assert_eq!(
            Config::new("http://a.example").validate(),
            Err(ConfigError::InvalidIssuer)
        );
        assert!(Config::new("https://a.example/").validate().is_err());
        assert!(Config::new("https://a.example?x=1").validate().is_err());
    }

    #[test]
    fn codes_live_at_most_ten_minutes() {
        // covers: AC-01
        let mut c = Config::new("https://a.example");
        assert_eq!(c.code_lifetime, 60);
        c.code_lifetime = 601;
        assert!(c.validate().is_err());
    }
}
