//! `maillage bench agenda`: the meetings module at the size of a large CPTS, through
//! HTTP, a real TCP connection to the real server, on SQLite and, given a URL, on
//! PostgreSQL. Measures (a) closing the attendance of a meeting of 30 attendees (half
//! signed themselves in, the others recorded on the émargement sheet), from the POST
//! until its `meeting.attendance-closed` event is committed in the outbox, over
//! `rounds` meetings (target p95 < 50 ms); (b) the personal ICS feed of a member
//! invited to 500 meetings, read at its secret address without a session (p50, p95;
//! target p95 < 20 ms); both against `/healthz` on the same kept-alive connection.
//! Timings are printed, never asserted; a missing, duplicated or wrong event, or a
//! feed that does not list every meeting, is an error.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::client::Connection;
use super::{excerpt, local_input, met, ms, pct};

use crate::groups::GroupRole;
use crate::http::AppState;
use crate::tenancy::Role;

const SLUG: &str = "cpts-banc-reunions";
/// The module's pages in the benchmark structure.
const BASE: &str = "/cpts-banc-reunions/agenda";
const ZONE: &str = "Europe/Paris";
const CLOSED_TOPIC: &str = "meeting.attendance-closed";
/// Minutes planned for each meeting closed.
const DURATION: i64 = 180;
/// Minutes the coordinator records on the sheet for every third attendee it records.
const RECORDED: i64 = 75;
/// Meetings closed before the measure (warm-up); their events are checked too.
const WARMUP: usize = 2;
/// The most meetings the module lists in one member's feed.
const MAX_FEED: usize = 2000;

/// Runs the benchmark on SQLite, then on PostgreSQL when a URL is given (in a throwaway
/// schema). Tiny sizes (`agenda(3, 5, 2, None)`) make a smoke run for the test suite.
pub async fn agenda(
    attendees: usize,
    meetings: usize,
    rounds: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        attendees > 0 && rounds > 0,
        "attendees and rounds must be positive"
    );
    anyhow::ensure!(
        (1..=MAX_FEED).contains(&meetings),
        "a feed lists 1 to {MAX_FEED} meetings (asked for {meetings})"
    );
    let work = std::env::temp_dir().join(format!("maillage-bench-agenda-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    super::on_each_backend(&work, postgres_url, "agenda", |_, name, state| async move {
        println!(
            "\n{name}: closing meetings of {attendees} attendees; the feed of a member invited to {meetings} meetings"
        );
        on_backend(&state, attendees, meetings, rounds).await
    })
    .await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// The people of the benchmark, as the cookies of their sessions.
struct People {
    coordinator: String,
    /// Account id and cookie of each attendee, in order.
    attendees: Vec<(i64, String)>,
    /// The member whose feed is read: account id and cookie.
    subscriber: (i64, String),
}

