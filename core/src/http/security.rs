//! The browser half of the sandbox: every response the host sends, module pages
//! included, carries a strict Content-Security-Policy (no inline script or style, no
//! eval, no plugin objects, no framing, forms only to this origin) and the usual
//! security headers. Violations are reported to `/csp-rapport`, logged and counted.

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::AppState;

/// Where browsers report violations (`report-uri`).
pub const CSP_REPORT_PATH: &str = "/csp-rapport";

/// The policy of every page. `'self'` only: modules ship their scripts and styles as
/// assets (`/assets/{module}/{version}/…`), never inline.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'; report-uri /csp-rapport";

/// Features no page of the platform uses (only features Chromium knows: an unknown one,
/// such as `bluetooth`, is a console warning on every page).
pub const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=()";

/// Adds the security headers to every response (a handler's own CSP is kept only if it
/// is the host's: plugins' headers never reach here unfiltered).
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            http::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        ),
        (
            http::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ] {
        headers.insert(name, value);
    }
    response
}

/// `POST /csp-rapport`: a browser's violation report (JSON, small). Logged with what
/// was blocked, counted for the operator and the tests; never an error for the browser.
pub async fn report(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    state.csp_reports.fetch_add(1, Ordering::Relaxed);
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let r = &report["csp-report"];
    tracing::warn!(
        document = %r["document-uri"].as_str().unwrap_or("?"),
        directive = %r["violated-directive"].as_str().unwrap_or("?"),
        blocked = %r["blocked-uri"].as_str().unwrap_or("?"),
        "content security policy violation"
    );
    StatusCode::NO_CONTENT.into_response()
}
