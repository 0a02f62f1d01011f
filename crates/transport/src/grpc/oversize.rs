//! A request message over the largest the server accepts is refused by tonic before any
//! handler sees it, as OUT_OF_RANGE with tonic's own wording. gRPC's convention for a message
//! over the receiver's limit is RESOURCE_EXHAUSTED, and the client should learn the limit and
//! the setting behind it: this layer rewrites that one answer, and nothing else.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tonic::codegen::http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

/// tonic's message for an inbound message over the limit.
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large";

/// Rewrites tonic's OUT_OF_RANGE for an oversized request into RESOURCE_EXHAUSTED.
#[derive(Debug, Clone, Copy, Default)]
pub struct OversizeLayer;

impl<S> Layer<S> for OversizeLayer {
    type Service = Oversize<S>;

    fn layer(&self, inner: S) -> Oversize<S> {
        Oversize { inner }
    }
}

/// The service [`OversizeLayer`] wraps.
#[derive(Debug, Clone)]
pub struct Oversize<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for Oversize<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            rewrite(&mut response);
            Ok(response)
        })
    }
}

/// The sentence for an oversized message, when `message` is tonic's for one ("found N
/// bytes, the limit is: L bytes").
fn too_large(message: &str) -> Option<String> {
    let rest = message.strip_prefix(TONIC_TOO_LARGE)?;
    let number_after = |word: &str| {
        rest.split(word)
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("?")
            .to_string()
    };
    let (size, limit) = (number_after("found "), number_after("limit is: "));
    Some(format!(
        "the request message is {size} bytes, over this call's limit of {limit} bytes (Inspection: twice --max-image-bytes plus 1 MiB; other calls: 4 MiB)"
    ))
}

/// A failure to read a message as the client is told it: an oversized one as
/// RESOURCE_EXHAUSTED with the limit, anything else as it is.
pub fn inbound_status(status: tonic::Status) -> tonic::Status {
    match too_large(status.message()) {
        Some(sentence) if status.code() == tonic::Code::OutOfRange => {
            tonic::Status::resource_exhausted(sentence)
        }
        _ => status,
    }
}

/// An oversized request's trailers-only answer, with its code and sentence replaced (tonic
/// reads and writes the status headers, percent-encoding and all).
fn rewrite<R>(response: &mut Response<R>) {
    let Some(status) = tonic::Status::from_header_map(response.headers()) else {
        return;
    };
    let rewritten = inbound_status(status);
    if rewritten.code() == tonic::Code::ResourceExhausted {
        let _ = rewritten.add_header(response.headers_mut());
    }
}

#[cfg(test)]
mod tests {
    use tonic::codegen::http::HeaderValue;

    use super::*;

    fn answer(status: &str, message: &str) -> Response<()> {
        let mut response = Response::new(());
        let headers = response.headers_mut();
        headers.insert("grpc-status", HeaderValue::from_str(status).expect("ascii"));
        headers.insert(
            "grpc-message",
            HeaderValue::from_str(message).expect("ascii"),
        );
        response
    }

    #[test]
    fn only_an_oversized_request_is_rewritten() {
        let mut too_big = answer(
            "11",
            "Error,%20decoded%20message%20length%20too%20large:%20found%203000000%20bytes,%20the%20limit%20is:%201050576%20bytes",
        );
        rewrite(&mut too_big);
        assert_eq!(too_big.headers()["grpc-status"], "8");
        let rewritten = tonic::Status::from_header_map(too_big.headers()).expect("a status");
        let message = rewritten.message();
        assert!(message.contains("3000000 bytes"), "{message}");
        assert!(message.contains("1050576 bytes"), "{message}");
        assert!(message.contains("--max-image-bytes"), "{message}");

        let mut other = answer("11", "something else is out of range");
        rewrite(&mut other);
        assert_eq!(other.headers()["grpc-status"], "11");
        let mut fine = answer("0", "");
        rewrite(&mut fine);
        assert_eq!(fine.headers()["grpc-status"], "0");
    }
}
