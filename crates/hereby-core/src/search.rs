//! Search as people type it: words, `"phrases"`, `prefix*`, `-excluded`, `INC-42`, and
//! filters in the same line (`status:resolved`, `sev>=2`, `service:checkout`, `role:anna`,
//! `kind:note`, `since:2026-01-01`, `until:…`), parsed once for every store; and what text
//! each event gives the search index.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::event::Event;
use crate::types::{IncidentNumber, Severity, Status};

/// Where a piece of indexed text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// The incident's title and summary (kept current).
    Incident,
    Note,
    /// A stakeholder update.
    Update,
    /// An operation in production, or an intent to make one.
    Operation,
    Decision,
    FollowUp,
    /// The post-mortem's text (its latest revision).
    Postmortem,
    Link,
}

impl EntryKind {
    pub const ALL: &'static [EntryKind] = &[
        EntryKind::Incident,
        EntryKind::Note,
        EntryKind::Update,
        EntryKind::Operation,
        EntryKind::Decision,
        EntryKind::FollowUp,
        EntryKind::Postmortem,
        EntryKind::Link,
    ];

    /// The stable spelling, in storage, on the wire and in `kind:` filters.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Incident => "incident",
            EntryKind::Note => "note",
            EntryKind::Update => "update",
            EntryKind::Operation => "operation",
            EntryKind::Decision => "decision",
            EntryKind::FollowUp => "follow_up",
            EntryKind::Postmortem => "postmortem",
            EntryKind::Link => "link",
        }
    }

    pub fn parse(raw: &str) -> Option<EntryKind> {
        let raw = raw.trim().to_ascii_lowercase().replace('-', "_");
        let raw = match raw.as_str() {
            "followup" | "follow_ups" | "action" => "follow_up",
            "post_mortem" | "pm" => "postmortem",
            "updates" => "update",
            "notes" => "note",
            other => other,
        }
        .to_owned();
        Self::ALL.iter().copied().find(|kind| kind.as_str() == raw)
    }

    /// Kinds kept as one current text per incident (replaced, not added to).
    pub fn is_current(self) -> bool {
        matches!(self, EntryKind::Incident | EntryKind::Postmortem)
    }
}

/// The text an event adds to the search index, if any. The incident's own title and summary
/// are indexed from its current row, not from here.
pub fn entry_of(event: &Event) -> Option<(EntryKind, String)> {
    let (kind, text) = match event {
        Event::NoteAdded(note) => (EntryKind::Note, note.text.as_str().to_owned()),
        Event::UpdatePosted(update) => (EntryKind::Update, update.body.as_str().to_owned()),
        Event::OperationRecorded(op) => (
            EntryKind::Operation,
            join(&[
                Some(op.target.as_str()),
                Some(op.action.as_str()),
                op.command.as_ref().map(|command| command.as_str()),
            ]),
        ),
        Event::IntentAnnounced(intent) => (
            EntryKind::Operation,
            join(&[Some(intent.target.as_str()), Some(intent.action.as_str())]),
        ),
        Event::DecisionRecorded(decision) => {
            (EntryKind::Decision, decision.motivation.as_str().to_owned())
        }
        Event::ActionItemAdded(item) => (EntryKind::FollowUp, item.text.as_str().to_owned()),
        Event::LinkAdded(link) => (
            EntryKind::Link,
            join(&[
                link.title.as_ref().map(|title| title.as_str()),
                Some(link.url.as_str()),
            ]),
        ),
        Event::PostmortemDrafted(draft) => (EntryKind::Postmortem, draft.body.as_str().to_owned()),
        Event::PostmortemRevised(revision) => {
            (EntryKind::Postmortem, revision.body.as_str().to_owned())
        }
        _ => return None,
    };
    (!text.trim().is_empty()).then_some((kind, text))
}

fn join(parts: &[Option<&str>]) -> String {
    parts
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join(" — ")
}

