//! Record operations on a collection, always within one structure. Every statement is
//! built with sea-query: identifiers come from the validated schema, values are bound.

use sea_query::{
    Asterisk, Cond, Condition, Expr, ExprTrait, Func, LikeExpr, NullOrdering, Order,
    PostgresQueryBuilder, Query, QueryStatementWriter, SelectStatement, SqliteQueryBuilder, Value,
    Values,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::filter::{self, CmpOp, Operand};
use super::values::{Stored, fold, to_sql, valid_record_id};
use super::{Collection, FieldDef, FieldType, column, instant_column};
use crate::storage::{Backend, Result, StorageError, now_secs};

/// A query from a plugin (see `records.query` in the WIT).
#[derive(Debug, Clone, Default)]
pub struct QuerySpec {
    pub filter: String,
    pub params: String,
    pub search: Option<String>,
    pub sort: String,
    pub limit: u32,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<serde_json::Value>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub key: serde_json::Value,
    pub count: i64,
    pub sum: i64,
}

const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 50;
/// Most values bound in one statement (SQLite's limit is 32,766, PostgreSQL's 65,535).
const MAX_BOUND_VALUES: usize = 30_000;
/// Most fields a `select` may name.
const MAX_SELECTED: usize = 64;

fn build<S: QueryStatementWriter>(backend: Backend, statement: &S) -> (String, Values) {
    match backend {
        Backend::Sqlite => statement.build(SqliteQueryBuilder),
        Backend::Postgres => statement.build(PostgresQueryBuilder),
    }
}

/// Binds sea-query values to an sqlx query (we only ever build these kinds).
fn bound(
    sql: &str,
    values: Values,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    let mut query = sqlx::query(sql);
    for value in values.0 {
        query = match value {
            Value::Bool(v) => query.bind(v),
            Value::BigInt(v) => query.bind(v),
            Value::Int(v) => query.bind(v.map(i64::from)),
            Value::BigUnsigned(v) => query.bind(v.map(|v| v as i64)),
            Value::Unsigned(v) => query.bind(v.map(i64::from)),
            Value::String(v) => query.bind(v),
            Value::Double(v) => query.bind(v),
            other => unreachable!("collections never bind {other:?}"),
        };
    }
    query
}

fn conflict_or(error: sqlx::Error) -> StorageError {
    match &error {
        sqlx::Error::Database(d) if d.is_unique_violation() => StorageError::Conflict(
            "another record of this structure already has these unique values".into(),
        ),
        _ => error.into(),
    }
}

/// A column of the collection's table, qualified. A SQLite connection that has not seen
/// a schema change yet would read an unknown bare "name" as a string literal (and sqlx
/// would keep that statement's stale columns); a qualified name fails the prepare, which
/// makes SQLite reload the schema and retry.
fn qcol(table: &str, name: impl Into<String>) -> Expr {
    Expr::col((table.to_string(), name.into()))
}

fn invalid(message: impl Into<String>) -> StorageError {
    StorageError::Invalid(message.into())
}

/// The column a filter, sort or aggregate may use for a name, with the field's type
/// (`None` for the system fields, which are text `id` and integer timestamps).
fn queryable(collection: &Collection, name: &str) -> Result<(String, Option<FieldDef>)> {
    match name {
        "id" | "created_at" | "updated_at" => Ok((name.to_string(), None)),
        _ => {
            let field = collection.def.field(name).ok_or_else(|| {
                invalid(format!(
                    "collection {} has no field {name:?}",
                    collection.def.name
                ))
            })?;
            match field.kind {
                FieldType::Json => Err(invalid(format!("field {name} is JSON: not queryable"))),
                FieldType::Datetime => Ok((instant_column(name), Some(field.clone()))),
                _ => Ok((column(name), Some(field.clone()))),
            }
        }
    }
}

/// The SQL value of a filter operand for a column of this field.
fn operand_value(field: &Option<FieldDef>, name: &str, value: &serde_json::Value) -> Result<Value> {
    match field {
        None if name == "id" => match value {
            serde_json::Value::String(s) => Ok(Value::String(Some(s.clone()))),
            _ => Err(invalid("id: expected a string")),
        },
        None => value
            .as_i64()
            .map(|v| Value::BigInt(Some(v)))
            .ok_or_else(|| invalid(format!("{name}: expected Unix seconds"))),
        Some(f) => {
            let Stored { main, instant } = to_sql(f, value).map_err(StorageError::Invalid)?;
            Ok(instant.unwrap_or(main))
        }
    }
}

fn resolve<'a>(
    operand: &'a Operand,
    params: &'a serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value> {
    Ok(match operand {
        Operand::Text(s) => serde_json::Value::String(s.clone()),
        Operand::Integer(i) => serde_json::Value::from(*i),
        Operand::Bool(b) => serde_json::Value::Bool(*b),
        Operand::Null => serde_json::Value::Null,
        Operand::Param(name) => params
            .get(name)
            .cloned()
            .ok_or_else(|| invalid(format!("parameter {{:{name}}} is missing from params")))?,
        Operand::List(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| resolve(i, params))
                .collect::<Result<_>>()?,
        ),
    })
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn condition(
    backend: Backend,
    collection: &Collection,
    expr: &filter::Expr,
    params: &serde_json::Map<String, serde_json::Value>,
) -> Result<Condition> {
    Ok(match expr {
        filter::Expr::And(items) => items.iter().try_fold(Cond::all(), |c, e| {
            Ok::<_, StorageError>(c.add(condition(backend, collection, e, params)?))
        })?,
        filter::Expr::Or(items) => items.iter().try_fold(Cond::any(), |c, e| {
            Ok::<_, StorageError>(c.add(condition(backend, collection, e, params)?))
        })?,
        filter::Expr::Not(inner) => condition(backend, collection, inner, params)?.not(),
        filter::Expr::Cmp { field, op, value } => {
            let (col, def) = queryable(collection, field)?;
            let json = resolve(value, params)?;
            let c = qcol(&collection.table, col.clone());
            let expr = match op {
                CmpOp::Eq | CmpOp::Ne if json.is_null() => {
                    if *op == CmpOp::Eq {
                        c.is_null()
                    } else {
                        c.is_not_null()
                    }
                }
                CmpOp::In | CmpOp::NotIn => {
                    let items = json
                        .as_array()
                        .ok_or_else(|| invalid(format!("{field}: `in` needs a list")))?;
                    if items.len() > 1000 {
                        return Err(invalid(format!("{field}: at most 1000 values in a list")));
                    }
                    let values = items
                        .iter()
                        .map(|v| operand_value(&def, field, v))
                        .collect::<Result<Vec<_>>>()?;
                    if *op == CmpOp::In {
                        c.is_in(values)
                    } else {
                        c.is_not_in(values)
                    }
                }
                CmpOp::Contains | CmpOp::NotContains => {
                    let textual = def.as_ref().is_none_or(|f| f.kind.is_textual());
                    let text = json.as_str().filter(|_| textual).ok_or_else(|| {
                        invalid(format!("{field}: `~` compares text with a string"))
                    })?;
                    // SQLite's LIKE already ignores ASCII case (and its lower() knows
                    // nothing else): no per-row lower() there.
                    let column = match backend {
                        Backend::Sqlite => qcol(&collection.table, col),
                        Backend::Postgres => Expr::expr(Func::lower(qcol(&collection.table, col))),
                    };
                    let like =
                        column.like(LikeExpr::new(escape_like(&text.to_lowercase())).escape('\\'));
                    if *op == CmpOp::Contains {
                        like
                    } else {
                        like.not()
                    }
                }
                _ => {
                    let v = operand_value(&def, field, &json)?;
                    match op {
                        CmpOp::Eq => c.eq(v),
                        CmpOp::Ne => c.ne(v),
                        CmpOp::Lt => c.lt(v),
                        CmpOp::Le => c.lte(v),
                        CmpOp::Gt => c.gt(v),
                        _ => c.gte(v),
                    }
                }
            };
            Cond::all().add(expr)
        }
    })
}

