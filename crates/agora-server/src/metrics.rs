//! Prometheus metrics, rendered by the app itself at `/metrics` (no exporter HTTP server and
//! no TLS stack pulled in).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Access to the process-wide recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: Option<PrometheusHandle>,
}

impl Metrics {
    /// Installs the recorder once per process; later calls share it.
    pub fn install() -> Self {
        let handle = HANDLE
            .get_or_init(|| {
                let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
                PrometheusBuilder::new()
                    .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                    .ok()
                    .and_then(|b| b.install_recorder().ok())
            })
            .clone();
        Self { handle }
    }

    /// Counts one request and its latency.
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
        metrics::counter!("agora_http_requests_total", &labels).increment(1);
        metrics::histogram!("agora_http_request_duration_seconds", "method" => method.to_string(), "route" => route.to_string())
            .record(elapsed.as_secs_f64());
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.as_ref().map(|h| h.render()).unwrap_or_default()
    }
}
