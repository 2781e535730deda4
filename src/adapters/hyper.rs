//! hyper 1 integration, a thin layer over the [`super::tower`] boundary:
//! [`Endpoints`] is also a `hyper::service::Service`, so it can be served
//! directly, and [`bearer`] validates a resource request. No OAuth logic and
//! no HTTP decision lives here.
//!
//! hyper has no router: put your own routes (the authorization route, with
//! your login and consent pages, and your resources) in front of
//! [`Endpoints`], read requests for them with [`OwnedRequest::read`], and
//! guard resources with [`bearer`] (or, through hyper-util's
//! `TowerToHyperService`, with a [`super::tower::BearerLayer`]).

use std::convert::Infallible;

use hyper::body::Body;
use hyper::service::Service;

pub use super::tower::{BoxError, Endpoints, OwnedRequest, ResponseBody};
use crate::bearer::BearerToken;
use crate::http::{Request, Response};
use crate::protected_resource::ProtectedResource;
use crate::scope::ScopeSet;
use crate::server::AuthorizationServer;

/// Validates the bearer token of a resource request (RFC 6750): the token,
/// or the 401 challenge to send. Check scopes with
/// [`AuthorizationServer::require_scope`]. Only the head is read, so the
/// body is still yours.
pub async fn bearer<B>(
    server: &AuthorizationServer,
    req: &hyper::Request<B>,
) -> Result<BearerToken, Response> {
    let core = Request::from_http(req);
    server.authenticate_bearer(&core, &ScopeSet::empty()).await
}

/// [`bearer`] at the protected resource `resource` (RFC 8707, RFC 9728):
/// the token must have been issued for it, and a 401 challenge carries its
/// `resource_metadata`. See [`AuthorizationServer::authenticate_bearer_for`].
pub async fn bearer_for<B>(
    server: &AuthorizationServer,
    req: &hyper::Request<B>,
    resource: &ProtectedResource,
) -> Result<BearerToken, Response> {
    let core = Request::from_http(req);
    server
        .authenticate_bearer_for(&core, &ScopeSet::empty(), resource)
        .await
}

/// Serves the endpoints on a hyper connection, one request at a time:
/// [`Endpoints::handle`].
impl<B> Service<hyper::Request<B>> for Endpoints
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = hyper::Response<ResponseBody>;
    type Error = Infallible;
    type Future = <Self as tower::Service<hyper::Request<B>>>::Future;

    fn call(&self, req: hyper::Request<B>) -> Self::Future {
        tower::Service::call(&mut self.clone(), req)
    }
}
