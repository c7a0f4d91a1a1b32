//! Reading and checking the create and edit forms. Everything is checked before the
//! first write: an error is a French message for the form shown again (422).

use std::collections::HashSet;

use maillage_sdk::form::Form;
use maillage_sdk::groups;
use maillage_sdk::time::jiff::tz::TimeZone;
use maillage_sdk::time::{self, TimeError};

use crate::model::{
    Audience, Invitee, Kind, MAX_DESCRIPTION, MAX_PLACE, MAX_SLOTS, MAX_TITLE, MAX_VIDEO, Slot,
    Visibility, structure_members,
};

/// The fields `/new` and `/modifier` share.
pub struct Common {
    pub title: String,
    pub description: String,
    pub place: String,
    pub video: String,
    /// Minutes.
    pub duration: i64,
    /// Hours before the deadline; 0 for none.
    pub reminder: i64,
}

pub fn common(form: &Form, current: Option<(i64, i64)>) -> Result<Common, String> {
    let title = form.get("title");
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err("Veuillez indiquer un titre (200 caractères au plus).".into());
    }
    let description = form.get("description");
    if description.chars().count() > MAX_DESCRIPTION {
        return Err("La description ne doit pas dépasser 5 000 caractères.".into());
    }
    let place = form.get("place");
    if place.chars().count() > MAX_PLACE {
        return Err("Le lieu ne doit pas dépasser 300 caractères.".into());
    }
    let video = form.get("video");
    if !video.is_empty() && !valid_url(&video) {
        return Err(
            "Le lien de visioconférence doit être une adresse web commençant par https:// (ou http://)."
                .into(),
        );
    }
    let (duration, reminder) = current.unwrap_or((60, 48));
    let duration = number(
        form,
        "duration",
        duration,
        1..=24 * 60,
        "La durée doit être un nombre de minutes entre 1 et 1440.",
    )?;
    let reminder = number(
        form,
        "reminder",
        reminder,
        0..=24 * 366,
        "Le rappel doit être un nombre d’heures avant la date limite (0 pour aucun rappel).",
    )?;
    Ok(Common {
        title,
        description,
        place,
        video,
        duration,
        reminder,
    })
}

/// A whole number within `range`; `default` when the field is empty or absent.
fn number(
    form: &Form,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    message: &str,
) -> Result<i64, String> {
    let raw = form.get(name);
    if raw.is_empty() {
        return Ok(default);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| message.to_string())
}

fn valid_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    url.len() <= MAX_VIDEO
        && rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"')
}

/// The zone slots and deadline are typed in: the form's, else `default`.
pub fn zone(form: &Form, default: &str) -> Result<TimeZone, String> {
    let name = form.get("zone");
    let name = if name.is_empty() {
        default.to_string()
    } else {
        name
    };
    time::zone(&name).map_err(|e| e.french())
}

pub fn kind(form: &Form) -> Result<Kind, String> {
    Kind::parse(&form.get("kind")).ok_or_else(|| "Ce type de créneaux n’existe pas.".to_string())
}

pub fn visibility(form: &Form) -> Result<Visibility, String> {
    Visibility::parse(&form.get("visibility"))
        .ok_or_else(|| "Veuillez choisir qui voit les réponses.".to_string())
}

/// The non-empty `slot` values, parsed in `zone` (timed) or as dates (whole days), in
/// the order given. Duplicates, among them or with `existing`, are refused.
pub fn new_slots(
    raw: &[String],
    kind: Kind,
    zone: &TimeZone,
    existing: &[Slot],
) -> Result<Vec<Slot>, String> {
    let mut keys: HashSet<String> = existing.iter().map(Slot::key).collect();
    let mut slots: Vec<Slot> = Vec::new();
    for text in raw.iter().filter(|text| !text.is_empty()) {
        let parsed: Result<Slot, TimeError> = match kind {
            Kind::Times => time::parse_local(text)
                .and_then(|local| time::to_instant(local, zone))
                .map(|at| Slot::timed(at, zone)),
            Kind::Days => time::parse_date(text).map(Slot::day),
        };
        let slot = parsed.map_err(|e| match e {
            TimeError::Nonexistent { .. } => e.french(),
            _ => format!("Le créneau « {text} » n’est pas une date valide."),
        })?;
        if !keys.insert(slot.key()) {
            return Err(format!(
                "Le créneau « {} » est proposé deux fois.",
                slot.label(zone)
            ));
        }
        slots.push(slot);
    }
    Ok(slots)
}

