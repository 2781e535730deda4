//! `ProtectedResource`: what a host that is also a resource server says
//! about itself (RFC 9728, RI-02): its resource identifier, which is the
//! audience its bearer validation expects (RFC 8707, RI-01), and its
//! protected resource metadata document, whose URL 401 challenges carry as
//! `resource_metadata`.

use std::fmt;

use serde::Serialize;

use crate::http::Response;
use crate::keys::Algorithm;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::web_url::WebUrl;

/// The well-known path segment of RFC 9728 §3.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// How a protected resource accepts access tokens (RFC 6750 §2;
/// `bearer_methods_supported`, RFC 9728 §2).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BearerMethod {
    /// `Authorization: Bearer …` (RFC 6750 §2.1).
    Header,
    /// A form body's `access_token` (RFC 6750 §2.2).
    Body,
}

impl BearerMethod {
    /// The metadata value: `header` or `body`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Body => "body",
        }
    }
}

/// Why a [`ProtectedResource`] could not be built.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtectedResourceError {
    /// The resource identifier must be an `https` URL (plain `http` only on
    /// loopback) without fragment (RFC 9728 §1.2).
    #[error("the resource identifier must be an https URL without fragment")]
    InvalidResource,
    /// The metadata must name at least one authorization server.
    #[error("the metadata names no authorization server")]
    NoAuthorizationServer,
}

/// A protected resource (RFC 9728): its identifier (the audience its
/// tokens must carry, RI-01) and its metadata document (RI-02). Build one
/// with [`ProtectedResource::builder`], serve [`metadata_response`] at
/// [`metadata_path`], and validate requests with
/// `AuthorizationServer::authenticate_bearer_for` (or the tower
/// `BearerLayer::for_resource`), whose 401 challenges then carry
/// `resource_metadata`.
///
/// ```
/// use portcullis::{ProtectedResource, Resource, ScopeSet};
/// let api = ProtectedResource::builder(Resource::parse("https://api.example.com/v1").unwrap())
///     .authorization_server("https://auth.example.com".parse().unwrap())
///     .scopes_supported(ScopeSet::parse("invoices:read").unwrap())
///     .build()
///     .unwrap();
/// assert_eq!(
///     api.metadata_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/v1"
/// );
/// let doc: serde_json::Value = serde_json::from_slice(api.metadata_response().body()).unwrap();
/// assert_eq!(doc["resource"], "https://api.example.com/v1");
/// assert_eq!(doc["authorization_servers"][0], "https://auth.example.com");
/// ```
///
/// [`metadata_response`]: ProtectedResource::metadata_response
/// [`metadata_path`]: ProtectedResource::metadata_path
#[derive(Clone)]
pub struct ProtectedResource {
    resource: Resource,
    metadata_url: String,
    metadata_path: String,
    document: Vec<u8>,
}

impl fmt::Debug for ProtectedResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedResource")
            .field("resource", &self.resource)
            .field("metadata_url", &self.metadata_url)
            .finish_non_exhaustive()
    }
}

impl ProtectedResource {
    /// Starts the description of the resource `resource`.
    pub fn builder(resource: Resource) -> ProtectedResourceBuilder {
        ProtectedResourceBuilder {
            resource,
            authorization_servers: Vec::new(),
            jwks_uri: None,
            scopes_supported: None,
            bearer_methods: vec![BearerMethod::Header],
            resource_signing_algs: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            dpop_signing_algs: Vec::new(),
            dpop_bound_access_tokens_required: false,
        }
    }

    /// The resource identifier: the audience tokens for it carry.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The URL of the metadata document (RFC 9728 §3.1): the well-known
    /// segment inserted between the identifier's host and its path.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path of [`metadata_url`](Self::metadata_url), where the host
    /// mounts [`metadata_response`](Self::metadata_response).
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The metadata document (JSON), rendered once at build.
    pub fn metadata_document(&self) -> &[u8] {
        &self.document
    }

    /// The metadata document as a 200 `application/json` answer.
    pub fn metadata_response(&self) -> Response {
        Response::json_public(self.document.clone())
    }
}

/// Builds a [`ProtectedResource`]; see [`ProtectedResource::builder`].
#[derive(Clone, Debug)]
pub struct ProtectedResourceBuilder {
    resource: Resource,
    authorization_servers: Vec<WebUrl>,
    jwks_uri: Option<WebUrl>,
    scopes_supported: Option<ScopeSet>,
    bearer_methods: Vec<BearerMethod>,
    resource_signing_algs: Vec<Algorithm>,
    resource_name: Option<String>,
    resource_documentation: Option<WebUrl>,
    resource_policy_uri: Option<WebUrl>,
    resource_tos_uri: Option<WebUrl>,
    dpop_signing_algs: Vec<Algorithm>,
    dpop_bound_access_tokens_required: bool,
}

