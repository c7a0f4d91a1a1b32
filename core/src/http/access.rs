//! Who is asking: the client (its address and scheme, through trusted reverse proxies
//! only), the session cookie, the viewer's memberships, the CSRF token of the request,
//! and the access checks every structure page goes through.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use http::request::Parts;

use super::{AppState, csrf, forbidden, internal_error, not_found, see_other};
use crate::config::TrustedProxies;
use crate::identity::Account;
use crate::plugins::Manifest;
use crate::tenancy::{Membership, Role};
use crate::web::{Nav, Shell, ViewerBar};

const SESSION_COOKIE: &str = "maillage_session";
const SECURE_SESSION_COOKIE: &str = "__Host-maillage_session";

pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// `Set-Cookie` value for a new session; persistent sessions survive the browser closing.
pub fn session_cookie(secret: &str, persistent_secs: Option<i64>, secure: bool) -> String {
    let mut cookie = format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Lax",
        session_cookie_name(secure)
    );
    if let Some(secs) = persistent_secs {
        cookie.push_str(&format!("; Max-Age={secs}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

pub fn clear_session_cookie(secure: bool) -> String {
    let mut cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        session_cookie_name(secure)
    );
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

pub fn cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// The client of a request once trusted proxies are accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The real client's address; "local" for in-process requests without a peer.
    pub address: String,
    /// Cookies get `Secure` and the `__Host-` prefix: configured, or the request came
    /// over HTTPS through a trusted proxy.
    pub secure: bool,
}

/// Middleware: works out the request's `ClientInfo` once, for the CSRF guard, the
/// login throttling and the cookies.
pub async fn client_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = resolve_client(
        peer,
        request.headers(),
        &state.trusted_proxies,
        state.cookie_secure,
    );
    request.extensions_mut().insert(client);
    next.run(request).await
}

/// The request's client (from `client_context`, or from the TCP peer alone).
pub fn client_info(extensions: &http::Extensions, state: &AppState) -> ClientInfo {
    if let Some(client) = extensions.get::<ClientInfo>() {
        return client.clone();
    }
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    resolve_client(
        peer,
        &HeaderMap::new(),
        &state.trusted_proxies,
        state.cookie_secure,
    )
}

/// Forwarding headers are believed only when the TCP peer is a trusted proxy: then the
/// client is the right-most address of `X-Forwarded-For` (else `Forwarded: for=`) that is
/// not itself a trusted proxy (what a client wrote further left is ignored), and the
/// scheme comes from `X-Forwarded-Proto` (else `Forwarded: proto=`).
pub fn resolve_client(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    proxies: &TrustedProxies,
    configured_secure: bool,
) -> ClientInfo {
    let Some(peer) = peer.map(|ip| ip.to_canonical()) else {
        return ClientInfo {
            address: "local".into(),
            secure: configured_secure,
        };
    };
    if !proxies.contains(peer) {
        return ClientInfo {
            address: peer.to_string(),
            secure: configured_secure,
        };
    }
    let mut client = peer;
    for hop in forwarded_chain(headers).iter().rev() {
        match hop {
            Some(ip) => {
                client = ip.to_canonical();
                if !proxies.contains(client) {
                    break;
                }
            }
            // "unknown", an obfuscated name or garbage: the closest known hop it is.
            None => break,
        }
    }
    let https = forwarded_proto(headers).is_some_and(|p| p.eq_ignore_ascii_case("https"));
    ClientInfo {
        address: client.to_string(),
        secure: configured_secure || https,
    }
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// The addresses a request went through, client first: `X-Forwarded-For`, else the
/// `for=` of each `Forwarded` element; None for a hop that is not an address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff = header_values(headers, "x-forwarded-for");
    if !xff.is_empty() {
        return xff
            .iter()
            .flat_map(|v| v.split(','))
            .map(parse_hop)
            .collect();
    }
    let forwarded = header_values(headers, "forwarded");
    forwarded
        .iter()
        .flat_map(|v| v.split(','))
        .map(|element| forwarded_param(element, "for").and_then(parse_hop))
        .collect()
}

/// The scheme the client used, as the last proxy wrote it.
fn forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let values = header_values(headers, "x-forwarded-proto");
    let xfp: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(proto) = xfp.last() {
        return Some((*proto).to_string());
    }
    let values = header_values(headers, "forwarded");
    let elements: Vec<&str> = values.iter().flat_map(|v| v.split(',')).collect();
    elements
        .last()
        .and_then(|element| forwarded_param(element, "proto"))
        .map(|p| p.trim_matches('"').to_string())
}

