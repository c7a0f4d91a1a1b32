//! CSRF protection for every state-changing request, host pages and plugin routes
//! alike: a random token in a SameSite cookie (double submit), repeated in the request
//! as form field `csrf`, header `x-csrf-token`, or (multipart uploads) query `csrf`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use maud::html;

use super::AppState;
use crate::web;

const COOKIE: &str = "maillage_csrf";
const SECURE_COOKIE: &str = "__Host-maillage_csrf";
pub const FIELD: &str = "csrf";
pub const HEADER: &str = "x-csrf-token";

/// The request's token, for pages to embed in their forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    super::access::cookie_value(headers, cookie_name(secure))
        .filter(|v| v.len() == 48 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub fn set_cookie_header(token: &str, secure: bool) -> String {
    let mut cookie = format!(
        "{}={token}; Path=/; SameSite=Lax; HttpOnly",
        cookie_name(secure)
    );
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The token the request carries, from the header, the query or an urlencoded body.
fn submitted_token(request: &http::request::Parts, body: &[u8]) -> Option<String> {
    if let Some(v) = request.headers.get(HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    if let Some(query) = request.uri.query()
        && let Some((_, v)) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == FIELD)
    {
        return Some(v.into_owned());
    }
    if !is_urlencoded(request) {
        return None;
    }
    form_urlencoded::parse(body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

/// Constant-time comparison: the token must not leak through timing.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Middleware: rejects state-changing requests without the right token, hands the
/// token to handlers, and sets the cookie on first visit.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let secure = state.cookie_secure;
    let existing = cookie_token(request.headers(), secure);
    let token = existing.clone().unwrap_or_else(new_token);
    let mut request = request;
    if !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        let (parts, body) = request.into_parts();
        // Only a urlencoded form can carry the token in its body, so only such a body is
        // read here; any other (file uploads) passes through unread, to be streamed, and
        // must carry the token in the header or the query.
        let (body, form) = if is_urlencoded(&parts) {
            match axum::body::to_bytes(body, state.body_limit).await {
                Ok(bytes) => (Body::from(bytes.clone()), bytes),
                Err(_) => {
                    return (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        Html(
                            web::page(
                                "Envoi trop volumineux",
                                &web::Shell::default(),
                                web::alert("Le contenu envoyé est trop volumineux."),
                            )
                            .into_string(),
                        ),
                    )
                        .into_response();
                }
            }
        } else {
            (body, bytes::Bytes::new())
        };
        let valid = match (&existing, submitted_token(&parts, &form)) {
            (Some(expected), Some(submitted)) => tokens_match(expected, &submitted),
            _ => false,
        };
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "state-changing request without a valid CSRF token");
            return with_cookie(expired(), &token, existing.is_none(), secure);
        }
        request = Request::from_parts(parts, body);
    }
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let response = next.run(request).await;
    with_cookie(response, &token, existing.is_none(), secure)
}

fn is_urlencoded(parts: &http::request::Parts) -> bool {
    parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn expired() -> Response {
    let page = web::page(
        "Formulaire expiré",
        &web::Shell::default(),
        html! {
            div.alert role="alert" {
                h1 { "Formulaire expiré" }
                p {
                    "Pour votre sécurité, ce formulaire n’a pas été pris en compte. Veuillez recharger la page et réessayer."
                }
            }
        },
    );
    (StatusCode::FORBIDDEN, Html(page.into_string())).into_response()
}

fn with_cookie(mut response: Response, token: &str, needed: bool, secure: bool) -> Response {
    // A handler that rotated the token (login) already set its own cookie.
    let already = response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with(cookie_name(secure))));
    if needed
        && !already
        && let Ok(value) = HeaderValue::from_str(&set_cookie_header(token, secure))
    {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, value);
    }
    response
}
