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
                    .inspect(spawn_upkeep)
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

/// How often histogram samples are folded into their summaries.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The recorder keeps every histogram sample until upkeep folds it into the buckets; without
/// it, a server nobody scrapes grows by a few bytes per request forever. Upkeep runs on its own
/// thread so that it does not depend on (or outlive) any particular async runtime.
fn spawn_upkeep(handle: &PrometheusHandle) {
    let handle = handle.clone();
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            handle.run_upkeep();
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the metrics upkeep thread; histograms grow until scraped");
    }
}
