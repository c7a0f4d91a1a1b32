//! Émargement: attendees sign themselves in from the start of the meeting (a button, or
//! the rotating QR code shown in the room); coordinators and référents record who came,
//! with arrival and leave times or a duration, add people who came without invitation,
//! and close the attendance, which publishes `meeting.attendance-closed` once per
//! closing. Reopening needs a coordinator and a reason; the next closing publishes the
//! next revision.

use maillage_sdk::form::Form;
use maillage_sdk::groups::{self, GroupRole};
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::records::{self, Query};
use maillage_sdk::time::jiff::civil::DateTime;
use maillage_sdk::{Response, time};
use qrcode::{Color, EcLevel, QrCode};
use serde_json::json;

use crate::code;
use crate::model::{
    self, ATTENDANCE, CLOSED, CLOSINGS, Invitation, JOURNAL, JournalLine, Loaded, MAX_NAME,
    MAX_REASON, MEETINGS, Meeting, OPEN, Presence, Viewer, guest_key, member_key,
};
use crate::ui::{self, PageResult};

/// The event a closing publishes.
pub const ATTENDANCE_CLOSED: &str = "meeting.attendance-closed";

/// Why nobody may sign or record attendance now, if so.
fn refuse_unless_open(meeting: &Meeting, now: i64) -> Option<Response> {
    if meeting.is_cancelled() {
        return Some(Response::error(409, "Cette réunion est annulée."));
    }
    if meeting.is_closed() {
        return Some(Response::error(
            409,
            "L’émargement de cette réunion est clos.",
        ));
    }
    if !meeting.has_started(now) {
        return Some(Response::error(
            409,
            &format!(
                "L’émargement ouvre au début de la réunion, {}.",
                meeting.when_with_zone()
            ),
        ));
    }
    None
}

fn not_invited() -> Response {
    Response::error(
        403,
        "Vous n’êtes pas invité(e) à cette réunion : seuls les invités signent.",
    )
}

fn not_recorder() -> Response {
    Response::error(
        403,
        "Seuls les référents du groupe et les coordinateurs tiennent l’émargement.",
    )
}

/// `POST /r/{id}/signer`: the invitee signs, by the button or with the QR code's
/// `code`.
pub fn sign(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, mine }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    let Some(mine) = mine else {
        return Ok(not_invited());
    };
    let now = time::now_seconds();
    if let Some(refusal) = refuse_unless_open(&meeting, now) {
        return Ok(refusal);
    }
    let typed = form.get("code");
    let method = if typed.is_empty() {
        "bouton"
    } else if code::is_valid(&meeting.secret, &meeting.id, &typed, now) {
        "qr"
    } else {
        return Ok(Response::error(
            403,
            "Ce code n’est plus valable : scannez de nouveau le code affiché dans la salle.",
        ));
    };
    match model::presence_of(id, &mine.key)? {
        Some(presence) if presence.signed_at.is_some() => {}
        Some(presence) => {
            records::update::<serde_json::Value>(
                ATTENDANCE,
                &presence.id,
                &json!({ "signed_at": now, "method": method }),
            )?;
        }
        None => {
            records::insert::<_, serde_json::Value>(
                ATTENDANCE,
                &json!({
                    "meeting": id,
                    "key": mine.key,
                    "user": mine.user,
                    "name": mine.name,
                    "invited": true,
                    "signed_at": now,
                    "method": method,
                }),
            )?;
        }
    }
    Ok(Response::see_other(&format!(
        "{}?ok=signe#emargement",
        meeting.path()
    )))
}

