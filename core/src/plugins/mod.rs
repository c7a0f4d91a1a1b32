//! The plugin runtime: the only module that names wasmtime (invariant 1 of the host side).
//!
//! Loads, validates, caches and instantiates components; implements the host side of
//! `maillage:plugin`; enforces deadlines, memory and output caps, and capabilities.
//! Nothing outside this module sees binding types: callers use [`PluginRuntime`],
//! [`LoadedPlugin`], [`CallContext`] and plain `http` types.

mod cache;
pub mod cases;
mod host;
mod host_group_admin;
mod host_library;
mod host_v0_2;
pub mod manifest;
pub mod registry;
mod rules;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use semver::Version;
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

pub use manifest::{Capability, HOST_WIT_VERSION, Manifest, RoleDef, supported_wit_range};
pub use rules::{
    CompiledRuleSet, InstalledRuleSet, PROVIDED_RULES_WIT_VERSIONS, RuleSetError, RuleSetRunner,
    RuleSets, supported_rules_range,
};

use crate::storage::{Db, PluginScope};
use host::{CallKind, HostState};

/// Bindings of each WIT version the host provides (see `PROVIDED_WIT_VERSIONS`). A plugin
/// is instantiated through the bindings of the version it was built against; every
/// version shares the host's WASI types.
macro_rules! plugin_bindings {
    ($module:ident, $path:literal) => {
        mod $module {
            wasmtime::component::bindgen!({
                path: $path,
                world: "maillage:plugin/plugin",
                imports: { default: async | trappable },
                exports: { default: async },
                require_store_data_send: true,
                with: {
                    "wasi:http": wasmtime_wasi_http::p2::bindings::http,
                    "wasi:io": wasmtime_wasi::p2::bindings::io,
                    "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
                },
            });
        }
    };
}

plugin_bindings!(v0_1, "../wit/v0.1.1");
plugin_bindings!(v0_2, "../wit/v0.2.7");

/// A linked component, ready to instantiate, through its WIT version's bindings.
#[derive(Clone)]
enum Pre {
    V0_1(v0_1::PluginPre<HostState>),
    V0_2(v0_2::PluginPre<HostState>),
}

enum Instance {
    V0_1(v0_1::Plugin),
    /// With the raw instance, to read the optional `roles` (0.2.3) and `files` (0.2.5)
    /// exports.
    V0_2(v0_2::Plugin, wasmtime::component::Instance),
}

/// A module's declared role as the `roles` export returns it.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(record)]
struct RawRoleDef {
    id: String,
    label: String,
    description: String,
}

impl Pre {
    async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate_async(store).await?),
            Pre::V0_2(pre) => {
                let raw = pre.instance_pre().instantiate_async(&mut *store).await?;
                Instance::V0_2(v0_2::Plugin::new(&mut *store, &raw)?, raw)
            }
        })
    }
}

impl Instance {
    async fn describe(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<manifest::RawManifest> {
        Ok(match self {
            Instance::V0_1(i) => {
                host::manifest_from_v0_1(i.maillage_plugin_guest().call_describe(store).await?)
            }
            Instance::V0_2(i, raw) => {
                let mut manifest = host_v0_2::manifest_from_v0_2(
                    i.maillage_plugin_guest().call_describe(&mut *store).await?,
                );
                manifest.roles = declared_roles(store, raw).await?;
                manifest
            }
        })
    }

    async fn on_event(
        &self,
        store: &mut Store<HostState>,
        event: crate::storage::StoredEvent,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Instance::V0_1(i) => {
                let event = v0_1::maillage::plugin::types::Event {
                    idempotency_key: event.idempotency_key,
                    topic: event.topic,
                    payload: event.payload,
                    source: event.source,
                };
                i.maillage_plugin_guest().call_on_event(store, &event).await
            }
            Instance::V0_2(i, _) => {
                let event = v0_2::maillage::plugin::types::Event {
                    idempotency_key: event.idempotency_key,
                    topic: event.topic,
                    payload: event.payload,
                    source: event.source,
                };
                i.maillage_plugin_guest().call_on_event(store, &event).await
            }
        }
    }

