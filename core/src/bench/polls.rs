//! `maillage bench polls`: a date poll at the size of a large CPTS (60 slots × 300
//! participants: 18,000 answers) through HTTP, a real TCP connection to the real
//! server, on SQLite and, given a URL, on PostgreSQL. Measures the results page (p50,
//! p95; target p95 < 30 ms) and its CSV export against `/healthz` on the same kept-alive
//! connection; then every participant answers a second poll at the same moment (one
//! task, one connection and one session each) and the export must hold exactly one
//! answer per participant, with the choices they sent. Timings are printed, never
//! asserted; a lost, duplicated or altered answer is an error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::Connection;
use super::{excerpt, met, ms, pct};

use crate::http::AppState;
use crate::tenancy::Role;

const SLUG: &str = "cpts-banc-sondages";
/// Connections answering the first poll (the seeding, not the measure).
const SEED_CONNECTIONS: usize = 8;
/// Attempts of an answer the server could not take (5xx) before giving up.
const MAX_RETRIES: usize = 10;
const CHOICES: [&str; 3] = ["oui", "si-besoin", "non"];

/// Runs the benchmark on SQLite, then on PostgreSQL when a URL is given (in a throwaway
/// schema). Tiny sizes (`polls(5, 3, 2, None)`) make a smoke run for the test suite.
pub async fn polls(
    participants: usize,
    slots: usize,
    rounds: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        (2..=60).contains(&slots),
        "a poll has 2 to 60 slots (asked for {slots})"
    );
    anyhow::ensure!(
        participants > 0 && rounds > 0,
        "participants and rounds must be positive"
    );
    let work = std::env::temp_dir().join(format!("maillage-bench-polls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    super::on_each_backend(&work, postgres_url, "polls", |_, name, state| async move {
        println!(
            "\n{name}: a poll of {slots} slots × {participants} participants ({} answers)",
            slots * participants
        );
        on_backend(&state, participants, slots, rounds).await
    })
    .await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

