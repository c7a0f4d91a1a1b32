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
use std::time::Duration;

use sqlx::Row;
use tokio::sync::RwLock;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap};

use super::host::{HostState, MemoryLimiter};
use super::{Capability, EPOCH_TICK, LoadError, cache::ComponentCache};
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

/// The export a rule set is recognised by (any 0.1.x).
const RULES_EXPORT_PREFIX: &str = "maillage:indemnity/rules@0.1.";

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

/// Whether a component is a rule set (exports `maillage:indemnity/rules@0.1.x`).
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
        let mut store = Store::new(
            &self.engine,
            RuleState {
                limiter: MemoryLimiter::new(RULE_SET_MEMORY),
                table: ResourceTable::new(),
            },
        );
        store.limiter(|s| &mut s.limiter);
        let ticks = (RULE_SET_DEADLINE.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        store
    }

    /// Compiles, checks (no imports, the rules export) and describes a rule set.
    async fn load(&self, wasm: &[u8]) -> Result<(Arc<LoadedRuleSet>, String), RuleSetError> {
        let (component, sha256) = self.cache.component(&self.engine, wasm)?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        if !imports.is_empty() {
            return Err(RuleSetError::HasImports(imports.join(", ")));
        }
        if !is_rule_set(&self.engine, &component) {
            return Err(RuleSetError::Invalid(
                "the component does not export maillage:indemnity/rules@0.1.x".into(),
            ));
        }
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| RuleSetError::Invalid(format!("{e:#}")))?;
        let pre = rule_set::RuleSetPre::new(instance_pre)
            .map_err(|e| RuleSetError::Invalid(format!("{e:#}")))?;
        let mut store = self.store();
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
        Ok((Arc::new(LoadedRuleSet { pre, description }), sha256))
    }

    /// Installs a rule set for every structure (`structure_id` None) or for one.
    /// Installing the same bytes twice is a no-op.
    pub async fn install(
        &self,
        wasm: &[u8],
        structure_id: Option<i64>,
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
        .execute(self.db.pool())
        .await
        .map_err(StorageError::from)?;
        let result = installed(d, structure_id);
        self.loaded
            .write()
            .await
            .insert((d.id.clone(), d.version.clone()), loaded);
        Ok(result)
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

/// Registers `maillage:indemnity/rules` and `engine` for modules (capability
/// "indemnity-rules"; without it, a call traps).
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    rules::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    engine::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}