async fn on_backend(
    state: &AppState,
    attendees: usize,
    meetings: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let structure = super::bundled_structure(
        state,
        "agenda",
        SLUG,
        "CPTS Banc d’essai des réunions",
        ZONE,
    )
    .await?;
    let db = &state.db;

    // The coordinator, the member whose feed is read, and the working group whose
    // meetings are closed: the coordinator made it (référente), the first attendee is a
    // second référent, the others are membres actifs. Everyone is active (a password),
    // as real members are.
    let started = Instant::now();
    let coordinator = super::bench_account(
        db,
        structure.id,
        &format!("coordination@{SLUG}.test"),
        "Coordinatrice du banc",
        Role::Coordinator,
    )
    .await?;
    db.set_password(coordinator.id, "banc d’essai des réunions")
        .await?;
    let subscriber = super::bench_account(
        db,
        structure.id,
        &format!("abonnee@{SLUG}.test"),
        "Abonnée du banc",
        Role::Member,
    )
    .await?;
    let group_id = db
        .create_group(
            structure.id,
            "Groupe de travail du banc",
            "",
            true,
            coordinator.id,
        )
        .await?;
    let group = db
        .group(structure.id, group_id, coordinator.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the group just created is missing"))?;
    let mut attendee_ids = Vec::with_capacity(attendees);
    for p in 0..attendees {
        let account = super::bench_account(
            db,
            structure.id,
            &format!("participant-{p:04}@{SLUG}.test"),
            &attendee_name(p),
            Role::Member,
        )
        .await?;
        let role = if p == 0 {
            GroupRole::Referent
        } else {
            GroupRole::Active
        };
        db.set_group_member(&group, account.id, role).await?;
        attendee_ids.push(account.id);
    }
    super::copy_password_hash(db, coordinator.id, &format!("%@{SLUG}.test")).await?;
    let mut attendee_cookies = Vec::with_capacity(attendees);
    for id in attendee_ids {
        attendee_cookies.push((id, super::session_cookie(state, id).await?));
    }
    let people = People {
        coordinator: super::session_cookie(state, coordinator.id).await?,
        attendees: attendee_cookies,
        subscriber: (
            subscriber.id,
            super::session_cookie(state, subscriber.id).await?,
        ),
    };
    println!(
        "{attendees} attendees in a working group, a coordinator and a subscriber, with their sessions, created in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(crate::serve(state.clone(), listener));
    let outcome = measure(
        state,
        address,
        structure.id,
        group_id,
        &people,
        meetings,
        rounds,
    )
    .await;
    server.abort();
    outcome
}

async fn measure(
    state: &AppState,
    address: SocketAddr,
    structure_id: i64,
    group_id: i64,
    people: &People,
    meetings: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let mut client = Connection::open(address).await?;
    let coordinator = people.coordinator.as_str();
    let attendees = people.attendees.len();
    let now = crate::storage::now_secs();

    // 1. Meetings of the group under way (started two hours ago: a change of hour in
    // between still leaves them started), each with every attendee present: half signed
    // themselves in with the button, the others recorded by the coordinator on the sheet.
    let started = Instant::now();
    let start = local_input(now - 2 * 3600, ZONE)?;
    let mut ready = Vec::with_capacity(rounds + WARMUP);
    for n in 0..rounds + WARMUP {
        let fields = vec![
            (
                "titre".to_string(),
                format!("Groupe de travail du banc, séance {}", n + 1),
            ),
            ("groupe".to_string(), group_id.to_string()),
            ("type".to_string(), "groupe-de-travail".to_string()),
            ("debut".to_string(), start.clone()),
            ("fuseau".to_string(), ZONE.to_string()),
            ("duree".to_string(), DURATION.to_string()),
            (
                "lieu".to_string(),
                "Maison de santé, salle de réunion".to_string(),
            ),
            (
                "ordre_du_jour".to_string(),
                "Point sur les parcours ; questions diverses.".to_string(),
            ),
            ("invites".to_string(), "groupe".to_string()),
        ];
        let id = create_meeting(&mut client, coordinator, &fields).await?;
        let mut sheet: Vec<(String, String)> = Vec::new();
        for (p, (account, cookie)) in people.attendees.iter().enumerate() {
            if signs_in(p) {
                let reply = client
                    .post(&format!("{BASE}/r/{id}/signer"), cookie, &[])
                    .await?;
                anyhow::ensure!(
                    reply.status == 303,
                    "{} could not sign in ({}): {}",
                    attendee_name(p),
                    reply.status,
                    excerpt(&reply.body)
                );
            } else {
                let key = format!("u{account}");
                sheet.push(("liste".to_string(), key.clone()));
                sheet.push(("present".to_string(), key.clone()));
                if p % 3 == 0 {
                    sheet.push((format!("duree-{key}"), RECORDED.to_string()));
                }
            }
        }
        if !sheet.is_empty() {
            let reply = client
                .post(&format!("{BASE}/r/{id}/emargement"), coordinator, &sheet)
                .await?;
            anyhow::ensure!(
                reply.status == 303,
                "the émargement sheet was refused ({}): {}",
                reply.status,
                excerpt(&reply.body)
            );
        }
        ready.push(id);
    }
    println!(
        "{} meetings of {attendees} present attendees prepared over HTTP in {:.1} s",
        ready.len(),
        started.elapsed().as_secs_f64()
    );

    // 2. Closing each, timed from the POST to its answer (the event is committed in the
    // closing's transaction, before the answer), then checked in the outbox at once;
    // each followed by /healthz on the same connection (the floor: session, routing,
    // one round trip).
    let (mut closings, mut floor) = (Vec::new(), Vec::new());
    for (n, id) in ready.iter().enumerate() {
        let t = Instant::now();
        let reply = client
            .post(&format!("{BASE}/r/{id}/cloturer"), coordinator, &[])
            .await?;
        let took = t.elapsed();
        anyhow::ensure!(
            reply.status == 303,
            "closing meeting {id} answered {}: {}",
            reply.status,
            excerpt(&reply.body)
        );
        check_event(state, structure_id, id, &people.attendees).await?;
        let t = Instant::now();
        client.get("/healthz", coordinator).await?;
        let base = t.elapsed();
        if n >= WARMUP {
            closings.push(took);
            floor.push(base);
        }
    }
    closings.sort();
    floor.sort();
    let p95 = pct(&closings, 0.95);
    println!(
        "closing the attendance of a meeting of {attendees} attendees until its event is committed ({rounds} meetings): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; target p95 < 50 ms: {}",
        ms(pct(&closings, 0.50)),
        ms(p95),
        ms(*closings.last().unwrap_or(&Duration::ZERO)),
        met(p95 < Duration::from_millis(50)),
    );
    let healthz = ms(pct(&floor, 0.50)).max(1e-9);
    println!(
        "baseline /healthz on the same connection: p50 {:.3} ms (closing p50 = {:.0}x)",
        ms(pct(&floor, 0.50)),
        ms(pct(&closings, 0.50)) / healthz,
    );
    println!(
        "check: exactly one {CLOSED_TOPIC} event per closing in the outbox right after its answer, with every attendee, role and duration"
    );

    // 3. The subscriber is invited to `meetings` meetings of the whole structure, one a
    // day around today (every tenth in Cayenne, every third with a video link).
    let (subscriber, subscriber_cookie) = (people.subscriber.0, people.subscriber.1.as_str());
    let started = Instant::now();
    let half = (meetings / 2) as i64;
    for i in 0..meetings {
        let zone = if i % 10 == 9 { "America/Cayenne" } else { ZONE };
        let at = now + (i as i64 - half) * 86_400 + 3600;
        let mut fields = vec![
            ("titre".to_string(), format!("Réunion du banc n° {}", i + 1)),
            ("groupe".to_string(), String::new()),
            ("type".to_string(), "pleniere".to_string()),
            ("debut".to_string(), local_input(at, zone)?),
            ("fuseau".to_string(), zone.to_string()),
            ("duree".to_string(), "60".to_string()),
            (
                "lieu".to_string(),
                "Maison de santé, salle de réunion".to_string(),
            ),
            (
                "ordre_du_jour".to_string(),
                "Point sur les missions de la CPTS ; questions diverses.".to_string(),
            ),
            ("invites".to_string(), "choisis".to_string()),
            ("membre".to_string(), subscriber.to_string()),
        ];
        if i % 3 == 0 {
            fields.push((
                "visio".to_string(),
                format!("https://visio.exemple.fr/banc-{i}"),
            ));
        }
        create_meeting(&mut client, coordinator, &fields).await?;
    }
    let seeding = started.elapsed();
    println!(
        "{meetings} meetings for the subscriber created over HTTP in {:.1} s ({:.0} meetings/s)",
        seeding.as_secs_f64(),
        meetings as f64 / seeding.as_secs_f64().max(1e-9)
    );

    // 4. The feed's secret address, from « Mes réunions », read without a session as a
    // calendar client does, against /healthz without a session.
    let page = client
        .get(&format!("{BASE}/mes-reunions"), subscriber_cookie)
        .await?;
    anyhow::ensure!(
        page.status == 200,
        "« Mes réunions » answered {}: {}",
        page.status,
        excerpt(&page.body)
    );
    let feed = feed_path(&page.body)
        .ok_or_else(|| anyhow::anyhow!("« Mes réunions » shows no feed address (input#flux)"))?;
    let first = client.get(&feed, "").await?;
    anyhow::ensure!(
        first.status == 200,
        "the feed answered {}: {}",
        first.status,
        excerpt(&first.body)
    );
    let listed = first.body.matches("BEGIN:VEVENT").count();
    anyhow::ensure!(
        first.body.contains("METHOD:PUBLISH") && listed == meetings,
        "the feed lists {listed} meetings, {meetings} expected: {}",
        excerpt(&first.body)
    );
    let size = first.body.len();
    // Warm-up.
    for _ in 0..3 {
        client.get(&feed, "").await?;
        client.get("/healthz", "").await?;
    }
    let (mut reads, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        let reply = client.get(&feed, "").await?;
        reads.push(t.elapsed());
        anyhow::ensure!(reply.status == 200, "the feed answered {}", reply.status);
        let t = Instant::now();
        client.get("/healthz", "").await?;
        floor.push(t.elapsed());
    }
    reads.sort();
    floor.sort();
    let p95 = pct(&reads, 0.95);
    println!(
        "personal feed of a member invited to {meetings} meetings over HTTP ({rounds} requests, {} KB): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; target p95 < 20 ms: {}",
        size / 1024,
        ms(pct(&reads, 0.50)),
        ms(p95),
        ms(*reads.last().unwrap_or(&Duration::ZERO)),
        met(p95 < Duration::from_millis(20)),
    );
    let healthz = ms(pct(&floor, 0.50)).max(1e-9);
    println!(
        "baseline /healthz on the same connection, without a session: p50 {:.3} ms (feed p50 = {:.0}x)",
        ms(pct(&floor, 0.50)),
        ms(pct(&reads, 0.50)) / healthz,
    );
    println!("check: the feed lists every one of the {meetings} meetings");
    Ok(())
}

/// The closing of `meeting` left exactly one `meeting.attendance-closed` event in the
/// outbox, revision 1, listing every attendee with their group role and duration.
async fn check_event(
    state: &AppState,
    structure_id: i64,
    meeting: &str,
    attendees: &[(i64, String)],
) -> anyhow::Result<()> {
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM event_outbox WHERE structure_id = $1 AND topic = $2 AND payload LIKE $3",
    )
    .bind(structure_id)
    .bind(CLOSED_TOPIC)
    .bind(format!("%{meeting}%"))
    .fetch_all(state.db.pool())
    .await?;
    anyhow::ensure!(
        payloads.len() == 1,
        "meeting {meeting}: {} {CLOSED_TOPIC} events in the outbox right after the closing, one expected",
        payloads.len()
    );
    let event: serde_json::Value = serde_json::from_str(&payloads[0])?;
    anyhow::ensure!(
        event["meeting"] == meeting && event["revision"] == 1,
        "meeting {meeting}: the event is about meeting {}, revision {}",
        event["meeting"],
        event["revision"]
    );
    let lines = event["attendees"].as_array().cloned().unwrap_or_default();
    anyhow::ensure!(
        lines.len() == attendees.len(),
        "meeting {meeting}: {} attendees in the event, {} were present",
        lines.len(),
        attendees.len()
    );
    for (p, (account, _)) in attendees.iter().enumerate() {
        let account = account.to_string();
        let line = lines
            .iter()
            .find(|line| line["account"] == account.as_str())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "meeting {meeting}: {} is missing from the event",
                    attendee_name(p)
                )
            })?;
        let role = if p == 0 { "referent" } else { "active" };
        let minutes = expected_minutes(p);
        anyhow::ensure!(
            line["role"] == role && line["minutes"] == minutes,
            "meeting {meeting}: {} is listed as {} for {} minutes; {role} for {minutes} expected",
            attendee_name(p),
            line["role"],
            line["minutes"]
        );
    }
    Ok(())
}

