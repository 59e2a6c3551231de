//! Middleware that does its work synchronously before and after the inner service.
//!
//! axum's `from_fn` is convenient but boxes the rest of the stack and an `async` block for
//! every request, and clones the inner service each time. Most of our middleware only looks at
//! the request on the way in and edits the response on the way out, which needs neither: an
//! [`Around`] does exactly that, and [`AroundLayer`] runs it with a concrete future and no
//! allocation.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

/// The two halves of a synchronous middleware.
pub trait Around: Clone + Send + Sync + 'static {
    /// What `before` hands to `after` for the same request.
    type Carry: Send + 'static;

    /// Inspects or rewrites the request, and either lets it through or answers it at once.
    fn before(&self, req: &mut Request) -> Before<Self::Carry>;

    /// Edits the response of a request that `before` let through.
    fn after(&self, carry: Self::Carry, res: &mut Response);
}

/// What [`Around::before`] decided.
#[derive(Debug)]
pub enum Before<C> {
    /// Call the inner service; `after` receives the carried value.
    Continue(C),
    /// Answer with this response without calling the inner service.
    Answer(Response),
}

/// Applies an [`Around`] to a service.
#[derive(Debug, Clone)]
pub struct AroundLayer<A>(pub A);

impl<S, A: Clone> Layer<S> for AroundLayer<A> {
    type Service = AroundService<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        AroundService { inner, around: self.0.clone() }
    }
}

/// The service made by [`AroundLayer`]. The inner service may answer with anything that
/// converts into a response (tower-http's services have their own body types).
#[derive(Debug, Clone)]
pub struct AroundService<S, A> {
    inner: S,
    around: A,
}

impl<S, A> Service<Request> for AroundService<S, A>
where
    S: Service<Request, Error = Infallible>,
    S::Response: IntoResponse,
    A: Around,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AroundFuture<S::Future, A>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match self.around.before(&mut req) {
            Before::Continue(carry) => {
                AroundFuture::Running { inner: self.inner.call(req), around: self.around.clone(), carry: Some(carry) }
            }
            Before::Answer(res) => AroundFuture::Answered { res: Some(res) },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`AroundService`].
    #[project = AroundFutureProj]
    pub enum AroundFuture<F, A: Around> {
        /// The inner service is answering.
        Running { #[pin] inner: F, around: A, carry: Option<A::Carry> },
        /// `before` answered.
        Answered { res: Option<Response> },
    }
}

impl<F, R, A> Future for AroundFuture<F, A>
where
    F: Future<Output = Result<R, Infallible>>,
    R: IntoResponse,
    A: Around,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AroundFutureProj::Running { inner, around, carry } => {
                let Ok(res) = std::task::ready!(inner.poll(cx));
                let mut res = res.into_response();
                if let Some(carry) = carry.take() {
                    around.after(carry, &mut res);
                }
                Poll::Ready(Ok(res))
            }
            AroundFutureProj::Answered { res } => {
                // Polled again after completion (a caller's bug): an empty 500 rather than a panic.
                Poll::Ready(Ok(res.take().unwrap_or_else(|| {
                    let mut r = Response::default();
                    *r.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    r
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::http::{HeaderValue, StatusCode};
    use tower::{ServiceBuilder, ServiceExt, service_fn};

    use super::*;

    /// Answers `/stop` itself; stamps every other response with the path it saw.
    #[derive(Clone)]
    struct Stamp;

    impl Around for Stamp {
        type Carry = String;

        fn before(&self, req: &mut Request) -> Before<String> {
            if req.uri().path() == "/stop" {
                let mut res = Response::new(Body::empty());
                *res.status_mut() = StatusCode::IM_A_TEAPOT;
                return Before::Answer(res);
            }
            Before::Continue(req.uri().path().to_string())
        }

        fn after(&self, path: String, res: &mut Response) {
            if let Ok(v) = HeaderValue::from_str(&path) {
                res.headers_mut().insert("x-seen", v);
            }
        }
    }

    fn request(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap_or_default()
    }

    #[tokio::test]
    async fn runs_before_and_after_or_answers_without_the_inner_service() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let svc = ServiceBuilder::new().layer(AroundLayer(Stamp)).service(service_fn(move |_: Request| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Body::empty())) }
        }));

        let Ok(res) = svc.clone().oneshot(request("/go")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers().get("x-seen").map(|v| v.as_bytes()), Some(&b"/go"[..]));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let Ok(res) = svc.oneshot(request("/stop")).await;
        assert_eq!(res.status(), StatusCode::IM_A_TEAPOT);
        assert!(res.headers().get("x-seen").is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "an answered request must not reach the service");
    }
}
