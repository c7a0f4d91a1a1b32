//! `maillage bench projects`: the projects module (`projets`) at the size of a large
//! CPTS, through HTTP, a real TCP connection to the real server, on SQLite and, given a
//! URL, on PostgreSQL, with the agenda enabled as in a real structure. The structure
//! holds `projects` projects (working groups of 5 to 30 members, five members of the
//! structure per project: 1,000 for 200), `tasks` tasks (2 or 3 assignees each, half of
//! them done, four time entries each) and `messages` thread messages (skewed: one
//! project in twenty is busy, and the busy ones hold half of them). Measured as a
//! membre actif of one project in ten, who has 60 open tasks at the default sizes:
//! (a) the project page, cycling through their projects, busy ones and the others also
//! apart (target p95 < 30 ms); (b) « Mes tâches » (target p95 < 30 ms); (c) the
//! dashboard with the widgets of both modules and (d) the thread's poller when nothing
//! is new (no targets); each against `/healthz` on the same kept-alive connection.
//!
//! Seeding: the host's groups through `Db`, each project through the module's own form
//! (`POST /projets/nouveau`, as a coordinator), two meetings of each of the member's
//! projects through the agenda's form (copied onto the project pages by the event
//! delivery); actions, tasks, assignees, time entries and messages in bulk through the
//! host's records layer (`Records::insert_many`), each record as the module writes it,
//! then the messages spread over six months (the host dates a record at its insert).
//! Timings are printed, never asserted; a page that does not show the tasks, messages
//! and meetings seeded is an error.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use super::client::Connection;
use super::{excerpt, local_datetime, local_input, met, ms, pct};

use crate::groups::GroupRole;
use crate::http::AppState;
use crate::storage::Db;
use crate::storage::collections::{QuerySpec, Records};
use crate::tenancy::Role;

const SLUG: &str = "cpts-banc-projets";
/// The module's pages in the benchmark structure.
const BASE: &str = "/cpts-banc-projets/projets";
/// The agenda's pages in the benchmark structure.
const AGENDA: &str = "/cpts-banc-projets/agenda";
const ZONE: &str = "Europe/Paris";
/// The module's id (its URL segment, its tables' prefix).
const MODULE: &str = "projets";
/// The module's collections (plugins/projects/src/model.rs).
const PROJECTS: &str = "projects";
const ACTIONS: &str = "actions";
const TASKS: &str = "tasks";
const ASSIGNEES: &str = "task_assignees";
const ENTRIES: &str = "time_entries";
const GROUP_MEETINGS: &str = "group_meetings";
/// The SDK's thread messages (plugins/sdk/src/thread.rs).
const MESSAGES: &str = "thread_messages";
/// `tasks.status`.
const TODO: &str = "a_faire";
const DONE: &str = "faite";
/// `due_sort` of a task with no due date.
const NO_DUE: &str = "9999-12-31";
/// Members of the structure per project, and at least this many.
const MEMBERS_PER_PROJECT: usize = 5;
const MIN_MEMBERS: usize = 30;
/// The measured member is a membre actif of one project in this many.
const MEMBER_EVERY: usize = 10;
/// One project in this many is busy; the busy ones hold half of the messages.
const BUSY_EVERY: usize = 20;
const ACTIONS_PER_PROJECT: usize = 3;
const ENTRIES_PER_TASK: usize = 4;
/// What the project page shows: the latest messages (`discussion::PAGE_MESSAGES`), the
/// latest tasks done.
const PAGE_MESSAGES: usize = 100;
const PAGE_DONE: usize = 20;
/// Records per `insert_many` (the host's most).
const BATCH: usize = 500;
/// The messages are spread over the six months before now.
const SPAN: i64 = 180 * 86_400;
/// A message's id ends with its project's index, below 10,000 (see [`Ids::at`]).
const MAX_PROJECTS: usize = 9_999;
const MAX_MESSAGES: usize = 1_000_000;
/// The meetings planned for each of the member's projects: title, days from now.
const MEETINGS: [(&str, i64); 2] = [("bilan", -21), ("point d’étape", 14)];
/// How long the agenda's meetings may take to reach the projects module.
const DELIVERY_WAIT: Duration = Duration::from_secs(60);
/// The target of the project page and of « Mes tâches ».
const TARGET: Duration = Duration::from_millis(30);
const MEMBER_NAME: &str = "Adhérente mesurée du banc";
const OBJECTIVES: &str =
    "Rédiger une fiche réflexe\nTenir un annuaire des disponibilités\nÉvaluer l’action à un an";
const THEMES: [&str; 10] = [
    "Soins non programmés",
    "Parcours insuffisance cardiaque",
    "Prévention santé mentale",
    "Médecin traitant pour tous",
    "Plaies chroniques",
    "Parcours des personnes âgées",
    "Prévention des addictions",
    "Santé des femmes",
    "Gestion de crise sanitaire",
    "Accueil des nouveaux professionnels",
];
const TOPICS: [&str; 8] = [
    "rédiger la fiche réflexe",
    "relancer les pharmacies du secteur",
    "préparer le comité de pilotage",
    "mettre à jour l’annuaire des disponibilités",
    "diffuser le compte-rendu",
    "recenser les besoins des patients",
    "contacter l’hôpital de référence",
    "préparer l’évaluation annuelle",
];
const ACTION_TITLES: [&str; 3] = [
    "Fiche réflexe",
    "Annuaire des disponibilités",
    "Évaluation à un an",
];
const ACTION_STATUSES: [&str; 3] = ["en_cours", "a_venir", "realisee"];

