//! `maillage bench indemnity`: the indemnities module (`indemnites`) with the meetings
//! module that feeds it, through HTTP, a real TCP connection to the host's router, on
//! SQLite and, given a URL, on PostgreSQL. Measures
//! (a) a closing to committed lines: from the POST closing the attendance of a meeting
//!     of `attendees` libéral adhérents until its `meeting.attendance-closed` event is
//!     delivered through the host's event delivery (`events::dispatch`) and the module
//!     committed one line per attendee, over `rounds` meetings (target p95 < 50 ms);
//! (b) the dry-run (`/bareme/simulation`) over `lines` past lines, seeded through the
//!     product's own paths (past meetings of a large group, each closed and delivered),
//!     with other amounts than those in force (target < 1 s);
//! (c) one rule-set call (`RuleSets::bench_one`: fresh store + instantiate + compute of
//!     the forfait rule set), over `calls` calls (target p50 < 50 µs), against a native
//!     Rust function computing the same outcome.
//! Each against a baseline measured in the same run: `/healthz` on the same kept-alive
//! connection for (a) and (b), the native function for (c). Timings are printed, never
//! asserted; a missing or wrong line, a delivery that fails, or a dry-run whose totals do
//! not reflect every line is an error.
//!
//! Events are delivered only by the benchmark (the router is served without the
//! background dispatcher of [`crate::serve`]), so that what is timed is the delivery of
//! that one event and nothing else delivers it meanwhile.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::client::Connection;
use super::{excerpt, local_datetime, local_input, met, micros, ms, pct};

use crate::groups::GroupRole;
use crate::http::AppState;
use crate::people::ExerciseMode;
use crate::storage::collections::{QuerySpec, Records};
use crate::tenancy::Role;

const SLUG: &str = "cpts-banc-indemnites";
/// The meetings module's pages in the benchmark structure.
const AGENDA: &str = "/cpts-banc-indemnites/agenda";
/// The indemnities module's pages in the benchmark structure.
const LEDGER: &str = "/cpts-banc-indemnites/indemnites";
const ZONE: &str = "Europe/Paris";
/// The indemnities module's id (its URL segment, its tables' prefix).
const MODULE: &str = "indemnites";
/// The module's collection of lines.
const LINES: &str = "lignes";
/// The rule set assigned to the structure (plugins/rules-forfait).
const RULE_SET: &str = "forfait";
/// The meeting kind the forfait pays.
const WORKING_GROUP: &str = "groupe-de-travail";
/// The forfait's settings the dry-run tries instead of its defaults (cents).
const SIM_MEMBER: i64 = 9_000;
const SIM_REFERENT: i64 = 12_000;
/// Since when the rule set is in force and every member an adhérent.
const SINCE: &str = "2020-01-01";
/// Minutes planned for each meeting.
const DURATION: i64 = 120;
/// Meetings closed before the measure of (a) (warm-up); their lines are checked too.
const WARMUP: usize = 2;
/// Members of the group whose past meetings seed the lines of (b).
const SEED_GROUP: usize = 200;
/// The most lines the module reads for one dry-run (`model::MAX_LINES`).
const MAX_DRY_RUN_LINES: usize = 20_000;
/// Dry-runs timed (at most; fewer when `rounds` is smaller).
const DRY_RUNS: usize = 10;
/// Rule-set and native calls before the measure of (c).
const CALL_WARMUP: usize = 200;
const PROFESSIONS: [&str; 5] = [
    "Infirmier",
    "Médecin généraliste",
    "Pharmacien",
    "Masseur-kinésithérapeute",
    "Sage-femme",
];

/// Runs the benchmark on SQLite, then on PostgreSQL when a URL is given (in a throwaway
/// schema). Tiny sizes (`indemnity(3, 2, 50, 20, None)`) make a smoke run for the test
/// suite.
pub async fn indemnity(
    attendees: usize,
    rounds: usize,
    lines: usize,
    calls: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        attendees > 0 && rounds > 0 && calls > 0,
        "attendees, rounds and calls must be positive"
    );
    anyhow::ensure!(
        (1..=MAX_DRY_RUN_LINES).contains(&lines),
        "a dry-run reads 1 to {MAX_DRY_RUN_LINES} lines (asked for {lines})"
    );
    let work =
        std::env::temp_dir().join(format!("maillage-bench-indemnity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    super::on_each_backend(&work, postgres_url, "indemnity", |n, name, state| async move {
        println!(
            "\n{name}: closings of {attendees} attendees until their lines are committed; a dry-run over {lines} past lines"
        );
        // (c) touches no database: measured once, on the first backend.
        let calls = (n == 0).then_some(calls);
        on_backend(&state, attendees, rounds, lines, calls).await
    })
    .await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// The people of the benchmark.
