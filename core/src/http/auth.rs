//! Login, logout, "mot de passe oublié", choosing a password from an invitation or
//! reset link, the account page (« Se déconnecter de tous les appareils »), and
//! accepting an invitation into a structure sent to an existing account.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode};

use super::access::{clear_session_cookie, session_cookie};
use super::form::FormData;
use super::{AppState, Ctx, csrf, internal_error, see_other};
use crate::identity::{
    LoginError, MembershipOffer, PERSISTENT_SESSION_TTL_SECS, TokenPurpose, invitations, password,
};
use crate::storage::StorageError;
use crate::web::{self, Input, alert, csrf_field, field, notice, select};
use maud::{Markup, html};

#[derive(serde::Deserialize, Default)]
pub struct LoginQuery {
    suite: Option<String>,
    message: Option<String>,
}

/// Only local paths: an open redirect would turn the login page into a phishing tool.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(p) if is_local_path(p) => p,
        _ => "/",
    }
}

/// A path of this site and nothing else: a single leading '/', visible ASCII only (no
/// TAB, CR, LF or other control character: browsers drop them, so `/<TAB>/evil.example`
/// is read as `//evil.example`, another host), no backslash (read as '/'), no `//`; the
/// same once percent-decoded; and a valid path-and-query for the `Location` header.
fn is_local_path(path: &str) -> bool {
    if !path.starts_with('/')
        || path.contains("//")
        || path.contains('\\')
        || !path.chars().all(|c| c.is_ascii_graphic())
    {
        return false;
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    !decoded.contains("//")
        && !decoded.contains('\\')
        && !decoded.chars().any(char::is_control)
        && path.parse::<http::uri::PathAndQuery>().is_ok()
}

fn login_form(ctx: &Ctx, login: &str, next: &str, message: Markup) -> Markup {
    html! {
        section.auth {
            h1 { "Connexion" }
            (message)
            form method="post" action="/connexion" class="stack" {
                (csrf_field(&ctx.csrf))
                input type="hidden" name="suite" value=(next);
                (field(
                    "identifiant",
                    "Adresse électronique ou identifiant",
                    "text",
                    login,
                    Input::new().autocomplete("username").required().autofocus(),
                ))
                (field(
                    "mot_de_passe",
                    "Mot de passe",
                    "password",
                    "",
                    Input::new().autocomplete("current-password").required(),
                ))
                label.check {
                    input type="checkbox" name="souvenir" value="1";
                    " Se souvenir de moi"
                }
                button type="submit" { "Se connecter" }
            }
            p { a href="/mot-de-passe-oublie" { "Mot de passe oublié ?" } }
        }
    }
}

pub async fn login_page(ctx: Ctx, Query(query): Query<LoginQuery>) -> Response {
    let next = safe_next(query.suite.as_deref());
    if ctx.viewer.is_some() {
        return see_other(next);
    }
    let message = match query.message.as_deref() {
        Some("deconnecte") => notice("Vous êtes déconnecté(e)."),
        Some("appareils") => notice(
            "Vous êtes déconnecté(e) de tous vos appareils. Reconnectez-vous pour continuer.",
        ),
        Some("mot-de-passe") => {
            notice("Votre mot de passe est enregistré. Vous pouvez vous connecter.")
        }
        _ => Markup::default(),
    };
    Html(
        web::page(
            "Connexion",
            &ctx.shell(None),
            login_form(&ctx, "", next, message),
        )
        .into_string(),
    )
    .into_response()
}

/// Throttled: per (account, client) with growing delays, so the owner elsewhere is not
/// held up; a password reset lifts it.
const THROTTLED_LOGIN: &str = "Trop de tentatives de connexion infructueuses depuis cet appareil. Veuillez patienter quelques minutes avant de réessayer, ou utilisez « Mot de passe oublié » : choisir un nouveau mot de passe lève cette attente.";

pub async fn login(State(state): State<AppState>, ctx: Ctx, form: FormData) -> Response {
    let login = form.get("identifiant");
    let next = safe_next(Some(form.get("suite"))).to_string();
    let persistent = form.checked("souvenir");
    let error = match state
        .db
        .login(login, form.raw("mot_de_passe"), &ctx.client_address)
        .await
    {
        Ok(account) => {
            // Session fixation: the old session (if any) ends, a new secret is issued.
            if let Some(viewer) = &ctx.viewer {
                let _ = state.db.end_session(&viewer.session).await;
            }
            let secret = match state.db.create_session(account.id, persistent).await {
                Ok(s) => s,
                Err(e) => return internal_error("session creation failed", e),
            };
            tracing::info!(account = account.id, persistent, "login");
            let mut response = see_other(&next);
            let cookie = session_cookie(
                &secret,
                persistent.then_some(PERSISTENT_SESSION_TTL_SECS),
                ctx.secure,
            );
            let headers = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                headers.append(http::header::SET_COOKIE, v);
            }
            // A fresh CSRF token too, bound to the new session: the pre-login one may
            // have been planted.
            if let Ok(v) = HeaderValue::from_str(&csrf::set_cookie_header(
                &csrf::session_token(&secret),
                ctx.secure,
            )) {
                headers.append(http::header::SET_COOKIE, v);
            }
            return response;
        }
        Err(LoginError::Invalid) => {
            tracing::info!(client = %ctx.client_address, "failed login");
            "Identifiant ou mot de passe incorrect."
        }
        Err(LoginError::Throttled) => {
            tracing::warn!(client = %ctx.client_address, "login throttled");
            THROTTLED_LOGIN
        }
        Err(LoginError::Storage(e)) => return internal_error("login failed", e),
    };
    let status = if error.starts_with("Trop") {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::UNAUTHORIZED
    };
    (
        status,
        Html(
            web::page(
                "Connexion",
                &ctx.shell(None),
                login_form(&ctx, login, &next, alert(error)),
            )
            .into_string(),
        ),
    )
        .into_response()
}

pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Some(viewer) = &ctx.viewer
        && let Err(e) = state.db.end_session(&viewer.session).await
    {
        return internal_error("logout failed", e);
    }
    signed_out(&ctx, "/connexion?message=deconnecte")
}

/// A redirect that clears the session cookie and starts a fresh anonymous CSRF token
/// (the one bound to the ended session goes with it).
fn signed_out(ctx: &Ctx, location: &str) -> Response {
    let mut response = see_other(location);
    for cookie in [
        clear_session_cookie(ctx.secure),
        csrf::set_cookie_header(&csrf::new_token(), ctx.secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(http::header::SET_COOKIE, v);
        }
    }
    response
}

/// « Se déconnecter de tous les appareils »: every session of the account ends, this one
/// included.
pub async fn end_all_sessions(State(state): State<AppState>, ctx: Ctx) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    match state.db.end_all_sessions(viewer.account.id).await {
        Ok(sessions) => {
            tracing::info!(
                account = viewer.account.id,
                sessions,
                "signed out everywhere"
            );
        }
        Err(e) => return internal_error("ending every session failed", e),
    }
    signed_out(&ctx, "/connexion?message=appareils")
}

fn forgot_form(ctx: &Ctx, message: Markup) -> Markup {
    html! {
        section.auth {
            h1 { "Mot de passe oublié" }
            (message)
            p {
                "Indiquez votre adresse électronique ou votre identifiant : vous recevrez un lien pour choisir un nouveau mot de passe."
            }
            form method="post" action="/mot-de-passe-oublie" class="stack" {
                (csrf_field(&ctx.csrf))
                (field(
                    "identifiant",
                    "Adresse électronique ou identifiant",
                    "text",
                    "",
                    Input::new().autocomplete("username").required(),
                ))
                button type="submit" { "Recevoir le lien" }
            }
            p { a href="/connexion" { "Retour à la connexion" } }
        }
    }
}

pub async fn forgot_page(ctx: Ctx) -> Response {
    Html(
        web::page(
            "Mot de passe oublié",
            &ctx.shell(None),
            forgot_form(&ctx, Markup::default()),
        )
        .into_string(),
    )
    .into_response()
}