/// How a word of the query matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// A word, matched by its stem (`timeouts` finds `timeout`) or inside a longer word.
    Plain(String),
    /// The start of words (`pay*`).
    Prefix(String),
    /// Words next to each other, in order.
    Phrase(Vec<String>),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// Every one must match.
    pub words: Vec<Word>,
    /// None of these may match.
    pub excluded: Vec<Word>,
    /// `INC-42` (or `#42`): that incident, first.
    pub incidents: Vec<IncidentNumber>,
    pub statuses: Vec<Status>,
    /// Any of these severities (from `sev:2`, `sev>=2`, `sev<=3`).
    pub severities: Vec<Severity>,
    pub services: Vec<String>,
    /// A person who holds (or held) a role, or is a member.
    pub person: Option<String>,
    pub kinds: Vec<EntryKind>,
    /// Declared at or after.
    pub since: Option<Timestamp>,
    /// Declared before.
    pub until: Option<Timestamp>,
    /// Any one of the words is enough (a search for similar incidents), rather than all of
    /// them; the more match, the better the rank.
    pub any_word: bool,
}

/// Why a query could not be read; the message says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// The longest query read.
pub const MAX_QUERY: usize = 500;
/// The most words (and phrases) in one query.
pub const MAX_WORDS: usize = 16;

impl Query {
    /// Whether the query asks for anything at all (words, an incident or a filter).
    pub fn is_empty(&self) -> bool {
        *self == Query::default()
    }

    /// Whether it has text to match (words or incident numbers), rather than filters only.
    pub fn has_text(&self) -> bool {
        !self.words.is_empty() || !self.incidents.is_empty()
    }
}

/// Words too common to say anything about an incident.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "not", "no", "of", "on", "or", "the", "to", "was", "were", "with",
];

/// What makes past incidents similar to one: any of the words of its title and summary (those
/// of three letters or more and not among the most common), best when many match, among the
/// incidents that have ended (resolved or closed); `service` narrows to one of its services.
/// `None` when the incident has no such word.
pub fn similar_to(title: &str, summary: Option<&str>, service: Option<&str>) -> Option<Query> {
    let mut words: Vec<String> = Vec::new();
    for word in words_of(title)
        .into_iter()
        .chain(summary.map(words_of).unwrap_or_default())
    {
        let common = STOP_WORDS.contains(&word.as_str());
        if word.chars().count() >= 3 && !common && !words.contains(&word) {
            words.push(word);
        }
        if words.len() == MAX_WORDS {
            break;
        }
    }
    if words.is_empty() {
        return None;
    }
    Some(Query {
        words: words.into_iter().map(Word::Plain).collect(),
        statuses: vec![Status::Resolved, Status::Closed],
        services: service.map(|s| vec![s.to_owned()]).unwrap_or_default(),
        any_word: true,
        ..Query::default()
    })
}

/// Reads a query line.
pub fn parse(raw: &str) -> Result<Query, QueryError> {
    if raw.chars().count() > MAX_QUERY {
        return Err(QueryError(format!(
            "a search is at most {MAX_QUERY} characters"
        )));
    }
    let mut query = Query::default();
    for token in tokens(raw)? {
        match token {
            Token::Phrase { words, negated } => {
                let word = match words.len() {
                    0 => continue,
                    1 => Word::Plain(words.into_iter().next().unwrap_or_default()),
                    _ => Word::Phrase(words),
                };
                push(&mut query, word, negated);
            }
            Token::Bare(text) => bare(&mut query, &text)?,
        }
    }
    if query.words.len() + query.excluded.len() > MAX_WORDS {
        return Err(QueryError(format!(
            "a search has at most {MAX_WORDS} words and phrases"
        )));
    }
    if !query.excluded.is_empty() && query.words.is_empty() {
        return Err(QueryError(
            "say what to look for besides what to leave out (`timeout -staging`, not `-staging` alone)"
                .to_owned(),
        ));
    }
    if !query.kinds.is_empty() && query.words.is_empty() {
        return Err(QueryError(
            "`kind:` says where to look for words: give it some (`kind:note failover`)".to_owned(),
        ));
    }
    Ok(query)
}

fn push(query: &mut Query, word: Word, negated: bool) {
    if negated {
        query.excluded.push(word);
    } else {
        query.words.push(word);
    }
}

