//! [`BearerLayer`]: a `tower::Layer` guarding a resource route with a bearer
//! token carrying the required scopes; the core validates and answers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::http::Request;
use crate::protected_resource::ProtectedResource;
use crate::scope::ScopeSet;
use crate::server::AuthorizationServer;

/// The boxed future of both services (the endpoints' and the guard's).
pub(super) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A `tower::Layer` guarding a resource route: the request's bearer token
/// (RFC 6750) must be valid and carry every required scope. If it does, the
/// request goes on with the validated [`crate::BearerToken`] in its extensions;
/// else the core's challenge is the answer (401 `invalid_token`, 403
/// `insufficient_scope`, TK-04, TK-05) and the inner service is not called.
#[derive(Clone, Debug)]
pub struct BearerLayer {
    server: Arc<AuthorizationServer>,
    required: Arc<ScopeSet>,
    /// The protected resource the route is (RFC 8707, RFC 9728), if set.
    resource: Option<Arc<ProtectedResource>>,
}

impl BearerLayer {
    /// Requires a valid token carrying every scope in `required` (an empty
    /// set: any valid token).
    pub fn new(server: Arc<AuthorizationServer>, required: ScopeSet) -> Self {
        Self {
            server,
            required: Arc::new(required),
            resource: None,
        }
    }

    /// Guards the route as the protected resource `resource`: tokens must
    /// have been issued for it (RI-01), and 401 challenges carry its
    /// `resource_metadata` (RI-02). See
    /// [`AuthorizationServer::authenticate_bearer_for`].
    #[must_use]
    pub fn for_resource(mut self, resource: Arc<ProtectedResource>) -> Self {
        self.resource = Some(resource);
        self
    }
}

impl<S> tower::Layer<S> for BearerLayer {
    type Service = RequireBearer<S>;

    fn layer(&self, inner: S) -> RequireBearer<S> {
        RequireBearer {
            inner,
            guard: self.clone(),
        }
    }
}

/// The service [`BearerLayer`] wraps around a resource route.
#[derive(Clone, Debug)]
pub struct RequireBearer<S> {
    inner: S,
    guard: BearerLayer,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for RequireBearer<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
    ResBody: From<Vec<u8>>,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // The clone is not ready: call the one that is (tower's rule).
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let guard = self.guard.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let core = Request::from_http_parts(&parts);
            let checked = match &guard.resource {
                Some(resource) => {
                    guard
                        .server
                        .authenticate_bearer_for(&core, &guard.required, resource)
                        .await
                }
                None => {
                    guard
                        .server
                        .authenticate_bearer(&core, &guard.required)
                        .await
                }
            };
            match checked {
                Ok(token) => {
                    parts.extensions.insert(token);
                    inner.call(http::Request::from_parts(parts, body)).await
                }
                Err(challenge) => Ok(challenge.into()),
            }
        })
    }
}
