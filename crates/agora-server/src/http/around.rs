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