/// Runs the benchmark on SQLite, then on PostgreSQL when a URL is given (in a throwaway
/// schema). Tiny sizes (`projects(3, 12, 30, 2, None)`) make a smoke run for the test
/// suite.
pub async fn projects(
    projects: usize,
    tasks: usize,
    messages: usize,
    rounds: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(rounds > 0, "rounds must be positive");
    anyhow::ensure!(
        (1..=MAX_PROJECTS).contains(&projects),
        "the benchmark holds 1 to {MAX_PROJECTS} projects (asked for {projects})"
    );
    anyhow::ensure!(
        tasks >= projects,
        "every project needs a task: {tasks} tasks for {projects} projects"
    );
    anyhow::ensure!(
        messages <= MAX_MESSAGES,
        "the benchmark holds at most {MAX_MESSAGES} messages (asked for {messages})"
    );
    let work = std::env::temp_dir().join(format!("maillage-bench-projects-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    super::on_each_backend(&work, postgres_url, "projects", |_, name, state| async move {
        println!(
            "\n{name}: {projects} projects, {tasks} tasks, {} time entries, {messages} messages",
            tasks * ENTRIES_PER_TASK
        );
        on_backend(&state, projects, tasks, messages, rounds).await
    })
    .await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// The benchmark's structure, its server and its people.
struct Bench<'a> {
    state: &'a AppState,
    address: SocketAddr,
    structure_id: i64,
    /// Cookie of the coordinator, who creates the projects and plans the meetings.
    coordinator: String,
    /// Account id and cookie of the member whose pages are measured.
    member: (i64, String),
}

/// One project: its working group, and what the seeding gives it.
struct Plan {
    index: usize,
    group_id: i64,
    /// The group's name, which is the project's.
    name: String,
    /// Mission code, "1" to "6", and numéro ("2.14").
    mission: String,
    numero: String,
    /// The référent who created the group (also the project's coordinator, the author
    /// of its tasks).
    referent: (i64, String),
    /// Référents and membres actifs but the measured member: the tasks' assignees.
    workers: Vec<(i64, String)>,
    /// Every member of the group, the measured member included: the thread's authors.
    writers: Vec<(i64, String)>,
    /// Whether the measured member belongs to it.
    mine: bool,
    busy: bool,
    /// The project's record id, once created.
    record: String,
}