/// `GET /r/{id}/presence/{code}`: where the QR code leads; a button confirms.
pub fn presence_page(id: &str, typed: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, mine }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    let Some(mine) = mine else {
        return Ok(not_invited());
    };
    let now = time::now_seconds();
    if let Some(refusal) = refuse_unless_open(&meeting, now) {
        return Ok(refusal);
    }
    if !code::is_valid(&meeting.secret, &meeting.id, typed, now) {
        return Ok(Response::error(
            403,
            "Ce code n’est plus valable : scannez de nouveau le code affiché dans la salle.",
        ));
    }
    let signed = model::presence_of(id, &mine.key)?.and_then(|p| p.signed_at);
    let body = html! {
        (ui::head())
        h1 { "Signer ma présence" }
        p { strong { (meeting.title) } br; (meeting.when_with_zone()) }
        @if let Some(at) = signed {
            p class="notice" { "Vous avez déjà signé à " (ui::clock(at, &meeting.tz())) "." }
        } @else {
            form method="post" action=(href(&format!("{}/signer", meeting.path()))) class="stack" {
                (csrf_field())
                input type="hidden" name="code" value=(typed);
                button type="submit" { "Je confirme ma présence" }
            }
        }
        p { a href=(href(&meeting.path())) { "Voir la réunion" } }
    };
    Ok(Response::page("Signer ma présence", body))
}

/// The QR code of `data` as SVG markup, each dark module a square of the path.
pub fn qr_svg(data: &str) -> Markup {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
        return html! { p class="alert" { "Le QR code n’a pas pu être créé." } };
    };
    let colors = code.to_colors();
    let width = code.width();
    const QUIET: usize = 4;
    let mut d = String::with_capacity(colors.len() * 6);
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            d.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let size = width + 2 * QUIET;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img"
            aria-label="QR code de signature de la réunion"
            viewBox={ "0 0 " (size) " " (size) } shape-rendering="crispEdges" {
            rect width=(size) height=(size) fill="#ffffff" {}
            path d=(d) fill="#000000" {}
        }
    }
}

/// The QR code block, refreshed every 30 seconds by htmx (or by reloading the page).
fn qr_block(meeting: &Meeting, now: i64) -> Markup {
    if refuse_unless_open(meeting, now).is_some() {
        let message = if meeting.is_cancelled() {
            "Cette réunion est annulée."
        } else if meeting.is_closed() {
            "L’émargement de cette réunion est clos."
        } else {
            "L’émargement ouvrira au début de la réunion : le code s’affichera alors ici."
        };
        return html! { p class="muted" { (message) } };
    }
    let current = code::current_code(&meeting.secret, &meeting.id, now);
    let url = format!(
        "{}{}{}/presence/{current}",
        maillage_sdk::public_url(),
        maillage_sdk::context().base_path,
        meeting.path()
    );
    html! {
        (qr_svg(&url))
        p class="qr-code-text" data-code=(current) { "Code : " (current) }
        p class="muted" { "Le code change toutes les 30 secondes." }
    }
}

fn qr_allowed(id: &str) -> Result<Result<(Meeting, Viewer), Response>, records::StoreError> {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Err(Response::not_found()));
    };
    if !viewer.records_attendance(&meeting) {
        return Ok(Err(not_recorder()));
    }
    Ok(Ok((meeting, viewer)))
}

/// `GET /r/{id}/qr`: the page the coordinator shows in the room.
pub fn qr_page(id: &str) -> PageResult {
    let (meeting, _) = match qr_allowed(id)? {
        Ok(found) => found,
        Err(refusal) => return Ok(refusal),
    };
    let now = time::now_seconds();
    let path = meeting.path();
    let body = html! {
        (ui::head())
        p { a href=(href(&path)) { "← " (meeting.title) } }
        h1 { "Émargement par QR code" }
        p {
            "Montrez ce code dans la salle : chaque participant le scanne avec son téléphone, "
            "puis confirme sa présence. Un code transmis à une personne absente ne sert à rien : "
            "il change toutes les 30 secondes."
        }
        div id="qr-code" class="qr-box" hx-get=(href(&format!("{path}/qr/code")))
            hx-trigger="every 30s" hx-swap="innerHTML" {
            (qr_block(&meeting, now))
        }
        p { a href=(href(&format!("{path}/qr"))) { "Actualiser le code" } }
    };
    Ok(Response::page("Émargement par QR code", body))
}

