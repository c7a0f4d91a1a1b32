//! The documents of a project's group, from the cloud module (module id `documents`): it
//! publishes `document.saved` for every new document, new version, rename, move and
//! deletion of a group's document, and this module keeps a copy (`group_documents`, one
//! record per document) to list the latest ones on the project page.
//!
//! A copy for the reasons the meetings are one ([`crate::meetings`]): no module can ask
//! whether another is enabled, and the project page costs no second module call. The
//! same rules ([`crate::copies`]): the newest (`saved_at`, `sequence`) wins, events of
//! the topic from any other module than the cloud are ignored, a bad payload is logged
//! and accepted. A deleted document stays in the copy, marked and never listed, so that
//! a late older event does not bring it back. What a member may do with a document stays
//! the cloud's decision: the project page shows its name, size, version, date and author,
//! and links to the cloud's page.

use maillage_sdk::html::{Markup, html};
use maillage_sdk::records::{self, Query, StoreError};
use maillage_sdk::{fr, time};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::copies::{self, Copies, module_href};
use crate::model::{GROUP_DOCUMENTS, Loaded};

/// The topic this module subscribes to.
pub const DOCUMENT_SAVED: &str = "document.saved";
/// The cloud's module id: the only publisher whose `document.saved` events count, and
/// the segment of its pages (`/{structure}/documents/…`).
pub const CLOUD_MODULE: &str = "documents";
/// Documents listed on the project page.
const LISTED: u32 = 10;
/// Longest texts kept of a payload, in characters.
const MAX_NAME: usize = 255;
const MAX_FOLDER: usize = 500;
const MAX_CONTENT_TYPE: usize = 100;
const MAX_BY_NAME: usize = 200;
/// Longest page path kept, in bytes.
const MAX_PATH: usize = 300;

/// One document of a group, as kept.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupDocument {
    pub id: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub document: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub group_id: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub folder: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub version: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub size: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub content_type: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub by_name: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub path: String,
    #[serde(default, deserialize_with = "records::or_default")]
    pub deleted: bool,
    #[serde(default, deserialize_with = "records::or_default")]
    pub sequence: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    pub saved_at: i64,
}

impl GroupDocument {
    /// The cloud's page of the document.
    pub fn href(&self) -> String {
        module_href(CLOUD_MODULE, &self.path)
    }

    /// « 1,5 Mo ».
    pub fn size_fr(&self) -> String {
        fr::size(u64::try_from(self.size).unwrap_or(0))
    }

    /// « jeudi 3 décembre 2026, 18:30 » in the structure's zone.
    pub fn when(&self) -> String {
        time::instant_fr(
            time::from_seconds(self.saved_at),
            &time::zone_or_default(&maillage_sdk::context().time_zone),
        )
    }
}

/// The payload, as the cloud publishes it (docs/projects-contract.md, « Meetings and
/// documents »).
#[derive(Debug, Deserialize)]
struct Payload {
    document: Value,
    group_id: Value,
    #[serde(default, deserialize_with = "records::or_default")]
    name: String,
    #[serde(default, deserialize_with = "records::or_default")]
    folder: String,
    #[serde(default, deserialize_with = "records::or_default")]
    version: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    size: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    content_type: String,
    #[serde(default, deserialize_with = "records::or_default")]
    by_name: String,
    #[serde(default, deserialize_with = "records::or_default")]
    saved_at: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    sequence: i64,
    #[serde(default, deserialize_with = "records::or_default")]
    deleted: bool,
    #[serde(default, deserialize_with = "records::or_default")]
    path: String,
}

