//! Host side of the imports new in `maillage:plugin@0.2`: typed records, blobs, and
//! (0.2.1) ranked queries and the structure's territory.
//! The imports shared with 0.1 (context, log, events, groups) are expanded for both
//! versions by `shared_imports!` in `host.rs`.

use bytes::Bytes;
use sqlx::AnyConnection;
use wasmtime::component::{HasSelf, Linker};

use super::Capability;
use super::host::HostState;
use super::manifest::{NavEntry, RawManifest, Widget};
use super::v0_2::maillage::plugin::{
    audit, blobs, context, events, groups, log, mail, people, records, tenancy, timers, types,
};
use crate::storage::StorageError;
use crate::storage::collections::{
    CollectionDef, FieldDef, FieldType, IndexDef, QuerySpec as RecordQuery, Records,
};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    context::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    records::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    blobs::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    tenancy::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    events::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    groups::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    mail::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    timers::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    audit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    people::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    super::v0_2::maillage::plugin::group_admin::add_to_linker::<HostState, HasSelf<HostState>>(
        linker,
        |s| s,
    )?;
    // 0.2.7: the national library (host_library.rs).
    super::v0_2::maillage::plugin::library::add_to_linker::<HostState, HasSelf<HostState>>(
        linker,
        |s| s,
    )?;
    Ok(())
}

fn record_error(error: StorageError) -> records::StoreError {
    match error {
        StorageError::Invalid(m) => records::StoreError::Invalid(m),
        StorageError::Conflict(m) => records::StoreError::Conflict(m),
        other => {
            tracing::error!(error = %other, "plugin record call failed");
            records::StoreError::Unavailable("database error".into())
        }
    }
}

/// Runs `$body` with `$records`, the API scoped to the call's structure, and `$conn`:
/// `reader` for reads, `writer` (the call's transaction, begun on first write) for writes.
macro_rules! with_records {
    ($state:ident, $connection:ident, $records:ident, $conn:ident => $body:expr) => {{
        let scope = $state.require(Capability::Storage)?;
        // The schema is shared (an Arc): a handle of our own leaves `$state` free for
        // the connection borrow.
        let schema = $state.schema.clone();
        let $records = Records {
            backend: $state.db.backend(),
            schema: &schema,
            structure_id: scope.structure_id,
        };
        let result: Result<_, StorageError> = match $state.$connection().await {
            Ok($conn) => $body.await,
            Err(e) => Err(e),
        };
        Ok(result.map_err(record_error))
    }};
}

macro_rules! reading {
    ($state:ident, $records:ident, $conn:ident => $body:expr) => {
        with_records!($state, reader, $records, $conn => $body)
    };
}

macro_rules! writing {
    ($state:ident, $records:ident, $conn:ident => $body:expr) => {
        with_records!($state, writer, $records, $conn => $body)
    };
}

type RecordResult<T> = wasmtime::Result<Result<T, records::StoreError>>;

impl records::Host for HostState {
    async fn get(&mut self, collection: String, id: String) -> RecordResult<Option<String>> {
        reading!(self, api, conn => async {
            Ok(api.get(conn, &collection, &id).await?.map(|v| v.to_string()))
        })
    }

    async fn insert(&mut self, collection: String, data: String) -> RecordResult<String> {
        writing!(self, api, conn => async {
            Ok(api.insert(conn, &collection, &data).await?.to_string())
        })
    }

    async fn update(
        &mut self,
        collection: String,
        id: String,
        patch: String,
    ) -> RecordResult<Option<String>> {
        writing!(self, api, conn => async {
            Ok(api.update(conn, &collection, &id, &patch).await?.map(|v| v.to_string()))
        })
    }

    async fn upsert(
        &mut self,
        collection: String,
        key_fields: Vec<String>,
        data: String,
    ) -> RecordResult<String> {
        writing!(self, api, conn => async {
            Ok(api.upsert(conn, &collection, &key_fields, &data).await?.to_string())
        })
    }

    async fn delete(&mut self, collection: String, id: String) -> RecordResult<bool> {
        writing!(self, api, conn => api.delete(conn, &collection, &id))
    }

    async fn query(
        &mut self,
        collection: String,
        q: records::QuerySpec,
    ) -> RecordResult<records::Page> {
        let spec = record_query(q);
        reading!(self, api, conn => async {
            let (items, next) = api.query_text(conn, &collection, &spec).await?;
            Ok(records::Page { items, next })
        })
    }

