//! Operations: `/metrics` in the Prometheus text exposition format (0.0.4), behind the
//! operator's token (`MAILLAGE_METRICS_TOKEN`), and `/readyz` (the database and the blob
//! store answer). Counters and histograms are plain atomics written by hand: the format
//! is a few lines of text, not worth a dependency.
//!
//! Counted at the HTTP edge: requests by route kind and status class with their latency
//! (the `track` layer), module calls and faults by module and cause (`modules::forward`).
//! Read at scrape time: the event backlog and dead letters, the mail outbox, the pool.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};

use crate::http::AppState;
use crate::plugins::Fault;

/// What a request was for; a label with few values (never the path itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// The shell's files, the service worker, the web manifest, modules' assets.
    Static,
    /// `/healthz`, `/readyz`, `/metrics`.
    Probe,
    /// Host pages: sign-in, account, platform, structure home, groups, administration.
    Page,
    /// Forwarded to a module: `/{structure}/{module}/…`.
    Module,
    /// Blob uploads and downloads: `/{structure}/fichiers/…`.
    File,
    /// Import uploads and their progress: `/{structure}/imports/…`.
    Import,
    /// Personal calendar feeds: `/flux/{secret}`.
    Feed,
    /// Content-Security-Policy reports.
    Report,
}

impl RouteKind {
    const ALL: [RouteKind; 8] = [
        RouteKind::Static,
        RouteKind::Probe,
        RouteKind::Page,
        RouteKind::Module,
        RouteKind::File,
        RouteKind::Import,
        RouteKind::Feed,
        RouteKind::Report,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Static => "static",
            RouteKind::Probe => "probe",
            RouteKind::Page => "page",
            RouteKind::Module => "module",
            RouteKind::File => "file",
            RouteKind::Import => "import",
            RouteKind::Feed => "feed",
            RouteKind::Report => "report",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The kind of route a path goes to, from its first two segments (as the router does).
pub fn route_kind(path: &str) -> RouteKind {
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or("");
    match first {
        "static" | "assets" | "sw.js" | "manifest.webmanifest" | "hors-ligne" => RouteKind::Static,
        "healthz" | "readyz" | "metrics" => RouteKind::Probe,
        "flux" => RouteKind::Feed,
        "csp-rapport" => RouteKind::Report,
        ""
        | "connexion"
        | "deconnexion"
        | "compte"
        | "mot-de-passe"
        | "mot-de-passe-oublie"
        | "plateforme" => RouteKind::Page,
        // `/{structure}/…`
        _ => match segments.next() {
            None | Some("") | Some("groupes") | Some("admin") => RouteKind::Page,
            Some("fichiers") => RouteKind::File,
            Some("imports") => RouteKind::Import,
            Some(_) => RouteKind::Module,
        },
    }
}

/// Upper bounds of the latency buckets, in microseconds, and as the `le` label says them.
const BUCKETS_MICROS: [u64; 11] = [
    5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000,
];
const BUCKET_LABELS: [&str; 11] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
];
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const KINDS: usize = RouteKind::ALL.len();

fn status_class(status: StatusCode) -> usize {
    (usize::from(status.as_u16() / 100)).clamp(1, 5) - 1
}

/// The host's counters, shared by every request (`AppInner::metrics`).
pub struct Metrics {
    requests: [[AtomicU64; 5]; KINDS],
    /// Per kind: requests answered within each bucket (not cumulative), the last slot
    /// for those slower than the largest bound.
    latency: [[AtomicU64; BUCKETS_MICROS.len() + 1]; KINDS],
    latency_sum_micros: [AtomicU64; KINDS],
    /// (module, outcome: a status class or "fault") → calls.
    module_calls: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// (module, cause) → faults.
    module_faults: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency_sum_micros: std::array::from_fn(|_| AtomicU64::new(0)),
            module_calls: Mutex::new(BTreeMap::new()),
            module_faults: Mutex::new(BTreeMap::new()),
        }
    }
}

/// The label of a fault's cause.
#[allow(unreachable_patterns)]
pub fn fault_cause(fault: &Fault) -> &'static str {
    match fault {
        Fault::Trap(_) => "trap",
        Fault::Deadline(_) => "deadline",
        Fault::Memory(_) => "memory",
        Fault::OutputTooLarge(_) => "output",
        Fault::CapabilityDenied(_) => "capability",
        Fault::BadResponse(_) => "bad_response",
        Fault::Instantiate(_) => "instantiate",
        Fault::Commit(_) => "commit",
        // A cause added to the runtime later is still counted.
        _ => "other",
    }
}