/// The document's page in the cloud, relative to the cloud's base: the payload's when
/// it is a plain path (`/d/01J…`), `/d/{document}` when it gives none.
fn page_path(path: &str, document: &str) -> Result<String, String> {
    let path = path.trim();
    if path.is_empty() {
        return Ok(format!("/d/{document}"));
    }
    let plain = path.len() <= MAX_PATH
        && path.starts_with('/')
        && !path.starts_with("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
        && !path.split('/').any(|segment| segment == "..");
    if plain {
        Ok(path.to_string())
    } else {
        Err("malformed path".into())
    }
}

fn cut(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

/// The record one event asks to keep, or why it is ignored.
fn record_of(payload: &str) -> Result<Value, String> {
    let p: Payload = serde_json::from_str(payload).map_err(|e| format!("bad payload: {e}"))?;
    let document = copies::record_id(&p.document, "document")?;
    let group_id = copies::group_id(&p.group_id)?;
    let path = page_path(&p.path, &document)?;
    Ok(json!({
        "document": document,
        "group_id": group_id,
        "name": cut(&p.name, MAX_NAME),
        "folder": cut(&p.folder, MAX_FOLDER),
        "version": p.version.max(0),
        "size": p.size.max(0),
        "content_type": cut(&p.content_type, MAX_CONTENT_TYPE),
        "by_name": cut(&p.by_name, MAX_BY_NAME),
        "path": path,
        "deleted": p.deleted,
        "sequence": p.sequence,
        "saved_at": p.saved_at,
    }))
}

/// The copy of the cloud's documents of groups.
const DOCUMENTS: Copies = Copies {
    topic: DOCUMENT_SAVED,
    publisher: CLOUD_MODULE,
    collection: GROUP_DOCUMENTS,
    key: "document",
    record_of,
};

/// `document.saved` from `source`: keeps the newest copy of the document.
pub fn on_saved(source: &str, payload: &str) -> Result<(), String> {
    DOCUMENTS.on_event(source, payload)
}

/// The group's documents not deleted, most recently saved first.
fn latest(group_id: &str, limit: u32) -> Result<Vec<GroupDocument>, StoreError> {
    Query::new()
        .filter("group_id = {:g} && deleted = false")
        .param("g", group_id)
        .sort("-saved_at")
        .limit(limit)
        .fetch(GROUP_DOCUMENTS)
        .map(|(items, _)| items)
}

/// Whether the cloud ever told this module of a document of the group (deleted since or
/// not).
fn ever_received(group_id: &str) -> Result<bool, StoreError> {
    Ok(Query::new()
        .filter("group_id = {:g}")
        .param("g", group_id)
        .count(GROUP_DOCUMENTS)?
        > 0)
}

/// One document in the list: `li[data-document]`, its name linking to the cloud.
fn item(d: &GroupDocument) -> Markup {
    html! {
        li data-document=(d.document) data-enregistre=(d.saved_at) {
            a href=(d.href()) { (if d.name.is_empty() { "Document" } else { d.name.as_str() }) }
            @if !d.folder.is_empty() { " " span class="dossier" { "(" (d.folder) ")" } }
            " · " span class="taille" { (d.size_fr()) }
            " · " span class="version" { "version " (d.version) }
            " · " span class="date" { (d.when()) }
            @if !d.by_name.is_empty() { " · par " span class="auteur" { (d.by_name) } }
        }
    }
}

/// The « Documents » section of the project page: the group's 10 most recently saved
/// documents and a link to all of them in the cloud; nothing when the cloud never told
/// of a document of the group (not enabled, or none yet).
pub fn section(l: &Loaded) -> Result<Markup, StoreError> {
    let listed = latest(&l.group.id, LISTED)?;
    if listed.is_empty() && !ever_received(&l.group.id)? {
        return Ok(html! {});
    }
    let all = module_href(CLOUD_MODULE, &format!("/g/{}", l.group.id));
    Ok(html! {
        section id="documents" {
            h2 { "Documents" }
            @if listed.is_empty() {
                p class="empty" { "Aucun document pour le moment." }
            } @else {
                ul class="documents" { @for d in &listed { (item(d)) } }
            }
            p { a class="tous-documents" href=(all) { "Tous les documents du projet" } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_becomes_a_record_and_bad_ones_are_refused() {
        let r = record_of(
            r#"{"document":"01JDOC","group_id":7,"name":"  Compte rendu.pdf ","folder":"Comités","version":3,"size":1536,"content_type":"application/pdf","by_name":"Rémi Référent","saved_at":1790000000,"sequence":4,"deleted":false,"path":"/d/01JDOC"}"#,
        )
        .unwrap();
        assert_eq!(r["document"], "01JDOC");
        assert_eq!(r["group_id"], "7");
        assert_eq!(r["name"], "Compte rendu.pdf");
        assert_eq!(r["folder"], "Comités");
        assert_eq!(r["version"], 3);
        assert_eq!(r["size"], 1536);
        assert_eq!(r["path"], "/d/01JDOC");
        assert_eq!(r["deleted"], false);
        assert_eq!(r["saved_at"], 1_790_000_000_i64);
        assert_eq!(r["sequence"], 4);
        let bare =
            record_of(r#"{"document":"d1","group_id":"7","size":-5,"folder":null,"deleted":true}"#)
                .unwrap();
        assert_eq!(bare["path"], "/d/d1");
        assert_eq!(bare["size"], 0);
        assert_eq!(bare["folder"], "");
        assert_eq!(bare["deleted"], true);
        for bad in [
            "not json",
            r#"{"group_id":"7"}"#,
            r#"{"document":"d1"}"#,
            r#"{"document":"a b","group_id":"7"}"#,
            r#"{"document":"d1","group_id":"g7"}"#,
            r#"{"document":"d1","group_id":"7","path":"//ailleurs.example/d/1"}"#,
            r#"{"document":"d1","group_id":"7","path":"/d/../../admin"}"#,
            r#"{"document":"d1","group_id":"7","path":"javascript:alert(1)"}"#,
            r#"{"document":"d1","group_id":"7","path":"/d/1\"><script>"}"#,
        ] {
            assert!(record_of(bad).is_err(), "{bad}");
        }
    }
}