    async fn select(
        &mut self,
        collection: String,
        q: records::QuerySpec,
        fields: Vec<String>,
    ) -> RecordResult<records::Page> {
        let spec = record_query(q);
        reading!(self, api, conn => async {
            let (items, next) = api.select_text(conn, &collection, &spec, &fields).await?;
            Ok(records::Page { items, next })
        })
    }

    async fn insert_many(
        &mut self,
        collection: String,
        items: Vec<String>,
    ) -> RecordResult<Vec<String>> {
        writing!(self, api, conn => api.insert_many(conn, &collection, &items))
    }

    async fn rank(
        &mut self,
        collection: String,
        q: records::QuerySpec,
        criteria: Vec<String>,
    ) -> RecordResult<Vec<records::Scored>> {
        let spec = record_query(q);
        reading!(self, api, conn => async {
            let ranked = api.rank(conn, &collection, &spec, &criteria).await?;
            Ok(ranked
                .into_iter()
                .map(|(score, item)| records::Scored { score, item: item.to_string() })
                .collect())
        })
    }

    async fn count(
        &mut self,
        collection: String,
        filter: String,
        params: String,
    ) -> RecordResult<i64> {
        reading!(self, api, conn => api.count(conn, &collection, &filter, &params))
    }

    async fn aggregate(
        &mut self,
        collection: String,
        filter: String,
        params: String,
        group_by: Option<String>,
        sum_field: Option<String>,
    ) -> RecordResult<Vec<records::Bucket>> {
        reading!(self, api, conn => async {
            let buckets = api
                .aggregate(conn, &collection, &filter, &params, group_by.as_deref(), sum_field.as_deref())
                .await?;
            Ok(buckets
                .into_iter()
                .map(|b| records::Bucket { key: b.key.to_string(), count: b.count, sum: b.sum })
                .collect())
        })
    }
}

fn record_query(q: records::QuerySpec) -> RecordQuery {
    RecordQuery {
        filter: q.filter,
        params: q.params,
        search: q.search,
        sort: q.sort,
        limit: q.limit,
        cursor: q.cursor,
    }
}

impl tenancy::Host for HostState {
    async fn territory(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.call_context().territory)
    }

    async fn members(&mut self) -> wasmtime::Result<Vec<tenancy::Member>> {
        let scope = self.require(Capability::Groups)?;
        let members = self
            .db
            .members(scope.structure_id)
            .await
            .map_err(|e| wasmtime::format_err!("listing members failed: {e}"))?;
        Ok(members
            .into_iter()
            .map(|m| tenancy::Member {
                user_id: m.account_id.to_string(),
                display_name: m.display_name,
            })
            .collect())
    }
}

fn exercise_mode(mode: crate::people::ExerciseMode) -> people::ExerciseMode {
    use crate::people::ExerciseMode as M;
    match mode {
        M::Liberal => people::ExerciseMode::Liberal,
        M::Salarie => people::ExerciseMode::Salarie,
        M::Autre => people::ExerciseMode::Autre,
        M::Inconnu => people::ExerciseMode::Inconnu,
    }
}

fn person(facts: crate::people::MemberFacts) -> people::Person {
    people::Person {
        user_id: facts.account_id.to_string(),
        display_name: facts.display_name,
        profession: facts.profession,
        exercise_mode: exercise_mode(facts.exercise_mode),
        employer_convention: facts.employer_convention,
        adhesions: facts
            .adhesions
            .into_iter()
            .map(|a| people::Adhesion {
                start: a.start,
                end: a.end,
            })
            .collect(),
    }
}

impl people::Host for HostState {
    async fn get(&mut self, user_id: String) -> wasmtime::Result<Option<people::Person>> {
        let scope = self.require(Capability::People)?;
        let Ok(account_id) = user_id.parse::<i64>() else {
            return Ok(None);
        };
        let conn = self.reader().await?;
        let facts = crate::people::facts(conn, scope.structure_id, account_id)
            .await
            .map_err(|e| wasmtime::format_err!("reading a member's facts failed: {e}"))?;
        Ok(facts.map(person))
    }

    async fn all(&mut self) -> wasmtime::Result<Vec<people::Person>> {
        let scope = self.require(Capability::People)?;
        let conn = self.reader().await?;
        let all = crate::people::all_facts(conn, scope.structure_id)
            .await
            .map_err(|e| wasmtime::format_err!("reading members' facts failed: {e}"))?;
        Ok(all.into_iter().map(person).collect())
    }