/// `GET /r/{id}/qr/code`: the block alone, for htmx.
pub fn qr_fragment(id: &str) -> PageResult {
    let (meeting, _) = match qr_allowed(id)? {
        Ok(found) => found,
        Err(refusal) => return Ok(refusal),
    };
    Ok(Response::fragment(qr_block(&meeting, time::now_seconds())))
}

/// One line of the émargement sheet.
struct Row<'a> {
    key: String,
    name: String,
    invitation: Option<&'a Invitation>,
    presence: Option<&'a Presence>,
}

fn rows<'a>(invitations: &'a [Invitation], presences: &'a [Presence]) -> Vec<Row<'a>> {
    let mut rows: Vec<Row<'a>> = invitations
        .iter()
        .map(|i| Row {
            key: i.key.clone(),
            name: i.name.clone(),
            invitation: Some(i),
            presence: presences.iter().find(|p| p.key == i.key),
        })
        .collect();
    for p in presences {
        if !invitations.iter().any(|i| i.key == p.key) {
            rows.push(Row {
                key: p.key.clone(),
                name: p.name.clone(),
                invitation: None,
                presence: Some(p),
            });
        }
    }
    rows
}

fn journal(meeting_id: &str) -> Result<Vec<JournalLine>, records::StoreError> {
    let query = Query::new()
        .filter("meeting = {:m}")
        .param("m", meeting_id)
        .sort("created_at");
    query.fetch_all(JOURNAL, 500)
}

/// `GET /r/{id}/emargement`: the sheet, for référents and coordinators.
pub fn register_page(id: &str, query: &str) -> PageResult {
    register(id, query, None)
}