/// One `key=value` of a `Forwarded` element (RFC 7239), key case-insensitive.
fn forwarded_param<'a>(element: &'a str, key: &str) -> Option<&'a str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
    })
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `"[2001:db8::1]:4711"`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    text.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// A signed-in person and the structures they belong to.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub account: Account,
    pub memberships: Vec<Membership>,
    /// The session cookie's secret (to end or rotate the session).
    pub session: String,
}

/// The per-request context of host pages.
pub struct Ctx {
    pub viewer: Option<Viewer>,
    pub csrf: String,
    /// Path and query, to come back after logging in.
    pub path: String,
    /// The real client's address (through trusted proxies): login throttling.
    pub client_address: String,
    /// Cookies of this request's answer are `Secure` (`ClientInfo::secure`).
    pub secure: bool,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, Response> {
        let csrf = parts
            .extensions
            .get::<csrf::CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let client = client_info(&parts.extensions, state);
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let mut viewer = None;
        if let Some(secret) = cookie_value(&parts.headers, session_cookie_name(client.secure))
            && let Some(account) = state
                .db
                .session_account(&secret)
                .await
                .map_err(|e| internal_error("session lookup failed", e))?
        {
            let memberships = state
                .db
                .memberships(account.id)
                .await
                .map_err(|e| internal_error("membership lookup failed", e))?;
            viewer = Some(Viewer {
                account,
                memberships,
                session: secret,
            });
        }
        Ok(Ctx {
            viewer,
            csrf,
            path,
            client_address: client.address,
            secure: client.secure,
        })
    }
}

/// A viewer inside one of their structures.
pub struct MemberCtx {
    pub viewer: Viewer,
    pub membership: Membership,
    pub csrf: String,
    /// The request's path, for the navigation's current entry.
    pub path: String,
}

impl Ctx {
    pub fn shell<'a>(&'a self, nav: Option<Nav<'a>>) -> Shell<'a> {
        Shell {
            viewer: self.viewer.as_ref().map(|v| ViewerBar {
                display_name: &v.account.display_name,
                platform_operator: v.account.platform_operator,
                memberships: &v.memberships,
                csrf: &self.csrf,
            }),
            nav,
        }
    }

    /// The login page, coming back here afterwards.
    pub fn login_redirect(&self) -> Response {
        let back: String =
            percent_encoding::utf8_percent_encode(&self.path, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        see_other(&format!("/connexion?suite={back}"))
    }

    /// Signed in, and a member of `slug` with at least `min_role`. Anonymous visitors are
    /// sent to the login page; other structures do not exist for the viewer (404); a
    /// member without the role gets 403.
    pub fn member_of(self, slug: &str, min_role: Role) -> Result<MemberCtx, Response> {
        let Some(viewer) = self.viewer else {
            return Err(self.login_redirect());
        };
        let Some(membership) = viewer
            .memberships
            .iter()
            .find(|m| m.structure.slug == slug)
            .cloned()
        else {
            return Err(not_found());
        };
        if membership.role < min_role {
            return Err(forbidden());
        }
        Ok(MemberCtx {
            viewer,
            membership,
            csrf: self.csrf,
            path: self.path,
        })
    }
}

impl MemberCtx {
    pub fn shell<'a>(&'a self, modules: &'a [Manifest], current: Option<&'a str>) -> Shell<'a> {
        Shell {
            viewer: Some(ViewerBar {
                display_name: &self.viewer.account.display_name,
                platform_operator: self.viewer.account.platform_operator,
                memberships: &self.viewer.memberships,
                csrf: &self.csrf,
            }),
            nav: Some(Nav {
                structure: &self.membership.structure,
                modules,
                current,
                path: &self.path,
                role: self.membership.role,
            }),
        }
    }

    pub fn account(&self) -> &Account {
        &self.viewer.account
    }

    pub fn structure_id(&self) -> i64 {
        self.membership.structure.id
    }

    pub fn base(&self) -> String {
        format!("/{}", self.membership.structure.slug)
    }
}
