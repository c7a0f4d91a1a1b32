//! Full-text search of one module's library (A.7): words folded by the host
//! (`storage::collections::fold`), each a word prefix of the title, the tags or the
//! Markdown text of the current version. SQLite matches with FTS5 (`library_fts`),
//! PostgreSQL with a `tsvector` and a GIN index; both see the same folded tokens. Title
//! and tag hits come first, then the most recent versions; pages by keyset cursor.

use sqlx::{AnyConnection, Row};

use super::read::{ENTRY_COLUMNS, ENTRY_JOINS, entry_from_row};
use super::{Caller, LibraryError, SearchPage, SearchSpec, backend_of, invalid};
use crate::storage::Backend;
use crate::storage::collections::fold;

/// Words a search ignores, unless nothing else remains (as one-letter words).
pub const STOP_WORDS: [&str; 16] = [
    "de", "des", "du", "la", "le", "les", "un", "une", "et", "en", "au", "aux", "pour", "par",
    "sur", "dans",
];
/// Most words a search keeps.
pub const MAX_SEARCH_WORDS: usize = 8;
/// Largest page of a search, and most tags listed.
pub const MAX_PAGE: u32 = 50;

/// The words of a search: folded, one-letter words and [`STOP_WORDS`] dropped unless
/// nothing else remains, duplicates merged, at most [`MAX_SEARCH_WORDS`].
pub fn search_words(text: &str) -> Vec<String> {
    let folded = fold(text);
    let all: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let meaningful: Vec<&str> = all
        .iter()
        .copied()
        .filter(|w| w.chars().count() > 1 && !STOP_WORDS.contains(w))
        .collect();
    let chosen = if meaningful.is_empty() {
        all
    } else {
        meaningful
    };
    let mut words: Vec<String> = Vec::new();
    for word in chosen {
        if words.len() == MAX_SEARCH_WORDS {
            break;
        }
        if !words.iter().any(|w| w == word) {
            words.push(word.to_string());
        }
    }
    words
}

/// Where a page ends: `{hit}.{updated_at}.{id}` of its last entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    hit: i64,
    updated_at: i64,
    id: i64,
}

fn parse_cursor(text: &str) -> Option<Cursor> {
    let mut parts = text.split('.');
    let hit = parts
        .next()?
        .parse::<i64>()
        .ok()
        .filter(|h| matches!(h, 0 | 1))?;
    let updated_at = parts.next()?.parse::<i64>().ok()?;
    let id = parts.next()?.parse::<i64>().ok().filter(|id| *id > 0)?;
    if parts.next().is_some() {
        return None;
    }
    Some(Cursor {
        hit,
        updated_at,
        id,
    })
}

/// A value bound to the statement being built.
enum Bind {
    Int(i64),
    Text(String),
}

/// A statement's parameters, numbered as they are added (`$1`, `$2`, …).
#[derive(Default)]
struct Binds(Vec<Bind>);

impl Binds {
    fn add(&mut self, value: Bind) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }
}

