//! A meeting: the form that plans or changes it, its page, the answers (RSVP), the
//! cancellation and the `.ics` download.

use maillage_sdk::form::Form;
use maillage_sdk::groups;
use maillage_sdk::html::{Markup, alert, csrf_field, href, html};
use maillage_sdk::ics::Method;
use maillage_sdk::records::{self, StoreError};
use maillage_sdk::{Member, Response, fr, thread, time};
use serde_json::json;

use crate::calendar::{self, Notice};
use crate::code;
use crate::minutes;
use crate::model::{
    self, Answer, INVITATIONS, Invitation, KINDS, Loaded, MAX_AGENDA, MAX_GUESTS, MAX_INVITEES,
    MAX_NAME, MAX_PLACE, MAX_TITLE, MAX_VIDEO, MEETINGS, Meeting, OPEN, PLANNED, Viewer, ZONES,
    guest_key, member_key,
};
use crate::ui::{self, PageResult};

/// Someone to invite.
#[derive(Debug, Clone)]
pub struct NewInvitee {
    pub key: String,
    pub user: Option<String>,
    pub name: String,
    pub email: String,
}

impl NewInvitee {
    pub fn member(user_id: &str, name: &str) -> NewInvitee {
        NewInvitee {
            key: member_key(user_id),
            user: Some(user_id.to_string()),
            name: name.to_string(),
            email: String::new(),
        }
    }
    pub fn guest(name: &str, email: &str) -> NewInvitee {
        NewInvitee {
            key: guest_key(name),
            user: None,
            name: name.to_string(),
            email: email.to_string(),
        }
    }
}

/// Adds `invitee` unless someone with the same key is already listed.
pub fn add_invitee(list: &mut Vec<NewInvitee>, invitee: NewInvitee) {
    if !list.iter().any(|i| i.key == invitee.key) {
        list.push(invitee);
    }
}

/// What a new meeting is made of (from the form or from a closed poll).
pub struct NewMeeting {
    pub title: String,
    pub group_id: Option<String>,
    pub group_name: String,
    pub kind: String,
    pub start_at: i64,
    pub zone: String,
    pub duration: i64,
    pub place: String,
    pub video: String,
    pub agenda: String,
    /// (account id, name).
    pub organiser: Option<(String, String)>,
    pub from_poll: Option<String>,
    pub invitees: Vec<NewInvitee>,
}

/// The event each change of a group's meeting publishes (created, changed, cancelled),
/// for the modules that show a group's meetings (the projects module's project page).
pub const MEETING_SAVED: &str = "meeting.saved";

/// Publishes [`MEETING_SAVED`] for a group's meeting (none for a meeting of the whole
/// structure). Its payload: `meeting`, `group_id`, `title`, `start_at` (Unix seconds),
/// `zone`, `duration` (minutes), `status` (`prevue` | `annulee`), `sequence`, `saved_at`
/// (Unix seconds): a reader keeps the copy with the greatest (`saved_at`, `sequence`),
/// since a redelivered or late event may come after a newer one.
pub fn publish_saved(meeting: &Meeting) {
    let Some(group_id) = &meeting.group_id else {
        return;
    };
    let payload = json!({
        "meeting": meeting.id,
        "group_id": group_id,
        "title": meeting.title,
        "start_at": meeting.start_at,
        "zone": meeting.zone,
        "duration": meeting.duration,
        "status": meeting.status,
        "sequence": meeting.sequence,
        "saved_at": time::now_seconds(),
    });
    if let Err(e) = maillage_sdk::publish(MEETING_SAVED, &payload) {
        maillage_sdk::log::warn(&format!(
            "agenda: {MEETING_SAVED} of meeting {} not published: {e}",
            meeting.id
        ));
    }
}

