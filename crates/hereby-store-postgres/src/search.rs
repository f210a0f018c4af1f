//! Search on PostgreSQL: the stemmed `tsvector` of `search_entries` (GIN) for words, phrases
//! and prefixes, ranked by `ts_rank_cd`; the trigram index for substrings; both indexes kept
//! by range of entries, read newest range first; visibility and filters in the statements
//! that pick the candidates, before ranking and the limit.

use hereby_core::search::{Query, Word};
use hereby_core::types::Visibility;
use hereby_store::search::{
    CANDIDATES, MATCH_END, MATCH_START, PART_CANDIDATES, substring_snippet, substrings,
    substrings_searchable,
};
use hereby_store::{SearchHit, SearchRequest, SearchResults, StoreError};
use sqlx::{Postgres, QueryBuilder, Row as _};

use crate::{PgStore, db, stored_event};

/// A word, prefix or phrase as a `to_tsquery` operand, each lexeme quoted.
fn lexeme(word: &Word) -> String {
    match word {
        Word::Plain(word) => format!("'{word}'"),
        Word::Prefix(word) => format!("'{word}':*"),
        Word::Phrase(words) => format!(
            "({})",
            words
                .iter()
                .map(|word| format!("'{word}'"))
                .collect::<Vec<_>>()
                .join(" <-> ")
        ),
    }
}

/// A `to_tsquery` expression for the words of `query`: each lexeme quoted (the words hold
/// only letters and digits), all required, phrases in order, the excluded ones taken away.
fn tsquery(query: &Query) -> Option<String> {
    if query.words.is_empty() {
        return None;
    }
    let wanted: Vec<String> = query.words.iter().map(lexeme).collect();
    let mut parts = if query.any_word {
        vec![format!("({})", wanted.join(" | "))]
    } else {
        wanted
    };
    parts.extend(
        query
            .excluded
            .iter()
            .map(|word| format!("!{}", lexeme(word))),
    );
    Some(parts.join(" & "))
}

/// The excluded words as a `to_tsquery` expression, any of them.
fn excluded_tsquery(query: &Query) -> Option<String> {
    (!query.excluded.is_empty()).then(|| {
        query
            .excluded
            .iter()
            .map(lexeme)
            .collect::<Vec<_>>()
            .join(" | ")
    })
}

/// `LIKE` patterns for the words as substrings (letters and digits only: nothing to escape).
fn like(word: &str) -> String {
    format!("%{word}%")
}

/// How much more a match in a kind of text counts than one in a note: the title most.
const WEIGHTS: &str = "CASE e.kind WHEN 'incident' THEN 4.0 WHEN 'postmortem' THEN 1.5 \
                       WHEN 'update' THEN 1.2 ELSE 1.0 END";

impl hereby_store::Search for PgStore {
    /// Larger batches keep no more of the append rate here (0.96-0.99 with 1,000, 0.96 and
    /// 0.97 with 5,000, both with a batch every 250 ms), and a search waits on the locked
    /// position for the batch in progress: during a burst a batch of 5,000 took 249-284 ms,
    /// one of 1,000 126-139 ms.
    fn index_batch(&self) -> u32 {
        1_000
    }

    async fn index_search(&self, limit: u32) -> Result<u64, StoreError> {
        hereby_store::index_search_body!(self, limit, Postgres)
    }

