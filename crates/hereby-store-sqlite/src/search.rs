//! Search on SQLite: FTS5 over `search_entries`, words by their stem (`search_words`) and
//! three-letter pieces for substrings (`search_grams`); visibility and filters in the same
//! statement, before ranking and the limit.

use hereby_core::search::{Query, Word};
use hereby_core::types::Visibility;
use hereby_store::search::{
    CANDIDATES, PART_CANDIDATES, marked_snippet, substring_snippet, substrings,
    substrings_searchable,
};
use hereby_store::{SearchHit, SearchRequest, SearchResults, StoreError};
use sqlx::{QueryBuilder, Row as _, Sqlite};

use crate::{SqliteStore, db, stored_event};

fn quoted(word: &Word) -> String {
    match word {
        Word::Plain(word) => format!("\"{word}\""),
        Word::Prefix(word) => format!("\"{word}\"*"),
        Word::Phrase(words) => format!("\"{}\"", words.join(" ")),
    }
}

/// An FTS5 expression for the words of `query` in the stemmed index: each word, prefix or
/// phrase quoted (the words hold only letters and digits), all of them required, the excluded
/// ones taken away.
fn words_expression(query: &Query) -> Option<String> {
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
            .join(if query.any_word { " OR " } else { " AND " })
    );
    for excluded in &query.excluded {
        expression = format!("({expression} NOT {})", quoted(excluded));
    }
    Some(expression)
}

/// The excluded words in the stemmed index, any of them: what a substring match must not
/// contain either, so that leaving a word out means the same in both ways of matching.
fn excluded_expression(query: &Query) -> Option<String> {
    (!query.excluded.is_empty()).then(|| {
        query
            .excluded
            .iter()
            .map(quoted)
            .collect::<Vec<_>>()
            .join(" OR ")
    })
}

/// The words in the index of three-letter pieces: each found anywhere inside a word.
fn grams_expression(query: &Query) -> Option<String> {
    if !substrings_searchable(query) {
        return None;
    }
    Some(format!(
        "({})",
        substrings(query)
            .iter()
            .map(|word| format!("\"{word}\""))
            .collect::<Vec<_>>()
            .join(" AND ")
    ))
}

/// How much more a match in a kind of text counts than one in a note: the title most.
const WEIGHTS: &str = "CASE kind WHEN 'incident' THEN 4.0 WHEN 'postmortem' THEN 1.5 \
                       WHEN 'update' THEN 1.2 ELSE 1.0 END";

/// The relevance of a candidate text, larger for a better match: BM25's saturation of the
/// number of matches (`hits`, counted from FTS5's own marking of them) by the text's length
/// (`size`, in characters, which stand for its words whatever separates them) against the
/// candidates' average (`average`), with its usual k1 = 1.2 and
/// b = 0.75. FTS5's `bm25()` would also weigh each word by how rare it is across the whole
/// index, but to know that it reads every use of every word searched for (most of the index
/// for a common word, with every position for a phrase), which made a search for a common
/// phrase cost 100-170 ms on two million texts; ranked over one word or phrase, that weight
/// changes nothing. PostgreSQL's `ts_rank_cd` has no such weight either.
const RELEVANCE: &str = "(hits * 2.2 / (hits + 1.2 * (0.25 + 0.75 * size / average)))";

impl hereby_store::Search for SqliteStore {
    /// Fewer, larger index transactions cost the appends less (FTS5 writes each
    /// transaction's words as a segment of its own, which its merges later rewrite): during a
    /// sustained burst of appends, batches of up to 5,000 kept about 0.92 of the append rate
    /// where batches of 1,000 kept 0.88 (the means of 11 and 6 benchmark runs), and up to
    /// 10,000 once a second (`INDEX_INTERVAL`) 0.92-1.04 (README, Performance). One took up
    /// to 180 ms during the bursts.
    fn index_batch(&self) -> u32 {
        10_000
    }

    async fn index_search(&self, limit: u32) -> Result<u64, StoreError> {
        // Nothing pending (the usual case for a search): no write turn taken.
        let pending: bool = sqlx::query_scalar(
            "SELECT (SELECT position FROM search_position) \
             < (SELECT COALESCE(MAX(position), 0) FROM events)",
        )
        .fetch_one(&self.readers)
        .await
        .map_err(db)?;
        if !pending {
            return Ok(0);
        }
        // The index file's own write lock, taken at once so indexers take turns; the
        // database's is never taken, so appends go on meanwhile.
        let mut tx = self
            .index_pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        let position: i64 = sqlx::query_scalar("SELECT position FROM search_position")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        // Read apart from the index's transaction, by the readers: one writer appends events
        // in position order, so every snapshot holds each event up to its newest.
        let events = hereby_store::events_to_index!(&self.readers, position, limit);
        let (rows, read) = hereby_store::search::index_rows(&events);
        let Some(last) = read else {
            return Ok(0);
        };
        let hash = events
            .iter()
            .find(|event| event.position == last)
            .map(|event| event.link.hash.as_slice());
        hereby_store::write_index_rows!(tx, Sqlite, &rows);
        sqlx::query("UPDATE search_position SET position = $1, hash = $2")
            .bind(last)
            .bind(hash)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(events.iter().filter(|event| event.position <= last).count() as u64)
    }