/// Stores a meeting and its invitations and schedules its reminder (no mail yet).
pub fn store(spec: &NewMeeting, now: i64) -> Result<Meeting, StoreError> {
    let record = json!({
        "title": spec.title,
        "group_id": spec.group_id,
        "group_name": spec.group_name,
        "kind": spec.kind,
        "start_at": spec.start_at,
        "zone": spec.zone,
        "duration": spec.duration,
        "place": spec.place,
        "video": spec.video,
        "agenda": spec.agenda,
        "organiser": spec.organiser.as_ref().map(|o| o.0.clone()),
        "organiser_name": spec.organiser.as_ref().map(|o| o.1.clone()).unwrap_or_default(),
        "status": PLANNED,
        "sequence": 0,
        "attendance": OPEN,
        "revision": 0,
        "secret": code::new_secret(&format!("{}{}", spec.title, spec.start_at)),
        "from_poll": spec.from_poll,
    });
    let meeting: Meeting = records::insert(MEETINGS, &record)?;
    insert_invitations(&meeting.id, &spec.invitees)?;
    let timer = calendar::schedule_reminder(&meeting, now);
    if let Some(timer) = &timer {
        records::update::<serde_json::Value>(
            MEETINGS,
            &meeting.id,
            &json!({ "reminder_timer": timer }),
        )?;
    }
    let meeting = Meeting {
        reminder_timer: timer,
        ..meeting
    };
    publish_saved(&meeting);
    Ok(meeting)
}

fn insert_invitations(meeting_id: &str, invitees: &[NewInvitee]) -> Result<(), StoreError> {
    for invitee in invitees {
        let record = json!({
            "meeting": meeting_id,
            "key": invitee.key,
            "user": invitee.user,
            "name": invitee.name,
            "email": invitee.email,
            "answer": "",
            "late": false,
        });
        records::insert::<_, serde_json::Value>(INVITATIONS, &record)?;
    }
    Ok(())
}

/// External guests typed one per line: « Prénom Nom <adresse> », « Prénom Nom
/// adresse » or « Prénom Nom ».
pub fn parse_guests(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, email) = if let Some((name, rest)) = line.split_once('<') {
            (name.trim(), rest.trim().trim_end_matches('>').trim())
        } else {
            match line.rsplit_once(char::is_whitespace) {
                Some((name, last)) if last.contains('@') => (name.trim(), last),
                _ if line.contains('@') && !line.contains(char::is_whitespace) => ("", line),
                _ => (line, ""),
            }
        };
        let name = name.trim_end_matches([',', ';']).trim();
        let name = if name.is_empty() {
            email.split('@').next().unwrap_or_default()
        } else {
            name
        };
        let email_ok = email.is_empty()
            || (email.len() <= 200
                && email.contains('@')
                && !email.contains(char::is_whitespace)
                && !email.contains(['<', '>', '"', ',', ';']));
        if name.is_empty() || name.chars().count() > MAX_NAME || !email_ok {
            return Err(format!("L’invité externe « {line} » n’est pas valide."));
        }
        if !out.iter().any(|(n, _)| guest_key(n) == guest_key(name)) {
            out.push((name.to_string(), email.to_string()));
        }
    }
    if out.len() > MAX_GUESTS {
        return Err(format!("{MAX_GUESTS} invités externes au plus."));
    }
    Ok(out)
}

/// A meeting's details as typed in the form, checked.
struct Draft {
    title: String,
    group_id: Option<String>,
    group_name: String,
    kind: String,
    start_at: i64,
    zone: String,
    duration: i64,
    place: String,
    video: String,
    agenda: String,
    /// Invite the whole group (the whole structure for its meetings).
    everyone: bool,
    /// (account id, name) of the members chosen.
    chosen: Vec<(String, String)>,
    /// (name, address) of external guests.
    guests: Vec<(String, String)>,
}

type Refusal = (u16, String);

fn single_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