struct People {
    /// Cookie of the coordinator, who creates, records and closes the meetings.
    coordinator: String,
    /// Cookie of the treasurer (module role `tresorier`), who runs the dry-run.
    treasurer: String,
    /// The working group of (a) and its members (the first is its référent).
    group: i64,
    attendees: Vec<i64>,
    /// The large group whose past meetings seed (b), and its members (the first is its
    /// référent).
    archive_group: i64,
    archive: Vec<i64>,
}

async fn on_backend(
    state: &AppState,
    attendees: usize,
    rounds: usize,
    lines: usize,
    calls: Option<usize>,
) -> anyhow::Result<()> {
    let structure = super::bundled_structure_with(
        state,
        &["agenda", "indemnity"],
        SLUG,
        "CPTS Banc d’essai des indemnités",
        ZONE,
    )
    .await?;
    let db = &state.db;
    let now = crate::storage::now_secs();

    // The forfait rule set in force since a past date, as `demo::seed_people_and_rules`
    // assigns it.
    let version = forfait_version(state).await?;
    sqlx::query(
        "INSERT INTO rule_set_assignments (structure_id, rule_set_id, version, settings, effective_from, set_by, set_at) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
    )
    .bind(structure.id)
    .bind(RULE_SET)
    .bind(&version)
    .bind("[]")
    .bind(SINCE)
    .bind(now)
    .execute(db.pool())
    .await?;

    // The coordinator (référente of both groups, as their maker, but never present), the
    // treasurer, the working group of (a) and the large group of (b); every member a
    // libéral adhérent since 2020, with a password as real members have.
    let started = Instant::now();
    let coordinator = super::bench_account(
        db,
        structure.id,
        &format!("coordination@{SLUG}.test"),
        "Coordinatrice du banc",
        Role::Coordinator,
    )
    .await?;
    db.set_password(coordinator.id, "banc d’essai des indemnités")
        .await?;
    let treasurer = super::bench_account(
        db,
        structure.id,
        &format!("tresorerie@{SLUG}.test"),
        "Trésorière du banc",
        Role::Member,
    )
    .await?;
    let (group, attendee_ids) = group_of(
        state,
        structure.id,
        coordinator.id,
        "Groupe de travail du banc",
        "participant",
        "Participant du banc",
        attendees,
    )
    .await?;
    let seed = lines.min(SEED_GROUP);
    let (archive_group, archive) = group_of(
        state,
        structure.id,
        coordinator.id,
        "Groupe des séances passées",
        "archive",
        "Membre des séances passées",
        seed,
    )
    .await?;
    {
        let mut tx = db.pool().begin().await?;
        for (p, id) in attendee_ids.iter().chain(archive.iter()).enumerate() {
            crate::people::set_facts(
                &mut tx,
                structure.id,
                *id,
                Some(PROFESSIONS[p % PROFESSIONS.len()]),
                ExerciseMode::Liberal,
                false,
                now,
            )
            .await?;
            crate::people::add_adhesion(&mut tx, structure.id, *id, SINCE, None, now).await?;
        }
        crate::people::set_module_role(
            &mut tx,
            structure.id,
            treasurer.id,
            MODULE,
            "tresorier",
            true,
            coordinator.id,
            now,
        )
        .await?;
        tx.commit().await?;
    }
    super::copy_password_hash(db, coordinator.id, &format!("%@{SLUG}.test")).await?;
    let people = People {
        coordinator: super::session_cookie(state, coordinator.id).await?,
        treasurer: super::session_cookie(state, treasurer.id).await?,
        group,
        attendees: attendee_ids,
        archive_group,
        archive,
    };
    println!(
        "{attendees} members in a working group and {seed} in a large one (libéral adhérents), a coordinator and a treasurer, the forfait {version} in force since {SINCE}, created in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // The host's router on real TCP, without the dispatcher `crate::serve` runs in the
    // background: events are delivered where the benchmark says.
    let service =
        crate::http::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, service).await });
    let outcome = measure(
        state,
        address,
        structure.id,
        &version,
        &people,
        rounds,
        lines,
    )
    .await;
    server.abort();
    outcome?;
    if let Some(calls) = calls {
        rule_set_call(state, &version, calls).await?;
    }
    Ok(())
}

/// The newest forfait version installed for every structure (`crate::open` installs the
/// bundled rule sets).
async fn forfait_version(state: &AppState) -> anyhow::Result<String> {
    state
        .registry
        .rule_sets()
        .installed()
        .await?
        .into_iter()
        .filter(|r| r.id == RULE_SET && r.structure_id.is_none())
        .filter_map(|r| semver::Version::parse(&r.version).ok())
        .max()
        .map(|v| v.to_string())
        .ok_or_else(|| anyhow::anyhow!("the {RULE_SET} rule set is not installed"))
}