async fn on_backend(
    state: &AppState,
    participants: usize,
    slots: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let structure = super::bundled_structure(
        state,
        "polls",
        SLUG,
        "CPTS Banc d’essai des sondages",
        "Europe/Paris",
    )
    .await?;
    let db = &state.db;

    // The organiser and the members, with passwords (members are active, as real ones
    // are: the poll invites and mails them) and sessions.
    let started = Instant::now();
    let organiser = super::bench_account(
        db,
        structure.id,
        &format!("organisation@{SLUG}.test"),
        "Organisatrice du banc",
        Role::Coordinator,
    )
    .await?;
    db.set_password(organiser.id, "banc d’essai des sondages")
        .await?;
    let mut members = Vec::with_capacity(participants);
    for p in 0..participants {
        let account = super::bench_account(
            db,
            structure.id,
            &format!("membre-{p:04}@{SLUG}.test"),
            &participant_name(p),
            Role::Member,
        )
        .await?;
        members.push(account.id);
    }
    super::copy_password_hash(db, organiser.id, &format!("membre-%@{SLUG}.test")).await?;
    let organiser_cookie = super::session_cookie(state, organiser.id).await?;
    let mut cookies = Vec::with_capacity(participants);
    for id in &members {
        cookies.push(super::session_cookie(state, *id).await?);
    }
    println!(
        "{participants} members with their sessions created in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(crate::serve(state.clone(), listener));
    let outcome = measure(address, &organiser_cookie, &cookies, slots, rounds).await;
    server.abort();
    outcome
}

async fn measure(
    address: SocketAddr,
    organiser: &str,
    members: &[String],
    slots: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let participants = members.len();
    let mut client = Connection::open(address).await?;

    // 1. A poll every participant answers, a few connections at a time.
    let (poll, slot_ids) = create_poll(
        &mut client,
        organiser,
        "Banc d’essai : réunion plénière",
        slots,
    )
    .await?;
    let started = Instant::now();
    let ids = Arc::new(slot_ids);
    let mut tasks = Vec::new();
    for worker in 0..SEED_CONNECTIONS.min(participants) {
        let mine: Vec<(usize, String)> = members
            .iter()
            .cloned()
            .enumerate()
            .skip(worker)
            .step_by(SEED_CONNECTIONS)
            .collect();
        let (ids, path) = (ids.clone(), format!("{poll}/answer"));
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(address).await?;
            for (p, cookie) in mine {
                let fields = answer_fields(&ids, |s| seed_choice(p, s), &seed_comment(p));
                let reply = connection.post(&path, &cookie, &fields).await?;
                anyhow::ensure!(
                    reply.status == 303,
                    "the answer of participant {p} was refused ({}): {}",
                    reply.status,
                    excerpt(&reply.body)
                );
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let seeding = started.elapsed();
    println!(
        "seeding: {} answers ({participants} × {slots}) over HTTP in {:.1} s, {SEED_CONNECTIONS} connections ({:.0} answers/s)",
        participants * slots,
        seeding.as_secs_f64(),
        participants as f64 / seeding.as_secs_f64().max(1e-9)
    );

    // 2. The results page and the export, each followed by /healthz on the same
    // connection (the floor: session, routing, one round trip).
    let export = format!("{poll}/export.csv");
    let first = client.get(&poll, organiser).await?;
    anyhow::ensure!(
        first.status == 200 && first.body.contains(&participant_name(participants - 1)),
        "the results page does not list the participants ({}): {}",
        first.status,
        excerpt(&first.body)
    );
    let size = first.body.len();
    let csv = client.get(&export, organiser).await?;
    anyhow::ensure!(csv.status == 200, "the export answered {}", csv.status);
    verify(&csv.body, slots, participants, seed_choice, seed_comment)?;
    // Warm-up.
    for _ in 0..3 {
        client.get(&poll, organiser).await?;
        client.get("/healthz", organiser).await?;
    }
    let (mut page, mut exports, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        let reply = client.get(&poll, organiser).await?;
        page.push(t.elapsed());
        anyhow::ensure!(
            reply.status == 200,
            "the results page answered {}",
            reply.status
        );
        let t = Instant::now();
        let reply = client.get(&export, organiser).await?;
        exports.push(t.elapsed());
        anyhow::ensure!(reply.status == 200, "the export answered {}", reply.status);
        let t = Instant::now();
        client.get("/healthz", organiser).await?;
        floor.push(t.elapsed());
    }
    for times in [&mut page, &mut exports, &mut floor] {
        times.sort();
    }
    let p95 = pct(&page, 0.95);
    println!(
        "results page over HTTP ({rounds} requests, {} KB): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; target p95 < 30 ms: {}",
        size / 1024,
        ms(pct(&page, 0.50)),
        ms(p95),
        ms(*page.last().unwrap_or(&Duration::ZERO)),
        met(p95 < Duration::from_millis(30)),
    );
    println!(
        "CSV export over HTTP: p50 {:.2} ms, p95 {:.2} ms",
        ms(pct(&exports, 0.50)),
        ms(pct(&exports, 0.95)),
    );
    let healthz = ms(pct(&floor, 0.50)).max(1e-9);
    println!(
        "baseline /healthz on the same connection: p50 {:.3} ms (results page p50 = {:.0}x, export p50 = {:.0}x)",
        ms(pct(&floor, 0.50)),
        ms(pct(&page, 0.50)) / healthz,
        ms(pct(&exports, 0.50)) / healthz,
    );

    // 3. Everyone answers a second poll at the same moment, each on a connection and a
    // session of their own; answers the server could not take (5xx) are sent again.
    let (rush, rush_ids) = create_poll(
        &mut client,
        organiser,
        "Banc d’essai : tout le monde répond en même temps",
        slots,
    )
    .await?;
    let ids = Arc::new(rush_ids);
    let barrier = Arc::new(tokio::sync::Barrier::new(participants));
    let mut tasks = Vec::with_capacity(participants);
    for (p, cookie) in members.iter().cloned().enumerate() {
        let (ids, barrier, path) = (ids.clone(), barrier.clone(), format!("{rush}/answer"));
        tasks.push(tokio::spawn(async move {
            let fields = answer_fields(&ids, |s| rush_choice(p, s), &rush_comment(p));
            let connection = Connection::open(address).await;
            // Everyone waits here, connected or not, so that no task is left waiting.
            barrier.wait().await;
            let mut connection = connection?;
            let started = Instant::now();
            let mut retried = 0;
            loop {
                let failure = match connection.post(&path, &cookie, &fields).await {
                    Ok(reply) if reply.status == 303 => {
                        return Ok::<_, anyhow::Error>((started.elapsed(), retried));
                    }
                    Ok(reply) if reply.status < 500 => anyhow::bail!(
                        "the answer of participant {p} was refused ({}): {}",
                        reply.status,
                        excerpt(&reply.body)
                    ),
                    Ok(reply) => format!("{}: {}", reply.status, excerpt(&reply.body)),
                    Err(e) => e.to_string(),
                };
                anyhow::ensure!(
                    retried < MAX_RETRIES,
                    "the answer of participant {p} still fails after {MAX_RETRIES} retries: {failure}"
                );
                retried += 1;
                tokio::time::sleep(Duration::from_millis(20 * retried as u64)).await;
                connection = Connection::open(address).await?;
            }
        }));
    }
    let mut latencies = Vec::with_capacity(participants);
    let mut retried = 0;
    for task in tasks {
        let (latency, retries) = task.await??;
        latencies.push(latency);
        retried += retries;
    }
    latencies.sort();
    let wall = *latencies.last().unwrap_or(&Duration::ZERO);
    println!(
        "{participants} members answering at once: all acknowledged within {:.2} s ({:.0} answers/s); per answer p50 {:.1} ms, p95 {:.1} ms; {retried} attempts refused by the server and sent again",
        wall.as_secs_f64(),
        participants as f64 / wall.as_secs_f64().max(1e-9),
        ms(pct(&latencies, 0.50)),
        ms(pct(&latencies, 0.95)),
    );
    let csv = client.get(&format!("{rush}/export.csv"), organiser).await?;
    anyhow::ensure!(csv.status == 200, "the export answered {}", csv.status);
    verify(&csv.body, slots, participants, rush_choice, rush_comment)?;
    println!(
        "check: exactly {participants} answers kept, one per participant, each with the choices sent"
    );
    Ok(())
}

fn participant_name(p: usize) -> String {
    format!("Membre du banc {p:04}")
}

fn participant_of(name: &str) -> Option<usize> {
    name.strip_prefix("Membre du banc ")?.parse().ok()
}

fn seed_choice(p: usize, s: usize) -> &'static str {
    CHOICES[(p + 2 * s + p / 7) % 3]
}

fn rush_choice(p: usize, s: usize) -> &'static str {
    CHOICES[(5 * p + s + s / 4) % 3]
}

fn seed_comment(p: usize) -> String {
    format!("Disponibilités de {}", participant_name(p))
}

fn rush_comment(p: usize) -> String {
    format!("Réponse simultanée n° {p}")
}

/// How the export writes a choice.
fn label(code: &str) -> &'static str {
    match code {
        "oui" => "Oui",
        "si-besoin" => "Si besoin",
        _ => "Non",
    }
}