fn read_draft(
    form: &Form,
    viewer: &Viewer,
    members: &[Member],
    editing: Option<&Meeting>,
) -> Result<Draft, Refusal> {
    let invalid = |message: &str| (422u16, message.to_string());
    let title = form.get("titre");
    if title.is_empty() || title.chars().count() > MAX_TITLE || !single_line(&title) {
        return Err(invalid(
            "Veuillez indiquer le sujet de la réunion (200 caractères au plus).",
        ));
    }
    let (group_id, group_name) = match editing {
        Some(meeting) => (meeting.group_id.clone(), meeting.group_name.clone()),
        None => {
            let chosen = form.get("groupe");
            if chosen.is_empty() {
                if !viewer.coordinator {
                    return Err((
                        403,
                        "Seuls les coordinateurs organisent une réunion de toute la structure : choisissez l’un de vos groupes."
                            .into(),
                    ));
                }
                (None, String::new())
            } else {
                let Some(group) = viewer.group(&chosen).filter(|g| !g.archived) else {
                    return Err(invalid(
                        "Ce groupe n’existe pas ou ne vous est pas accessible.",
                    ));
                };
                if !viewer.groups_for_new().iter().any(|g| g.id == group.id) {
                    return Err((
                        403,
                        "Vous ne pouvez organiser une réunion que pour un groupe dont vous êtes membre."
                            .into(),
                    ));
                }
                (Some(group.id.clone()), group.name.clone())
            }
        }
    };
    let kind = match form.get("type") {
        k if k.is_empty() => {
            if group_id.is_some() {
                "groupe-de-travail".to_string()
            } else {
                "pleniere".to_string()
            }
        }
        k if KINDS.iter().any(|(code, _)| *code == k) => k,
        _ => return Err(invalid("Ce type de réunion n’existe pas.")),
    };
    let zone_name = match form.get("fuseau") {
        z if z.is_empty() => maillage_sdk::context().time_zone,
        z => z,
    };
    let tz = time::zone(&zone_name).map_err(|e| invalid(&e.french()))?;
    let typed = form.get("debut");
    if typed.is_empty() {
        return Err(invalid("Veuillez indiquer la date et l’heure de début."));
    }
    let local = time::parse_local(&typed).map_err(|e| invalid(&e.french()))?;
    let start = time::to_instant(local, &tz).map_err(|e| invalid(&e.french()))?;
    let duration = match form.get("duree") {
        d if d.is_empty() => 60,
        d => d.parse::<i64>().unwrap_or(-1),
    };
    if !(5..=1440).contains(&duration) {
        return Err(invalid(
            "La durée doit être comprise entre 5 minutes et 24 heures (en minutes).",
        ));
    }
    let place = form.get("lieu");
    if place.chars().count() > MAX_PLACE || !single_line(&place) {
        return Err(invalid("Le lieu ne doit pas dépasser 300 caractères."));
    }
    let video = form.get("visio");
    let video_ok = video.is_empty()
        || ((video.starts_with("https://") || video.starts_with("http://"))
            && video.len() <= MAX_VIDEO
            && !video.contains(char::is_whitespace)
            && single_line(&video));
    if !video_ok {
        return Err(invalid(
            "Le lien de visioconférence doit être une adresse web commençant par https://.",
        ));
    }
    let agenda = form.get("ordre_du_jour");
    if agenda.chars().count() > MAX_AGENDA {
        return Err(invalid(
            "L’ordre du jour ne doit pas dépasser 10 000 caractères.",
        ));
    }
    let mut chosen: Vec<(String, String)> = Vec::new();
    for id in form.all("membre").iter().filter(|id| !id.is_empty()) {
        let Some(member) = members.iter().find(|m| &m.user_id == id) else {
            return Err(invalid(
                "Une des personnes choisies ne fait pas partie de la structure.",
            ));
        };
        if !chosen.iter().any(|(c, _)| c == id) {
            chosen.push((member.user_id.clone(), member.display_name.clone()));
        }
    }
    let guests = parse_guests(&form.get("externes")).map_err(|e| invalid(&e))?;
    Ok(Draft {
        title,
        group_id,
        group_name,
        kind,
        start_at: start.as_second(),
        zone: time::zone_name(&tz).to_string(),
        duration,
        place,
        video,
        agenda,
        everyone: form.get("invites") != "choisis",
        chosen,
        guests,
    })
}

