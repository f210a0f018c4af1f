//! Full-text search as the store answers it: the incidents whose texts match a parsed query,
//! ranked, each with the best-matching text and a snippet of it. Visibility and every filter
//! are applied inside the query, before ranking and the limit, so an incident a person may not
//! see never shapes their page or their count.

use std::future::Future;

use hereby_core::search::{EntryKind, Query};
use hereby_core::types::{IncidentNumber, Severity, Status, Visibility};
use jiff::Timestamp;

use crate::StoreError;

/// Marks the start of a matched word in a snippet (the end is [`MATCH_END`]); edges turn the
/// pair into their own markup after escaping the rest.
pub const MATCH_START: char = '\u{2}';
pub const MATCH_END: char = '\u{3}';

/// What to search, for whom.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    pub query: &'a Query,
    /// The person searching, when restricted incidents are hidden from them unless they are a
    /// member; `None` for someone who sees everything (an admin).
    pub visible_to: Option<&'a str>,
    pub limit: u32,
    /// Hits skipped before the first one returned (the next page).
    pub offset: u32,
}

/// One incident found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub incident: IncidentNumber,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub visibility: Visibility,
    pub declared_at: Timestamp,
    /// The best-matching text: where it comes from, when, and a piece of it with the matched
    /// words between [`MATCH_START`] and [`MATCH_END`].
    pub kind: EntryKind,
    pub at: Timestamp,
    pub snippet: String,
}

/// A page of hits and how many incidents match in all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub total: u64,
    /// Whether `total` is exact; otherwise it counts the incidents among the newest
    /// [`CANDIDATES`] texts holding the words (and [`PART_CANDIDATES`] holding them as parts
    /// of words), and more match.
    pub exact: bool,
}

/// The most texts holding the words that are ranked: the newest ones. A word in most of a
/// long history is ranked among its most recent uses, which keeps a search fast however much
/// was written; a rarer word is ranked over all its uses.
pub const CANDIDATES: u32 = 1_000;

/// The most texts holding the words as parts of words that are ranked, the newest ones: fewer
/// than [`CANDIDATES`], as finding them costs more. An index of three-letter pieces yields
/// every text holding all the pieces, and each must be read to see whether they stand
/// together (on PostgreSQL about one in eleven did for the benchmark's part of a word, whose
/// newest 1,001 took 35-65 ms to gather); parts of words are looked for only when whole words
/// fill less than a page, and ranked by where they were found and how recently.
pub const PART_CANDIDATES: u32 = 500;

pub trait Search: Send + Sync {
    fn search(
        &self,
        request: &SearchRequest<'_>,
    ) -> impl Future<Output = Result<SearchResults, StoreError>> + Send;

    /// Indexes up to `limit` events of the log past the index's position, and moves the
    /// position past them, in one transaction: how many events were read (0 when the index is
    /// up to date). Safe to call from several tasks and nodes at once: each event is indexed
    /// once.
    fn index_search(&self, limit: u32) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// How many events the indexer takes in one [`Search::index_search`] transaction: each
    /// has a cost of its own besides its texts, and a search that finds the index busy waits
    /// for the batch in progress.
    fn index_batch(&self) -> u32;
}

/// A row of the search index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    pub incident: i64,
    pub kind: EntryKind,
    /// The event it comes from; `None` for an incident's current texts (its title and
    /// summary, its post-mortem), which replace the earlier one of their kind.
    pub position: Option<i64>,
    /// When it was written, in microseconds.
    pub at: i64,
    pub text: String,
}

/// What a batch of events gives the index, in order: the declaration's title and summary as
/// the incident's own entry, each event's text as [`entry_of`] takes it, and of several
/// post-mortem revisions in the batch only the last; with the position of the last event
/// read. An event of a type this version does not know (written by a newer node during an
/// upgrade) ends the batch before it, for a newer indexer to read; an event whose body cannot
/// be read gives nothing (verification reports it).
pub fn index_rows(events: &[crate::StoredEvent]) -> (Vec<IndexRow>, Option<i64>) {
    use hereby_core::Event;
    use hereby_core::event::DecodeError;
    use hereby_core::search::entry_of;
    let mut rows: Vec<IndexRow> = Vec::new();
    let mut read = None;
    for stored in events {
        let link = &stored.link;
        let event = match Event::decode(&link.event_type, link.event_version, &link.body) {
            Ok(event) => event,
            Err(DecodeError::UnknownType { .. }) => break,
            Err(DecodeError::InvalidBody { .. }) => {
                read = Some(stored.position);
                continue;
            }
        };
        read = Some(stored.position);
        let incident = i64::try_from(link.incident).unwrap_or(i64::MAX);
        let at = link.recorded_at_micros;
        if let Event::IncidentDeclared(declared) = &event {
            let mut text = declared.title.as_str().to_owned();
            if let Some(summary) = &declared.summary {
                text.push_str(" — ");
                text.push_str(summary.as_str());
            }
            rows.push(IndexRow {
                incident,
                kind: EntryKind::Incident,
                position: None,
                at,
                text,
            });
        }
        if let Some((kind, text)) = entry_of(&event) {
            let position = if kind.is_current() {
                rows.retain(|row| !(row.incident == incident && row.kind == kind));
                None
            } else {
                Some(stored.position)
            };
            rows.push(IndexRow {
                incident,
                kind,
                position,
                at,
                text,
            });
        }
    }
    (rows, read)
}