    async fn handle(
        &self,
        store: &mut Store<HostState>,
        request: wasmtime::component::Resource<wasmtime_wasi_http::p2::types::HostIncomingRequest>,
        out: wasmtime::component::Resource<wasmtime_wasi_http::p2::types::HostResponseOutparam>,
    ) -> wasmtime::Result<()> {
        match self {
            Instance::V0_1(i) => {
                i.wasi_http_incoming_handler()
                    .call_handle(store, request, out)
                    .await
            }
            Instance::V0_2(i, _) => {
                i.wasi_http_incoming_handler()
                    .call_handle(store, request, out)
                    .await
            }
        }
    }
}

/// The roles a 0.2.3+ module declares through its optional `roles` export (any
/// `maillage:plugin/roles@0.2.x` name); none for older components.
async fn declared_roles(
    store: &mut Store<HostState>,
    instance: &wasmtime::component::Instance,
) -> wasmtime::Result<Vec<manifest::RoleDef>> {
    // Export names are matched by semver: a 0.2.4 module's `roles@0.2.4` is found too.
    let Some(interface) =
        instance.get_export_index(&mut *store, None, "maillage:plugin/roles@0.2.3")
    else {
        return Ok(Vec::new());
    };
    let Some(func) = instance.get_export_index(&mut *store, Some(&interface), "declared") else {
        return Ok(Vec::new());
    };
    let declared = instance.get_typed_func::<(), (Vec<RawRoleDef>,)>(&mut *store, &func)?;
    let (roles,) = declared.call_async(&mut *store, ()).await?;
    Ok(roles
        .into_iter()
        .map(|r| manifest::RoleDef {
            id: r.id,
            label: r.label,
            description: r.description,
        })
        .collect())
}

/// The first WIT version with the optional `files` export: older components cannot
/// have it, and are not instantiated to look for it.
const FILES_SINCE: Version = Version::new(0, 2, 5);

/// The answer of a 0.2.5+ module's optional `files.may-read` export (any
/// `maillage:plugin/files@0.2.x` name from 0.2.5 on) for one of its blobs; none when the
/// component does not export it.
/// What the host asks a module's optional `files` export (WIT 0.2.5).
#[derive(Debug, Clone, Copy)]
pub enum FileQuestion<'a> {
    /// May the acting member read this blob of the module?
    Read(&'a str),
    /// May the acting member send the module a file?
    Upload,
}

/// The module's answer to `question`; none when the component has no `files` export.
async fn files_answer(
    store: &mut Store<HostState>,
    instance: &wasmtime::component::Instance,
    question: FileQuestion<'_>,
) -> wasmtime::Result<Option<bool>> {
    // Export names are matched by semver, as for `roles`: a later 0.2.x `files` is found too.
    let Some(interface) =
        instance.get_export_index(&mut *store, None, "maillage:plugin/files@0.2.5")
    else {
        return Ok(None);
    };
    let name = match question {
        FileQuestion::Read(_) => "may-read",
        FileQuestion::Upload => "may-upload",
    };
    let Some(func) = instance.get_export_index(&mut *store, Some(&interface), name) else {
        return Ok(None);
    };
    let (answer,) = match question {
        FileQuestion::Read(blob_id) => {
            let may_read = instance.get_typed_func::<(&str,), (bool,)>(&mut *store, &func)?;
            may_read.call_async(&mut *store, (blob_id,)).await?
        }
        FileQuestion::Upload => {
            let may_upload = instance.get_typed_func::<(), (bool,)>(&mut *store, &func)?;
            may_upload.call_async(&mut *store, ()).await?
        }
    };
    Ok(Some(answer))
}

/// Per-call resource limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub deadline: Duration,
    pub memory_bytes: usize,
    pub output_bytes: usize,
    /// The call writes in bulk (the host's imports): its transaction is planned for a
    /// table that grows under it (see `Db::plan_for_bulk`).
    pub bulk: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            output_bytes: 8 << 20,
            bulk: false,
        }
    }
}

/// Ceiling of a linear memory in the pool: what the host's batch calls may use. A
/// member's request stays under [`Limits::memory_bytes`] through the store's limiter.
pub const BATCH_MEMORY_BYTES: usize = 1 << 30;