/// Creates a meeting through the form as `organiser`; returns its id.
async fn create_meeting(
    client: &mut Connection,
    organiser: &str,
    fields: &[(String, String)],
) -> anyhow::Result<String> {
    let reply = client
        .post(&format!("{BASE}/nouvelle"), organiser, fields)
        .await?;
    anyhow::ensure!(
        reply.status == 303,
        "creating a meeting answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    let location = reply.location.unwrap_or_default();
    let id = location
        .split("/r/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    id.ok_or_else(|| anyhow::anyhow!("no meeting in the Location {location:?} after creating one"))
}

/// The path of the feed's secret address shown in « Mes réunions » (`input#flux`).
fn feed_path(page: &str) -> Option<String> {
    let rest = &page[page.find("id=\"flux\"")?..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let end = start + rest[start..].find('"')?;
    let url = &rest[start..end];
    let at = url.find("/flux/")?;
    Some(url[at..].to_string())
}

fn attendee_name(p: usize) -> String {
    format!("Participant du banc {p:04}")
}

/// Half the attendees sign themselves in; the coordinator records the others.
fn signs_in(p: usize) -> bool {
    p.is_multiple_of(2)
}

/// The duration the event gives an attendee: the one recorded on the sheet, else the
/// meeting's planned duration.
fn expected_minutes(p: usize) -> i64 {
    if !signs_in(p) && p.is_multiple_of(3) {
        RECORDED
    } else {
        DURATION
    }
}