/// The form, new or for a meeting being changed.
fn form_page(
    editing: Option<&Meeting>,
    form: &Form,
    error: Option<&str>,
    viewer: &Viewer,
    members: &[Member],
) -> Response {
    let structure_zone = maillage_sdk::context().time_zone;
    let zone = match form.get("fuseau") {
        z if z.is_empty() => structure_zone.clone(),
        z => z,
    };
    let mut zones: Vec<String> = ZONES.iter().map(|z| z.to_string()).collect();
    if !zones.contains(&structure_zone) {
        zones.insert(0, structure_zone.clone());
    }
    if !zones.contains(&zone) {
        zones.push(zone.clone());
    }
    let duration = match form.get("duree") {
        d if d.is_empty() => "60".to_string(),
        d => d,
    };
    let chosen_group = form.get("groupe");
    let chosen_kind = form.get("type");
    let chosen_members = form.all("membre");
    let everyone = form.get("invites") != "choisis";
    let (title, action) = match editing {
        Some(m) => ("Modifier la réunion", format!("/r/{}/modifier", m.id)),
        None => ("Nouvelle réunion", "/nouvelle".to_string()),
    };
    let body = html! {
        (ui::head())
        p { a href=(href(editing.map(|m| m.path()).as_deref().unwrap_or("/"))) { "← Retour" } }
        h1 { (title) }
        (alert(error))
        form method="post" action=(href(&action)) class="stack meeting-form" {
            (csrf_field())
            label for="titre" { "Sujet" }
            input id="titre" name="titre" required maxlength=(MAX_TITLE) value=(form.get("titre"));
            @match editing {
                Some(m) => {
                    p class="muted" { "Groupe : " (m.group_label(viewer)) }
                }
                None => {
                    label for="groupe" { "Groupe" }
                    select id="groupe" name="groupe" {
                        @if viewer.coordinator {
                            option value="" selected[chosen_group.is_empty()] { "Toute la structure" }
                        }
                        @for g in viewer.groups_for_new() {
                            option value=(g.id) selected[g.id == chosen_group] { (g.name) }
                        }
                    }
                }
            }
            label for="type" { "Type de réunion" }
            select id="type" name="type" {
                option value="" selected[chosen_kind.is_empty()] { "Selon le groupe" }
                @for (code, label) in KINDS {
                    option value=(code) selected[code == chosen_kind] { (label) }
                }
            }
            label for="debut" { "Début (date et heure)" }
            input type="datetime-local" id="debut" name="debut" required value=(form.get("debut"));
            label for="fuseau" { "Fuseau horaire" }
            select id="fuseau" name="fuseau" {
                @for z in &zones {
                    option value=(z) selected[*z == zone] { (z) }
                }
            }
            label for="duree" { "Durée (en minutes)" }
            input type="number" id="duree" name="duree" min="5" max="1440" required value=(duration);
            label for="lieu" { "Lieu (facultatif)" }
            input id="lieu" name="lieu" maxlength=(MAX_PLACE) value=(form.get("lieu"));
            label for="visio" { "Lien de visioconférence (facultatif)" }
            input type="url" id="visio" name="visio" maxlength=(MAX_VIDEO) placeholder="https://"
                value=(form.get("visio"));
            label for="ordre_du_jour" { "Ordre du jour (facultatif)" }
            textarea id="ordre_du_jour" name="ordre_du_jour" rows="6" { (form.get("ordre_du_jour")) }
            fieldset {
                legend { "Invités" }
                @if editing.is_none() {
                    label class="check" {
                        input type="radio" name="invites" value="groupe" checked[everyone];
                        "Tout le groupe (toute la structure pour une réunion de la structure), et les personnes choisies ci-dessous"
                    }
                    label class="check" {
                        input type="radio" name="invites" value="choisis" checked[!everyone];
                        "Seulement les personnes choisies ci-dessous"
                    }
                }
                label for="membre" {
                    @if editing.is_some() { "Inviter d’autres membres" } @else { "Membres à inviter" }
                }
                select id="membre" name="membre" multiple size="6" {
                    @for m in members {
                        option value=(m.user_id) selected[chosen_members.contains(&m.user_id)] { (m.display_name) }
                    }
                }
                label for="externes" { "Invités externes, un par ligne (Prénom Nom <adresse e-mail>)" }
                textarea id="externes" name="externes" rows="3" { (form.get("externes")) }
                p class="muted" {
                    "Les invités externes reçoivent l’invitation par courriel si l’administrateur de la structure l’a autorisé ; "
                    "sinon, transmettez-leur le fichier .ics de la réunion."
                }
            }
            button type="submit" {
                @if editing.is_some() { "Enregistrer les modifications" } @else { "Créer la réunion" }
            }
        }
    };
    Response::page(title, body)
}

pub fn new_page() -> PageResult {
    let viewer = Viewer::current();
    if !viewer.may_create_any() {
        return Ok(Response::error(
            403,
            "Vous pouvez organiser une réunion pour un groupe dont vous êtes membre ; vous n’êtes membre d’aucun groupe.",
        ));
    }
    let members = maillage_sdk::members();
    Ok(form_page(None, &Form::default(), None, &viewer, &members))
}