fn register(id: &str, query: &str, error: Option<&str>) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !viewer.records_attendance(&meeting) {
        return Ok(not_recorder());
    }
    let now = time::now_seconds();
    let invitations = model::invitations(id)?;
    let presences = model::presences(id)?;
    let lines = journal(id)?;
    let sheet = rows(&invitations, &presences);
    let editable = refuse_unless_open(&meeting, now).is_none();
    let tz = meeting.tz();
    let listed: Vec<&str> = sheet
        .iter()
        .filter_map(|r| r.invitation.and_then(|i| i.user.as_deref()))
        .collect();
    let others: Vec<maillage_sdk::Member> = if editable {
        maillage_sdk::members()
            .into_iter()
            .filter(|m| {
                !listed.contains(&m.user_id.as_str())
                    && !presences.iter().any(|p| p.key == member_key(&m.user_id))
            })
            .collect()
    } else {
        Vec::new()
    };
    let path = meeting.path();
    let clock = |at: Option<i64>| at.map(|t| ui::clock(t, &tz)).unwrap_or_default();
    let body = html! {
        (ui::head())
        p { a href=(href(&path)) { "← " (meeting.title) } }
        h1 { "Feuille d’émargement" }
        p { strong { (meeting.title) } " — " (meeting.when_with_zone()) }
        (ui::notice_block(query))
        (alert(error))
        @if meeting.is_cancelled() {
            p class="alert" { "Cette réunion est annulée." }
        } @else if meeting.is_closed() {
            p class="notice" { "L’émargement est clos (révision " (meeting.revision) ")." }
        } @else if !meeting.has_started(now) {
            p class="muted" { "L’émargement ouvrira au début de la réunion." }
        }
        p class="muted" {
            (presences.len()) " présent(s) sur " (invitations.len()) " invité(s). "
            "Sans heure ni durée indiquée, la présence compte pour toute la réunion ("
            (maillage_sdk::fr::duration(meeting.duration)) ")."
        }
        form method="post" action=(href(&format!("{path}/emargement"))) class="register" {
            (csrf_field())
            div class="table-scroll" {
                table class="list" {
                    thead {
                        tr {
                            th scope="col" { "Présent" }
                            th scope="col" { "Nom" }
                            th scope="col" { "Réponse" }
                            th scope="col" { "Signature" }
                            th scope="col" { "Arrivée" }
                            th scope="col" { "Départ" }
                            th scope="col" { "Durée (min)" }
                        }
                    }
                    tbody {
                        @for row in &sheet {
                            @let present = row.presence.is_some();
                            tr data-key=(row.key) {
                                td {
                                    input type="hidden" name="liste" value=(row.key);
                                    input type="checkbox" name="present" value=(row.key)
                                        id={ "present-" (row.key) } checked[present] disabled[!editable];
                                }
                                td {
                                    label for={ "present-" (row.key) } { (row.name) }
                                    @if row.invitation.is_none() {
                                        " " span class="badge" { "Sans invitation" }
                                    }
                                    @if row.invitation.is_some_and(|i| i.user.is_none()) || (row.invitation.is_none() && row.presence.is_some_and(|p| p.user.is_none())) {
                                        " " span class="badge" { "Invité externe" }
                                    }
                                }
                                td {
                                    @if let Some(i) = row.invitation {
                                        (ui::invitation_answer(i, true))
                                    } @else {
                                        "—"
                                    }
                                }
                                td {
                                    @match row.presence.and_then(|p| p.signed_at) {
                                        Some(at) => {
                                            (ui::clock(at, &tz))
                                            @if row.presence.is_some_and(|p| p.method == "qr") {
                                                " (QR code)"
                                            }
                                        }
                                        None => { "—" }
                                    }
                                }
                                td {
                                    input type="time" name={ "arrivee-" (row.key) } aria-label={ "Arrivée de " (row.name) }
                                        value=(clock(row.presence.and_then(|p| p.arrival))) disabled[!editable];
                                }
                                td {
                                    input type="time" name={ "depart-" (row.key) } aria-label={ "Départ de " (row.name) }
                                        value=(clock(row.presence.and_then(|p| p.departure))) disabled[!editable];
                                }
                                td {
                                    input type="number" min="0" max="1440" name={ "duree-" (row.key) }
                                        aria-label={ "Durée de présence de " (row.name) }
                                        value=(row.presence.and_then(|p| p.minutes).map(|m| m.to_string()).unwrap_or_default())
                                        disabled[!editable];
                                }
                            }
                        }
                    }
                }
            }
            @if editable {
                fieldset {
                    legend { "Ajouter une personne venue sans invitation" }
                    label for="ajout_membre" { "Membre de la structure" }
                    select id="ajout_membre" name="ajout_membre" {
                        option value="" { "—" }
                        @for m in &others {
                            option value=(m.user_id) { (m.display_name) }
                        }
                    }
                    label for="ajout_externe" { "Ou invité externe (prénom et nom)" }
                    input id="ajout_externe" name="ajout_externe" maxlength=(MAX_NAME);
                }
                button type="submit" { "Enregistrer l’émargement" }
            }
        }
        @if editable {
            form method="post" action=(href(&format!("{path}/cloturer"))) class="stack" {
                (csrf_field())
                p class="muted" {
                    "Clôturer l’émargement transmet la liste des présents (rôles et durées) "
                    "pour le calcul des indemnités."
                }
                button type="submit" data-confirm="Clôturer l’émargement de cette réunion ?" {
                    "Clôturer l’émargement"
                }
            }
        }
        @if meeting.is_closed() && viewer.coordinator {
            form method="post" action=(href(&format!("{path}/rouvrir"))) class="stack" {
                (csrf_field())
                label for="motif" { "Motif de la réouverture (obligatoire)" }
                textarea id="motif" name="motif" rows="3" required maxlength=(MAX_REASON) {}
                button type="submit" class="secondary" { "Rouvrir l’émargement" }
            }
        }
        @if !lines.is_empty() {
            h2 { "Historique" }
            ul {
                @for line in &lines {
                    li {
                        (ui::clock(line.created_at, &tz)) " "
                        (time::date_fr(time::local(time::from_seconds(line.created_at), &tz).date()))
                        " — "
                        @if line.action == "cloture" {
                            "clôture (révision " (line.revision.unwrap_or(0)) ")"
                        } @else {
                            "réouverture après la révision " (line.revision.unwrap_or(0))
                        }
                        " par " (line.by_name)
                        @if !line.reason.is_empty() {
                            " : « " (line.reason) " »"
                        }
                    }
                }
            }
        }
    };
    Ok(Response::page("Feuille d’émargement", body))
}

