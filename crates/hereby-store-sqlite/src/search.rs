//! Search on SQLite: FTS5 over `search_entries`, words by their stem (`search_words`) and
//! three-letter pieces for substrings (`search_grams`); visibility and filters in the same
//! statement, before ranking and the limit.

use hereby_core::search::{EntryKind, Query, Word};
use hereby_core::types::{IncidentNumber, Severity, Status, Visibility};
use hereby_store::search::{
    MATCH_END, MATCH_START, substring_snippet, substrings, substrings_searchable,
};
use hereby_store::{SearchHit, SearchRequest, SearchResults, StoreError};
use jiff::Timestamp;
use sqlx::{QueryBuilder, Row as _, Sqlite};

use crate::{SqliteStore, db};

/// An FTS5 expression for the words of `query` in the stemmed index: each word, prefix or
/// phrase quoted (the words hold only letters and digits), all of them required, the excluded
/// ones taken away.
fn words_expression(query: &Query) -> Option<String> {
    let quoted = |word: &Word| match word {
        Word::Plain(word) => format!("\"{word}\""),
        Word::Prefix(word) => format!("\"{word}\"*"),
        Word::Phrase(words) => format!("\"{}\"", words.join(" ")),
    };
    if query.words.is_empty() {
        return None;
    }
    let mut expression = format!(
        "({})",
        query
            .words
            .iter()
            .map(quoted)
            .collect::<Vec<_>>()
            .join(" AND ")
    );
    for excluded in &query.excluded {
        expression = format!("({expression} NOT {})", quoted(excluded));
    }
    Some(expression)
}

/// The same in the index of three-letter pieces: each word found anywhere inside a word.
fn grams_expression(query: &Query) -> Option<String> {
    if !substrings_searchable(query) {
        return None;
    }
    let mut expression = format!(
        "({})",
        substrings(query)
            .iter()
            .map(|word| format!("\"{word}\""))
            .collect::<Vec<_>>()
            .join(" AND ")
    );
    for excluded in &query.excluded {
        let text = match excluded {
            Word::Plain(word) | Word::Prefix(word) => word.clone(),
            Word::Phrase(words) => words.join(" "),
        };
        if text.chars().count() >= 3 {
            expression = format!("({expression} NOT \"{text}\")");
        }
    }
    Some(expression)
}

/// How much more a match in a kind of text counts than one in a note: the title most.
const WEIGHTS: &str = "CASE e.kind WHEN 'incident' THEN 4.0 WHEN 'postmortem' THEN 1.5 \
                       WHEN 'update' THEN 1.2 ELSE 1.0 END";