/// One bare token: a filter, an incident number, or words.
fn bare(query: &mut Query, text: &str) -> Result<(), QueryError> {
    let lower = text.to_lowercase();
    for (prefix, op) in [
        ("sev>=", Ord::Ge),
        ("sev<=", Ord::Le),
        ("severity>=", Ord::Ge),
        ("severity<=", Ord::Le),
    ] {
        if let Some(value) = lower.strip_prefix(prefix) {
            let level = severity_level(value)?;
            query.severities = Severity::ALL
                .iter()
                .copied()
                .filter(|severity| {
                    let this = *severity as u8 + 1;
                    match op {
                        // At least SEV2: SEV1 or SEV2 (a smaller number is more severe).
                        Ord::Ge => this <= level,
                        Ord::Le => this >= level,
                    }
                })
                .collect();
            return Ok(());
        }
    }
    if let Some((name, value)) = lower.split_once(':')
        && !value.is_empty()
        && !value.starts_with("//")
    {
        // The value as typed: split the text itself (lowercasing may change byte lengths).
        let original = text.split_once(':').map_or("", |(_, value)| value);
        match name {
            "status" | "is" => {
                for value in value.split(',') {
                    query.statuses.extend(statuses(value)?);
                }
                return Ok(());
            }
            "sev" | "severity" => {
                for value in value.split(',') {
                    let level = severity_level(value)?;
                    query.severities.push(Severity::ALL[usize::from(level - 1)]);
                }
                return Ok(());
            }
            "service" => {
                query.services.push(original.to_owned());
                return Ok(());
            }
            "role" | "person" | "by" => {
                query.person = Some(original.trim_start_matches('@').to_owned());
                return Ok(());
            }
            "kind" | "in" => {
                for value in value.split(',') {
                    query.kinds.push(EntryKind::parse(value).ok_or_else(|| {
                        let kinds: Vec<&str> = EntryKind::ALL.iter().map(|k| k.as_str()).collect();
                        QueryError(format!(
                            "`kind:{value}`: a kind is one of {}",
                            kinds.join(", ")
                        ))
                    })?);
                }
                return Ok(());
            }
            "since" | "after" => {
                query.since = Some(day(name, value)?);
                return Ok(());
            }
            "until" | "before" => {
                query.until = Some(day(name, value)?);
                return Ok(());
            }
            _ => {}
        }
    }
    if let Some(number) = incident_number(&lower) {
        query.incidents.push(number);
        return Ok(());
    }
    let negated = text.starts_with('-') && text.len() > 1;
    let body = if negated { &text[1..] } else { text };
    let prefix = body.ends_with('*');
    let body = body.trim_end_matches('*');
    let words = words_of(body);
    match (words.len(), prefix) {
        (0, _) => {}
        (1, true) if words[0].chars().count() < 2 => {
            return Err(QueryError(format!(
                "`{text}`: a prefix needs at least two letters before the `*`"
            )));
        }
        (1, true) => push(query, Word::Prefix(words[0].clone()), negated),
        (1, false) => push(query, Word::Plain(words[0].clone()), negated),
        // `checkout-api` or `db.primary`: the words next to each other.
        (_, _) => push(query, Word::Phrase(words), negated),
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Ord {
    Ge,
    Le,
}

fn severity_level(value: &str) -> Result<u8, QueryError> {
    let digits = value.trim().trim_start_matches("sev");
    match digits.parse::<u8>() {
        Ok(level @ 1..=4) => Ok(level),
        _ => Err(QueryError(format!(
            "`{value}` is not a severity: use 1 to 4 (`sev:1`, `sev>=2`)"
        ))),
    }
}

fn statuses(value: &str) -> Result<Vec<Status>, QueryError> {
    match value {
        // The everyday word for the statuses still being worked on.
        "open" | "active" => Ok(Status::ALL
            .iter()
            .copied()
            .filter(|status| status.is_active())
            .collect()),
        other => Status::parse(other)
            .map(|status| vec![status])
            .map_err(|e| QueryError(format!("`status:{value}`: {e}"))),
    }
}

fn day(name: &str, value: &str) -> Result<Timestamp, QueryError> {
    let date: Date = value.parse().map_err(|_| {
        QueryError(format!(
            "`{name}:{value}` is not a day: write it as 2026-01-31"
        ))
    })?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|zoned| zoned.timestamp())
        .map_err(|_| QueryError(format!("`{name}:{value}` is out of range")))
}

/// `INC-42`, `inc42` or `#42`.
fn incident_number(lower: &str) -> Option<IncidentNumber> {
    let digits = lower
        .strip_prefix("inc-")
        .or_else(|| lower.strip_prefix("inc"))
        .or_else(|| lower.strip_prefix('#'))?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0).map(IncidentNumber)
}

/// The words of a piece of text: letters and digits, lowercased; everything else separates.
pub fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

enum Token {
    Bare(String),
    Phrase { words: Vec<String>, negated: bool },
}