fn draft_invitees(draft: &Draft, viewer: &Viewer, members: &[Member]) -> Vec<NewInvitee> {
    let mut invitees: Vec<NewInvitee> = Vec::new();
    if let Some(user) = &viewer.user {
        add_invitee(
            &mut invitees,
            NewInvitee::member(&user.id, &user.display_name),
        );
    }
    if draft.everyone {
        match &draft.group_id {
            Some(group) => {
                for m in groups::members(group).unwrap_or_default() {
                    add_invitee(
                        &mut invitees,
                        NewInvitee::member(&m.user_id, &m.display_name),
                    );
                }
            }
            None => {
                for m in members {
                    add_invitee(
                        &mut invitees,
                        NewInvitee::member(&m.user_id, &m.display_name),
                    );
                }
            }
        }
    }
    for (id, name) in &draft.chosen {
        add_invitee(&mut invitees, NewInvitee::member(id, name));
    }
    for (name, email) in &draft.guests {
        add_invitee(&mut invitees, NewInvitee::guest(name, email));
    }
    invitees.truncate(MAX_INVITEES);
    invitees
}

pub fn create(form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(user) = viewer.user.clone() else {
        return Ok(Response::error(403, "Veuillez vous connecter."));
    };
    if !viewer.may_create_any() {
        return Ok(Response::error(
            403,
            "Vous pouvez organiser une réunion pour un groupe dont vous êtes membre ; vous n’êtes membre d’aucun groupe.",
        ));
    }
    let members = maillage_sdk::members();
    let draft = match read_draft(form, &viewer, &members, None) {
        Ok(draft) => draft,
        Err((status, message)) => {
            return Ok(form_page(None, form, Some(&message), &viewer, &members).with_status(status));
        }
    };
    let invitees = draft_invitees(&draft, &viewer, &members);
    let spec = NewMeeting {
        title: draft.title,
        group_id: draft.group_id,
        group_name: draft.group_name,
        kind: draft.kind,
        start_at: draft.start_at,
        zone: draft.zone,
        duration: draft.duration,
        place: draft.place,
        video: draft.video,
        agenda: draft.agenda,
        organiser: Some((user.id.clone(), user.display_name.clone())),
        from_poll: None,
        invitees,
    };
    let meeting = store(&spec, time::now_seconds())?;
    let to: Vec<String> = spec
        .invitees
        .iter()
        .filter_map(|i| i.user.clone())
        .filter(|u| *u != user.id)
        .collect();
    calendar::send(&meeting, Notice::Invitation, &to);
    calendar::send_guests(&meeting, Notice::Invitation, None);
    Ok(Response::see_other(&format!("{}?ok=cree", meeting.path())))
}

/// The form's fields filled from a meeting, to change it.
fn form_of(meeting: &Meeting) -> Form {
    let tz = meeting.tz();
    Form {
        fields: vec![
            ("titre".into(), meeting.title.clone()),
            ("type".into(), meeting.kind.clone()),
            ("debut".into(), time::instant_input(meeting.start(), &tz)),
            ("fuseau".into(), time::zone_name(&tz).to_string()),
            ("duree".into(), meeting.duration.to_string()),
            ("lieu".into(), meeting.place.clone()),
            ("visio".into(), meeting.video.clone()),
            ("ordre_du_jour".into(), meeting.agenda.clone()),
        ],
    }
}

/// Why a meeting cannot be changed any more, if it cannot.
fn frozen(meeting: &Meeting) -> Option<Response> {
    if meeting.is_cancelled() {
        return Some(Response::error(409, "Cette réunion est annulée."));
    }
    if meeting.is_closed() {
        return Some(Response::error(
            409,
            "L’émargement de cette réunion est clos : un coordinateur doit le rouvrir pour la modifier.",
        ));
    }
    None
}

pub fn edit_page(id: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !viewer.manages(&meeting) {
        return Ok(Response::error(
            403,
            "Seuls l’organisateur, les référents du groupe et les coordinateurs modifient cette réunion.",
        ));
    }
    if let Some(refusal) = frozen(&meeting) {
        return Ok(refusal);
    }
    let members = maillage_sdk::members();
    Ok(form_page(
        Some(&meeting),
        &form_of(&meeting),
        None,
        &viewer,
        &members,
    ))
}