fn parse_params(text: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    if text.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(invalid("params must be a JSON object")),
    }
}

/// The order of a `sort` text ("-a,b,-id"): its field keys, then the id, which makes
/// the order total (keyset pagination). The id is ascending unless the text names
/// "-id"; keys after an "id" cannot change the order (ids are unique) and are ignored.
struct SortOrder {
    keys: Vec<SortKey>,
    id_descending: bool,
}

fn sort_keys(collection: &Collection, sort: &str) -> Result<SortOrder> {
    let mut keys: Vec<SortKey> = Vec::new();
    let mut id_descending = false;
    for part in sort.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, descending) = match part.strip_prefix('-') {
            Some(n) => (n, true),
            None => (part.strip_prefix('+').unwrap_or(part), false),
        };
        if name == "id" {
            id_descending = descending;
            break;
        }
        let (col, def) = queryable(collection, name)?;
        keys.push((col, def, descending));
    }
    if keys.len() > 4 {
        return Err(invalid("sort on at most 4 fields"));
    }
    Ok(SortOrder {
        keys,
        id_descending,
    })
}

fn order_by_keys(select: &mut SelectStatement, table: &str, order: &SortOrder) {
    let direction = |descending: bool| if descending { Order::Desc } else { Order::Asc };
    for (col, def, descending) in &order.keys {
        let column = (table.to_string(), col.clone());
        match def {
            // System timestamps are never NULL: a plain ORDER BY, which SQLite serves
            // from an index in either direction.
            None => select.order_by(column, direction(*descending)),
            Some(_) => {
                select.order_by_with_nulls(column, direction(*descending), NullOrdering::Last)
            }
        };
    }
    select.order_by(
        (table.to_string(), "id".to_string()),
        direction(order.id_descending),
    );
}

/// Most criteria a `rank` may weigh.
const MAX_CRITERIA: usize = 16;

/// Structure scope + parsed filter + full-text words.
fn where_clause(
    backend: Backend,
    collection: &Collection,
    structure_id: i64,
    filter_text: &str,
    params_text: &str,
    search: Option<&str>,
) -> Result<Condition> {
    let mut cond =
        Cond::all().add(qcol(&collection.table, "structure_id".to_string()).eq(structure_id));
    let parsed = filter::parse(filter_text).map_err(|e| invalid(format!("filter {e}")))?;
    if let Some(expr) = parsed {
        cond = cond.add(condition(
            backend,
            collection,
            &expr,
            &parse_params(params_text)?,
        )?);
    }
    if let Some(words) = search.map(fold).filter(|w| !w.is_empty()) {
        if !collection.def.has_full_text() {
            return Err(invalid(format!(
                "collection {} has no full-text field",
                collection.def.name
            )));
        }
        for word in words.split(' ').take(16) {
            cond = cond.add(
                qcol(&collection.table, "search_text".to_string())
                    .like(LikeExpr::new(escape_like(word)).escape('\\')),
            );
        }
    }
    Ok(cond)
}

/// `RETURNING "c" AS "c", …`: the alias fixes the result's column names even if a
/// stale SQLite connection first prepares the statement against its old schema (it
/// re-prepares it at execution; sqlx keeps the names of the first prepare).
fn returning(collection: &Collection) -> sea_query::ReturningClause {
    sea_query::ReturningClause::Exprs(
        record_columns(collection)
            .into_iter()
            // Identifiers from the validated schema: [a-z0-9_] only.
            .map(|c| Expr::cust(format!("\"{c}\" AS \"{c}\"")))
            .collect(),
    )
}

/// The columns a record is read from.
fn record_columns(collection: &Collection) -> Vec<String> {
    let mut columns: Vec<String> = ["structure_id", "id", "created_at", "updated_at"]
        .into_iter()
        .map(str::to_string)
        .collect();
    for f in &collection.def.fields {
        columns.push(column(&f.name));
        if f.kind == FieldType::Datetime {
            columns.push(instant_column(&f.name));
        }
    }
    columns
}