async fn on_backend(
    state: &AppState,
    projects: usize,
    tasks: usize,
    messages: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let seeding = Instant::now();
    let structure = super::bundled_structure_with(
        state,
        &["projects", "agenda"],
        SLUG,
        "CPTS Banc d’essai des projets",
        ZONE,
    )
    .await?;
    let db = &state.db;

    // The coordinator, the measured member and the structure's other members, everyone
    // active (a password), as real members are; then the working groups.
    let started = Instant::now();
    let coordinator = super::bench_account(
        db,
        structure.id,
        &format!("coordination@{SLUG}.test"),
        "Coordinatrice du banc",
        Role::Coordinator,
    )
    .await?;
    db.set_password(coordinator.id, "banc d’essai des projets")
        .await?;
    let member = super::bench_account(
        db,
        structure.id,
        &format!("adherente@{SLUG}.test"),
        MEMBER_NAME,
        Role::Member,
    )
    .await?;
    let count = (projects * MEMBERS_PER_PROJECT).max(MIN_MEMBERS);
    let mut others = Vec::with_capacity(count);
    for n in 0..count {
        let name = format!("Membre du banc {:04}", n + 1);
        let account = super::bench_account(
            db,
            structure.id,
            &format!("membre-{n:04}@{SLUG}.test"),
            &name,
            Role::Member,
        )
        .await?;
        others.push((account.id, name));
    }
    super::copy_password_hash(db, coordinator.id, &format!("%@{SLUG}.test")).await?;
    let mut plans = Vec::with_capacity(projects);
    for p in 0..projects {
        plans.push(working_group(db, structure.id, p, &others, member.id).await?);
    }
    let memberships: usize = plans.iter().map(|p| p.writers.len()).sum();
    let bench_coordinator = super::session_cookie(state, coordinator.id).await?;
    let member_cookie = super::session_cookie(state, member.id).await?;
    println!(
        "{} members and {projects} working groups ({memberships} group memberships) created in {:.1} s",
        count + 2,
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(crate::serve(state.clone(), listener));
    let bench = Bench {
        state,
        address,
        structure_id: structure.id,
        coordinator: bench_coordinator,
        member: (member.id, member_cookie),
    };
    let outcome = run(&bench, &mut plans, tasks, messages, rounds, seeding).await;
    server.abort();
    outcome
}

/// Working group `p`: a window of `others` (5 to 30 people; its first the référent who
/// creates it, a second référent in groups of ten or more, one in eight an invité
/// externe, the others membres actifs), with the measured member as membre actif of one
/// group in [`MEMBER_EVERY`]; one group in three closed.
async fn working_group(
    db: &Db,
    structure_id: i64,
    p: usize,
    others: &[(i64, String)],
    member: i64,
) -> anyhow::Result<Plan> {
    let size = (5 + (p * 7) % 26).min(others.len());
    let start = (p * MEMBERS_PER_PROJECT) % others.len();
    let people: Vec<&(i64, String)> = (0..size)
        .map(|i| &others[(start + i) % others.len()])
        .collect();
    let referent = people[0].clone();
    let name = format!(
        "{} – secteur {}",
        THEMES[p % THEMES.len()],
        p / THEMES.len() + 1
    );
    let open = p % 3 != 2;
    let group_id = db
        .create_group(
            structure_id,
            &name,
            "Groupe de travail du banc d’essai des projets.",
            open,
            referent.0,
        )
        .await?;
    let group = db
        .group(structure_id, group_id, referent.0)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the group just created is missing"))?;
    let mine = p.is_multiple_of(MEMBER_EVERY);
    let mut workers = vec![referent.clone()];
    let mut writers = vec![referent.clone()];
    let mut tx = db.begin_write().await?;
    for (i, person) in people.iter().enumerate().skip(1) {
        let role = if i == 1 && size >= 10 {
            GroupRole::Referent
        } else if i % 8 == 7 {
            GroupRole::Guest
        } else {
            GroupRole::Active
        };
        db.set_group_member_in(&mut tx, &group, person.0, role)
            .await?;
        if role != GroupRole::Guest {
            workers.push((*person).clone());
        }
        writers.push((*person).clone());
    }
    if mine {
        db.set_group_member_in(&mut tx, &group, member, GroupRole::Active)
            .await?;
        writers.push((member, MEMBER_NAME.to_string()));
    }
    tx.commit().await?;
    let mission = p % 6 + 1;
    Ok(Plan {
        index: p,
        group_id,
        name,
        mission: mission.to_string(),
        numero: format!("{mission}.{}", p / 6 + 1),
        referent,
        workers,
        writers,
        mine,
        busy: p.is_multiple_of(BUSY_EVERY),
        record: String::new(),
    })
}

/// Seeds the projects and their contents over the running server, checks the member's
/// pages, then measures.
async fn run(
    bench: &Bench<'_>,
    plans: &mut [Plan],
    tasks: usize,
    messages: usize,
    rounds: usize,
    seeding: Instant,
) -> anyhow::Result<()> {
    let state = bench.state;
    let mut client = Connection::open(bench.address).await?;
    let now = crate::storage::now_secs();
    let module = state
        .db
        .enabled_module(bench.structure_id, MODULE)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{MODULE} is not enabled in the benchmark structure"))?;
    let plugin = state.registry.get(MODULE, &module.version).await?;
    let records = Records {
        backend: state.db.backend(),
        schema: plugin.schema(),
        structure_id: bench.structure_id,
    };

    // 1. Each project through the module's form, as the coordinator, on its group.
    let started = Instant::now();
    for plan in plans.iter_mut() {
        create_project(&mut client, &bench.coordinator, plan, now).await?;
        plan.record = project_record(state, &records, plan.group_id).await?;
    }
    println!(
        "{} projects created through the module's form in {:.1} s",
        plans.len(),
        started.elapsed().as_secs_f64()
    );
    let plans: &[Plan] = plans;

    // 2. Their actions, tasks, assignees, time entries and messages in bulk.
    let started = Instant::now();
    let rows = Rows::build(plans, bench.member.0, tasks, messages, now)?;
    for (collection, items) in [
        (ACTIONS, &rows.actions),
        (TASKS, &rows.tasks),
        (ASSIGNEES, &rows.assignees),
        (ENTRIES, &rows.entries),
        (MESSAGES, &rows.messages),
    ] {
        insert(state, &records, collection, items).await?;
    }
    spread_messages(state, bench.structure_id, now).await?;
    println!(
        "{} actions, {} tasks ({} assignees), {} time entries and {} messages inserted through the records layer in {:.1} s",
        rows.actions.len(),
        rows.tasks.len(),
        rows.assignees.len(),
        rows.entries.len(),
        rows.messages.len(),
        started.elapsed().as_secs_f64()
    );

    // 3. Meetings of the member's projects through the agenda, until their copies are
    // on the project pages (the event delivery of `crate::serve`).
    let started = Instant::now();
    let mine: Vec<&Plan> = plans.iter().filter(|p| p.mine).collect();
    for plan in &mine {
        plan_meetings(&mut client, &bench.coordinator, plan, now).await?;
    }
    let expected = (mine.len() * MEETINGS.len()) as i64;
    await_meetings(state, &records, bench.structure_id, expected).await?;
    println!(
        "{expected} group meetings planned through the agenda's form and copied by the projects module in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("seeding: {:.1} s in all", seeding.elapsed().as_secs_f64());
    // A served installation refreshes its planner statistics every ten minutes
    // (`serve`): measure in that steady state, not right after a bulk insert.
    let started = Instant::now();
    state.db.refresh_planner_statistics().await?;
    println!(
        "planner statistics refreshed, as the server does periodically, in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // 4. The member's pages show what was seeded.
    let cookie = bench.member.1.as_str();
    verify(&mut client, cookie, &plans[0], &rows.contents[0], &rows).await?;
    println!(
        "check: the busiest of the member's projects lists its {} open tasks, its latest done ones, its latest {} messages (the newest, not the one before them) and its meetings; « Mes tâches » lists the member's {} open tasks",
        rows.contents[0].open,
        rows.contents[0].messages.min(PAGE_MESSAGES),
        rows.member_open
    );

    // 5. The measures.
    measure(&mut client, cookie, plans, &rows, rounds).await
}

/// Creates the project of `plan`'s group through the module's form (an existing group:
/// a coordinator's choice), the group's référent its coordinator.
async fn create_project(
    client: &mut Connection,
    coordinator: &str,
    plan: &Plan,
    now: i64,
) -> anyhow::Result<()> {
    let form = fields(vec![
        ("groupe", plan.group_id.to_string()),
        ("numero", plan.numero.clone()),
        ("mission", plan.mission.clone()),
        (
            "description",
            format!(
                "Projet {} du banc d’essai : {}, organisé avec les professionnels du secteur.",
                plan.numero, plan.name
            ),
        ),
        ("objectifs", OBJECTIVES.to_string()),
        ("date_debut", day(now, (plan.index % 300) as i64 - 400)?),
        ("date_fin", String::new()),
        ("coordinateur", plan.referent.0.to_string()),
    ]);
    let reply = client
        .post(&format!("{BASE}/nouveau"), coordinator, &form)
        .await?;
    let location = reply.location.clone().unwrap_or_default();
    anyhow::ensure!(
        reply.status == 303 && location.contains(&format!("/p/{}?", plan.group_id)),
        "creating project {} answered {} (Location {location:?}): {}",
        plan.numero,
        reply.status,
        excerpt(&reply.body)
    );
    Ok(())
}

/// The record id of the project of group `group_id`.
async fn project_record(
    state: &AppState,
    records: &Records<'_>,
    group_id: i64,
) -> anyhow::Result<String> {
    let spec = QuerySpec {
        filter: "group_id = {:g}".into(),
        params: json!({ "g": group_id.to_string() }).to_string(),
        limit: 1,
        ..Default::default()
    };
    let mut conn = state.db.pool().acquire().await?;
    let page = records.query(&mut conn, PROJECTS, &spec).await?;
    page.items
        .first()
        .and_then(|p| p["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no project record for group {group_id} after its creation"))
}

/// Record ids of the host's shape (11 hex digits of milliseconds, then 12 more digits),
/// chosen here: a task names its series in its own insert, and a message's id carries
/// its place in time ([`Ids::at`]).
struct Ids {
    prefix: String,
    issued: i64,
}

impl Ids {
    fn new(now: i64) -> Ids {
        Ids {
            prefix: format!("{:011x}", now * 1000),
            issued: 0,
        }
    }

    /// A new id (of an action or a task).
    fn fresh(&mut self) -> String {
        self.issued += 1;
        format!("{}{:012}", self.prefix, self.issued)
    }

    /// The id of the message of project `project` written `offset` seconds into the
    /// [`SPAN`]: [`spread_messages`] reads the offset back.
    fn at(&self, offset: i64, project: usize) -> String {
        format!("{}{:012}", self.prefix, offset * 10_000 + project as i64)
    }
}

/// The records seeded in bulk, as JSON text, and what the pages should show of them.
struct Rows {
    actions: Vec<String>,
    tasks: Vec<String>,
    assignees: Vec<String>,
    entries: Vec<String>,
    messages: Vec<String>,
    /// Per project, in the order of the plans.
    contents: Vec<Contents>,
    /// The measured member's open tasks, and the title of one of them.
    member_open: usize,
    member_title: Option<String>,
}

/// What one project holds.
struct Contents {
    open: usize,
    done: usize,
    /// The title of its first open task.
    first_open: Option<String>,
    messages: usize,
    /// The number (« Message n° … ») of its oldest message; the others follow.
    first_message: usize,
}

impl Rows {
    fn build(
        plans: &[Plan],
        member: i64,
        tasks: usize,
        messages: usize,
        now: i64,
    ) -> anyhow::Result<Rows> {
        let mut ids = Ids::new(now);
        let mut rows = Rows {
            actions: Vec::new(),
            tasks: Vec::with_capacity(tasks),
            assignees: Vec::new(),
            entries: Vec::with_capacity(tasks * ENTRIES_PER_TASK),
            messages: Vec::with_capacity(messages),
            contents: Vec::with_capacity(plans.len()),
            member_open: 0,
            member_title: None,
        };
        let year = day(now, 0)?
            .get(..4)
            .and_then(|y| y.parse::<i64>().ok())
            .unwrap_or(2026);
        let busy = plans.iter().filter(|p| p.busy).count();
        let quiet = plans.len() - busy;
        let busy_messages = if quiet == 0 { messages } else { messages / 2 };
        let (mut busy_rank, mut quiet_rank) = (0, 0);
        let mut number = 1;
        for plan in plans {
            let p = plan.index;
            let actions: Vec<String> = (0..ACTIONS_PER_PROJECT).map(|_| ids.fresh()).collect();
            for (a, id) in actions.iter().enumerate() {
                rows.actions.push(
                    json!({
                        "id": id,
                        "project": plan.record,
                        "numero": format!("{}.{}", plan.numero, a + 1),
                        "title": format!("{} du projet {}", ACTION_TITLES[a % ACTION_TITLES.len()], plan.numero),
                        "description": "",
                        "year": year,
                        "status": ACTION_STATUSES[a % ACTION_STATUSES.len()],
                        "position": a,
                    })
                    .to_string(),
                );
            }
            let mut contents = Contents {
                open: 0,
                done: 0,
                first_open: None,
                messages: 0,
                first_message: number,
            };
            for t in 0..share(tasks, plans.len(), p) {
                let task = seeded_task(plan, t, member, &actions, &ids.fresh(), now)?;
                if task.done {
                    contents.done += 1;
                } else {
                    contents.open += 1;
                    if contents.first_open.is_none() {
                        contents.first_open = Some(task.title.clone());
                    }
                    if task.mine {
                        rows.member_open += 1;
                        if rows.member_title.is_none() {
                            rows.member_title = Some(task.title.clone());
                        }
                    }
                }
                rows.tasks.push(task.task);
                rows.assignees.extend(task.assignees);
                rows.entries.extend(task.entries);
            }
            // The thread: its share of the messages, evenly over the SPAN.
            let count = if plan.busy {
                busy_rank += 1;
                share(busy_messages, busy, busy_rank - 1)
            } else {
                quiet_rank += 1;
                share(messages - busy_messages, quiet, quiet_rank - 1)
            };
            let step = SPAN / count.max(1) as i64;
            let jitter = ((p * 37) % 600) as i64;
            for k in 0..count {
                let (author, name) = &plan.writers[(k * 7 + p) % plan.writers.len()];
                rows.messages.push(
                    json!({
                        "id": ids.at(k as i64 * step + jitter, p),
                        "subject": format!("projet:{}", plan.group_id),
                        "author": author.to_string(),
                        "author_name": name,
                        "text": message_text(number, plan, k),
                        "edited": false,
                    })
                    .to_string(),
                );
                number += 1;
            }
            contents.messages = count;
            rows.contents.push(contents);
        }
        Ok(rows)
    }
}

/// `total` shared between `parts`: the share of part `i` (the first ones one more).
fn share(total: usize, parts: usize, i: usize) -> usize {
    total / parts + usize::from(i < total % parts)
}

/// One task of a project with its assignees and its time entries, as the module writes
/// them (`tasks::create`, then `tasks::done` for those done, `timelog::log`).
struct SeededTask {
    title: String,
    done: bool,
    /// Whether the measured member is one of its assignees.
    mine: bool,
    task: String,
    assignees: Vec<String>,
    entries: Vec<String>,
}

/// Task `t` of `plan`: one in two done; due from two months ago to four months ahead,
/// one in seven without a due date, one open task in ten monthly; linked to one of the
/// project's `actions` three times in four; 2 or 3 assignees among its référents and
/// membres actifs (the measured member, first, on tasks 2 and 5 of every 8 of their
/// projects: 60 open tasks for 20 projects of 25 tasks); four time entries of 30 min to
/// 2 h in the last four months.
fn seeded_task(
    plan: &Plan,
    t: usize,
    member: i64,
    actions: &[String],
    id: &str,
    now: i64,
) -> anyhow::Result<SeededTask> {
    let p = plan.index;
    let title = format!(
        "Tâche {} du projet {} : {}",
        t + 1,
        plan.numero,
        TOPICS[(t + p) % TOPICS.len()]
    );
    let done = t % 2 == 1;
    let mine = plan.mine && matches!(t % 8, 2 | 5);
    let due = if t % 7 == 6 {
        None
    } else {
        Some(day(now, ((t * 37 + p * 11) % 180) as i64 - 60)?)
    };
    let due_sort = due.clone().unwrap_or_else(|| NO_DUE.to_string());
    let recurring = !done && due.is_some() && t % 10 == 4;
    let anchor = due
        .as_deref()
        .and_then(|d| d.get(8..10))
        .and_then(|d| d.parse::<i64>().ok());
    let status = if done { DONE } else { TODO };

    let wanted = 2 + (t + p) % 2;
    let mut people: Vec<(i64, &str)> = Vec::with_capacity(wanted);
    if mine {
        people.push((member, MEMBER_NAME));
    }
    for k in 0..plan.workers.len() {
        if people.len() >= wanted {
            break;
        }
        let (account, name) = &plan.workers[(t * 3 + k) % plan.workers.len()];
        if !people.iter().any(|(a, _)| a == account) {
            people.push((*account, name.as_str()));
        }
    }

    let mut entries = Vec::with_capacity(ENTRIES_PER_TASK);
    let mut minutes = 0;
    for e in 0..ENTRIES_PER_TASK {
        let (person, name) = people[e % people.len()];
        let date = day(now, -1 - ((t * 13 + e * 29 + p) % 120) as i64)?;
        let spent = 30 + 15 * ((t + e * 3 + p) % 7) as i64;
        minutes += spent;
        entries.push(
            json!({
                "task": id,
                "project": plan.record,
                "group_id": plan.group_id.to_string(),
                "mission": plan.mission,
                "person": person.to_string(),
                "person_name": name,
                "date": date,
                "year": date.get(0..4).and_then(|y| y.parse::<i64>().ok()),
                "month": date.get(0..7),
                "project_person": format!("{}:{person}", plan.record),
                "minutes": spent,
                "note": "",
                "entered_by": person.to_string(),
                "entered_by_name": name,
                "on_behalf": false,
                "revision": 1,
            })
            .to_string(),
        );
    }

    let (done_at, done_by, done_by_name) = if done {
        let (by, name) = people[0];
        let ago = 3_600 + ((t * 3_607 + p * 613) % (30 * 86_400)) as i64;
        (Some(now - ago), Some(by.to_string()), Some(name))
    } else {
        (None, None, None)
    };
    let task = json!({
        "id": id,
        "project": plan.record,
        "group_id": plan.group_id.to_string(),
        "action": (t % 4 != 3).then(|| actions[t % actions.len()].clone()),
        "title": title,
        "description": if t.is_multiple_of(3) { "Voir le compte-rendu de la dernière réunion du groupe." } else { "" },
        "due_date": due,
        "due_sort": due_sort,
        "status": status,
        "done_at": done_at,
        "done_by": done_by,
        "done_by_name": done_by_name,
        "recurrence_unit": recurring.then_some("mois"),
        "recurrence_every": recurring.then_some(1),
        "recurrence_anchor": if recurring { anchor } else { None },
        "series": id,
        "occurrence": 1,
        "meeting": null,
        "meeting_title": "",
        "created_by": plan.referent.0.to_string(),
        "created_by_name": plan.referent.1,
        "minutes": minutes,
    })
    .to_string();
    let assignees = people
        .iter()
        .map(|(account, name)| {
            json!({
                "task": id,
                "user": account.to_string(),
                "user_name": name,
                "project": plan.record,
                "group_id": plan.group_id.to_string(),
                "project_name": plan.name,
                "title": title,
                "due_sort": due_sort,
                "status": status,
                "recurring": recurring,
            })
            .to_string()
        })
        .collect();
    Ok(SeededTask {
        title,
        done,
        mine,
        task,
        assignees,
        entries,
    })
}

/// Message `number` (the `k`-th of its project's thread), one or three lines.
fn message_text(number: usize, plan: &Plan, k: usize) -> String {
    let mut text = format!(
        "{} point d’avancement du projet « {} ».",
        message_marker(number),
        plan.name
    );
    if k.is_multiple_of(3) {
        text.push_str(
            "\nProchaine étape : relire la fiche réflexe et la diffuser aux membres du groupe.",
        );
    }
    if k.is_multiple_of(5) {
        text.push_str(
            "\nJe propose d’en parler à la prochaine réunion du groupe, avant la fin du mois.",
        );
    }
    text
}

/// The start of message `number`'s text, found on the page only for that message.
fn message_marker(number: usize) -> String {
    format!("Message n° {number} :")
}

/// Inserts `rows` into `collection` through the host's records layer, [`BATCH`] per
/// transaction.
async fn insert(
    state: &AppState,
    records: &Records<'_>,
    collection: &str,
    rows: &[String],
) -> anyhow::Result<()> {
    for chunk in rows.chunks(BATCH) {
        let mut tx = state.db.begin_write().await?;
        records
            .insert_many(&mut tx, collection, chunk)
            .await
            .map_err(|e| anyhow::anyhow!("seeding {collection}: {e}"))?;
        tx.commit().await?;
    }
    Ok(())
}

/// The host dates every record at its insert: dates each message at the offset its id
/// carries ([`Ids::at`]) into the [`SPAN`] before `now`, as if written over six months
/// (threads list messages by `created_at`).
async fn spread_messages(state: &AppState, structure_id: i64, now: i64) -> anyhow::Result<()> {
    let table = crate::storage::collections::table_name(MODULE, MESSAGES);
    let offset = "CAST(substr(id, 12) AS BIGINT) / 10000";
    sqlx::query(&format!(
        "UPDATE {table} SET created_at = $1 + {offset}, updated_at = $2 + {offset} WHERE structure_id = $3"
    ))
    .bind(now - SPAN)
    .bind(now - SPAN)
    .bind(structure_id)
    .execute(state.db.pool())
    .await?;
    Ok(())
}

/// The titles of the meetings planned for `plan`'s group, in [`MEETINGS`] order.
fn meeting_titles(plan: &Plan) -> Vec<String> {
    MEETINGS
        .iter()
        .map(|(what, _)| format!("Réunion du projet {} : {what}", plan.numero))
        .collect()
}

/// Plans the [`MEETINGS`] of `plan`'s group through the agenda's form, as the
/// coordinator, the group invited.
async fn plan_meetings(
    client: &mut Connection,
    coordinator: &str,
    plan: &Plan,
    now: i64,
) -> anyhow::Result<()> {
    for (title, (_, days)) in meeting_titles(plan).into_iter().zip(MEETINGS) {
        let form = fields(vec![
            ("titre", title),
            ("groupe", plan.group_id.to_string()),
            ("type", "groupe-de-travail".to_string()),
            ("debut", local_input(now + days * 86_400, ZONE)?),
            ("fuseau", ZONE.to_string()),
            ("duree", "90".to_string()),
            ("lieu", "Maison de santé, salle de réunion".to_string()),
            (
                "ordre_du_jour",
                "Avancement des tâches ; questions diverses.".to_string(),
            ),
            ("invites", "groupe".to_string()),
        ]);
        let reply = client
            .post(&format!("{AGENDA}/nouvelle"), coordinator, &form)
            .await?;
        anyhow::ensure!(
            reply.status == 303,
            "planning a meeting of project {} answered {}: {}",
            plan.numero,
            reply.status,
            excerpt(&reply.body)
        );
    }
    Ok(())
}

/// Waits until the projects module holds `expected` group meetings (the agenda's
/// `meeting.saved` delivered by the server's dispatcher).
async fn await_meetings(
    state: &AppState,
    records: &Records<'_>,
    structure_id: i64,
    expected: i64,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + DELIVERY_WAIT;
    loop {
        let copied = {
            let mut conn = state.db.pool().acquire().await?;
            records.count(&mut conn, GROUP_MEETINGS, "", "").await?
        };
        if copied >= expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            let failing = crate::events::failing_deliveries(state, structure_id).await?;
            let why = failing
                .first()
                .map(|d| {
                    format!(
                        "; {} to {}: {}",
                        d.topic,
                        d.plugin_id,
                        d.last_error.as_deref().unwrap_or("")
                    )
                })
                .unwrap_or_default();
            anyhow::bail!(
                "{copied} of the {expected} group meetings reached the projects module within {} s{why}",
                DELIVERY_WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// On the page of `plan` (the member's busiest project): its open tasks and latest done
/// ones, its latest messages (the newest, not the one before them), its meetings; on
/// « Mes tâches »: every open task of the member.
async fn verify(
    client: &mut Connection,
    cookie: &str,
    plan: &Plan,
    contents: &Contents,
    rows: &Rows,
) -> anyhow::Result<()> {
    let path = format!("{BASE}/p/{}", plan.group_id);
    let page = client.get(&path, cookie).await?;
    anyhow::ensure!(
        page.status == 200,
        "the page of project {} answered {}: {}",
        plan.numero,
        page.status,
        excerpt(&page.body)
    );
    let body = &page.body;
    let listed = body.matches("data-tache=\"").count();
    let done = contents.done.min(PAGE_DONE);
    anyhow::ensure!(
        listed == contents.open + done,
        "the page of project {} lists {listed} tasks, {} expected ({} open, the latest {done} done)",
        plan.numero,
        contents.open + done,
        contents.open
    );
    if let Some(title) = &contents.first_open {
        anyhow::ensure!(
            body.contains(title.as_str()),
            "the page of project {} does not show the task « {title} »",
            plan.numero
        );
    }
    let shown = body.matches("id=\"message-").count();
    let expected = contents.messages.min(PAGE_MESSAGES);
    anyhow::ensure!(
        shown == expected,
        "the page of project {} shows {shown} messages of its thread, {expected} expected",
        plan.numero
    );
    if contents.messages > 0 {
        let newest = message_marker(contents.first_message + contents.messages - 1);
        anyhow::ensure!(
            body.contains(&newest),
            "the page of project {} does not show its newest message « {newest} … »",
            plan.numero
        );
    }
    if contents.messages > PAGE_MESSAGES {
        let older = message_marker(contents.first_message + contents.messages - PAGE_MESSAGES - 1);
        anyhow::ensure!(
            !body.contains(&older),
            "the page of project {} shows « {older} … », older than its latest {PAGE_MESSAGES} messages",
            plan.numero
        );
    }
    for title in meeting_titles(plan) {
        anyhow::ensure!(
            body.contains(&title),
            "the page of project {} does not show its meeting « {title} »",
            plan.numero
        );
    }

    let page = client.get(&format!("{BASE}/mes-taches"), cookie).await?;
    anyhow::ensure!(
        page.status == 200,
        "« Mes tâches » answered {}: {}",
        page.status,
        excerpt(&page.body)
    );
    let listed = page.body.matches("data-tache=\"").count();
    anyhow::ensure!(
        listed == rows.member_open,
        "« Mes tâches » lists {listed} tasks, the member has {} open tasks",
        rows.member_open
    );
    if let Some(title) = &rows.member_title {
        anyhow::ensure!(
            page.body.contains(title.as_str()),
            "« Mes tâches » does not show the task « {title} »"
        );
    }
    Ok(())
}

/// The poller's path on a project page (`div#fil-suivi`'s `hx-get`).
fn poller_path(page: &str) -> Option<String> {
    let rest = &page[page.find("id=\"fil-suivi\"")?..];
    let start = rest.find("hx-get=\"")? + "hx-get=\"".len();
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].replace("&amp;", "&"))
}

/// (a) to (d), as the measured member, after a warm-up.
async fn measure(
    client: &mut Connection,
    cookie: &str,
    plans: &[Plan],
    rows: &Rows,
    rounds: usize,
) -> anyhow::Result<()> {
    let mine: Vec<&Plan> = plans.iter().filter(|p| p.mine).collect();
    let pages: Vec<String> = mine
        .iter()
        .map(|p| format!("{BASE}/p/{}", p.group_id))
        .collect();
    let tasks = [format!("{BASE}/mes-taches")];
    let dashboard = [format!("/{SLUG}/")];
    let busiest = client.get(&pages[0], cookie).await?;
    let poll_path = poller_path(&busiest.body)
        .ok_or_else(|| anyhow::anyhow!("the project page shows no poller (div#fil-suivi)"))?;
    let poller = [poll_path];

    // Warm-up: every page once (the member's read marker of each thread moves to its
    // newest message: the measured pages only read), and the connection's floor.
    for path in pages.iter().chain(&tasks).chain(&dashboard).chain(&poller) {
        client.get(path, cookie).await?;
        client.get("/healthz", cookie).await?;
    }

    // (a) The project page, cycling through the member's projects.
    let page = timed(client, cookie, &pages, 200, rounds).await?;
    report(
        &format!(
            "(a) project page, cycling through the member's {} projects",
            pages.len()
        ),
        &page,
        Some(TARGET),
    );
    let (mut busy, mut quiet) = (Vec::new(), Vec::new());
    for (n, took) in page.samples.iter().enumerate() {
        if mine[n % mine.len()].busy {
            busy.push(*took);
        } else {
            quiet.push(*took);
        }
    }
    busy.sort();
    quiet.sort();
    let average = |of_busy: bool| {
        let counts: Vec<usize> = plans
            .iter()
            .zip(&rows.contents)
            .filter(|(p, _)| p.busy == of_busy)
            .map(|(_, c)| c.messages)
            .collect();
        counts.iter().sum::<usize>() / counts.len().max(1)
    };
    println!(
        "    busy projects (about {} messages each): {}; the others (about {} messages each): {}",
        average(true),
        quantiles(&busy),
        average(false),
        quantiles(&quiet)
    );

    // (b) « Mes tâches ».
    let mes = timed(client, cookie, &tasks, 200, rounds).await?;
    report(
        &format!(
            "(b) « Mes tâches » of a member with {} open tasks",
            rows.member_open
        ),
        &mes,
        Some(TARGET),
    );

    // (c) The dashboard: the widgets of both modules (my projects, my tasks, the
    // announcements, the unread threads; the agenda's).
    let home = timed(client, cookie, &dashboard, 200, rounds).await?;
    report("(c) the structure's dashboard and its widgets", &home, None);

    // (d) The thread's poller of the busiest project, nothing new.
    let poll = timed(client, cookie, &poller, 204, rounds).await?;
    report("(d) the thread's poller, nothing new (204)", &poll, None);
    Ok(())
}

/// Requests timed against the floor measured right after each.
struct Timed {
    /// In request order.
    samples: Vec<Duration>,
    floor: Vec<Duration>,
    /// The largest body.
    bytes: usize,
}

/// `rounds` GETs cycling through `paths`, each to answer `status`, each followed by
/// `/healthz` on the same connection (the floor: session, routing, one round trip).
async fn timed(
    client: &mut Connection,
    cookie: &str,
    paths: &[String],
    status: u16,
    rounds: usize,
) -> anyhow::Result<Timed> {
    let mut timed = Timed {
        samples: Vec::with_capacity(rounds),
        floor: Vec::with_capacity(rounds),
        bytes: 0,
    };
    for n in 0..rounds {
        let path = &paths[n % paths.len()];
        let t = Instant::now();
        let reply = client.get(path, cookie).await?;
        let took = t.elapsed();
        anyhow::ensure!(
            reply.status == status,
            "{path} answered {}, {status} expected: {}",
            reply.status,
            excerpt(&reply.body)
        );
        timed.bytes = timed.bytes.max(reply.body.len());
        let t = Instant::now();
        client.get("/healthz", cookie).await?;
        timed.floor.push(t.elapsed());
        timed.samples.push(took);
    }
    Ok(timed)
}

/// Prints p50, p95 and max of `timed`, the target met or not, and the floor.
fn report(what: &str, timed: &Timed, target: Option<Duration>) {
    let mut samples = timed.samples.clone();
    samples.sort();
    let mut floor = timed.floor.clone();
    floor.sort();
    let p95 = pct(&samples, 0.95);
    let verdict = match target {
        Some(target) => format!(
            "; target p95 < {} ms: {}",
            target.as_millis(),
            met(p95 < target)
        ),
        None => String::new(),
    };
    println!(
        "{what} ({} requests, {} KB): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms{verdict}",
        samples.len(),
        timed.bytes / 1024,
        ms(pct(&samples, 0.50)),
        ms(p95),
        ms(*samples.last().unwrap_or(&Duration::ZERO)),
    );
    let healthz = ms(pct(&floor, 0.50)).max(1e-9);
    println!(
        "    baseline /healthz on the same connection: p50 {:.3} ms (p50 = {:.0}x)",
        ms(pct(&floor, 0.50)),
        ms(pct(&samples, 0.50)) / healthz,
    );
}

/// "p50 … ms, p95 … ms" of sorted samples, or that there are none.
fn quantiles(sorted: &[Duration]) -> String {
    if sorted.is_empty() {
        return "none measured".into();
    }
    format!(
        "p50 {:.2} ms, p95 {:.2} ms",
        ms(pct(sorted, 0.50)),
        ms(pct(sorted, 0.95))
    )
}

/// The day `days` from `now` in the structure's zone, "YYYY-MM-DD".
fn day(now: i64, days: i64) -> anyhow::Result<String> {
    let local = local_datetime(now + days * 86_400, ZONE)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        local.year(),
        local.month(),
        local.day()
    ))
}

/// A form's fields from (name, value) pairs.
fn fields(pairs: Vec<(&str, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}
