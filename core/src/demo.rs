//! Demo data: structures, accounts with every role, groups, and the bundled modules
//! installed, enabled and granted, with content seeded through the modules' own routes.
//! Idempotent: running it twice changes nothing.

use crate::http::AppState;
use crate::identity::Account;
use crate::tenancy::{Role, StructureKind};

pub struct DemoStructure {
    pub slug: &'static str,
    pub name: &'static str,
    pub kind: StructureKind,
    pub time_zone: &'static str,
    pub territory: &'static str,
    /// The only modules it enables (none listed: every bundled module, with content).
    /// A structure with a list gets no seeded content of its own: it reads the national
    /// library that the others publish.
    pub only: &'static [&'static str],
}

pub const DEMO_STRUCTURES: &[DemoStructure] = &[
    DemoStructure {
        slug: "cpts-demo",
        name: "CPTS Démo",
        kind: StructureKind::Cpts,
        time_zone: "Europe/Paris",
        territory: "74000, 74960, 74100, 74370, 74940",
        only: &[],
    },
    DemoStructure {
        slug: "msp-cayenne",
        name: "MSP de Cayenne (démo)",
        kind: StructureKind::Msp,
        time_zone: "America/Cayenne",
        territory: "97300, 97310, 97320",
        only: &[],
    },
    // A second CPTS that uses only the documents: its members read, read-only, what
    // the CPTS Démo published in the national library.
    DemoStructure {
        slug: "cpts-littoral",
        name: "CPTS du Littoral (démo)",
        kind: StructureKind::Cpts,
        time_zone: "Europe/Paris",
        territory: "17000, 17137, 17140",
        only: &["documents"],
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
            ("cpts-littoral", Role::Member, false),
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
    DemoAccount {
        email: "littoral@demo.maillage.fr",
        username: "littoral",
        name: "Léa Sage-femme",
        operator: false,
        memberships: &[("cpts-littoral", Role::Admin, false)],
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
    println!("Projets (module projets, « Mes tâches » et temps passé de Marc Médecin) :");
    for s in DEMO_STRUCTURES {
        println!("  {:<13} /{}/projets/", s.slug, s.slug);
    }
    println!(
        "Bibliothèque nationale (documents publiés par cpts-demo, lus depuis msp-cayenne et cpts-littoral) :"
    );
    println!("  /msp-cayenne/documents/bibliotheque");
    println!("  /cpts-littoral/documents/bibliotheque (compte littoral)");
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
                    if demo.only.is_empty() || demo.only.contains(&id.as_str()) {
                        state.db.enable_module(s.id, id, version, granted).await?;
                    }
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
    // Content is seeded in the structures that enable every module.
    created.retain(|(demo, _)| demo.only.is_empty());
    for (demo, structure) in &created {
        seed_people_and_rules(state, demo, structure).await?;
    }
    for (demo, structure) in created {
        import_directory(state, demo, &structure).await?;
        seed_polls(state, demo, &structure).await?;
        seed_meetings(state, demo, &structure).await?;
        seed_indemnities(state, demo, &structure).await?;
        // After the indemnities: its seed takes the structure's first group by name.
        seed_projects(state, demo, &structure).await?;
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
    let body = form.map(|form| {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        (
            "application/x-www-form-urlencoded".to_string(),
            encoded.into_bytes(),
        )
    });
    call_module_with(state, structure, module_id, login, path, body).await
}

/// [`call_module`] with any body: a POST of `body` (its content type, its bytes), a GET
/// when `None`. The documents module's upload forms are `multipart/form-data`.
async fn call_module_with(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    module_id: &str,
    login: &str,
    path: &str,
    body: Option<(String, Vec<u8>)>,
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
    let request = match body {
        Some((content_type, body)) => http::Request::post(uri)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(bytes::Bytes::from(body))?,
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

/// A demo project of the module `projets`: its host group (found by name, else created
/// with `referent` as its first référent), then the project, its actions, tasks, time
/// entries and thread, all posted as the named demo accounts (logins).
struct DemoProject {
    structure: &'static str,
    group: &'static str,
    group_description: &'static str,
    /// Open group: every member of the structure reads the project.
    open: bool,
    /// Creates the group and the project (a coordinator or admin of the structure).
    referent: &'static str,
    /// Added as membres actifs.
    members: &'static [&'static str],
    numero: &'static str,
    mission: &'static str,
    description: &'static str,
    objectives: &'static [&'static str],
    start: &'static str,
    actions: &'static [DemoAction],
    tasks: &'static [DemoTask],
    /// (author, text), posted in order.
    thread: &'static [(&'static str, &'static str)],
    /// Archived (the host group) once its content is in.
    archive: bool,
}

struct DemoAction {
    numero: &'static str,
    title: &'static str,
    description: &'static str,
    /// Years from the current one; none: no year.
    year: Option<i16>,
    status: &'static str,
}

/// When a demo task is due.
#[derive(Clone, Copy)]
enum Due {
    /// Days from today (negative: overdue).
    Days(i64),
    /// A day of the current week, today or later.
    ThisWeek,
}

struct DemoTask {
    title: &'static str,
    description: &'static str,
    creator: &'static str,
    assignees: &'static [&'static str],
    due: Option<Due>,
    recurrence: &'static str,
    /// Index in the project's `actions`.
    action: Option<usize>,
    time: &'static [DemoTime],
    /// Marked done (after its time is logged) by this account.
    done_by: Option<&'static str>,
}

struct DemoTime {
    /// Whose time it is.
    person: &'static str,
    /// Who enters it: `person`, or a manager of the project on their behalf.
    entered_by: &'static str,
    days_ago: i64,
    duration: &'static str,
    note: &'static str,
}

/// The six missions as `cpts-demo` names them (mission 6 relabelled): (label, description).
const DEMO_MISSIONS: [(&str, &str); 6] = [
    (
        "Accès aux soins",
        "Faciliter l’accès à un médecin traitant et organiser les soins non programmés en ville.",
    ),
    (
        "Parcours pluriprofessionnels",
        "Organiser les parcours des patients entre le premier recours, le second recours et l’hôpital.",
    ),
    (
        "Prévention",
        "Actions de prévention, de dépistage et de promotion de la santé adaptées au territoire.",
    ),
    (
        "Gestion de crise",
        "Préparer la réponse de la CPTS aux situations sanitaires exceptionnelles.",
    ),
    (
        "Qualité et pertinence des soins",
        "Démarches qualité pluriprofessionnelles : retours d’expérience, analyse des pratiques, pertinence des prescriptions.",
    ),
    (
        "Accompagnement des professionnels de santé du territoire",
        "Attractivité du territoire, accueil des stagiaires et des jeunes professionnels, fonctionnement de la CPTS.",
    ),
];

/// Marc Médecin's time per project (what the indemnity module's « Mon compte » adds up):
/// Soins non programmés 6 h, Prévention santé mentale 1 h, Gestion administrative et
/// financière CPTS 4 h, HAD 1 h, Cicat Breilh 1 h, Prévention des addictions Ethylibre 2 h.
/// The name of the project a member created herself in the demo (`seed_project_life`).
const MEDECIN_TRAITANT: &str = "Accès à un médecin traitant";

const DEMO_PROJECTS: &[DemoProject] = &[
    DemoProject {
        structure: "cpts-demo",
        group: "Soins non programmés",
        group_description: "Groupe projet : organisation des soins non programmés en ville, avec le service d’accès aux soins.",
        open: true,
        referent: "coordination",
        members: &["membre"],
        numero: "1.2",
        mission: "1",
        description: "Organiser la réponse aux demandes de soins non programmés sur le territoire : créneaux dédiés dans les cabinets, régulation avec le service d’accès aux soins (SAS) et information des patients.",
        objectives: &[
            "Proposer chaque jour au moins un créneau de soins non programmés par commune",
            "Réduire les passages évitables aux urgences",
            "Tenir à jour l’annuaire des disponibilités des cabinets",
        ],
        start: "2020-11-16",
        actions: &[
            DemoAction {
                numero: "1.2.1",
                title: "Fiche réflexe SNP",
                description: "Une page pour orienter le patient selon l’urgence et l’heure, affichée dans les cabinets et les pharmacies.",
                year: Some(0),
                status: "en_cours",
            },
            DemoAction {
                numero: "1.2.2",
                title: "Annuaire des disponibilités",
                description: "Les créneaux ouverts aux patients sans médecin traitant ou qui demandent un rendez-vous le jour même.",
                year: Some(0),
                status: "en_cours",
            },
        ],
        tasks: &[
            DemoTask {
                title: "Rédiger la fiche réflexe SNP",
                description: "Première version à relire en groupe de travail.",
                creator: "coordination",
                assignees: &["membre"],
                due: Some(Due::Days(21)),
                recurrence: "aucune",
                action: Some(0),
                time: &[
                    DemoTime {
                        person: "membre",
                        entered_by: "membre",
                        days_ago: 6,
                        duration: "1 h 30",
                        note: "Première version de la fiche.",
                    },
                    DemoTime {
                        person: "membre",
                        entered_by: "coordination",
                        days_ago: 9,
                        duration: "1:30",
                        note: "Réunion de travail avec le SAS.",
                    },
                ],
                done_by: None,
            },
            DemoTask {
                title: "Point mensuel des disponibilités",
                description: "Chaque mois : relever les créneaux ouverts par les cabinets et mettre à jour l’annuaire.",
                creator: "coordination",
                assignees: &["coordination"],
                due: Some(Due::Days(-28)),
                recurrence: "mensuelle",
                action: Some(1),
                time: &[],
                done_by: Some("coordination"),
            },
            DemoTask {
                title: "Recenser les créneaux de soins non programmés des cabinets",
                description: "Un tableau par commune : jours, heures, professionnels.",
                creator: "membre",
                assignees: &["membre"],
                due: Some(Due::ThisWeek),
                recurrence: "aucune",
                action: Some(1),
                time: &[DemoTime {
                    person: "membre",
                    entered_by: "membre",
                    days_ago: 2,
                    duration: "2 h",
                    note: "Appels aux cabinets de trois communes.",
                }],
                done_by: None,
            },
            DemoTask {
                title: "Relancer les pharmacies pour l’affichage de la fiche",
                description: "",
                creator: "membre",
                assignees: &["membre"],
                due: Some(Due::Days(-5)),
                recurrence: "aucune",
                action: Some(0),
                time: &[DemoTime {
                    person: "membre",
                    entered_by: "membre",
                    days_ago: 12,
                    duration: "1h",
                    note: "",
                }],
                done_by: None,
            },
        ],
        thread: &[
            (
                "coordination",
                "Bonjour à tous, la fiche réflexe SNP est en cours de rédaction : vos remarques sont les bienvenues avant la prochaine réunion.",
            ),
            (
                "membre",
                "Merci Camille. Je propose d’y ajouter la permanence du samedi matin et le numéro du SAS.",
            ),
            (
                "coordination",
                "Bonne idée. @Marc Médecin, peux-tu confirmer les créneaux du samedi pour l’annuaire des disponibilités ?",
            ),
            (
                "membre",
                "Confirmé : deux médecins assurent le samedi de 9 h à 12 h, je mets le tableau à jour.",
            ),
        ],
        archive: false,
    },
    DemoProject {
        structure: "cpts-demo",
        group: "Parcours insuffisance cardiaque",
        group_description: "Groupe projet : parcours de soins des patients insuffisants cardiaques sur le territoire.",
        open: true,
        referent: "coordination",
        members: &["membre"],
        numero: "2.1",
        mission: "2",
        description: "Parcours des patients insuffisants cardiaques entre la ville et l’hôpital : repérage des signes de décompensation, fiche de liaison, suivi infirmier après la sortie.",
        objectives: &[
            "Une fiche de liaison ville-hôpital utilisée par les deux services de cardiologie",
            "Un suivi infirmier dans les sept jours après chaque sortie",
            "Moins de réhospitalisations à 30 jours",
        ],
        start: "2025-09-15",
        actions: &[DemoAction {
            numero: "2.1.1",
            title: "Fiche de liaison ville-hôpital",
            description: "Traitement de sortie, poids de référence, signes d’alerte et contacts, remplis par le service et lus par l’infirmier.",
            year: Some(0),
            status: "en_cours",
        }],
        tasks: &[
            DemoTask {
                title: "Diffuser la fiche de liaison aux cardiologues",
                description: "",
                creator: "coordination",
                assignees: &["coordination"],
                due: Some(Due::Days(10)),
                recurrence: "aucune",
                action: Some(0),
                time: &[],
                done_by: None,
            },
            DemoTask {
                title: "Former les infirmiers au repérage des signes de décompensation",
                description: "Une soirée avec un cardiologue du centre hospitalier.",
                creator: "coordination",
                assignees: &[],
                due: None,
                recurrence: "aucune",
                action: None,
                time: &[],
                done_by: None,
            },
        ],
        thread: &[],
        archive: false,
    },
    DemoProject {
        structure: "cpts-demo",
        group: "HAD",
        group_description: "Groupe projet : sorties d’hospitalisation vers l’hospitalisation à domicile.",
        open: true,
        referent: "coordination",
        members: &["membre"],
        numero: "2.2",
        mission: "2",
        description: "Coordonner les sorties d’hospitalisation vers l’hospitalisation à domicile (HAD) avec les professionnels libéraux du territoire.",
        objectives: &[
            "Un protocole de sortie partagé avec l’HAD",
            "Identifier les infirmiers libéraux partenaires",
        ],
        start: "2021-08-02",
        actions: &[DemoAction {
            numero: "2.2.1",
            title: "Protocole de sortie vers l’HAD",
            description: "Qui prévient qui, et quand, entre le service, l’HAD, le médecin traitant et l’infirmier.",
            year: Some(0),
            status: "realisee",
        }],
        tasks: &[DemoTask {
            title: "Recenser les infirmiers libéraux partenaires de l’HAD",
            description: "",
            creator: "coordination",
            assignees: &[],
            due: Some(Due::Days(-40)),
            recurrence: "aucune",
            action: Some(0),
            time: &[DemoTime {
                person: "membre",
                entered_by: "membre",
                days_ago: 25,
                duration: "1 h",
                note: "Liste des cabinets infirmiers du secteur nord.",
            }],
            done_by: Some("coordination"),
        }],
        thread: &[],
        archive: true,
    },
    DemoProject {
        structure: "cpts-demo",
        group: "Cicat Breilh",
        group_description: "Groupe projet : plaies chroniques, avec l’équipe de cicatrisation.",
        open: true,
        referent: "coordination",
        members: &["membre"],
        numero: "2.3",
        mission: "2",
        description: "Parcours des patients porteurs de plaies chroniques avec l’équipe de cicatrisation : télé-expertise, formation et fiche de suivi partagée.",
        objectives: &[
            "Orienter chaque plaie complexe vers la télé-expertise en moins d’une semaine",
            "Former infirmiers et médecins à la fiche de suivi des plaies",
        ],
        start: "2021-08-02",
        actions: &[DemoAction {
            numero: "2.3.1",
            title: "Formation plaies chroniques",
            description: "Une soirée de formation pluriprofessionnelle avec l’équipe de cicatrisation.",
            year: Some(0),
            status: "a_venir",
        }],
        tasks: &[
            DemoTask {
                title: "Organiser la formation plaies chroniques",
                description: "Salle, date, invitations.",
                creator: "coordination",
                assignees: &["coordination"],
                due: Some(Due::Days(14)),
                recurrence: "aucune",
                action: Some(0),
                time: &[DemoTime {
                    person: "membre",
                    entered_by: "membre",
                    days_ago: 8,
                    duration: "1 h",
                    note: "Programme de la soirée avec l’équipe de cicatrisation.",
                }],
                done_by: None,
            },
            DemoTask {
                title: "Diffuser la fiche de suivi des plaies",
                description: "",
                creator: "membre",
                assignees: &["membre"],
                due: Some(Due::Days(60)),
                recurrence: "aucune",
                action: None,
                time: &[],
                done_by: None,
            },
        ],
        thread: &[],
        archive: false,
    },
    DemoProject {
        structure: "cpts-demo",
        group: "Prévention santé mentale",
        group_description: "Groupe projet : repérage de la souffrance psychique et ressources du territoire.",
        open: false,
        referent: "admin",
        members: &["membre"],
        numero: "3.1",
        mission: "3",
        description: "Repérer plus tôt la souffrance psychique et orienter vers les bonnes ressources : formation des professionnels, annuaire des ressources en santé mentale du territoire.",
        objectives: &[
            "Former les professionnels volontaires au repérage de la crise suicidaire",
            "Diffuser un annuaire des ressources en santé mentale",
        ],
        start: "2020-11-16",
        actions: &[
            DemoAction {
                numero: "3.1.1",
                title: "Soirée de sensibilisation au repérage de la crise suicidaire",
                description: "",
                year: Some(-1),
                status: "realisee",
            },
            DemoAction {
                numero: "3.1.2",
                title: "Annuaire des ressources en santé mentale",
                description: "Centres médico-psychologiques, psychologues, lignes d’écoute, associations.",
                year: Some(0),
                status: "en_cours",
            },
        ],
        tasks: &[
            DemoTask {
                title: "Mettre à jour l’annuaire des ressources en santé mentale",
                description: "",
                creator: "admin",
                assignees: &[],
                due: Some(Due::Days(40)),
                recurrence: "aucune",
                action: Some(1),
                time: &[DemoTime {
                    person: "membre",
                    entered_by: "membre",
                    days_ago: 15,
                    duration: "1 h",
                    note: "",
                }],
                done_by: None,
            },
            DemoTask {
                title: "Réserver la salle pour la soirée de sensibilisation",
                description: "",
                creator: "admin",
                assignees: &["admin"],
                due: Some(Due::Days(-20)),
                recurrence: "aucune",
                action: Some(0),
                time: &[],
                done_by: Some("admin"),
            },
        ],
        thread: &[],
        archive: false,
    },
    DemoProject {
        structure: "cpts-demo",
        group: "Prévention des addictions Ethylibre",
        group_description: "Groupe projet : prévention des addictions avec l’association Ethylibre.",
        open: true,
        referent: "coordination",
        members: &["membre"],
        numero: "3.2",
        mission: "3",
        description: "Avec l’association Ethylibre : groupes de parole, repérage précoce de la consommation d’alcool et orientation des patients.",
        objectives: &[
            "Un groupe de parole par mois sur le territoire",
            "Former les professionnels au repérage précoce et à l’intervention brève",
        ],
        start: "2021-08-16",
        actions: &[
            DemoAction {
                numero: "3.2.1",
                title: "Groupes de parole Ethylibre",
                description: "",
                year: Some(0),
                status: "en_cours",
            },
            DemoAction {
                numero: "3.2.2",
                title: "Intervention au lycée",
                description: "Une séance de prévention avec l’infirmière scolaire.",
                year: Some(0),
                status: "a_venir",
            },
        ],
        tasks: &[
            DemoTask {
                title: "Diffuser le calendrier des groupes de parole",
                description: "Aux cabinets, aux pharmacies et au centre hospitalier.",
                creator: "membre",
                assignees: &["membre"],
                due: Some(Due::Days(-10)),
                recurrence: "aucune",
                action: Some(0),
                time: &[DemoTime {
                    person: "membre",
                    entered_by: "membre",
                    days_ago: 10,
                    duration: "1,5",
                    note: "",
                }],
                done_by: None,
            },
            DemoTask {
                title: "Préparer l’intervention au lycée",
                description: "",
                creator: "coordination",
                assignees: &["coordination"],
                due: Some(Due::Days(35)),
                recurrence: "aucune",
                action: Some(1),
                time: &[DemoTime {
                    person: "membre",
                    entered_by: "membre",
                    days_ago: 3,
                    duration: "30 min",
                    note: "Échange avec l’infirmière scolaire.",
                }],
                done_by: None,
            },
        ],
        thread: &[],
        archive: false,
    },
    DemoProject {
        structure: "cpts-demo",
        group: "Gestion administrative et financière CPTS",
        group_description: "Groupe projet : fonctionnement de l’association, comptes et rapport d’activité.",
        open: false,
        referent: "coordination",
        members: &["membre"],
        numero: "6.1",
        mission: "6",
        description: "Le fonctionnement de l’association : comptes, rapport d’activité pour l’accord conventionnel interprofessionnel (ACI), assemblée générale, relations avec l’ARS et l’Assurance maladie.",
        objectives: &[
            "Transmettre le rapport d’activité ACI dans les délais",
            "Tenir le budget de l’année et les comptes de l’exercice",
            "Préparer l’assemblée générale annuelle",
        ],
        start: "2021-05-20",
        actions: &[
            DemoAction {
                numero: "6.1.1",
                title: "Rapport d’activité ACI",
                description: "",
                year: Some(0),
                status: "en_cours",
            },
            DemoAction {
                numero: "6.1.2",
                title: "Assemblée générale annuelle",
                description: "Rapport moral, rapport financier, élection du bureau.",
                year: Some(1),
                status: "a_venir",
            },
        ],
        tasks: &[
            DemoTask {
                title: "Préparer le rapport d’activité ACI",
                description: "Indicateurs de chaque mission, à valider en bureau.",
                creator: "coordination",
                assignees: &["coordination"],
                due: Some(Due::Days(30)),
                recurrence: "aucune",
                action: Some(0),
                time: &[DemoTime {
                    person: "membre",
                    entered_by: "membre",
                    days_ago: 20,
                    duration: "2 h",
                    note: "Relecture des indicateurs de la mission 1.",
                }],
                done_by: None,
            },
            DemoTask {
                title: "Relire les comptes de l’exercice",
                description: "",
                creator: "membre",
                assignees: &["membre"],
                due: Some(Due::ThisWeek),
                recurrence: "aucune",
                action: None,
                time: &[
                    DemoTime {
                        person: "membre",
                        entered_by: "membre",
                        days_ago: 4,
                        duration: "1:30",
                        note: "",
                    },
                    DemoTime {
                        person: "membre",
                        entered_by: "membre",
                        days_ago: 1,
                        duration: "30 min",
                        note: "Questions au trésorier.",
                    },
                ],
                done_by: None,
            },
        ],
        thread: &[],
        archive: false,
    },
    DemoProject {
        structure: "msp-cayenne",
        group: "Coordination des soins de plaies",
        group_description: "Groupe projet : prise en charge des plaies au sein de la MSP.",
        open: true,
        referent: "cayenne",
        members: &["admin"],
        numero: "1.1",
        mission: "1",
        description: "Coordonner la prise en charge des plaies entre les infirmiers, les médecins et la pharmacie de la maison de santé.",
        objectives: &[
            "Un protocole de soins de plaies partagé",
            "Un dossier de suivi commun pour chaque patient",
        ],
        start: "2024-02-01",
        actions: &[],
        tasks: &[
            DemoTask {
                title: "Rédiger le protocole de soins de plaies",
                description: "",
                creator: "cayenne",
                assignees: &["cayenne"],
                due: Some(Due::Days(10)),
                recurrence: "aucune",
                action: None,
                time: &[],
                done_by: None,
            },
            DemoTask {
                title: "Commander le matériel de pansement",
                description: "",
                creator: "cayenne",
                assignees: &[],
                due: Some(Due::Days(-3)),
                recurrence: "aucune",
                action: None,
                time: &[],
                done_by: None,
            },
        ],
        thread: &[],
        archive: false,
    },
];

/// The module `projets` of `structure`, called as the demo account `login`.
async fn call_projects(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    login: &str,
    path: &str,
    form: Option<&[(String, String)]>,
) -> anyhow::Result<Answer> {
    call_module(state, structure, "projets", login, path, form).await
}

/// Posts `form` to the module `projets` as `login`; anything but a 303 is an error.
async fn post_projects(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    login: &str,
    path: &str,
    form: &[(String, String)],
) -> anyhow::Result<Answer> {
    let answer = call_projects(state, structure, login, path, Some(form)).await?;
    anyhow::ensure!(
        answer.status == 303,
        "demo projets: POST {path} as {login} refused ({}): {}",
        answer.status,
        answer.body
    );
    Ok(answer)
}

/// Owned form fields.
fn form_fields(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every value of the HTML attribute `attribute` (e.g. `data-tache`) in `body`, in order.
fn attribute_values(body: &str, attribute: &str) -> Vec<String> {
    let needle = format!("{attribute}=\"");
    body.split(needle.as_str())
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// Reads the project page `/p/{group}` as `login` and returns the first value of
/// `attribute` (`data-action`, `data-tache`) not in `known`, adding every value seen to
/// `known`: the id of what was just created there.
async fn new_id_on_page(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    login: &str,
    group: i64,
    attribute: &str,
    known: &mut Vec<String>,
) -> anyhow::Result<String> {
    let page = call_projects(state, structure, login, &format!("/p/{group}"), None).await?;
    anyhow::ensure!(
        page.status == 200,
        "demo projets: /p/{group} as {login} ({}): {}",
        page.status,
        page.body
    );
    let values = attribute_values(&page.body, attribute);
    let fresh = values.iter().find(|v| !known.contains(v)).cloned();
    for value in values {
        if !known.contains(&value) {
            known.push(value);
        }
    }
    fresh.ok_or_else(|| anyhow::anyhow!("demo projets: no new {attribute} on /p/{group}"))
}

async fn demo_login(state: &AppState, login: &str) -> anyhow::Result<Account> {
    state
        .db
        .account_by_login(login)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo account {login} missing"))
}

/// The project's host group, found by name or created (its référent first, as the
/// host's « Groupes » page does), with its membres actifs added.
async fn demo_project_group(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    project: &DemoProject,
) -> anyhow::Result<crate::groups::Group> {
    let referent = demo_login(state, project.referent).await?;
    let existing = state
        .db
        .groups(structure.id, referent.id)
        .await?
        .into_iter()
        .find(|g| g.name == project.group);
    let id = match existing {
        Some(group) => group.id,
        None => {
            state
                .db
                .create_group(
                    structure.id,
                    project.group,
                    project.group_description,
                    project.open,
                    referent.id,
                )
                .await?
        }
    };
    let group = state
        .db
        .group(structure.id, id, referent.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo group {} missing", project.group))?;
    let present: Vec<i64> = state
        .db
        .group_members(group.id)
        .await?
        .iter()
        .map(|m| m.account_id)
        .collect();
    for login in project.members {
        let member = demo_login(state, login).await?;
        if !present.contains(&member.id) {
            state
                .db
                .set_group_member(&group, member.id, crate::groups::GroupRole::Active)
                .await
                .map_err(|e| anyhow::anyhow!("demo group {}: {e}", project.group))?;
        }
    }
    Ok(group)
}

/// "YYYY-MM-DD" in `zone`, `days` from today.
fn local_day(zone: &str, days: i64) -> String {
    local_slot(zone, days, 0, 0)[..10].to_string()
}

/// Days left in the current week (Monday to Sunday) in `zone`: 0 on a Sunday.
fn days_left_in_week(zone: &str) -> i64 {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    i64::from(7 - today.weekday().to_monday_one_offset())
}

/// Missions (6 relabelled), then the projects of `structure` with their actions, tasks,
/// time and threads, through the module's own routes. A project already there (its page
/// answers 200) is left as it is, so a second run changes nothing.
async fn seed_projects(
    state: &AppState,
    demo: &DemoStructure,
    structure: &crate::tenancy::Structure,
) -> anyhow::Result<()> {
    let zone = demo.time_zone;
    let today = local_day(zone, 0);
    let year: i16 = today[..4].parse().unwrap_or(2026);
    if demo.slug == "cpts-demo" {
        let missions = call_projects(state, structure, "coordination", "/missions", None).await?;
        if !missions.body.contains(DEMO_MISSIONS[5].0) {
            let mut form = Vec::new();
            for (n, (label, description)) in DEMO_MISSIONS.iter().enumerate() {
                let code = n + 1;
                form.push((format!("label-{code}"), label.to_string()));
                form.push((format!("description-{code}"), description.to_string()));
                form.push((format!("active-{code}"), "1".to_string()));
            }
            post_projects(state, structure, "coordination", "/missions", &form).await?;
        }
    }
    for project in DEMO_PROJECTS.iter().filter(|p| p.structure == demo.slug) {
        let group = demo_project_group(state, structure, project).await?;
        let g = group.id;
        let referent = project.referent;
        let page = call_projects(state, structure, referent, &format!("/p/{g}"), None).await?;
        if page.status == 200 {
            continue;
        }
        anyhow::ensure!(
            page.status == 303,
            "demo projets: /p/{g} before creation ({}): {}",
            page.status,
            page.body
        );
        let group_id = g.to_string();
        let referent_id = demo_login(state, referent).await?.id.to_string();
        let objectives = project.objectives.join("\n");
        let form = form_fields(&[
            ("groupe", group_id.as_str()),
            ("numero", project.numero),
            ("mission", project.mission),
            ("description", project.description),
            ("objectifs", objectives.as_str()),
            ("date_debut", project.start),
            ("date_fin", ""),
            ("coordinateur", referent_id.as_str()),
        ]);
        post_projects(state, structure, referent, "/nouveau", &form).await?;

        let mut actions = Vec::new();
        let mut known = Vec::new();
        for action in project.actions {
            let annee = action
                .year
                .map(|offset| (year + offset).to_string())
                .unwrap_or_default();
            let form = form_fields(&[
                ("numero", action.numero),
                ("titre", action.title),
                ("description", action.description),
                ("annee", annee.as_str()),
                ("statut", action.status),
            ]);
            post_projects(
                state,
                structure,
                referent,
                &format!("/p/{g}/actions/nouvelle"),
                &form,
            )
            .await?;
            let id =
                new_id_on_page(state, structure, referent, g, "data-action", &mut known).await?;
            actions.push(id);
        }

        let mut known = Vec::new();
        let mut done = Vec::new();
        for task in project.tasks {
            let due = match task.due {
                None => String::new(),
                Some(Due::Days(days)) => local_day(zone, days),
                Some(Due::ThisWeek) => local_day(zone, days_left_in_week(zone).min(2)),
            };
            let action = task
                .action
                .and_then(|n| actions.get(n))
                .cloned()
                .unwrap_or_default();
            let mut form = form_fields(&[
                ("titre", task.title),
                ("description", task.description),
                ("echeance", due.as_str()),
                ("action", action.as_str()),
                ("recurrence", task.recurrence),
            ]);
            for login in task.assignees {
                let id = demo_login(state, login).await?.id;
                form.push(("assigne".to_string(), id.to_string()));
            }
            post_projects(
                state,
                structure,
                task.creator,
                &format!("/p/{g}/taches"),
                &form,
            )
            .await?;
            let id =
                new_id_on_page(state, structure, task.creator, g, "data-tache", &mut known).await?;
            for entry in task.time {
                // A date worked this year, never in the future.
                let date = local_day(zone, -entry.days_ago).max(format!("{year}-01-01"));
                let mut form = form_fields(&[
                    ("date", date.as_str()),
                    ("duree", entry.duration),
                    ("note", entry.note),
                ]);
                if entry.entered_by != entry.person {
                    let person = demo_login(state, entry.person).await?.id;
                    form.push(("personne".to_string(), person.to_string()));
                }
                post_projects(
                    state,
                    structure,
                    entry.entered_by,
                    &format!("/p/{g}/taches/{id}/temps"),
                    &form,
                )
                .await?;
            }
            if let Some(login) = task.done_by {
                done.push((login, id));
            }
        }
        // Done last, so that the next occurrence of a recurring task is not taken for
        // a task created after it.
        for (login, id) in done {
            post_projects(
                state,
                structure,
                login,
                &format!("/p/{g}/taches/{id}/faite"),
                &[],
            )
            .await?;
        }
        for (login, text) in project.thread {
            let form = form_fields(&[("texte", *text)]);
            post_projects(state, structure, login, &format!("/p/{g}/fil"), &form).await?;
        }
        if project.archive {
            state.db.set_group_archived(&group, true).await?;
        }
        tracing::debug!(structure = %structure.slug, project = project.numero, "demo project ready");
    }
    if demo.slug == "cpts-demo" {
        seed_announcements(state, structure, zone).await?;
        seed_project_life(state, structure, zone).await?;
        seed_documents(state, structure).await?;
    }
    // Delivers `task.time-logged` (the indemnity module's « Mon compte »), the
    // documents' `document.saved` (the project page's « Documents ») and the rest.
    crate::events::dispatch(state).await?;
    Ok(())
}

/// What members do with projects beyond the seeds' table: the SNP group's next
/// committee planned in the agenda (shown on the project page, a task linked to it), a
/// project a member created herself (1.3 « Médecin traitant », with a new open group)
/// and Marc's pending request to join it, and Marc's choice of the daily digest. Done
/// once: skipped when project 1.3 exists.
async fn seed_project_life(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    zone: &str,
) -> anyhow::Result<()> {
    let list = call_projects(state, structure, "admin", "/", None).await?;
    if list.body.contains(MEDECIN_TRAITANT) {
        return Ok(());
    }
    // The SNP committee, planned in the agenda for the project's group.
    let snp = DEMO_PROJECTS
        .iter()
        .find(|p| p.numero == "1.2" && p.structure == "cpts-demo")
        .ok_or_else(|| anyhow::anyhow!("demo project 1.2 missing"))?;
    let group = demo_project_group(state, structure, snp).await?;
    let g = group.id;
    let committee = form_fields(&[
        ("titre", "Comité de pilotage soins non programmés"),
        ("type", "groupe-de-travail"),
        ("groupe", &g.to_string()),
        ("debut", &local_slot(zone, 9, 12, 30)),
        ("fuseau", zone),
        ("duree", "60"),
        ("lieu", "Maison de santé, salle de réunion"),
        (
            "ordre_du_jour",
            "Relecture de la fiche réflexe, créneaux de l’été, lien avec le SAS.",
        ),
        ("invites", "groupe"),
    ]);
    let planned = call_module(
        state,
        structure,
        "agenda",
        "coordination",
        "/nouvelle",
        Some(&committee),
    )
    .await?;
    anyhow::ensure!(
        planned.status == 303,
        "demo committee refused ({}): {}",
        planned.status,
        planned.body
    );
    let meeting = meeting_path(&planned)
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    // The projects module learns of it through `meeting.saved`.
    crate::events::dispatch(state).await?;
    let marc = demo_login(state, "membre").await?.id.to_string();
    let task = form_fields(&[
        ("titre", "Préparer l’ordre du jour du comité de pilotage"),
        (
            "description",
            "Rassembler les retours des cabinets sur les créneaux dédiés.",
        ),
        ("echeance", &local_day(zone, 7)),
        ("recurrence", "aucune"),
        ("reunion", &meeting),
        ("assigne", &marc),
    ]);
    post_projects(
        state,
        structure,
        "coordination",
        &format!("/p/{g}/taches"),
        &task,
    )
    .await?;

    // A member's own project: a new open group, she is its référent.
    let own = form_fields(&[
        ("groupe", ""),
        ("nom", MEDECIN_TRAITANT),
        ("visibilite", "ouvert"),
        ("numero", "1.3"),
        ("mission", "1"),
        (
            "description",
            "Aider les patients sans médecin traitant du territoire à en trouver un : recensement, orientation, accueil des nouveaux médecins.",
        ),
        (
            "objectifs",
            "Recenser les patients en affection de longue durée sans médecin traitant\nPrésenter le territoire aux internes et aux jeunes médecins",
        ),
        ("date_debut", &local_day(zone, -20)),
        ("date_fin", ""),
        ("coordinateur", ""),
    ]);
    let created = post_projects(state, structure, "admin", "/nouveau", &own).await?;
    let path = created
        .location
        .as_deref()
        .and_then(|l| l.split("/projets").nth(1))
        .and_then(|p| p.split('?').next())
        .unwrap_or_default()
        .to_string();
    // Marc asks to join it; Sophie decides (the request waits in the demo).
    let ask = form_fields(&[(
        "message",
        "Je reçois beaucoup de demandes de nouveaux patients : je peux aider au recensement.",
    )]);
    post_projects(
        state,
        structure,
        "membre",
        &format!("{path}/rejoindre"),
        &ask,
    )
    .await?;
    // Marc reads the digest of his projects' discussions each morning.
    let choices = form_fields(&[
        ("mention_mail", "0"),
        ("mention_mail", "1"),
        ("digest", "0"),
        ("digest", "1"),
    ]);
    post_projects(state, structure, "membre", "/preferences", &choices).await?;
    Ok(())
}

/// The structure's announcements: an older one, then the pinned general assembly (the
/// list shows it first); none when the page already has them.
async fn seed_announcements(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    zone: &str,
) -> anyhow::Result<()> {
    const ASSEMBLY: &str = "Assemblée générale de la CPTS";
    let page = call_projects(state, structure, "coordination", "/annonces", None).await?;
    if page.body.contains(ASSEMBLY) {
        return Ok(());
    }
    let older = form_fields(&[
        ("titre", "Nouvelle fiche réflexe soins non programmés"),
        (
            "texte",
            "La fiche réflexe SNP est en ligne dans le projet « Soins non programmés ».\n\
             Merci de l’afficher dans vos salles d’attente.",
        ),
    ]);
    post_projects(
        state,
        structure,
        "coordination",
        "/annonces/nouvelle",
        &older,
    )
    .await?;
    let until = local_day(zone, 60);
    let assembly = form_fields(&[
        ("titre", ASSEMBLY),
        (
            "texte",
            "L’assemblée générale se tiendra dans deux mois à la maison des associations.\n\
             Ordre du jour : rapport d’activité, projets de l’année, élection du bureau.",
        ),
        ("epinglee", "1"),
        ("jusquau", until.as_str()),
    ]);
    post_projects(
        state,
        structure,
        "coordination",
        "/annonces/nouvelle",
        &assembly,
    )
    .await?;
    Ok(())
}

/// The documents module's id (crate `plugins/cloud`, bundled as "cloud").
const DOCUMENTS: &str = "documents";

/// The minutes of the SNP committee, in Markdown (shown as text by the documents
/// module). No health data: an organisation's decisions.
const SNP_MINUTES: &str = "# Compte rendu du comité SNP\n\
\n\
Comité de pilotage soins non programmés, maison de santé, salle de réunion.\n\
\n\
## Présents\n\
\n\
- Camille Coordinatrice, référente du projet\n\
- Marc Médecin\n\
- Alice Administratrice, pour le bureau de la CPTS\n\
\n\
## Décisions\n\
\n\
1. La fiche réflexe SNP est relue en groupe de travail, puis affichée dans les cabinets et les pharmacies.\n\
2. Deux médecins assurent la permanence du samedi de 9 h à 12 h ; l’annuaire des disponibilités est mis à jour chaque mois.\n\
3. Le lien avec le service d’accès aux soins (SAS) passe par la coordinatrice.\n\
\n\
## Prochaine réunion\n\
\n\
Dans un mois, même lieu : bilan des créneaux de l’été.\n";

/// The title of the SNP project's Markdown text, written together (the PDF sheet's
/// title too).
const SNP_TEXT_TITLE: &str = "Fiche réflexe soins non programmés";

/// Its first version, by Camille. No health data: an organisation's protocol, and the
/// regulation's number is a fictitious one.
const SNP_TEXT: &str = "Pour les secrétariats et les professionnels de la CPTS Démo : un patient demande à être vu aujourd’hui, sans rendez-vous prévu.\n\
\n\
## Qui appeler\n\
\n\
1. Son médecin traitant, s’il a un créneau dans la journée.\n\
2. Sinon, un cabinet de la CPTS qui propose des créneaux dédiés (annuaire des disponibilités).\n\
3. Sinon, la régulation du service d’accès aux soins (SAS) : **04 50 99 00 00** (numéro fictif de démonstration).\n\
4. Signe de gravité (douleur thoracique, gêne respiratoire, malaise, déficit neurologique) : **le 15**, sans attendre.\n\
\n\
## Horaires\n\
\n\
| Jour | Créneaux dédiés des cabinets | Régulation SAS |\n\
|---|---|---|\n\
| Lundi au vendredi | 8 h – 19 h | 8 h – 20 h |\n\
| Samedi | 9 h – 12 h | 8 h – 20 h |\n\
| Dimanche et jours fériés | aucun | 24 h sur 24 |\n\
\n\
## Avant d’orienter le patient\n\
\n\
- [ ] Rechercher un signe de gravité\n\
- [ ] Noter le motif, l’heure de l’appel et un numéro de rappel\n\
- [ ] Proposer un créneau dédié ou appeler la régulation\n\
- [ ] Prévenir le médecin traitant de la consultation\n\
\n\
*Groupe projet Soins non programmés. Relue en comité chaque trimestre.*\n";

/// The Saturday row, and as Marc revises it.
const SNP_TEXT_SATURDAY: &str = "| Samedi | 9 h – 12 h | 8 h – 20 h |";
const SNP_TEXT_SATURDAY_REVISED: &str =
    "| Samedi | 9 h – 12 h, permanence de deux médecins de la CPTS | 8 h – 20 h |";
/// The checklist's last item, and the one Alice adds after it.
const SNP_TEXT_CHECKLIST_END: &str = "- [ ] Prévenir le médecin traitant de la consultation";
const SNP_TEXT_CHECKLIST_ADDED: &str =
    "- [ ] Remettre au patient la fiche « Que faire en attendant la consultation ? »";

/// A 16 × 16 PNG (a white cross on blue), the poster's thumbnail: signature, IHDR,
/// one zlib IDAT, IEND, each with its CRC.
const DEMO_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x91, 0x68,
    0x36, 0x00, 0x00, 0x00, 0x23, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x90, 0xf5, 0xbb, 0x41,
    0x12, 0x62, 0x18, 0x08, 0x0d, 0xff, 0x91, 0xc0, 0xc0, 0x6a, 0xf8, 0x8f, 0x17, 0x0c, 0x0d, 0x0d,
    0x83, 0x30, 0x58, 0x07, 0x4d, 0xe2, 0x03, 0x00, 0x69, 0xa9, 0xb1, 0x90, 0x84, 0x83, 0xfd, 0x70,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// `text` as a PDF literal string in WinAnsiEncoding: `(`, `)` and `\` escaped, Latin-1
/// letters (é, à, ç…) and the typographic apostrophe as octal codes, anything else `?`.
fn pdf_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{2019}' => out.push_str("\\222"),
            '\u{a0}'..='\u{ff}' => out.push_str(&format!("\\{:03o}", u32::from(c))),
            _ => out.push('?'),
        }
    }
    out
}

/// A one-page A4 PDF 1.4 showing `title` and `lines` in Helvetica: catalog, pages, page,
/// content stream and font, with the cross-reference table a viewer reads.
fn demo_pdf(title: &str, lines: &[&str]) -> Vec<u8> {
    let mut content = format!(
        "BT\n/F1 16 Tf\n72 770 Td\n({}) Tj\n/F1 11 Tf\n",
        pdf_text(title)
    );
    for line in lines {
        content.push_str(&format!("0 -22 Td\n({}) Tj\n", pdf_text(line)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        table.push_str(&format!("{offset:010} 00000 n \n"));
    }
    table.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(table.as_bytes());
    pdf
}

/// A `multipart/form-data` body as a browser sends the documents module's upload forms:
/// the plain `fields`, then each file (field, file name, bytes); with its content type.
fn multipart_body(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----MaillageDemoBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (field, file_name, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts `body` (a content type and its bytes) to the documents module as `login`;
/// anything but a 303 is an error.
async fn post_documents(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    login: &str,
    path: &str,
    body: (String, Vec<u8>),
) -> anyhow::Result<Answer> {
    let answer = call_module_with(state, structure, DOCUMENTS, login, path, Some(body)).await?;
    anyhow::ensure!(
        answer.status == 303,
        "demo documents: POST {path} as {login} refused ({}): {}",
        answer.status,
        answer.body
    );
    Ok(answer)
}

/// The id of the document a folder page of the documents module lists as `name`.
fn document_named(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!(">{name}</a>"))?;
    let marker = "data-document=\"";
    let start = page[..at].rfind(marker)? + marker.len();
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_string())
}

/// The documents of the SNP project's group, through the documents module's own forms
/// (as a browser without JavaScript sends them): a folder « Comptes rendus » holding the
/// « Compte rendu du comité SNP » (Markdown), the « Fiche réflexe SNP » (a PDF) and the
/// Saturday poster (a PNG) added in one form by Camille, a second version of the sheet
/// deposited and named by Marc, his comment on it, and the Markdown text « Fiche
/// réflexe soins non programmés » written by three ([`seed_snp_text`]), the text (two
/// versions) and the PDF then published to the national library ([`seed_library`]).
/// Their `document.saved` reach the project page at the dispatch that ends
/// [`seed_projects`].
/// Skipped when the module is not enabled, or when the group already has folders or
/// documents (a second run).
async fn seed_documents(
    state: &AppState,
    structure: &crate::tenancy::Structure,
) -> anyhow::Result<()> {
    if state
        .db
        .enabled_module(structure.id, DOCUMENTS)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let snp = DEMO_PROJECTS
        .iter()
        .find(|p| p.numero == "1.2" && p.structure == "cpts-demo")
        .ok_or_else(|| anyhow::anyhow!("demo project 1.2 missing"))?;
    let group = demo_project_group(state, structure, snp).await?;
    let g = group.id;
    let root = call_module(
        state,
        structure,
        DOCUMENTS,
        snp.referent,
        &format!("/g/{g}"),
        None,
    )
    .await?;
    anyhow::ensure!(
        root.status == 200,
        "demo documents: /g/{g} ({}): {}",
        root.status,
        root.body
    );
    if root.body.contains("data-document=\"") || root.body.contains("data-dossier=\"") {
        return Ok(());
    }
    let referent = snp.referent;
    // A folder for the minutes, and the minutes in it.
    let folder_form = form_fields(&[("nom", "Comptes rendus"), ("parent", "")]);
    let folder = call_module(
        state,
        structure,
        DOCUMENTS,
        referent,
        &format!("/g/{g}/dossiers"),
        Some(&folder_form),
    )
    .await?;
    anyhow::ensure!(
        folder.status == 303,
        "demo documents: folder refused ({}): {}",
        folder.status,
        folder.body
    );
    let folder_id = folder
        .location
        .as_deref()
        .and_then(|l| l.split("dossier=").nth(1))
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(
        !folder_id.is_empty(),
        "demo documents: no folder in {:?}",
        folder.location
    );
    post_documents(
        state,
        structure,
        referent,
        &format!("/g/{g}/documents"),
        multipart_body(
            &[("dossier", folder_id.as_str())],
            &[(
                "fichiers",
                "Compte rendu du comité SNP.md",
                SNP_MINUTES.as_bytes(),
            )],
        ),
    )
    .await?;
    // The sheet and the poster, in one form, at the project's root.
    const SHEET: &str = "Fiche réflexe SNP.pdf";
    const SHEET_TITLE: &str = SNP_TEXT_TITLE;
    let first_lines = [
        "Votre patient demande un rendez-vous le jour même :",
        "1. Proposez un créneau dédié du cabinet (annuaire des disponibilités).",
        "2. Sinon, orientez-le vers le service d’accès aux soins (SAS).",
        "3. Signe de gravité : appelez le 15 sans attendre.",
        "CPTS Démo, groupe projet Soins non programmés. Version 1.",
    ];
    let sheet = demo_pdf(SHEET_TITLE, &first_lines);
    post_documents(
        state,
        structure,
        referent,
        &format!("/g/{g}/documents"),
        multipart_body(
            &[("dossier", "")],
            &[
                ("fichiers", SHEET, sheet.as_slice()),
                ("fichiers", "Affiche permanence du samedi.png", DEMO_PNG),
            ],
        ),
    )
    .await?;
    let listed = call_module(
        state,
        structure,
        DOCUMENTS,
        referent,
        &format!("/g/{g}"),
        None,
    )
    .await?;
    let sheet_id = document_named(&listed.body, SHEET)
        .ok_or_else(|| anyhow::anyhow!("demo documents: {SHEET} not listed: {}", listed.body))?;
    // Marc, an active member, deposits the second version (named) and comments.
    let second_lines = [
        "Votre patient demande un rendez-vous le jour même :",
        "1. Proposez un créneau dédié du cabinet (annuaire des disponibilités).",
        "2. Le samedi de 9 h à 12 h : permanence de deux médecins de la CPTS.",
        "3. Sinon, orientez-le vers le service d’accès aux soins (SAS).",
        "4. Signe de gravité : appelez le 15 sans attendre.",
        "CPTS Démo, groupe projet Soins non programmés. Version 2.",
    ];
    let second = demo_pdf(SHEET_TITLE, &second_lines);
    post_documents(
        state,
        structure,
        "membre",
        &format!("/d/{sheet_id}/versions"),
        multipart_body(
            &[("libelle", "Relue en groupe de travail")],
            &[("fichier", SHEET, second.as_slice())],
        ),
    )
    .await?;
    let comment = form_fields(&[(
        "texte",
        "J’ai ajouté la permanence du samedi matin : merci de relire la version 2 avant de l’afficher.",
    )]);
    let posted = call_module(
        state,
        structure,
        DOCUMENTS,
        "membre",
        &format!("/d/{sheet_id}/fil"),
        Some(&comment),
    )
    .await?;
    anyhow::ensure!(
        posted.status == 303,
        "demo documents: comment refused ({}): {}",
        posted.status,
        posted.body
    );
    let text_id = seed_snp_text(state, structure, g, referent).await?;
    seed_library(state, structure, referent, &text_id, &sheet_id).await?;
    tracing::debug!(structure = %structure.slug, "demo documents ready");
    Ok(())
}

/// « Fiche réflexe soins non programmés », a Markdown text of the SNP project written
/// together through the documents module's own forms: Camille, the référent, writes
/// version 1; Marc, membre actif, revises the Saturday row (version 2, with a summary);
/// Alice, who had opened version 1 too, adds an item to the checklist: her save, on a
/// stale base, is merged with Marc's (version 3, « fusion avec la version 2 »). Returns
/// the text's id.
async fn seed_snp_text(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    g: i64,
    referent: &str,
) -> anyhow::Result<String> {
    let form = form_fields(&[
        ("titre", SNP_TEXT_TITLE),
        ("texte", SNP_TEXT),
        ("dossier", ""),
    ]);
    let created = call_module(
        state,
        structure,
        DOCUMENTS,
        referent,
        &format!("/g/{g}/textes"),
        Some(&form),
    )
    .await?;
    anyhow::ensure!(
        created.status == 303,
        "demo documents: the text refused ({}): {}",
        created.status,
        created.body
    );
    let id = created
        .location
        .as_deref()
        .and_then(|l| l.split("/d/").nth(1))
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(
        !id.is_empty(),
        "demo documents: no text in {:?}",
        created.location
    );
    let revised = SNP_TEXT.replace(SNP_TEXT_SATURDAY, SNP_TEXT_SATURDAY_REVISED);
    let completed = SNP_TEXT.replace(
        SNP_TEXT_CHECKLIST_END,
        &format!("{SNP_TEXT_CHECKLIST_END}\n{SNP_TEXT_CHECKLIST_ADDED}"),
    );
    anyhow::ensure!(
        revised != SNP_TEXT && completed != SNP_TEXT,
        "demo documents: the text's edits do not apply"
    );
    save_snp_text(
        state,
        structure,
        "membre",
        &id,
        &revised,
        "Permanence du samedi précisée",
        "ok=enregistre",
    )
    .await?;
    save_snp_text(
        state,
        structure,
        "admin",
        &id,
        &completed,
        "Fiche d’attente ajoutée à la liste",
        "ok=fusion",
    )
    .await?;
    Ok(id)
}

/// What the text's entry in the national library says of it.
const SNP_LIBRARY_DESCRIPTION: &str = "Conduite à tenir des secrétariats et des professionnels quand un patient demande à être vu le jour même : qui appeler, à quelles heures, et la liste à vérifier avant de l’orienter.";
const SNP_LIBRARY_TAGS: &str = "soins non programmés, SAS, secrétariat";

/// The SNP sheet shared in the national library (`crate::library`) by Camille, the
/// CPTS's coordinator, through the documents module's own form and the host's
/// confirmation, as a browser would: the Markdown text « Fiche réflexe soins non
/// programmés » (CC BY) at its revision 1, then its merged revision 3 as the entry's
/// version 2 (with a note), and the PDF sheet's current version (Licence Ouverte). Read
/// from `msp-cayenne`, where the module is enabled with `library` too. Skipped when the
/// structure already published through the module (a second run).
async fn seed_library(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    publisher: &str,
    text_id: &str,
    sheet_id: &str,
) -> anyhow::Result<()> {
    let published: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM library_entries WHERE owner_structure_id = $1 AND module_id = $2",
    )
    .bind(structure.id)
    .bind(DOCUMENTS)
    .fetch_one(state.db.pool())
    .await?;
    if published > 0 {
        return Ok(());
    }
    let entry = publish_document(
        state,
        structure,
        publisher,
        text_id,
        &[
            ("titre", SNP_TEXT_TITLE),
            ("description", SNP_LIBRARY_DESCRIPTION),
            ("mots_cles", SNP_LIBRARY_TAGS),
            ("licence", "cc-by"),
            ("version", "1"),
            ("entree", ""),
        ],
    )
    .await?
    .to_string();
    publish_document(
        state,
        structure,
        publisher,
        text_id,
        &[
            ("titre", SNP_TEXT_TITLE),
            ("description", SNP_LIBRARY_DESCRIPTION),
            ("mots_cles", SNP_LIBRARY_TAGS),
            ("licence", "cc-by"),
            ("version", "3"),
            (
                "note",
                "Permanence du samedi précisée ; fiche d’attente ajoutée à la liste.",
            ),
            ("entree", entry.as_str()),
        ],
    )
    .await?;
    publish_document(
        state,
        structure,
        publisher,
        sheet_id,
        &[
            ("titre", "Fiche réflexe SNP à afficher"),
            (
                "description",
                "La fiche réflexe en une page, à afficher dans les cabinets et les pharmacies.",
            ),
            ("mots_cles", "soins non programmés, affiche"),
            ("licence", "etalab"),
            ("version", "2"),
            ("entree", ""),
        ],
    )
    .await?;
    Ok(())
}

/// Posts the documents module's publish form of document `id` as `login`, then confirms
/// the proposal as the host's page does once its box is ticked; the entry's id.
async fn publish_document(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    login: &str,
    id: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<i64> {
    let form = form_fields(fields);
    let path = format!("/d/{id}/publier");
    let proposed = call_module(state, structure, DOCUMENTS, login, &path, Some(&form)).await?;
    let prefix = format!("/{}/bibliotheque/confirmer/", structure.slug);
    let token = proposed
        .location
        .as_deref()
        .and_then(|l| l.strip_prefix(prefix.as_str()))
        .filter(|t| !t.is_empty() && !t.contains('/'))
        .map(str::to_string);
    let Some(token) = token.filter(|_| proposed.status == 303) else {
        anyhow::bail!(
            "demo library: POST {path} as {login} ({}, {:?}): {}",
            proposed.status,
            proposed.location,
            proposed.body
        );
    };
    let account = demo_login(state, login).await?;
    let published =
        crate::library::confirm(&state.db, &state.blobs, structure.id, account.id, &token)
            .await
            .map_err(|e| anyhow::anyhow!("demo library: confirming {path}: {e}"))?;
    Ok(published.entry_id)
}

/// Saves `text` over version 1 of the SNP text `id` as `login`, with `summary`; the
/// answer must be a 303 whose Location holds `outcome`.
async fn save_snp_text(
    state: &AppState,
    structure: &crate::tenancy::Structure,
    login: &str,
    id: &str,
    text: &str,
    summary: &str,
    outcome: &str,
) -> anyhow::Result<()> {
    let form = form_fields(&[
        ("titre", SNP_TEXT_TITLE),
        ("texte", text),
        ("resume", summary),
        ("base", "1"),
    ]);
    let saved = call_module(
        state,
        structure,
        DOCUMENTS,
        login,
        &format!("/d/{id}/modifier"),
        Some(&form),
    )
    .await?;
    anyhow::ensure!(
        saved.status == 303
            && saved
                .location
                .as_deref()
                .is_some_and(|l| l.contains(outcome)),
        "demo documents: the text saved as {login} ({}, {:?}): {}",
        saved.status,
        saved.location,
        saved.body
    );
    Ok(())
}