/// "HH:MM" on the meeting's local date, as an instant; none when empty.
fn parse_clock(text: &str, meeting: &Meeting) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut parts = text.split(':');
    let hour: i8 = parts.next().ok_or(())?.parse().map_err(|_| ())?;
    let minute: i8 = parts.next().ok_or(())?.parse().map_err(|_| ())?;
    let tz = meeting.tz();
    let date = time::local(meeting.start(), &tz).date();
    let local =
        DateTime::new(date.year(), date.month(), date.day(), hour, minute, 0, 0).map_err(|_| ())?;
    let at = time::to_instant(local, &tz).map_err(|_| ())?;
    Ok(Some(at.as_second()))
}

fn parse_minutes(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(m) if (0..=1440).contains(&m) => Ok(Some(m)),
        _ => Err(()),
    }
}

struct Entry {
    key: String,
    arrival: Option<i64>,
    departure: Option<i64>,
    minutes: Option<i64>,
}

/// `POST /r/{id}/emargement`: `present` (keys, repeated), `liste` (the keys shown),
/// `arrivee-{key}` / `depart-{key}` ("HH:MM"), `duree-{key}` (minutes),
/// `ajout_membre` (an account id), `ajout_externe` (a name).
pub fn save_register(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !viewer.records_attendance(&meeting) {
        return Ok(not_recorder());
    }
    let now = time::now_seconds();
    if let Some(refusal) = refuse_unless_open(&meeting, now) {
        return Ok(refusal);
    }
    let invitations = model::invitations(id)?;
    let presences = model::presences(id)?;
    let name_of = |key: &str| -> Option<String> {
        invitations
            .iter()
            .find(|i| i.key == key)
            .map(|i| i.name.clone())
            .or_else(|| {
                presences
                    .iter()
                    .find(|p| p.key == key)
                    .map(|p| p.name.clone())
            })
    };
    let refuse =
        |message: String| -> PageResult { Ok(register(id, "", Some(&message))?.with_status(422)) };
    let mut entries: Vec<Entry> = Vec::new();
    for key in form.all("present").into_iter().filter(|k| !k.is_empty()) {
        let Some(name) = name_of(key.as_str()) else {
            return refuse(
                "Une personne cochée n’est ni invitée ni inscrite à cette réunion : rien n’a été enregistré."
                    .into(),
            );
        };
        if entries.iter().any(|e| e.key == key) {
            continue;
        }
        let arrival = parse_clock(&form.get(&format!("arrivee-{key}")), &meeting);
        let departure = parse_clock(&form.get(&format!("depart-{key}")), &meeting);
        let minutes = parse_minutes(&form.get(&format!("duree-{key}")));
        let (Ok(arrival), Ok(departure), Ok(minutes)) = (arrival, departure, minutes) else {
            return refuse(format!(
                "Les heures ou la durée de {name} ne sont pas valides : rien n’a été enregistré."
            ));
        };
        let departure = match (arrival, departure) {
            (Some(a), Some(d)) if d < a => Some(d + 86_400),
            (_, d) => d,
        };
        entries.push(Entry {
            key,
            arrival,
            departure,
            minutes,
        });
    }
    let added_member = form.get("ajout_membre");
    let added_member = if added_member.is_empty() {
        None
    } else {
        match maillage_sdk::members()
            .into_iter()
            .find(|m| m.user_id == added_member)
        {
            Some(m) => Some(m),
            None => {
                return refuse(
                    "Cette personne ne fait pas partie de la structure : rien n’a été enregistré."
                        .into(),
                );
            }
        }
    };
    let added_guest = form.get("ajout_externe");
    if added_guest.chars().count() > MAX_NAME || added_guest.chars().any(char::is_control) {
        return refuse("Le nom de l’invité externe est trop long.".into());
    }
    let recorder = viewer.name();
    // Everything is checked: now the writes.
    for entry in &entries {
        let fields = json!({
            "arrival": entry.arrival,
            "departure": entry.departure,
            "minutes": entry.minutes,
            "recorded_by": recorder,
        });
        match presences.iter().find(|p| p.key == entry.key) {
            Some(p) => {
                records::update::<serde_json::Value>(ATTENDANCE, &p.id, &fields)?;
            }
            None => {
                let invitation = invitations.iter().find(|i| i.key == entry.key);
                let record = json!({
                    "meeting": id,
                    "key": entry.key,
                    "user": invitation.and_then(|i| i.user.clone()),
                    "name": invitation.map(|i| i.name.clone()).unwrap_or_default(),
                    "invited": invitation.is_some(),
                    "arrival": entry.arrival,
                    "departure": entry.departure,
                    "minutes": entry.minutes,
                    "recorded_by": recorder,
                });
                records::insert::<_, serde_json::Value>(ATTENDANCE, &record)?;
            }
        }
    }
    let listed = form.all("liste");
    for p in &presences {
        if listed.contains(&p.key) && !entries.iter().any(|e| e.key == p.key) {
            records::delete(ATTENDANCE, &p.id)?;
        }
    }
    let mut additions: Vec<(String, Option<String>, String)> = Vec::new();
    if let Some(m) = added_member {
        additions.push((member_key(&m.user_id), Some(m.user_id), m.display_name));
    }
    if !added_guest.is_empty() {
        additions.push((guest_key(&added_guest), None, added_guest.clone()));
    }
    for (key, user, name) in additions {
        let known = presences.iter().any(|p| p.key == key) || entries.iter().any(|e| e.key == key);
        if known {
            continue;
        }
        let record = json!({
            "meeting": id,
            "key": key,
            "user": user,
            "name": name,
            "invited": invitations.iter().any(|i| i.key == key),
            "recorded_by": recorder,
        });
        records::insert::<_, serde_json::Value>(ATTENDANCE, &record)?;
    }
    Ok(Response::see_other(&format!(
        "{}/emargement?ok=emargement",
        meeting.path()
    )))
}

