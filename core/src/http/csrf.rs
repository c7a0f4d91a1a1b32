//! CSRF protection for every state-changing request, host pages and plugin routes
//! alike. A signed-in browser's token is bound to its session (derived from the session
//! secret, which never leaves the HttpOnly cookie), so a token minted anonymously does
//! not work with a victim's session; before login it is a random token in a SameSite
//! cookie (double submit), replaced at login. The request repeats it as form field
//! `csrf` or header `x-csrf-token`. A multipart form (a file upload without JavaScript)
//! carries it as its first part, read from the first bytes of the body while the rest
//! streams on unread; the query `csrf` is still accepted on the host's upload routes.
//!
//! The guard also bounds what it reads before the token is checked: a request without a
//! live session gets `ANONYMOUS_BODY_LIMIT`, members the configured limit, and an
//! urlencoded form may carry at most `MAX_FORM_FIELDS` fields (a French 413 otherwise,
//! before any handler or module sees it).

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
/// Largest body of a state-changing request without a live session (login and password
/// forms are a few hundred bytes).
pub const ANONYMOUS_BODY_LIMIT: usize = 64 << 10;
/// Most fields an urlencoded form may carry.
pub const MAX_FORM_FIELDS: usize = 10_000;

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

/// The token of a browser signed in with `session_secret`: derived from the secret, so
/// it cannot be made without the session cookie (HttpOnly), and cannot be turned back
/// into it. Same shape as a random token (48 hex digits).
pub fn session_token(session_secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("maillage-csrf\0{session_secret}").as_bytes())
        .iter()
        .take(24)
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// The host's own upload forms also take the token in the query (`/{structure}/fichiers/{module}`, `/{structure}/imports/{module}`,
/// the operator's `/plateforme/paquets`). Never on ordinary forms, where a token in a URL
/// would leak through logs and history.
fn accepts_query_token(path: &str) -> bool {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    match segments.as_slice() {
        ["plateforme", "paquets"] => true,
        [structure, "fichiers" | "imports", module] => !structure.is_empty() && !module.is_empty(),
        _ => false,
    }
}

/// The token the request carries, from the header, the query (upload routes only) or an
/// urlencoded body.
fn submitted_token(request: &http::request::Parts, body: &[u8]) -> Option<String> {
    if let Some(v) = request.headers.get(HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    if accepts_query_token(request.uri.path())
        && let Some(query) = request.uri.query()
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
/// token to handlers, and sets the cookie when the browser does not hold it yet.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let secure = super::access::client_info(request.extensions(), &state).secure;
    let session = super::access::cookie_value(
        request.headers(),
        super::access::session_cookie_name(secure),
    )
    .filter(|s| !s.is_empty());
    let existing = cookie_token(request.headers(), secure);
    // With a session cookie the token is the session's; without, the cookie's own.
    let token = match &session {
        Some(secret) => session_token(secret),
        None => existing.clone().unwrap_or_else(new_token),
    };
    let mut request = request;
    if !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        // Only a live session earns the configured body limit; anyone else is read no
        // further than a login form needs before the token is checked.
        let signed_in = match &session {
            Some(secret) => match state.db.session_account(secret).await {
                Ok(account) => account.is_some(),
                Err(e) => return super::internal_error("session lookup failed", e),
            },
            None => false,
        };
        let limit = if signed_in {
            state.body_limit
        } else {
            ANONYMOUS_BODY_LIMIT
        };
        let (parts, body) = request.into_parts();
        if !signed_in && declared_length(&parts).is_some_and(|length| length > limit as u64) {
            return with_cookie(too_large(), &token, existing.as_deref(), secure);
        }
        // Only a urlencoded form can carry the token in its body, so only such a body is
        // read here; any other (file uploads) passes through unread, to be streamed, and
        // must carry the token in the header or the query; anonymous ones are still cut
        // at the small limit.
        let (body, form) = if is_urlencoded(&parts) {
            match axum::body::to_bytes(body, limit).await {
                Ok(bytes) => (Body::from(bytes.clone()), bytes),
                Err(_) => return with_cookie(too_large(), &token, existing.as_deref(), secure),
            }
        } else if signed_in {
            (body, bytes::Bytes::new())
        } else {
            (
                Body::new(http_body_util::Limited::new(body, limit)),
                bytes::Bytes::new(),
            )
        };
        // A plain multipart form: the token is its first part.
        let (body, first_part) = match multipart_boundary(&parts) {
            Some(boundary) if parts.headers.get(HEADER).is_none() => {
                match first_part_token(body, &boundary).await {
                    Ok(found) => found,
                    Err(()) => {
                        return with_cookie(too_large(), &token, existing.as_deref(), secure);
                    }
                }
            }
            _ => (body, None),
        };
        let expected = match &session {
            Some(_) => Some(token.clone()),
            None => existing.clone(),
        };
        let valid = match (
            expected,
            first_part.or_else(|| submitted_token(&parts, &form)),
        ) {
            (Some(expected), Some(submitted)) => tokens_match(&expected, &submitted),
            _ => false,
        };
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "state-changing request without a valid CSRF token");
            return with_cookie(expired(), &token, existing.as_deref(), secure);
        }
        if form_fields(&form) > MAX_FORM_FIELDS {
            tracing::warn!(path = %parts.uri.path(), "form with too many fields refused");
            return with_cookie(too_many_fields(), &token, existing.as_deref(), secure);
        }
        request = Request::from_parts(parts, body);
    }
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let response = next.run(request).await;
    with_cookie(response, &token, existing.as_deref(), secure)
}