pub async fn forgot(State(state): State<AppState>, ctx: Ctx, form: FormData) -> Response {
    let login = form.get("identifiant");
    if login.is_empty() {
        return Html(
            web::page(
                "Mot de passe oublié",
                &ctx.shell(None),
                forgot_form(
                    &ctx,
                    alert("Indiquez votre adresse électronique ou votre identifiant."),
                ),
            )
            .into_string(),
        )
        .into_response();
    }
    match state.db.allow_reset_request(&ctx.client_address).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(client = %ctx.client_address, "password reset requests throttled");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Html(
                    web::page(
                        "Mot de passe oublié",
                        &ctx.shell(None),
                        forgot_form(
                            &ctx,
                            alert("Trop de demandes de réinitialisation. Veuillez réessayer dans 15 minutes."),
                        ),
                    )
                    .into_string(),
                ),
            )
                .into_response();
        }
        Err(e) => return internal_error("password reset throttle failed", e),
    }
    if let Err(e) =
        invitations::request_reset(&state.db, &state.mailer, &state.public_url, login).await
    {
        return internal_error("password reset request failed", e);
    }
    // Same answer whether or not the login exists: no account enumeration.
    let message = notice(
        "Si un compte correspond, un courriel contenant un lien de réinitialisation vient d’être envoyé. Le lien est valable une heure.",
    );
    Html(
        web::page(
            "Mot de passe oublié",
            &ctx.shell(None),
            forgot_form(&ctx, message),
        )
        .into_string(),
    )
    .into_response()
}

fn set_password_form(ctx: &Ctx, token: &str, title: &str, message: Markup) -> Markup {
    html! {
        section.auth {
            h1 { (title) }
            (message)
            form method="post" action={ "/mot-de-passe/" (token) } class="stack" {
                (csrf_field(&ctx.csrf))
                (field(
                    "nouveau",
                    "Nouveau mot de passe",
                    "password",
                    "",
                    Input::new().autocomplete("new-password").required(),
                ))
                (field(
                    "confirmation",
                    "Confirmez le mot de passe",
                    "password",
                    "",
                    Input::new().autocomplete("new-password").required(),
                ))
                p.muted {
                    "Au moins " (password::MIN_LENGTH)
                    " caractères. Une phrase facile à retenir fait un bon mot de passe."
                }
                button type="submit" { "Enregistrer le mot de passe" }
            }
        }
    }
}

fn invalid_link(ctx: &Ctx) -> Response {
    let body = html! {
        section.auth {
            h1 { "Lien invalide ou expiré" }
            p {
                "Ce lien a déjà été utilisé ou n’est plus valable. Vous pouvez "
                a href="/mot-de-passe-oublie" { "demander un nouveau lien" }
                "."
            }
        }
    };
    (
        StatusCode::NOT_FOUND,
        Html(web::page("Lien invalide", &ctx.shell(None), body).into_string()),
    )
        .into_response()
}

pub async fn set_password_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Response {
    match state.db.token_account(&token).await {
        Ok(Some((account, purpose))) => {
            let title = match purpose {
                TokenPurpose::Invitation => format!("Bienvenue, {}", account.display_name),
                TokenPurpose::Reset => "Nouveau mot de passe".to_string(),
            };
            let intro = notice(&format!(
                "Choisissez le mot de passe du compte {}.",
                account.email
            ));
            Html(
                web::page(
                    "Choisir un mot de passe",
                    &ctx.shell(None),
                    set_password_form(&ctx, &token, &title, intro),
                )
                .into_string(),
            )
            .into_response()
        }
        Ok(None) => invalid_link(&ctx),
        Err(e) => internal_error("token lookup failed", e),
    }
}

/// The French reason a new password is refused, if it is.
fn new_password_error(form: &FormData) -> Option<String> {
    let new = form.raw("nouveau");
    if new != form.raw("confirmation") {
        return Some("Les deux mots de passe ne correspondent pas.".into());
    }
    password::policy_error(new)
}