fn role_code(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Referent => "referent",
        GroupRole::Active => "active",
        GroupRole::Guest => "guest",
    }
}

/// `POST /r/{id}/cloturer`: closes the attendance and publishes the event, once.
pub fn close(id: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !viewer.records_attendance(&meeting) {
        return Ok(not_recorder());
    }
    let now = time::now_seconds();
    if meeting.is_closed() {
        return Ok(Response::error(
            409,
            "L’émargement est déjà clos. Pour le corriger, un coordinateur le rouvre en indiquant un motif.",
        ));
    }
    if let Some(refusal) = refuse_unless_open(&meeting, now) {
        return Ok(refusal);
    }
    let presences = model::presences(id)?;
    let group_members = match &meeting.group_id {
        Some(group) => groups::members(group).unwrap_or_default(),
        None => Vec::new(),
    };
    let role_of = |p: &Presence| -> &'static str {
        match &p.user {
            None => "guest",
            Some(user) => group_members
                .iter()
                .find(|m| &m.user_id == user)
                .map(|m| role_code(m.role))
                .unwrap_or("active"),
        }
    };
    let attendees: Vec<serde_json::Value> = presences
        .iter()
        .map(|p| {
            json!({
                "account": p.user,
                "name": p.name,
                "role": role_of(p),
                "minutes": model::actual_minutes(
                    p.minutes,
                    p.arrival,
                    p.departure,
                    meeting.start_at,
                    meeting.duration,
                ),
            })
        })
        .collect();
    let revision = meeting.revision + 1;
    // The unique (meeting, revision) key makes a concurrent second closing fail whole.
    records::insert::<_, serde_json::Value>(
        CLOSINGS,
        &json!({
            "meeting": id,
            "revision": revision,
            "closed_by": viewer.id(),
            "closed_by_name": viewer.name(),
            "attendees": attendees,
        }),
    )?;
    records::update::<serde_json::Value>(
        MEETINGS,
        id,
        &json!({ "attendance": CLOSED, "revision": revision }),
    )?;
    for p in &presences {
        records::update::<serde_json::Value>(ATTENDANCE, &p.id, &json!({ "role": role_of(p) }))?;
    }
    records::insert::<_, serde_json::Value>(
        JOURNAL,
        &json!({
            "meeting": id,
            "action": "cloture",
            "revision": revision,
            "by_user": viewer.id(),
            "by_name": viewer.name(),
        }),
    )?;
    let payload = json!({
        "meeting": meeting.id,
        "revision": revision,
        "title": meeting.title,
        "group_id": meeting.group_id,
        "start": meeting.start_at,
        "zone": meeting.zone,
        "date": meeting.date_input(),
        "duration_minutes": meeting.duration,
        "kind": meeting.kind,
        "attendees": attendees,
    });
    if let Err(e) = maillage_sdk::publish(ATTENDANCE_CLOSED, &payload) {
        maillage_sdk::log::error(&format!(
            "agenda: {ATTENDANCE_CLOSED} of meeting {id} not published: {e}"
        ));
        // A 5xx answer rolls the whole closing back.
        return Ok(Response::error(
            503,
            "La clôture n’a pas pu être transmise. Veuillez réessayer.",
        ));
    }
    maillage_sdk::log::info(&format!(
        "agenda: attendance of meeting {id} closed, revision {revision}, {} attendee(s), by {}",
        presences.len(),
        viewer.name()
    ));
    Ok(Response::see_other(&format!(
        "{}?ok=cloture#emargement",
        meeting.path()
    )))
}