    async fn suggest(
        &mut self,
        user_id: String,
        suggestion: people::Suggestion,
    ) -> wasmtime::Result<Result<(), String>> {
        // Refused, not trapped, without the capability: a module offers suggestions
        // where it is granted and carries on elsewhere (see the WIT).
        let Some(scope) = self
            .scope
            .clone()
            .filter(|_| self.granted.contains(&Capability::People))
        else {
            return Ok(Err("the \"people\" capability is not granted".into()));
        };
        let Ok(account_id) = user_id.parse::<i64>() else {
            return Ok(Err(format!("{user_id:?} is not an account id")));
        };
        if suggestion
            .profession
            .as_ref()
            .is_some_and(|p| p.chars().count() > 200)
        {
            return Ok(Err("profession longer than 200 characters".into()));
        }
        let zone = self.call_context().time_zone;
        let today = crate::people::today_in(&zone);
        let source = format!("module:{}", scope.plugin_id);
        let conn = self.writer().await?;
        if crate::people::facts(conn, scope.structure_id, account_id)
            .await
            .map_err(|e| wasmtime::format_err!("reading a member's facts failed: {e}"))?
            .is_none()
        {
            return Ok(Err(format!(
                "{user_id} is not an active member of the structure"
            )));
        }
        match crate::people::suggest(
            conn,
            scope.structure_id,
            account_id,
            &source,
            suggestion.profession.as_deref(),
            suggestion.adherent,
            &today,
            crate::storage::now_secs(),
        )
        .await
        {
            Ok(()) => Ok(Ok(())),
            Err(StorageError::Invalid(reason)) => Ok(Err(reason)),
            Err(e) => Err(wasmtime::format_err!("storing a suggestion failed: {e}")),
        }
    }
}

/// Limits of one `mail.send`.
const MAX_RECIPIENTS: usize = 1000;
const MAX_SUBJECT: usize = 300;
const MAX_TEXT: usize = 256 << 10;
const MAX_HTML: usize = 512 << 10;
const MAX_ATTACHMENTS: usize = 10;
const MAX_ATTACHMENT_BYTES: usize = 5 << 20;

/// Why a message is refused, before anything is queued.
fn check_message(m: &mail::Message) -> Result<Vec<i64>, String> {
    let count = m.to.len() + m.external.len();
    if count == 0 || count > MAX_RECIPIENTS {
        return Err(format!("1 to {MAX_RECIPIENTS} recipients, got {count}"));
    }
    if let Some(bad) = m.external.iter().find(|a| !plausible_address(a)) {
        return Err(format!("{bad:?} is not an e-mail address"));
    }
    let subject = m.subject.trim();
    if subject.is_empty()
        || subject.chars().count() > MAX_SUBJECT
        || subject.chars().any(char::is_control)
    {
        return Err(format!(
            "the subject must be one line of 1 to {MAX_SUBJECT} characters"
        ));
    }
    if m.text.len() > MAX_TEXT || m.html.as_ref().is_some_and(|h| h.len() > MAX_HTML) {
        return Err(format!(
            "the body exceeds {MAX_TEXT} bytes (text) or {MAX_HTML} bytes (HTML)"
        ));
    }
    if m.attachments.len() > MAX_ATTACHMENTS
        || m.attachments.iter().map(|a| a.content.len()).sum::<usize>() > MAX_ATTACHMENT_BYTES
    {
        return Err(format!(
            "at most {MAX_ATTACHMENTS} attachments of {MAX_ATTACHMENT_BYTES} bytes in all"
        ));
    }
    for a in &m.attachments {
        let name_ok = !a.file_name.is_empty()
            && a.file_name.len() <= 100
            && !a
                .file_name
                .chars()
                .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'));
        if !name_ok {
            return Err(format!("invalid attachment name {:?}", a.file_name));
        }
        if a.content_type.is_empty()
            || a.content_type.len() > 200
            || a.content_type.chars().any(char::is_control)
        {
            return Err(format!("invalid attachment type {:?}", a.content_type));
        }
    }
    let mut ids: Vec<i64> =
        m.to.iter()
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| format!("{id:?} is not an account id"))
            })
            .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// One address, as SMTP takes it: `local@domain`, no spaces, quotes or controls.
fn plausible_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    address.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        })
}

