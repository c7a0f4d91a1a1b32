//! Who is asking: the session cookie, the viewer's memberships, the CSRF token of the
//! request, and the access checks every structure page goes through.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::response::Response;
use http::request::Parts;

use super::{AppState, csrf, forbidden, internal_error, not_found, see_other};
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
    pub client_address: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, Response> {
        let csrf = parts
            .extensions
            .get::<csrf::CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let client_address = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "local".into());
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let mut viewer = None;
        if let Some(secret) = cookie_value(&parts.headers, session_cookie_name(state.cookie_secure))
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
            client_address,
        })
    }
}

/// A viewer inside one of their structures.
pub struct MemberCtx {
    pub viewer: Viewer,
    pub membership: Membership,
    pub csrf: String,
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