/// The most bytes of event bodies one indexing transaction reads (a post-mortem revision may
/// be 8 MB): at least one event, then as many as fit.
pub const INDEX_BYTES: i64 = 64 * 1024 * 1024;

/// The pieces of a snippet, each with whether it matched, in order.
pub fn snippet_parts(snippet: &str) -> Vec<(bool, &str)> {
    let mut parts = Vec::new();
    let mut matched = false;
    for piece in snippet.split([MATCH_START, MATCH_END]) {
        if !piece.is_empty() {
            parts.push((matched, piece));
        }
        matched = !matched;
    }
    // A marker pair always alternates; a stray one (cut off at the snippet's end) only
    // flips what follows, which is then shown as matched: harmless.
    parts
}

/// A snippet without its match markers.
pub fn snippet_text(snippet: &str) -> String {
    snippet.replace([MATCH_START, MATCH_END], "")
}

/// A snippet of `text` around the first place one of `words` occurs in it (case-insensitively,
/// anywhere in a word), the occurrences marked; the start of the text when none does. For the
/// substring matches, which the word indexes cannot cut snippets for.
pub fn substring_snippet(text: &str, words: &[String]) -> String {
    const BEFORE: usize = 60;
    const LENGTH: usize = 200;
    // Compared character by character, each folded to lower case where that is one character:
    // positions stay those of the text whatever lowercasing does to byte lengths.
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars.iter().map(|&c| fold(c)).collect();
    let wanted: Vec<Vec<char>> = words
        .iter()
        .map(|word| word.chars().map(fold).collect::<Vec<char>>())
        .filter(|word| !word.is_empty())
        .collect();
    let matches_at = |at: usize| -> Option<usize> {
        wanted
            .iter()
            .filter(|word| folded.get(at..at + word.len()) == Some(word.as_slice()))
            .map(Vec::len)
            .max()
    };
    let first = (0..folded.len())
        .find(|&at| matches_at(at).is_some())
        .unwrap_or(0);
    let start = first.saturating_sub(BEFORE);
    let end = (start + LENGTH).min(chars.len());
    let mut marked = String::with_capacity(LENGTH * 2);
    if start > 0 {
        marked.push('…');
    }
    let mut at = start;
    while at < end {
        match matches_at(at) {
            Some(length) => {
                let stop = (at + length).min(end);
                marked.push(MATCH_START);
                marked.extend(&chars[at..stop]);
                marked.push(MATCH_END);
                at = stop;
            }
            None => {
                marked.push(chars[at]);
                at += 1;
            }
        }
    }
    if end < chars.len() {
        marked.push('…');
    }
    marked
}

/// A snippet cut from a text whose matches are already marked (by FTS5's `highlight`): about
/// 200 characters from a little before the first match, with every mark inside kept in
/// pairs, and `…` where the text was cut.
pub fn marked_snippet(marked: &str) -> String {
    const BEFORE: usize = 60;
    const LENGTH: usize = 200;
    // Byte positions, moved a character at a time: the text may be a long post-mortem, of
    // which only these few hundred characters are looked at.
    let first = marked.find(MATCH_START).unwrap_or(0);
    let mut start = marked[..first]
        .char_indices()
        .rev()
        .take(BEFORE)
        .last()
        .map_or(first, |(at, _)| at);
    // On to the start of a word, so the snippet does not open inside one.
    while start < first
        && marked[..start]
            .chars()
            .next_back()
            .is_some_and(|c| !c.is_whitespace())
    {
        start += marked[start..].chars().next().map_or(1, char::len_utf8);
    }
    let mut end = marked[start..]
        .char_indices()
        .nth(LENGTH)
        .map_or(marked.len(), |(at, _)| start + at);
    // A match that the cut would split is kept whole.
    let opened = marked[start..end].matches(MATCH_START).count();
    if opened > marked[start..end].matches(MATCH_END).count()
        && let Some(close) = marked[end..].find(MATCH_END)
    {
        end += close + MATCH_END.len_utf8();
    }
    let mut snippet = String::with_capacity(end - start + 8);
    if start > 0 {
        snippet.push('…');
    }
    snippet.push_str(&marked[start..end]);
    if end < marked.len() {
        snippet.push('…');
    }
    snippet
}

