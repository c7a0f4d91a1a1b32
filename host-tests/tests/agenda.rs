//! The meetings module (`plugins/agenda`) end to end, through the real host and the real
//! component: RSVP and the 48 h rule, self-signing (button and rotating QR code) and the
//! coordinators' émargement, the closing that publishes exactly one event (reaching a
//! subscriber once even when delivered again), reopening and the correcting revision, a
//! closed poll becoming one meeting, the invitations, updates, cancellations and feed
//! read by a real iCalendar parser (Python `icalendar`), reminders through timers, the
//! compte-rendu and the discussion thread, bad input and other structures, and the
//! journey in Chromium at desktop and phone widths.

use std::io::Write;
use std::process::{Command, Stdio};

use http::StatusCode;
use maillage::groups::GroupRole;
use maillage::mail::OutboxMail;
use maillage::storage::now_secs;
use maillage::tenancy::Role;
use serde_json::Value;

use crate::support::{Client, Host, PASSWORD};

const BASE: &str = "/cpts-a/agenda";
const CLOSED_TOPIC: &str = "meeting.attendance-closed";

/// "YYYY-MM-DDTHH:MM" of Unix seconds read as UTC (Howard Hinnant's civil algorithm).
fn civil(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The local time in America/Cayenne (UTC−3 all year) of Unix seconds, as a
/// `datetime-local` field takes it.
fn cayenne(secs: i64) -> String {
    civil(secs - 3 * 3600)
}

/// « HH:MM » in Cayenne.
fn cayenne_clock(secs: i64) -> String {
    cayenne(secs)[11..16].to_string()
}

/// The instant a Cayenne local time typed now (to the minute) stands for.
fn to_minute(secs: i64) -> i64 {
    secs - secs.rem_euclid(60)
}

/// The structure, its people and groups.
struct World {
    sid: i64,
    coord: String,
    referent: String,
    anne: String,
    olga: String,
    /// Open group: Rémi référent, Anne membre active.
    bpco: String,
}

async fn world(host: &Host, modules: &[&str]) -> World {
    let s = host.structure("cpts-a", modules).await;
    host.structure("cpts-b", &["agenda"]).await;
    let coord = host
        .account(
            "cpts-a",
            "claire@a.test",
            "Claire Coordinatrice",
            Role::Coordinator,
        )
        .await;
    let referent = host
        .account("cpts-a", "remi@a.test", "Rémi Référent", Role::Member)
        .await;
    let anne = host
        .account("cpts-a", "anne@a.test", "Anne Active", Role::Member)
        .await;
    let olga = host
        .account("cpts-a", "olga@a.test", "Olga Autre", Role::Member)
        .await;
    host.account("cpts-b", "bob@b.test", "Bob Ailleurs", Role::Member)
        .await;
    let db = &host.state.db;
    let bpco = db
        .create_group(s.id, "Parcours BPCO", "", true, referent.id)
        .await
        .unwrap();
    let group = db.group(s.id, bpco, referent.id).await.unwrap().unwrap();
    db.set_group_member(&group, anne.id, GroupRole::Active)
        .await
        .unwrap();
    // Olga leads another, closed group.
    db.create_group(s.id, "Diabète", "", false, olga.id)
        .await
        .unwrap();
    World {
        sid: s.id,
        coord: coord.id.to_string(),
        referent: referent.id.to_string(),
        anne: anne.id.to_string(),
        olga: olga.id.to_string(),
        bpco: bpco.to_string(),
    }
}

async fn agenda_host() -> Host {
    Host::with_config(|c| c.plugin_deadline_ms = 5000).await
}

async fn signed_in<'a>(host: &'a Host, email: &str) -> Client<'a> {
    let mut client = Client::new(host);
    client.login(email, PASSWORD).await;
    client
}

/// Creates a meeting through the form; returns its id.
async fn create(client: &mut Client<'_>, fields: &[(&str, &str)]) -> String {
    let (status, location, body) = client.post_form(&format!("{BASE}/nouvelle"), fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("a redirect to the meeting");
    location
        .strip_prefix(&format!("{BASE}/r/"))
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("unexpected location {location}"))
        .to_string()
}

/// A BPCO meeting starting at `start` (Unix seconds), in Cayenne, for 60 minutes.
async fn bpco_meeting(client: &mut Client<'_>, w: &World, title: &str, start: i64) -> String {
    let local = cayenne(start);
    create(
        client,
        &[
            ("titre", title),
            ("groupe", &w.bpco),
            ("debut", &local),
            ("fuseau", "America/Cayenne"),
            ("duree", "60"),
            ("lieu", "Salle du conseil, maison de santé"),
        ],
    )
    .await
}

async fn outbox(host: &Host, sid: i64) -> Vec<OutboxMail> {
    host.state.db.outbox(Some(sid), 500).await.unwrap()
}

fn mails_to<'a>(mails: &'a [OutboxMail], address: &str, subject: &str) -> Vec<&'a OutboxMail> {
    mails
        .iter()
        .filter(|m| m.to == address && m.subject.starts_with(subject))
        .collect()
}

/// The calendar attached to a mail: its content type and text.
fn attached_ics(mail: &OutboxMail) -> (String, String) {
    let attachments = mail.stored_attachments();
    assert_eq!(attachments.len(), 1, "one .ics: {}", mail.subject);
    let a = &attachments[0];
    assert!(a.file_name.ends_with(".ics"), "{}", a.file_name);
    (
        a.content_type.clone(),
        String::from_utf8(a.bytes()).expect("UTF-8 calendar"),
    )
}

async fn closed_events(host: &Host, sid: i64) -> Vec<Value> {
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM event_outbox WHERE topic = $1 AND structure_id = $2 ORDER BY id",
    )
    .bind(CLOSED_TOPIC)
    .bind(sid)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    payloads
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
}

async fn count(host: &Host, table: &str, sid: i64) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE structure_id = $1"
    ))
    .bind(sid)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap()
}

/// Reads a calendar with Python's `icalendar` (installed by scripts/test.sh in
/// target/test-tools/py) and returns what the tests check, as JSON. The VTIMEZONE the
/// module wrote is turned into a time zone of its own, so its offsets are checked too.
const ICS_READER: &str = r#"
import sys, json
import icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
zones = {}
refresh = cal.get("REFRESH-INTERVAL")
out = {
    "method": str(cal.get("METHOD", "")),
    "name": str(cal.get("X-WR-CALNAME", "")),
    "refresh": refresh.to_ical().decode() if refresh is not None else "",
    "ttl": str(cal.get("X-PUBLISHED-TTL", "")),
    "timezones": [],
    "events": [],
}
for tz in cal.walk("VTIMEZONE"):
    zones[str(tz["TZID"])] = tz.to_tz(lookup_tzid=False)
    out["timezones"].append({
        "tzid": str(tz["TZID"]),
        "standard": len(tz.walk("STANDARD")),
        "daylight": len(tz.walk("DAYLIGHT")),
    })
for ev in cal.walk("VEVENT"):
    start = ev.decoded("DTSTART")
    end = ev.decoded("DTEND") if "DTEND" in ev else start + ev.decoded("DURATION")
    tzid = ev["DTSTART"].params.get("TZID")
    own = None
    if tzid in zones:
        naive = start.replace(tzinfo=None)
        own = int(naive.replace(tzinfo=zones[tzid]).utcoffset().total_seconds())
    out["events"].append({
        "uid": str(ev["UID"]),
        "sequence": int(ev.get("SEQUENCE", 0)),
        "status": str(ev.get("STATUS", "")),
        "summary": str(ev.get("SUMMARY", "")),
        "location": str(ev.get("LOCATION", "")),
        "description": str(ev.get("DESCRIPTION", "")),
        "organizer": str(ev.get("ORGANIZER", "")),
        "tzid": tzid,
        "tzinfo": str(start.tzinfo),
        "local": start.strftime("%Y-%m-%dT%H:%M"),
        "start": int(start.timestamp()),
        "end": int(end.timestamp()),
        "vtimezone_offset": own,
    })
