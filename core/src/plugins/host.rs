//! Host side of `maillage:plugin`: per-store state and the imports plugins call.
//! Every import that touches data checks the capability first (invariant 5) and uses the
//! scope the host set, never one the plugin names (invariant 2).

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::manifest::{NavEntry, RawManifest, Widget};
use super::v0_1::maillage::plugin::{store, types};
use super::{CallContext, Capability};
use crate::storage::{self, Db, PluginScope, StorageError};

pub(super) struct HostState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub hooks: DenyOutbound,
    pub limiter: MemoryLimiter,
    pub call: Option<CallContext>,
    pub scope: Option<PluginScope>,
    pub granted: Vec<Capability>,
    /// What the store serves, set by the runtime (see [`CallKind`]).
    pub call_kind: CallKind,
    pub plugin_label: String,
    pub db: Db,
    /// The collections this plugin version declared (WIT 0.2 `records`).
    pub schema: std::sync::Arc<crate::storage::collections::Schema>,
    pub blobs: crate::storage::blobs::BlobStore,
    /// Every write of this call (documents, events) goes into one transaction, begun at
    /// the first write and committed only if the call ends well (see `commit`).
    pub tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
    /// The call writes in bulk (see `Limits::bulk`).
    pub bulk: bool,
    /// Connection for reads before any write, kept for the rest of the call (acquiring
    /// one per statement costs a pool round trip each).
    pub reader: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
    /// Set when the plugin called an import it was not granted; explains the trap.
    pub denied: Option<String>,
    /// Where members reach the platform, for links in module mails.
    pub public_url: String,
    /// Mails the call queued: the sender is woken once they are committed.
    pub mails_queued: u32,
    /// Indemnity rule sets, for the `maillage:indemnity` imports.
    pub rule_sets: Option<std::sync::Arc<super::RuleSets>>,
    /// What this call already looked up of the structure's rule sets.
    pub rules_memo: super::rules::CallMemo,
}

/// What a store serves, set by the runtime for each call, never by the module. The
/// library's changes (`propose`, `withdraw`, WIT 0.2.7) need an HTTP request with a
/// state-changing method, whose CSRF token the host's middleware checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallKind {
    /// Loading a component (`describe`) or measuring the sandbox: no structure.
    Describe,
    /// A request forwarded to the module (`handle_http_with`).
    Http {
        /// POST, PUT, PATCH or DELETE.
        state_changing: bool,
    },
    /// An event delivery (`deliver_event`), timers included.
    Event,
    /// The `files` export asked (`ask_files`): its writes are never kept.
    Question,
    /// A static-asset call (`/_assets/…`): no structure, no user.
    Assets,
}

impl CallKind {
    /// The kind of an HTTP request with this method.
    pub(super) fn for_method(method: &http::Method) -> CallKind {
        let state_changing = [
            http::Method::POST,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
        ]
        .contains(method);
        CallKind::Http { state_changing }
    }

    /// A request whose method changes state (the library's changes need one).
    pub(super) fn is_state_changing_http(self) -> bool {
        matches!(
            self,
            CallKind::Http {
                state_changing: true
            }
        )
    }
}

impl HostState {
    /// The scope for a data import, or a trap if the capability is not granted.
    pub(super) fn require(&mut self, capability: Capability) -> wasmtime::Result<PluginScope> {
        match (&self.scope, self.granted.contains(&capability)) {
            (Some(scope), true) => Ok(scope.clone()),
            _ => {
                tracing::warn!(plugin = %self.plugin_label, %capability, "plugin called an import it was not granted");
                self.denied = Some(capability.to_string());
                wasmtime::bail!(
                    "capability {capability} not granted to {}",
                    self.plugin_label
                )
            }
        }
    }
}

