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
    /// (structure slug, role, gestionnaire annuaire)
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
        for (slug, role, directory_manager) in demo.memberships {
            if let Some(structure) = state.db.structure_by_slug(slug).await?
                && state.db.member(structure.id, account.id).await?.is_none()
            {
                state
                    .db
                    .set_membership(structure.id, account.id, *role, *directory_manager)
                    .await?;
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
    for (demo, structure) in created {
        import_directory(state, demo, &structure).await?;
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