print(json.dumps(out, ensure_ascii=False))
"#;

fn read_ics(text: &str) -> Value {
    let python = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/test-tools/py/bin/python"
    );
    let mut child = Command::new(python)
        .arg("-c")
        .arg(ICS_READER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{python}: {e} (scripts/test.sh installs icalendar in target/test-tools/py)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "icalendar refused the calendar: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every CRLF-terminated line of a calendar is at most 75 octets.
fn assert_folded(text: &str) {
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
}

fn attribute_after<'a>(page: &'a str, marker: &str, attribute: &str) -> &'a str {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in\n{page}"));
    let rest = &page[at..];
    let start = rest.find(&format!("{attribute}=\"")).unwrap() + attribute.len() + 2;
    let end = rest[start..].find('"').unwrap();
    &rest[start..start + end]
}

/// The part of a page from `marker` to the end of its enclosing table row.
fn row_of<'a>(page: &'a str, marker: &str) -> &'a str {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in\n{page}"));
    let rest = &page[at..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn invitees_answer_and_late_absences_are_flagged_for_the_coordinator() {
    let host = agenda_host().await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut olga = signed_in(&host, "olga@a.test").await;
    let now = now_secs();
    let far = bpco_meeting(&mut claire, &w, "Réunion dans cinq jours", now + 5 * 86_400).await;
    let soon = bpco_meeting(&mut claire, &w, "Réunion de demain", now + 24 * 3600).await;

    // The group was invited, each by their own mail with the invitation; not the organiser.
    let mails = outbox(&host, w.sid).await;
    for address in ["anne@a.test", "remi@a.test"] {
        let got = mails_to(&mails, address, "Invitation : Réunion dans cinq jours");
        assert_eq!(got.len(), 1, "{address}");
        let (content_type, _) = attached_ics(got[0]);
        assert_eq!(content_type, "text/calendar; charset=utf-8; method=REQUEST");
        assert!(got[0].body.contains(&format!("/cpts-a/agenda/r/{far}")));
        assert!(
            got[0]
                .html_body
                .as_deref()
                .unwrap_or("")
                .contains("Indiquer votre présence")
        );
    }
    assert!(mails_to(&mails, "claire@a.test", "Invitation").is_empty());
    assert!(mails_to(&mails, "olga@a.test", "Invitation").is_empty());

    // An absence five days ahead is an ordinary one.
    let (status, location, _) = anne
        .post_form(&format!("{BASE}/r/{far}/reponse"), &[("reponse", "absent")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().contains("ok=reponse"));
    let (_, page) = claire.get(&format!("{BASE}/r/{far}")).await;
    let row = row_of(&page, "<td>Anne Active");
    assert!(
        row.contains("Absent") && !row.contains("late-absence"),
        "{row}"
    );

    // Less than 48 h before the start: accepted, and flagged for the coordinator.
    let (status, _, _) = anne
        .post_form(
            &format!("{BASE}/r/{soon}/reponse"),
            &[("reponse", "absent")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = claire.get(&format!("{BASE}/r/{soon}")).await;
    let row = row_of(&page, "<td>Anne Active");
    assert!(
        row.contains("<span class=\"late-absence\"") && row.contains("Absence tardive"),
        "{row}"
    );
    // Changing one's mind clears it; « sans réponse » is an answer too.
    anne.post_form(
        &format!("{BASE}/r/{soon}/reponse"),
        &[("reponse", "present")],
    )
    .await;
    let (_, page) = claire.get(&format!("{BASE}/r/{soon}")).await;
    let row = row_of(&page, "<td>Anne Active");
    assert!(
        row.contains("Présent") && !row.contains("late-absence"),
        "{row}"
    );
    anne.post_form(
        &format!("{BASE}/r/{far}/reponse"),
        &[("reponse", "sans-reponse")],
    )
    .await;

    // « Mes réunions » and the dashboard show her answers.
    let (status, page) = anne.get(&format!("{BASE}/mes-reunions")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Réunion de demain") && page.contains("Réunion dans cinq jours"));
    assert!(
        page.contains("answer-present") && page.contains("answer-none"),
        "{page}"
    );
    let (_, dashboard) = anne.get("/cpts-a/").await;
    assert!(dashboard.contains("Mes prochaines réunions"), "{dashboard}");
    assert!(dashboard.contains("Réunion de demain"), "{dashboard}");

    // Bad answers and people who were not invited are refused.
    let (status, _, _) = anne
        .post_form(
            &format!("{BASE}/r/{soon}/reponse"),
            &[("reponse", "peut-être")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = olga
        .post_form(
            &format!("{BASE}/r/{soon}/reponse"),
            &[("reponse", "present")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Olga is in another group");
    let (_, page) = olga.get(&format!("{BASE}/r/{soon}")).await;
    assert!(!page.contains("/reponse\""), "no answer form for Olga");
    assert!(!page.contains("late-absence"), "flags are for coordinators");
}

#[tokio::test]
async fn invitees_sign_from_the_start_by_button_or_rotating_code_and_coordinators_record_attendance()
 {
    let host = agenda_host().await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut olga = signed_in(&host, "olga@a.test").await;
    let now = now_secs();
    let started = to_minute(now - 10 * 60);
    let current = bpco_meeting(&mut claire, &w, "Réunion en cours", started).await;
    let later = bpco_meeting(&mut claire, &w, "Réunion plus tard", now + 2 * 3600).await;

    // Nobody signs before the start.
    let (status, _, body) = anne
        .post_form(&format!("{BASE}/r/{later}/signer"), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("L’émargement ouvre au début de la réunion"),
        "{body}"
    );

    // Anne signs with the button: the time is kept.
    let (status, location, _) = anne
        .post_form(&format!("{BASE}/r/{current}/signer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().contains("ok=signe"));
    let (_, page) = anne.get(&format!("{BASE}/r/{current}")).await;
    assert!(page.contains("Vous avez signé à"), "{page}");
    // Olga was not invited: she cannot sign, even with the room's code.
    let (status, _, _) = olga
        .post_form(&format!("{BASE}/r/{current}/signer"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The QR code page is for référents and coordinators; its code signs Rémi in.
    let (status, _) = anne.get(&format!("{BASE}/r/{current}/qr")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = claire.get(&format!("{BASE}/r/{current}/qr")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("<svg") && page.contains("hx-trigger=\"every 30s\""),
        "{page}"
    );
    let code = attribute_after(&page, "qr-code-text", "data-code").to_string();
    assert_eq!(code.len(), 10, "{code}");
    let (status, fragment) = claire.get(&format!("{BASE}/r/{current}/qr/code")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        fragment.contains("<svg") && !fragment.contains("<html"),
        "{fragment}"
    );
    let (status, page) = remi
        .get(&format!("{BASE}/r/{current}/presence/{code}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Je confirme ma présence"));
    let (status, _, body) = remi
        .post_form(
            &format!("{BASE}/r/{current}/signer"),
            &[("code", "0000000000")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a forged code: {body}");
    let (status, _, _) = olga
        .post_form(&format!("{BASE}/r/{current}/signer"), &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = remi
        .post_form(&format!("{BASE}/r/{current}/signer"), &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The sheet: référents and coordinators only.
    let (status, _) = anne.get(&format!("{BASE}/r/{current}/emargement")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, sheet) = remi.get(&format!("{BASE}/r/{current}/emargement")).await;
    assert_eq!(status, StatusCode::OK, "{sheet}");
    assert!(row_of(&sheet, &format!("data-key=\"u{}\"", w.referent)).contains("(QR code)"));

    // A forged account id is refused, and nothing is recorded.
    let before = count(&host, "c_agenda__attendance", w.sid).await;
    let forged = format!("u{}", w.anne.parse::<i64>().unwrap() + 1000);
    let (status, _, body) = claire
        .post_form(
            &format!("{BASE}/r/{current}/emargement"),
            &[("present", &forged), ("ajout_externe", "Dr Paul Externe")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("role=\"alert\""), "{body}");
    let (status, _, _) = claire
        .post_form(
            &format!("{BASE}/r/{current}/emargement"),
            &[("ajout_membre", "999999")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&host, "c_agenda__attendance", w.sid).await, before);

    // The coordinator records times, a duration, and who came without invitation.
    let anne_key = format!("u{}", w.anne);
    let remi_key = format!("u{}", w.referent);
    let coord_key = format!("u{}", w.coord);
    let arrival = cayenne_clock(started + 5 * 60);
    let (status, location, body) = claire
        .post_form(
            &format!("{BASE}/r/{current}/emargement"),
            &[
                ("liste", &coord_key),
                ("liste", &remi_key),
                ("liste", &anne_key),
                ("present", &remi_key),
                ("present", &anne_key),
                (&format!("arrivee-{remi_key}"), &arrival),
                (&format!("duree-{anne_key}"), "45"),
                ("ajout_membre", &w.olga),
                ("ajout_externe", "Dr Paul Externe"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.unwrap();
    assert!(
        location.ends_with("/emargement?ok=emargement"),
        "{location}"
    );
    let (_, sheet) = claire.get(&location).await;
    assert!(sheet.contains("L’émargement est enregistré."), "{sheet}");
    assert!(
        row_of(&sheet, &format!("data-key=\"{remi_key}\""))
            .contains(&format!("value=\"{arrival}\""))
    );
    assert!(row_of(&sheet, &format!("data-key=\"{anne_key}\"")).contains("value=\"45\""));
    let olga_row = row_of(&sheet, &format!("data-key=\"u{}\"", w.olga));
    assert!(
        olga_row.contains("Sans invitation") && olga_row.contains("checked"),
        "{olga_row}"
    );
    assert!(sheet.contains("Dr Paul Externe"), "{sheet}");
    // Anne's own signature is kept under the coordinator's record.
    let anne_row = row_of(&sheet, &format!("data-key=\"{anne_key}\""));
    assert!(!anne_row.contains("<td>—</td>"), "{anne_row}");
    // Unchecking someone listed removes them.
    let (status, _, _) = claire
        .post_form(
            &format!("{BASE}/r/{current}/emargement"),
            &[
                ("liste", &remi_key),
                ("liste", &anne_key),
                ("present", &anne_key),
                (&format!("duree-{anne_key}"), "45"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, sheet) = claire.get(&format!("{BASE}/r/{current}/emargement")).await;
    assert!(!row_of(&sheet, &format!("data-key=\"{remi_key}\"")).contains("checked"));
    // Bad times are refused whole.
    let (status, _, _) = claire
        .post_form(
            &format!("{BASE}/r/{current}/emargement"),
            &[
                ("present", &anne_key),
                (&format!("arrivee-{anne_key}"), "25:99"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn closing_publishes_one_event_delivered_once_and_reopening_publishes_the_next_revision() {
    let host = agenda_host().await;
    let w = world(&host, &["agenda", "listener"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let started = to_minute(now_secs() - 2 * 3600);
    let id = bpco_meeting(&mut claire, &w, "Groupe BPCO de novembre", started).await;
    let anne_key = format!("u{}", w.anne);
    let remi_key = format!("u{}", w.referent);

    anne.post_form(&format!("{BASE}/r/{id}/signer"), &[]).await;
    let (status, _, body) = claire
        .post_form(
            &format!("{BASE}/r/{id}/emargement"),
            &[
                ("liste", &anne_key),
                ("liste", &remi_key),
                ("present", &anne_key),
                ("present", &remi_key),
                (&format!("arrivee-{remi_key}"), &cayenne_clock(started)),
                (
                    &format!("depart-{remi_key}"),
                    &cayenne_clock(started + 50 * 60),
                ),
                ("ajout_membre", &w.olga),
                ("ajout_externe", "Dr Paul Externe"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // Anne is no coordinator nor référent: she cannot close.
    let (status, _, _) = anne
        .post_form(&format!("{BASE}/r/{id}/cloturer"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(closed_events(&host, w.sid).await.is_empty());

    // The référent closes: exactly one event, with the attendees, roles and durations.
    let (status, location, body) = remi
        .post_form(&format!("{BASE}/r/{id}/cloturer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.unwrap().contains("ok=cloture"));
    let events = closed_events(&host, w.sid).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["meeting"], id.as_str());
    assert_eq!(event["revision"], 1);
    assert_eq!(event["title"], "Groupe BPCO de novembre");
    assert_eq!(event["group_id"], w.bpco.as_str());
    assert_eq!(event["start"], started);
    assert_eq!(event["zone"], "America/Cayenne");
    assert_eq!(event["date"], &cayenne(started)[..10]);
    assert_eq!(event["duration_minutes"], 60);
    assert_eq!(event["kind"], "groupe-de-travail");
    let attendees = event["attendees"].as_array().unwrap();
    assert_eq!(attendees.len(), 4, "{attendees:?}");
    let by_name = |name: &str| {
        attendees
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {attendees:?}"))
            .clone()
    };
    let remi_line = by_name("Rémi Référent");
    assert_eq!(remi_line["account"], w.referent.as_str());
    assert_eq!(remi_line["role"], "referent");
    assert_eq!(remi_line["minutes"], 50);
    let anne_line = by_name("Anne Active");
    assert_eq!(anne_line["account"], w.anne.as_str());
    assert_eq!(anne_line["role"], "active");
    assert_eq!(anne_line["minutes"], 60, "no times: the whole meeting");
    let olga_line = by_name("Olga Autre");
    assert_eq!(olga_line["account"], w.olga.as_str());
    assert_eq!(olga_line["role"], "active");
    let guest = by_name("Dr Paul Externe");
    assert_eq!(guest["account"], Value::Null);
    assert_eq!(guest["role"], "guest");
    assert_eq!(guest["minutes"], 60);

    // Closed: not twice, and nobody signs or answers any more.
    let (status, _, body) = claire
        .post_form(&format!("{BASE}/r/{id}/cloturer"), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _, _) = anne.post_form(&format!("{BASE}/r/{id}/signer"), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = claire
        .post_form(
            &format!("{BASE}/r/{id}/emargement"),
            &[("present", &anne_key)],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(closed_events(&host, w.sid).await.len(), 1);

    // The subscriber gets it once, even when the delivery is made again.
    maillage::events::dispatch(&host.state).await.unwrap();
    assert_eq!(count(&host, "c_listener__received", w.sid).await, 1);
    sqlx::query("UPDATE event_deliveries SET status = 'pending' WHERE plugin_id = 'listener'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    maillage::events::dispatch(&host.state).await.unwrap();
    assert_eq!(count(&host, "c_listener__received", w.sid).await, 1);
    assert_eq!(count(&host, "c_listener__deliveries", w.sid).await, 2);

    // Reopening: a coordinator, with a reason.
    let (status, _, _) = remi
        .post_form(&format!("{BASE}/r/{id}/rouvrir"), &[("motif", "Erreur")])
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a référent is no coordinator"
    );
    let (status, _, _) = claire
        .post_form(&format!("{BASE}/r/{id}/rouvrir"), &[("motif", "  ")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, location, _) = claire
        .post_form(
            &format!("{BASE}/r/{id}/rouvrir"),
            &[("motif", "Anne est partie après 30 minutes")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().contains("ok=rouvert"));
    let (_, sheet) = claire.get(&format!("{BASE}/r/{id}/emargement")).await;
    assert!(
        sheet.contains("Anne est partie après 30 minutes"),
        "{sheet}"
    );
    assert!(sheet.contains("réouverture après la révision 1"), "{sheet}");
    // The structure's audit log holds it, with who and why.
    let journal = host.state.db.audit_entries(Some(w.sid), 50).await.unwrap();
    let entry = journal
        .iter()
        .find(|e| e.action == "agenda.attendance.reopen")
        .expect("the reopening is in the audit log");
    assert!(
        entry.actor.contains("Claire Coordinatrice"),
        "{}",
        entry.actor
    );
    assert!(
        entry
            .after
            .as_deref()
            .is_some_and(|a| a.contains("Anne est partie après 30 minutes")),
        "{:?}",
        entry.after
    );

    // The correction, then the next closing: revision 2, with the new duration.
    let olga_key = format!("u{}", w.olga);
    let guest_row_key = {
        let at = sheet.find("Dr Paul Externe").unwrap();
        let before = &sheet[..at];
        let start = before.rfind("data-key=\"").unwrap() + "data-key=\"".len();
        let end = before[start..].find('"').unwrap();
        before[start..start + end].to_string()
    };
    let (status, _, body) = claire
        .post_form(
            &format!("{BASE}/r/{id}/emargement"),
            &[
                ("liste", &anne_key),
                ("liste", &remi_key),
                ("liste", &olga_key),
                ("liste", &guest_row_key),
                ("present", &anne_key),
                ("present", &remi_key),
                ("present", &olga_key),
                ("present", &guest_row_key),
                (&format!("duree-{anne_key}"), "30"),
                (&format!("arrivee-{remi_key}"), &cayenne_clock(started)),
                (
                    &format!("depart-{remi_key}"),
                    &cayenne_clock(started + 50 * 60),
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _, _) = claire
        .post_form(&format!("{BASE}/r/{id}/cloturer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let events = closed_events(&host, w.sid).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["revision"], 2);
    let anne_again = events[1]["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Anne Active")
        .cloned()
        .unwrap();
    assert_eq!(anne_again["minutes"], 30);
    assert_eq!(events[1]["attendees"].as_array().unwrap().len(), 4);
    maillage::events::dispatch(&host.state).await.unwrap();
    assert_eq!(count(&host, "c_listener__received", w.sid).await, 2);
    let (_, page) = claire.get(&format!("{BASE}/r/{id}")).await;
    assert!(
        page.contains("L’émargement est clos (révision 2)"),
        "{page}"
    );
}

#[tokio::test]
async fn a_closed_poll_becomes_one_meeting_with_its_invitees_even_when_redelivered() {
    let host = agenda_host().await;
    let w = world(&host, &["polls", "agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let (status, location, body) = claire
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", "Choix de la date BPCO"),
                ("place", "Maison de santé"),
                ("duration", "90"),
                ("zone", "Europe/Paris"),
                ("kind", "horaires"),
                ("slot", "2030-12-05T20:00"),
                ("slot", "2030-12-06T20:00"),
                ("deadline", "2030-11-01T12:00"),
                ("audience", "membres"),
                ("member", &w.anne),
                ("member", &w.referent),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let poll_path = location.unwrap();
    let (status, _, body) = claire
        .post_form(
            &format!("{poll_path}/cloturer"),
            &[("slot", "s1"), ("confirm", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    maillage::events::dispatch(&host.state).await.unwrap();

    assert_eq!(count(&host, "c_agenda__meetings", w.sid).await, 1);
    let (_, list) = anne.get(&format!("{BASE}/")).await;
    assert!(list.contains("Choix de la date BPCO"), "{list}");
    let start = list.find("/cpts-a/agenda/r/").unwrap() + "/cpts-a/agenda/r/".len();
    let id: String = list[start..].chars().take_while(|c| *c != '"').collect();
    let (_, page) = anne.get(&format!("{BASE}/r/{id}")).await;
    assert!(page.contains("jeudi 5 décembre 2030, 20:00"), "{page}");
    assert!(page.contains("1 h 30"), "{page}");
    assert!(page.contains("Maison de santé"));
    for name in ["Anne Active", "Rémi Référent", "Claire Coordinatrice"] {
        assert!(
            page.contains(&format!("<td>{name}")),
            "{name} invited: {page}"
        );
    }
    assert!(!page.contains("<td>Olga Autre"));
    let mails = outbox(&host, w.sid).await;
    let invitations: Vec<&OutboxMail> = mails
        .iter()
        .filter(|m| m.subject.starts_with("Invitation : Choix de la date BPCO"))
        .collect();
    assert_eq!(invitations.len(), 3, "organiser and both invitees");
    let (content_type, text) = attached_ics(invitations[0]);
    assert_eq!(content_type, "text/calendar; charset=utf-8; method=REQUEST");
    let ics = read_ics(&text);
    assert_eq!(ics["events"][0]["start"], 1_922_727_600_i64);

    // A repeated delivery of poll.closed makes no second meeting and no second mail.
    sqlx::query("UPDATE event_deliveries SET status = 'pending' WHERE plugin_id = 'agenda'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    maillage::events::dispatch(&host.state).await.unwrap();
    assert_eq!(count(&host, "c_agenda__meetings", w.sid).await, 1);
    let again = outbox(&host, w.sid).await;
    assert_eq!(
        again
            .iter()
            .filter(|m| m.subject.starts_with("Invitation : Choix de la date BPCO"))
            .count(),
        3
    );
}

#[tokio::test]
async fn invitations_updates_cancellations_downloads_and_the_feed_parse_in_icalendar() {
    let host = agenda_host().await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    // 20:00 on 5 December 2030 in three zones of the platform.
    let zones = [
        ("Europe/Paris", 1_922_727_600_i64, 3600, 1, 1),
        ("America/Cayenne", 1_922_742_000, -10_800, 1, 0),
        ("Indian/Reunion", 1_922_716_800, 14_400, 1, 0),
    ];
    let mut ids = Vec::new();
    for (zone, start, offset, standard, daylight) in zones {
        let title = format!("Réunion, {zone}; ordre du jour \\ long");
        let id = create(
            &mut claire,
            &[
                ("titre", &title),
                ("groupe", &w.bpco),
                ("debut", "2030-12-05T20:00"),
                ("fuseau", zone),
                ("duree", "90"),
                ("lieu", "Salle 2, 1er étage"),
                (
                    "ordre_du_jour",
                    "1. Accueil des nouveaux membres du groupe de travail et présentation du parcours\n2. Questions diverses",
                ),
            ],
        )
        .await;
        let mails = outbox(&host, w.sid).await;
        let mail = mails_to(&mails, "anne@a.test", &format!("Invitation : {title}"));
        assert_eq!(mail.len(), 1, "{zone}");
        let (content_type, text) = attached_ics(mail[0]);
        assert_eq!(content_type, "text/calendar; charset=utf-8; method=REQUEST");
        assert_folded(&text);
        let ics = read_ics(&text);
        assert_eq!(ics["method"], "REQUEST", "{zone}");
        let tz = &ics["timezones"][0];
        assert_eq!(tz["tzid"], zone);
        assert_eq!(tz["standard"], standard, "{zone}: {tz}");
        assert_eq!(tz["daylight"], daylight, "{zone}: {tz}");
        let event = &ics["events"][0];
        assert_eq!(event["uid"], format!("{id}@maillage"));
        assert_eq!(event["sequence"], 0);
        assert_eq!(event["status"], "CONFIRMED");
        assert_eq!(event["summary"], title.as_str());
        assert_eq!(event["location"], "Salle 2, 1er étage");
        assert!(
            event["description"]
                .as_str()
                .unwrap()
                .contains("2. Questions diverses")
        );
        assert_eq!(event["tzid"], zone);
        assert_eq!(event["local"], "2030-12-05T20:00");
        assert_eq!(event["start"], start, "{zone}");
        assert_eq!(event["end"], start + 90 * 60);
        assert_eq!(
            event["vtimezone_offset"], offset,
            "{zone}: the VTIMEZONE written"
        );
        ids.push(id);
    }
    let paris = ids[0].clone();

    // An update: same UID, SEQUENCE 1, the new time.
    let (status, _, body) = claire
        .post_form(
            &format!("{BASE}/r/{paris}/modifier"),
            &[
                ("titre", "Réunion, Europe/Paris; ordre du jour \\ long"),
                ("debut", "2030-12-06T18:30"),
                ("fuseau", "Europe/Paris"),
                ("duree", "90"),
                ("lieu", "Salle 2, 1er étage"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let mails = outbox(&host, w.sid).await;
    let changed = mails_to(&mails, "anne@a.test", "Réunion modifiée");
    assert_eq!(changed.len(), 1);
    let (content_type, text) = attached_ics(changed[0]);
    assert_eq!(content_type, "text/calendar; charset=utf-8; method=REQUEST");
    let ics = read_ics(&text);
    assert_eq!(ics["events"][0]["uid"], format!("{paris}@maillage"));
    assert_eq!(ics["events"][0]["sequence"], 1);
    assert_eq!(ics["events"][0]["start"], 1_922_808_600_i64);
    // A new title alone is no significant change: no mail, same sequence.
    let before = outbox(&host, w.sid).await.len();
    claire
        .post_form(
            &format!("{BASE}/r/{paris}/modifier"),
            &[
                ("titre", "Réunion du groupe BPCO"),
                ("debut", "2030-12-06T18:30"),
                ("fuseau", "Europe/Paris"),
                ("duree", "90"),
                ("lieu", "Salle 2, 1er étage"),
            ],
        )
        .await;
    assert_eq!(outbox(&host, w.sid).await.len(), before);

    // The cancellation: METHOD:CANCEL, STATUS:CANCELLED, SEQUENCE 2, same UID.
    let (status, _, _) = claire
        .post_form(&format!("{BASE}/r/{paris}/annuler"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let mails = outbox(&host, w.sid).await;
    let cancelled = mails_to(&mails, "anne@a.test", "Réunion annulée");
    assert_eq!(cancelled.len(), 1);
    let (content_type, text) = attached_ics(cancelled[0]);
    assert_eq!(content_type, "text/calendar; charset=utf-8; method=CANCEL");
    let ics = read_ics(&text);
    assert_eq!(ics["method"], "CANCEL");
    assert_eq!(ics["events"][0]["uid"], format!("{paris}@maillage"));
    assert_eq!(ics["events"][0]["status"], "CANCELLED");
    assert_eq!(ics["events"][0]["sequence"], 2);
    let (status, _, _) = claire
        .post_form(&format!("{BASE}/r/{paris}/annuler"), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "cancelled once");

    // The download of one meeting.
    let (status, headers, text) = anne
        .get_with_headers(&format!("{BASE}/r/{}/invitation.ics", ids[1]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let ics = read_ics(&text);
    assert_eq!(ics["method"], "PUBLISH");
    assert_eq!(ics["events"][0]["tzid"], "America/Cayenne");

    // The personal feed: in « Mes réunions », and served at the secret URL.
    let (_, page) = anne.get(&format!("{BASE}/mes-reunions")).await;
    assert!(page.contains("« Mon compte »"), "{page}");
    let url = attribute_after(&page, "id=\"flux\"", "value").to_string();
    assert!(url.starts_with("http") && url.contains("/flux/"), "{url}");
    let (status, headers, text) = anne.get_with_headers(&format!("{BASE}/flux")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/calendar; charset=utf-8");
    assert_folded(&text);
    let ics = read_ics(&text);
    assert_eq!(ics["method"], "PUBLISH");
    assert_eq!(ics["refresh"], "PT1H");
    assert_eq!(ics["ttl"], "PT1H");
    assert_eq!(ics["events"].as_array().unwrap().len(), 3);
    assert_eq!(ics["timezones"].as_array().unwrap().len(), 3);
    let paris_in_feed = ics["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uid"] == format!("{paris}@maillage"))
        .cloned()
        .unwrap();
    assert_eq!(paris_in_feed["status"], "CANCELLED");
    let path = &url[url.find("/flux/").unwrap()..];
    let mut calendar_client = Client::new(&host);
    let (status, text) = calendar_client.get(path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the secret URL, without a session: {text}"
    );
    assert_eq!(read_ics(&text)["events"].as_array().unwrap().len(), 3);
    let flipped = if path.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}", &path[..path.len() - 1]);
    let (status, _) = calendar_client.get(&forged).await;
    assert_ne!(status, StatusCode::OK, "a forged token reads nothing");
}

#[tokio::test]
async fn the_reminder_leaves_the_day_before_once_and_follows_changes() {
    let host = agenda_host().await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let now = now_secs();
    let id = bpco_meeting(&mut claire, &w, "Réunion à rappeler", now + 3 * 86_400).await;
    let other = bpco_meeting(&mut claire, &w, "Réunion annulée ensuite", now + 3 * 86_400).await;
    assert_eq!(
        maillage::timers::pending(&host.state.db, w.sid, "agenda")
            .await
            .unwrap(),
        2
    );
    anne.post_form(&format!("{BASE}/r/{id}/reponse"), &[("reponse", "absent")])
        .await;
    // Moved one day later: the reminder moves with it; the cancelled one has none.
    let new_start = to_minute(now + 4 * 86_400);
    let (status, _, body) = claire
        .post_form(
            &format!("{BASE}/r/{id}/modifier"),
            &[
                ("titre", "Réunion à rappeler"),
                ("debut", &cayenne(new_start)),
                ("fuseau", "America/Cayenne"),
                ("duree", "60"),
                ("lieu", "Salle du conseil, maison de santé"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    claire
        .post_form(&format!("{BASE}/r/{other}/annuler"), &[])
        .await;
    assert_eq!(
        maillage::timers::pending(&host.state.db, w.sid, "agenda")
            .await
            .unwrap(),
        1
    );
    // At the old reminder's time, nothing.
    let fired = maillage::timers::fire_due(&host.state.db, now + 2 * 86_400 + 3600)
        .await
        .unwrap();
    assert_eq!(fired, 0);
    // The day before the new date: one mail each, but to who said they would be absent.
    let fired = maillage::timers::fire_due(&host.state.db, new_start - 86_400 + 60)
        .await
        .unwrap();
    assert_eq!(fired, 1);
    maillage::events::dispatch(&host.state).await.unwrap();
    let mails = outbox(&host, w.sid).await;
    let reminders = mails_to(&mails, "remi@a.test", "Rappel : Réunion à rappeler");
    assert_eq!(reminders.len(), 1);
    let (content_type, text) = attached_ics(reminders[0]);
    assert_eq!(content_type, "text/calendar; charset=utf-8; method=REQUEST");
    assert_eq!(read_ics(&text)["events"][0]["sequence"], 1);
    assert_eq!(mails_to(&mails, "claire@a.test", "Rappel").len(), 1);
    assert!(
        mails_to(&mails, "anne@a.test", "Rappel").is_empty(),
        "Anne is absent"
    );
    // Delivered again (at least once): no second reminder.
    sqlx::query("UPDATE event_deliveries SET status = 'pending' WHERE plugin_id = 'agenda'")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    maillage::events::dispatch(&host.state).await.unwrap();
    let mails = outbox(&host, w.sid).await;
    assert_eq!(mails_to(&mails, "remi@a.test", "Rappel").len(), 1);
}

#[tokio::test]
async fn minutes_keep_their_history_and_the_thread_is_shared_code() {
    let host = agenda_host().await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut olga = signed_in(&host, "olga@a.test").await;
    let id = bpco_meeting(
        &mut claire,
        &w,
        "Réunion avec compte-rendu",
        now_secs() + 86_400,
    )
    .await;

    let (status, _, _) = anne
        .post_form(
            &format!("{BASE}/r/{id}/compte-rendu"),
            &[
                ("version", "0"),
                ("texte", "Présents : 5\nDécision : une réunion par mois\nTâche : Anne écrit aux pharmacies"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, body) = claire
        .post_form(
            &format!("{BASE}/r/{id}/compte-rendu"),
            &[("version", "0"), ("texte", "Version concurrente")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "written from an old version: {body}"
    );
    assert!(
        body.contains("Version concurrente"),
        "the text is kept: {body}"
    );
    let (status, _, _) = claire
        .post_form(
            &format!("{BASE}/r/{id}/compte-rendu"),
            &[
                ("version", "1"),
                ("texte", "Présents : 6\nDécision : une réunion par mois\nTâche : Anne écrit aux pharmacies"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = anne.get(&format!("{BASE}/r/{id}/compte-rendu")).await;
    assert!(
        page.contains("Version 2") && page.contains("Version 1"),
        "{page}"
    );
    let (_, old) = anne
        .get(&format!("{BASE}/r/{id}/compte-rendu?version=1"))
        .await;
    assert!(old.contains("Présents : 5"), "{old}");
    let (_, meeting) = anne.get(&format!("{BASE}/r/{id}")).await;
    assert!(
        meeting.contains("une réunion par mois") && meeting.contains("Anne écrit aux pharmacies")
    );
    let (status, _, _) = olga
        .post_form(
            &format!("{BASE}/r/{id}/compte-rendu"),
            &[("version", "2"), ("texte", "Olga n’est pas invitée")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The discussion: readers post; authors edit their own; managers may delete any.
    let (status, _, _) = anne
        .post_form(
            &format!("{BASE}/r/{id}/fil"),
            &[("texte", "Je <b>viendrai</b> en retard")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = olga
        .post_form(
            &format!("{BASE}/r/{id}/fil"),
            &[("texte", "Puis-je venir ?")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the group is open");
    let (status, _, _) = anne
        .post_form(&format!("{BASE}/r/{id}/fil"), &[("texte", "  ")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = anne.get(&format!("{BASE}/r/{id}")).await;
    assert!(
        page.contains("Je &lt;b&gt;viendrai&lt;/b&gt; en retard"),
        "escaped: {page}"
    );
    let first = attribute_after(&page, "class=\"thread-message\"", "id")
        .trim_start_matches("message-")
        .to_string();
    let (status, _, _) = olga
        .post_form(
            &format!("{BASE}/r/{id}/fil/{first}/modifier"),
            &[("texte", "piraté")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = anne
        .post_form(
            &format!("{BASE}/r/{id}/fil/{first}/modifier"),
            &[("texte", "Je viendrai à l’heure")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = claire.get(&format!("{BASE}/r/{id}")).await;
    assert!(page.contains("Je viendrai à l’heure") && page.contains("modifié"));
    let second = {
        let at = page.find("Puis-je venir ?").unwrap();
        let before = &page[..at];
        let start = before.rfind("id=\"message-").unwrap() + "id=\"message-".len();
        before[start..]
            .chars()
            .take_while(|c| *c != '"')
            .collect::<String>()
    };
    let (status, _, _) = claire
        .post_form(&format!("{BASE}/r/{id}/fil/{second}/supprimer"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the coordinator moderates");
    let (_, page) = anne.get(&format!("{BASE}/r/{id}")).await;
    assert!(!page.contains("Puis-je venir ?"));
}

#[tokio::test]
async fn bad_input_is_refused_with_nothing_stored_and_other_structures_see_nothing() {
    let host = agenda_host().await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let id = bpco_meeting(&mut claire, &w, "Réunion de A", now_secs() + 86_400).await;
    let before = count(&host, "c_agenda__meetings", w.sid).await;
    let base = [
        ("titre", "Réunion"),
        ("groupe", w.bpco.as_str()),
        ("debut", "2030-12-05T20:00"),
        ("fuseau", "Europe/Paris"),
        ("duree", "60"),
    ];
    let with = |name: &'static str, value: &'static str| {
        let mut fields: Vec<(&str, &str)> =
            base.iter().filter(|(n, _)| *n != name).cloned().collect();
        fields.push((name, value));
        fields
    };
    for (fields, why) in [
        (with("titre", ""), "no subject"),
        (with("fuseau", "Europe/Pariss"), "unknown zone"),
        (
            with("debut", "2031-03-30T02:30"),
            "a time skipped by the change of hour",
        ),
        (with("debut", "5 décembre"), "not a date"),
        (with("duree", "0"), "no duration"),
        (with("visio", "javascript:alert(1)"), "not a web address"),
        (with("membre", "999999"), "not a member of the structure"),
        (with("type", "fete"), "unknown kind"),
    ] {
        let (status, _, body) = claire.post_form(&format!("{BASE}/nouvelle"), &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {body}");
        assert!(body.contains("role=\"alert\""), "{why}");
    }
    // A member plans for their own group only, never for the whole structure.
    let (status, _, _) = anne
        .post_form(&format!("{BASE}/nouvelle"), &with("groupe", ""))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(count(&host, "c_agenda__meetings", w.sid).await, before);
    // Anne may plan for BPCO; a plain member cannot change someone else's meeting.
    let (status, _) = anne.get(&format!("{BASE}/r/{id}/modifier")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = anne.post_form(&format!("{BASE}/r/{id}/annuler"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let own = create(&mut anne, &base).await;
    assert!(!own.is_empty());

    // Another structure: its member gets 404 on A's pages, and A's ids mean nothing in B.
    for path in [
        format!("{BASE}/r/{id}"),
        format!("{BASE}/"),
        format!("{BASE}/r/{id}/invitation.ics"),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in [
        format!("/cpts-b/agenda/r/{id}"),
        format!("/cpts-b/agenda/r/{id}/invitation.ics"),
        format!("/cpts-b/agenda/r/{id}/emargement"),
        format!("/cpts-b/agenda/r/{id}/qr"),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _, _) = bob
        .post_form(
            &format!("/cpts-b/agenda/r/{id}/reponse"),
            &[("reponse", "present")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = bob
        .post_form(&format!("/cpts-b/agenda/r/{id}/cloturer"), &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bob.get("/cpts-b/agenda/r/..%2F..%2Fx").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, feed) = bob.get("/cpts-b/agenda/flux").await;
    assert!(!feed.contains(&id), "B's feed holds nothing of A");
}

/// The coordinator's journey in real Chromium, at desktop and phone widths: create a
/// meeting that has just started, answer, sign, open the sheet and close the attendance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_creates_answers_signs_and_closes_in_chromium_on_desktop_and_phone() {
    use crate::webdriver::Chromedriver;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let host = agenda_host().await;
    let w = world(&host, &["agenda"]).await;
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));
    let started = cayenne(now_secs() - 5 * 60);

    let url = base.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let b = driver.browser();
        b.goto(&format!("{url}/connexion"));
        b.find("#identifiant").send_keys("claire@a.test");
        b.find("#mot_de_passe").send_keys(PASSWORD);
        b.find("main form button[type=submit]").click();
        b.wait_for_text("Bonjour Claire Coordinatrice");
        let mut problems: Vec<String> = Vec::new();
        let mut check = |b: &crate::webdriver::Browser, what: &str, width: u32| {
            let errors = b.console_errors();
            if !errors.is_empty() {
                problems.push(format!("{what} at {width} px: {errors:?}"));
            }
            let fits = b.execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            );
            if fits != serde_json::Value::Bool(true) {
                problems.push(format!("{what} scrolls sideways at {width} px"));
            }
        };
        for width in [1280u32, 390] {
            b.set_window_size(width, 900);
            b.goto(&format!("{url}/cpts-a/agenda/"));
            b.wait_for_text("Réunions");
            check(&b, "the list", width);
            b.find("main a.button[href$='/nouvelle']").click();
            b.wait_for_text("Nouvelle réunion");
            check(&b, "the form", width);
            let title = format!("Réunion vue à {width} px");
            b.find("#titre").send_keys(&title);
            b.execute(
                "document.getElementById('debut').value = arguments[0];\
                 document.getElementById('fuseau').value = 'America/Cayenne';",
                vec![serde_json::Value::String(started.clone())],
            );
            b.find("#lieu").send_keys("Salle du conseil");
            b.find("form.meeting-form button[type=submit]").click();
            b.wait_for_text("La réunion est créée");
            check(&b, "the meeting", width);
            b.find("input[name=reponse][value=present]").click();
            b.find("form[action$='/reponse'] button[type=submit]")
                .click();
            b.wait_for_text("Votre réponse est enregistrée.");
            b.find("form[action$='/signer'] button").click();
            b.wait_for_text("Votre présence est enregistrée.");
            b.wait_for_text("Vous avez signé à");
            b.find("a[href$='/emargement']").click();
            b.wait_for_text("Feuille d’émargement");
            check(&b, "the sheet", width);
            // The shell asks to confirm the closing; the test answers yes.
            b.execute("window.confirm = function () { return true; };", vec![]);
            b.find("form[action$='/cloturer'] button").click();
            b.wait_for_text("L’émargement est clos");
            check(&b, "the closed meeting", width);
            b.goto(&format!("{url}/cpts-a/agenda/mois"));
            b.wait_for_text("Mois suivant");
            check(&b, "the month", width);
            b.goto(&format!("{url}/cpts-a/agenda/mes-reunions"));
            b.wait_for_text(&title);
            check(&b, "my meetings", width);
        }
        drop(b);
        drop(driver);
        problems
    })
    .await
    .unwrap();
    server.abort();
    assert!(outcome.is_empty(), "{outcome:?}");
    let events = closed_events(&host, w.sid).await;
    assert_eq!(events.len(), 2, "one closing per journey");
    for event in &events {
        let attendees = event["attendees"].as_array().unwrap();
        assert_eq!(attendees.len(), 1, "{event}");
        assert_eq!(attendees[0]["account"], w.coord.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_agenda_smoke() {
    // Tiny sizes: the benchmark checks its own results (one event per closing, with
    // every attendee, role and duration; every meeting in the feed); timings are
    // printed, never asserted.
    maillage::bench::agenda(3, 5, 2, None)
        .await
        .expect("the agenda benchmark runs and finds every event and meeting");
}

/// External guests typed by the organiser get the invitation and the cancellation, each
/// their own mail with the `.ics`, when the structure granted "mail-external"; without
/// the grant they get nothing and the members still get theirs.
#[tokio::test]
async fn external_guests_are_mailed_only_when_the_structure_allows_it() {
    let host = Host::with_config(|c| c.plugin_deadline_ms = 5000).await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = Client::new(&host);
    claire.login("claire@a.test", PASSWORD).await;
    let start = crate::support::local_in(9, 18, 0, "Europe/Paris");
    let create = |title: &'static str| {
        vec![
            ("titre", title.to_string()),
            ("groupe", w.bpco.clone()),
            ("debut", start.clone()),
            ("fuseau", "Europe/Paris".to_string()),
            ("duree", "60".to_string()),
            (
                "externes",
                "Paul Externe <paul@externe.example>".to_string(),
            ),
        ]
    };
    let pairs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    let fields = pairs(&create("Avec un invité"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, body) = claire
        .post_form(&format!("{BASE}/nouvelle"), &borrowed)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let outbox = host.state.db.outbox(Some(w.sid), 100).await.unwrap();
    let to_guest: Vec<_> = outbox
        .iter()
        .filter(|m| m.to == "paul@externe.example")
        .collect();
    assert_eq!(to_guest.len(), 1, "the guest gets one invitation");
    assert!(
        to_guest[0]
            .stored_attachments()
            .iter()
            .any(|a| a.content_type.contains("method=REQUEST")),
        "with the .ics"
    );
    let meeting = location.unwrap();
    let meeting = meeting.split('?').next().unwrap().to_string();
    claire.post_form(&format!("{meeting}/annuler"), &[]).await;
    let outbox = host.state.db.outbox(Some(w.sid), 100).await.unwrap();
    assert!(
        outbox.iter().any(|m| m.to == "paul@externe.example"
            && m.stored_attachments()
                .iter()
                .any(|a| a.content_type.contains("CANCEL"))),
        "and the cancellation"
    );

    // Without the grant: the members get theirs, the guest nothing.
    let plugin = host.state.registry.get("agenda", "0.1.0").await.unwrap();
    let granted: Vec<String> = plugin
        .manifest()
        .capabilities
        .iter()
        .map(|c| c.to_string())
        .filter(|c| c != "mail-external")
        .collect();
    host.state
        .db
        .enable_module(w.sid, "agenda", "0.1.0", &granted)
        .await
        .unwrap();
    let before = host.state.db.outbox(Some(w.sid), 200).await.unwrap().len();
    let fields = pairs(&create("Sans l’autorisation"));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = claire
        .post_form(&format!("{BASE}/nouvelle"), &borrowed)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let outbox = host.state.db.outbox(Some(w.sid), 200).await.unwrap();
    let new: Vec<_> = outbox.iter().take(outbox.len() - before).collect();
    assert!(!new.is_empty(), "the members were mailed");
    assert!(
        new.iter().all(|m| m.to != "paul@externe.example"),
        "no mail to the guest without the grant"
    );
}

// Republishing `meeting.saved` for a module enabled later.

/// The last event of the structure's outbox (0 when none).
async fn last_event(host: &Host, sid: i64) -> i64 {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM event_outbox WHERE structure_id = $1")
            .bind(sid)
            .fetch_one(host.state.db.pool())
            .await
            .unwrap();
    id.unwrap_or(0)
}

/// The structure's `meeting.saved` events after event `after`: (key, payload).
async fn saved_since(host: &Host, sid: i64, after: i64) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT idempotency_key, payload FROM event_outbox
         WHERE structure_id = $1 AND topic = 'meeting.saved' AND id > $2 ORDER BY id",
    )
    .bind(sid)
    .bind(after)
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(key, payload)| (key, serde_json::from_str(&payload).unwrap()))
        .collect()
}

/// Runs the dispatcher until every `meeting.saved` of the structure after event `after`
/// reached the projects module (`projets`).
async fn deliver_to_projects(host: &Host, sid: i64, after: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        maillage::events::dispatch(&host.state)
            .await
            .expect("a dispatch round");
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT e.id, d.status, d.last_error FROM event_outbox e
             LEFT JOIN event_deliveries d ON d.event_id = e.id AND d.plugin_id = 'projets'
             WHERE e.structure_id = $1 AND e.topic = 'meeting.saved' AND e.id > $2
             ORDER BY e.id",
        )
        .bind(sid)
        .bind(after)
        .fetch_all(host.state.db.pool())
        .await
        .unwrap();
        assert!(!rows.is_empty(), "nothing was republished");
        if let Some((id, _, _)) = rows.iter().find(|r| r.1.is_none()) {
            panic!("event {id} (meeting.saved) was not given to the projects module");
        }
        if rows.iter().all(|r| r.1.as_deref() == Some("delivered")) {
            return;
        }
        if let Some((id, status, Some(error))) = rows
            .iter()
            .find(|r| r.1.as_deref() != Some("delivered") && r.2.is_some())
        {
            panic!("the projects module did not take event {id} ({status:?}): {error}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "meeting.saved undelivered: {rows:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Meetings saved before the projects module was enabled never reached it; a
/// coordinator's « Republier les réunions aux autres modules » gives it every meeting
/// of a group (past, future, cancelled as cancelled; none of the whole structure), each
/// payload what the last save published but `saved_at`, one copy each however often it
/// is pressed or delivered; members get 403 and publish nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republishing_gives_a_module_enabled_later_every_groups_meeting_once() {
    let host = Host::with_config(|c| {
        c.plugin_deadline_ms = 10_000;
        c.plugin_memory_mib = 64;
    })
    .await;
    let w = world(&host, &["agenda"]).await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let now = to_minute(now_secs());
    let future = bpco_meeting(&mut claire, &w, "Comité BPCO", now + 7 * 86_400).await;
    let past = bpco_meeting(&mut claire, &w, "Bilan BPCO", now - 7 * 86_400).await;
    let cancelled = bpco_meeting(&mut claire, &w, "Atelier BPCO", now + 14 * 86_400).await;
    let (status, _, body) = claire
        .post_form(&format!("{BASE}/r/{cancelled}/annuler"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let everyone = create(
        &mut claire,
        &[
            ("titre", "Assemblée générale"),
            ("groupe", ""),
            ("debut", &cayenne(now + 5 * 86_400)),
            ("fuseau", "America/Cayenne"),
            ("duree", "60"),
        ],
    )
    .await;
    // Fanned out while no module subscribes: nobody receives them, ever.
    maillage::events::dispatch(&host.state)
        .await
        .expect("a dispatch round");
    let originals = saved_since(&host, w.sid, 0).await;
    assert_eq!(
        originals.len(),
        4,
        "three saves and a cancellation: {originals:?}"
    );

    // The projects module, enabled now, and a project for the group: no meeting.
    let plugin = host
        .state
        .registry
        .install(&crate::support::wasm("projects"))
        .await
        .expect("install");
    let m = plugin.manifest();
    let granted: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
    host.state
        .db
        .enable_module(w.sid, &m.id, &m.version.to_string(), &granted)
        .await
        .unwrap();
    let (status, _, body) =
        crate::projects::create_project(&mut claire, &w.bpco, "1.2", "1", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "project: {body}");
    assert!(
        crate::projects::listed_meetings(&mut claire, &w.bpco)
            .await
            .is_empty(),
        "nothing reached the projects module yet"
    );

    // A member sees no button and is refused; nothing is published.
    let action = format!("action=\"{BASE}/republier\"");
    let (status, list) = anne.get(&format!("{BASE}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.contains(&action), "no button for a member");
    let before = last_event(&host, w.sid).await;
    let (status, _, body) = anne.post_form(&format!("{BASE}/republier"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Seuls les coordinateurs"), "{body}");
    assert_eq!(last_event(&host, w.sid).await, before, "nothing published");

    // The coordinator republishes: one event per meeting of a group, as last saved.
    let (status, list) = claire.get(&format!("{BASE}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&action), "the coordinator's button");
    assert!(list.contains("Republier les réunions aux autres modules"));
    let expected = vec![
        (future.clone(), false),
        (cancelled.clone(), true),
        (past.clone(), false),
    ];
    for round in 1..=2 {
        let before = last_event(&host, w.sid).await;
        let (status, location, body) = claire.post_form(&format!("{BASE}/republier"), &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "round {round}: {body}");
        let location = location.expect("back to the list");
        assert_eq!(
            location,
            format!("{BASE}/?ok=republie&n=3"),
            "round {round}"
        );
        let (status, list) = claire.get(&location).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            list.contains("3 réunions republiées aux autres modules."),
            "round {round}: {list}"
        );
        let republished = saved_since(&host, w.sid, before).await;
        let mut ids: Vec<&str> = republished
            .iter()
            .map(|(_, p)| p["meeting"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let mut wanted = vec![future.as_str(), past.as_str(), cancelled.as_str()];
        wanted.sort_unstable();
        assert_eq!(ids, wanted, "round {round}: not {everyone}");
        for (_, payload) in &republished {
            let id = payload["meeting"].as_str().unwrap();
            let (_, last) = originals
                .iter()
                .rev()
                .find(|(_, p)| p["meeting"] == id)
                .expect("an original event");
            let strip = |p: &Value| {
                let mut p = p.clone();
                let saved_at = p
                    .as_object_mut()
                    .unwrap()
                    .remove("saved_at")
                    .and_then(|s| s.as_i64())
                    .expect("saved_at");
                (p, saved_at)
            };
            let (now_sent, saved_at) = strip(payload);
            let (then_sent, then_at) = strip(last);
            assert_eq!(now_sent, then_sent, "round {round}: {id}");
            assert!(saved_at >= then_at, "round {round}: {id}");
        }
        let cancellation = republished
            .iter()
            .find(|(_, p)| p["meeting"] == cancelled.as_str())
            .map(|(_, p)| p)
            .unwrap();
        assert_eq!(cancellation["status"], "annulee");
        assert_eq!(cancellation["sequence"], 1);
        assert_eq!(cancellation["group_id"], w.bpco.as_str());

        deliver_to_projects(&host, w.sid, before).await;
        assert_eq!(
            crate::projects::listed_meetings(&mut claire, &w.bpco).await,
            expected,
            "round {round}: each meeting once, upcoming then past"
        );
    }

    // The same event (same saved_at and sequence) delivered again: still one copy.
    let (key, payload) = saved_since(&host, w.sid, 0)
        .await
        .pop()
        .expect("a republished event");
    let again = maillage::storage::StoredEvent {
        idempotency_key: key,
        source: "agenda".into(),
        topic: "meeting.saved".into(),
        payload: payload.to_string(),
    };
    host.deliver_event(w.sid, "projets", again)
        .await
        .expect("no fault")
        .expect("accepted");
    assert_eq!(
        crate::projects::listed_meetings(&mut claire, &w.bpco).await,
        expected
    );

    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE structure_id = $1 AND action = 'agenda.reunions.republier'",
    )
    .bind(w.sid)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 2);
}