impl HostState {
    /// The call's transaction, begun on first use.
    pub(super) async fn writer(&mut self) -> Result<&mut sqlx::AnyConnection, StorageError> {
        if self.tx.is_none() {
            // Hand the read connection back first: a call holds one connection at most,
            // so that many calls reading, then writing, cannot exhaust the pool while
            // each waits for a second connection. Later reads use the transaction.
            self.reader = None;
            let mut tx = self.db.begin_write().await?;
            if self.bulk {
                self.db.plan_for_bulk(&mut tx).await?;
            }
            self.tx = Some(tx);
        }
        Ok(self.tx.as_mut().expect("just begun"))
    }

    /// A connection for reads: the call's transaction if it has begun (reads see the
    /// call's own writes), else one pooled connection kept for the rest of the call.
    pub(super) async fn reader(&mut self) -> Result<&mut sqlx::AnyConnection, StorageError> {
        if let Some(tx) = &mut self.tx {
            return Ok(&mut **tx);
        }
        if self.reader.is_none() {
            self.reader = Some(self.db.pool().acquire().await?);
        }
        Ok(&mut **self.reader.as_mut().expect("just acquired"))
    }

    /// Commits the call's writes, if any. Dropping the state without it rolls them back.
    pub(super) async fn commit(&mut self) -> Result<(), StorageError> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outbound HTTP is refused: no plugin of this version is granted a remote host yet.
pub(super) struct DenyOutbound;

type SendResult = Result<
    (
        http::Response<wasmtime_wasi_http::WasiBody>,
        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ),
    wasmtime_wasi_http::Error,
>;

impl WasiHttpHooks for DenyOutbound {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _body: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        tracing::warn!(uri = %request.uri(), "outbound HTTP from a plugin denied");
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

/// Caps linear memory; remembers a refusal so the fault is reported as "memory".
pub(super) struct MemoryLimiter {
    cap: usize,
    exceeded: bool,
}

impl MemoryLimiter {
    pub fn new(cap: usize) -> Self {
        MemoryLimiter {
            cap,
            exceeded: false,
        }
    }
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.exceeded = true;
            wasmtime::bail!(
                "memory cap of {} bytes exceeded (asked for {desired})",
                self.cap
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Registers the imports of every provided WIT version (their names carry the version).
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use super::v0_1::maillage::plugin::{context, events, groups, log};
    context::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    store::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    events::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    groups::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    super::host_v0_2::add_to_linker(linker)
}

/// The imports every WIT version shares (context, log, events, groups): same logic,
/// each version's own generated types. One expansion per provided version.
macro_rules! shared_imports {
    ($module:ident, $bindings:ident) => {
        shared_imports!($module, $bindings, {});
    };
    // `$context_extra`: functions a version adds to `context`.
    ($module:ident, $bindings:ident, { $($context_extra:tt)* }) => {
        mod $module {
            use super::super::$bindings::maillage::plugin::{context, events, groups, log, types};
            use super::HostState;

            impl types::Host for HostState {}

            impl context::Host for HostState {
                async fn current(&mut self) -> wasmtime::Result<types::RequestContext> {
                    let ctx = self.call_context();
                    Ok(types::RequestContext {
                        structure: ctx.structure_slug,
                        structure_name: ctx.structure_name,
                        time_zone: ctx.time_zone,
                        user: ctx.user.map(|u| types::User {
                            id: u.id,
                            display_name: u.display_name,
                        }),
                        roles: ctx.roles,
                        locale: ctx.locale,
                        request_id: ctx.request_id,
                        csrf_token: ctx.csrf_token,
                        base_path: ctx.base_path,
                    })
                }
                $($context_extra)*
            }

            impl log::Host for HostState {
                async fn log(
                    &mut self,
                    level: log::Level,
                    message: String,
                ) -> wasmtime::Result<()> {
                    let level = match level {
                        log::Level::Trace => tracing::Level::TRACE,
                        log::Level::Debug => tracing::Level::DEBUG,
                        log::Level::Info => tracing::Level::INFO,
                        log::Level::Warn => tracing::Level::WARN,
                        log::Level::Error => tracing::Level::ERROR,
                    };
                    self.log_message(level, message);
                    Ok(())
                }
            }

            impl events::Host for HostState {
                async fn publish(
                    &mut self,
                    topic: String,
                    payload: String,
                ) -> wasmtime::Result<Result<(), String>> {
                    self.publish_event(topic, payload).await
                }
            }

            fn group_role(role: crate::groups::GroupRole) -> groups::GroupRole {
                match role {
                    crate::groups::GroupRole::Referent => groups::GroupRole::Referent,
                    crate::groups::GroupRole::Active => groups::GroupRole::Active,
                    crate::groups::GroupRole::Guest => groups::GroupRole::Guest,
                }
            }

            fn group(g: crate::groups::Group) -> groups::Group {
                groups::Group {
                    id: g.id.to_string(),
                    name: g.name,
                    open: g.open,
                    archived: g.archived,
                    my_role: g.my_role.map(group_role),
                }
            }

            impl groups::Host for HostState {
                async fn my_groups(&mut self) -> wasmtime::Result<Vec<groups::Group>> {
                    Ok(self
                        .readable_groups()
                        .await?
                        .into_iter()
                        .filter(|g| g.my_role.is_some())
                        .map(group)
                        .collect())
                }

                async fn visible_groups(&mut self) -> wasmtime::Result<Vec<groups::Group>> {
                    Ok(self
                        .readable_groups()
                        .await?
                        .into_iter()
                        .map(group)
                        .collect())
                }

                async fn members(
                    &mut self,
                    group_id: String,
                ) -> wasmtime::Result<Option<Vec<groups::GroupMember>>> {
                    Ok(self
                        .readable_group_members(&group_id)
                        .await?
                        .map(|members| {
                            members
                                .into_iter()
                                .map(|m| groups::GroupMember {
                                    user_id: m.account_id.to_string(),
                                    display_name: m.display_name,
                                    role: group_role(m.role),
                                })
                                .collect()
                        }))
                }

                async fn is_referent(&mut self, group_id: String) -> wasmtime::Result<bool> {
                    self.referent_of(&group_id).await
                }
            }
        }
    };
}

shared_imports!(shared_v0_1, v0_1);
shared_imports!(shared_v0_2, v0_2, {
    async fn user_time_zone(&mut self) -> wasmtime::Result<Option<String>> {
        let ctx = self.call_context();
        Ok(ctx.user_time_zone.filter(|zone| *zone != ctx.time_zone))
    }

    async fn public_url(&mut self) -> wasmtime::Result<String> {
        Ok(self.public_url.clone())
    }

    async fn feed_url(&mut self) -> wasmtime::Result<Option<String>> {
        let ctx = self.call_context();
        let (Some(scope), Some(user)) = (self.scope.clone(), ctx.user) else {
            return Ok(None);
        };
        let Ok(account_id) = user.id.parse::<i64>() else {
            return Ok(None);
        };
        crate::feeds::feed_url(
            &self.db,
            &self.public_url,
            account_id,
            scope.structure_id,
            &scope.plugin_id,
        )
        .await
        .map(Some)
        .map_err(|e| wasmtime::format_err!("feed URL: {e}"))
    }

    async fn account_email_is(&mut self, address: String) -> wasmtime::Result<bool> {
        let wanted = address.trim();
        let account_id = self
            .call_context()
            .user
            .and_then(|u| u.id.parse::<i64>().ok());
        let (Some(account_id), false) = (account_id, wanted.is_empty()) else {
            return Ok(false);
        };
        let account = self
            .db
            .account(account_id)
            .await
            .map_err(|e| wasmtime::format_err!("account e-mail: {e}"))?;
        Ok(account.is_some_and(|a| a.email.trim().to_lowercase() == wanted.to_lowercase()))
    }
});

impl HostState {
    /// The call's context; an empty one while loading (describe).
    pub(super) fn call_context(&self) -> CallContext {
        let empty = CallContext {
            structure_id: 0,
            structure_slug: String::new(),
            structure_name: String::new(),
            time_zone: "Europe/Paris".into(),
            user: None,
            roles: Vec::new(),
            locale: "fr-FR".into(),
            request_id: String::new(),
            csrf_token: String::new(),
            base_path: String::new(),
            territory: Vec::new(),
            user_time_zone: None,
        };
        self.call.clone().unwrap_or(empty)
    }
}

/// A plugin could flood the logs; cap what one message may carry.
const MAX_LOG_MESSAGE: usize = 4096;

impl HostState {
    pub(super) fn log_message(&self, level: tracing::Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_MESSAGE {
            let mut end = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        let request_id = self
            .call
            .as_ref()
            .map(|c| c.request_id.as_str())
            .unwrap_or("");
        let plugin = self.plugin_label.as_str();
        match level {
            tracing::Level::TRACE => tracing::trace!(plugin, request_id, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(plugin, request_id, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin, request_id, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin, request_id, "{message}"),
            _ => tracing::error!(plugin, request_id, "{message}"),
        }
    }
}

fn store_error(error: StorageError) -> store::StoreError {
    match error {
        StorageError::Invalid(m) => store::StoreError::Invalid(m),
        other => {
            tracing::error!(error = %other, "plugin store call failed");
            store::StoreError::Unavailable("database error".into())
        }
    }
}

impl store::Host for HostState {
    async fn get(
        &mut self,
        collection: String,
        id: String,
    ) -> wasmtime::Result<Result<Option<String>, store::StoreError>> {
        let scope = self.require(Capability::Storage)?;
        // Reads see the call's own uncommitted writes.
        let found = match self.reader().await {
            Ok(conn) => storage::doc_get(conn, &scope, &collection, &id).await,
            Err(e) => Err(e),
        };
        Ok(found.map_err(store_error))
    }

    async fn put(
        &mut self,
        collection: String,
        id: String,
        value: String,
    ) -> wasmtime::Result<Result<(), store::StoreError>> {
        let scope = self.require(Capability::Storage)?;
        let result = match self.writer().await {
            Ok(tx) => storage::doc_put(tx, &scope, &collection, &id, &value).await,
            Err(e) => Err(e),
        };
        Ok(result.map_err(store_error))
    }

    async fn delete(
        &mut self,
        collection: String,
        id: String,
    ) -> wasmtime::Result<Result<bool, store::StoreError>> {
        let scope = self.require(Capability::Storage)?;
        let result = match self.writer().await {
            Ok(tx) => storage::doc_delete(tx, &scope, &collection, &id).await,
            Err(e) => Err(e),
        };
        Ok(result.map_err(store_error))
    }

    async fn scan(
        &mut self,
        collection: String,
        prefix: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<store::Entry>, store::StoreError>> {
        let scope = self.require(Capability::Storage)?;
        let rows = match self.reader().await {
            Ok(conn) => storage::doc_scan(conn, &scope, &collection, &prefix, limit).await,
            Err(e) => Err(e),
        };
        Ok(rows
            .map(|rows| {
                rows.into_iter()
                    .map(|(id, value)| store::Entry { id, value })
                    .collect()
            })
            .map_err(store_error))
    }
}

impl HostState {
    pub(super) async fn publish_event(
        &mut self,
        topic: String,
        payload: String,
    ) -> wasmtime::Result<Result<(), String>> {
        let scope = self.require(Capability::Events)?;
        // In the call's transaction: the event exists if and only if the writes do.
        let result = match self.writer().await {
            Ok(tx) => storage::publish_event(tx, &scope, &topic, &payload).await,
            Err(e) => Err(e),
        };
        Ok(result.map(|_| ()).map_err(|e| e.to_string()))
    }
}

/// The acting user in the current structure, for the groups imports.
pub(super) struct Acting {
    pub(super) structure_id: i64,
    /// 0 in a call without a user.
    pub(super) account_id: i64,
    pub(super) coordinator: bool,
}

impl HostState {
    pub(super) fn acting(&mut self) -> wasmtime::Result<Option<Acting>> {
        self.require(Capability::Groups)?;
        Ok(self.call.as_ref().and_then(|c| {
            let Some(user) = &c.user else {
                // A call without a user (an event, a timer) acts for the structure
                // itself: it reads every group, belonging to none (since 0.2.3).
                return (c.structure_id != 0).then_some(Acting {
                    structure_id: c.structure_id,
                    account_id: 0,
                    coordinator: true,
                });
            };
            Some(Acting {
                structure_id: c.structure_id,
                account_id: user.id.parse().ok()?,
                coordinator: c.roles.iter().any(|r| r == "coordinator"),
            })
        }))
    }

    pub(super) async fn readable_group(
        &mut self,
        group_id: &str,
    ) -> wasmtime::Result<Option<crate::groups::Group>> {
        let (Some(acting), Ok(id)) = (self.acting()?, group_id.parse::<i64>()) else {
            return Ok(None);
        };
        // On the call's connection: a group this call created (0.2.6 `group-admin`) or
        // changed is read as it now is.
        let db = self.db.clone();
        let conn = self
            .reader()
            .await
            .map_err(|e| wasmtime::format_err!("group lookup failed: {e}"))?;
        let group = db
            .group_in(conn, acting.structure_id, id, acting.account_id)
            .await
            .map_err(|e| wasmtime::format_err!("group lookup failed: {e}"))?;
        Ok(group.filter(|g| g.open || g.my_role.is_some() || acting.coordinator))
    }
}

impl HostState {
    /// Groups the acting user may read (shared by every WIT version).
    pub(super) async fn readable_groups(&mut self) -> wasmtime::Result<Vec<crate::groups::Group>> {
        let Some(acting) = self.acting()? else {
            return Ok(Vec::new());
        };
        let db = self.db.clone();
        let conn = self
            .reader()
            .await
            .map_err(|e| wasmtime::format_err!("listing groups failed: {e}"))?;
        let all = db
            .groups_in(conn, acting.structure_id, acting.account_id)
            .await
            .map_err(|e| wasmtime::format_err!("listing groups failed: {e}"))?;
        Ok(all
            .into_iter()
            .filter(|g| g.open || g.my_role.is_some() || acting.coordinator)
            .collect())
    }

    pub(super) async fn readable_group_members(
        &mut self,
        group_id: &str,
    ) -> wasmtime::Result<Option<Vec<crate::groups::GroupMember>>> {
        let Some(group) = self.readable_group(group_id).await? else {
            return Ok(None);
        };
        let db = self.db.clone();
        let conn = self
            .reader()
            .await
            .map_err(|e| wasmtime::format_err!("listing group members failed: {e}"))?;
        let members = db
            .group_members_in(conn, group.id)
            .await
            .map_err(|e| wasmtime::format_err!("listing group members failed: {e}"))?;
        Ok(Some(members))
    }

    pub(super) async fn referent_of(&mut self, group_id: &str) -> wasmtime::Result<bool> {
        Ok(self
            .readable_group(group_id)
            .await?
            .is_some_and(|g| g.my_role == Some(crate::groups::GroupRole::Referent)))
    }
}

pub(super) fn manifest_from_v0_1(m: types::Manifest) -> RawManifest {
    RawManifest {
        id: m.id,
        version: m.version,
        name: m.name,
        wit_range: m.wit_range,
        capabilities: m.capabilities,
        collections: Vec::new(),
        subscriptions: m.subscriptions,
        nav: m
            .nav
            .into_iter()
            .map(|n| NavEntry {
                label: n.label,
                path: n.path,
            })
            .collect(),
        widgets: m
            .widgets
            .into_iter()
            .map(|w| Widget {
                id: w.id,
                title: w.title,
                path: w.path,
            })
            .collect(),
        roles: Vec::new(),
    }
}