/// Every column of the collection, named: never `*`, whose meaning a cached statement
/// would keep after a schema change.
fn select_all(collection: &Collection) -> SelectStatement {
    let mut select = Query::select();
    // Qualified and aliased: see `qcol` and `returning`.
    for name in record_columns(collection) {
        select.expr_as(qcol(&collection.table, name.clone()), name);
    }
    select.from(collection.table.clone()).to_owned()
}

/// Some columns of the collection (validated names), named and aliased like
/// [`select_all`].
fn select_columns(collection: &Collection, columns: &[String]) -> SelectStatement {
    let mut select = Query::select();
    for name in columns {
        select.expr_as(qcol(&collection.table, name.clone()), name.clone());
    }
    select.from(collection.table.clone()).to_owned()
}

/// How a column's value is read back into JSON.
#[derive(Clone, Copy)]
enum Decode {
    Integer,
    /// BOOLEAN on PostgreSQL, 0/1 on SQLite.
    Boolean,
    Text,
    Json,
}

impl Decode {
    fn of(kind: FieldType) -> Decode {
        match kind {
            FieldType::Integer | FieldType::Money => Decode::Integer,
            FieldType::Boolean => Decode::Boolean,
            FieldType::Json => Decode::Json,
            _ => Decode::Text,
        }
    }

    /// For a column a filter, sort or aggregate names (see `queryable`): system fields
    /// are text `id` and integer timestamps; a datetime's instant column is an integer.
    fn of_queryable(def: &Option<FieldDef>, col: &str) -> Decode {
        match def {
            None if col == "id" => Decode::Text,
            None => Decode::Integer,
            Some(f) if f.kind == FieldType::Datetime && col.ends_with("__at") => Decode::Integer,
            Some(f) => Decode::of(f.kind),
        }
    }
}

/// One column of a row as JSON; NULL is `null`.
fn decode(row: &AnyRow, col: &str, how: Decode) -> Result<serde_json::Value> {
    Ok(match how {
        Decode::Integer => row
            .try_get::<Option<i64>, _>(col)?
            .map(serde_json::Value::from),
        Decode::Boolean => match row.try_get::<Option<bool>, _>(col) {
            Ok(v) => v.map(serde_json::Value::Bool),
            Err(_) => row
                .try_get::<Option<i64>, _>(col)?
                .map(|v| serde_json::Value::Bool(v != 0)),
        },
        Decode::Json => row
            .try_get::<Option<String>, _>(col)?
            .map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)),
        Decode::Text => row
            .try_get::<Option<String>, _>(col)?
            .map(serde_json::Value::String),
    }
    .unwrap_or_default())
}

/// The stored row as the plugin sees it.
fn row_object(
    collection: &Collection,
    row: &AnyRow,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), decode(row, "id", Decode::Text)?);
    for name in ["created_at", "updated_at"] {
        object.insert(name.into(), decode(row, name, Decode::Integer)?);
    }
    for f in &collection.def.fields {
        object.insert(
            f.name.clone(),
            decode(row, &column(&f.name), Decode::of(f.kind))?,
        );
    }
    Ok(object)
}

/// Writes rows as the JSON text plugins receive, straight from each row: the same
/// object as [`row_object`] (keys in another order), without building a map of values
/// and printing it. The column names are worked out once per page.
struct RowText {
    /// `"name":` already quoted, the column, how to read it.
    columns: Vec<(String, String, Decode)>,
}

impl RowText {
    fn of(collection: &Collection) -> RowText {
        let key = |name: &str| format!("{}:", serde_json::Value::from(name));
        let mut columns = vec![(key("id"), "id".to_string(), Decode::Text)];
        for name in ["created_at", "updated_at"] {
            columns.push((key(name), name.to_string(), Decode::Integer));
        }
        for f in &collection.def.fields {
            columns.push((key(&f.name), column(&f.name), Decode::of(f.kind)));
        }
        RowText { columns }
    }

    /// "id" and the named fields only (declared ones, or "created_at", "updated_at").
    fn projected(collection: &Collection, fields: &[String]) -> Result<RowText> {
        if fields.is_empty() || fields.len() > MAX_SELECTED {
            return Err(invalid(format!(
                "select names 1 to {MAX_SELECTED} fields, got {}",
                fields.len()
            )));
        }
        let all = RowText::of(collection);
        let mut columns = vec![all.columns[0].clone()];
        for name in fields {
            let key = format!("{}:", serde_json::Value::from(name.as_str()));
            if columns.iter().any(|(k, _, _)| *k == key) {
                continue;
            }
            let Some(column) = all.columns.iter().find(|(k, _, _)| *k == key) else {
                return Err(invalid(format!(
                    "collection {} has no field {name:?}",
                    collection.def.name
                )));
            };
            columns.push(column.clone());
        }
        Ok(RowText { columns })
    }

    fn write(&self, row: &AnyRow) -> Result<String> {
        let mut out: Vec<u8> = Vec::with_capacity(64 * self.columns.len());
        out.push(b'{');
        for (n, (key, col, how)) in self.columns.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key.as_bytes());
            write_value(&mut out, row, col, *how)?;
        }
        out.push(b'}');
        String::from_utf8(out).map_err(|e| invalid(format!("a stored record is not UTF-8: {e}")))
    }
}

/// One value as [`decode`] reads it, printed as JSON.
fn write_value(out: &mut Vec<u8>, row: &AnyRow, col: &str, how: Decode) -> Result<()> {
    use std::io::Write as _;
    match how {
        Decode::Json => match row.try_get::<Option<String>, _>(col)? {
            // Written by the host from a JSON value: copied as it is once checked.
            Some(text) if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok() => {
                out.extend_from_slice(text.trim().as_bytes())
            }
            _ => out.extend_from_slice(b"null"),
        },
        Decode::Text => match row.try_get::<Option<String>, _>(col)? {
            Some(text) => serde_json::to_writer(&mut *out, &text)
                .map_err(|e| invalid(format!("printing {col}: {e}")))?,
            None => out.extend_from_slice(b"null"),
        },
        Decode::Integer | Decode::Boolean => match decode(row, col, how)? {
            serde_json::Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            serde_json::Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            _ => out.extend_from_slice(b"null"),
        },
    }
    Ok(())
}