pub fn update(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !viewer.manages(&meeting) {
        return Ok(Response::error(
            403,
            "Seuls l’organisateur, les référents du groupe et les coordinateurs modifient cette réunion.",
        ));
    }
    if let Some(refusal) = frozen(&meeting) {
        return Ok(refusal);
    }
    let members = maillage_sdk::members();
    let draft = match read_draft(form, &viewer, &members, Some(&meeting)) {
        Ok(draft) => draft,
        Err((status, message)) => {
            return Ok(
                form_page(Some(&meeting), form, Some(&message), &viewer, &members)
                    .with_status(status),
            );
        }
    };
    let significant = draft.start_at != meeting.start_at
        || draft.duration != meeting.duration
        || draft.place != meeting.place
        || draft.video != meeting.video;
    let sequence = meeting.sequence + i64::from(significant);
    let patch = json!({
        "title": draft.title,
        "kind": draft.kind,
        "start_at": draft.start_at,
        "zone": draft.zone,
        "duration": draft.duration,
        "place": draft.place,
        "video": draft.video,
        "agenda": draft.agenda,
        "sequence": sequence,
    });
    if significant {
        calendar::cancel_reminder(&meeting);
    }
    let Some(mut updated) = records::update::<Meeting>(MEETINGS, id, &patch)? else {
        return Ok(Response::not_found());
    };
    if significant {
        let timer = calendar::schedule_reminder(&updated, time::now_seconds());
        records::update::<serde_json::Value>(MEETINGS, id, &json!({ "reminder_timer": timer }))?;
        updated.reminder_timer = timer;
    }
    publish_saved(&updated);
    let existing = model::invitations(id)?;
    let mut added: Vec<NewInvitee> = Vec::new();
    for (user_id, name) in &draft.chosen {
        add_invitee(&mut added, NewInvitee::member(user_id, name));
    }
    for (name, email) in &draft.guests {
        add_invitee(&mut added, NewInvitee::guest(name, email));
    }
    added.retain(|a| !existing.iter().any(|e| e.key == a.key));
    insert_invitations(id, &added)?;
    if significant {
        let to = calendar::member_invitees(&existing, viewer.id(), false);
        calendar::send(&updated, Notice::Change, &to);
        let known: Vec<String> = existing.iter().map(|e| e.key.clone()).collect();
        calendar::send_guests(&updated, Notice::Change, Some(&known));
    }
    let new_members: Vec<String> = added.iter().filter_map(|a| a.user.clone()).collect();
    calendar::send(&updated, Notice::Invitation, &new_members);
    let new_keys: Vec<String> = added.iter().map(|a| a.key.clone()).collect();
    calendar::send_guests(&updated, Notice::Invitation, Some(&new_keys));
    Ok(Response::see_other(&format!(
        "{}?ok=modifie",
        updated.path()
    )))
}

pub fn cancel(id: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    if !viewer.manages(&meeting) {
        return Ok(Response::error(
            403,
            "Seuls l’organisateur, les référents du groupe et les coordinateurs annulent cette réunion.",
        ));
    }
    if let Some(refusal) = frozen(&meeting) {
        return Ok(refusal);
    }
    calendar::cancel_reminder(&meeting);
    let patch = json!({
        "status": model::CANCELLED,
        "sequence": meeting.sequence + 1,
        "reminder_timer": null,
    });
    let Some(updated) = records::update::<Meeting>(MEETINGS, id, &patch)? else {
        return Ok(Response::not_found());
    };
    publish_saved(&updated);
    let invitations = model::invitations(id)?;
    let to = calendar::member_invitees(&invitations, viewer.id(), false);
    calendar::send(&updated, Notice::Cancellation, &to);
    calendar::send_guests(&updated, Notice::Cancellation, None);
    Ok(Response::see_other(&format!(
        "{}?ok=annule",
        updated.path()
    )))
}

/// RSVP: présent, absent or sans réponse, until the end of the meeting.
pub fn answer(id: &str, form: &Form) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, mine }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    let Some(mine) = mine else {
        return Ok(Response::error(
            403,
            "Vous n’êtes pas invité(e) à cette réunion : seuls les invités y répondent.",
        ));
    };
    let now = time::now_seconds();
    if meeting.is_cancelled() {
        return Ok(Response::error(409, "Cette réunion est annulée."));
    }
    if meeting.is_closed() {
        return Ok(Response::error(
            409,
            "L’émargement de cette réunion est clos.",
        ));
    }
    if now >= meeting.end_at() {
        return Ok(Response::error(409, "Cette réunion est terminée."));
    }
    let Some(answer) = Answer::parse(&form.get("reponse")) else {
        return Ok(Response::error(
            422,
            "Veuillez répondre « présent », « absent » ou « sans réponse ».",
        ));
    };
    let late = model::is_late_absence(answer, now, meeting.start_at);
    let answered_at = (answer != Answer::None).then_some(now);
    records::update::<serde_json::Value>(
        INVITATIONS,
        &mine.id,
        &json!({ "answer": answer.stored(), "answered_at": answered_at, "late": late }),
    )?;
    Ok(Response::see_other(&format!(
        "{}?ok=reponse#reponse",
        meeting.path()
    )))
}