/// A character in lower case, where its lower case is one character; else itself.
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(one), None) => one,
        _ => c,
    }
}

/// The words of a query to look for as substrings: the plain and prefix words, and phrases as
/// written with single spaces.
pub fn substrings(query: &Query) -> Vec<String> {
    use hereby_core::search::Word;
    query
        .words
        .iter()
        .map(|word| match word {
            Word::Plain(word) | Word::Prefix(word) => word.clone(),
            Word::Phrase(words) => words.join(" "),
        })
        .collect()
}

/// Whether the substring tier can run: every word at least three characters (an index of
/// three-letter pieces cannot find shorter ones), and all of them wanted (a search for any of
/// many words has matches enough among whole words).
pub fn substrings_searchable(query: &Query) -> bool {
    if query.any_word {
        return false;
    }
    let words = substrings(query);
    !words.is_empty() && words.iter().all(|word| word.chars().count() >= 3)
}

/// The events after `$position` one index transaction takes, in order: at most `$limit`, as
/// many as fit in the byte budget, at least one. `$reads` is where they are read (written
/// twice, so an expression like `&mut *tx` or `&store.readers`): the index transaction itself,
/// or, for a backend whose index is a database of its own, the event log's readers. Expands to
/// statements that `?` out of the enclosing function, where `sqlx`, `db` and `stored_event` are.
#[macro_export]
macro_rules! events_to_index {
    ($reads:expr, $position:expr, $limit:expr) => {{
        let sizes: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT position, CAST(length(body) AS BIGINT) FROM events WHERE position > $1 \
             ORDER BY position LIMIT $2",
        )
        .bind($position)
        .bind(i64::from($limit))
        .fetch_all($reads)
        .await
        .map_err(db)?;
        let mut budget = 0_i64;
        let mut through = None;
        for (at, size) in sizes {
            if through.is_some() && budget + size > $crate::search::INDEX_BYTES {
                break;
            }
            budget += size;
            through = Some(at);
        }
        match through {
            None => Vec::new(),
            Some(through) => sqlx::query(
                "SELECT position, incident, sequence, recorded_at, actor, event_type, \
                 event_version, body, prev_hash, hash FROM events \
                 WHERE position > $1 AND position <= $2 ORDER BY position",
            )
            .bind($position)
            .bind(through)
            .fetch_all($reads)
            .await
            .map_err(db)?
            .iter()
            .map(stored_event)
            .collect::<Result<Vec<_>, _>>()?,
        }
    }};
}

/// Writes a batch's index rows in the transaction `$tx`: an incident's current texts (title
/// and summary, post-mortem) replace the earlier ones of their kind; the rest are added.
#[macro_export]
macro_rules! write_index_rows {
    ($tx:expr, $database:ty, $rows:expr) => {{
        let rows: &[$crate::search::IndexRow] = $rows;
        for row in rows.iter().filter(|row| row.position.is_none()) {
            sqlx::query(
                "DELETE FROM search_entries WHERE incident = $1 AND kind = $2 AND position IS NULL",
            )
            .bind(row.incident)
            .bind(row.kind.as_str())
            .execute(&mut *$tx)
            .await
            .map_err(db)?;
        }
        for chunk in rows.chunks(1_000) {
            let mut insert = sqlx::QueryBuilder::<$database>::new(
                "INSERT INTO search_entries (incident, kind, position, at, text) ",
            );
            insert.push_values(chunk, |mut values, row| {
                values
                    .push_bind(row.incident)
                    .push_bind(row.kind.as_str())
                    .push_bind(row.position)
                    .push_bind(row.at)
                    .push_bind(row.text.as_str());
            });
            // Not kept prepared: each batch size is a statement of its own, and the
            // connection's cache would fill with large ones.
            insert
                .build()
                .persistent(false)
                .execute(&mut *$tx)
                .await
                .map_err(db)?;
        }
    }};
}

