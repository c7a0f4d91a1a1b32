//! Enabling and disabling a structure's modules outside the web pages (the operator's
//! command line): which version, which capabilities, with the audit entry (in the
//! change's transaction). A first-party module that is not installed yet is installed
//! from the bundled package.
//! Also the host's own calls into an enabled module, outside any HTTP request
//! ([`enabled_plugin`], [`get_as`]).

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use serde_json::json;

use crate::audit::{AuditRecord, audit_and_commit};
use crate::http::AppState;
use crate::identity::Account;
use crate::plugins::{CallContext, Capability, LoadedPlugin};
use crate::tenancy::Structure;

/// What [`enable_module`] did.
#[derive(Debug)]
pub struct Enabled {
    pub module: String,
    pub version: String,
    pub granted: Vec<String>,
    /// Capabilities the module asks for and the structure did not grant.
    pub not_granted: Vec<String>,
}

/// Installed versions of `module_id`, newest first; installs the bundled first-party
/// package of that id when none is installed.
async fn installed_versions(state: &AppState, module_id: &str) -> anyhow::Result<Vec<String>> {
    let versions = |installed: Vec<crate::plugins::registry::InstalledPackage>| {
        let mut v: Vec<semver::Version> = installed
            .into_iter()
            .filter(|p| p.plugin_id == module_id)
            .filter_map(|p| p.version.parse().ok())
            .collect();
        v.sort();
        v.into_iter()
            .rev()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
    };
    let found = versions(state.registry.installed().await?);
    if !found.is_empty() {
        return Ok(found);
    }
    for (_, wasm) in crate::BUNDLED {
        let plugin = state.registry.runtime().load(wasm).await?;
        if plugin.manifest().id == module_id {
            state
                .registry
                .install(wasm)
                .await
                .with_context(|| format!("installing the bundled module {module_id}"))?;
            return Ok(versions(state.registry.installed().await?));
        }
    }
    Ok(Vec::new())
}

/// Enables `module_id` for `structure` at `version` (default: the newest installed),
/// granting `grants` (capability names, or `all` for every one it asks for).
pub async fn enable_module(
    state: &AppState,
    structure: &Structure,
    module_id: &str,
    version: Option<String>,
    grants: &[String],
) -> anyhow::Result<Enabled> {
    let versions = installed_versions(state, module_id).await?;
    if versions.is_empty() {
        let installed: Vec<String> = state
            .registry
            .installed()
            .await?
            .into_iter()
            .map(|p| p.plugin_id)
            .collect();
        bail!(
            "module {module_id:?} is not installed: install its package with `maillage plugin install FILE.wasm` (installed modules: {})",
            if installed.is_empty() {
                "none".to_string()
            } else {
                installed.join(", ")
            }
        );
    }
    let version = match version {
        Some(v) if versions.contains(&v) => v,
        Some(v) => bail!(
            "version {v} of {module_id} is not installed (installed: {})",
            versions.join(", ")
        ),
        None => versions[0].clone(),
    };
    let plugin = state
        .registry
        .get(module_id, &version)
        .await
        .map_err(|e| anyhow!("cannot load {module_id} {version}: {e}"))?;
    let asked = &plugin.manifest().capabilities;
    let mut granted: Vec<String> = Vec::new();
    for grant in grants {
        if grant == "all" {
            granted.extend(asked.iter().map(|c| c.to_string()));
            continue;
        }
        match Capability::parse(grant) {
            Some(c) if asked.contains(&c) => granted.push(c.to_string()),
            _ => bail!(
                "{module_id} does not ask for the capability {grant:?} (it asks for: {})",
                asked
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    granted.sort();
    granted.dedup();
    let not_granted = asked
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !granted.contains(c))
        .collect();
    let before = state.db.enabled_module(structure.id, module_id).await?;
    // The change and its audit entry in one write transaction.
    let mut tx = state.db.begin_write().await?;
    state
        .db
        .enable_module_in(&mut tx, structure.id, module_id, &version, &granted)
        .await?;
    audit_and_commit(
        tx,
        AuditRecord {
            actor: None,
            structure_id: Some(structure.id),
            action: if before.is_some() {
                "module.update"
            } else {
                "module.enable"
            },
            target: module_id,
            before: before.map(|b| json!({"version": b.version, "granted": b.granted})),
            after: Some(json!({"version": version, "granted": granted})),
        },
    )
    .await?;
    Ok(Enabled {
        module: module_id.to_string(),
        version,
        granted,
        not_granted,
    })
}

/// Disables `module_id` for `structure`; its data stays, for a later re-enabling.
pub async fn disable_module(
    state: &AppState,
    structure: &Structure,
    module_id: &str,
) -> anyhow::Result<()> {
    let Some(before) = state.db.enabled_module(structure.id, module_id).await? else {
        bail!("{module_id} is not enabled for {}", structure.slug);
    };
    let mut tx = state.db.begin_write().await?;
    state
        .db
        .disable_module_in(&mut tx, structure.id, module_id)
        .await?;
    audit_and_commit(
        tx,
        AuditRecord {
            actor: None,
            structure_id: Some(structure.id),
            action: "module.disable",
            target: module_id,
            before: Some(json!({"version": before.version, "granted": before.granted})),
            after: None,
        },
    )
    .await?;
    Ok(())
}

/// A structure's enabled module, loaded, with the capabilities the structure granted it
/// (those this version still declares); None when the module is not enabled there.
pub async fn enabled_plugin(
    state: &AppState,
    structure: &Structure,
    module_id: &str,
) -> anyhow::Result<Option<(Arc<LoadedPlugin>, Vec<Capability>)>> {
    let Some(module) = state.db.enabled_module(structure.id, module_id).await? else {
        return Ok(None);
    };
    let plugin = state
        .registry
        .get(&module.plugin_id, &module.version)
        .await
        .map_err(|e| anyhow!("cannot load {module_id} {}: {e}", module.version))?;
    let granted = plugin.effective_capabilities(&module.granted);
    Ok(Some((plugin, granted)))
}

/// One `GET {module's base path}{path_and_query}` into an enabled module, made by the
/// host outside any HTTP request (the operator's tools), as `account`, a member of
/// `structure` with the host roles `roles` (the runtime adds the module roles the member
/// holds). The members' limits, as a request from the web page; a fault is an error.
pub async fn get_as(
    state: &AppState,
    structure: &Structure,
    (plugin, granted): (&Arc<LoadedPlugin>, &[Capability]),
    account: &Account,
    roles: Vec<String>,
    path_and_query: &str,
) -> anyhow::Result<http::Response<Bytes>> {
    let module_id = plugin.manifest().id.clone();
    let request_id = crate::storage::new_key();
    let ctx =
        CallContext::anonymous(structure, &module_id, &request_id, "").with_user(account, roles);
    let request = http::Request::get(format!("{}{path_and_query}", ctx.base_path))
        .body(Bytes::new())
        .map_err(|e| anyhow!("a request to {module_id}: {e}"))?;
    state
        .registry
        .runtime()
        .handle_http(plugin, ctx, granted.to_vec(), request)
        .await
        .map_err(|fault| {
            tracing::error!(module = %module_id, %request_id, cause = %fault, "host call failed");
            anyhow!("the module {module_id} failed (request {request_id}): {fault}")
        })
}
