//! Demo data: structures with the bundled modules installed and enabled. Idempotent.

use crate::http::AppState;
use crate::tenancy::StructureKind;

pub struct DemoStructure {
    pub slug: &'static str,
    pub name: &'static str,
    pub kind: StructureKind,
    pub time_zone: &'static str,
}

pub const DEMO_STRUCTURES: &[DemoStructure] = &[
    DemoStructure {
        slug: "cpts-demo",
        name: "CPTS Démo",
        kind: StructureKind::Cpts,
        time_zone: "Europe/Paris",
    },
    DemoStructure {
        slug: "msp-cayenne",
        name: "MSP de Cayenne (démo)",
        kind: StructureKind::Msp,
        time_zone: "America/Cayenne",
    },
];

/// Installs the bundled plugins and enables them for the demo structures.
pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    let mut installed = Vec::new();
    for (id, wasm) in crate::BUNDLED {
        let plugin = state
            .registry
            .install(wasm)
            .await
            .map_err(|e| anyhow::anyhow!("installing bundled plugin {id}: {e}"))?;
        installed.push((
            plugin.manifest().id.clone(),
            plugin.manifest().version.to_string(),
        ));
    }
    for demo in DEMO_STRUCTURES {
        let structure = match state.db.structure_by_slug(demo.slug).await? {
            Some(s) => s,
            None => {
                state
                    .db
                    .create_structure(demo.slug, demo.name, demo.kind, demo.time_zone)
                    .await?
            }
        };
        for (id, version) in &installed {
            state.db.enable_module(structure.id, id, version).await?;
        }
    }
    Ok(())
}
