//! Prometheus metrics, rendered by the app itself at `/metrics` (no exporter HTTP server and
//! no TLS stack pulled in).

use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use hashbrown::{Equivalent, HashMap};
use metrics::{Counter, Histogram};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Access to the process-wide recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: Option<PrometheusHandle>,
    /// Per-label-set handles, so a request costs a lookup rather than a registration (which
    /// allocates the label strings and takes the registry's locks).
    requests: Arc<RwLock<HashMap<RequestKey, RequestHandles>>>,
}

/// The labels of one request series.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RequestKey {
    method: &'static str,
    route: Box<str>,
    status: u16,
}

/// [`RequestKey`] borrowed from a request, for lookups. Hashes exactly like the owned key.
struct RequestKeyRef<'a> {
    method: &'static str,
    route: &'a str,
    status: u16,
}

impl Hash for RequestKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.method.hash(state);
        self.route.hash(state);
        self.status.hash(state);
    }
}

impl Equivalent<RequestKey> for RequestKeyRef<'_> {
    fn equivalent(&self, key: &RequestKey) -> bool {
        self.method == key.method && self.status == key.status && self.route == &*key.route
    }
}

struct RequestHandles {
    count: Counter,
    duration: Histogram,
}

/// More distinct label sets than this are still counted, just without a cached handle.
const MAX_CACHED_SERIES: usize = 10_000;

/// The method label: the standard methods by name, anything else as `OTHER`, so that clients
/// cannot create unbounded metric series by inventing methods.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "OTHER",
    }
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
                    .inspect(|_| describe())
            })
            .clone();
        Self { handle, requests: Arc::default() }
    }

    /// Counts one request and its latency.
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let seconds = elapsed.as_secs_f64();
        if let Ok(map) = self.requests.read()
            && let Some(h) = map.get(&RequestKeyRef { method, route, status })
        {
            h.count.increment(1);
            h.duration.record(seconds);
            return;
        }
        let handles = RequestHandles {
            count: metrics::counter!(
                "agora_http_requests_total",
                "method" => method, "route" => route.to_string(), "status" => status.to_string()
            ),
            duration: metrics::histogram!(
                "agora_http_request_duration_seconds", "method" => method, "route" => route.to_string()
            ),
        };
        handles.count.increment(1);
        handles.duration.record(seconds);
        if let Ok(mut map) = self.requests.write()
            && map.len() < MAX_CACHED_SERIES
        {
            map.insert(RequestKey { method, route: route.into(), status }, handles);
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.as_ref().map(|h| h.render()).unwrap_or_default()
    }
}

/// Orders by status (a gauge read from the database at each scrape).
pub const ORDERS: &str = "agora_orders";
/// Charges by status (a gauge read from the database at each scrape).
pub const CHARGES: &str = "agora_charges";

/// The `# HELP` line of every metric the server records.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("agora_http_requests_total", "HTTP requests answered, by method, route template and status.");
    describe_histogram!(
        "agora_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route template."
    );
    describe_gauge!("agora_db_pool_connections", "Open database connections (as of the last scrape).");
    describe_gauge!("agora_db_pool_idle_connections", "Idle database connections (as of the last scrape).");
    agora_ratelimit::metrics_names::describe();
    agora_idempotency::metrics_names::describe();
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