pub async fn set_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    form: FormData,
) -> Response {
    if let Some(error) = new_password_error(&form) {
        return match state.db.token_account(&token).await {
            Ok(Some(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(
                    web::page(
                        "Choisir un mot de passe",
                        &ctx.shell(None),
                        set_password_form(&ctx, &token, "Choisir un mot de passe", alert(&error)),
                    )
                    .into_string(),
                ),
            )
                .into_response(),
            Ok(None) => invalid_link(&ctx),
            Err(e) => internal_error("token lookup failed", e),
        };
    }
    match state.db.redeem_token(&token, form.raw("nouveau")).await {
        Ok(Some(account)) => {
            tracing::info!(account = account.id, "password set from a link");
            see_other("/connexion?message=mot-de-passe")
        }
        Ok(None) => invalid_link(&ctx),
        Err(e) => internal_error("setting password failed", e),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct AccountQuery {
    ok: Option<String>,
}

fn account_body(ctx: &Ctx, message: Markup) -> Markup {
    let Some(viewer) = &ctx.viewer else {
        return Markup::default();
    };
    let a = &viewer.account;
    html! {
        h1 { "Mon compte" }
        (message)
        dl {
            dt { "Nom" }
            dd { (a.display_name) }
            dt { "Adresse électronique" }
            dd { (a.email) }
            dt { "Identifiant" }
            dd { (a.username.as_deref().unwrap_or("—")) }
        }
        h2 { "Mes structures" }
        ul {
            @for m in &viewer.memberships {
                li {
                    a href={ "/" (m.structure.slug) "/" } { (m.structure.name) }
                    " — " (m.role.label())
                }
            }
        }
        h2 { "Identifiant de connexion" }
        p {
            "En plus de votre adresse électronique, vous pouvez vous connecter avec un identifiant court."
        }
        form method="post" action="/compte/identifiant" class="stack" {
            (csrf_field(&ctx.csrf))
            (field(
                "identifiant",
                "Identifiant",
                "text",
                a.username.as_deref().unwrap_or(""),
                Input::new().autocomplete("username"),
            ))
            p.muted {
                "3 à 32 caractères : lettres minuscules sans accent, chiffres, point, tiret ou tiret bas. Laissez vide pour ne pas en avoir."
            }
            button type="submit" { "Enregistrer l’identifiant" }
        }
        h2 { "Fuseau horaire" }
        p {
            "Les dates sont montrées à l’heure de chaque structure. Si vous vivez ailleurs, choisissez votre fuseau : les modules affichent aussi l’heure chez vous."
        }
        form method="post" action="/compte/fuseau" class="stack" {
            (csrf_field(&ctx.csrf))
            @let options: Vec<(&str, &str)> = std::iter::once(("", "Celui de ma structure"))
                .chain(crate::tenancy::TIME_ZONES.iter().copied())
                .collect();
            (select("fuseau", "Mon fuseau horaire", &options, a.time_zone.as_deref().unwrap_or("")))
            button type="submit" { "Enregistrer le fuseau" }
        }
        h2 { "Changer de mot de passe" }
        form method="post" action="/compte/mot-de-passe" class="stack" {
            (csrf_field(&ctx.csrf))
            (field(
                "actuel",
                "Mot de passe actuel",
                "password",
                "",
                Input::new().autocomplete("current-password").required(),
            ))
            (field(
                "nouveau",
                "Nouveau mot de passe",
                "password",
                "",
                Input::new().autocomplete("new-password").required(),
            ))
            (field(
                "confirmation",
                "Confirmez le nouveau mot de passe",
                "password",
                "",
                Input::new().autocomplete("new-password").required(),
            ))
            button type="submit" { "Changer le mot de passe" }
        }
        h2 { "Appareils connectés" }
        p {
            "Vous vous êtes connecté(e) sur un appareil qui n’est pas le vôtre, ou vous avez un doute ? Fermez toutes vos sessions : il faudra vous reconnecter partout, y compris ici."
        }
        form method="post" action="/compte/sessions/fermer" {
            (csrf_field(&ctx.csrf))
            button type="submit" class="danger" { "Se déconnecter de tous les appareils" }
        }
    }
}

pub async fn account_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<AccountQuery>,
) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    let message = match query.ok.as_deref() {
        Some("fuseau") => notice("Votre fuseau horaire est enregistré."),
        Some("identifiant") => notice("Votre identifiant est enregistré."),
        Some("flux") => notice("Le lien d’abonnement est révoqué."),
        Some(_) => notice("Votre mot de passe a été changé."),
        None => Markup::default(),
    };
    // What modules show here (the directory: the member's fiches).
    let widgets = super::modules::account_widgets(&state, viewer, &ctx.csrf).await;
    let feeds = super::feeds::account_section(&state, &ctx).await;
    let body = html! {
        (account_body(&ctx, message))
        (feeds)
        (widgets)
    };
    Html(web::page("Mon compte", &ctx.shell(None), body).into_string()).into_response()
}

pub async fn change_password(State(state): State<AppState>, ctx: Ctx, form: FormData) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    // Throttled like logins: a stolen session must not become a password oracle.
    let error = match state
        .db
        .check_password_throttled(&viewer.account, form.raw("actuel"), &ctx.client_address)
        .await
    {
        Ok(false) | Err(LoginError::Invalid) => {
            Some("Le mot de passe actuel est incorrect.".to_string())
        }
        Ok(true) => new_password_error(&form),
        Err(LoginError::Throttled) => {
            tracing::warn!(account = viewer.account.id, client = %ctx.client_address, "current password checks throttled");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Html(
                    web::page(
                        "Mon compte",
                        &ctx.shell(None),
                        account_body(
                            &ctx,
                            alert("Trop de tentatives avec un mot de passe actuel incorrect. Veuillez patienter quelques minutes avant de réessayer."),
                        ),
                    )
                    .into_string(),
                ),
            )
                .into_response();
        }
        Err(LoginError::Storage(e)) => return internal_error("password check failed", e),
    };
    if let Some(error) = error {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(
                web::page(
                    "Mon compte",
                    &ctx.shell(None),
                    account_body(&ctx, alert(&error)),
                )
                .into_string(),
            ),
        )
            .into_response();
    }
    // Ends every session, this one included; this browser gets a new one.
    if let Err(e) = state
        .db
        .set_password(viewer.account.id, form.raw("nouveau"))
        .await
    {
        return internal_error("password change failed", e);
    }
    let secret = match state.db.create_session(viewer.account.id, false).await {
        Ok(s) => s,
        Err(e) => return internal_error("session creation failed", e),
    };
    let mut response = see_other("/compte?ok=1");
    // The new session comes with its own CSRF token.
    for cookie in [
        session_cookie(&secret, None, ctx.secure),
        csrf::set_cookie_header(&csrf::session_token(&secret), ctx.secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(http::header::SET_COOKIE, v);
        }
    }
    response
}

