//! What every backend does between reading a stream's head and writing rows: check the
//! expected version, chain the hashes, fold the new state and build the projection rows.
//! Keeping it here means the backends differ only in SQL.

use std::collections::BTreeMap;

use hereby_core::chain::{ChainedFields, GENESIS, Hash, StoredLink};
use hereby_core::types::IncidentNumber;
use hereby_core::{Envelope, Event, Incident, State, evolve};

use crate::{Appended, IncidentSummary, NewEvents, RecordedEvent, StoreError};

/// The format of the state snapshot kept in the `incidents` row. A snapshot in another format
/// is ignored and the state is rebuilt from the stream, so bumping this is always safe.
/// Format 2: the state keeps change marks built from operations (for change collisions), so
/// snapshots of format 1 are rebuilt from their streams. Format 3: the state keeps the
/// acknowledged and mitigated milestones, derived from the whole stream.
pub const STATE_FORMAT: i64 = 3;

/// A stream's head as read inside the write transaction.
#[derive(Debug, Clone)]
pub struct CurrentHead {
    pub version: u64,
    pub last_hash: Hash,
    pub state: State,
}

impl CurrentHead {
    /// The head of a stream that does not exist yet.
    pub fn empty() -> Self {
        Self {
            version: 0,
            last_hash: GENESIS,
            state: State::initial(),
        }
    }
}

/// Everything a backend writes for one append.
#[derive(Debug, Clone)]
pub struct PreparedAppend {
    pub incident: IncidentNumber,
    /// The event rows, in sequence order; the backend gives each a position.
    pub rows: Vec<StoredLink>,
    pub version: u64,
    pub last_hash: Hash,
    /// The state after the append, and its snapshot as JSON in [`STATE_FORMAT`].
    pub state: State,
    pub snapshot: String,
    pub summary: IncidentSummary,
    /// The same summary's JSON columns.
    pub roles_json: String,
    pub services_json: String,
    /// The `incident_members` rows after the append: every role holder and explicitly added
    /// member, by name, each once.
    pub members: Vec<String>,
    /// Whether `members` differs from the rows before the append (always, for a new stream).
    pub members_changed: bool,
    events: Vec<Event>,
    batch_actor: hereby_core::types::UserName,
    batch_at: jiff::Timestamp,
}

/// Checks and prepares an append. `expected_version` is `None` for a declare, which must find
/// an empty stream and start with `IncidentDeclared`.
pub fn prepare_append(
    incident: IncidentNumber,
    current: CurrentHead,
    expected_version: Option<u64>,
    batch: &NewEvents,
) -> Result<PreparedAppend, StoreError> {
    if batch.events.is_empty() {
        return Err(StoreError::Invalid(
            "a write needs at least one event".into(),
        ));
    }
    let declarations = batch
        .events
        .iter()
        .filter(|event| matches!(event, Event::IncidentDeclared(_)))
        .count();
    match expected_version {
        None => {
            if !matches!(batch.events.first(), Some(Event::IncidentDeclared(_)))
                || declarations != 1
            {
                return Err(StoreError::Invalid(
                    "a new incident's stream starts with exactly one declaration".into(),
                ));
            }
            if current.version != 0 {
                return Err(StoreError::Invalid(format!("{incident} already exists")));
            }
        }
        Some(expected) => {
            if declarations != 0 {
                return Err(StoreError::Invalid(
                    "an existing incident cannot be declared again".into(),
                ));
            }
            if current.version != expected {
                return Err(StoreError::Conflict {
                    incident,
                    expected,
                    actual: current.version,
                });
            }
        }
    }

    let members_before = current.state.incident().map(member_names);
    let micros = batch.at.as_microsecond();
    let mut state = current.state;
    let mut prev_hash = current.last_hash;
    let mut rows = Vec::with_capacity(batch.events.len());
    for (offset, event) in batch.events.iter().enumerate() {
        let sequence = current.version + offset as u64 + 1;
        let body = event.canonical_body();
        let hash = ChainedFields {
            incident: incident.0,
            sequence,
            recorded_at_micros: micros,
            actor: batch.actor.as_str(),
            event_type: event.event_type(),
            event_version: event.event_version(),
            body: &body,
        }
        .hash(&prev_hash);
        rows.push(StoredLink {
            incident: incident.0,
            sequence,
            recorded_at_micros: micros,
            actor: batch.actor.as_str().to_owned(),
            event_type: event.event_type().to_owned(),
            event_version: event.event_version(),
            body,
            prev_hash: prev_hash.to_vec(),
            hash: hash.to_vec(),
        });
        prev_hash = hash;
        state = evolve(
            state,
            &Envelope {
                at: batch.at,
                actor: batch.actor.clone(),
                event: event.clone(),
            },
        );
    }
    let Some(declared) = state.incident() else {
        return Err(StoreError::Invalid(format!(
            "{incident} has not been declared"
        )));
    };
    let summary = summarize(incident, declared);
    let roles_json = serde_json::to_string(&summary.roles).unwrap_or_else(|_| "{}".into());
    let services_json = serde_json::to_string(&summary.services).unwrap_or_else(|_| "[]".into());
    let members = member_names(declared);
    let members_changed = members_before.as_ref() != Some(&members);
    let snapshot = encode_snapshot(&state)?;
    Ok(PreparedAppend {
        incident,
        rows,
        version: current.version + batch.events.len() as u64,
        last_hash: prev_hash,
        state,
        snapshot,
        summary,
        roles_json,
        services_json,
        members,
        members_changed,
        events: batch.events.clone(),
        batch_actor: batch.actor.clone(),
        batch_at: batch.at,
    })
}