    async fn search(&self, request: &SearchRequest<'_>) -> Result<SearchResults, StoreError> {
        let query = request.query;
        let words = words_expression(query);
        let grams = grams_expression(query);
        // Whole words first; parts of words only when whole words do not fill the page.
        let mut ranked = match &words {
            Some(words) => self.ranked(request, words, None).await?,
            None => self.listed(request).await?,
        };
        // Decided on the page size alone, so every page of a search counts the same way.
        if let (Some(words), Some(_)) = (&words, &grams)
            && ranked.exact
            && ranked.total < u64::from(request.limit)
        {
            ranked = self.ranked(request, words, grams.as_deref()).await?;
        }
        let substrings = substrings(query);
        let hits = ranked
            .found
            .into_iter()
            .map(|found| {
                let mut hit = found.hit;
                // Cut from the text as FTS5 marked it when ranking: a second query to have
                // FTS5 cut the snippet would look up every match of the words again.
                hit.snippet = match &found.marked {
                    Some(marked) => marked_snippet(marked),
                    None => substring_snippet(&found.text, &substrings),
                };
                hit
            })
            .collect();
        Ok(SearchResults {
            hits,
            total: ranked.total,
            exact: ranked.exact,
        })
    }
}

/// A page of incidents found, before their snippets are cut.
struct Ranked {
    found: Vec<Found>,
    total: u64,
    exact: bool,
}

