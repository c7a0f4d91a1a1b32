//! Demo data: structures, accounts with every role, a group, and the bundled modules
//! installed, enabled and granted. Idempotent: running it twice changes nothing.

use crate::http::AppState;
use crate::identity::Account;
use crate::tenancy::{Role, StructureKind};

pub struct DemoStructure {
    pub slug: &'static str,
    pub name: &'static str,
    pub kind: StructureKind,
    pub time_zone: &'static str,
    pub territory: &'static str,
}

pub const DEMO_STRUCTURES: &[DemoStructure] = &[
    DemoStructure {
        slug: "cpts-demo",
        name: "CPTS Démo",
        kind: StructureKind::Cpts,
        time_zone: "Europe/Paris",
        territory: "74000, 74960, 74100, 74370, 74940",
    },
    DemoStructure {
        slug: "msp-cayenne",
        name: "MSP de Cayenne (démo)",
        kind: StructureKind::Msp,
        time_zone: "America/Cayenne",
        territory: "97300, 97310, 97320",
    },
];

/// Every demo account has this password (printed by `maillage demo`).
pub const DEMO_PASSWORD: &str = "maillage-demo";

pub struct DemoAccount {
    pub email: &'static str,
    pub username: &'static str,
    pub name: &'static str,
    pub operator: bool,
    /// (structure slug, role, holds the directory's module role « gestionnaire »)
    pub memberships: &'static [(&'static str, Role, bool)],
}

pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "operateur@demo.maillage.fr",
        username: "operateur",
        name: "Olivia Opératrice",
        operator: true,
        memberships: &[],
    },
    DemoAccount {
        email: "admin@demo.maillage.fr",
        username: "admin",
        name: "Alice Administratrice",
        operator: false,
        memberships: &[
            ("cpts-demo", Role::Admin, true),
            ("msp-cayenne", Role::Member, false),
        ],
    },
    DemoAccount {
        email: "coordination@demo.maillage.fr",
        username: "coordination",
        name: "Camille Coordinatrice",
        operator: false,
        memberships: &[("cpts-demo", Role::Coordinator, true)],
    },
    DemoAccount {
        email: "membre@demo.maillage.fr",
        username: "membre",
        name: "Marc Médecin",
        operator: false,
        memberships: &[("cpts-demo", Role::Member, false)],
    },
    DemoAccount {
        email: "cayenne@demo.maillage.fr",
        username: "cayenne",
        name: "Clara Infirmière",
        operator: false,
        memberships: &[("msp-cayenne", Role::Admin, true)],
    },
];

async fn demo_account(state: &AppState, demo: &DemoAccount) -> anyhow::Result<Account> {
    if let Some(account) = state.db.account_by_login(demo.email).await? {
        return Ok(account);
    }
    let account = state
        .db
        .create_account(demo.email, Some(demo.username), demo.name)
        .await?;
    state.db.set_password(account.id, DEMO_PASSWORD).await?;
    state
        .db
        .set_platform_operator(account.id, demo.operator)
        .await?;
    Ok(account)
}

/// `maillage demo --seed-only`: opens the installation of `config`, seeds the demo data
/// (as `maillage demo` does before serving; a second run changes nothing), prints the
/// structures and the accounts, and returns without serving. Mail the seeding queues
/// (poll invitations, meeting notices) waits in the outbox: no SMTP sink is started, and
/// `maillage demo` or `serve` on the same data folder delivers it.
pub async fn seed_only(config: &crate::config::Config) -> anyhow::Result<()> {
    let state = crate::open(config).await?;
    seed(&state).await?;
    println!(
        "Données de démonstration prêtes dans {}",
        config.data_dir.display()
    );
    println!("Structures :");
    for s in DEMO_STRUCTURES {
        println!("  {:<13} {}", s.slug, s.name);
    }
    println!("Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :");
    for a in DEMO_ACCOUNTS {
        println!("  {:<32} identifiant {}", a.email, a.username);
    }
    Ok(())
}