impl PreparedAppend {
    /// Whether this append starts its stream (a declare), so no rows of it exist yet.
    pub fn starts_stream(&self) -> bool {
        self.rows.first().is_some_and(|row| row.sequence == 1)
    }

    /// The acknowledgement, once the backend has committed the rows at `first_position`,
    /// `first_position + 1`, …
    pub fn appended(self, first_position: i64) -> Appended {
        let events = self
            .rows
            .iter()
            .zip(self.events)
            .enumerate()
            .map(|(offset, (row, event))| RecordedEvent {
                position: first_position + offset as i64,
                incident: self.incident,
                sequence: row.sequence,
                at: self.batch_at,
                actor: self.batch_actor.clone(),
                event,
                hash: row.hash.as_slice().try_into().unwrap_or(GENESIS),
            })
            .collect();
        Appended {
            incident: self.incident,
            version: self.version,
            events,
            state: self.state,
        }
    }
}

/// The projection row for an incident.
pub fn summarize(number: IncidentNumber, incident: &Incident) -> IncidentSummary {
    let roles: BTreeMap<String, Vec<String>> = incident
        .roles
        .iter()
        .map(|(role, holders)| {
            (
                role.as_str().to_owned(),
                holders.iter().map(|h| h.as_str().to_owned()).collect(),
            )
        })
        .collect();
    IncidentSummary {
        number,
        title: incident.title.as_str().to_owned(),
        summary: incident
            .summary
            .as_ref()
            .map_or_else(String::new, |summary| summary.as_str().to_owned()),
        status: incident.status,
        severity: incident.severity,
        potential: incident.potential,
        visibility: incident.visibility,
        services: incident
            .services
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        commander: incident.commander().map(|c| c.as_str().to_owned()),
        roles,
        declared_at: incident.declared_at,
        resolved_at: incident.resolved_at,
        updated_at: incident.updated_at,
        version: incident.version,
    }
}

/// The names in an incident's `incident_members` rows, sorted.
fn member_names(incident: &Incident) -> Vec<String> {
    incident
        .all_members()
        .into_iter()
        .map(|name| name.as_str().to_owned())
        .collect()
}

/// Serializes a state snapshot.
pub fn encode_snapshot(state: &State) -> Result<String, StoreError> {
    serde_json::to_string(state)
        .map_err(|e| StoreError::Corrupt(format!("state cannot be serialized: {e}")))
}

/// Reads a snapshot back, or `None` when it is in another format or unreadable, in which
/// case the caller rebuilds the state from the stream.
pub fn decode_snapshot(format: i64, json: &str) -> Option<State> {
    if format != STATE_FORMAT {
        return None;
    }
    serde_json::from_str(json).ok()
}

/// Rebuilds a state from a stream's stored events.
pub fn replay(events: &[crate::StoredEvent]) -> Result<State, StoreError> {
    let mut state = State::initial();
    for stored in events {
        state = evolve(state, &stored.decode()?.into_envelope());
    }
    Ok(state)
}

/// Parses a stored 32-byte hash.
pub fn stored_hash(incident: IncidentNumber, bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{incident}: stored head hash is not 32 bytes")))
}

/// Parses a status/severity/visibility column.
pub fn column<T>(
    incident: i64,
    name: &str,
    parsed: Result<T, hereby_core::types::InvalidValue>,
) -> Result<T, StoreError> {
    parsed.map_err(|e| StoreError::Corrupt(format!("INC-{incident} column {name}: {e}")))
}

/// Converts a stored microsecond count into a timestamp.
pub fn timestamp(micros: i64) -> Result<jiff::Timestamp, StoreError> {
    jiff::Timestamp::from_microsecond(micros)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {micros}: {e}")))
}

/// The `LIKE` pattern (with `\` as its escape character) that finds `needle` anywhere in a
/// text whose ASCII letters were lowered: the needle's ASCII letters are lowered the same way
/// and `%`, `_` and `\` stand for themselves.
pub fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c.to_ascii_lowercase());
    }
    pattern.push('%');
    pattern
}

/// Converts a non-negative database integer into a count.
pub fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The `incidents` projection columns as a backend reads them.
#[derive(Debug, Clone)]
pub struct RawSummary {
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub status: String,
    pub severity: String,
    pub potential: bool,
    pub visibility: String,
    pub services_json: String,
    pub commander: Option<String>,
    pub roles_json: String,
    pub declared_at: i64,
    pub resolved_at: Option<i64>,
    pub updated_at: i64,
    pub version: i64,
}

impl RawSummary {
    /// Checks and converts the columns.
    pub fn into_summary(self) -> Result<IncidentSummary, StoreError> {
        use hereby_core::types::{Severity, Status, Visibility};
        let n = self.number;
        let json_corrupt = |name: &str, e: serde_json::Error| {
            StoreError::Corrupt(format!("INC-{n} column {name}: {e}"))
        };
        Ok(IncidentSummary {
            number: IncidentNumber(count(n)),
            title: self.title,
            summary: self.summary,
            status: column(n, "status", Status::parse(&self.status))?,
            severity: column(n, "severity", Severity::parse(&self.severity))?,
            potential: self.potential,
            visibility: column(n, "visibility", Visibility::parse(&self.visibility))?,
            services: serde_json::from_str(&self.services_json)
                .map_err(|e| json_corrupt("services", e))?,
            commander: self.commander,
            roles: serde_json::from_str(&self.roles_json).map_err(|e| json_corrupt("roles", e))?,
            declared_at: timestamp(self.declared_at)?,
            resolved_at: self.resolved_at.map(timestamp).transpose()?,
            updated_at: timestamp(self.updated_at)?,
            version: count(self.version),
        })
    }
}