/// The boundary of a `multipart/form-data` body.
fn multipart_boundary(parts: &http::request::Parts) -> Option<String> {
    let value = parts
        .headers
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let (kind, params) = value.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 70).then(|| value.to_string())
    })
}

/// Most bytes read to find the token part at the start of a multipart body.
const FIRST_PART_LIMIT: usize = 8 << 10;

/// Reads the start of a multipart body: the token when its first part is the `csrf`
/// field, and the body to pass on, whole (what was read, then the rest, unread).
/// `Err` when the body fails while it is read.
async fn first_part_token(body: Body, boundary: &str) -> Result<(Body, Option<String>), ()> {
    use http_body_util::BodyExt;
    let end = format!("\r\n--{boundary}");
    let mut body = body;
    let mut head = bytes::BytesMut::new();
    while head.len() < FIRST_PART_LIMIT && !contains(&head, end.as_bytes()) {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    head.extend_from_slice(&data);
                }
            }
            Some(Err(_)) => return Err(()),
            None => break,
        }
    }
    let head = head.freeze();
    let token = token_part(&head, boundary);
    let rest = body.into_data_stream();
    let whole = futures_util::StreamExt::chain(
        futures_util::stream::once(std::future::ready(Ok::<_, axum::Error>(head))),
        rest,
    );
    Ok((Body::from_stream(whole), token))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of the first part when it is the form field `csrf` (not a file).
fn token_part(head: &[u8], boundary: &str) -> Option<String> {
    let start = format!("--{boundary}\r\n");
    let rest = head.strip_prefix(start.as_bytes())?;
    let headers_end = find(rest, b"\r\n\r\n")?;
    let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
    let is_token = headers.split("\r\n").any(|line| {
        let Some((name, value)) = line.split_once(':') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("content-disposition")
            && value.contains(&format!("name=\"{FIELD}\""))
            && !value.contains("filename")
    });
    if !is_token {
        return None;
    }
    let value = &rest[headers_end + 4..];
    let value_end = find(value, format!("\r\n--{boundary}").as_bytes())?;
    let token = std::str::from_utf8(&value[..value_end]).ok()?.trim();
    (token.len() <= 128).then(|| token.to_string())
}

fn declared_length(parts: &http::request::Parts) -> Option<u64> {
    parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Fields of an urlencoded body (`a=1&b=2`: 2), counted without decoding.
fn form_fields(body: &[u8]) -> usize {
    body.split(|b| *b == b'&')
        .filter(|field| !field.is_empty())
        .count()
}

fn too_large() -> Response {
    (
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
        .into_response()
}

fn too_many_fields() -> Response {
    let page = web::page(
        "Formulaire trop volumineux",
        &web::Shell::default(),
        html! {
            div.alert role="alert" {
                h1 { "Formulaire trop volumineux" }
                p {
                    "Ce formulaire contient trop de champs (plus de " (MAX_FORM_FIELDS) ") : il n’a pas été pris en compte. Veuillez en envoyer moins à la fois."
                }
            }
        },
    );
    (StatusCode::PAYLOAD_TOO_LARGE, Html(page.into_string())).into_response()
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

/// Sets the token's cookie unless the browser already holds it (`existing`).
fn with_cookie(
    mut response: Response,
    token: &str,
    existing: Option<&str>,
    secure: bool,
) -> Response {
    let needed = existing != Some(token);
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