fn row_json(collection: &Collection, row: &AnyRow) -> Result<serde_json::Value> {
    row_object(collection, row).map(serde_json::Value::Object)
}

fn parse_object(data: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    if data.len() > (1 << 20) {
        return Err(invalid("record larger than 1 MiB"));
    }
    match serde_json::from_str(data) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("a record is a JSON object")),
        Err(e) => Err(invalid(format!("record is not JSON: {e}"))),
    }
}

/// The columns and values of the fields present in `data`.
fn field_values(
    collection: &Collection,
    data: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (name, value) in data {
        if matches!(name.as_str(), "id" | "created_at" | "updated_at") {
            continue;
        }
        let field = collection.def.field(name).ok_or_else(|| {
            invalid(format!(
                "collection {} has no field {name:?}",
                collection.def.name
            ))
        })?;
        if field.required && value.is_null() {
            return Err(invalid(format!("{name} is required")));
        }
        let stored = to_sql(field, value).map_err(StorageError::Invalid)?;
        out.push((column(name), stored.main));
        if let Some(instant) = stored.instant {
            out.push((instant_column(name), instant));
        }
    }
    Ok(out)
}

/// Required fields and defaults, for a new record.
fn complete(
    collection: &Collection,
    data: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    for f in &collection.def.fields {
        if data.get(&f.name).is_none_or(|v| v.is_null()) {
            match &f.default {
                Some(default) => {
                    let value = serde_json::from_str(default)
                        .map_err(|e| invalid(format!("default of {}: {e}", f.name)))?;
                    data.insert(f.name.clone(), value);
                }
                None if f.required => return Err(invalid(format!("{} is required", f.name))),
                None => {}
            }
        }
    }
    Ok(())
}