/// Splits on white space, keeping `"quoted phrases"` (and `-"excluded phrases"`) whole.
fn tokens(raw: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let (negated, after) = match rest.strip_prefix("-\"") {
            Some(after) => (true, after),
            None => match rest.strip_prefix('"') {
                Some(after) => (false, after),
                None => {
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    tokens.push(Token::Bare(rest[..end].to_owned()));
                    rest = rest[end..].trim_start();
                    continue;
                }
            },
        };
        let Some(end) = after.find('"') else {
            return Err(QueryError(
                "a phrase is missing its closing quote (\")".to_owned(),
            ));
        };
        tokens.push(Token::Phrase {
            words: words_of(&after[..end]),
            negated,
        });
        rest = after[end + 1..].trim_start();
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(word: &str) -> Word {
        Word::Plain(word.to_owned())
    }

    #[test]
    fn words_phrases_prefixes_and_exclusions() {
        let query = parse(r#"checkout "connection pool" pay* -staging db.primary"#).unwrap();
        assert_eq!(
            query.words,
            vec![
                plain("checkout"),
                Word::Phrase(vec!["connection".into(), "pool".into()]),
                Word::Prefix("pay".into()),
                Word::Phrase(vec!["db".into(), "primary".into()]),
            ]
        );
        assert_eq!(query.excluded, vec![plain("staging")]);
    }

    #[test]
    fn filters_are_read_beside_the_words() {
        let query = parse(
            "timeout status:resolved,closed sev>=2 service:checkout role:@anna kind:note since:2026-01-01 until:2026-02-01",
        )
        .unwrap();
        assert_eq!(query.words, vec![plain("timeout")]);
        assert_eq!(query.statuses, vec![Status::Resolved, Status::Closed]);
        assert_eq!(query.severities, vec![Severity::Sev1, Severity::Sev2]);
        assert_eq!(query.services, vec!["checkout".to_owned()]);
        assert_eq!(query.person.as_deref(), Some("anna"));
        assert_eq!(query.kinds, vec![EntryKind::Note]);
        assert_eq!(query.since, Some("2026-01-01T00:00:00Z".parse().unwrap()));
        assert!(query.until.is_some());
        assert_eq!(
            parse("sev<=3").unwrap().severities,
            vec![Severity::Sev3, Severity::Sev4]
        );
        assert_eq!(parse("sev:1").unwrap().severities, vec![Severity::Sev1]);
        assert_eq!(
            parse("status:open").unwrap().statuses,
            vec![
                Status::Investigating,
                Status::Identified,
                Status::Monitoring
            ]
        );
    }

    #[test]
    fn incident_numbers_are_recognised() {
        for raw in ["INC-42", "inc42", "#42"] {
            assert_eq!(
                parse(raw).unwrap().incidents,
                vec![IncidentNumber(42)],
                "{raw}"
            );
        }
        assert_eq!(parse("incoming").unwrap().words, vec![plain("incoming")]);
    }

    #[test]
    fn urls_and_colons_in_words_are_words() {
        let query = parse("https://status.example.com").unwrap();
        assert!(matches!(&query.words[0], Word::Phrase(words) if words[0] == "https"));
        // An unknown filter name is just text.
        assert_eq!(
            parse("error:42").unwrap().words,
            vec![Word::Phrase(vec!["error".into(), "42".into()])]
        );
    }

    #[test]
    fn mistakes_are_explained() {
        for (raw, says) in [
            ("sev:9", "not a severity"),
            ("status:sleeping", "status"),
            ("since:yesterday", "2026-01-31"),
            ("\"unclosed", "closing quote"),
            ("-staging", "besides"),
            ("kind:tweet", "a kind is one of"),
            ("a*", "two letters"),
            ("INC-4 -staging", "besides"),
            ("kind:note", "give it some"),
        ] {
            let error = parse(raw).unwrap_err().0;
            assert!(error.contains(says), "{raw}: {error}");
        }
        assert!(parse(&"a ".repeat(300)).is_err());
        // Lowercasing that changes byte lengths does not upset the filters.
        assert_eq!(
            parse("service:İZMİR").unwrap().services,
            vec!["İZMİR".to_owned()]
        );
        assert!(parse("İZMİR:x").is_ok());
        assert!(parse("Ⱥ:é").is_ok());
        assert!(parse(&"word ".repeat(17)).is_err());
    }

    #[test]
    fn an_empty_query_is_empty() {
        assert!(parse("   ").unwrap().is_empty());
        assert!(!parse("status:resolved").unwrap().has_text());
    }
}