fn invalid_offer(ctx: &Ctx) -> Response {
    let body = html! {
        section.auth {
            h1 { "Invitation invalide ou expirée" }
            p {
                "Cette invitation a déjà été acceptée, n’est plus valable ou ne concerne pas le compte avec lequel vous êtes connecté(e). Demandez au besoin une nouvelle invitation à l’administrateur de la structure."
            }
        }
    };
    (
        StatusCode::NOT_FOUND,
        Html(web::page("Invitation invalide", &ctx.shell(None), body).into_string()),
    )
        .into_response()
}

/// `GET /compte/invitations/{token}`: an invitation into a structure mailed to an
/// existing account. Anonymous: the login page first; signed in as that account: a
/// button to accept (nothing happens without it); anyone else: refused.
pub async fn membership_offer_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Response {
    let offer = match state.db.membership_offer(&token).await {
        Ok(Some(offer)) => offer,
        Ok(None) => return invalid_offer(&ctx),
        Err(e) => return internal_error("membership offer lookup failed", e),
    };
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    if viewer.account.id != offer.account_id {
        tracing::warn!(
            account = viewer.account.id,
            "membership offer opened by another account"
        );
        return invalid_offer(&ctx);
    }
    let structure = match state.db.structure(offer.structure_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return invalid_offer(&ctx),
        Err(e) => return internal_error("structure lookup failed", e),
    };
    let body = html! {
        section.auth {
            h1 { "Rejoindre " (structure.name) }
            p {
                "Vous êtes invité(e) à rejoindre " (structure.name) " avec le rôle « " (offer.role.label()) " »"
                ". Vous n’en ferez partie que si vous acceptez."
            }
            form method="post" action={ "/compte/invitations/" (token) } class="stack" {
                (csrf_field(&ctx.csrf))
                button type="submit" { "Accepter l’invitation" }
            }
            p { a href="/" { "Ne pas rejoindre cette structure" } }
        }
    };
    Html(web::page("Invitation", &ctx.shell(None), body).into_string()).into_response()
}