fn search_text(
    collection: &Collection,
    data: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    collection.def.has_full_text().then(|| {
        collection
            .def
            .fields
            .iter()
            .filter(|f| f.full_text)
            .filter_map(|f| data.get(&f.name).and_then(|v| v.as_str()))
            .map(fold)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn new_record_id() -> String {
    let mut random = [0u8; 6];
    let _ = getrandom::getrandom(&mut random);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let tail: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{millis:011x}{tail}")
}

pub struct Records<'a> {
    pub backend: Backend,
    pub schema: &'a super::Schema,
    pub structure_id: i64,
}

/// A query's page size: 50 unless asked, at most 500.
fn page_limit(asked: u32) -> u32 {
    match asked {
        0 => DEFAULT_LIMIT,
        n => Ord::min(n, MAX_LIMIT),
    }
}

impl Records<'_> {
    fn spec_clause(&self, collection: &Collection, spec: &QuerySpec) -> Result<Condition> {
        where_clause(
            self.backend,
            collection,
            self.structure_id,
            &spec.filter,
            &spec.params,
            spec.search.as_deref(),
        )
    }

    /// Record references must point at a record of the same structure.
    async fn check_references(
        &self,
        conn: &mut AnyConnection,
        collection: &Collection,
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<()> {
        for f in collection
            .def
            .fields
            .iter()
            .filter(|f| f.kind == FieldType::RecordRef)
        {
            if let Some(id) = data.get(&f.name).and_then(|v| v.as_str()) {
                self.check_reference_set(conn, f, std::iter::once(id.to_string()).collect())
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn get(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        id: &str,
    ) -> Result<Option<serde_json::Value>> {
        let collection = self.schema.collection(collection)?;
        if !valid_record_id(id) {
            return Ok(None);
        }
        let (sql, values) = build(
            self.backend,
            select_all(collection)
                .and_where(
                    qcol(&collection.table, "structure_id".to_string()).eq(self.structure_id),
                )
                .and_where(qcol(&collection.table, "id".to_string()).eq(id)),
        );
        let row = bound(&sql, values).fetch_optional(conn).await?;
        row.map(|r| row_json(collection, &r)).transpose()
    }

    pub async fn insert(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        data: &str,
    ) -> Result<serde_json::Value> {
        let collection = self.schema.collection(collection)?;
        let mut data = parse_object(data)?;
        let id = match data.get("id") {
            Some(serde_json::Value::String(id)) if valid_record_id(id) => id.clone(),
            Some(_) => return Err(invalid("id: 1 to 64 letters, digits, '-', '_' or '.'")),
            None => new_record_id(),
        };
        complete(collection, &mut data)?;
        self.check_references(conn, collection, &data).await?;
        let insert = self.new_row(collection, id, &data)?;
        self.write_returning(conn, collection, insert).await
    }

    /// `INSERT` of a complete record (defaults applied), with its system columns.
    fn new_row(
        &self,
        collection: &Collection,
        id: String,
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<sea_query::InsertStatement> {
        let (columns, values) = self.row_values(collection, id, data)?;
        let mut insert = Query::insert();
        insert
            .into_table(collection.table.clone())
            .columns(columns)
            .values(values)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(insert)
    }

    /// The columns and values of a new, complete record, system columns first.
    fn row_values(
        &self,
        collection: &Collection,
        id: String,
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(Vec<String>, Vec<Expr>)> {
        let mut columns = vec![
            "structure_id".to_string(),
            "id".to_string(),
            "created_at".to_string(),
            "updated_at".to_string(),
            "search_text".to_string(),
        ];
        let now = now_secs();
        let mut values: Vec<Expr> = vec![
            Expr::val(self.structure_id),
            Expr::val(id),
            Expr::val(now),
            Expr::val(now),
            Expr::val(search_text(collection, data)),
        ];
        for (col, value) in field_values(collection, data)? {
            columns.push(col);
            values.push(Expr::val(value));
        }
        Ok((columns, values))
    }

    /// Creates records as [`Records::insert`] would, in as few statements as the bound
    /// parameters allow (one for up to 500 records of the same fields): all or none.
    /// Returns their ids in order.
    pub async fn insert_many(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        items: &[String],
    ) -> Result<Vec<String>> {
        let collection = self.schema.collection(collection)?;
        if items.len() > MAX_LIMIT as usize {
            return Err(invalid(format!(
                "insert-many takes at most {MAX_LIMIT} records, got {}",
                items.len()
            )));
        }
        let at = |n: usize, e: StorageError| match e {
            StorageError::Invalid(m) => invalid(format!("record {n}: {m}")),
            other => other,
        };
        let mut ids = Vec::with_capacity(items.len());
        // Rows of the same columns go into one statement (a record may omit fields).
        let mut groups: Vec<(Vec<String>, Vec<Vec<Expr>>)> = Vec::new();
        let mut references: Vec<(&FieldDef, std::collections::BTreeSet<String>)> = collection
            .def
            .fields
            .iter()
            .filter(|f| f.kind == FieldType::RecordRef && f.references.is_some())
            .map(|f| (f, std::collections::BTreeSet::new()))
            .collect();
        for (n, item) in items.iter().enumerate() {
            let mut data = parse_object(item).map_err(|e| at(n, e))?;
            let id = match data.get("id") {
                Some(serde_json::Value::String(id)) if valid_record_id(id) => id.clone(),
                Some(_) => {
                    return Err(invalid(format!(
                        "record {n}: id: 1 to 64 letters, digits, '-', '_' or '.'"
                    )));
                }
                None => new_record_id(),
            };
            complete(collection, &mut data).map_err(|e| at(n, e))?;
            for (field, wanted) in &mut references {
                if let Some(target) = data.get(&field.name).and_then(|v| v.as_str()) {
                    wanted.insert(target.to_string());
                }
            }
            let (columns, values) = self
                .row_values(collection, id.clone(), &data)
                .map_err(|e| at(n, e))?;
            ids.push(id);
            match groups.iter_mut().find(|(c, _)| *c == columns) {
                Some((_, rows)) => rows.push(values),
                None => groups.push((columns, vec![values])),
            }
        }
        for (field, wanted) in references {
            self.check_reference_set(conn, field, wanted).await?;
        }
        let mut statements = Vec::new();
        for (columns, rows) in groups {
            let per_statement = Ord::max(1, MAX_BOUND_VALUES / columns.len());
            for chunk in rows.chunks(per_statement) {
                let mut insert = Query::insert();
                insert
                    .into_table(collection.table.clone())
                    .columns(columns.clone());
                for values in chunk {
                    insert
                        .values(values.clone())
                        .map_err(|e| invalid(e.to_string()))?;
                }
                statements.push(build(self.backend, &insert));
            }
        }
        // One statement is atomic by itself; several share a savepoint, so that a
        // conflict in the second leaves none of the first (and PostgreSQL's
        // transaction usable).
        let savepoint = statements.len() > 1;
        if savepoint {
            sqlx::query("SAVEPOINT insert_many")
                .execute(&mut *conn)
                .await?;
        }
        for (sql, values) in statements {
            if let Err(e) = bound(&sql, values).execute(&mut *conn).await {
                if savepoint {
                    sqlx::query("ROLLBACK TO SAVEPOINT insert_many")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("RELEASE SAVEPOINT insert_many")
                        .execute(&mut *conn)
                        .await?;
                }
                return Err(conflict_or(e));
            }
        }
        if savepoint {
            sqlx::query("RELEASE SAVEPOINT insert_many")
                .execute(&mut *conn)
                .await?;
        }
        Ok(ids)
    }

    /// Every id in `wanted` is a record of the field's target collection in this
    /// structure: one query per 500 ids.
    async fn check_reference_set(
        &self,
        conn: &mut AnyConnection,
        field: &FieldDef,
        wanted: std::collections::BTreeSet<String>,
    ) -> Result<()> {
        let Some(target) = &field.references else {
            return Ok(());
        };
        let target = self.schema.collection(target)?;
        let wanted: Vec<String> = wanted.into_iter().collect();
        for chunk in wanted.chunks(MAX_LIMIT as usize) {
            let (sql, values) = build(
                self.backend,
                Query::select()
                    .expr_as(qcol(&target.table, "id".to_string()), "id")
                    .from(target.table.clone())
                    .and_where(
                        qcol(&target.table, "structure_id".to_string()).eq(self.structure_id),
                    )
                    .and_where(qcol(&target.table, "id".to_string()).is_in(chunk.iter().cloned())),
            );
            let found: std::collections::HashSet<String> = bound(&sql, values)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<std::result::Result<_, _>>()?;
            if let Some(missing) = chunk.iter().find(|id| !found.contains(*id)) {
                return Err(StorageError::Conflict(format!(
                    "{}: no record {missing:?} in {}",
                    field.name, target.def.name
                )));
            }
        }
        Ok(())
    }

    /// Runs an `INSERT`; the stored record comes back in the same round trip.
    async fn write_returning(
        &self,
        conn: &mut AnyConnection,
        collection: &Collection,
        mut insert: sea_query::InsertStatement,
    ) -> Result<serde_json::Value> {
        insert.returning(returning(collection));
        let (sql, values) = build(self.backend, &insert);
        let row = bound(&sql, values)
            .fetch_one(&mut *conn)
            .await
            .map_err(conflict_or)?;
        row_json(collection, &row)
    }

    pub async fn update(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        id: &str,
        patch: &str,
    ) -> Result<Option<serde_json::Value>> {
        let Some(current) = self.get(conn, collection, id).await? else {
            return Ok(None);
        };
        let collection = self.schema.collection(collection)?;
        let patch = parse_object(patch)?;
        if patch.get("id").is_some_and(|v| v.as_str() != Some(id)) {
            return Err(invalid("the id of a record cannot change"));
        }
        let mut merged = current.as_object().cloned().unwrap_or_default();
        for (k, v) in &patch {
            merged.insert(k.clone(), v.clone());
        }
        self.check_references(conn, collection, &patch).await?;
        let mut update = Query::update();
        update
            .table(collection.table.clone())
            .value("updated_at".to_string(), now_secs())
            .value("search_text".to_string(), search_text(collection, &merged))
            .and_where(qcol(&collection.table, "structure_id".to_string()).eq(self.structure_id))
            .and_where(qcol(&collection.table, "id".to_string()).eq(id));
        for (col, value) in field_values(collection, &patch)? {
            update.value(col, value);
        }
        update.returning(returning(collection));
        let (sql, values) = build(self.backend, &update);
        let row = bound(&sql, values)
            .fetch_optional(&mut *conn)
            .await
            .map_err(conflict_or)?;
        row.map(|r| row_json(collection, &r)).transpose()
    }

    pub async fn upsert(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        key_fields: &[String],
        data: &str,
    ) -> Result<serde_json::Value> {
        let coll = self.schema.collection(collection)?;
        let mut sorted = key_fields.to_vec();
        sorted.sort();
        let declared = coll.def.indexes.iter().any(|i| {
            let mut fields = i.fields.clone();
            fields.sort();
            i.unique && fields == sorted
        });
        if !declared {
            return Err(invalid(format!(
                "upsert needs a unique key declared on ({})",
                key_fields.join(", ")
            )));
        }
        let object = parse_object(data)?;
        let mut key_values = Vec::with_capacity(key_fields.len());
        for name in key_fields {
            let value = object
                .get(name)
                .filter(|v| !v.is_null())
                .ok_or_else(|| invalid(format!("upsert: key field {name} is missing")))?;
            key_values.push((name, value));
        }
        if !coll.def.has_full_text() && !object.contains_key("id") {
            return self.upsert_in_one(conn, coll, key_fields, object).await;
        }
        let mut key =
            Cond::all().add(qcol(&coll.table, "structure_id".to_string()).eq(self.structure_id));
        for (name, value) in key_values {
            let field = coll.def.field(name).expect("declared in an index");
            let stored = to_sql(field, value).map_err(StorageError::Invalid)?;
            key = key.add(qcol(&coll.table, column(name)).eq(stored.main));
        }
        let (sql, values) = build(
            self.backend,
            Query::select()
                .column((coll.table.clone(), "id".to_string()))
                .from(coll.table.clone())
                .cond_where(key),
        );
        let existing: Option<String> = bound(&sql, values)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.get(0));
        match existing {
            Some(id) => {
                let mut patch = object;
                patch.remove("id");
                let patch = serde_json::Value::Object(patch).to_string();
                self.update(conn, collection, &id, &patch)
                    .await?
                    .ok_or_else(|| invalid("record vanished during upsert"))
            }
            None => self.insert(conn, collection, data).await,
        }
    }

    /// `INSERT … ON CONFLICT (structure_id, key) DO UPDATE … RETURNING`: one statement,
    /// whose plan is the unique index by definition (a lookup planned on stale
    /// statistics could scan while an import fills the table). The update sets only
    /// the fields given (defaults apply to an insert alone). Not for collections with
    /// full-text fields, whose search text needs the merged record. The caller checked
    /// that the key fields are given.
    async fn upsert_in_one(
        &self,
        conn: &mut AnyConnection,
        coll: &Collection,
        key_fields: &[String],
        given: serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let mut data = given.clone();
        complete(coll, &mut data)?;
        self.check_references(conn, coll, &data).await?;
        let mut insert = self.new_row(coll, new_record_id(), &data)?;
        let mut updated: Vec<String> = vec!["updated_at".to_string()];
        for (col, _) in field_values(coll, &given)? {
            updated.push(col);
        }
        let mut target: Vec<String> = vec!["structure_id".to_string()];
        target.extend(key_fields.iter().map(|f| super::index_column(&coll.def, f)));
        insert.on_conflict(
            sea_query::OnConflict::columns(target)
                .update_columns(updated)
                .to_owned(),
        );
        self.write_returning(conn, coll, insert).await
    }

    pub async fn delete(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        id: &str,
    ) -> Result<bool> {
        let collection = self.schema.collection(collection)?;
        let (sql, values) = build(
            self.backend,
            Query::delete()
                .from_table(collection.table.clone())
                .and_where(
                    qcol(&collection.table, "structure_id".to_string()).eq(self.structure_id),
                )
                .and_where(qcol(&collection.table, "id".to_string()).eq(id)),
        );
        Ok(bound(&sql, values).execute(conn).await?.rows_affected() > 0)
    }

    pub async fn query(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        spec: &QuerySpec,
    ) -> Result<Page> {
        let collection = self.schema.collection(collection)?;
        let (rows, next) = self.query_rows(conn, collection, spec, None).await?;
        Ok(Page {
            items: rows
                .iter()
                .map(|r| row_json(collection, r))
                .collect::<Result<_>>()?,
            next,
        })
    }

    /// [`Records::query`] with each record as the JSON text a plugin receives.
    pub async fn query_text(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        spec: &QuerySpec,
    ) -> Result<(Vec<String>, Option<String>)> {
        let collection = self.schema.collection(collection)?;
        let (rows, next) = self.query_rows(conn, collection, spec, None).await?;
        let writer = RowText::of(collection);
        let items = rows
            .iter()
            .map(|r| writer.write(r))
            .collect::<Result<_>>()?;
        Ok((items, next))
    }

    /// [`Records::query_text`] with only `fields` (and "id") in each record: the
    /// database reads and sends only those columns (`records.select`).
    pub async fn select_text(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        spec: &QuerySpec,
        fields: &[String],
    ) -> Result<(Vec<String>, Option<String>)> {
        let collection = self.schema.collection(collection)?;
        let writer = RowText::projected(collection, fields)?;
        // The sort keys are read too: the next page's cursor is made of them.
        let mut columns: Vec<String> = writer.columns.iter().map(|(_, c, _)| c.clone()).collect();
        for (col, _, _) in sort_keys(collection, &spec.sort)?.keys {
            if !columns.contains(&col) {
                columns.push(col);
            }
        }
        let (rows, next) = self
            .query_rows(conn, collection, spec, Some(&columns))
            .await?;
        let items = rows
            .iter()
            .map(|r| writer.write(r))
            .collect::<Result<_>>()?;
        Ok((items, next))
    }

    /// The page's rows (every column, or those named) and the cursor of the next one.
    async fn query_rows(
        &self,
        conn: &mut AnyConnection,
        collection: &Collection,
        spec: &QuerySpec,
        columns: Option<&[String]>,
    ) -> Result<(Vec<AnyRow>, Option<String>)> {
        let cond = self.spec_clause(collection, spec)?;
        let limit = page_limit(spec.limit);
        let order = sort_keys(collection, &spec.sort)?;
        let mut select = match columns {
            Some(columns) => select_columns(collection, columns),
            None => select_all(collection),
        };
        select.cond_where(cond);
        if let Some(cursor) = &spec.cursor {
            select.cond_where(after_cursor(&collection.table, &order, cursor, &spec.sort)?);
        }
        order_by_keys(&mut select, &collection.table, &order);
        select.limit(u64::from(limit) + 1);
        let (sql, values) = build(self.backend, &select);
        let mut rows = bound(&sql, values).fetch_all(conn).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = match (more, rows.last()) {
            (true, Some(last)) => Some(cursor_of(&order.keys, last, &spec.sort)?),
            _ => None,
        };
        Ok((rows, next))
    }

    /// The records matching `spec` and at least one of `criteria`, most criteria met
    /// first (see `records.rank`): the score is a sum of `CASE WHEN criterion THEN 1
    /// ELSE 0 END`, computed by the database so that only the page crosses the boundary.
    pub async fn rank(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        spec: &QuerySpec,
        criteria: &[String],
    ) -> Result<Vec<(u32, serde_json::Value)>> {
        let collection = self.schema.collection(collection)?;
        if spec.cursor.is_some() {
            return Err(invalid("rank does not page: no cursor"));
        }
        if criteria.len() > MAX_CRITERIA {
            return Err(invalid(format!("rank on at most {MAX_CRITERIA} criteria")));
        }
        let cond = self.spec_clause(collection, spec)?;
        let params = parse_params(&spec.params)?;
        let mut score: Option<Expr> = None;
        for text in criteria {
            let parsed = filter::parse(text).map_err(|e| invalid(format!("criterion {e}")))?;
            let Some(expr) = parsed else {
                return Err(invalid("a criterion cannot be empty"));
            };
            let case: Expr = Expr::case(
                condition(self.backend, collection, &expr, &params)?,
                Expr::val(1),
            )
            .finally(Expr::val(0))
            .into();
            score = Some(match score {
                Some(sum) => sum.add(case),
                None => case,
            });
        }
        let limit = page_limit(spec.limit);
        let order = sort_keys(collection, &spec.sort)?;
        // First the ids and scores alone: an index holding the criteria's columns
        // covers this scan, the table is not read. Rows meeting no criterion sort
        // last and are dropped here, which keeps the score computed once per row.
        let mut select = Query::select();
        select
            .expr_as(qcol(&collection.table, "id".to_string()), "id".to_string())
            .expr_as(score.unwrap_or_else(|| Expr::val(0)), "m_score".to_string())
            .from(collection.table.clone())
            .cond_where(cond)
            .order_by_expr(Expr::cust("\"m_score\""), Order::Desc);
        order_by_keys(&mut select, &collection.table, &order);
        select.limit(u64::from(limit));
        let (sql, values) = build(self.backend, &select);
        let mut ranked: Vec<(String, u32)> = Vec::new();
        // Not kept prepared: PostgreSQL then plans it with the values at hand, where a
        // cached generic plan scans a large territory about a third slower.
        let scored = bound(&sql, values).persistent(false);
        for row in scored.fetch_all(&mut *conn).await? {
            let score: i64 = row.try_get("m_score")?;
            if score > 0 {
                ranked.push((row.try_get("id")?, u32::try_from(score).unwrap_or(0)));
            }
        }
        if ranked.is_empty() {
            return Ok(Vec::new());
        }
        // Then the records of that page.
        let (sql, values) = build(
            self.backend,
            select_all(collection)
                .and_where(
                    qcol(&collection.table, "structure_id".to_string()).eq(self.structure_id),
                )
                .and_where(
                    qcol(&collection.table, "id".to_string())
                        .is_in(ranked.iter().map(|(id, _)| id.clone())),
                ),
        );
        let mut rows: std::collections::HashMap<String, serde_json::Value> =
            std::collections::HashMap::new();
        for row in bound(&sql, values).fetch_all(&mut *conn).await? {
            let id: String = row.try_get("id")?;
            rows.insert(id, row_json(collection, &row)?);
        }
        Ok(ranked
            .into_iter()
            .filter_map(|(id, score)| rows.remove(&id).map(|r| (score, r)))
            .collect())
    }

    pub async fn count(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        filter: &str,
        params: &str,
    ) -> Result<i64> {
        let collection = self.schema.collection(collection)?;
        let cond = where_clause(
            self.backend,
            collection,
            self.structure_id,
            filter,
            params,
            None,
        )?;
        let (sql, values) = build(
            self.backend,
            Query::select()
                .expr(Expr::col(Asterisk).count())
                .from(collection.table.clone())
                .cond_where(cond),
        );
        Ok(bound(&sql, values).fetch_one(conn).await?.try_get(0)?)
    }

    pub async fn aggregate(
        &self,
        conn: &mut AnyConnection,
        collection: &str,
        filter: &str,
        params: &str,
        group_by: Option<&str>,
        sum_field: Option<&str>,
    ) -> Result<Vec<Bucket>> {
        let collection = self.schema.collection(collection)?;
        let cond = where_clause(
            self.backend,
            collection,
            self.structure_id,
            filter,
            params,
            None,
        )?;
        let mut select = Query::select();
        select.from(collection.table.clone()).cond_where(cond);
        let group = match group_by {
            Some(name) => {
                let (_, def) = queryable(collection, name)?;
                // Group a datetime by its written value, other fields by their column.
                let col = if name == "id" || def.is_none() {
                    name.to_string()
                } else {
                    column(name)
                };
                Some((col, def))
            }
            None => None,
        };
        match &group {
            Some((col, _)) => select.expr_as(
                qcol(&collection.table, col.clone()),
                "bucket_key".to_string(),
            ),
            None => select.expr_as(Expr::val(Option::<String>::None), "bucket_key".to_string()),
        };
        select.expr_as(Expr::col(Asterisk).count(), "bucket_count".to_string());
        match sum_field {
            Some(name) => {
                let (col, def) = queryable(collection, name)?;
                if !def
                    .as_ref()
                    .is_some_and(|f| matches!(f.kind, FieldType::Integer | FieldType::Money))
                {
                    return Err(invalid(format!(
                        "{name}: only integer and money fields sum"
                    )));
                }
                select.expr_as(
                    // SUM of BIGINT is NUMERIC on PostgreSQL, which sqlx's Any cannot read.
                    Func::cast_as(
                        Func::coalesce([
                            Expr::from(Func::sum(qcol(&collection.table, col))),
                            Expr::val(0i64),
                        ]),
                        "BIGINT".to_string(),
                    ),
                    "bucket_sum".to_string(),
                )
            }
            None => select.expr_as(Expr::val(0i64), "bucket_sum".to_string()),
        };
        if let Some((col, _)) = &group {
            select
                .group_by_col((collection.table.clone(), col.clone()))
                .order_by_with_nulls(
                    (collection.table.clone(), col.clone()),
                    Order::Asc,
                    NullOrdering::Last,
                )
                .limit(1000);
        }
        let (sql, values) = build(self.backend, &select);
        let rows = bound(&sql, values).fetch_all(conn).await?;
        rows.iter()
            .map(|row| {
                let key = match &group {
                    None => serde_json::Value::Null,
                    Some((col, def)) => decode(row, "bucket_key", Decode::of_queryable(def, col))?,
                };
                Ok(Bucket {
                    key,
                    count: row.try_get("bucket_count")?,
                    sum: row.try_get("bucket_sum")?,
                })
            })
            .collect()
    }
}

/// A sort key: its column, its field (none for system fields), descending or not.
type SortKey = (String, Option<FieldDef>, bool);

fn cursor_of(keys: &[SortKey], row: &AnyRow, sort: &str) -> Result<String> {
    let mut values = Vec::new();
    for (col, def, _) in keys {
        values.push(decode(row, col, Decode::of_queryable(def, col))?);
    }
    values.push(serde_json::Value::String(row.try_get("id")?));
    let token = serde_json::json!({ "sort": sort, "after": values }).to_string();
    Ok(token.bytes().map(|b| format!("{b:02x}")).collect())
}

fn sql_of(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Bool(b) => Value::Bool(Some(*b)),
        serde_json::Value::Number(n) => Value::BigInt(n.as_i64()),
        serde_json::Value::String(s) => Value::String(Some(s.clone())),
        _ => Value::String(None),
    }
}

/// Rows strictly after the cursor's row in the (keys…, id) order, NULLs last.
fn after_cursor(table: &str, order: &SortOrder, cursor: &str, sort: &str) -> Result<Condition> {
    let keys = &order.keys;
    let bad = || invalid("cursor is not one this query returned");
    if !cursor.len().is_multiple_of(2) || cursor.len() > 8192 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16))
        .collect::<std::result::Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let token: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if token["sort"].as_str() != Some(sort) {
        return Err(invalid("cursor belongs to another sort order"));
    }
    let after = token["after"].as_array().ok_or_else(bad)?;
    if after.len() != keys.len() + 1 {
        return Err(bad());
    }
    let id = after[keys.len()].as_str().ok_or_else(bad)?;
    let mut any = Cond::any();
    for i in 0..=keys.len() {
        let mut all = Cond::all();
        for (j, (col, _, _)) in keys.iter().enumerate().take(i) {
            all = all.add(match &after[j] {
                serde_json::Value::Null => qcol(table, col.clone()).is_null(),
                v => qcol(table, col.clone()).eq(sql_of(v)),
            });
        }
        if i == keys.len() {
            let column = qcol(table, "id".to_string());
            all = all.add(if order.id_descending {
                column.lt(id)
            } else {
                column.gt(id)
            });
        } else {
            let (col, _, descending) = &keys[i];
            match &after[i] {
                // Among NULLs (last), only the next keys can order rows.
                serde_json::Value::Null => continue,
                v => {
                    let beyond = if *descending {
                        qcol(table, col.clone()).lt(sql_of(v))
                    } else {
                        qcol(table, col.clone()).gt(sql_of(v))
                    };
                    all = all.add(
                        Cond::any()
                            .add(beyond)
                            .add(qcol(table, col.clone()).is_null()),
                    );
                }
            }
        }
        any = any.add(all);
    }
    Ok(any)
}

/// Existing rows get a new field's default.
pub(super) async fn backfill_default(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    table: &str,
    field: &FieldDef,
    default: &str,
) -> Result<()> {
    let value: serde_json::Value =
        serde_json::from_str(default).map_err(|e| invalid(e.to_string()))?;
    let stored = to_sql(field, &value).map_err(StorageError::Invalid)?;
    let mut update = Query::update();
    update
        .table(table.to_string())
        .value(column(&field.name), stored.main);
    if let Some(instant) = stored.instant {
        update.value(instant_column(&field.name), instant);
    }
    let (sql, values) = build(backend, &update);
    bound(&sql, values).execute(&mut **tx).await?;
    Ok(())
}

/// Recomputes `search_text` of every row (after the full-text fields changed).
pub(super) async fn reindex_search(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    collection: &Collection,
) -> Result<()> {
    let (sql, values) = build(backend, &select_all(collection));
    let rows = bound(&sql, values).fetch_all(&mut **tx).await?;
    for row in rows {
        let object = row_object(collection, &row)?;
        let (sql, values) = build(
            backend,
            Query::update()
                .table(collection.table.clone())
                .value("search_text".to_string(), search_text(collection, &object))
                .and_where(
                    qcol(&collection.table, "structure_id".to_string())
                        .eq(row.try_get::<i64, _>("structure_id")?),
                )
                .and_where(
                    qcol(&collection.table, "id".to_string()).eq(row.try_get::<String, _>("id")?),
                ),
        );
        bound(&sql, values).execute(&mut **tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("50%_a\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn ids_are_unique_and_url_safe() {
        let a = new_record_id();
        let b = new_record_id();
        assert_ne!(a, b);
        assert!(valid_record_id(&a));
    }
}