/// Installs the bundled plugins and enables them, with every capability they ask for,
/// for the demo structures; creates the demo accounts and one group.
pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    let mut installed = Vec::new();
    for (id, wasm) in crate::BUNDLED {
        let plugin = state
            .registry
            .install(wasm)
            .await
            .map_err(|e| anyhow::anyhow!("installing bundled plugin {id}: {e}"))?;
        let m = plugin.manifest();
        let granted: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
        installed.push((m.id.clone(), m.version.to_string(), granted));
    }
    let mut created = Vec::new();
    for demo in DEMO_STRUCTURES {
        let structure = match state.db.structure_by_slug(demo.slug).await? {
            Some(s) => s,
            None => {
                let s = state
                    .db
                    .create_structure(demo.slug, demo.name, demo.kind, demo.time_zone)
                    .await?;
                state.db.set_territory(s.id, demo.territory).await?;
                let s = state.db.structure(s.id).await?.unwrap_or(s);
                for (id, version, granted) in &installed {
                    state.db.enable_module(s.id, id, version, granted).await?;
                }
                created.push((demo, s.clone()));
                s
            }
        };
        tracing::debug!(structure = %structure.slug, "demo structure ready");
    }
    for demo in DEMO_ACCOUNTS {
        let account = demo_account(state, demo).await?;
        for (slug, role, gestionnaire) in demo.memberships {
            if let Some(structure) = state.db.structure_by_slug(slug).await?
                && state.db.member(structure.id, account.id).await?.is_none()
            {
                state
                    .db
                    .set_membership(structure.id, account.id, *role)
                    .await?;
                if *gestionnaire {
                    crate::people::grant_module_role(
                        &state.db,
                        structure.id,
                        account.id,
                        "annuaire",
                        "gestionnaire",
                    )
                    .await?;
                }
            }
        }
    }
    if let Some(structure) = state.db.structure_by_slug("cpts-demo").await?
        && let Some(coordinator) = state.db.account_by_login("coordination").await?
        && state
            .db
            .groups(structure.id, coordinator.id)
            .await?
            .is_empty()
    {
        let group = state
            .db
            .create_group(
                structure.id,
                "Parcours insuffisance cardiaque",
                "Groupe projet : parcours de soins des patients insuffisants cardiaques sur le territoire.",
                true,
                coordinator.id,
            )
            .await?;
        if let (Some(g), Some(member)) = (
            state.db.group(structure.id, group, coordinator.id).await?,
            state.db.account_by_login("membre").await?,
        ) {
            state
                .db
                .set_group_member(&g, member.id, crate::groups::GroupRole::Active)
                .await
                .map_err(|e| anyhow::anyhow!("demo group: {e}"))?;
        }
    }
    for (demo, structure) in &created {
        seed_people_and_rules(state, demo, structure).await?;
    }
    for (demo, structure) in created {
        import_directory(state, demo, &structure).await?;
        seed_polls(state, demo, &structure).await?;
        seed_meetings(state, demo, &structure).await?;
        seed_indemnities(state, demo, &structure).await?;
    }
    Ok(())
}