/// A working group made by `creator` with `count` new members of the structure, the
/// first one a second référent, the others membres actifs.
async fn group_of(
    state: &AppState,
    structure_id: i64,
    creator: i64,
    name: &str,
    prefix: &str,
    label: &str,
    count: usize,
) -> anyhow::Result<(i64, Vec<i64>)> {
    let db = &state.db;
    let group_id = db
        .create_group(structure_id, name, "", true, creator)
        .await?;
    let group = db
        .group(structure_id, group_id, creator)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the group just created is missing"))?;
    let mut ids = Vec::with_capacity(count);
    for p in 0..count {
        let account = db
            .create_account(
                &format!("{prefix}-{p:04}@{SLUG}.test"),
                None,
                &format!("{label} {p:04}"),
            )
            .await?;
        db.set_membership(structure_id, account.id, Role::Member)
            .await?;
        let role = if p == 0 {
            GroupRole::Referent
        } else {
            GroupRole::Active
        };
        db.set_group_member(&group, account.id, role).await?;
        ids.push(account.id);
    }
    Ok((group_id, ids))
}

async fn measure(
    state: &AppState,
    address: SocketAddr,
    structure_id: i64,
    version: &str,
    people: &People,
    rounds: usize,
    lines: usize,
) -> anyhow::Result<()> {
    let mut client = Connection::open(address).await?;
    let coordinator = people.coordinator.as_str();
    let attendees = people.attendees.len();
    let now = crate::storage::now_secs();
    let module = state
        .db
        .enabled_module(structure_id, MODULE)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{MODULE} is not enabled in the benchmark structure"))?;
    let plugin = state.registry.get(MODULE, &module.version).await?;
    let records = Records {
        backend: state.db.backend(),
        schema: plugin.schema(),
        structure_id,
    };
    let defaults = forfait_defaults();
    let expected_cents = |present: usize| {
        native_cents(GroupRole::Referent, &defaults)
            + (present as i64 - 1) * native_cents(GroupRole::Active, &defaults)
    };

    // (a) 1. Meetings of the working group under way (started two hours ago), every
    // attendee recorded present on the émargement sheet by the coordinator.
    let started = Instant::now();
    let start = local_input(now - 2 * 3600, ZONE)?;
    let mut ready = Vec::with_capacity(rounds + WARMUP);
    for n in 0..rounds + WARMUP {
        let title = format!("Groupe de travail du banc, séance {}", n + 1);
        let id = create_meeting(&mut client, coordinator, &title, people.group, &start).await?;
        record_sheet(&mut client, coordinator, &id, &people.attendees).await?;
        ready.push(id);
    }
    println!(
        "{} meetings of {attendees} present attendees prepared over HTTP in {:.1} s",
        ready.len(),
        started.elapsed().as_secs_f64()
    );

    // (a) 2. Each closing, timed from the POST to the end of the delivery of its event
    // (the lines are committed in the delivery's transaction, before it is marked
    // delivered), then its lines checked; each followed by /healthz on the same
    // connection (the floor: session, routing, one round trip).
    let (mut totals, mut answers, mut deliveries, mut floor) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (n, id) in ready.iter().enumerate() {
        let t = Instant::now();
        close(&mut client, coordinator, id).await?;
        let answered = t.elapsed();
        deliver(state, structure_id).await?;
        let total = t.elapsed();
        check_meeting_lines(&records, state, id, attendees, expected_cents(attendees)).await?;
        let t = Instant::now();
        client.get("/healthz", coordinator).await?;
        let base = t.elapsed();
        if n >= WARMUP {
            totals.push(total);
            answers.push(answered);
            deliveries.push(total - answered);
            floor.push(base);
        }
    }
    for samples in [&mut totals, &mut answers, &mut deliveries, &mut floor] {
        samples.sort();
    }
    let p95 = pct(&totals, 0.95);
    println!(
        "(a) closing a meeting of {attendees} attendees until its {attendees} lines are committed ({rounds} meetings): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; target p95 < 50 ms: {}",
        ms(pct(&totals, 0.50)),
        ms(p95),
        ms(*totals.last().unwrap_or(&Duration::ZERO)),
        met(p95 < Duration::from_millis(50)),
    );
    println!(
        "    of which the closing's answer p50 {:.2} ms, the event's delivery p50 {:.2} ms (p95 {:.2} ms)",
        ms(pct(&answers, 0.50)),
        ms(pct(&deliveries, 0.50)),
        ms(pct(&deliveries, 0.95)),
    );
    let healthz = ms(pct(&floor, 0.50)).max(1e-9);
    println!(
        "    baseline /healthz on the same connection: p50 {:.3} ms (closing to lines p50 = {:.0}x)",
        ms(pct(&floor, 0.50)),
        ms(pct(&totals, 0.50)) / healthz,
    );
    println!(
        "    check: after each delivery, exactly {attendees} draft lines for the meeting, {} in all (forfait référent + membres)",
        euros(expected_cents(attendees))
    );

    // (b) 1. Past lines, through the product's paths: meetings of the large group on
    // past days (one a day, from two days ago back), every member present, each closed
    // and its event delivered.
    let seed = people.archive.len();
    let meetings = lines.div_ceil(seed);
    let started = Instant::now();
    for k in 0..meetings {
        let present = &people.archive[..(lines - k * seed).min(seed)];
        let start = local_input(now - (k as i64 + 2) * 86_400, ZONE)?;
        let title = format!("Groupe des séances passées, séance {}", k + 1);
        let id = create_meeting(
            &mut client,
            coordinator,
            &title,
            people.archive_group,
            &start,
        )
        .await?;
        record_sheet(&mut client, coordinator, &id, present).await?;
        close(&mut client, coordinator, &id).await?;
        deliver(state, structure_id).await?;
        check_meeting_lines(
            &records,
            state,
            &id,
            present.len(),
            expected_cents(present.len()),
        )
        .await?;
    }
    let seeding = started.elapsed();
    println!(
        "{lines} past lines seeded through {meetings} meetings of up to {seed} attendees (created, recorded, closed and delivered over HTTP) in {:.1} s ({:.0} lines/s)",
        seeding.as_secs_f64(),
        lines as f64 / seeding.as_secs_f64().max(1e-9)
    );

    // (b) 2. What the dry-run must find: the lines of the period (the closings of (a),
    // two hours ago, are after it), and what the forfait gives them with the tried
    // amounts, computed natively.
    let from = local_date(now - (meetings as i64 + 2) * 86_400, ZONE)?;
    let to = local_date(now - 2 * 86_400, ZONE)?;
    let period = serde_json::json!({ "k": "ligne", "du": from, "au": to }).to_string();
    let by_role = tally(
        &records,
        state,
        "kind = {:k} && date >= {:du} && date <= {:au}",
        &period,
        "role",
    )
    .await?;
    anyhow::ensure!(
        by_role.lines == lines as i64,
        "{} lines from {from} to {to}, {lines} seeded ({})",
        by_role.lines,
        by_role.summary()
    );
    let tried = forfait_with(SIM_MEMBER, SIM_REFERENT);
    let mut simulated = 0;
    for (role, count, _) in &by_role.buckets {
        let role = match role.as_str() {
            "referent" => GroupRole::Referent,
            "active" => GroupRole::Active,
            other => anyhow::bail!("a seeded line has the role {other:?}"),
        };
        simulated += count * native_cents(role, &tried);
    }
    let current = by_role.cents;

    // (b) 3. The dry-run as the treasurer, first checked, then timed, each followed by
    // /healthz on the same connection.
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("bareme", RULE_SET)
        .append_pair("version", version)
        .append_pair("s-forfait_membre", &euros_input(SIM_MEMBER))
        .append_pair("s-forfait_referent", &euros_input(SIM_REFERENT))
        .append_pair("du", &from)
        .append_pair("au", &to);
    let dry_run = format!("{LEDGER}/bareme/simulation?{}", query.finish());
    let treasurer = people.treasurer.as_str();
    let first = client.get(&dry_run, treasurer).await?;
    anyhow::ensure!(
        first.status == 200,
        "the dry-run answered {}: {}",
        first.status,
        excerpt(&first.body)
    );
    let totals = dry_run_totals(&first.body).ok_or_else(|| {
        anyhow::anyhow!(
            "the dry-run shows no totals (tr.total): {}",
            excerpt(&first.body)
        )
    })?;
    anyhow::ensure!(
        totals.errors.is_none(),
        "the dry-run counts {} failed computations",
        totals.errors.unwrap_or_default()
    );
    anyhow::ensure!(
        totals.lines == lines as i64 && totals.current == current && totals.simulated == simulated,
        "the dry-run totals {} lines, {} now, {} simulated; expected {lines} lines, {} now, {} simulated",
        totals.lines,
        euros(totals.current),
        euros(totals.simulated),
        euros(current),
        euros(simulated)
    );
    let runs = rounds.min(DRY_RUNS);
    let (mut reads, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let reply = client.get(&dry_run, treasurer).await?;
        reads.push(t.elapsed());
        anyhow::ensure!(
            reply.status == 200,
            "the dry-run answered {}: {}",
            reply.status,
            excerpt(&reply.body)
        );
        let t = Instant::now();
        client.get("/healthz", treasurer).await?;
        floor.push(t.elapsed());
    }
    reads.sort();
    floor.sort();
    let p95 = pct(&reads, 0.95);
    println!(
        "(b) dry-run over {lines} past lines ({runs} requests, {} KB): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; target < 1 s: {}",
        first.body.len() / 1024,
        ms(pct(&reads, 0.50)),
        ms(p95),
        ms(*reads.last().unwrap_or(&Duration::ZERO)),
        met(p95 < Duration::from_secs(1)),
    );
    let healthz = ms(pct(&floor, 0.50)).max(1e-9);
    println!(
        "    baseline /healthz on the same connection: p50 {:.3} ms (dry-run p50 = {:.0}x)",
        ms(pct(&floor, 0.50)),
        ms(pct(&reads, 0.50)) / healthz,
    );
    println!(
        "    check: the totals show all {lines} lines, {} now and {} with forfaits of {} and {} (computed natively)",
        euros(current),
        euros(simulated),
        euros(SIM_MEMBER),
        euros(SIM_REFERENT)
    );
    Ok(())
}