/// Granularity of deadlines: the epoch ticker's period.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Bounds of the instance pool; beyond it, instantiation fails (and the request with it).
const POOL_INSTANCES: u32 = 256;
/// Slots decommitted together (at most this many minus one per core wait for reuse).
const DECOMMIT_BATCH: usize = 8;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub display_name: String,
}

/// Who calls, where. Built by the host for every request or event (invariant 2).
#[derive(Debug, Clone)]
pub struct CallContext {
    pub structure_id: i64,
    pub structure_slug: String,
    pub structure_name: String,
    pub time_zone: String,
    pub user: Option<User>,
    pub roles: Vec<String>,
    pub locale: String,
    pub request_id: String,
    pub csrf_token: String,
    pub base_path: String,
    /// Postal codes of the structure's territory.
    pub territory: Vec<String>,
    /// The acting member's own IANA zone, if they chose one on « Mon compte ».
    pub user_time_zone: Option<String>,
}

impl CallContext {
    /// The context of a call to `module_id` in `structure` with no user (system calls,
    /// benchmarks); see [`CallContext::with_user`].
    pub fn anonymous(
        structure: &crate::tenancy::Structure,
        module_id: &str,
        request_id: &str,
        csrf_token: &str,
    ) -> Self {
        CallContext {
            structure_id: structure.id,
            structure_slug: structure.slug.clone(),
            structure_name: structure.name.clone(),
            time_zone: structure.time_zone.clone(),
            user: None,
            roles: Vec::new(),
            locale: "fr-FR".into(),
            request_id: request_id.into(),
            csrf_token: csrf_token.into(),
            base_path: format!("/{}/{}", structure.slug, module_id),
            territory: structure.territory_codes(),
            user_time_zone: None,
        }
    }

    /// The context of a module's static-asset call (`/_assets/…`): no structure, no
    /// user, no data. Such calls get no capabilities either.
    pub fn assets(module_id: &str, version: &str, request_id: &str) -> Self {
        CallContext {
            structure_id: 0,
            structure_slug: String::new(),
            structure_name: String::new(),
            time_zone: "Europe/Paris".into(),
            user: None,
            roles: Vec::new(),
            locale: "fr-FR".into(),
            request_id: request_id.into(),
            csrf_token: String::new(),
            base_path: format!("/assets/{module_id}/{version}"),
            territory: Vec::new(),
            user_time_zone: None,
        }
    }

    /// The same call made by a signed-in member with these role names.
    pub fn with_user(mut self, account: &crate::identity::Account, roles: Vec<String>) -> Self {
        self.user = Some(User {
            id: account.id.to_string(),
            display_name: account.display_name.clone(),
        });
        self.roles = roles;
        self.user_time_zone = account.time_zone.clone();
        self
    }
}

/// Why a component was refused at install or load time.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid component: {0}")]
    Invalid(String),
    #[error(
        "plugin is built against maillage:plugin@{plugin}, but this host supports maillage:plugin {host} (host version {host_version})"
    )]
    UnsupportedWit {
        plugin: Version,
        host: semver::VersionReq,
        host_version: Version,
    },
    #[error(
        "plugin does not export maillage:plugin/guest; it was not built against the Maillage WIT"
    )]
    NotAPlugin,
    #[error("invalid manifest: {0}")]
    Manifest(String),
}

/// Why one call into a plugin failed. The host answers that request with an error and
/// keeps serving; the instance is discarded (invariant 3).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Fault {
    #[error("trap: {0}")]
    Trap(String),
    #[error("deadline of {0:?} exceeded")]
    Deadline(Duration),
    #[error("memory cap of {0} bytes exceeded")]
    Memory(usize),
    #[error("response body larger than {0} bytes")]
    OutputTooLarge(usize),
    #[error("capability {0} was not granted")]
    CapabilityDenied(String),
    #[error("invalid response: {0}")]
    BadResponse(String),
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    #[error("the call's writes could not be committed: {0}")]
    Commit(String),
}

/// A validated component, ready to instantiate cheaply.
pub struct LoadedPlugin {
    manifest: Manifest,
    wit_version: Version,
    sha256: String,
    pre: Pre,
    schema: Arc<crate::storage::collections::Schema>,
}