/// A closed meeting of the CPTS's working group two months ago, its lines delivered,
/// approved and one of them paid; the group's budget of the year with one expense. The
/// closing of `seed_meetings` stays in draft for the treasurer to approve.
async fn seed_indemnities(
    state: &AppState,
    demo: &DemoStructure,
    structure: &crate::tenancy::Structure,
) -> anyhow::Result<()> {
    if demo.slug != "cpts-demo" {
        crate::events::dispatch(state).await?;
        return Ok(());
    }
    let Some(coordinator) = state.db.account_by_login("coordination").await? else {
        return Ok(());
    };
    let Some(group) = state
        .db
        .groups(structure.id, coordinator.id)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let zone = demo.time_zone;
    let form: Vec<(String, String)> = [
        (
            "titre",
            "Parcours insuffisance cardiaque : réunion de lancement".to_string(),
        ),
        ("groupe", group.id.to_string()),
        ("type", "groupe-de-travail".to_string()),
        ("debut", local_slot(zone, -60, 20, 0)),
        ("fuseau", zone.to_string()),
        ("duree", "120".to_string()),
        ("lieu", "Visioconférence".to_string()),
        (
            "ordre_du_jour",
            "Repérage des patients, fiche de liaison ville-hôpital, calendrier.".to_string(),
        ),
        ("invites", "groupe".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    closed_meeting(
        state,
        structure,
        "coordination",
        &["coordination", "membre"],
        &form,
        "group ",
    )
    .await?;
    // The indemnity module computes its lines when it receives the closings.
    crate::events::dispatch(state).await?;

    let treasury = call_module(
        state,
        structure,
        "indemnites",
        "admin",
        &format!("/tresorerie?groupe={}", group.id),
        None,
    )
    .await?;
    // The lines the treasurer may select: not their own (another treasurer approves it).
    let ids: Vec<String> = treasury
        .body
        .split("name=\"ligne\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    let mut bulk: Vec<(String, String)> = ids
        .iter()
        .map(|id| ("ligne".to_string(), id.clone()))
        .collect();
    if !bulk.is_empty() {
        let approved = call_module(
            state,
            structure,
            "indemnites",
            "admin",
            "/tresorerie/approuver",
            Some(&bulk),
        )
        .await?;
        anyhow::ensure!(
            approved.status == 303,
            "demo approval refused ({}): {}",
            approved.status,
            approved.body
        );
    }
    if let Some(first) = ids.first() {
        let paid_on = local_slot(zone, -20, 0, 0);
        let pay = [
            ("date".to_string(), paid_on[..10].to_string()),
            ("reference".to_string(), "VIR-2026-0042".to_string()),
        ];
        call_module(
            state,
            structure,
            "indemnites",
            "admin",
            &format!("/lignes/{first}/payer"),
            Some(&pay),
        )
        .await?;
    }
    bulk.clear();
    let year = local_slot(zone, 0, 0, 0)[..4].to_string();
    let budget: Vec<(String, String)> = [
        ("action", "budget"),
        ("groupe", &group.id.to_string()),
        ("annee", &year),
        ("part_fixe", "3 000"),
        ("part_variable", "1 500"),
        ("seuil", "80"),
        ("mission", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    call_module(
        state,
        structure,
        "indemnites",
        "admin",
        "/budgets",
        Some(&budget),
    )
    .await?;
    let expense: Vec<(String, String)> = [
        ("action", "depense"),
        ("groupe", &group.id.to_string()),
        ("libelle", "Impression des fiches de liaison"),
        ("montant", "145,20"),
        ("date", &local_slot(zone, -30, 0, 0)[..10]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    call_module(
        state,
        structure,
        "indemnites",
        "admin",
        "/budgets",
        Some(&expense),
    )
    .await?;
    Ok(())
}

/// « Fiches membre » (profession, exercise mode, convention, adhesions), the treasurer
/// role, and the default rule set in force since 2024, so that closing an attendance
/// produces indemnity lines.
async fn seed_people_and_rules(
    state: &AppState,
    demo: &DemoStructure,
    structure: &crate::tenancy::Structure,
) -> anyhow::Result<()> {
    use crate::people::{self, ExerciseMode};
    // (login, profession, mode, convention, adherent since)
    let facts: &[(&str, &str, ExerciseMode, bool, &str)] = if demo.slug == "cpts-demo" {
        &[
            (
                "coordination",
                "Infirmier",
                ExerciseMode::Liberal,
                false,
                "2024-01-15",
            ),
            (
                "membre",
                "Médecin",
                ExerciseMode::Liberal,
                false,
                "2024-03-01",
            ),
            (
                "admin",
                "Pharmacien",
                ExerciseMode::Salarie,
                true,
                "2025-01-10",
            ),
        ]
    } else {
        &[
            (
                "cayenne",
                "Infirmier",
                ExerciseMode::Liberal,
                false,
                "2024-02-01",
            ),
            (
                "admin",
                "Pharmacien",
                ExerciseMode::Salarie,
                false,
                "2025-01-10",
            ),
        ]
    };
    let now = crate::storage::now_secs();
    let mut conn = state.db.pool().acquire().await?;
    for (login, profession, mode, convention, since) in facts {
        let Some(account) = state.db.account_by_login(login).await? else {
            continue;
        };
        people::set_facts(
            &mut conn,
            structure.id,
            account.id,
            Some(profession),
            *mode,
            *convention,
            now,
        )
        .await?;
        people::add_adhesion(&mut conn, structure.id, account.id, since, None, now).await?;
    }
    let treasurer = if demo.slug == "cpts-demo" {
        "admin"
    } else {
        "cayenne"
    };
    if let Some(account) = state.db.account_by_login(treasurer).await? {
        people::set_module_role(
            &mut conn,
            structure.id,
            account.id,
            "indemnites",
            "tresorier",
            true,
            account.id,
            now,
        )
        .await?;
    }
    if let Some((id, _)) = crate::BUNDLED_RULE_SETS.first() {
        let rule_set = state
            .registry
            .rule_sets()
            .installed()
            .await?
            .into_iter()
            .rfind(|r| r.id == id.trim_start_matches("rules-"));
        if let Some(rule_set) = rule_set {
            sqlx::query(
                "INSERT INTO rule_set_assignments (structure_id, rule_set_id, version, settings, effective_from, set_by, set_at) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            )
            .bind(structure.id)
            .bind(&rule_set.id)
            .bind(&rule_set.version)
            .bind("[]")
            .bind("2024-01-01")
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// What a module answered to a demo call.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// Calls the polls module of `structure` as the demo account `login`.
async fn call_polls(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    login: &str,
    path: &str,
    form: Option<&[(String, String)]>,
) -> anyhow::Result<Answer> {
    call_module(state, structure, "polls", login, path, form).await
}

/// The path of the meeting whose creation answered `answer`, below the agenda's prefix.
fn meeting_path(answer: &Answer) -> String {
    answer
        .location
        .as_deref()
        .and_then(|l| l.split("/agenda").nth(1))
        .and_then(|p| p.split('?').next())
        .map(str::to_string)
        .unwrap_or_default()
}

/// Creates a meeting of the agenda from `form` as `organiser`, has each of `attendees`
/// sign it present and closes its attendance as `organiser`, through the module's own
/// routes; `what` ("" or "group ") names the meeting in the errors.
async fn closed_meeting(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    organiser: &str,
    attendees: &[&str],
    form: &[(String, String)],
    what: &str,
) -> anyhow::Result<()> {
    let created = call_module(
        state,
        structure,
        "agenda",
        organiser,
        "/nouvelle",
        Some(form),
    )
    .await?;
    anyhow::ensure!(
        created.status == 303,
        "demo {what}meeting refused ({}): {}",
        created.status,
        created.body
    );
    let path = meeting_path(&created);
    for login in attendees {
        let sign = [(String::from("present"), String::from("1"))];
        call_module(
            state,
            structure,
            "agenda",
            login,
            &format!("{path}/signer"),
            Some(&sign),
        )
        .await?;
    }
    let closing = call_module(
        state,
        structure,
        "agenda",
        organiser,
        &format!("{path}/cloturer"),
        Some(&[]),
    )
    .await?;
    anyhow::ensure!(
        closing.status == 303,
        "demo {what}attendance not closed ({}): {}",
        closing.status,
        closing.body
    );
    Ok(())
}

/// Calls `module` of `structure` as the demo account `login`, as the browser would
/// (only the host's CSRF check is skipped): a GET when `form` is `None`.
async fn call_module(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    module_id: &str,
    login: &str,
    path: &str,
    form: Option<&[(String, String)]>,
) -> anyhow::Result<Answer> {
    let account = state
        .db
        .account_by_login(login)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo account {login} missing"))?;
    let membership = state
        .db
        .membership(account.id, &structure.slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{login} is not a member of {}", structure.slug))?;
    let module = state
        .db
        .enabled_module(structure.id, module_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{module_id} not enabled for {}", structure.slug))?;
    let plugin = state.registry.get(module_id, &module.version).await?;
    let granted = plugin.effective_capabilities(&module.granted);
    let ctx = crate::plugins::CallContext::anonymous(
        structure,
        module_id,
        &crate::storage::new_key(),
        "",
    )
    .with_user(&account, membership.role_names());
    let uri = format!("{}{path}", ctx.base_path);
    let request = match form {
        Some(form) => http::Request::post(uri)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(bytes::Bytes::from(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .finish(),
            ))?,
        None => http::Request::get(uri).body(bytes::Bytes::new())?,
    };
    let response = state
        .registry
        .runtime()
        .handle_http(&plugin, ctx, granted, request)
        .await
        .map_err(|e| anyhow::anyhow!("demo {module_id} call {path}: {e}"))?;
    Ok(Answer {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: String::from_utf8_lossy(response.body()).into_owned(),
    })
}

/// Local "YYYY-MM-DDTHH:MM" in `zone`, `days` from today at `hour`:`minute`.
fn local_slot(zone: &str, days: i64, hour: i8, minute: i8) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    let day = today
        .checked_add(jiff::Span::new().days(days))
        .unwrap_or(today);
    format!(
        "{:04}-{:02}-{:02}T{hour:02}:{minute:02}",
        day.year(),
        day.month(),
        day.day()
    )
}

/// Meetings, so that the agenda has a past one with its attendance closed (its event
/// published for the indemnities) and a coming one with answers; through the module's
/// own routes.
async fn seed_meetings(
    state: &AppState,
    demo: &DemoStructure,
    structure: &crate::tenancy::Structure,
) -> anyhow::Result<()> {
    let zone = demo.time_zone;
    let (organiser, members): (&str, &[&str]) = if demo.slug == "cpts-demo" {
        ("coordination", &["membre", "admin"])
    } else {
        ("cayenne", &["admin"])
    };
    let form = |title: &str, start: String, agenda: &str| -> Vec<(String, String)> {
        [
            ("titre", title.to_string()),
            ("type", "groupe-de-travail".to_string()),
            ("debut", start),
            ("fuseau", zone.to_string()),
            ("duree", "90".to_string()),
            ("lieu", "Maison de santé, salle de réunion".to_string()),
            ("ordre_du_jour", agenda.to_string()),
            ("invites", "groupe".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    };
    let past = form(
        "Groupe de travail : soins non programmés",
        local_slot(zone, -7, 19, 30),
        "Bilan des premiers mois du dispositif de soins non programmés.",
    );
    closed_meeting(state, structure, organiser, members, &past, "").await?;

    let coming = form(
        "Réunion plénière de la CPTS",
        local_slot(zone, 12, 19, 0),
        "Point sur les missions, budget de l’année, élection du bureau.",
    );
    let created = call_module(
        state,
        structure,
        "agenda",
        organiser,
        "/nouvelle",
        Some(&coming),
    )
    .await?;
    anyhow::ensure!(
        created.status == 303,
        "demo meeting refused ({}): {}",
        created.status,
        created.body
    );
    let path = meeting_path(&created);
    for (n, login) in members.iter().enumerate() {
        let answer = if n == 0 { "present" } else { "absent" };
        let form = [(String::from("reponse"), answer.to_string())];
        call_module(
            state,
            structure,
            "agenda",
            login,
            &format!("{path}/reponse"),
            Some(&form),
        )
        .await?;
    }
    Ok(())
}

/// Creates a poll as `organiser`, has `voters` answer it (each with its choices, by slot
/// position), and returns its path below the module and its slot ids.
async fn demo_poll(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    organiser: &str,
    fields: &[(&str, String)],
    votes: &[(&str, &[&str])],
) -> anyhow::Result<(String, Vec<String>)> {
    let form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let created = call_polls(state, structure, organiser, "/new", Some(&form)).await?;
    anyhow::ensure!(
        created.status == 303,
        "demo poll refused ({}): {}",
        created.status,
        created.body
    );
    let path = created
        .location
        .as_deref()
        .and_then(|l| l.rsplit_once("/polls").map(|(_, p)| p.to_string()))
        .unwrap_or_default();
    // The poll page names its answer fields `c-{slot id}`, in slot order.
    let page = call_polls(state, structure, organiser, &path, None).await?;
    let mut slots: Vec<String> = Vec::new();
    for part in page.body.split("name=\"c-").skip(1) {
        if let Some(id) = part.split('"').next()
            && !slots.iter().any(|known| known == id)
        {
            slots.push(id.to_string());
        }
    }
    for (voter, choices) in votes {
        let form: Vec<(String, String)> = slots
            .iter()
            .zip(choices.iter().cycle())
            .map(|(id, choice)| (format!("c-{id}"), choice.to_string()))
            .collect();
        call_polls(
            state,
            structure,
            voter,
            &format!("{path}/answer"),
            Some(&form),
        )
        .await?;
    }
    Ok((path, slots))
}

/// An open poll with answers and a closed one, so that a newcomer sees the module at
/// work; created through the module's own routes.
async fn seed_polls(
    state: &AppState,
    demo: &DemoStructure,
    structure: &crate::tenancy::Structure,
) -> anyhow::Result<()> {
    let zone = demo.time_zone;
    let (organiser, voters): (&str, &[&str]) = if demo.slug == "cpts-demo" {
        ("coordination", &["membre", "admin"])
    } else {
        ("cayenne", &["admin"])
    };
    let fields = |title: &str, description: &str, slots: &[String], deadline_days: i64| {
        let mut form = vec![
            ("title", title.to_string()),
            ("description", description.to_string()),
            ("place", "Maison de santé, salle de réunion".to_string()),
            ("duration", "90".to_string()),
            ("zone", zone.to_string()),
            ("kind", "horaires".to_string()),
            ("deadline", local_slot(zone, deadline_days, 18, 0)),
            ("visibility", "tous".to_string()),
            ("audience", "structure".to_string()),
            ("reminder", "48".to_string()),
        ];
        form.extend(slots.iter().map(|s| ("slot", s.clone())));
        form
    };
    let open = fields(
        "Groupe de travail : parcours insuffisance cardiaque",
        "Première réunion du groupe : état des lieux des parcours et choix des premières actions.",
        &[
            local_slot(zone, 14, 20, 0),
            local_slot(zone, 15, 12, 30),
            local_slot(zone, 16, 20, 0),
            local_slot(zone, 21, 19, 30),
        ],
        10,
    );
    let votes: Vec<(&str, &[&str])> = voters
        .iter()
        .enumerate()
        .map(|(n, v)| {
            let choices: &[&str] = if n == 0 {
                &["oui", "si-besoin", "non"]
            } else {
                &["non", "oui", "oui"]
            };
            (*v, choices)
        })
        .collect();
    demo_poll(state, structure, organiser, &open, &votes).await?;

    let closed = fields(
        "Soirée de formation : dépistage de la BPCO",
        "Formation pluriprofessionnelle animée par un pneumologue du territoire.",
        &[local_slot(zone, 7, 20, 0), local_slot(zone, 9, 20, 0)],
        5,
    );
    let votes: Vec<(&str, &[&str])> = voters.iter().map(|v| (*v, &["oui"][..])).collect();
    let (path, slots) = demo_poll(state, structure, organiser, &closed, &votes).await?;
    if let Some(first) = slots.first() {
        let form = [("slot".to_string(), first.clone())];
        let closing = call_polls(
            state,
            structure,
            organiser,
            &format!("{path}/cloturer"),
            Some(&form),
        )
        .await?;
        anyhow::ensure!(
            closing.status == 303,
            "demo poll not closed ({}): {}",
            closing.status,
            closing.body
        );
    }
    Ok(())
}
/// Fills a new demo structure's directory with a synthetic RPPS extract of its
/// territory, through the same import as a real one.
async fn import_directory(
    state: &AppState,
    demo: &DemoStructure,
    structure: &crate::tenancy::Structure,
) -> anyhow::Result<()> {
    let options = crate::rpps_fixture::FixtureOptions {
        lines: 3000,
        seed: structure.id as u64,
        postal_codes: structure.territory_codes(),
    };
    let dir = state.import_dir.clone();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("demo-{}.txt", demo.slug));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    crate::rpps_fixture::write(&mut file, &options)?;
    std::io::Write::flush(&mut file)?;
    drop(file);
    let progress = crate::imports::Progress::new(std::fs::metadata(&path)?.len());
    let outcome = crate::imports::run(
        state,
        structure,
        "annuaire",
        &crate::imports::Importer::CommandLine,
        &path,
        "extrait-demo.txt",
        &progress,
    )
    .await;
    let _ = std::fs::remove_file(&path);
    outcome.map_err(|e| anyhow::anyhow!("demo directory of {}: {e}", demo.slug))?;
    Ok(())
}