impl SqliteStore {
    /// Incident numbers alone, or filters alone: the incidents that pass, newest first, with
    /// their own entries (title and summary); read from the incidents backwards, so a page
    /// costs its own rows, and counted apart.
    async fn listed(&self, request: &SearchRequest<'_>) -> Result<Ranked, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(
            // An incident the indexer has not reached yet (after a copy, or behind a long
            // backlog) is listed with its title all the same, so the page and the count below
            // agree; a filter on the kind of text leaves it out, as it does in the count.
            "SELECT i.number AS incident, 'incident' AS kind, \
             COALESCE(e.at, i.declared_at) AS at, COALESCE(e.text, i.title) AS text, i.title, \
             i.status, i.severity, i.visibility, i.declared_at FROM incidents i \
             LEFT JOIN search_entries e \
             ON e.incident = i.number AND e.kind = 'incident' AND e.position IS NULL WHERE true",
        );
        filters(&mut sql, request);
        sql.push(" ORDER BY i.number DESC LIMIT ")
            .push_bind(i64::from(request.limit.min(200)))
            .push(" OFFSET ")
            .push_bind(i64::from(request.offset));
        let rows = sql.build().fetch_all(&self.readers).await.map_err(db)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            found.push(Found {
                text: row.try_get("text").map_err(db)?,
                marked: None,
                hit: hereby_store::search_hit_from_row!(row)?,
            });
        }
        // Without a filter on the kind of text every incident that passes is listed, so they
        // are counted alone, without reading the index beside them.
        let mut count = QueryBuilder::<Sqlite>::new(if request.query.kinds.is_empty() {
            "SELECT count(*) FROM incidents i WHERE true"
        } else {
            "SELECT count(*) FROM incidents i JOIN search_entries e \
             ON e.incident = i.number AND e.kind = 'incident' AND e.position IS NULL WHERE true"
        });
        filters(&mut count, request);
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&self.readers)
            .await
            .map_err(db)?;
        Ok(Ranked {
            found,
            total: u64::try_from(total).unwrap_or(0),
            exact: true,
        })
    }

    /// The page of incidents whose texts match `words` (and, when given, contain `grams`),
    /// each with its best text. Each index yields its newest [`CANDIDATES`] (parts of words:
    /// [`PART_CANDIDATES`]) matching texts that the searcher may see and the filters let
    /// through, ranked by [`RELEVANCE`]: a word
    /// found in most of the history is ranked among its most recent uses, so the cost stays
    /// bounded.
    async fn ranked(
        &self,
        request: &SearchRequest<'_>,
        words: &str,
        grams: Option<&str>,
    ) -> Result<Ranked, StoreError> {
        const COLUMNS: &str = "e.id, e.incident, e.kind, e.at, e.text, i.title, i.status, \
                               i.severity, i.visibility, i.declared_at";
        let mut sql = QueryBuilder::<Sqlite>::new("WITH matched AS (");
        let tiers = [
            (0, "search_words", Some(words), CANDIDATES),
            (1, "search_grams", grams, PART_CANDIDATES),
        ];
        let mut first = true;
        for (tier, table, expression, most) in tiers {
            let Some(expression) = expression else {
                continue;
            };
            if !first {
                sql.push(" UNION ALL ");
            }
            first = false;
            // Each match marked by FTS5 from the text's own positions (no look at the rest
            // of the index), to be counted for the score below.
            sql.push(format!(
                "SELECT * FROM (SELECT {COLUMNS}, {tier} AS tier, \
                 highlight({table}, 0, char(2), char(3)) AS marked \
                 FROM {table} JOIN search_entries e ON e.id = {table}.rowid \
                 JOIN incidents i ON i.number = e.incident WHERE {table} MATCH "
            ))
            .push_bind(expression.to_owned());
            if tier == 1
                && let Some(excluded) = excluded_expression(request.query)
            {
                sql.push(
                    " AND e.id NOT IN (SELECT rowid FROM search_words WHERE search_words MATCH ",
                )
                .push_bind(excluded)
                .push(")");
            }
            filters(&mut sql, request);
            // One more than are ranked: whether there were more.
            sql.push(format!(" ORDER BY {table}.rowid DESC LIMIT "))
                .push_bind(i64::from(most) + 1)
                .push(")");
        }
        // The score is smaller for a better match; a substring match ranks after every
        // whole-word match.
        sql.push(format!(
            "), counted AS (SELECT *, length(marked) - length(replace(marked, char(2), '')) AS hits, \
             max(length(text), 1) AS size FROM matched), \
             averaged AS (SELECT *, max(avg(size) OVER (PARTITION BY tier), 1.0) AS average FROM counted), \
             scored AS (SELECT *, tier * 1000000000.0 - {RELEVANCE} * {WEIGHTS} AS score FROM averaged), \
             ranked AS (SELECT *, row_number() OVER (PARTITION BY incident \
             ORDER BY score, id DESC) AS nth FROM scored) \
             SELECT *, count(*) OVER () AS total, \
             (SELECT count(*) FROM matched WHERE tier = 0) AS by_words, \
             (SELECT count(*) FROM matched WHERE tier = 1) AS by_parts \
             FROM ranked WHERE nth = 1 ORDER BY "
        ));
        sql.push("score, incident DESC LIMIT ")
            .push_bind(i64::from(request.limit.min(200)))
            .push(" OFFSET ")
            .push_bind(i64::from(request.offset));
        let rows = sql.build().fetch_all(&self.readers).await.map_err(db)?;
        let (mut total, mut by_words, mut by_parts) = (0_i64, 0_i64, 0_i64);
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            total = row.try_get("total").map_err(db)?;
            by_words = row.try_get("by_words").map_err(db)?;
            by_parts = row.try_get("by_parts").map_err(db)?;
            found.push(Found {
                text: row.try_get("text").map_err(db)?,
                marked: Some(row.try_get("marked").map_err(db)?),
                hit: hereby_store::search_hit_from_row!(row)?,
            });
        }
        if rows.is_empty() && request.offset > 0 {
            // Past the last page: the total is still wanted.
            let first_page = SearchRequest {
                offset: 0,
                limit: 1,
                ..request.clone()
            };
            let counted = Box::pin(self.ranked(&first_page, words, grams)).await?;
            return Ok(Ranked {
                found,
                total: counted.total,
                exact: counted.exact,
            });
        }
        Ok(Ranked {
            found,
            total: u64::try_from(total).unwrap_or(0),
            exact: by_words <= i64::from(CANDIDATES) && by_parts <= i64::from(PART_CANDIDATES),
        })
    }
}

/// A row found, before its snippet is cut.
struct Found {
    text: String,
    /// The text with its matches marked, when an index found it.
    marked: Option<String>,
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
    // `+` keeps SQLite from reading the incidents through their status index, which it would
    // take for any status list: a page of search results goes newest first, and reading every
    // incident in a common status to sort them cost more than the page.
    any_of(
        "+i.status",
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
        // Parts of words: every word anywhere; what is left out is left out as whole words.
        assert_eq!(
            grams_expression(&query).unwrap(),
            r#"("timeout" AND "connection pool" AND "pay")"#
        );
        assert_eq!(excluded_expression(&query).unwrap(), r#""staging""#);
        // A word of two letters cannot be found by three-letter pieces.
        assert!(grams_expression(&hereby_core::search::parse("db down").unwrap()).is_none());
    }
}
