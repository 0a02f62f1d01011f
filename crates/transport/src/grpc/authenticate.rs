//! Every gRPC call is authenticated before a handler sees it: the layer reads the call's
//! `authorization` metadata (or its connection's client certificate), asks the use-case
//! layer who that is, and hands the [`Caller`] to the handler in the request's extensions; a
//! credential that is refused is answered UNAUTHENTICATED at once. What the caller may do is
//! decided by each use case; the services that are not ours (health, reflection) are
//! checked here against the same policy table.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tonic::codegen::http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use xray_service::{Call, Caller, Credential, access::authorize};

use super::status::status;
use crate::connection::Peer;

/// The door's name in the auth-failure metric.
const DOOR: &str = "grpc";

/// Authenticates each call with `service`.
#[derive(Clone)]
pub struct AuthenticateLayer {
    service: xray_service::Service,
}

impl AuthenticateLayer {
    pub fn new(service: xray_service::Service) -> Self {
        Self { service }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            service: self.service.clone(),
        }
    }
}

/// The service [`AuthenticateLayer`] wraps.
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    service: xray_service::Service,
}

/// The policy's call for a gRPC service that is not one of ours, by its path.
fn foreign_call(path: &str) -> Option<Call> {
    // Health checks, and the API's description that grpcurl and other tools read.
    (path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection."))
        .then_some(Call::Health)
}

impl<S, B, R> Service<Request<B>> for Authenticate<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The inner service that was made ready is the one to call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let service = self.service.clone();
        let authorization = request
            .headers()
            .get("authorization")
            .map(|v| v.as_bytes().to_vec());
        let peer = request.extensions().get::<Peer>().cloned();
        let credential = match &peer {
            Some(peer) => peer.credential(authorization.as_deref()),
            None => Credential::from_authorization(authorization.as_deref()),
        };
        let foreign = foreign_call(request.uri().path());
        Box::pin(async move {
            let source = peer.map(|p| p.addr.ip());
            let caller = match service.authenticate(credential, source, DOOR).await {
                Ok(caller) => caller,
                Err(e) => return Ok(status(e).into_http()),
            };
            if let Some(call) = foreign
                && let Err(e) = authorize(&caller, call)
            {
                return Ok(status(e).into_http());
            }
            request.extensions_mut().insert(caller);
            inner.call(request).await
        })
    }
}

/// The caller the layer authenticated (anonymous when the layer is not in front).
pub fn caller<T>(request: &tonic::Request<T>) -> Caller {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anonymous)
}