impl ProtectedResourceBuilder {
    /// Adds an authorization server (its issuer identifier) whose tokens
    /// the resource accepts (`authorization_servers`).
    #[must_use]
    pub fn authorization_server(mut self, issuer: WebUrl) -> Self {
        if !self.authorization_servers.contains(&issuer) {
            self.authorization_servers.push(issuer);
        }
        self
    }
    /// The resource's own signing keys (`jwks_uri`), if it signs responses.
    #[must_use]
    pub fn jwks_uri(mut self, uri: WebUrl) -> Self {
        self.jwks_uri = Some(uri);
        self
    }
    /// The scopes it uses (`scopes_supported`).
    #[must_use]
    pub fn scopes_supported(mut self, scopes: ScopeSet) -> Self {
        self.scopes_supported = Some(scopes);
        self
    }
    /// How it accepts tokens (`bearer_methods_supported`; default `header`).
    #[must_use]
    pub fn bearer_methods(mut self, methods: &[BearerMethod]) -> Self {
        self.bearer_methods = methods.to_vec();
        self
    }
    /// Adds an algorithm it signs responses with
    /// (`resource_signing_alg_values_supported`).
    #[must_use]
    pub fn resource_signing_alg(mut self, alg: Algorithm) -> Self {
        if !self.resource_signing_algs.contains(&alg) {
            self.resource_signing_algs.push(alg);
        }
        self
    }
    /// Its human-readable name (`resource_name`).
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }
    /// Developer documentation (`resource_documentation`).
    #[must_use]
    pub fn resource_documentation(mut self, uri: WebUrl) -> Self {
        self.resource_documentation = Some(uri);
        self
    }
    /// Its data policy (`resource_policy_uri`).
    #[must_use]
    pub fn resource_policy_uri(mut self, uri: WebUrl) -> Self {
        self.resource_policy_uri = Some(uri);
        self
    }
    /// Its terms of service (`resource_tos_uri`).
    #[must_use]
    pub fn resource_tos_uri(mut self, uri: WebUrl) -> Self {
        self.resource_tos_uri = Some(uri);
        self
    }
    /// Adds a DPoP proof algorithm it accepts
    /// (`dpop_signing_alg_values_supported`, RFC 9449).
    #[must_use]
    pub fn dpop_signing_alg(mut self, alg: Algorithm) -> Self {
        if !self.dpop_signing_algs.contains(&alg) {
            self.dpop_signing_algs.push(alg);
        }
        self
    }
    /// Whether it accepts only DPoP-bound tokens
    /// (`dpop_bound_access_tokens_required`; default `false`).
    #[must_use]
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens_required = required;
        self
    }

    /// Checks the description and renders the document once.
    pub fn build(self) -> Result<ProtectedResource, ProtectedResourceError> {
        let url = WebUrl::parse(self.resource.as_str())
            .filter(|u| u.is_https() || u.is_loopback())
            .ok_or(ProtectedResourceError::InvalidResource)?;
        if self.authorization_servers.is_empty() {
            return Err(ProtectedResourceError::NoAuthorizationServer);
        }
        let (metadata_url, metadata_path) = well_known(url.as_str())?;
        let strs = |v: &[Algorithm]| -> Option<Vec<&'static str>> {
            (!v.is_empty()).then(|| v.iter().map(|a| a.as_str()).collect())
        };
        let doc = Document {
            resource: self.resource.as_str(),
            authorization_servers: self
                .authorization_servers
                .iter()
                .map(WebUrl::as_str)
                .collect(),
            jwks_uri: self.jwks_uri.as_ref().map(WebUrl::as_str),
            scopes_supported: self
                .scopes_supported
                .as_ref()
                .map(|s| s.iter().map(|s| s.as_str()).collect()),
            bearer_methods_supported: self.bearer_methods.iter().map(|m| m.as_str()).collect(),
            resource_signing_alg_values_supported: strs(&self.resource_signing_algs),
            resource_name: self.resource_name.as_deref(),
            resource_documentation: self.resource_documentation.as_ref().map(WebUrl::as_str),
            resource_policy_uri: self.resource_policy_uri.as_ref().map(WebUrl::as_str),
            resource_tos_uri: self.resource_tos_uri.as_ref().map(WebUrl::as_str),
            dpop_signing_alg_values_supported: strs(&self.dpop_signing_algs),
            dpop_bound_access_tokens_required: self
                .dpop_bound_access_tokens_required
                .then_some(true),
        };
        let document = serde_json::to_vec(&doc).unwrap_or_default();
        Ok(ProtectedResource {
            resource: self.resource,
            metadata_url,
            metadata_path,
            document,
        })
    }
}

/// The document (RFC 9728 §2); absent members are left out.
#[derive(Serialize)]
struct Document<'a> {
    resource: &'a str,
    authorization_servers: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes_supported: Option<Vec<&'a str>>,
    bearer_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_signing_alg_values_supported: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_signing_alg_values_supported: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_bound_access_tokens_required: Option<bool>,
}

/// RFC 9728 §3.1: the metadata URL of a resource identifier, and its path.
/// The well-known segment goes between the host (and port) and the path; a
/// path of `/` alone is dropped; a query stays at the end.
fn well_known(resource: &str) -> Result<(String, String), ProtectedResourceError> {
    let url = url::Url::parse(resource).map_err(|_| ProtectedResourceError::InvalidResource)?;
    let origin = url.origin().ascii_serialization();
    let path = match url.path() {
        "/" => "",
        p => p,
    };
    let mut full_path = format!("{WELL_KNOWN}{path}");
    if let Some(q) = url.query() {
        full_path.push('?');
        full_path.push_str(q);
    }
    Ok((
        format!("{origin}{full_path}"),
        format!("{WELL_KNOWN}{path}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_insert_the_well_known_segment() {
        // covers: RI-02
        for (resource, url) in [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com:8443/v1/",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/",
            ),
        ] {
            assert_eq!(well_known(resource).unwrap().0, url);
        }
        let b = |r: &str| {
            ProtectedResource::builder(Resource::parse(r).unwrap())
                .authorization_server(WebUrl::parse("https://as.example").unwrap())
                .build()
        };
        assert_eq!(
            b("urn:example:api").unwrap_err(),
            ProtectedResourceError::InvalidResource
        );
        assert_eq!(
            b("http://api.example").unwrap_err(),
            ProtectedResourceError::InvalidResource
        );
        assert!(b("http://localhost:8080/api").is_ok());
        assert_eq!(
            ProtectedResource::builder(Resource::parse("https://api.example").unwrap())
                .build()
                .unwrap_err(),
            ProtectedResourceError::NoAuthorizationServer
        );
    }
}