/// (c) One rule-set call, fresh store + instantiate + compute, against the same
/// computation in native Rust.
async fn rule_set_call(state: &AppState, version: &str, calls: usize) -> anyhow::Result<()> {
    let rule_sets: &crate::plugins::RuleSets = state.registry.rule_sets();
    for _ in 0..CALL_WARMUP.min(calls) {
        one_call(rule_sets, version).await?;
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        one_call(rule_sets, version).await?;
        samples.push(t.elapsed());
    }
    samples.sort();

    // The same case as `bench_one`: a libéral adhérent, membre actif of a working group,
    // present 120 minutes, the defaults.
    let settings = forfait_defaults();
    let case = NativeCase {
        kind: WORKING_GROUP,
        member: true,
        role: GroupRole::Active,
        adherent: true,
        mode: ExerciseMode::Liberal,
        convention: false,
        minutes: 120,
    };
    anyhow::ensure!(
        matches!(
            native_forfait(&case, &settings),
            NativeOutcome::Eligible { cents: 8_000, .. }
        ),
        "the native forfait does not pay a libéral adhérent 80 €"
    );
    for _ in 0..CALL_WARMUP.min(calls) {
        let _ = black_box(native_forfait(black_box(&case), black_box(&settings)));
    }
    let mut native = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        let _ = black_box(native_forfait(black_box(&case), black_box(&settings)));
        native.push(t.elapsed());
    }
    native.sort();
    let p50 = pct(&samples, 0.50);
    println!(
        "(c) one call of the {RULE_SET} {version} rule set (fresh store + instantiate + compute), {calls} calls: p50 {:.1} µs, p95 {:.1} µs, max {:.1} µs; target p50 < 50 µs: {}",
        micros(p50),
        micros(pct(&samples, 0.95)),
        micros(*samples.last().unwrap_or(&Duration::ZERO)),
        met(p50 < Duration::from_micros(50)),
    );
    println!(
        "    baseline: the same computation in native Rust: p50 {:.3} µs, p95 {:.3} µs (rule set p50 = {:.0}x)",
        micros(pct(&native, 0.50)),
        micros(pct(&native, 0.95)),
        micros(p50) / micros(pct(&native, 0.50)).max(1e-6),
    );
    Ok(())
}