impl hereby_store::Search for SqliteStore {
    async fn search(&self, request: &SearchRequest<'_>) -> Result<SearchResults, StoreError> {
        let query = request.query;
        let words = words_expression(query);
        let grams = grams_expression(query);
        let mut sql = QueryBuilder::<Sqlite>::new("WITH matched AS (");
        match (&words, query.has_text()) {
            (Some(words), _) => {
                // Tier 0: stemmed words, ranked by BM25 (smaller is better); tier 1: entries
                // only the substring index finds, after every tier-0 match.
                sql.push("SELECT rowid AS id, bm25(search_words) AS score, 0 AS tier FROM search_words WHERE search_words MATCH ")
                    .push_bind(words.clone());
                if let Some(grams) = &grams {
                    sql.push(" UNION ALL SELECT rowid, bm25(search_grams), 1 FROM search_grams WHERE search_grams MATCH ")
                        .push_bind(grams.clone())
                        .push(" AND rowid NOT IN (SELECT rowid FROM search_words WHERE search_words MATCH ")
                        .push_bind(words.clone())
                        .push(")");
                }
            }
            // Incident numbers alone, or filters alone: the incidents' own entries.
            _ => {
                sql.push("SELECT id, 0.0 AS score, 0 AS tier FROM search_entries WHERE kind = 'incident' AND position IS NULL");
            }
        }
        sql.push(
            "), ranked AS (SELECT e.id, e.incident, e.kind, e.at, e.text, m.tier, \
                  m.tier * 1000000000.0 + m.score * ",
        )
        .push(WEIGHTS)
        .push(" AS score, row_number() OVER (PARTITION BY e.incident ORDER BY m.tier, m.score * ")
        .push(WEIGHTS)
        .push(
            ", e.id DESC) AS nth, i.title, i.status, i.severity, i.visibility, i.declared_at \
                   FROM matched m JOIN search_entries e ON e.id = m.id \
                   JOIN incidents i ON i.number = e.incident WHERE 1 = 1",
        );
        filters(&mut sql, request);
        sql.push(") SELECT *, count(*) OVER () AS total FROM ranked WHERE nth = 1 ORDER BY ");
        if query.words.is_empty() {
            sql.push("incident DESC");
        } else {
            sql.push("score, incident DESC");
        }
        sql.push(" LIMIT ")
            .push_bind(i64::from(request.limit.min(200)))
            .push(" OFFSET ")
            .push_bind(i64::from(request.offset));
        let rows = sql.build().fetch_all(&self.readers).await.map_err(db)?;
        let mut total = 0;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            total = row.try_get::<i64, _>("total").map_err(db)?;
            found.push(Found {
                id: row.try_get("id").map_err(db)?,
                tier: row.try_get("tier").map_err(db)?,
                text: row.try_get("text").map_err(db)?,
                hit: hit(row)?,
            });
        }
        let snippets = snippets(self, &found, words.as_deref(), grams.as_deref()).await?;
        let substrings = substrings(query);
        let hits = found
            .into_iter()
            .map(|found| {
                let mut hit = found.hit;
                hit.snippet = snippets
                    .iter()
                    .find(|(id, _)| *id == found.id)
                    .map(|(_, snippet)| snippet.clone())
                    .unwrap_or_else(|| substring_snippet(&found.text, &substrings));
                hit
            })
            .collect();
        Ok(SearchResults {
            hits,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}

/// A row found, before its snippet is cut.
struct Found {
    id: i64,
    tier: i64,
    text: String,
    hit: SearchHit,
}

/// The structured filters and visibility, on `i` (the incident) and `e` (the entry).
fn filters(sql: &mut QueryBuilder<Sqlite>, request: &SearchRequest<'_>) {
    let query = request.query;
    if let Some(person) = request.visible_to {
        sql.push(" AND (i.visibility <> ")
            .push_bind(Visibility::Restricted.as_str())
            .push(" OR EXISTS (SELECT 1 FROM incident_members im WHERE im.incident = i.number AND im.person = ")
            .push_bind(person.to_owned())
            .push("))");
    }
    let mut any_of = |column: &str, values: Vec<String>| {
        if values.is_empty() {
            return;
        }
        sql.push(format!(" AND {column} IN ("));
        let mut list = sql.separated(", ");
        for value in values {
            list.push_bind(value);
        }
        sql.push(")");
    };
    any_of(
        "i.status",
        query
            .statuses
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
    );
    any_of(
        "i.severity",
        query
            .severities
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
    );
    any_of(
        "e.kind",
        query.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
    );
    if !query.incidents.is_empty() {
        sql.push(" AND i.number IN (");
        let mut list = sql.separated(", ");
        for number in &query.incidents {
            list.push_bind(i64::try_from(number.0).unwrap_or(i64::MAX));
        }
        sql.push(")");
    }
    for service in &query.services {
        sql.push(" AND EXISTS (SELECT 1 FROM json_each(i.services) WHERE lower(value) = lower(")
            .push_bind(service.clone())
            .push("))");
    }
    if let Some(person) = &query.person {
        sql.push(" AND (i.commander = ")
            .push_bind(person.clone())
            .push(" OR EXISTS (SELECT 1 FROM incident_members pm WHERE pm.incident = i.number AND pm.person = ")
            .push_bind(person.clone())
            .push("))");
    }
    if let Some(since) = query.since {
        sql.push(" AND i.declared_at >= ")
            .push_bind(since.as_microsecond());
    }
    if let Some(until) = query.until {
        sql.push(" AND i.declared_at < ")
            .push_bind(until.as_microsecond());
    }
}

fn hit(row: &sqlx::sqlite::SqliteRow) -> Result<SearchHit, StoreError> {
    let corrupt =
        |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("search {what}: {e}"));
    let kind: String = row.try_get("kind").map_err(db)?;
    let micros = |column: &str| -> Result<Timestamp, StoreError> {
        let at: i64 = row.try_get(column).map_err(db)?;
        Timestamp::from_microsecond(at).map_err(|e| corrupt(column, &e))
    };
    let number: i64 = row.try_get("incident").map_err(db)?;
    Ok(SearchHit {
        incident: IncidentNumber(u64::try_from(number).unwrap_or(0)),
        title: row.try_get("title").map_err(db)?,
        status: Status::parse(&row.try_get::<String, _>("status").map_err(db)?)
            .map_err(|e| corrupt("status", &e))?,
        severity: Severity::parse(&row.try_get::<String, _>("severity").map_err(db)?)
            .map_err(|e| corrupt("severity", &e))?,
        visibility: Visibility::parse(&row.try_get::<String, _>("visibility").map_err(db)?)
            .map_err(|e| corrupt("visibility", &e))?,
        declared_at: micros("declared_at")?,
        kind: EntryKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        at: micros("at")?,
        snippet: String::new(),
    })
}

/// Snippets cut by FTS5 for the rows each index found; the rest are cut in Rust.
async fn snippets(
    store: &SqliteStore,
    found: &[Found],
    words: Option<&str>,
    grams: Option<&str>,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut snippets = Vec::new();
    for (tier, table, expression) in [(0, "search_words", words), (1, "search_grams", grams)] {
        let Some(expression) = expression else {
            continue;
        };
        let ids: Vec<i64> = found
            .iter()
            .filter(|f| f.tier == tier)
            .map(|f| f.id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let mut sql = QueryBuilder::<Sqlite>::new(format!(
            "SELECT rowid, snippet({table}, 0, char(2), char(3), '…', 24) AS snippet FROM {table} WHERE {table} MATCH "
        ));
        sql.push_bind(expression.to_owned()).push(" AND rowid IN (");
        let mut list = sql.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        sql.push(")");
        for row in sql.build().fetch_all(&store.readers).await.map_err(db)? {
            let snippet: String = row.try_get("snippet").map_err(db)?;
            debug_assert!(MATCH_START == '\u{2}' && MATCH_END == '\u{3}');
            snippets.push((row.try_get("rowid").map_err(db)?, snippet));
        }
    }
    Ok(snippets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_quoted_fts5_expressions() {
        let query =
            hereby_core::search::parse(r#"timeout "connection pool" pay* -staging"#).unwrap();
        assert_eq!(
            words_expression(&query).unwrap(),
            r#"(("timeout" AND "connection pool" AND "pay"*) NOT "staging")"#
        );
        assert_eq!(
            grams_expression(&query).unwrap(),
            r#"(("timeout" AND "connection pool" AND "pay") NOT "staging")"#
        );
        // A word of two letters cannot be found by three-letter pieces.
        assert!(grams_expression(&hereby_core::search::parse("db down").unwrap()).is_none());
    }
}