impl mail::Host for HostState {
    async fn send(&mut self, message: mail::Message) -> wasmtime::Result<Result<u32, String>> {
        let scope = self.require(Capability::Mail)?;
        let ids = match check_message(&message) {
            Ok(ids) => ids,
            Err(reason) => return Ok(Err(reason)),
        };
        // Guests' addresses need their own grant; refused, not a trap: the module keeps
        // working without it (its members still get their mail).
        if !message.external.is_empty() && !self.granted.contains(&Capability::MailExternal) {
            return Ok(Err(
                "the structure did not grant \"mail-external\": mail to external addresses is refused".into(),
            ));
        }
        let attachments: Vec<crate::mail::StoredAttachment> = message
            .attachments
            .iter()
            .map(|a| crate::mail::StoredAttachment::new(&a.file_name, &a.content_type, &a.content))
            .collect();
        let subject = message.subject.trim().to_string();
        let result: Result<u32, StorageError> = async {
            let conn = self.writer().await?;
            let mut addresses =
                crate::mail::member_addresses(conn, scope.structure_id, &ids).await?;
            if addresses.len() != ids.len() {
                let known: Vec<i64> = addresses.iter().map(|(id, _)| *id).collect();
                let missing: Vec<String> = ids
                    .iter()
                    .filter(|id| !known.contains(id))
                    .map(|id| id.to_string())
                    .collect();
                return Err(StorageError::Invalid(format!(
                    "not members of the structure: {}",
                    missing.join(", ")
                )));
            }
            let mut external: Vec<&String> = message.external.iter().collect();
            external.sort();
            external.dedup();
            addresses.extend(external.into_iter().map(|a| (0, a.clone())));
            for (_, address) in &addresses {
                crate::mail::enqueue_module_mail(
                    conn,
                    &crate::mail::ModuleMail {
                        structure_id: scope.structure_id,
                        plugin_id: &scope.plugin_id,
                        to: address,
                        subject: &subject,
                        text: &message.text,
                        html: message.html.as_deref(),
                        attachments: &attachments,
                    },
                )
                .await?;
            }
            Ok(addresses.len() as u32)
        }
        .await;
        match result {
            Ok(n) => {
                self.mails_queued += n;
                Ok(Ok(n))
            }
            Err(StorageError::Invalid(reason)) => Ok(Err(reason)),
            Err(e) => {
                tracing::error!(error = %e, plugin = %self.plugin_label, "queueing module mail failed");
                Ok(Err("mail could not be queued".into()))
            }
        }
    }
}

impl audit::Host for HostState {
    async fn write(
        &mut self,
        action: String,
        target: String,
        details: String,
    ) -> wasmtime::Result<Result<(), String>> {
        let Some(scope) = self.scope.clone() else {
            return Ok(Err("no structure for this call".into()));
        };
        let action_ok = !action.is_empty()
            && action.len() <= 64
            && action.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !action_ok {
            return Ok(Err(
                "the action must be 1 to 64 characters among a-z 0-9 . _ -".into(),
            ));
        }
        if target.chars().count() > 200 || target.chars().any(char::is_control) {
            return Ok(Err(
                "the target must be one line of at most 200 characters".into()
            ));
        }
        let details: serde_json::Value = match serde_json::from_str(&details) {
            Ok(v @ serde_json::Value::Object(_)) if details.len() <= 16 << 10 => v,
            _ => return Ok(Err("details must be a JSON object of at most 16 KiB".into())),
        };
        let actor = match self
            .call_context()
            .user
            .and_then(|u| u.id.parse::<i64>().ok())
        {
            Some(id) => self
                .db
                .account(id)
                .await
                .map_err(|e| wasmtime::format_err!("audit actor lookup: {e}"))?,
            None => None,
        };
        let action = format!("{}.{action}", scope.plugin_id);
        let result = match self.writer().await {
            Ok(conn) => {
                crate::audit::audit_in(
                    conn,
                    crate::audit::AuditRecord {
                        actor: actor.as_ref(),
                        structure_id: Some(scope.structure_id),
                        action: &action,
                        target: &target,
                        before: None,
                        after: Some(details),
                    },
                )
                .await
            }
            Err(e) => Err(e),
        };
        Ok(result.map_err(|e| {
            tracing::error!(error = %e, plugin = %self.plugin_label, "module audit entry failed");
            "the audit entry could not be written".to_string()
        }))
    }
}

impl timers::Host for HostState {
    async fn schedule(
        &mut self,
        topic: String,
        payload: String,
        at: i64,
    ) -> wasmtime::Result<Result<String, String>> {
        let scope = self.require(Capability::Timers)?;
        let result = match self.writer().await {
            Ok(conn) => crate::timers::schedule(conn, &scope, &topic, &payload, at).await,
            Err(e) => Err(e),
        };
        Ok(result.map_err(|e| e.to_string()))
    }

    async fn cancel(&mut self, id: String) -> wasmtime::Result<Result<bool, String>> {
        let scope = self.require(Capability::Timers)?;
        let result = match self.writer().await {
            Ok(conn) => crate::timers::cancel(conn, &scope, &id).await,
            Err(e) => Err(e),
        };
        Ok(result.map_err(|e| e.to_string()))
    }
}