/// The `.ics` of one meeting, for any reader.
pub fn download(id: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, .. }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    Ok(Response {
        status: 200,
        headers: vec![
            ("content-type".into(), Method::Publish.content_type().into()),
            (
                "content-disposition".into(),
                "attachment; filename=\"reunion.ics\"".into(),
            ),
        ],
        body: calendar::download(&meeting),
    })
}

fn answers_summary(invitations: &[Invitation]) -> String {
    let count = |a: Answer| invitations.iter().filter(|i| i.answer() == a).count();
    format!(
        "{} présent(s), {} absent(s), {} sans réponse",
        count(Answer::Present),
        count(Answer::Absent),
        count(Answer::None)
    )
}

fn rsvp_form(meeting: &Meeting, mine: &Invitation) -> Markup {
    let current = mine.answer();
    html! {
        form method="post" action=(href(&format!("{}/reponse", meeting.path()))) class="stack" {
            (csrf_field())
            fieldset class="choice" {
                legend { "Votre réponse" }
                @for a in Answer::ALL {
                    label {
                        input type="radio" name="reponse" value=(a.form_value()) checked[a == current];
                        " " (a.label())
                    }
                }
            }
            button type="submit" { "Enregistrer ma réponse" }
        }
        p class="muted" {
            "Une absence annoncée moins de 48 h avant la réunion est enregistrée comme absence tardive."
        }
    }
}

