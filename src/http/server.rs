//! The hyper (HTTP/1.1) server: reads every body completely, within `http.max_body_bytes`
//! (413 beyond) and `http.request_timeout_ms` (408 beyond), before a handler sees it. On
//! stop the listener closes first, then open requests finish.

use super::router::{Response, Router, error};
use http_body_util::{BodyExt, Limited};
use hyper::StatusCode;
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Limits applied before any handler runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

/// Reads the whole body within the limits, then routes.
async fn handle(router: Arc<Router>, limits: Limits, req: hyper::Request<Incoming>) -> Response {
    let (parts, body) = req.into_parts();
    let collected =
        tokio::time::timeout(limits.request_timeout, Limited::new(body, limits.max_body_bytes).collect()).await;
    let bytes = match collected {
        Err(_) => {
            return error(StatusCode::REQUEST_TIMEOUT, "timeout", "the request body took too long");
        }
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &format!("the body is larger than {} bytes", limits.max_body_bytes),
            );
        }
        Ok(Err(e)) => return error(StatusCode::BAD_REQUEST, "bad_body", &e.to_string()),
        Ok(Ok(c)) => c.to_bytes(),
    };
    router.dispatch(hyper::Request::from_parts(parts, bytes)).await
}

/// Serves connections until `stop`; open requests finish (tracked by `tracker`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    let router = Arc::new(router);
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    log::warn!("http accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let stop = stop.clone();
        tracker.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let router = router.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(router, limits, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.request_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                log::debug!("http connection from {peer}: {e}");
            }
        });
    }
}