fn answer_fields(
    slot_ids: &[String],
    choice: impl Fn(usize) -> &'static str,
    comment: &str,
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = slot_ids
        .iter()
        .enumerate()
        .map(|(s, id)| (format!("c-{id}"), choice(s).to_string()))
        .collect();
    fields.push(("comment".to_string(), comment.to_string()));
    fields
}

/// Creates a poll of `slots` slots (three a day from 40 days on, deadline in 30 days)
/// as the organiser; returns its path and its slot ids in order.
async fn create_poll(
    client: &mut Connection,
    organiser: &str,
    title: &str,
    slots: usize,
) -> anyhow::Result<(String, Vec<String>)> {
    let now = crate::storage::now_secs();
    // Typed as Paris time in winter; in summer the deadline is an hour earlier than
    // written, still a month away.
    let deadline = now + 30 * 86_400 + 3600;
    let first_day = (now + 40 * 86_400).div_euclid(86_400);
    let mut fields = vec![
        ("title".to_string(), title.to_string()),
        (
            "deadline".to_string(),
            format!(
                "{}T{:02}:00",
                civil_date(deadline.div_euclid(86_400)),
                deadline.rem_euclid(86_400) / 3600
            ),
        ),
        (
            "description".to_string(),
            "Choisissons ensemble la date de la prochaine réunion.".to_string(),
        ),
    ];
    for i in 0..slots {
        let hour = [9, 14, 18][i % 3];
        fields.push((
            "slot".to_string(),
            format!("{}T{hour:02}:00", civil_date(first_day + (i / 3) as i64)),
        ));
    }
    let reply = client
        .post(&format!("/{SLUG}/polls/new"), organiser, &fields)
        .await?;
    anyhow::ensure!(
        reply.status == 303,
        "creating the poll answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    let poll = reply
        .location
        .ok_or_else(|| anyhow::anyhow!("no Location after creating the poll"))?;
    let page = client.get(&poll, organiser).await?;
    anyhow::ensure!(page.status == 200, "the poll page answered {}", page.status);
    let ids = slot_ids(&page.body);
    anyhow::ensure!(
        ids.len() == slots,
        "the poll page offers {} slots to answer, {slots} were created",
        ids.len()
    );
    Ok((poll, ids))
}

/// The slot ids of the answer form (`name="c-{id}"`), in order.
fn slot_ids(page: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for piece in page.split("name=\"c-").skip(1) {
        if let Some(end) = piece.find('"') {
            let id = piece[..end].to_string();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// "YYYY-MM-DD" of a day number (days since 1970-01-01).
fn civil_date(days: i64) -> String {
    jiff::Timestamp::from_second(days * 86_400)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .to_string()
        })
        .unwrap_or_default()
}

/// The export holds one row per participant (rows without any choice, if the module
/// lists invitees who did not answer, are left aside), each with the choices and the
/// comment that participant sent.
fn verify(
    csv: &str,
    slots: usize,
    participants: usize,
    choice: fn(usize, usize) -> &'static str,
    comment: fn(usize) -> String,
) -> anyhow::Result<()> {
    let rows = parse_csv(csv);
    let (header, rows) = rows
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("the export is empty"))?;
    anyhow::ensure!(
        header.len() > slots,
        "the export has {} columns for {slots} slots",
        header.len()
    );
    let mut seen = vec![false; participants];
    let mut answers = 0;
    for row in rows {
        if row.iter().skip(1).take(slots).all(String::is_empty) {
            continue;
        }
        answers += 1;
        let name = row.first().map(String::as_str).unwrap_or_default();
        let p = participant_of(name)
            .filter(|p| *p < participants)
            .ok_or_else(|| anyhow::anyhow!("an answer from an unknown participant {name:?}"))?;
        anyhow::ensure!(!seen[p], "{name} has two answers");
        seen[p] = true;
        for s in 0..slots {
            let cell = row.get(s + 1).map(String::as_str).unwrap_or_default();
            let sent = label(choice(p, s));
            anyhow::ensure!(
                cell == sent,
                "{name}: slot {} reads {cell:?}, {sent:?} was sent",
                s + 1
            );
        }
        let comment = comment(p);
        anyhow::ensure!(
            row.iter().skip(slots + 1).any(|c| *c == comment),
            "{name}: the comment {comment:?} was lost"
        );
    }
    let lost = seen.iter().filter(|s| !**s).count();
    anyhow::ensure!(
        answers == participants && lost == 0,
        "{answers} answers in the export for {participants} participants ({lost} lost)"
    );
    Ok(())
}

/// Rows of a `;`-separated CSV (BOM removed, quotes undone), empty lines left out.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if cell.is_empty() => quoted = true,
            ';' if !quoted => row.push(std::mem::take(&mut cell)),
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' if !quoted => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            _ => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows.retain(|r: &Vec<String>| r.iter().any(|c| !c.is_empty()));
    rows
}