/// The body of [`Search::index_search`] for a backend whose index lives in the database
/// itself (PostgreSQL): the position's row is locked (`FOR UPDATE`), so concurrent indexers,
/// on one node or several, take turns, and the events are read in the same transaction.
#[macro_export]
macro_rules! index_search_body {
    ($store:expr, $limit:expr, $database:ty) => {{
        // Nothing pending (the usual case for a search): no write transaction started.
        let pending: bool = sqlx::query_scalar(
            "SELECT (SELECT value FROM counters WHERE name = 'search_position') \
             < (SELECT COALESCE(MAX(position), 0) FROM events)",
        )
        .fetch_one(&$store.readers)
        .await
        .map_err(db)?;
        if !pending {
            return Ok(0);
        }
        let mut tx = $store.write_pool.begin().await.map_err(db)?;
        let position: i64 = sqlx::query_scalar(
            "SELECT value FROM counters WHERE name = 'search_position' FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let events = $crate::events_to_index!(&mut *tx, position, $limit);
        let (rows, read) = $crate::search::index_rows(&events);
        let Some(last) = read else {
            return Ok(0);
        };
        $crate::write_index_rows!(tx, $database, &rows);
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'search_position'")
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(events.iter().filter(|event| event.position <= last).count() as u64)
    }};
}

/// A [`SearchHit`] read from a row of either SQL backend's ranking query (columns
/// `incident`, `title`, `status`, `severity`, `visibility`, `declared_at`, `kind`, `at`), its
/// snippet still to cut; written once, expanded where `sqlx` and the backend's `db` are.
#[macro_export]
macro_rules! search_hit_from_row {
    ($row:expr) => {{
        use hereby_core::types::{IncidentNumber, Severity, Status, Visibility};
        use sqlx::Row as _;
        let row = $row;
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            hereby_store::StoreError::Corrupt(format!("search {what}: {e}"))
        };
        let text = |column: &str| row.try_get::<String, _>(column).map_err(db);
        let micros = |column: &str| -> Result<jiff::Timestamp, hereby_store::StoreError> {
            let at: i64 = row.try_get(column).map_err(db)?;
            jiff::Timestamp::from_microsecond(at).map_err(|e| corrupt(column, &e))
        };
        let hit = || -> Result<hereby_store::SearchHit, hereby_store::StoreError> {
            let number: i64 = row.try_get("incident").map_err(db)?;
            let kind = text("kind")?;
            Ok(hereby_store::SearchHit {
                incident: IncidentNumber(u64::try_from(number).unwrap_or(0)),
                title: text("title")?,
                status: Status::parse(&text("status")?).map_err(|e| corrupt("status", &e))?,
                severity: Severity::parse(&text("severity")?)
                    .map_err(|e| corrupt("severity", &e))?,
                visibility: Visibility::parse(&text("visibility")?)
                    .map_err(|e| corrupt("visibility", &e))?,
                declared_at: micros("declared_at")?,
                kind: hereby_core::search::EntryKind::parse(&kind)
                    .ok_or_else(|| corrupt("kind", &kind))?,
                at: micros("at")?,
                snippet: String::new(),
            })
        };
        hit()
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_snippet_cuts_around_the_first_match_and_keeps_marks_in_pairs() {
        let words: Vec<String> = (0..200).map(|n| format!("w{n}")).collect();
        let mut text = words.join(" ");
        text = text.replace("w50", "\u{2}pool\u{3}");
        let snippet = marked_snippet(&text);
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        assert!(snippet.contains("\u{2}pool\u{3}"), "{snippet}");
        // It opens on a word, not inside one.
        assert!(snippet[3..].starts_with('w'), "{snippet}");
        // A short text is whole; a text without marks starts at its beginning.
        assert_eq!(marked_snippet("a \u{2}b\u{3} c"), "a \u{2}b\u{3} c");
        assert!(marked_snippet(&words.join(" ")).starts_with("w0 w1"));
        // A match running past the cut is kept whole, its end mark with it.
        let long = format!("{} \u{2}{}\u{3} tail", "x".repeat(150), "y".repeat(300));
        let cut = marked_snippet(&long);
        let opens = cut.matches('\u{2}').count();
        assert_eq!(opens, cut.matches('\u{3}').count(), "{cut}");
        assert_eq!(opens, 1);
        // Characters of several bytes are cut between, never inside.
        let wide = format!("{} \u{2}größe\u{3} {}", "ä".repeat(100), "ü ".repeat(150));
        let cut = marked_snippet(&wide);
        assert!(cut.contains("\u{2}größe\u{3}"), "{cut}");
        assert!(cut.ends_with('…'), "{cut}");
    }

    #[test]
    fn a_substring_snippet_marks_the_word_and_cuts_around_it() {
        let text = format!(
            "{} the p99 latency of checkout rose {}",
            "x".repeat(100),
            "y".repeat(300)
        );
        let snippet = substring_snippet(&text, &["tency".to_owned()]);
        assert!(snippet.starts_with('…'));
        assert!(snippet.ends_with('…'));
        assert!(snippet.contains("la\u{2}tency\u{3} of"), "{snippet}");
        assert_eq!(
            substring_snippet("short text", &["none".to_owned()]),
            "short text"
        );
    }
}
