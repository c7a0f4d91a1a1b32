//! Indemnity rule sets (`maillage:indemnity@0.1.0`): pure components, installed for the
//! platform or one structure, linked by the host into the indemnity module's `rules` and
//! `engine` imports.
//!
//! A rule set imports nothing (refused at install otherwise), so it is deterministic and
//! can be rerun over past lines. Every `compute` runs in a fresh store with its own
//! memory cap and deadline: a rule set that traps, loops, exhausts its memory or answers
//! garbage fails that one case, with a French reason for the treasurer, and nothing else.
//! Each structure chooses a rule set version and its settings from an effective date
//! (`rule_set_assignments`, never updated: the history is kept); `rules.compute` uses the
//! choice in force at the meeting's date.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use semver::Version;
use sqlx::Row;
use tokio::sync::RwLock;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap};

use super::host::{HostState, MemoryLimiter};
use super::{Capability, EPOCH_TICK, LoadError, cache::ComponentCache, cases};
use crate::storage::blobs::BlobStore;
use crate::storage::{Db, StorageError, now_secs};

/// The export side (what a rule set provides).
mod rule_set {
    wasmtime::component::bindgen!({
        path: "../wit/indemnity/v0.1.0",
        world: "maillage:indemnity/rule-set",
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// The import side (what the indemnity module calls).
mod ledger {
    wasmtime::component::bindgen!({
        path: "../wit/indemnity/v0.1.0",
        world: "maillage:indemnity/ledger",
        imports: { default: async | trappable },
        require_store_data_send: true,
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

use ledger::maillage::indemnity::{engine, rules};
use rule_set::exports::maillage::indemnity::rules as exported;

/// Memory a rule set may use: it computes one amount.
const RULE_SET_MEMORY: usize = 16 << 20;
/// Time one `compute` (or `describe`) may take, instantiation included.
const RULE_SET_DEADLINE: Duration = Duration::from_millis(200);
/// Cases of one `engine.compute-with` call.
const MAX_CASES: usize = 20_000;
/// Above this, an amount is garbage (1 000 000 €).
const MAX_CENTS: i64 = 100_000_000;
const MAX_RATIONALE: usize = 2000;

/// The export a rule set is recognised by, whatever its version.
const RULES_EXPORT_PREFIX: &str = "maillage:indemnity/rules@";

/// The `maillage:indemnity/rules` versions this host has bindings for, oldest first. A
/// rule set exporting any semver-compatible version (the same minor in 0.x, the same
/// major from 1.0) is instantiated through the newest compatible one: wasmtime matches
/// export names by semver, so a `rules@0.1.3` export is found by the 0.1.0 bindings, and
/// a `rules@0.1.0` export by 0.1.x bindings the host may add later. Another major (or
/// minor, in 0.x) is refused at check, install and load, naming both versions.
pub const PROVIDED_RULES_WIT_VERSIONS: [Version; 1] = [Version::new(0, 1, 0)];

/// What the host supports, as the CLI and errors say it: "0.1.x".
pub fn supported_rules_range() -> String {
    let mut tracks: Vec<String> = Vec::new();
    for v in &PROVIDED_RULES_WIT_VERSIONS {
        let track = if v.major > 0 {
            format!("{}.x", v.major)
        } else if v.minor > 0 {
            format!("0.{}.x", v.minor)
        } else {
            v.to_string()
        };
        if !tracks.contains(&track) {
            tracks.push(track);
        }
    }
    tracks.join(" or ")
}

/// Whether bindings of `provided` instantiate an export of `exported` (the rules of
/// semver, as wasmtime matches names; a pre-release matches nothing else).
fn compatible(provided: &Version, exported: &Version) -> bool {
    if !provided.pre.is_empty() || !exported.pre.is_empty() {
        return provided == exported;
    }
    match (provided.major, provided.minor) {
        (0, 0) => exported.major == 0 && exported.minor == 0 && provided.patch == exported.patch,
        (0, minor) => exported.major == 0 && exported.minor == minor,
        (major, _) => exported.major == major,
    }
}

/// The `maillage:indemnity/rules` export a rule set is used through.
#[derive(Debug, Clone)]
struct RulesExport {
    /// As exported, e.g. "maillage:indemnity/rules@0.1.0".
    name: String,
    version: Version,
    /// The host's bindings it is instantiated through.
    binding: Version,
}

/// The rules export the host uses among a component's export names: the newest one it
/// supports; None when there is no rules export at all; refused (naming both versions)
/// when every rules export is of a version the host does not support.
fn rules_export<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Option<RulesExport>, RuleSetError> {
    let mut found: Vec<(String, Version)> = Vec::new();
    for name in names {
        let Some(version) = name.strip_prefix(RULES_EXPORT_PREFIX) else {
            continue;
        };
        let version = Version::parse(version)
            .map_err(|e| RuleSetError::Invalid(format!("export {name}: {e}")))?;
        found.push((name.to_string(), version));
    }
    found.sort_by(|a, b| b.1.cmp(&a.1));
    for (name, version) in &found {
        if let Some(binding) = PROVIDED_RULES_WIT_VERSIONS
            .iter()
            .rev()
            .find(|provided| compatible(provided, version))
        {
            return Ok(Some(RulesExport {
                name: name.clone(),
                version: version.clone(),
                binding: binding.clone(),
            }));
        }
    }
    match found.first() {
        Some((_, newest)) => Err(RuleSetError::UnsupportedWit {
            rule_set: newest.clone(),
            host: supported_rules_range(),
        }),
        None => Ok(None),
    }
}

fn exports_of(engine: &Engine, component: &Component) -> Result<Option<RulesExport>, RuleSetError> {
    rules_export(
        component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name),
    )
}

fn imports_of(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

fn package_object(sha256: &str) -> String {
    format!("packages/{sha256}.wasm")
}

/// What a rule set's store holds: nothing but its limits (it has no imports).
pub(super) struct RuleState {
    limiter: MemoryLimiter,
    #[allow(dead_code)]
    table: ResourceTable,
}

/// A rule set, compiled and described.
struct LoadedRuleSet {
    pre: rule_set::RuleSetPre<RuleState>,
    description: exported::Description,
}

/// An installed rule set, as listed for operators.
#[derive(Debug, Clone)]
pub struct InstalledRuleSet {
    pub id: String,
    pub version: String,
    pub name: String,
    /// None: offered to every structure.
    pub structure_id: Option<i64>,
}

/// Why a rule-set component was refused at install (English, for the CLI and logs).
#[derive(Debug, thiserror::Error)]
pub enum RuleSetError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(
        "this rule set imports {0}; a rule set must import nothing (world maillage:indemnity/rule-set; build it with the maillage-rules SDK, which is no_std)"
    )]
    HasImports(String),
    #[error(
        "this rule set exports maillage:indemnity/rules@{rule_set}; this host supports maillage:indemnity/rules@{host}"
    )]
    UnsupportedWit { rule_set: Version, host: String },
    #[error(
        "the component does not export maillage:indemnity/rules: it is not a rule set (world maillage:indemnity/rule-set)"
    )]
    NotARuleSet,
    /// A case file the tools cannot use (a setting value of no kind); the caller names
    /// the file.
    #[error("{0}")]
    Case(String),
    #[error("rule set describe failed: {0}")]
    Describe(String),
    #[error("invalid rule set: {0}")]
    Invalid(String),
    #[error("rule set {id}@{version} is already installed with different content")]
    VersionConflict { id: String, version: String },
    #[error("rule set id {0} belongs to another structure")]
    TakenByAnother(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("i/o error on rule set package: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether a component is a rule set (exports `maillage:indemnity/rules@…`, any version:
/// one the host does not support is refused by [`RuleSets::install`] naming both).
pub fn is_rule_set(engine: &Engine, component: &Component) -> bool {
    component
        .component_type()
        .exports(engine)
        .any(|(name, _)| name.starts_with(RULES_EXPORT_PREFIX))
}

/// Installed rule sets, loaded on first use.
pub struct RuleSets {
    engine: Engine,
    linker: Linker<RuleState>,
    cache: ComponentCache,
    db: Db,
    blobs: BlobStore,
    dir: PathBuf,
    loaded: RwLock<HashMap<(String, String), Arc<LoadedRuleSet>>>,
}

impl RuleSets {
    pub(super) fn new(
        engine: Engine,
        cache_dir: PathBuf,
        db: Db,
        blobs: BlobStore,
        dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let cache = ComponentCache::new(cache_dir, &engine)?;
        Ok(RuleSets {
            linker: Linker::new(&engine),
            engine,
            cache,
            db,
            blobs,
            dir,
            loaded: RwLock::new(HashMap::new()),
        })
    }

    fn store(&self) -> Store<RuleState> {
        rule_store(&self.engine, None)
    }

    /// Compiles, checks (the rules export and its version, no imports) and describes a
    /// rule set.
    async fn load(&self, wasm: &[u8]) -> Result<(Arc<LoadedRuleSet>, String), RuleSetError> {
        let (component, sha256) = self.cache.component(&self.engine, wasm)?;
        let (loaded, _) = prepare(&self.engine, &self.linker, &component, None).await?;
        Ok((Arc::new(loaded), sha256))
    }

    /// Installs a rule set for every structure (`structure_id` None) or for one.
    /// Installing the same bytes twice is a no-op.
    pub async fn install(
        &self,
        wasm: &[u8],
        structure_id: Option<i64>,
    ) -> Result<InstalledRuleSet, RuleSetError> {
        self.install_as(wasm, structure_id, None).await
    }

    /// As [`RuleSets::install`], the rule set's row and its `rule-set.install` audit
    /// entry (by `actor`) committed together.
    pub async fn install_as(
        &self,
        wasm: &[u8],
        structure_id: Option<i64>,
        actor: Option<&crate::identity::Account>,
    ) -> Result<InstalledRuleSet, RuleSetError> {
        let (loaded, sha256) = self.load(wasm).await?;
        let d = &loaded.description;
        let rows = sqlx::query("SELECT version, sha256, structure_id FROM rule_sets WHERE id = $1")
            .bind(&d.id)
            .fetch_all(self.db.pool())
            .await
            .map_err(StorageError::from)?;
        for row in &rows {
            let owner: Option<i64> = row.get(2);
            if owner != structure_id {
                return Err(RuleSetError::TakenByAnother(d.id.clone()));
            }
            if row.get::<String, _>(0) == d.version {
                if row.get::<String, _>(1) != sha256 {
                    return Err(RuleSetError::VersionConflict {
                        id: d.id.clone(),
                        version: d.version.clone(),
                    });
                }
                return Ok(installed(d, structure_id));
            }
        }
        self.blobs
            .put_platform(
                &package_object(&sha256),
                bytes::Bytes::copy_from_slice(wasm),
            )
            .await?;
        self.keep_locally(&sha256, wasm).await?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO rule_sets (id, version, structure_id, name, description, sha256, installed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&d.id)
        .bind(&d.version)
        .bind(structure_id)
        .bind(&d.name)
        .bind(serde_json::to_string(d).unwrap_or_default())
        .bind(&sha256)
        .bind(now_secs())
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from)?;
        if let Some(actor) = actor {
            crate::audit::audit_in(
                &mut tx,
                crate::audit::AuditRecord {
                    actor: Some(actor),
                    structure_id,
                    action: "rule-set.install",
                    target: &d.id,
                    before: None,
                    after: Some(serde_json::json!({"version": d.version, "name": d.name})),
                },
            )
            .await?;
        }
        tx.commit().await.map_err(StorageError::from)?;
        let result = installed(d, structure_id);
        self.loaded
            .write()
            .await
            .insert((d.id.clone(), d.version.clone()), loaded);
        Ok(result)
    }

    /// Makes a rule set available to one structure: nothing to do when these very bytes
    /// are installed for it or for every structure, else installed for it
    /// ([`RuleSets::install`]: refused for an id another structure owns, or a version
    /// installed with other bytes). True when it was installed now.
    pub async fn make_available(
        &self,
        wasm: &[u8],
        structure_id: i64,
    ) -> Result<(InstalledRuleSet, bool), RuleSetError> {
        let (loaded, sha256) = self.load(wasm).await?;
        let d = &loaded.description;
        let row = sqlx::query(
            "SELECT sha256, structure_id FROM rule_sets WHERE id = $1 AND version = $2",
        )
        .bind(&d.id)
        .bind(&d.version)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StorageError::from)?;
        if let Some(row) = row {
            let owner: Option<i64> = row.get(1);
            if row.get::<String, _>(0) == sha256 && owner.is_none_or(|o| o == structure_id) {
                return Ok((installed(d, owner), false));
            }
        }
        let installed = self.install(wasm, Some(structure_id)).await?;
        Ok((installed, true))
    }

    /// Puts rule set `id` `version` in force for a structure from `effective_from`
    /// ("YYYY-MM-DD"), with its default settings: what the barème page's « Mettre en
    /// vigueur » does through `engine.assign` (a new row of `rule_set_assignments`, the
    /// history is kept), with the same audit entry as the page writes
    /// (`indemnites.bareme.choisir`), in one transaction. For the operator's command
    /// line: no account chose it (`set_by` is empty, the audit's actor is the CLI).
    pub async fn assign_defaults(
        &self,
        structure_id: i64,
        id: &str,
        version: &str,
        effective_from: &str,
    ) -> Result<cases::AssignedRuleSet, RuleSetError> {
        if !valid_date(effective_from) {
            return Err(RuleSetError::Invalid(format!(
                "{effective_from:?} is not a date (YYYY-MM-DD)"
            )));
        }
        let loaded = {
            let mut conn = self.db.pool().acquire().await.map_err(StorageError::from)?;
            self.get(&mut conn, structure_id, id, version)
                .await
                .map_err(RuleSetError::Invalid)?
                .ok_or_else(|| {
                    RuleSetError::Invalid(format!(
                        "rule set {id} {version} is not available to this structure"
                    ))
                })?
        };
        let d = &loaded.description;
        let settings = defaults(d);
        let stored = serde_json::to_string(&settings)
            .map_err(|e| RuleSetError::Invalid(format!("settings: {e}")))?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO rule_set_assignments (structure_id, rule_set_id, version, settings, effective_from, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(structure_id)
        .bind(id)
        .bind(version)
        .bind(stored)
        .bind(effective_from)
        .bind(None::<i64>)
        .bind(now_secs())
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from)?;
        let target = format!("{} {}", d.name, d.version);
        crate::audit::audit_and_commit(
            tx,
            crate::audit::AuditRecord {
                actor: None,
                structure_id: Some(structure_id),
                action: ASSIGN_AUDIT_ACTION,
                target: &target,
                before: None,
                after: Some(serde_json::json!({
                    "bareme": id,
                    "version": version,
                    "effet": effective_from,
                    "reglages": settings_json(&settings),
                })),
            },
        )
        .await?;
        Ok(cases::AssignedRuleSet {
            id: d.id.clone(),
            version: d.version.clone(),
            name: d.name.clone(),
            effective_from: effective_from.to_string(),
            settings: settings
                .iter()
                .map(|s| (s.key.clone(), plain_value(&s.value)))
                .collect(),
        })
    }

    async fn keep_locally(&self, sha256: &str, wasm: &[u8]) -> Result<(), std::io::Error> {
        let path = self.dir.join(format!("{sha256}.wasm"));
        let tmp = path.with_extension("rtmp");
        tokio::fs::write(&tmp, wasm).await?;
        tokio::fs::File::open(&tmp).await?.sync_all().await?;
        tokio::fs::rename(&tmp, &path).await
    }

    /// Every installed rule set, for operators.
    pub async fn installed(&self) -> Result<Vec<InstalledRuleSet>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, version, name, structure_id FROM rule_sets ORDER BY id, version",
        )
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| InstalledRuleSet {
                id: r.get(0),
                version: r.get(1),
                name: r.get(2),
                structure_id: r.get(3),
            })
            .collect())
    }

    /// The loaded rule set (id, version) if the structure may use it.
    async fn get(
        &self,
        conn: &mut sqlx::AnyConnection,
        structure_id: i64,
        id: &str,
        version: &str,
    ) -> Result<Option<Arc<LoadedRuleSet>>, String> {
        let row = sqlx::query(
            "SELECT sha256 FROM rule_sets WHERE id = $1 AND version = $2 AND (structure_id IS NULL OR structure_id = $3)",
        )
        .bind(id)
        .bind(version)
        .bind(structure_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| format!("base de données indisponible : {e}"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let key = (id.to_string(), version.to_string());
        if let Some(loaded) = self.loaded.read().await.get(&key) {
            return Ok(Some(loaded.clone()));
        }
        let sha: String = row.get(0);
        let wasm = match tokio::fs::read(self.dir.join(format!("{sha}.wasm"))).await {
            Ok(wasm) => wasm,
            Err(_) => {
                let shared = self
                    .blobs
                    .get_platform(&package_object(&sha))
                    .await
                    .map_err(|e| format!("paquet du barème illisible : {e}"))?
                    .ok_or_else(|| format!("paquet du barème {id}@{version} introuvable"))?;
                let _ = self.keep_locally(&sha, &shared).await;
                shared.to_vec()
            }
        };
        let (loaded, _) = self.load(&wasm).await.map_err(|e| {
            tracing::error!(rule_set = %format!("{id}@{version}"), error = %e, "installed rule set no longer loads");
            format!("le barème {id}@{version} ne se charge plus")
        })?;
        self.loaded.write().await.insert(key, loaded.clone());
        Ok(Some(loaded))
    }

    /// One case, in a fresh store. Errors are French (shown to the treasurer).
    async fn compute(
        &self,
        rule_set: &LoadedRuleSet,
        meeting: &exported::Meeting,
        attendee: &exported::Attendee,
        settings: &[exported::Setting],
    ) -> Result<exported::Outcome, String> {
        let label = format!(
            "{}@{}",
            rule_set.description.id, rule_set.description.version
        );
        let mut store = self.store();
        let result = async {
            let instance = rule_set.pre.instantiate_async(&mut store).await?;
            instance
                .maillage_indemnity_rules()
                .call_compute(&mut store, meeting, attendee, settings)
                .await
        }
        .await;
        match result {
            Ok(Ok(outcome)) => check_outcome(outcome).inspect_err(|reason| {
                tracing::warn!(rule_set = %label, %reason, "rule set answered garbage");
            }),
            Ok(Err(reason)) => Err(clip(reason)),
            Err(e) => {
                let (french, english) = failure(&e, store.data());
                tracing::warn!(rule_set = %label, fault = %english, "rule set failed");
                Err(french)
            }
        }
    }

    /// A benchmark of one call: fresh store + instantiate + compute.
    pub async fn bench_one(&self, id: &str, version: &str) -> Result<(), String> {
        let loaded = self
            .loaded
            .read()
            .await
            .get(&(id.to_string(), version.to_string()))
            .cloned()
            .ok_or("not loaded")?;
        let settings = defaults(&loaded.description);
        let meeting = exported::Meeting {
            id: "1".into(),
            title: "Groupe de travail".into(),
            date: "2026-03-10".into(),
            duration_minutes: 120,
            kind: "groupe-de-travail".into(),
            group_id: Some("1".into()),
            group_name: None,
            mission: None,
            action: None,
        };
        let attendee = exported::Attendee {
            person_id: Some("1".into()),
            profession: Some("Infirmier".into()),
            exercise_mode: exported::ExerciseMode::Liberal,
            employer_convention: false,
            adherent: true,
            role: exported::GroupRole::Active,
            minutes: 120,
        };
        self.compute(&loaded, &meeting, &attendee, &settings)
            .await
            .map(|_| ())
    }
}

/// The audit action of the barème page's « Mettre en vigueur » (the indemnity module
/// writes `bareme.choisir`, which the host prefixes with the module id).
const ASSIGN_AUDIT_ACTION: &str = "indemnites.bareme.choisir";

/// Settings as the indemnity module's audit entries and lines store them:
/// `[{"key", "kind", "value"}]`.
fn settings_json(settings: &[exported::Setting]) -> serde_json::Value {
    use exported::SettingValue as V;
    serde_json::Value::Array(
        settings
            .iter()
            .map(|s| {
                let (kind, value) = match &s.value {
                    V::Cents(v) => ("cents", serde_json::json!(v)),
                    V::Hours(v) => ("hours", serde_json::json!(v)),
                    V::Boolean(v) => ("boolean", serde_json::json!(v)),
                    V::Choice(v) => ("choice", serde_json::json!(v)),
                };
                serde_json::json!({ "key": s.key, "kind": kind, "value": value })
            })
            .collect(),
    )
}

/// A fresh store for one rule-set call: the memory cap and the deadline; `fuel` on an
/// engine that consumes fuel (the tools').
fn rule_store(engine: &Engine, fuel: Option<u64>) -> Store<RuleState> {
    let mut store = Store::new(
        engine,
        RuleState {
            limiter: MemoryLimiter::new(RULE_SET_MEMORY),
            table: ResourceTable::new(),
        },
    );
    store.limiter(|s| &mut s.limiter);
    let ticks = (RULE_SET_DEADLINE.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_trap();
    if let Some(fuel) = fuel
        && let Err(e) = store.set_fuel(fuel)
    {
        tracing::warn!(error = %e, "fuel not set on a rule-set store");
    }
    store
}

/// Checks a compiled rule set (its rules export and version, then that it imports
/// nothing), links and describes it (validated): what installing and the tools share.
async fn prepare(
    engine: &Engine,
    linker: &Linker<RuleState>,
    component: &Component,
    fuel: Option<u64>,
) -> Result<(LoadedRuleSet, RulesExport), RuleSetError> {
    let export = exports_of(engine, component)?.ok_or(RuleSetError::NotARuleSet)?;
    let imports = imports_of(engine, component);
    if !imports.is_empty() {
        return Err(RuleSetError::HasImports(imports.join(", ")));
    }
    let instance_pre = linker
        .instantiate_pre(component)
        .map_err(|e| RuleSetError::Invalid(format!("{e:#}")))?;
    let pre = rule_set::RuleSetPre::new(instance_pre)
        .map_err(|e| RuleSetError::Invalid(format!("{e:#}")))?;
    let mut store = rule_store(engine, fuel);
    let description = async {
        let instance = pre.instantiate_async(&mut store).await?;
        instance
            .maillage_indemnity_rules()
            .call_describe(&mut store)
            .await
    }
    .await
    .map_err(|e| RuleSetError::Describe(failure(&e, store.data()).0))?;
    validate_description(&description).map_err(RuleSetError::Invalid)?;
    Ok((LoadedRuleSet { pre, description }, export))
}

fn installed(d: &exported::Description, structure_id: Option<i64>) -> InstalledRuleSet {
    InstalledRuleSet {
        id: d.id.clone(),
        version: d.version.clone(),
        name: d.name.clone(),
        structure_id,
    }
}

fn clip(mut text: String) -> String {
    if text.len() > MAX_RATIONALE {
        let mut end = MAX_RATIONALE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// (French for the treasurer, English for the log).
fn failure(error: &wasmtime::Error, state: &RuleState) -> (String, String) {
    if state.limiter.exceeded() {
        return (
            "le barème a dépassé la mémoire qui lui est accordée".into(),
            format!("memory cap of {RULE_SET_MEMORY} bytes exceeded"),
        );
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => (
            "le barème a dépassé son temps de calcul".into(),
            format!("deadline of {RULE_SET_DEADLINE:?} exceeded"),
        ),
        _ => (
            "le barème s’est arrêté sur une erreur".into(),
            format!("trap: {error:#}"),
        ),
    }
}

fn check_outcome(outcome: exported::Outcome) -> Result<exported::Outcome, String> {
    match outcome {
        exported::Outcome::Eligible(p) => {
            if !(0..=MAX_CENTS).contains(&p.cents) {
                return Err(format!(
                    "le barème a renvoyé un montant invalide ({} centimes)",
                    p.cents
                ));
            }
            if p.minutes > 7 * 24 * 60 {
                return Err(format!(
                    "le barème a renvoyé une durée invalide ({} minutes)",
                    p.minutes
                ));
            }
            Ok(exported::Outcome::Eligible(exported::Payment {
                rationale: clip(p.rationale),
                ..p
            }))
        }
        exported::Outcome::NotEligible(reason) => Ok(exported::Outcome::NotEligible(clip(reason))),
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key.as_bytes()[0].is_ascii_lowercase()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn validate_description(d: &exported::Description) -> Result<(), String> {
    let id_ok = !d.id.is_empty()
        && d.id.len() <= 64
        && d.id.as_bytes()[0].is_ascii_lowercase()
        && d.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(format!(
            "rule set id {:?} must be lowercase letters, digits and dashes",
            d.id
        ));
    }
    semver::Version::parse(&d.version).map_err(|e| {
        format!(
            "rule set {} has an invalid version {:?}: {e}",
            d.id, d.version
        )
    })?;
    if d.name.trim().is_empty() {
        return Err(format!("rule set {} has an empty name", d.id));
    }
    let mut keys = std::collections::HashSet::new();
    for def in &d.settings {
        if !valid_key(&def.key) || !keys.insert(def.key.as_str()) {
            return Err(format!(
                "rule set {}: invalid or repeated setting key {:?}",
                d.id, def.key
            ));
        }
        check_value(def, &def.default)
            .map_err(|e| format!("rule set {}: default of {}: {e}", d.id, def.key))?;
    }
    Ok(())
}

/// Whether a value fits its definition; French reason otherwise.
fn check_value(def: &exported::SettingDef, value: &exported::SettingValue) -> Result<(), String> {
    use exported::{SettingKind as K, SettingValue as V};
    let bounded = |n: i64, unit: &str| -> Result<(), String> {
        if n < 0 {
            return Err(format!("« {} » ne peut pas être négatif", def.label));
        }
        if def.min.is_some_and(|min| n < min) || def.max.is_some_and(|max| n > max) {
            return Err(format!(
                "« {} » doit être compris entre {} et {} {unit}",
                def.label,
                def.min.unwrap_or(0),
                def.max.map(|m| m.to_string()).unwrap_or_else(|| "∞".into())
            ));
        }
        Ok(())
    };
    match (&def.kind, value) {
        (K::Cents, V::Cents(n)) => bounded(*n, "centimes"),
        (K::Hours, V::Hours(n)) => bounded(*n, "minutes"),
        (K::Boolean, V::Boolean(_)) => Ok(()),
        (K::Choice(options), V::Choice(v)) => {
            if options.iter().any(|o| &o.value == v) {
                Ok(())
            } else {
                Err(format!("« {} » : valeur {v:?} inconnue", def.label))
            }
        }
        _ => Err(format!("« {} » n’a pas le bon type", def.label)),
    }
}

fn defaults(d: &exported::Description) -> Vec<exported::Setting> {
    d.settings
        .iter()
        .map(|def| exported::Setting {
            key: def.key.clone(),
            value: def.default.clone(),
        })
        .collect()
}

/// Every declared setting, from `given` or its default; refused (French) for an unknown
/// key, a wrong type, a negative or out-of-bounds value.
fn complete_settings(
    d: &exported::Description,
    given: Vec<exported::Setting>,
) -> Result<Vec<exported::Setting>, String> {
    for s in &given {
        if !d.settings.iter().any(|def| def.key == s.key) {
            return Err(format!("paramètre inconnu du barème : {}", s.key));
        }
    }
    d.settings
        .iter()
        .map(|def| {
            let value = given
                .iter()
                .rev()
                .find(|s| s.key == def.key)
                .map(|s| s.value.clone())
                .unwrap_or_else(|| def.default.clone());
            check_value(def, &value)?;
            Ok(exported::Setting {
                key: def.key.clone(),
                value,
            })
        })
        .collect()
}

// The types of every case, field by field between the two bindgen sets (one per case:
// `convert` would print and parse each through JSON). The rest goes through `convert`.

fn meeting_of(m: &rules::Meeting) -> exported::Meeting {
    exported::Meeting {
        id: m.id.clone(),
        title: m.title.clone(),
        date: m.date.clone(),
        duration_minutes: m.duration_minutes,
        kind: m.kind.clone(),
        group_id: m.group_id.clone(),
        group_name: m.group_name.clone(),
        mission: m.mission.clone(),
        action: m.action.clone(),
    }
}

fn attendee_of(a: &rules::Attendee) -> exported::Attendee {
    exported::Attendee {
        person_id: a.person_id.clone(),
        profession: a.profession.clone(),
        exercise_mode: match a.exercise_mode {
            rules::ExerciseMode::Liberal => exported::ExerciseMode::Liberal,
            rules::ExerciseMode::Salarie => exported::ExerciseMode::Salarie,
            rules::ExerciseMode::Autre => exported::ExerciseMode::Autre,
            rules::ExerciseMode::Inconnu => exported::ExerciseMode::Inconnu,
        },
        employer_convention: a.employer_convention,
        adherent: a.adherent,
        role: match a.role {
            rules::GroupRole::Referent => exported::GroupRole::Referent,
            rules::GroupRole::Active => exported::GroupRole::Active,
            rules::GroupRole::Guest => exported::GroupRole::Guest,
        },
        minutes: a.minutes,
    }
}

fn outcome_of(o: &exported::Outcome) -> rules::Outcome {
    match o {
        exported::Outcome::Eligible(p) => rules::Outcome::Eligible(rules::Payment {
            cents: p.cents,
            minutes: p.minutes,
            rationale: p.rationale.clone(),
        }),
        exported::Outcome::NotEligible(reason) => rules::Outcome::NotEligible(reason.clone()),
    }
}

/// Same shapes on both sides of the host (field names and variants are the WIT's): the
/// module's import types become the rule set's export types through serde.
fn convert<A: serde::Serialize, B: serde::de::DeserializeOwned>(value: &A) -> wasmtime::Result<B> {
    let json = serde_json::to_value(value)?;
    Ok(serde_json::from_value(json)?)
}

use crate::people::valid_date;

/// What one module call already looked up: the choice in force at a date and the rule
/// sets it loaded, so that a closing computes all its attendees with one lookup. A
/// choice made during the call (`assign`) clears it.
#[derive(Default)]
pub(super) struct CallMemo {
    in_force: HashMap<String, Option<StoredAssignment>>,
    loaded: HashMap<(String, String), Arc<LoadedRuleSet>>,
}

/// A stored choice.
#[derive(Clone)]
struct StoredAssignment {
    rule_set_id: String,
    version: String,
    settings: Vec<exported::Setting>,
    effective_from: String,
    set_by: String,
    set_at: i64,
}

const ASSIGNMENT_COLUMNS: &str = "a.rule_set_id, a.version, a.settings, a.effective_from, COALESCE(acc.display_name, ''), a.set_at";

fn stored_assignment(row: &sqlx::any::AnyRow) -> StoredAssignment {
    let settings: String = row.get(2);
    StoredAssignment {
        rule_set_id: row.get(0),
        version: row.get(1),
        settings: serde_json::from_str(&settings).unwrap_or_default(),
        effective_from: row.get(3),
        set_by: row.get(4),
        set_at: row.get(5),
    }
}

impl HostState {
    fn rule_sets(&self) -> wasmtime::Result<Arc<RuleSets>> {
        self.rule_sets
            .clone()
            .ok_or_else(|| wasmtime::format_err!("rule sets are not available in this call"))
    }

    async fn assignment_at(
        &mut self,
        structure_id: i64,
        date: &str,
    ) -> wasmtime::Result<Option<StoredAssignment>> {
        if let Some(found) = self.rules_memo.in_force.get(date) {
            return Ok(found.clone());
        }
        let conn = self.reader().await?;
        let row = sqlx::query(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM rule_set_assignments a LEFT JOIN accounts acc ON acc.id = a.set_by
             WHERE a.structure_id = $1 AND a.effective_from <= $2 ORDER BY a.effective_from DESC, a.id DESC LIMIT 1"
        ))
        .bind(structure_id)
        .bind(date)
        .fetch_optional(&mut *conn)
        .await?;
        let found = row.as_ref().map(stored_assignment);
        self.rules_memo
            .in_force
            .insert(date.to_string(), found.clone());
        Ok(found)
    }

    async fn loaded_rule_set(
        &mut self,
        structure_id: i64,
        id: &str,
        version: &str,
    ) -> wasmtime::Result<Result<Arc<LoadedRuleSet>, String>> {
        let key = (id.to_string(), version.to_string());
        if let Some(loaded) = self.rules_memo.loaded.get(&key) {
            return Ok(Ok(loaded.clone()));
        }
        let rule_sets = self.rule_sets()?;
        let conn = self.reader().await?;
        Ok(match rule_sets.get(conn, structure_id, id, version).await {
            Ok(Some(loaded)) => {
                self.rules_memo.loaded.insert(key, loaded.clone());
                Ok(loaded)
            }
            Ok(None) => Err(format!(
                "barème {id} {version} inconnu pour cette structure"
            )),
            Err(e) => Err(e),
        })
    }

    /// The structure's rule set `id` `version` and `settings` completed with its
    /// defaults, or why not (an unknown rule set, a setting it does not take).
    async fn rule_set_and_settings(
        &mut self,
        structure_id: i64,
        id: &str,
        version: &str,
        settings: &[rules::Setting],
    ) -> wasmtime::Result<Result<(Arc<LoadedRuleSet>, Vec<exported::Setting>), String>> {
        let loaded = match self.loaded_rule_set(structure_id, id, version).await? {
            Ok(loaded) => loaded,
            Err(reason) => return Ok(Err(reason)),
        };
        let settings = complete_settings(&loaded.description, convert(&settings)?);
        Ok(settings.map(|settings| (loaded, settings)))
    }

    async fn assignment_of(
        &mut self,
        structure_id: i64,
        stored: StoredAssignment,
    ) -> wasmtime::Result<Option<engine::Assignment>> {
        let loaded = match self
            .loaded_rule_set(structure_id, &stored.rule_set_id, &stored.version)
            .await?
        {
            Ok(loaded) => loaded,
            Err(reason) => {
                tracing::warn!(%reason, "a structure's rule set is no longer available");
                return Ok(None);
            }
        };
        // Stored choices hold every setting; defaults stand in for any that is missing.
        let settings = complete_settings(&loaded.description, stored.settings.clone())
            .unwrap_or(stored.settings);
        Ok(Some(engine::Assignment {
            rule_set: convert(&loaded.description)?,
            settings: convert(&settings)?,
            effective_from: stored.effective_from,
            set_by: stored.set_by,
            set_at: stored.set_at,
        }))
    }

    fn today(&self) -> String {
        let zone = self.call_context().time_zone;
        crate::people::today_in(&zone)
    }
}

impl rules::Host for HostState {
    async fn describe(&mut self) -> wasmtime::Result<rules::Description> {
        let scope = self.require(Capability::IndemnityRules)?;
        let today = self.today();
        if let Some(stored) = self.assignment_at(scope.structure_id, &today).await?
            && let Some(a) = self.assignment_of(scope.structure_id, stored).await?
        {
            return Ok(a.rule_set);
        }
        Ok(rules::Description {
            id: String::new(),
            version: "0.0.0".into(),
            name: "Aucun barème en vigueur".into(),
            summary: String::new(),
            settings: Vec::new(),
        })
    }

    async fn compute(
        &mut self,
        meeting: rules::Meeting,
        attendee: rules::Attendee,
        settings: Vec<rules::Setting>,
    ) -> wasmtime::Result<Result<rules::Outcome, String>> {
        let scope = self.require(Capability::IndemnityRules)?;
        if !valid_date(&meeting.date) {
            return Ok(Err(format!(
                "date de réunion invalide : {:?}",
                meeting.date
            )));
        }
        let Some(stored) = self
            .assignment_at(scope.structure_id, &meeting.date)
            .await?
        else {
            return Ok(Err(format!(
                "aucun barème n’est en vigueur le {}",
                meeting.date
            )));
        };
        let (loaded, settings) = match self
            .rule_set_and_settings(
                scope.structure_id,
                &stored.rule_set_id,
                &stored.version,
                &settings,
            )
            .await?
        {
            Ok(found) => found,
            Err(reason) => return Ok(Err(reason)),
        };
        let rule_sets = self.rule_sets()?;
        let outcome = rule_sets
            .compute(
                &loaded,
                &meeting_of(&meeting),
                &attendee_of(&attendee),
                &settings,
            )
            .await;
        Ok(outcome.map(|o| outcome_of(&o)))
    }
}

impl engine::Host for HostState {
    async fn available(&mut self) -> wasmtime::Result<Vec<rules::Description>> {
        let scope = self.require(Capability::IndemnityRules)?;
        let conn = self.reader().await?;
        let rows = sqlx::query(
            "SELECT description FROM rule_sets WHERE structure_id IS NULL OR structure_id = $1 ORDER BY id, installed_at",
        )
        .bind(scope.structure_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::new();
        for row in rows {
            let json: String = row.get(0);
            if let Ok(d) = serde_json::from_str::<rules::Description>(&json) {
                out.push(d);
            }
        }
        Ok(out)
    }

    async fn history(&mut self) -> wasmtime::Result<Vec<engine::Assignment>> {
        let scope = self.require(Capability::IndemnityRules)?;
        let conn = self.reader().await?;
        let rows = sqlx::query(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM rule_set_assignments a LEFT JOIN accounts acc ON acc.id = a.set_by
             WHERE a.structure_id = $1 ORDER BY a.effective_from DESC, a.id DESC LIMIT 200"
        ))
        .bind(scope.structure_id)
        .fetch_all(&mut *conn)
        .await?;
        let stored: Vec<StoredAssignment> = rows.iter().map(stored_assignment).collect();
        let mut out = Vec::new();
        for s in stored {
            if let Some(a) = self.assignment_of(scope.structure_id, s).await? {
                out.push(a);
            }
        }
        Ok(out)
    }

    async fn in_force(&mut self, date: String) -> wasmtime::Result<Option<engine::Assignment>> {
        let scope = self.require(Capability::IndemnityRules)?;
        if !valid_date(&date) {
            return Ok(None);
        }
        match self.assignment_at(scope.structure_id, &date).await? {
            Some(stored) => self.assignment_of(scope.structure_id, stored).await,
            None => Ok(None),
        }
    }

    async fn assign(
        &mut self,
        id: String,
        version: String,
        settings: Vec<rules::Setting>,
        effective_from: String,
    ) -> wasmtime::Result<Result<engine::Assignment, String>> {
        let scope = self.require(Capability::IndemnityRules)?;
        if !valid_date(&effective_from) {
            return Ok(Err(format!(
                "date d’effet invalide : {effective_from:?} (attendu AAAA-MM-JJ)"
            )));
        }
        let (loaded, settings) = match self
            .rule_set_and_settings(scope.structure_id, &id, &version, &settings)
            .await?
        {
            Ok(found) => found,
            Err(reason) => return Ok(Err(reason)),
        };
        let set_by = self
            .call_context()
            .user
            .and_then(|u| u.id.parse::<i64>().ok());
        let set_at = now_secs();
        let conn = self.writer().await?;
        sqlx::query(
            "INSERT INTO rule_set_assignments (structure_id, rule_set_id, version, settings, effective_from, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(scope.structure_id)
        .bind(&id)
        .bind(&version)
        .bind(serde_json::to_string(&settings)?)
        .bind(&effective_from)
        .bind(set_by)
        .bind(set_at)
        .execute(&mut *conn)
        .await?;
        self.rules_memo.in_force.clear();
        Ok(Ok(engine::Assignment {
            rule_set: convert(&loaded.description)?,
            settings: convert(&settings)?,
            effective_from,
            set_by: self
                .call_context()
                .user
                .map(|u| u.display_name)
                .unwrap_or_default(),
            set_at,
        }))
    }

    async fn compute_with(
        &mut self,
        id: String,
        version: String,
        settings: Vec<rules::Setting>,
        cases: Vec<engine::Case>,
    ) -> wasmtime::Result<Result<Vec<Result<rules::Outcome, String>>, String>> {
        let scope = self.require(Capability::IndemnityRules)?;
        if cases.len() > MAX_CASES {
            return Ok(Err(format!("au plus {MAX_CASES} cas par calcul")));
        }
        let (loaded, settings) = match self
            .rule_set_and_settings(scope.structure_id, &id, &version, &settings)
            .await?
        {
            Ok(found) => found,
            Err(reason) => return Ok(Err(reason)),
        };
        let rule_sets = self.rule_sets()?;
        let mut out = Vec::with_capacity(cases.len());
        for case in &cases {
            let outcome = rule_sets
                .compute(
                    &loaded,
                    &meeting_of(&case.meeting),
                    &attendee_of(&case.attendee),
                    &settings,
                )
                .await;
            out.push(outcome.map(|o| outcome_of(&o)));
        }
        Ok(Ok(out))
    }
}

// ---------------------------------------------------------------------------------------
// The operator's tools (`maillage plugin run|check`): a rule set on an engine of its own.

/// Fuel one call of the tools may burn: far beyond what the deadline lets a rule set
/// execute (the deadline stops a loop first), so the count only measures.
const RUN_FUEL: u64 = 1 << 40;

/// An engine that counts fuel (the production engine does not: counting costs), with
/// epochs for the same deadline as the host's calls.
fn tools_engine() -> Result<Engine, RuleSetError> {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    config.consume_fuel(true);
    let engine = Engine::new(&config)
        .map_err(|e| RuleSetError::Invalid(format!("cannot set up an engine: {e:#}")))?;
    // The ticker stops once the engine is dropped.
    super::spawn_epoch_ticker(&engine);
    Ok(engine)
}

/// A rule-set component compiled for the operator's tools, before any check but its
/// rules export: nothing is installed, no database is opened.
pub struct CompiledRuleSet {
    engine: Engine,
    component: Component,
    export: RulesExport,
}

impl CompiledRuleSet {
    /// Compiles `wasm` (through the compiled-component cache in `cache_dir` when given)
    /// and finds its rules export. Refused when it is not a rule set, or when it exports
    /// a rules version the host does not support (the error names both).
    pub fn compile(wasm: &[u8], cache_dir: Option<PathBuf>) -> Result<Self, RuleSetError> {
        let engine = tools_engine()?;
        let component = match cache_dir {
            Some(dir) => {
                let cache = ComponentCache::new(dir, &engine)
                    .map_err(|e| RuleSetError::Invalid(format!("{e:#}")))?;
                cache.component(&engine, wasm)?.0
            }
            None => {
                Component::new(&engine, wasm).map_err(|e| LoadError::Invalid(format!("{e:#}")))?
            }
        };
        let export = exports_of(&engine, &component)?.ok_or(RuleSetError::NotARuleSet)?;
        Ok(CompiledRuleSet {
            engine,
            component,
            export,
        })
    }

    /// The export it is used through, e.g. "maillage:indemnity/rules@0.1.0".
    pub fn export_name(&self) -> &str {
        &self.export.name
    }

    /// The host bindings it is instantiated through (the newest compatible one).
    pub fn binding_version(&self) -> &Version {
        &self.export.binding
    }

    /// What it imports: a rule set must import nothing.
    pub fn imports(&self) -> Vec<String> {
        imports_of(&self.engine, &self.component)
    }

    /// Checks that it imports nothing, links and describes it, as at install.
    pub async fn prepare(self) -> Result<RuleSetRunner, RuleSetError> {
        let linker = Linker::new(&self.engine);
        let (loaded, export) =
            prepare(&self.engine, &linker, &self.component, Some(RUN_FUEL)).await?;
        Ok(RuleSetRunner {
            engine: self.engine,
            loaded,
            export,
        })
    }
}

/// A rule set ready for the tools' calls: each in a fresh store with the memory cap and
/// deadline of the host's calls, and a fuel count.
pub struct RuleSetRunner {
    engine: Engine,
    loaded: LoadedRuleSet,
    export: RulesExport,
}

impl RuleSetRunner {
    pub fn export_name(&self) -> &str {
        &self.export.name
    }

    pub fn export_version(&self) -> &Version {
        &self.export.version
    }

    /// Its description (validated as at install).
    pub fn info(&self) -> cases::RuleSetInfo {
        info_of(&self.loaded.description)
    }

    /// Runs one case: the settings completed with the defaults and checked as
    /// `engine.assign` checks them (a refusal is the outcome, an error with the host's
    /// French reason, with no call made), then instantiate + compute in a fresh store.
    /// Faults and garbage answers are outcomes too, as the treasurer would see them.
    /// Err only for a case the tools cannot use (a setting value of no kind).
    pub async fn run(&self, case: &cases::Case) -> Result<cases::RunReport, RuleSetError> {
        let d = &self.loaded.description;
        let given = case_settings(d, &case.settings).map_err(RuleSetError::Case)?;
        let settings = match complete_settings(d, given) {
            Ok(settings) => settings,
            Err(reason) => {
                return Ok(cases::RunReport {
                    outcome: cases::Outcome::Error(reason),
                    fault: Some(
                        "the host refused the settings before calling the rule set (checked against its declared kinds and bounds, as engine.assign checks them)"
                            .into(),
                    ),
                    elapsed: Duration::ZERO,
                    fuel: 0,
                });
            }
        };
        let meeting = case_meeting(&case.meeting);
        let attendee = case_attendee(&case.attendee);
        let mut store = rule_store(&self.engine, Some(RUN_FUEL));
        let started = Instant::now();
        let result = async {
            let instance = self.loaded.pre.instantiate_async(&mut store).await?;
            instance
                .maillage_indemnity_rules()
                .call_compute(&mut store, &meeting, &attendee, &settings)
                .await
        }
        .await;
        let elapsed = started.elapsed();
        let fuel = RUN_FUEL.saturating_sub(store.get_fuel().unwrap_or(RUN_FUEL));
        let (outcome, fault) = match result {
            Ok(Ok(outcome)) => match check_outcome(outcome) {
                Ok(outcome) => (plain_outcome(&outcome), None),
                Err(reason) => (
                    cases::Outcome::Error(reason),
                    Some("the rule set answered garbage; the host refuses the answer".into()),
                ),
            },
            Ok(Err(reason)) => (cases::Outcome::Error(clip(reason)), None),
            Err(e) => {
                let (french, english) = failure(&e, store.data());
                (cases::Outcome::Error(french), Some(english))
            }
        };
        Ok(cases::RunReport {
            outcome,
            fault,
            elapsed,
            fuel,
        })
    }
}

fn plain_value(value: &exported::SettingValue) -> cases::Value {
    use exported::SettingValue as V;
    match value {
        V::Cents(n) => cases::Value::Cents(*n),
        V::Hours(n) => cases::Value::Hours(*n),
        V::Boolean(b) => cases::Value::Boolean(*b),
        V::Choice(v) => cases::Value::Choice(v.clone()),
    }
}

fn info_of(d: &exported::Description) -> cases::RuleSetInfo {
    use exported::SettingKind as K;
    cases::RuleSetInfo {
        id: d.id.clone(),
        version: d.version.clone(),
        name: d.name.clone(),
        summary: d.summary.clone(),
        settings: d
            .settings
            .iter()
            .map(|def| cases::SettingInfo {
                key: def.key.clone(),
                label: def.label.clone(),
                help: def.help.clone(),
                kind: match &def.kind {
                    K::Cents => cases::SettingKind::Cents,
                    K::Hours => cases::SettingKind::Hours,
                    K::Boolean => cases::SettingKind::Boolean,
                    K::Choice(options) => cases::SettingKind::Choice(
                        options
                            .iter()
                            .map(|o| (o.value.clone(), o.label.clone()))
                            .collect(),
                    ),
                },
                default: plain_value(&def.default),
                min: def.min,
                max: def.max,
            })
            .collect(),
    }
}

/// A case's settings as values of the kinds the rule set declares: an integer is an
/// amount (cents), or a duration (minutes) for a setting declared in hours; `true` and
/// `false` are booleans; a string is a choice. A value of the wrong kind becomes a value
/// of its own kind, which [`complete_settings`] then refuses as `engine.assign` does.
/// Err (English, naming the setting) for a value of no kind at all.
fn case_settings(
    d: &exported::Description,
    given: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<exported::Setting>, String> {
    use exported::{SettingKind as K, SettingValue as V};
    use serde_json::Value as J;
    given
        .iter()
        .map(|(key, value)| {
            let declared = d.settings.iter().find(|def| &def.key == key);
            let value = match value {
                J::Bool(b) => V::Boolean(*b),
                J::String(text) => V::Choice(text.clone()),
                J::Number(n) => match n.as_i64() {
                    Some(n) if declared.is_some_and(|def| matches!(def.kind, K::Hours)) => {
                        V::Hours(n)
                    }
                    Some(n) => V::Cents(n),
                    None => {
                        return Err(format!(
                            "settings.{key}: {value} is not an integer (amounts are in cents, durations in minutes)"
                        ));
                    }
                },
                other => {
                    return Err(format!(
                        "settings.{key}: {other} is not a setting value (an integer for cents or minutes, true/false, or a string for a choice)"
                    ));
                }
            };
            Ok(exported::Setting {
                key: key.clone(),
                value,
            })
        })
        .collect()
}

fn case_meeting(m: &cases::Meeting) -> exported::Meeting {
    exported::Meeting {
        id: m.id.clone(),
        title: m.title.clone(),
        date: m.date.clone(),
        duration_minutes: m.duration_minutes,
        kind: m.kind.clone(),
        group_id: m.group_id.clone(),
        group_name: m.group_name.clone(),
        mission: m.mission.clone(),
        action: m.action.clone(),
    }
}

fn case_attendee(a: &cases::Attendee) -> exported::Attendee {
    exported::Attendee {
        person_id: a.person_id.clone(),
        profession: a.profession.clone(),
        exercise_mode: match a.exercise_mode {
            cases::ExerciseMode::Liberal => exported::ExerciseMode::Liberal,
            cases::ExerciseMode::Salarie => exported::ExerciseMode::Salarie,
            cases::ExerciseMode::Autre => exported::ExerciseMode::Autre,
            cases::ExerciseMode::Inconnu => exported::ExerciseMode::Inconnu,
        },
        employer_convention: a.employer_convention,
        adherent: a.adherent,
        role: match a.role {
            cases::GroupRole::Referent => exported::GroupRole::Referent,
            cases::GroupRole::Active => exported::GroupRole::Active,
            cases::GroupRole::Guest => exported::GroupRole::Guest,
        },
        minutes: a.minutes,
    }
}

fn plain_outcome(o: &exported::Outcome) -> cases::Outcome {
    match o {
        exported::Outcome::Eligible(p) => cases::Outcome::Eligible {
            cents: p.cents,
            minutes: p.minutes,
            rationale: p.rationale.clone(),
        },
        exported::Outcome::NotEligible(reason) => cases::Outcome::NotEligible(reason.clone()),
    }
}

/// Registers `maillage:indemnity/rules` and `engine` for modules (capability
/// "indemnity-rules"; without it, a call traps).
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    rules::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    engine::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_0_1_x_rules_export_is_used_and_other_versions_are_refused_naming_both() {
        for name in [
            "maillage:indemnity/rules@0.1.0",
            "maillage:indemnity/rules@0.1.1",
            "maillage:indemnity/rules@0.1.9",
        ] {
            let export = rules_export([name]).unwrap().expect("a rules export");
            assert_eq!(export.name, name);
            assert_eq!(export.binding, Version::new(0, 1, 0));
        }
        // Several: the newest the host supports.
        let export = rules_export([
            "maillage:indemnity/rules@2.0.0",
            "maillage:indemnity/rules@0.1.0",
            "maillage:indemnity/rules@0.1.2",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(export.version, Version::new(0, 1, 2));
        assert_eq!(supported_rules_range(), "0.1.x");
        for other in ["2.0.0", "1.0.0", "0.2.0", "0.1.0-rc.1"] {
            let name = format!("maillage:indemnity/rules@{other}");
            let e = rules_export([name.as_str()]).unwrap_err().to_string();
            assert!(
                e.contains(&format!("exports {name}"))
                    && e.contains("supports maillage:indemnity/rules@0.1.x"),
                "{e}"
            );
        }
        // Not a rule set: no rules export at all.
        assert!(
            rules_export([
                "maillage:plugin/guest@0.2.3",
                "wasi:http/incoming-handler@0.2.0"
            ])
            .unwrap()
            .is_none()
        );
    }

    #[test]
    fn semver_compatibility_follows_wasmtime() {
        let v = |text: &str| Version::parse(text).unwrap();
        assert!(compatible(&v("0.1.0"), &v("0.1.7")));
        assert!(compatible(&v("0.1.4"), &v("0.1.0")));
        assert!(!compatible(&v("0.1.0"), &v("0.2.0")));
        assert!(compatible(&v("1.0.0"), &v("1.3.0")));
        assert!(!compatible(&v("1.0.0"), &v("2.0.0")));
        assert!(!compatible(&v("0.0.1"), &v("0.0.2")));
    }
}