impl Metrics {
    /// One answered request.
    pub fn request(&self, kind: RouteKind, status: StatusCode, elapsed: Duration) {
        let k = kind.index();
        self.requests[k][status_class(status)].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_MICROS
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(BUCKETS_MICROS.len());
        self.latency[k][bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros[k].fetch_add(micros, Ordering::Relaxed);
    }

    /// One call into a module from the edge, with what it gave.
    pub fn module_call<B>(&self, module: &str, outcome: &Result<http::Response<B>, Fault>) {
        let label = match outcome {
            Ok(response) => STATUS_CLASSES[status_class(response.status())],
            Err(_) => "fault",
        };
        if let Ok(mut calls) = self.module_calls.lock() {
            *calls.entry((module.to_string(), label)).or_insert(0) += 1;
        }
        if let Err(fault) = outcome
            && let Ok(mut faults) = self.module_faults.lock()
        {
            *faults
                .entry((module.to_string(), fault_cause(fault)))
                .or_insert(0) += 1;
        }
    }

    /// The counters, in the text format (the gauges read at scrape time come after).
    fn render_counters(&self, out: &mut String) {
        family(
            out,
            "maillage_http_requests_total",
            "counter",
            "HTTP requests answered, by route kind and status class.",
        );
        for kind in RouteKind::ALL {
            for (class, label) in STATUS_CLASSES.iter().enumerate() {
                let n = self.requests[kind.index()][class].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "maillage_http_requests_total{{kind=\"{}\",status=\"{label}\"}} {n}",
                    kind.as_str()
                );
            }
        }
        family(
            out,
            "maillage_http_request_duration_seconds",
            "histogram",
            "Time to answer a request (until the response headers), by route kind.",
        );
        for kind in RouteKind::ALL {
            let k = kind.index();
            let mut cumulative = 0u64;
            for (i, le) in BUCKET_LABELS.iter().enumerate() {
                cumulative += self.latency[k][i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "maillage_http_request_duration_seconds_bucket{{kind=\"{}\",le=\"{le}\"}} {cumulative}",
                    kind.as_str()
                );
            }
            cumulative += self.latency[k][BUCKETS_MICROS.len()].load(Ordering::Relaxed);
            let sum = self.latency_sum_micros[k].load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "maillage_http_request_duration_seconds_bucket{{kind=\"{0}\",le=\"+Inf\"}} {cumulative}\n\
                 maillage_http_request_duration_seconds_sum{{kind=\"{0}\"}} {sum}\n\
                 maillage_http_request_duration_seconds_count{{kind=\"{0}\"}} {cumulative}",
                kind.as_str()
            );
        }
        family(
            out,
            "maillage_module_calls_total",
            "counter",
            "Requests forwarded to a module, by module and outcome (status class of its answer, or fault).",
        );
        if let Ok(calls) = self.module_calls.lock() {
            for ((module, outcome), n) in calls.iter() {
                let _ = writeln!(
                    out,
                    "maillage_module_calls_total{{module=\"{}\",outcome=\"{outcome}\"}} {n}",
                    escape(module)
                );
            }
        }
        family(
            out,
            "maillage_module_faults_total",
            "counter",
            "Module calls that faulted (the request answered 500), by module and cause.",
        );
        if let Ok(faults) = self.module_faults.lock() {
            for ((module, cause), n) in faults.iter() {
                let _ = writeln!(
                    out,
                    "maillage_module_faults_total{{module=\"{}\",cause=\"{cause}\"}} {n}",
                    escape(module)
                );
            }
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Layer: counts every request with its route kind, status class and latency.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let kind = route_kind(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .request(kind, response.status(), started.elapsed());
    response
}

/// A row count for a gauge; None (the line is left out) when the database fails.
async fn count(state: &AppState, sql: &str) -> Option<i64> {
    match sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(state.db.pool())
        .await
    {
        Ok(n) => Some(n),
        Err(error) => {
            tracing::warn!(%error, sql, "metrics: count failed");
            None
        }
    }
}

/// The whole exposition: counters, then gauges read now.
pub async fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(16 << 10);
    state.metrics.render_counters(&mut out);

    family(
        &mut out,
        "maillage_events_awaiting_fan_out",
        "gauge",
        "Published events not yet fanned out to their subscribers.",
    );
    if let Some(n) = count(
        state,
        "SELECT COUNT(*) FROM event_outbox WHERE fanned_out = FALSE",
    )
    .await
    {
        let _ = writeln!(out, "maillage_events_awaiting_fan_out {n}");
    }
    family(
        &mut out,
        "maillage_event_deliveries",
        "gauge",
        "Event deliveries to modules not delivered yet: pending (backlog) and dead (given up: the dead letters).",
    );
    for status in ["pending", "dead"] {
        let sql = format!("SELECT COUNT(*) FROM event_deliveries WHERE status = '{status}'");
        if let Some(n) = count(state, &sql).await {
            let _ = writeln!(out, "maillage_event_deliveries{{status=\"{status}\"}} {n}");
        }
    }
    family(
        &mut out,
        "maillage_mail_outbox",
        "gauge",
        "Mails not sent: pending (backlog, retried) and failed (given up).",
    );
    for status in ["pending", "failed"] {
        let sql = format!("SELECT COUNT(*) FROM mail_outbox WHERE status = '{status}'");
        if let Some(n) = count(state, &sql).await {
            let _ = writeln!(out, "maillage_mail_outbox{{status=\"{status}\"}} {n}");
        }
    }

    let pool = state.db.pool();
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
    family(
        &mut out,
        "maillage_db_pool_connections",
        "gauge",
        "Database connections of the pool: in use and idle.",
    );
    let _ = writeln!(
        out,
        "maillage_db_pool_connections{{state=\"in_use\"}} {}\nmaillage_db_pool_connections{{state=\"idle\"}} {idle}",
        size - idle
    );
    family(
        &mut out,
        "maillage_db_pool_max_connections",
        "gauge",
        "Largest number of connections the pool opens.",
    );
    let _ = writeln!(
        out,
        "maillage_db_pool_max_connections {}",
        pool.options().get_max_connections()
    );
    family(
        &mut out,
        "maillage_csp_reports_total",
        "counter",
        "Content-Security-Policy violations reported by browsers since the start.",
    );
    let _ = writeln!(
        out,
        "maillage_csp_reports_total {}",
        state.csp_reports.load(Ordering::Relaxed)
    );
    out
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::Digest;
    let a = sha2::Sha256::digest(given.as_bytes());
    let b = sha2::Sha256::digest(expected.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// `GET /metrics`: 404 unless a token is configured, 401 without it (as a bearer token).
pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state
        .metrics_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return crate::http::not_found();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !given.is_some_and(|g| same_secret(g, expected)) {
        return (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, "Bearer"),
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            ],
            "unauthorized: send Authorization: Bearer <MAILLAGE_METRICS_TOKEN>\n",
        )
            .into_response();
    }
    let body = render(&state).await;
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// How long `/readyz` waits for each dependency.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// An object that is never written: reading it is a cheap round trip to the store
/// (answered "not found" when the store works).
const READY_PROBE: &str = "readyz-probe";

/// Why the host cannot serve, in a few English words (details go to the log).
pub async fn readiness(state: &AppState) -> Result<(), &'static str> {
    match tokio::time::timeout(
        READY_TIMEOUT,
        sqlx::query("SELECT 1").execute(state.db.pool()),
    )
    .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database failed");
            return Err("database unreachable");
        }
        Err(_) => return Err("database did not answer in time"),
    }
    match tokio::time::timeout(READY_TIMEOUT, state.blobs.get_platform(READY_PROBE)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the blob store failed");
            Err("blob store unreachable")
        }
        Err(_) => Err("blob store did not answer in time"),
    }
}