impl LoadedPlugin {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// The capabilities a structure granted (by name) that this version still declares:
    /// a grant never outlives the manifest's request.
    pub fn effective_capabilities(&self, granted: &[String]) -> Vec<Capability> {
        self.manifest
            .capabilities
            .iter()
            .filter(|c| granted.contains(&c.to_string()))
            .cloned()
            .collect()
    }
    /// The collections this version declared, with their table names.
    pub fn schema(&self) -> &Arc<crate::storage::collections::Schema> {
        &self.schema
    }
    pub fn wit_version(&self) -> &Version {
        &self.wit_version
    }
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    fn label(&self) -> String {
        format!("{}@{}", self.manifest.id, self.manifest.version)
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .finish()
    }
}

pub struct PluginRuntime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::ComponentCache,
    limits: Limits,
    db: Db,
    blobs: crate::storage::blobs::BlobStore,
    /// Where members reach the platform (links in module mails); set once at start.
    public_url: std::sync::OnceLock<String>,
    /// Wakes the mail sender once a call's mails are committed.
    mail_wake: std::sync::OnceLock<Arc<tokio::sync::Notify>>,
    /// Where compiled components are cached (rule sets share it).
    cache_dir: std::path::PathBuf,
    /// Indemnity rule sets, set up with the registry (they are kept like packages).
    rule_sets: std::sync::OnceLock<Arc<RuleSets>>,
}

impl PluginRuntime {
    /// Connects the runtime to the mail sender and tells it the public URL: module mail
    /// leaves as soon as the call that queued it commits.
    pub fn connect_mailer(&self, public_url: &str, wake: Arc<tokio::sync::Notify>) {
        let _ = self
            .public_url
            .set(public_url.trim_end_matches('/').to_string());
        let _ = self.mail_wake.set(wake);
    }

    /// Commits a finished call's writes and wakes the mail sender if it queued mail.
    async fn commit(&self, state: &mut HostState) -> Result<(), Fault> {
        state
            .commit()
            .await
            .map_err(|e| Fault::Commit(e.to_string()))?;
        if state.mails_queued > 0
            && let Some(wake) = self.mail_wake.get()
        {
            wake.notify_one();
        }
        Ok(())
    }