/// `POST /r/{id}/rouvrir`: a coordinator reopens a closed attendance, with a `motif`.
pub fn reopen(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !viewer.coordinator {
        return Ok(Response::error(
            403,
            "Seul un coordinateur peut rouvrir l’émargement.",
        ));
    }
    if !meeting.is_closed() {
        return Ok(Response::error(409, "L’émargement n’est pas clos."));
    }
    let reason = form.get("motif");
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Ok(register(
            id,
            "",
            Some("Veuillez indiquer le motif de la réouverture (1000 caractères au plus)."),
        )?
        .with_status(422));
    }
    records::update::<serde_json::Value>(MEETINGS, id, &json!({ "attendance": OPEN }))?;
    records::insert::<_, serde_json::Value>(
        JOURNAL,
        &json!({
            "meeting": id,
            "action": "reouverture",
            "revision": meeting.revision,
            "reason": reason,
            "by_user": viewer.id(),
            "by_name": viewer.name(),
        }),
    )?;
    // In the structure's audit log too, with the reason: the attendance pays indemnities.
    if let Err(e) = maillage_sdk::audit::write(
        "attendance.reopen",
        &format!("{} ({id})", meeting.title),
        &json!({ "revision": meeting.revision, "reason": reason }),
    ) {
        maillage_sdk::log::error(&format!("agenda: reopening of {id} not audited: {e}"));
        return Err(records::StoreError::Unavailable(e));
    }
    maillage_sdk::log::warn(&format!(
        "agenda: attendance of meeting {id} reopened after revision {} by {} (account {}): {reason}",
        meeting.revision,
        viewer.name(),
        viewer.id().unwrap_or("?")
    ));
    Ok(Response::see_other(&format!(
        "{}/emargement?ok=rouvert",
        meeting.path()
    )))
}