/// At least two slots, at most [`MAX_SLOTS`].
pub fn slot_count(count: usize) -> Result<(), String> {
    if count < 2 {
        return Err("Veuillez proposer au moins deux créneaux.".into());
    }
    if count > MAX_SLOTS {
        return Err(format!(
            "Vous pouvez proposer {MAX_SLOTS} créneaux au plus ({count} proposés)."
        ));
    }
    Ok(())
}

/// The deadline typed in `zone`, in Unix seconds; it must be in the future, unless it is
/// the poll's `current` one, kept as it was.
pub fn deadline(
    form: &Form,
    zone: &TimeZone,
    now: i64,
    current: Option<i64>,
) -> Result<i64, String> {
    let raw = form.get("deadline");
    if raw.is_empty() {
        return Err("Veuillez indiquer la date limite de réponse.".into());
    }
    let at = time::parse_local(&raw)
        .and_then(|local| time::to_instant(local, zone))
        .map_err(|e| match e {
            TimeError::Nonexistent { .. } => e.french(),
            _ => format!("La date limite « {raw} » n’est pas une date valide."),
        })?
        .as_second();
    if current != Some(at) && at <= now {
        return Err("La date limite doit être dans le futur.".into());
    }
    Ok(at)
}

/// Who is invited, and the group the poll concerns.
pub struct Invited {
    pub audience: Audience,
    /// (id, name) of the group.
    pub group: Option<(String, String)>,
    pub invitees: Vec<Invitee>,
}

/// `audience` (with `group` or `member`): the invitees, members of the structure only.
/// A `group` without `audience` invites that group (the form of 0.2 had only the group).
pub fn invited(form: &Form) -> Result<Invited, String> {
    let group_id = form.get("group");
    let audience = match form.get("audience").as_str() {
        "" if !group_id.is_empty() => Audience::Group,
        "" => Audience::Structure,
        code => Audience::parse(code)
            .ok_or_else(|| "Veuillez choisir qui est invité au sondage.".to_string())?,
    };
    let group = if group_id.is_empty() {
        if audience == Audience::Group {
            return Err("Veuillez choisir le groupe invité.".into());
        }
        None
    } else {
        // Only a group the organiser may see: the host decides visibility, not the form.
        let group = groups::visible_groups()
            .into_iter()
            .find(|g| g.id == group_id && !g.archived)
            .ok_or_else(|| "Ce groupe n’existe pas ou ne vous est pas accessible.".to_string())?;
        Some((group.id, group.name))
    };
    let members = structure_members();
    let invitees: Vec<Invitee> = match audience {
        Audience::Structure => members,
        Audience::Group => {
            let id = group
                .as_ref()
                .map(|(id, _)| id.as_str())
                .unwrap_or_default();
            let in_group: HashSet<String> = groups::members(id)
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.user_id)
                .collect();
            members
                .into_iter()
                .filter(|m| in_group.contains(&m.id))
                .collect()
        }
        Audience::Members => {
            let chosen: HashSet<String> = form
                .all("member")
                .into_iter()
                .filter(|id| !id.is_empty())
                .collect();
            let known: HashSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
            if chosen.iter().any(|id| !known.contains(id.as_str())) {
                return Err("Une des personnes choisies n’est pas membre de la structure.".into());
            }
            members
                .iter()
                .filter(|m| chosen.contains(&m.id))
                .cloned()
                .collect()
        }
    };
    if invitees.is_empty() {
        return Err("Personne n’est invité : veuillez choisir au moins un participant.".into());
    }
    Ok(Invited {
        audience,
        group,
        invitees,
    })
}