/// The meeting's page.
pub fn page(id: &str, query: &str) -> PageResult {
    let viewer = Viewer::current();
    let Some(Loaded { meeting, mine }) = model::load(id, &viewer)? else {
        return Ok(Response::not_found());
    };
    let now = time::now_seconds();
    let invitations = model::invitations(id)?;
    let presences = model::presences(id)?;
    let messages = thread::list(id)?;
    let decisions = minutes::summary(id)?;
    let manages = viewer.manages(&meeting);
    let records_attendance = viewer.records_attendance(&meeting);
    let my_presence = mine
        .as_ref()
        .and_then(|i| presences.iter().find(|p| p.key == i.key));
    let tz = meeting.tz();
    let rsvp_open = !meeting.is_cancelled() && !meeting.is_closed() && now < meeting.end_at();
    let signing_open = !meeting.is_cancelled() && !meeting.is_closed() && meeting.has_started(now);
    let path = meeting.path();
    let body = html! {
        (ui::head())
        p { a href=(href("/")) { "← Réunions" } }
        h1 {
            (meeting.title)
            @if meeting.is_cancelled() {
                " " span class="badge cancelled" { "Annulée" }
            }
        }
        (ui::notice_block(query))
        dl class="meeting" {
            dt { "Date" }
            dd {
                (meeting.when_with_zone())
                @if let Some(own) = meeting.in_viewer_zone() {
                    br;
                    span class="own-zone" { "Chez vous : " (own) }
                }
            }
            dt { "Durée" }
            dd { (fr::duration(meeting.duration)) }
            @if !meeting.place.is_empty() {
                dt { "Lieu" }
                dd { (meeting.place) }
            }
            @if !meeting.video.is_empty() {
                dt { "Visioconférence" }
                dd { a href=(meeting.video) rel="noopener noreferrer" { (meeting.video) } }
            }
            dt { "Groupe" }
            dd { (meeting.group_label(&viewer)) }
            dt { "Type" }
            dd { (model::kind_label(&meeting.kind)) }
            @if !meeting.organiser_name.is_empty() {
                dt { "Organisée par" }
                dd { (meeting.organiser_name) }
            }
        }
        @if !meeting.agenda.trim().is_empty() {
            h2 { "Ordre du jour" }
            p class="agenda" { (ui::lines(&meeting.agenda)) }
        }
        p class="nav-views" {
            a href=(href(&format!("{path}/invitation.ics"))) { "Ajouter à mon agenda (.ics)" }
            a href=(href(&format!("{path}/compte-rendu"))) { "Compte-rendu" }
            @if manages && frozen(&meeting).is_none() {
                a href=(href(&format!("{path}/modifier"))) { "Modifier" }
            }
        }
        @if manages && frozen(&meeting).is_none() {
            form method="post" action=(href(&format!("{path}/annuler"))) class="inline" {
                (csrf_field())
                button type="submit" class="danger small" data-confirm="Annuler cette réunion et prévenir les invités ?" {
                    "Annuler la réunion"
                }
            }
        }

        section id="reponse" aria-labelledby="reponse-titre" {
            h2 id="reponse-titre" { "Votre participation" }
            @match &mine {
                Some(invitation) => {
                    p {
                        "Votre réponse : " (ui::invitation_answer(invitation, true))
                    }
                    @if rsvp_open {
                        (rsvp_form(&meeting, invitation))
                    }
                }
                None => {
                    p class="muted" { "Vous n’êtes pas invité(e) à cette réunion." }
                }
            }
        }

        section id="emargement" aria-labelledby="emargement-titre" {
            h2 id="emargement-titre" { "Émargement" }
            @if meeting.is_cancelled() {
                p class="muted" { "Réunion annulée." }
            } @else if meeting.is_closed() {
                p { "L’émargement est clos (révision " (meeting.revision) ")." }
            } @else if !meeting.has_started(now) {
                p class="muted" { "L’émargement ouvrira au début de la réunion." }
            } @else {
                p { "L’émargement est ouvert." }
            }
            @if let Some(presence) = my_presence {
                @if let Some(signed) = presence.signed_at {
                    p class="signed" { "Vous avez signé à " (ui::clock(signed, &tz)) "." }
                } @else {
                    p class="signed" { "Votre présence a été enregistrée par la coordination." }
                }
            } @else if signing_open && mine.is_some() {
                form method="post" action=(href(&format!("{path}/signer"))) class="inline" {
                    (csrf_field())
                    button type="submit" { "Signer ma présence" }
                }
            }
            @if records_attendance {
                p class="nav-views" {
                    a href=(href(&format!("{path}/emargement"))) { "Feuille d’émargement" }
                    @if signing_open {
                        a href=(href(&format!("{path}/qr"))) { "Afficher le QR code dans la salle" }
                    }
                }
            }
        }

        section id="invites" aria-labelledby="invites-titre" {
            h2 id="invites-titre" { "Invités (" (invitations.len()) ")" }
            p class="muted" { (answers_summary(&invitations)) }
            table class="list" {
                thead { tr { th scope="col" { "Nom" } th scope="col" { "Réponse" } th scope="col" { "Présence" } } }
                tbody {
                    @for i in &invitations {
                        @let presence = presences.iter().find(|p| p.key == i.key);
                        tr {
                            td {
                                (i.name)
                                @if records_attendance && !i.email.is_empty() {
                                    " " span class="muted" { "(" (i.email) ")" }
                                }
                                @if i.user.is_none() {
                                    " " span class="badge" { "Invité externe" }
                                }
                            }
                            td { (ui::invitation_answer(i, records_attendance || manages)) }
                            td {
                                @match presence {
                                    Some(p) => {
                                        @if let Some(signed) = p.signed_at {
                                            "Signé à " (ui::clock(signed, &tz))
                                        } @else {
                                            "Présent"
                                        }
                                    }
                                    None => { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }

        (decisions)
        (thread::render(&messages, &thread::Options {
            action: &format!("{path}/fil"),
            viewer: viewer.id(),
            can_post: viewer.user.is_some(),
            moderator: manages,
            title: "Discussion",
        }))
    };
    Ok(Response::page(&meeting.title, body))
}

#[cfg(test)]
mod tests {
    use super::parse_guests;

    #[test]
    fn reads_external_guests() {
        let guests = parse_guests(
            "Dr Chloé Martin <chloe@exemple.fr>\n\n  Paul Payet paul@exemple.fr \nAnne Autre\nzoe@exemple.fr\nAnne  autre",
        )
        .unwrap();
        assert_eq!(
            guests,
            [
                (
                    "Dr Chloé Martin".to_string(),
                    "chloe@exemple.fr".to_string()
                ),
                ("Paul Payet".to_string(), "paul@exemple.fr".to_string()),
                ("Anne Autre".to_string(), String::new()),
                ("zoe".to_string(), "zoe@exemple.fr".to_string()),
            ]
        );
        assert!(parse_guests("Nom <pas une adresse>").is_err());
        assert!(parse_guests(&"x".repeat(101)).is_err());
        assert!(parse_guests("").unwrap().is_empty());
    }
}
