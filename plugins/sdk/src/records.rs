//! Typed records in the collections the plugin declares (capability "storage").
//! The host scopes every call to the current structure and plugin, checks each field
//! against its declared type, and commits all writes of a call together.

use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};

use crate::bindings::maillage::plugin::records as host;
pub use crate::bindings::maillage::plugin::types::{CollectionDef, FieldDef, FieldType, IndexDef};
pub use host::{Bucket, StoreError};

/// A field with no constraint; adjust with struct update syntax:
/// `FieldDef { required: true, ..field("title", FieldType::Text) }`.
pub fn field(name: &str, kind: FieldType) -> FieldDef {
    FieldDef {
        name: name.into(),
        kind,
        required: false,
        default: None,
        full_text: false,
        references: None,
    }
}

/// A text field with no constraint.
pub fn text(name: &str) -> FieldDef {
    field(name, FieldType::Text)
}

/// An integer field with no constraint.
pub fn integer(name: &str) -> FieldDef {
    field(name, FieldType::Integer)
}

/// The field, required: `required(text("title"))`.
pub fn required(field: FieldDef) -> FieldDef {
    FieldDef {
        required: true,
        ..field
    }
}

/// The field, with the value the host stores when a record leaves it unset.
pub fn with_default(field: FieldDef, default: &str) -> FieldDef {
    FieldDef {
        default: Some(default.to_string()),
        ..field
    }
}

pub fn index(fields: &[&str], unique: bool) -> IndexDef {
    IndexDef {
        fields: fields.iter().map(|f| f.to_string()).collect(),
        unique,
    }
}

/// For `#[serde(default, deserialize_with = "or_default")]`: records carry every
/// declared field, unset ones as `null`; this reads `null` as the type's default.
pub fn or_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn decode<T: DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Invalid(format!("stored record does not decode: {e}")))
}

pub fn get<T: DeserializeOwned>(collection: &str, id: &str) -> Result<Option<T>, StoreError> {
    host::get(collection, id)?
        .as_deref()
        .map(decode)
        .transpose()
}

/// Creates a record; returns it as stored (with its id and timestamps).
pub fn insert<T: Serialize, R: DeserializeOwned>(
    collection: &str,
    record: &T,
) -> Result<R, StoreError> {
    decode(&host::insert(collection, &encode(record)?)?)
}

/// Creates records of one collection in as few statements as possible (WIT 0.2.4
/// `insert-many`, 500 per call): all or, on the first error, none of each call's. Returns
/// their ids in order.
pub fn insert_many<T: Serialize>(
    collection: &str,
    records: &[T],
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::with_capacity(records.len());
    for chunk in records.chunks(INSERT_MANY_MAX) {
        let items = chunk.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        ids.extend(host::insert_many(collection, &items)?);
    }
    Ok(ids)
}

/// Most records one `insert-many` call takes.
const INSERT_MANY_MAX: usize = 500;

/// Inserts, or updates the record with the same values of the unique key `key_fields`.
pub fn upsert<T: Serialize, R: DeserializeOwned>(
    collection: &str,
    key_fields: &[&str],
    record: &T,
) -> Result<R, StoreError> {
    let keys: Vec<String> = key_fields.iter().map(|k| k.to_string()).collect();
    decode(&host::upsert(collection, &keys, &encode(record)?)?)
}

/// Changes the fields present in `patch` (a JSON object).
pub fn update<R: DeserializeOwned>(
    collection: &str,
    id: &str,
    patch: &serde_json::Value,
) -> Result<Option<R>, StoreError> {
    host::update(collection, id, &patch.to_string())?
        .as_deref()
        .map(decode)
        .transpose()
}

pub fn delete(collection: &str, id: &str) -> Result<bool, StoreError> {
    host::delete(collection, id)
}

/// Whether `id` may be a record id (letters, digits, `-`, `_`, `.`; 1 to 64 of them):
/// anything else, e.g. a path segment typed by hand, names no record.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// An account or group id as the host's references take it: digits.
pub fn valid_ref(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// A handler's answer, or, when the store failed, a French 503 page (and a log line).
pub fn or_unavailable(result: Result<crate::Response, StoreError>) -> crate::Response {
    result.unwrap_or_else(|e| {
        crate::log::error(&format!("store failure: {e}"));
        crate::Response::error(
            503,
            "Le service est momentanément indisponible. Veuillez réessayer.",
        )
    })
}

/// One line of an aggregate: the grouping value, how many records, the sum asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: serde_json::Value,
    pub count: i64,
    pub sum: i64,
}

/// The page size of [`Query::fetch_all`] for a query with no [`Query::limit`].
pub const FETCH_ALL_PAGE: u32 = 500;

/// A query, built step by step: `Query::new().filter("poll = {:poll}").param("poll", id)`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    filter: String,
    params: serde_json::Map<String, serde_json::Value>,
    search: Option<String>,
    sort: String,
    limit: u32,
    cursor: Option<String>,
    /// Only these fields (and "id") in each record; all when empty.
    fields: Vec<String>,
}