fn blob_info(info: crate::storage::blobs::BlobInfo) -> blobs::BlobInfo {
    blobs::BlobInfo {
        id: info.id,
        name: info.name,
        content_type: info.content_type,
        size: info.size,
        sha256: info.sha256,
        created_at: info.created_at,
    }
}

fn blob_error(error: StorageError) -> String {
    match error {
        StorageError::Invalid(m) => m,
        too_large @ StorageError::TooLarge(_) => too_large.to_string(),
        other => {
            tracing::error!(error = %other, "plugin blob call failed");
            "file storage unavailable".into()
        }
    }
}

impl HostState {
    /// A connection for a blob call: for writes the call's transaction, so that metadata
    /// commits with the call's other writes; for reads, `reader`.
    async fn blob_conn(
        &mut self,
        write: bool,
    ) -> wasmtime::Result<Result<(crate::storage::PluginScope, &mut AnyConnection), String>> {
        let scope = self.require(Capability::Blobs)?;
        let conn = if write {
            self.writer().await
        } else {
            self.reader().await
        };
        Ok(conn.map(|c| (scope, c)).map_err(blob_error))
    }
}

impl blobs::Host for HostState {
    async fn put(
        &mut self,
        name: String,
        content_type: String,
        content: Vec<u8>,
    ) -> wasmtime::Result<Result<blobs::BlobInfo, String>> {
        let store = self.blobs.clone();
        let (scope, conn) = match self.blob_conn(true).await? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(store
            .put(conn, &scope, &name, &content_type, Bytes::from(content))
            .await
            .map(blob_info)
            .map_err(blob_error))
    }

    async fn info(&mut self, id: String) -> wasmtime::Result<Option<blobs::BlobInfo>> {
        let store = self.blobs.clone();
        let (scope, conn) = match self.blob_conn(false).await? {
            Ok(c) => c,
            Err(_) => return Ok(None),
        };
        Ok(store
            .info(conn, &scope, &id)
            .await
            .ok()
            .flatten()
            .map(blob_info))
    }

    async fn get(&mut self, id: String) -> wasmtime::Result<Result<Option<Vec<u8>>, String>> {
        let store = self.blobs.clone();
        let (scope, conn) = match self.blob_conn(false).await? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(store
            .get(conn, &scope, &id)
            .await
            .map(|b| b.map(|b| b.to_vec()))
            .map_err(blob_error))
    }

    async fn delete(&mut self, id: String) -> wasmtime::Result<Result<bool, String>> {
        let store = self.blobs.clone();
        let (scope, conn) = match self.blob_conn(true).await? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(store.delete(conn, &scope, &id).await.map_err(blob_error))
    }

    async fn download_path(&mut self, id: String) -> wasmtime::Result<String> {
        let scope = self.require(Capability::Blobs)?;
        let ctx = self.call_context();
        Ok(format!(
            "/{}/fichiers/{}/{}",
            ctx.structure_slug, scope.plugin_id, id
        ))
    }
}

fn field_type(kind: types::FieldType) -> FieldType {
    match kind {
        types::FieldType::Text => FieldType::Text,
        types::FieldType::Integer => FieldType::Integer,
        types::FieldType::Money => FieldType::Money,
        types::FieldType::Boolean => FieldType::Boolean,
        types::FieldType::Date => FieldType::Date,
        types::FieldType::Datetime => FieldType::Datetime,
        types::FieldType::Json => FieldType::Json,
        types::FieldType::UserRef => FieldType::UserRef,
        types::FieldType::GroupRef => FieldType::GroupRef,
        types::FieldType::RecordRef => FieldType::RecordRef,
    }
}

pub(super) fn manifest_from_v0_2(m: types::Manifest) -> RawManifest {
    RawManifest {
        id: m.id,
        version: m.version,
        name: m.name,
        wit_range: m.wit_range,
        capabilities: m.capabilities,
        collections: m
            .collections
            .into_iter()
            .map(|c| CollectionDef {
                name: c.name,
                fields: c
                    .fields
                    .into_iter()
                    .map(|f| FieldDef {
                        name: f.name,
                        kind: field_type(f.kind),
                        required: f.required,
                        default: f.default,
                        full_text: f.full_text,
                        references: f.references,
                    })
                    .collect(),
                indexes: c
                    .indexes
                    .into_iter()
                    .map(|i| IndexDef {
                        fields: i.fields,
                        unique: i.unique,
                    })
                    .collect(),
            })
            .collect(),
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
        // Read from the optional `roles` export by the runtime (0.2.3).
        roles: Vec::new(),
    }
}