/// One call of the installed rule set (`bench_one` needs it loaded: installing it, as
/// `crate::open` does, or computing a line with it loads it).
async fn one_call(rule_sets: &crate::plugins::RuleSets, version: &str) -> anyhow::Result<()> {
    rule_sets
        .bench_one(RULE_SET, version)
        .await
        .map_err(|e| anyhow::anyhow!("the {RULE_SET} {version} rule set call failed: {e}"))
}

/// Delivers what the outbox holds (one `meeting.attendance-closed` event, to the
/// indemnities module) through the host's event delivery.
async fn deliver(state: &AppState, structure_id: i64) -> anyhow::Result<()> {
    let round = crate::events::dispatch(state).await?;
    if round.delivered == 1 && round.failed == 0 {
        return Ok(());
    }
    let failing = crate::events::failing_deliveries(state, structure_id).await?;
    let why = failing
        .first()
        .map(|d| {
            format!(
                "{} to {}: {}",
                d.topic,
                d.plugin_id,
                d.last_error.as_deref().unwrap_or("")
            )
        })
        .unwrap_or_default();
    anyhow::bail!(
        "the delivery round delivered {} event(s) and failed {}, one delivery expected; {why}",
        round.delivered,
        round.failed
    )
}

/// After its delivery, the meeting has one draft line per attendee present, for the
/// amounts of the forfait in force.
async fn check_meeting_lines(
    records: &Records<'_>,
    state: &AppState,
    meeting: &str,
    present: usize,
    cents: i64,
) -> anyhow::Result<()> {
    let params = serde_json::json!({ "m": meeting }).to_string();
    let by_status = tally(records, state, "meeting_id = {:m}", &params, "status").await?;
    let drafts = by_status
        .buckets
        .iter()
        .filter(|(status, _, _)| status == "brouillon")
        .map(|(_, count, _)| *count)
        .sum::<i64>();
    if by_status.lines == present as i64 && drafts == by_status.lines && by_status.cents == cents {
        return Ok(());
    }
    // Why: the reason of a line that is not a draft, if any.
    let mut conn = state.db.pool().acquire().await?;
    let spec = QuerySpec {
        filter: "meeting_id = {:m} && status != {:s}".into(),
        params: serde_json::json!({ "m": meeting, "s": "brouillon" }).to_string(),
        limit: 1,
        ..Default::default()
    };
    let odd = records.query(&mut conn, LINES, &spec).await?;
    let reason = odd
        .items
        .first()
        .map(|line| {
            format!(
                "; e.g. {}: {} {}",
                line["person_name"].as_str().unwrap_or(""),
                line["hold_reason"].as_str().unwrap_or(""),
                line["rationale"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_default();
    anyhow::bail!(
        "meeting {meeting}: {} lines ({}) for {}, after its delivery; {present} draft lines for {} expected{reason}",
        by_status.lines,
        by_status.summary(),
        euros(by_status.cents),
        euros(cents)
    )
}

/// Lines of the module's collection, counted and summed by one of their fields.
struct Tally {
    lines: i64,
    cents: i64,
    /// (value of the field, lines, cents).
    buckets: Vec<(String, i64, i64)>,
}

impl Tally {
    fn summary(&self) -> String {
        self.buckets
            .iter()
            .map(|(key, count, cents)| format!("{key}: {count}, {}", euros(*cents)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Counts and sums the lines matching `filter` (the records filter language) through
/// the host's records layer, by `field`.
async fn tally(
    records: &Records<'_>,
    state: &AppState,
    filter: &str,
    params: &str,
    field: &str,
) -> anyhow::Result<Tally> {
    let mut conn = state.db.pool().acquire().await?;
    let buckets = records
        .aggregate(
            &mut conn,
            LINES,
            filter,
            params,
            Some(field),
            Some("amount"),
        )
        .await?;
    let buckets: Vec<(String, i64, i64)> = buckets
        .into_iter()
        .map(|b| {
            let key = match &b.key {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, b.count, b.sum)
        })
        .collect();
    Ok(Tally {
        lines: buckets.iter().map(|(_, count, _)| count).sum(),
        cents: buckets.iter().map(|(_, _, cents)| cents).sum(),
        buckets,
    })
}

/// Creates a working-group meeting of `group` starting at `start` (local, in ZONE)
/// through the form as `organiser`, its invitees the group; returns its id.
async fn create_meeting(
    client: &mut Connection,
    organiser: &str,
    title: &str,
    group: i64,
    start: &str,
) -> anyhow::Result<String> {
    let fields = vec![
        ("titre".to_string(), title.to_string()),
        ("groupe".to_string(), group.to_string()),
        ("type".to_string(), WORKING_GROUP.to_string()),
        ("debut".to_string(), start.to_string()),
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
    let reply = client
        .post(&format!("{AGENDA}/nouvelle"), organiser, &fields)
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

/// Records `present` on the meeting's émargement sheet, as `recorder`.
async fn record_sheet(
    client: &mut Connection,
    recorder: &str,
    meeting: &str,
    present: &[i64],
) -> anyhow::Result<()> {
    let mut sheet: Vec<(String, String)> = Vec::with_capacity(2 * present.len());
    for account in present {
        let key = format!("u{account}");
        sheet.push(("liste".to_string(), key.clone()));
        sheet.push(("present".to_string(), key));
    }
    let reply = client
        .post(
            &format!("{AGENDA}/r/{meeting}/emargement"),
            recorder,
            &sheet,
        )
        .await?;
    anyhow::ensure!(
        reply.status == 303,
        "the émargement sheet of {} attendees was refused ({}): {}",
        present.len(),
        reply.status,
        excerpt(&reply.body)
    );
    Ok(())
}

/// Closes the meeting's attendance (its event is committed before the answer).
async fn close(client: &mut Connection, recorder: &str, meeting: &str) -> anyhow::Result<()> {
    let reply = client
        .post(&format!("{AGENDA}/r/{meeting}/cloturer"), recorder, &[])
        .await?;
    anyhow::ensure!(
        reply.status == 303,
        "closing meeting {meeting} answered {}: {}",
        reply.status,
        excerpt(&reply.body)
    );
    Ok(())
}

/// The totals row of a dry-run's result (`tr.total`), and the failed computations
/// (`p.erreurs[data-count]`) if any.
struct DryRunTotals {
    lines: i64,
    current: i64,
    simulated: i64,
    errors: Option<i64>,
}

fn dry_run_totals(page: &str) -> Option<DryRunTotals> {
    fn after<'a>(text: &'a str, marker: &str, end: char) -> Option<&'a str> {
        let start = text.find(marker)? + marker.len();
        let rest = &text[start..];
        Some(&rest[..rest.find(end)?])
    }
    let errors = after(page, "class=\"alert warning erreurs\" data-count=\"", '"')
        .and_then(|n| n.parse().ok());
    let row = &page[page.find("<tr class=\"total\">")?..];
    Some(DryRunTotals {
        lines: after(row, "<td class=\"nombre\">", '<')?
            .trim()
            .parse()
            .ok()?,
        current: after(row, "class=\"montant actuel\" data-cents=\"", '"')?
            .parse()
            .ok()?,
        simulated: after(row, "class=\"montant simule\" data-cents=\"", '"')?
            .parse()
            .ok()?,
        errors,
    })
}

/// A setting's value, as the host passes it to a rule set.
#[derive(Debug, Clone)]
enum NativeValue {
    Cents(i64),
    Minutes(i64),
    Flag(bool),
}

/// The case of one attendee of one meeting, as a rule set receives it.
struct NativeCase<'a> {
    kind: &'a str,
    /// A member of the structure (a person id), not an external guest.
    member: bool,
    role: GroupRole,
    adherent: bool,
    mode: ExerciseMode,
    convention: bool,
    minutes: u32,
}

enum NativeOutcome {
    Eligible {
        cents: i64,
        #[allow(dead_code)]
        minutes: u32,
        #[allow(dead_code)]
        rationale: String,
    },
    NotEligible(#[allow(dead_code)] String),
}

/// The forfait's settings with every value given, as the host completes them.
fn forfait_with(member: i64, referent: i64) -> Vec<(String, NativeValue)> {
    vec![
        ("forfait_membre".into(), NativeValue::Cents(member)),
        ("forfait_referent".into(), NativeValue::Cents(referent)),
        ("salaries_sous_convention".into(), NativeValue::Flag(true)),
        ("autres_reunions".into(), NativeValue::Flag(false)),
        ("presence_minimale".into(), NativeValue::Minutes(0)),
    ]
}

fn forfait_defaults() -> Vec<(String, NativeValue)> {
    forfait_with(8_000, 10_000)
}

fn setting<'a>(settings: &'a [(String, NativeValue)], key: &str) -> Option<&'a NativeValue> {
    settings.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn cents_of(settings: &[(String, NativeValue)], key: &str, default: i64) -> i64 {
    match setting(settings, key) {
        Some(NativeValue::Cents(n)) => *n,
        _ => default,
    }
}

fn flag_of(settings: &[(String, NativeValue)], key: &str, default: bool) -> bool {
    match setting(settings, key) {
        Some(NativeValue::Flag(b)) => *b,
        _ => default,
    }
}

fn minutes_of(settings: &[(String, NativeValue)], key: &str, default: i64) -> i64 {
    match setting(settings, key) {
        Some(NativeValue::Minutes(n)) => *n,
        _ => default,
    }
}

/// What plugins/rules-forfait computes, in native Rust: the baseline of (c), and the
/// amounts the checks expect.
fn native_forfait(case: &NativeCase, settings: &[(String, NativeValue)]) -> NativeOutcome {
    let member = cents_of(settings, "forfait_membre", 8_000);
    let referent = cents_of(settings, "forfait_referent", 10_000);
    let salaried = flag_of(settings, "salaries_sous_convention", true);
    let others = flag_of(settings, "autres_reunions", false);
    let minimum = minutes_of(settings, "presence_minimale", 0);
    let kind = match case.kind {
        WORKING_GROUP => "groupe de travail",
        "pleniere" => "plénière",
        "bureau" => "bureau",
        "formation" => "formation",
        _ => {
            return NativeOutcome::NotEligible(
                "Type de réunion non indemnisé par ce barème".into(),
            );
        }
    };
    if case.kind != WORKING_GROUP && !others {
        return NativeOutcome::NotEligible(format!(
            "Seules les réunions de groupe de travail sont indemnisées (ici : {kind})"
        ));
    }
    if !case.member {
        return NativeOutcome::NotEligible("Invité externe : non indemnisé".into());
    }
    let (amount, forfait) = match case.role {
        GroupRole::Guest => {
            return NativeOutcome::NotEligible("Invité externe : non indemnisé".into());
        }
        GroupRole::Referent => (referent, "Forfait référent"),
        GroupRole::Active => (member, "Forfait membre"),
    };
    if !case.adherent {
        return NativeOutcome::NotEligible("Non adhérent à la date de la réunion".into());
    }
    let under_convention = match case.mode {
        ExerciseMode::Liberal => false,
        ExerciseMode::Salarie if !salaried => {
            return NativeOutcome::NotEligible(
                "Salarié : non indemnisé selon les réglages de la structure".into(),
            );
        }
        ExerciseMode::Salarie if !case.convention => {
            return NativeOutcome::NotEligible("Salarié sans convention avec l'employeur".into());
        }
        ExerciseMode::Salarie => true,
        ExerciseMode::Autre => {
            return NativeOutcome::NotEligible(
                "Mode d'exercice non indemnisé (ni libéral, ni salarié)".into(),
            );
        }
        ExerciseMode::Inconnu => {
            return NativeOutcome::NotEligible("Mode d'exercice non renseigné".into());
        }
    };
    if minimum > 0 && i64::from(case.minutes) < minimum {
        return NativeOutcome::NotEligible(format!(
            "Présence de {} min, inférieure au minimum de {minimum} min",
            case.minutes
        ));
    }
    let detail = if under_convention {
        format!("{kind}, salarié sous convention")
    } else {
        kind.to_string()
    };
    NativeOutcome::Eligible {
        cents: amount,
        minutes: case.minutes,
        rationale: format!("{forfait} ({detail}) : {}", euros(amount)),
    }
}

/// What the forfait pays a libéral adhérent present at a whole working-group meeting.
fn native_cents(role: GroupRole, settings: &[(String, NativeValue)]) -> i64 {
    let case = NativeCase {
        kind: WORKING_GROUP,
        member: true,
        role,
        adherent: true,
        mode: ExerciseMode::Liberal,
        convention: false,
        minutes: DURATION as u32,
    };
    match native_forfait(&case, settings) {
        NativeOutcome::Eligible { cents, .. } => cents,
        NativeOutcome::NotEligible(_) => 0,
    }
}

/// « 1 234,50 € », as the module and the rule set write amounts.
fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let digits = (abs / 100).to_string();
    let mut whole = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            whole.push(' ');
        }
        whole.push(c);
    }
    match abs % 100 {
        0 => format!("{sign}{whole} €"),
        rest => format!("{sign}{whole},{rest:02} €"),
    }
}

/// « 90,00 », as a euros field of the barème's forms takes it.
fn euros_input(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

/// "YYYY-MM-DD" in `zone` of Unix seconds, as lines store their meeting's date.
fn local_date(secs: i64, zone: &str) -> anyhow::Result<String> {
    let local = local_datetime(secs, zone)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        local.year(),
        local.month(),
        local.day()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_of_a_dry_run() {
        let page = r#"<p class="alert warning erreurs" data-count="2">2 calcul(s)</p><table><tfoot><tr class="total"><th scope="row">Total</th><td class="nombre">10000</td><td class="montant actuel" data-cents="81000">810 €</td><td class="montant simule" data-cents="91000">910 €</td><td class="montant ecart" data-cents="10000">100 €</td></tr></tfoot></table>"#;
        let totals = dry_run_totals(page).expect("totals");
        assert_eq!(
            (
                totals.lines,
                totals.current,
                totals.simulated,
                totals.errors
            ),
            (10000, 81000, 91000, Some(2))
        );
        assert!(dry_run_totals("<p class=\"empty\">Aucune ligne</p>").is_none());
    }

    #[test]
    fn computes_the_forfait_natively() {
        let defaults = forfait_defaults();
        assert_eq!(native_cents(GroupRole::Active, &defaults), 8_000);
        assert_eq!(native_cents(GroupRole::Referent, &defaults), 10_000);
        assert_eq!(native_cents(GroupRole::Guest, &defaults), 0);
        let tried = forfait_with(SIM_MEMBER, SIM_REFERENT);
        assert_eq!(native_cents(GroupRole::Active, &tried), 9_000);
        let case = NativeCase {
            kind: WORKING_GROUP,
            member: true,
            role: GroupRole::Referent,
            adherent: true,
            mode: ExerciseMode::Liberal,
            convention: false,
            minutes: 120,
        };
        match native_forfait(&case, &defaults) {
            NativeOutcome::Eligible { rationale, .. } => {
                assert_eq!(rationale, "Forfait référent (groupe de travail) : 100 €")
            }
            NativeOutcome::NotEligible(reason) => panic!("not eligible: {reason}"),
        }
        assert_eq!(euros(123_450), "1 234,50 €");
        assert_eq!(euros_input(9_000), "90,00");
    }
}