/// `GET /readyz`: 200 when the database and the blob store answer, 503 otherwise.
pub async fn ready(State(state): State<AppState>) -> Response {
    let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    match readiness(&state).await {
        Ok(()) => (StatusCode::OK, text, "ready\n".to_string()).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            text,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sorted_into_few_kinds() {
        assert_eq!(route_kind("/static/app.1234.css"), RouteKind::Static);
        assert_eq!(route_kind("/assets/polls/0.3.0/x.js"), RouteKind::Static);
        assert_eq!(route_kind("/healthz"), RouteKind::Probe);
        assert_eq!(route_kind("/"), RouteKind::Page);
        assert_eq!(route_kind("/connexion"), RouteKind::Page);
        assert_eq!(route_kind("/cpts-a/"), RouteKind::Page);
        assert_eq!(route_kind("/cpts-a"), RouteKind::Page);
        assert_eq!(route_kind("/cpts-a/admin/journal"), RouteKind::Page);
        assert_eq!(route_kind("/cpts-a/polls/p/1"), RouteKind::Module);
        assert_eq!(route_kind("/cpts-a/fichiers/polls/x"), RouteKind::File);
        assert_eq!(route_kind("/cpts-a/imports/annuaire"), RouteKind::Import);
        assert_eq!(route_kind("/flux/abc"), RouteKind::Feed);
    }

    #[test]
    fn latency_lands_in_one_bucket_and_renders_cumulatively() {
        let m = Metrics::default();
        m.request(RouteKind::Page, StatusCode::OK, Duration::from_millis(7));
        m.request(
            RouteKind::Page,
            StatusCode::NOT_FOUND,
            Duration::from_secs(30),
        );
        let mut out = String::new();
        m.render_counters(&mut out);
        assert!(out.contains("maillage_http_requests_total{kind=\"page\",status=\"2xx\"} 1\n"));
        assert!(out.contains("maillage_http_requests_total{kind=\"page\",status=\"4xx\"} 1\n"));
        assert!(out.contains(
            "maillage_http_request_duration_seconds_bucket{kind=\"page\",le=\"0.005\"} 0\n"
        ));
        assert!(out.contains(
            "maillage_http_request_duration_seconds_bucket{kind=\"page\",le=\"0.01\"} 1\n"
        ));
        assert!(out.contains(
            "maillage_http_request_duration_seconds_bucket{kind=\"page\",le=\"10\"} 1\n"
        ));
        assert!(out.contains(
            "maillage_http_request_duration_seconds_bucket{kind=\"page\",le=\"+Inf\"} 2\n"
        ));
        assert!(out.contains("maillage_http_request_duration_seconds_count{kind=\"page\"} 2\n"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd"));
    }
}