/// The FTS5 query: each word a quoted prefix, ANDed (folded words hold only letters,
/// digits and no quote).
fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `to_tsquery('simple', …)` text: each word a prefix, ANDed.
fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A page of the caller's module's entries (see [`SearchSpec`]): hidden entries only to
/// their owner, withdrawn ones only with `include_withdrawn`. `Invalid` for a limit out
/// of 1..=[`MAX_PAGE`] or a malformed cursor.
pub async fn search(
    conn: &mut AnyConnection,
    caller: &Caller,
    spec: &SearchSpec,
) -> Result<SearchPage, LibraryError> {
    if spec.limit == 0 || spec.limit > MAX_PAGE {
        return Err(invalid("Une page compte de 1 à 50 documents."));
    }
    let cursor = match spec.cursor.as_deref() {
        Some(text) => Some(parse_cursor(text).ok_or_else(|| invalid("Curseur de page invalide."))?),
        None => None,
    };
    let words = search_words(&spec.words);
    let backend = backend_of(conn);
    let mut binds = Binds::default();
    let module = binds.add(Bind::Text(caller.module_id.clone()));
    let viewer = binds.add(Bind::Int(caller.structure_id));
    let mut conditions: Vec<String> = Vec::new();
    let mut from = "library_entries e";
    // Title and tag hits: every word begins a word of `head_folded`.
    let hit = if words.is_empty() {
        "0".to_string()
    } else {
        let mut likes = Vec::with_capacity(words.len());
        for word in &words {
            let pattern = binds.add(Bind::Text(format!("% {word}%")));
            likes.push(format!("e.head_folded LIKE {pattern}"));
        }
        match backend {
            Backend::Sqlite => {
                let query = binds.add(Bind::Text(fts5_query(&words)));
                // Not aliased: MATCH names the table's hidden column.
                from = "library_fts JOIN library_entries e ON e.id = library_fts.rowid";
                conditions.push(format!("library_fts MATCH {query}"));
            }
            Backend::Postgres => {
                let query = binds.add(Bind::Text(tsquery(&words)));
                conditions.push(format!("e.search @@ to_tsquery('simple', {query})"));
            }
        }
        format!("CASE WHEN {} THEN 1 ELSE 0 END", likes.join(" AND "))
    };
    conditions.push(format!("e.module_id = {module}"));
    conditions.push(format!(
        "(e.hidden_at IS NULL OR e.owner_structure_id = {viewer})"
    ));
    if !spec.include_withdrawn {
        conditions.push("e.withdrawn_at IS NULL".into());
    }
    if spec.mine {
        conditions.push(format!("e.owner_structure_id = {viewer}"));
    }
    if let Some(tag) = spec.tag.as_deref().map(fold).filter(|t| !t.is_empty()) {
        let tag = binds.add(Bind::Text(tag));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM library_entry_tags t
                     WHERE t.module_id = {module} AND t.tag = {tag} AND t.entry_id = e.id)"
        ));
    }
    if let Some(c) = cursor {
        let hit_at = binds.add(Bind::Int(c.hit));
        let updated_at = binds.add(Bind::Int(c.updated_at));
        let id = binds.add(Bind::Int(c.id));
        conditions.push(format!(
            "({hit}, e.updated_at, e.id) < ({hit_at}, {updated_at}, {id})"
        ));
    }
    // Without words every hit is 0: no ORDER BY term for it (a bare 0 would name a
    // column position).
    let order = if words.is_empty() {
        "e.updated_at DESC, e.id DESC".to_string()
    } else {
        format!("{hit} DESC, e.updated_at DESC, e.id DESC")
    };
    let limit = binds.add(Bind::Int(i64::from(spec.limit) + 1));
    let sql = format!(
        "SELECT {ENTRY_COLUMNS}, {hit} AS hit FROM {from} {ENTRY_JOINS}
         WHERE {} ORDER BY {order} LIMIT {limit}",
        conditions.join(" AND ")
    );
    let mut query = sqlx::query(&sql);
    for bind in binds.0 {
        query = match bind {
            Bind::Int(v) => query.bind(v),
            Bind::Text(v) => query.bind(v),
        };
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let wanted = spec.limit as usize;
    let mut items = Vec::with_capacity(rows.len().min(wanted));
    let mut last = None;
    for row in rows.iter().take(wanted) {
        let entry = entry_from_row(row, caller.structure_id)?;
        let hit: i64 = row.try_get("hit")?;
        last = Some(format!("{hit}.{}.{}", entry.published_at, entry.id));
        items.push(entry);
    }
    let next = if rows.len() > wanted { last } else { None };
    Ok(SearchPage { items, next })
}

/// Writes the search row of an entry's current version (`head`: title and tags,
/// `body`: the Markdown text, both folded), on the publishing transaction. SQLite:
/// the FTS5 row (deleted first when `replacing`); PostgreSQL: the entry's `search`.
pub(super) async fn write_search_row(
    conn: &mut AnyConnection,
    entry_id: i64,
    head: &str,
    body: &str,
    replacing: bool,
) -> Result<(), sqlx::Error> {
    match backend_of(conn) {
        Backend::Sqlite => {
            if replacing {
                sqlx::query("DELETE FROM library_fts WHERE rowid = $1")
                    .bind(entry_id)
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query("INSERT INTO library_fts (rowid, head, body) VALUES ($1, $2, $3)")
                .bind(entry_id)
                .bind(head)
                .bind(body)
                .execute(&mut *conn)
                .await?;
        }
        Backend::Postgres => {
            sqlx::query(
                "UPDATE library_entries SET search = strip(to_tsvector('simple', $1))
                 WHERE id = $2",
            )
            .bind(format!("{head} {body}"))
            .bind(entry_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_filtered_and_bounded() {
        assert_eq!(search_words("Le DIABÈTE de type 2"), ["diabete", "type"]);
        assert_eq!(search_words("de la"), ["de", "la"]);
        assert_eq!(search_words("  "), Vec::<String>::new());
        assert_eq!(search_words("soins soins"), ["soins"]);
        let many = "un1 deux trois quatre cinq six sept huit neuf dix";
        assert_eq!(search_words(many).len(), MAX_SEARCH_WORDS);
    }

    #[test]
    fn queries_quote_each_word_as_a_prefix() {
        let words = vec!["diab".to_string(), "type".to_string()];
        assert_eq!(fts5_query(&words), "\"diab\"* \"type\"*");
        assert_eq!(tsquery(&words), "diab:* & type:*");
    }

    #[test]
    fn cursors_are_checked() {
        assert_eq!(
            parse_cursor("1.1700000000.42"),
            Some(Cursor {
                hit: 1,
                updated_at: 1_700_000_000,
                id: 42
            })
        );
        for bad in ["", "abc", "1.2", "2.1.1", "1.1.0", "1.1.1.1", "1.x.3"] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