/// `POST /compte/invitations/{token}`: the invited account, signed in, accepts; the
/// membership is made now, and the offer is spent.
pub async fn accept_membership_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    // The offer spent, the membership made and the audit entry in one write transaction.
    let accepted: Result<Option<MembershipOffer>, StorageError> = async {
        let mut tx = state.db.begin_write().await?;
        let Some(offer) = state
            .db
            .accept_membership_offer_in(&mut tx, &token, viewer.account.id)
            .await?
        else {
            return Ok(None);
        };
        let record = crate::audit::AuditRecord {
            actor: Some(&viewer.account),
            structure_id: Some(offer.structure_id),
            action: "member.accept",
            target: &viewer.account.email,
            before: None,
            after: Some(serde_json::json!({
                "email": viewer.account.email,
                "role": offer.role.as_str(),
            })),
        };
        crate::audit::audit_and_commit(tx, record).await?;
        Ok(Some(offer))
    }
    .await;
    let offer = match accepted {
        Ok(Some(offer)) => offer,
        Ok(None) => return invalid_offer(&ctx),
        Err(e) => return internal_error("accepting a membership offer failed", e),
    };
    tracing::info!(
        account = viewer.account.id,
        structure = offer.structure_id,
        "invitation accepted"
    );
    match state.db.structure(offer.structure_id).await {
        Ok(Some(structure)) => see_other(&format!("/{}/", structure.slug)),
        Ok(_) => see_other("/"),
        Err(e) => internal_error("structure lookup failed", e),
    }
}

/// « Mon fuseau horaire »: one of the platform's zones, or none (the structure's).
pub async fn change_time_zone(State(state): State<AppState>, ctx: Ctx, form: FormData) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    let wanted = form.get("fuseau");
    let zone = (!wanted.is_empty()).then_some(wanted);
    if zone.is_some_and(|z| !crate::tenancy::TIME_ZONES.iter().any(|(id, _)| *id == z)) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(
                web::page(
                    "Mon compte",
                    &ctx.shell(None),
                    account_body(&ctx, alert("Ce fuseau horaire n’est pas proposé.")),
                )
                .into_string(),
            ),
        )
            .into_response();
    }
    if let Err(e) = state
        .db
        .set_account_time_zone(viewer.account.id, zone)
        .await
    {
        return internal_error("time zone change failed", e);
    }
    see_other("/compte?ok=fuseau")
}

pub async fn change_username(State(state): State<AppState>, ctx: Ctx, form: FormData) -> Response {
    let Some(viewer) = &ctx.viewer else {
        return ctx.login_redirect();
    };
    let wanted = form.get("identifiant").to_lowercase();
    let username = (!wanted.is_empty()).then_some(wanted.as_str());
    let error = match username {
        Some(u) if !crate::identity::valid_username(u) => Some(
            "Cet identifiant n’est pas valable : 3 à 32 caractères, lettres minuscules sans accent, chiffres, point, tiret ou tiret bas.",
        ),
        _ => match state.db.set_username(viewer.account.id, username).await {
            Ok(true) => None,
            Ok(false) => Some("Cet identifiant est déjà pris."),
            Err(e) => return internal_error("username change failed", e),
        },
    };
    match error {
        Some(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(
                web::page(
                    "Mon compte",
                    &ctx.shell(None),
                    account_body(&ctx, alert(error)),
                )
                .into_string(),
            ),
        )
            .into_response(),
        None => see_other("/compte?ok=identifiant"),
    }
}