    async fn search(&self, request: &SearchRequest<'_>) -> Result<SearchResults, StoreError> {
        let query = request.query;
        let words = tsquery(query);
        let grams = substrings_searchable(query).then(|| substrings(query));
        // The texts that hold the words, read once for both ways of ranking below.
        let by_words = match &words {
            Some(words) => self.matching_words(request, words).await?,
            None => Vec::new(),
        };
        // Whole words first; parts of words only when whole words do not fill the page.
        let mut ranked = match &words {
            Some(words) => self.ranked(request, words, &by_words, None).await?,
            None => self.listed(request).await?,
        };
        // Decided on the page size alone, so every page of a search counts the same way.
        if let (Some(words), Some(_)) = (&words, &grams)
            && ranked.exact
            && ranked.total < u64::from(request.limit)
        {
            ranked = self
                .ranked(request, words, &by_words, grams.as_deref())
                .await?;
        }
        let found = ranked.found;
        let mut headlines: Vec<(i64, String)> = Vec::new();
        if let Some(words) = &words {
            let ids: Vec<i64> = found.iter().filter(|f| f.1 == 0).map(|f| f.0).collect();
            if !ids.is_empty() {
                let options = format!(
                    "StartSel=\"{MATCH_START}\", StopSel=\"{MATCH_END}\", MaxWords=30, MinWords=12, MaxFragments=1, FragmentDelimiter=\" … \""
                );
                let rows = sqlx::query(
                    "SELECT id, ts_headline('english', left(text, 100000), to_tsquery('english', $1), $2) AS snippet \
                     FROM search_entries WHERE id = ANY($3)",
                )
                .bind(words)
                .bind(options)
                .bind(&ids)
                .fetch_all(&self.readers)
                .await
                .map_err(db)?;
                for row in rows {
                    headlines.push((
                        row.try_get("id").map_err(db)?,
                        row.try_get("snippet").map_err(db)?,
                    ));
                }
            }
        }
        let substrings = substrings(query);
        let hits = found
            .into_iter()
            .map(|(id, _, text, mut hit)| {
                hit.snippet = headlines
                    .iter()
                    .find(|(found, _)| *found == id)
                    .map(|(_, snippet)| snippet.clone())
                    .unwrap_or_else(|| substring_snippet(&text, &substrings));
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

/// A page of incidents found, before their snippets are cut: (entry id, tier, text, hit).
struct Ranked {
    found: Vec<(i64, i32, String, SearchHit)>,
    total: u64,
    exact: bool,
}

// Every statement here is planned for its own words and filters (`persistent(false)`): a
// prepared statement run a few times gets one plan for any values, and the plan that suits a
// rare word (the word index first) is a slow one for a common word (newest texts first), and
// the other way round; one such plan took a middling word with filters to 110-170 ms.
impl PgStore {
    /// The rows of `sql` on the request's page (its limit and offset appended).
    async fn page(
        &self,
        mut sql: QueryBuilder<Postgres>,
        request: &SearchRequest<'_>,
    ) -> Result<Vec<sqlx::postgres::PgRow>, StoreError> {
        sql.push(" LIMIT ")
            .push_bind(i64::from(request.limit.min(200)))
            .push(" OFFSET ")
            .push_bind(i64::from(request.offset));
        sql.build()
            .persistent(false)
            .fetch_all(&self.readers)
            .await
            .map_err(db)
    }

    /// Incident numbers alone, or filters alone: the incidents that pass, newest first, with
    /// their own entries (title and summary); read from the incidents backwards, so a page
    /// costs its own rows, and counted apart.
    async fn listed(&self, request: &SearchRequest<'_>) -> Result<Ranked, StoreError> {
        let mut sql = QueryBuilder::<Postgres>::new(
            // An incident the indexer has not reached yet (after a copy, or behind a long
            // backlog) is listed with its title all the same, so the page and the count below
            // agree; a filter on the kind of text leaves it out, as it does in the count.
            "SELECT COALESCE(e.id, 0) AS id, i.number AS incident, 'incident' AS kind, \
             COALESCE(e.at, i.declared_at) AS at, COALESCE(e.text, i.title) AS text, i.title, \
             i.status, i.severity, i.visibility, i.declared_at FROM incidents i \
             LEFT JOIN search_entries e \
             ON e.incident = i.number AND e.kind = 'incident' AND e.position IS NULL WHERE true",
        );
        filters(&mut sql, request);
        sql.push(" ORDER BY i.number DESC");
        let rows = self.page(sql, request).await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            found.push((
                row.try_get::<i64, _>("id").map_err(db)?,
                0,
                row.try_get::<String, _>("text").map_err(db)?,
                hereby_store::search_hit_from_row!(row)?,
            ));
        }
        // Without a filter on the kind of text every incident that passes is listed, so they
        // are counted alone, without reading the index beside them.
        let mut count = QueryBuilder::<Postgres>::new(if request.query.kinds.is_empty() {
            "SELECT count(*) FROM incidents i WHERE true"
        } else {
            "SELECT count(*) FROM incidents i JOIN search_entries e \
             ON e.incident = i.number AND e.kind = 'incident' AND e.position IS NULL WHERE true"
        });
        filters(&mut count, request);
        let total: i64 = count
            .build_query_scalar()
            .persistent(false)
            .fetch_one(&self.readers)
            .await
            .map_err(db)?;
        Ok(Ranked {
            found,
            total: u64::try_from(total).unwrap_or(0),
            exact: true,
        })
    }

    /// The newest [`CANDIDATES`] + 1 texts that hold `words` (a `to_tsquery` expression),
    /// that the searcher may see and the filters let through ([`PgStore::newest_matching`]).
    async fn matching_words(
        &self,
        request: &SearchRequest<'_>,
        words: &str,
    ) -> Result<Vec<i64>, StoreError> {
        // A prefix stands for every word it begins: each range's statement would gather all
        // of them again, so a search with one is read in one statement (PostgreSQL's estimate
        // for words, unlike parts of words, chooses well between its plans).
        let reading = if request
            .query
            .words
            .iter()
            .any(|word| matches!(word, Word::Prefix(_)))
        {
            Reading::Whole
        } else {
            Reading::NewestFirst
        };
        self.newest_matching(request, reading, CANDIDATES, &|sql| {
            sql.push("e.words @@ to_tsquery('english', ")
                .push_bind(words.to_owned())
                .push(")");
        })
        .await
    }

    /// The page of incidents among `by_words` (the texts that match `words`) and, when
    /// `grams` are given, the texts that contain each of them, each incident with its best
    /// text. Each way of matching yields its newest [`CANDIDATES`] (parts of words:
    /// [`PART_CANDIDATES`]) matching texts that the searcher may see and the filters let
    /// through ([`PgStore::newest_matching`]), ranked by
    /// `ts_rank_cd`: a word found in most of the history is ranked among its most recent uses,
    /// so the cost stays bounded.
    async fn ranked(
        &self,
        request: &SearchRequest<'_>,
        words: &str,
        by_words: &[i64],
        grams: Option<&[String]>,
    ) -> Result<Ranked, StoreError> {
        const COLUMNS: &str = "e.id, e.incident, e.kind, e.at, e.text, i.title, i.status, \
                               i.severity, i.visibility, i.declared_at";
        let query = request.query;
        let by_parts = match grams {
            // Not counted first: counting the texts that hold a part of a word reads every
            // candidate the trigrams give, which is what the ranges avoid.
            Some(grams) => {
                self.newest_matching(request, Reading::ByRange, PART_CANDIDATES, &|sql| {
                    sql.push("true");
                    for word in grams {
                        sql.push(" AND lower(e.text) LIKE ").push_bind(like(word));
                    }
                    // Left out as whole words, as in the word match.
                    if let Some(excluded) = excluded_tsquery(query) {
                        sql.push(" AND NOT (e.words @@ to_tsquery('english', ")
                            .push_bind(excluded)
                            .push("))");
                    }
                })
                .await?
            }
            None => Vec::new(),
        };
        let exact =
            by_words.len() <= CANDIDATES as usize && by_parts.len() <= PART_CANDIDATES as usize;
        if by_words.is_empty() && by_parts.is_empty() {
            return Ok(Ranked {
                found: Vec::new(),
                total: 0,
                exact,
            });
        }
        // The candidates ranked; the filters and visibility are asked again, so a membership
        // that ended between the statements shows nothing.
        let mut sql = QueryBuilder::<Postgres>::new("WITH matched AS (");
        // The rank negated (smaller is better), weighted by the kind of text.
        sql.push(format!(
            "(SELECT {COLUMNS}, 0 AS tier, (-ts_rank_cd(e.words, to_tsquery('english', "
        ))
        .push_bind(words.to_owned())
        .push(format!(
            ")) * {WEIGHTS})::float8 AS score FROM search_entries e \
                 JOIN incidents i ON i.number = e.incident WHERE e.id = ANY("
        ))
        .push_bind(by_words.to_vec())
        .push(")");
        filters(&mut sql, request);
        sql.push(")");
        if !by_parts.is_empty() {
            // Substring matches rank after every whole-word match, among themselves
            // by the weight of their kind.
            sql.push(format!(
                " UNION ALL (SELECT {COLUMNS}, 1 AS tier, \
                 (1000000000.0 - {WEIGHTS})::float8 AS score FROM search_entries e \
                 JOIN incidents i ON i.number = e.incident WHERE e.id = ANY("
            ))
            .push_bind(by_parts)
            .push(")");
            filters(&mut sql, request);
            sql.push(")");
        }
        sql.push(
            "), ranked AS (SELECT *, row_number() OVER (PARTITION BY incident \
             ORDER BY score, id DESC) AS nth FROM matched) \
             SELECT *, count(*) OVER () AS total FROM ranked WHERE nth = 1 \
             ORDER BY score, incident DESC",
        );
        let rows = self.page(sql, request).await?;
        let mut total = 0_i64;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            total = row.try_get("total").map_err(db)?;
            found.push((
                row.try_get::<i64, _>("id").map_err(db)?,
                row.try_get::<i32, _>("tier").map_err(db)?,
                row.try_get::<String, _>("text").map_err(db)?,
                hereby_store::search_hit_from_row!(row)?,
            ));
        }
        if rows.is_empty() && request.offset > 0 {
            // Past the last page: the total is still wanted.
            let first_page = SearchRequest {
                offset: 0,
                limit: 1,
                ..request.clone()
            };
            let counted = Box::pin(self.ranked(&first_page, words, by_words, grams)).await?;
            return Ok(Ranked {
                found,
                total: counted.total,
                exact: counted.exact,
            });
        }
        Ok(Ranked {
            found,
            total: u64::try_from(total).unwrap_or(0),
            exact,
        })
    }

    /// The ids of the newest `most` + 1 entries whose text `matching` accepts (a
    /// condition on `e`), that the searcher may see and the filters let through, newest first.
    /// Read range by range of [`RANGE`] entries from the newest, through the indexes kept by
    /// range (migration 0023): a term found all over the history costs its newest matches'
    /// range, not every match. One statement for the whole history left PostgreSQL to choose
    /// between reading every candidate the index holds and reading the texts newest first, and
    /// its estimate for a part of a word is too rough to choose well (0.2 to 1.3 s for the
    /// benchmark's). How it reads is `reading`'s choice.
    async fn newest_matching(
        &self,
        request: &SearchRequest<'_>,
        reading: Reading,
        most: u32,
        matching: &(dyn Fn(&mut QueryBuilder<Postgres>) + Sync),
    ) -> Result<Vec<i64>, StoreError> {
        let wanted = most as usize + 1;
        if reading == Reading::Whole {
            return self.candidates(request, None, wanted, matching).await;
        }
        let newest: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM search_entries")
            .fetch_one(&self.readers)
            .await
            .map_err(db)?;
        let Some(newest) = newest else {
            return Ok(Vec::new());
        };
        let mut found: Vec<i64> = Vec::new();
        let mut range = newest / RANGE;
        // How many entries the ranges read so far hold.
        let mut read = 0_i64;
        let mut decided = reading == Reading::ByRange;
        while range >= 0 && found.len() < wanted {
            if !decided && read >= RANGE {
                decided = true;
                // What was let through so far, spread over the whole history: a term that
                // seems common is read on by range without counting it, as counting it
                // would visit up to [`FEW`] of its texts for nothing.
                if seems_rare(found.len(), newest, read) {
                    match self.matches_up_to_few(matching).await? {
                        0 => return Ok(Vec::new()),
                        texts if texts <= FEW => {
                            return self.candidates(request, None, wanted, matching).await;
                        }
                        _ => {}
                    }
                }
            }
            let rows = wanted - found.len();
            if reading == Reading::ByRange && range > 0 {
                // Ranges side by side on as many connections, two full ranges' worth of
                // entries at a time (three ranges when the newest holds only a few): each
                // costs the reading of its candidate texts, and a part of a word usually
                // needs several.
                let mut round = vec![range];
                let mut entries = entries_in(range, newest);
                let mut oldest = range;
                while entries < 2 * RANGE && round.len() < 3 && oldest > 0 {
                    oldest -= 1;
                    round.push(oldest);
                    entries += entries_in(oldest, newest);
                }
                let read_range = |range: Option<i64>| async move {
                    match range {
                        Some(range) => self.candidates(request, Some(range), rows, matching).await,
                        None => Ok(Vec::new()),
                    }
                };
                let (newest_ids, older_ids, oldest_ids) = tokio::try_join!(
                    read_range(round.first().copied()),
                    read_range(round.get(1).copied()),
                    read_range(round.get(2).copied()),
                )?;
                found.extend(newest_ids);
                found.extend(older_ids);
                found.extend(oldest_ids);
                found.truncate(wanted);
                read += entries;
                range = oldest - 1;
            } else {
                found.extend(
                    self.candidates(request, Some(range), rows, matching)
                        .await?,
                );
                read += entries_in(range, newest);
                range -= 1;
            }
        }
        Ok(found)
    }

    /// How many texts `matching` accepts, whatever the searcher and the filters: counted up
    /// to [`FEW`] + 1.
    async fn matches_up_to_few(
        &self,
        matching: &(dyn Fn(&mut QueryBuilder<Postgres>) + Sync),
    ) -> Result<i64, StoreError> {
        let mut count = QueryBuilder::<Postgres>::new(
            "SELECT count(*) FROM (SELECT 1 FROM search_entries e WHERE ",
        );
        matching(&mut count);
        count.push(" LIMIT ").push_bind(FEW + 1).push(") AS few");
        count
            .build_query_scalar()
            .persistent(false)
            .fetch_one(&self.readers)
            .await
            .map_err(db)
    }
}

/// Whether a term whose matches let through were `found` in the newest `read` entries, of
/// `newest` in all, would be found in at most [`FEW`] texts were they spread alike over the
/// whole history.
fn seems_rare(found: usize, newest: i64, read: i64) -> bool {
    let found = i64::try_from(found).unwrap_or(i64::MAX);
    found.saturating_mul(newest.saturating_add(1)) / read.max(1) <= FEW
}

/// How many entries range `range` holds when the newest entry is `newest` (ids count from 1).
fn entries_in(range: i64, newest: i64) -> i64 {
    let first = (range * RANGE).max(1);
    let last = ((range + 1) * RANGE - 1).min(newest);
    (last - first + 1).max(0)
}

impl PgStore {
    /// The ids of the newest `rows` entries whose text `matching` accepts, that the searcher
    /// may see and the filters let through: in one range of the indexes, or in all of them.
    async fn candidates(
        &self,
        request: &SearchRequest<'_>,
        range: Option<i64>,
        rows: usize,
        matching: &(dyn Fn(&mut QueryBuilder<Postgres>) + Sync),
    ) -> Result<Vec<i64>, StoreError> {
        let mut sql = QueryBuilder::<Postgres>::new(
            "SELECT e.id FROM search_entries e JOIN incidents i ON i.number = e.incident WHERE ",
        );
        if let Some(range) = range {
            // The range written as the indexes have it, so that they serve the condition.
            sql.push(format!("(e.id / {RANGE}) = "))
                .push_bind(range)
                .push(" AND ");
        }
        matching(&mut sql);
        filters(&mut sql, request);
        sql.push(" ORDER BY e.id DESC LIMIT ")
            .push_bind(i64::try_from(rows).unwrap_or(i64::MAX));
        sql.build_query_scalar()
            .persistent(false)
            .fetch_all(&self.readers)
            .await
            .map_err(db)
    }
}

/// How [`PgStore::newest_matching`] reads the matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// In one statement over the whole history, the plan left to PostgreSQL.
    Whole,
    /// Range by range from the newest, two full ranges' worth at a time.
    ByRange,
    /// Range by range from the newest, one at a time; once a range's worth of entries is read
    /// without finding enough, a term that seems rare from what was found is counted, and
    /// when it is in at most [`FEW`] texts in all they are read in one statement, as a
    /// statement per range would cost more than its few matches.
    NewestFirst,
}

/// The most texts a term may be found in, whatever the filters, to be read in one statement
/// rather than range by range.
const FEW: i64 = 2_000;

/// Entries per range of the search indexes: `(id / RANGE)` is indexed beside each text's
/// words and trigrams (migration 0023), and must be written the same way to be served.
const RANGE: i64 = 65_536;

/// The structured filters and visibility, on `i` (the incident) and `e` (the entry).
fn filters(sql: &mut QueryBuilder<Postgres>, request: &SearchRequest<'_>) {
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
        sql.push(" AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(i.services::jsonb) AS s(name) WHERE lower(s.name) = lower(")
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
    fn ranges_hold_their_entries_and_a_term_seems_rare_by_its_spread() {
        // Ids count from 1: the first range holds one fewer.
        assert_eq!(entries_in(0, 10), 10);
        assert_eq!(entries_in(0, 200_000), RANGE - 1);
        assert_eq!(entries_in(1, 200_000), RANGE);
        // The newest range, partly filled: 200,000 - 196,608 + 1.
        assert_eq!(entries_in(3, 200_000), 3_393);
        assert_eq!(entries_in(4, 200_000), 0);
        // 700 found in the newest 66,236 of 197,307: 2,085 expected in all, not rare.
        assert!(!seems_rare(700, 197_307, 66_236));
        assert!(seems_rare(671, 197_307, 66_236));
        assert!(!seems_rare(672, 197_307, 66_236));
        assert!(seems_rare(0, 197_307, 66_236));
        assert!(!seems_rare(usize::MAX, i64::MAX, 1));
    }

    #[test]
    fn queries_become_quoted_tsquery_expressions() {
        let query =
            hereby_core::search::parse(r#"timeout "connection pool" pay* -staging"#).unwrap();
        assert_eq!(
            tsquery(&query).unwrap(),
            "'timeout' & ('connection' <-> 'pool') & 'pay':* & !'staging'"
        );
    }
}