impl Query {
    pub fn new() -> Self {
        Query::default()
    }
    /// Filter expression; values should come through `param`, never pasted in.
    pub fn filter(mut self, filter: &str) -> Self {
        self.filter = filter.into();
        self
    }
    pub fn param(mut self, name: &str, value: impl Serialize) -> Self {
        self.params.insert(
            name.into(),
            serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        );
        self
    }
    /// Words to find in the full-text fields (accents and case ignored).
    pub fn search(mut self, words: &str) -> Self {
        self.search = Some(words.into());
        self
    }
    /// E.g. "-created_at,title". The id breaks ties, ascending; end with "-id" for
    /// descending ties (the newest-first page of a thread: "-created_at,-id").
    pub fn sort(mut self, sort: &str) -> Self {
        self.sort = sort.into();
        self
    }
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
    /// Only these fields (declared ones, "created_at", "updated_at") and "id" in each
    /// record [`fetch`](Query::fetch)ed: the host reads only those columns (WIT 0.2.4
    /// `select`). The type read must then do without the others (`#[serde(default)]`).
    pub fn fields(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    fn params_json(&self) -> String {
        if self.params.is_empty() {
            String::new()
        } else {
            serde_json::Value::Object(self.params.clone()).to_string()
        }
    }

    fn spec(&self) -> host::QuerySpec {
        host::QuerySpec {
            filter: self.filter.clone(),
            params: self.params_json(),
            search: self.search.clone(),
            sort: self.sort.clone(),
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }

    /// One page of records and the cursor of the next one.
    pub fn fetch<T: DeserializeOwned>(
        &self,
        collection: &str,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let page = if self.fields.is_empty() {
            host::query(collection, &self.spec())?
        } else {
            host::select(collection, &self.spec(), &self.fields)?
        };
        let items = page
            .items
            .iter()
            .map(|json| decode(json))
            .collect::<Result<_, _>>()?;
        Ok((items, page.next))
    }

    /// Every matching record, page after page (pages of this query's [`Query::limit`],
    /// [`FETCH_ALL_PAGE`] when none is set), until the last page or once at least `max`
    /// records are read (the page that reaches `max` is kept whole).
    pub fn fetch_all<T: DeserializeOwned>(
        &self,
        collection: &str,
        max: usize,
    ) -> Result<Vec<T>, StoreError> {
        let page = if self.limit == 0 {
            FETCH_ALL_PAGE
        } else {
            self.limit
        };
        let mut out: Vec<T> = Vec::new();
        let mut cursor = self.cursor.clone();
        loop {
            let (items, next) = self
                .clone()
                .limit(page)
                .after(cursor.take())
                .fetch::<T>(collection)?;
            out.extend(items);
            match next {
                Some(next) if out.len() < max => cursor = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// The matching records that meet at least one of `criteria` (filter expressions
    /// using this query's params), most criteria met first, with how many each meets;
    /// `limit` of them at most.
    pub fn rank<T: DeserializeOwned>(
        &self,
        collection: &str,
        criteria: &[String],
    ) -> Result<Vec<(u32, T)>, StoreError> {
        let spec = host::QuerySpec {
            cursor: None,
            ..self.spec()
        };
        host::rank(collection, &spec, criteria)?
            .into_iter()
            .map(|s| Ok((s.score, decode(&s.item)?)))
            .collect()
    }

    /// The first matching record, if any.
    pub fn first<T: DeserializeOwned>(&self, collection: &str) -> Result<Option<T>, StoreError> {
        let (items, _) = self.clone().limit(1).fetch(collection)?;
        Ok(items.into_iter().next())
    }

    pub fn count(&self, collection: &str) -> Result<i64, StoreError> {
        host::count(collection, &self.filter, &self.params_json())
    }

    /// Counts (and sums `sum_field`) per value of `group_by`.
    pub fn aggregate(
        &self,
        collection: &str,
        group_by: Option<&str>,
        sum_field: Option<&str>,
    ) -> Result<Vec<Group>, StoreError> {
        Ok(host::aggregate(
            collection,
            &self.filter,
            &self.params_json(),
            group_by,
            sum_field,
        )?
        .into_iter()
        .map(|b: Bucket| Group {
            key: serde_json::from_str(&b.key).unwrap_or(serde_json::Value::Null),
            count: b.count,
            sum: b.sum,
        })
        .collect())
    }
}

/// An id in an event's JSON payload (a string, or a number) as text, trimmed; `None`
/// for an empty string or anything else. Modules read ids published by others with it.
pub fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_of_payloads_read_as_text() {
        use serde_json::json;
        assert_eq!(super::id_text(&json!("01J")).as_deref(), Some("01J"));
        assert_eq!(super::id_text(&json!(" 01J ")).as_deref(), Some("01J"));
        assert_eq!(super::id_text(&json!(42)).as_deref(), Some("42"));
        assert_eq!(super::id_text(&json!(null)), None);
        assert_eq!(super::id_text(&json!("  ")), None);
    }

    use super::*;

    #[test]
    fn validates_ids_and_references() {
        assert!(valid_id("0190ab-c_1.x") && valid_id("01J-x_1.b") && valid_id("0190abc-1"));
        assert!(!valid_id("a/b") && !valid_id("../x") && !valid_id(""));
        assert!(!valid_id(&"a".repeat(65)));
        assert!(valid_ref("42") && !valid_ref("u42") && !valid_ref(""));
        assert!(!valid_ref(&"1".repeat(21)));
    }
}