    pub fn new(
        db: Db,
        blobs: crate::storage::blobs::BlobStore,
        cache_dir: std::path::PathBuf,
        limits: Limits,
    ) -> anyhow::Result<Arc<Self>> {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 8)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 8)
            .total_stacks(POOL_INSTANCES)
            .max_memories_per_component(4)
            .max_memory_size(limits.memory_bytes.max(BATCH_MEMORY_BYTES))
            .max_core_instance_size(4 << 20)
            .max_component_instance_size(4 << 20)
            .max_unused_warm_slots(64)
            // Returned slots are reset in batches: one vectored madvise, one TLB
            // shootdown across the cores, for several stores (a dry-run drops one
            // rule-set store per line).
            .decommit_batch_size(DECOMMIT_BATCH);
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
        spawn_epoch_ticker(&engine);

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)?;
        host::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;
        rules::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;

        let cache = cache::ComponentCache::new(cache_dir.clone(), &engine)?;
        Ok(Arc::new(PluginRuntime {
            engine,
            linker,
            cache,
            limits,
            db,
            blobs,
            public_url: Default::default(),
            mail_wake: Default::default(),
            cache_dir,
            rule_sets: Default::default(),
        }))
    }

    /// The rule sets, kept in `packages_dir` like plugin packages; made once.
    pub fn rule_sets_in(&self, packages_dir: std::path::PathBuf) -> anyhow::Result<Arc<RuleSets>> {
        if let Some(existing) = self.rule_sets.get() {
            return Ok(existing.clone());
        }
        let made = Arc::new(RuleSets::new(
            self.engine.clone(),
            self.cache_dir.clone(),
            self.db.clone(),
            self.blobs.clone(),
            packages_dir,
        )?);
        Ok(self.rule_sets.get_or_init(|| made).clone())
    }

    /// Whether these bytes are an indemnity rule set rather than a plugin.
    pub fn is_rule_set(&self, wasm: &[u8]) -> bool {
        match self.cache.component(&self.engine, wasm) {
            Ok((component, _)) => rules::is_rule_set(&self.engine, &component),
            Err(_) => false,
        }
    }

    /// Adds the module roles the acting member holds to the call's roles (0.2.3).
    async fn with_module_roles(&self, plugin: &LoadedPlugin, ctx: &mut CallContext) {
        if plugin.manifest.roles.is_empty() {
            return;
        }
        let Some(account_id) = ctx.user.as_ref().and_then(|u| u.id.parse::<i64>().ok()) else {
            return;
        };
        let held = async {
            let mut conn = self.db.pool().acquire().await?;
            crate::people::module_roles(
                &mut conn,
                ctx.structure_id,
                account_id,
                &plugin.manifest.id,
            )
            .await
        }
        .await;
        match held {
            Ok(held) => ctx.roles.extend(
                held.into_iter()
                    .filter(|r| plugin.manifest.roles.iter().any(|d| &d.id == r)),
            ),
            Err(e) => {
                tracing::warn!(plugin = %plugin.label(), error = %e, "could not read module roles")
            }
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compiles (or fetches from the on-disk cache), checks the WIT version against the
    /// host's range, links, and reads the manifest. Used at install and at load time.
    pub async fn load(&self, wasm: &[u8]) -> Result<Arc<LoadedPlugin>, LoadError> {
        let (component, sha256) = self.cache.component(&self.engine, wasm)?;
        let wit_version = check_wit_version(&self.engine, &component)?;
        let instance_pre: InstancePre<HostState> = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let invalid = |e: wasmtime::Error| LoadError::Invalid(format!("{e:#}"));
        let pre = match wit_version.minor {
            1 => Pre::V0_1(v0_1::PluginPre::new(instance_pre).map_err(invalid)?),
            _ => Pre::V0_2(v0_2::PluginPre::new(instance_pre).map_err(invalid)?),
        };

        // The manifest comes from the component itself, under the same limits as any call.
        let mut store = self.new_store(None, None, Vec::new(), CallKind::Describe);
        let raw = async {
            let plugin = pre.instantiate(&mut store).await?;
            plugin.describe(&mut store).await
        }
        .await
        .map_err(|e| LoadError::Manifest(classify(e, store.data(), &self.limits).to_string()))?;
        let manifest = raw.validate().map_err(LoadError::Manifest)?;
        let schema = Arc::new(crate::storage::collections::Schema::new(
            &manifest.id,
            &manifest.collections,
        ));
        Ok(Arc::new(LoadedPlugin {
            manifest,
            wit_version,
            sha256,
            pre,
            schema,
        }))
    }

    fn new_store(
        &self,
        ctx: Option<CallContext>,
        plugin: Option<&LoadedPlugin>,
        granted: Vec<Capability>,
        call_kind: CallKind,
    ) -> Store<HostState> {
        self.new_store_with(ctx, plugin, granted, call_kind, self.limits)
    }

    fn new_store_with(
        &self,
        ctx: Option<CallContext>,
        plugin: Option<&LoadedPlugin>,
        granted: Vec<Capability>,
        call_kind: CallKind,
        limits: Limits,
    ) -> Store<HostState> {
        let scope = match (&ctx, plugin) {
            (Some(ctx), Some(plugin)) => Some(PluginScope {
                structure_id: ctx.structure_id,
                plugin_id: plugin.manifest.id.clone(),
            }),
            _ => None,
        };
        let state = HostState {
            // No preopened dirs, no env, no network: the sandbox sees nothing of the host.
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: host::DenyOutbound,
            limiter: host::MemoryLimiter::new(limits.memory_bytes),
            call: ctx,
            scope,
            granted,
            call_kind,
            plugin_label: plugin
                .map(|p| p.label())
                .unwrap_or_else(|| "(loading)".into()),
            db: self.db.clone(),
            schema: plugin.map(|p| p.schema.clone()).unwrap_or_default(),
            blobs: self.blobs.clone(),
            tx: None,
            bulk: limits.bulk,
            reader: None,
            denied: None,
            public_url: self.public_url.get().cloned().unwrap_or_default(),
            mails_queued: 0,
            rule_sets: self.rule_sets.get().cloned(),
            rules_memo: Default::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let ticks = (limits.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        store
    }

    /// Forwards one HTTP request to a plugin, in a fresh store. `granted` are the
    /// capabilities the structure granted (a subset of what the manifest declares).
    pub async fn handle_http(
        &self,
        plugin: &Arc<LoadedPlugin>,
        ctx: CallContext,
        granted: Vec<Capability>,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, Fault> {
        self.handle_http_with(plugin, ctx, granted, request, self.limits)
            .await
    }

    /// [`Self::handle_http`] under other limits: the host's own batch calls (imports)
    /// get more time and memory than a member's request. Memory stays under the pool's
    /// ceiling, [`BATCH_MEMORY_BYTES`].
    pub async fn handle_http_with(
        &self,
        plugin: &Arc<LoadedPlugin>,
        ctx: CallContext,
        granted: Vec<Capability>,
        request: http::Request<Bytes>,
        limits: Limits,
    ) -> Result<http::Response<Bytes>, Fault> {
        let limits = Limits {
            memory_bytes: limits.memory_bytes.min(BATCH_MEMORY_BYTES),
            ..limits
        };
        let base = ctx.base_path.clone();
        // Set here, never by the module: the library's changes need a state-changing
        // request (WIT 0.2.7). A call without a structure is a static-asset call.
        let call_kind = if ctx.structure_id == 0 && ctx.structure_slug.is_empty() {
            CallKind::Assets
        } else {
            CallKind::for_method(request.method())
        };
        let mut ctx = ctx;
        self.with_module_roles(plugin, &mut ctx).await;
        let mut store = self.new_store_with(Some(ctx), Some(plugin), granted, call_kind, limits);
        let (parts, body) = request.into_parts();
        let mut request = http::Request::from_parts(parts, Full::new(body));
        request.headers_mut().insert(
            "x-maillage-base",
            http::HeaderValue::from_str(&base).map_err(|e| Fault::BadResponse(e.to_string()))?,
        );
        if !request.headers().contains_key(http::header::HOST) {
            request.headers_mut().insert(
                http::header::HOST,
                http::HeaderValue::from_static("maillage.localhost"),
            );
        }
        let (sender, receiver) = tokio::sync::oneshot::channel();
        use wasmtime_wasi_http::WasiHttpView;
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(|e| Fault::Instantiate(format!("{e:#}")))?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| Fault::Instantiate(format!("{e:#}")))?;

        let pre = plugin.pre.clone();
        let task = tokio::spawn(async move {
            let result = async {
                let instance = pre.instantiate(&mut store).await?;
                instance.handle(&mut store, req, out).await
            }
            .await;
            match result {
                Ok(()) => Ok(store),
                Err(e) => Err(classify(e, store.data(), &limits)),
            }
        });

        let outcome = match receiver.await {
            Ok(Ok(response)) => {
                let (parts, body) = response.into_parts();
                match Limited::new(body, limits.output_bytes).collect().await {
                    Ok(collected) => Ok(http::Response::from_parts(parts, collected.to_bytes())),
                    Err(e)
                        if e.downcast_ref::<http_body_util::LengthLimitError>()
                            .is_some() =>
                    {
                        Err(Fault::OutputTooLarge(limits.output_bytes))
                    }
                    Err(e) => Err(Fault::BadResponse(format!("body: {e}"))),
                }
            }
            Ok(Err(code)) => Err(Fault::BadResponse(format!(
                "plugin answered with error {code:?}"
            ))),
            Err(_) => Err(Fault::BadResponse("plugin never set a response".into())),
        };
        // The guest's own failure explains a broken body better than the body error does.
        let task_result = task
            .await
            .unwrap_or_else(|e| Err(Fault::Trap(format!("task: {e}"))));
        // The store (and the instance with it) is dropped here: never reused after a
        // call. Its writes are committed only when the handler returned normally with
        // an answer below 500: a server error means the request had no effect.
        match (outcome, task_result) {
            (Ok(response), Ok(mut store)) => {
                if response.status().is_server_error() {
                    return Ok(response);
                }
                self.commit(store.data_mut()).await?;
                Ok(response)
            }
            (Err(Fault::OutputTooLarge(n)), _) => Err(Fault::OutputTooLarge(n)),
            (_, Err(fault)) => Err(fault),
            (Err(fault), Ok(_)) => Err(fault),
        }
    }

    /// Delivers one event to a plugin's `on-event`, in a fresh store.
    pub async fn deliver_event(
        &self,
        plugin: &Arc<LoadedPlugin>,
        ctx: CallContext,
        granted: Vec<Capability>,
        event: crate::storage::StoredEvent,
    ) -> Result<Result<(), String>, Fault> {
        let mut ctx = ctx;
        self.with_module_roles(plugin, &mut ctx).await;
        // Timers are delivered as events: neither may change the library.
        let mut store = self.new_store(Some(ctx), Some(plugin), granted, CallKind::Event);
        let result = async {
            let instance = plugin.pre.instantiate(&mut store).await?;
            instance.on_event(&mut store, event).await
        }
        .await;
        match result {
            // Accepted: its writes are kept. Refused or failed: they are rolled back.
            Ok(Ok(())) => self.commit(store.data_mut()).await.map(Ok),
            Ok(Err(refusal)) => Ok(Err(refusal)),
            Err(e) => Err(classify(e, store.data(), &self.limits)),
        }
    }

    /// Whether the acting member of `ctx` may download one of the module's blobs or send
    /// it a file, as the module's optional `files` export answers (WIT 0.2.5), in a fresh
    /// store with the member's context (module roles included) and the structure's
    /// grants. None when the component does not export `files` (built against 0.2.4 or
    /// before, or without the SDK's `module` world): the caller keeps the legacy rule,
    /// membership. The call is a question: its writes are never committed.
    pub async fn ask_files(
        &self,
        plugin: &Arc<LoadedPlugin>,
        ctx: CallContext,
        granted: Vec<Capability>,
        question: FileQuestion<'_>,
    ) -> Result<Option<bool>, Fault> {
        if plugin.wit_version < FILES_SINCE {
            return Ok(None);
        }
        let mut ctx = ctx;
        self.with_module_roles(plugin, &mut ctx).await;
        let mut store = self.new_store(Some(ctx), Some(plugin), granted, CallKind::Question);
        let result: wasmtime::Result<Option<bool>> = async {
            match plugin.pre.instantiate(&mut store).await? {
                Instance::V0_1(_) => Ok(None),
                Instance::V0_2(_, raw) => files_answer(&mut store, &raw, question).await,
            }
        }
        .await;
        // The store is dropped here without a commit: anything written is rolled back.
        result.map_err(|e| classify(e, store.data(), &self.limits))
    }

    /// Measures the sandbox cost alone: fresh store + instantiate + `describe` + drop.
    pub async fn sandbox_roundtrip(&self, plugin: &Arc<LoadedPlugin>) -> Result<(), Fault> {
        let mut store = self.new_store(None, Some(plugin), Vec::new(), CallKind::Describe);
        let result = async {
            let instance = plugin.pre.instantiate(&mut store).await?;
            instance.describe(&mut store).await
        }
        .await;
        result
            .map(|_| ())
            .map_err(|e| classify(e, store.data(), &self.limits))
    }
}

/// Turns a wasmtime error into the fault a person (and the log) can act on.
fn classify(error: wasmtime::Error, state: &HostState, limits: &Limits) -> Fault {
    if let Some(cap) = &state.denied {
        return Fault::CapabilityDenied(cap.clone());
    }
    if state.limiter.exceeded() {
        return Fault::Memory(limits.memory_bytes);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Fault::Deadline(limits.deadline),
        _ => Fault::Trap(format!("{error:#}")),
    }
}

/// The plugin's WIT version, read from the name of its `maillage:plugin/guest` export,
/// and checked against the host's supported range (invariant 4).
fn check_wit_version(engine: &Engine, component: &Component) -> Result<Version, LoadError> {
    let ty = component.component_type();
    let mut found = None;
    for (name, _) in ty.exports(engine) {
        if let Some(version) = name.strip_prefix("maillage:plugin/guest@") {
            found = Some(
                Version::parse(version)
                    .map_err(|e| LoadError::Invalid(format!("export {name}: {e}")))?,
            );
        }
    }
    let version = found.ok_or(LoadError::NotAPlugin)?;
    let range = supported_wit_range();
    if !range.matches(&version) {
        return Err(LoadError::UnsupportedWit {
            plugin: version,
            host: range,
            host_version: HOST_WIT_VERSION,
        });
    }
    Ok(version)
}

/// Advances the engine's epoch so deadlines fire; stops when the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn epoch thread");
}
