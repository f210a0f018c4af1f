//! The hash chain over an incident's stream: how an event's hash is computed, and the
//! verifier that walks a stream and names the first broken link.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::event::Event;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first event of every stream.
pub const GENESIS: Hash = [0; 32];

/// The stored fields of one event that the hash covers. Everything a reader relies on is
/// here; the global position is not, because the database assigns it after the fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    /// The incident number the stream belongs to.
    pub incident: u64,
    /// 1-based position in the incident's stream.
    pub sequence: u64,
    /// Recording time, in microseconds since the Unix epoch.
    pub recorded_at_micros: i64,
    pub actor: &'a str,
    pub event_type: &'a str,
    pub event_version: u32,
    /// The canonical JSON body exactly as stored.
    pub body: &'a str,
}

impl ChainedFields<'_> {
    /// `sha256(prev_hash ‖ canonical bytes of this event)`. Each field is length-prefixed, so
    /// no two different events share canonical bytes.
    pub fn hash(&self, prev_hash: &Hash) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(prev_hash);
        hasher.update(b"hereby-event-v1");
        for field in [
            self.incident.to_be_bytes().as_slice(),
            self.sequence.to_be_bytes().as_slice(),
            self.recorded_at_micros.to_be_bytes().as_slice(),
            self.actor.as_bytes(),
            self.event_type.as_bytes(),
            self.event_version.to_be_bytes().as_slice(),
            self.body.as_bytes(),
        ] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field);
        }
        hasher.finalize().into()
    }
}

/// One stored link of a chain, as read back from a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub incident: u64,
    pub sequence: u64,
    pub recorded_at_micros: i64,
    pub actor: String,
    pub event_type: String,
    pub event_version: u32,
    pub body: String,
    /// As stored; not necessarily 32 bytes when the row was damaged.
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl StoredLink {
    /// The fields the hash covers.
    pub fn fields(&self) -> ChainedFields<'_> {
        ChainedFields {
            incident: self.incident,
            sequence: self.sequence,
            recorded_at_micros: self.recorded_at_micros,
            actor: &self.actor,
            event_type: &self.event_type,
            event_version: self.event_version,
            body: &self.body,
        }
    }
}

/// What is wrong at a broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// An event belongs to another stream.
    WrongIncident { found: u64 },
    /// A sequence number is missing or repeated: an event was removed or inserted.
    SequenceGap { expected: u64, found: u64 },
    /// `prev_hash` does not match the previous event's hash: something before was changed.
    PrevHashMismatch,
    /// The stored hash does not match the stored fields: this event was changed.
    HashMismatch,
    /// The body is not a valid event of its type and version.
    Undecodable(String),
    /// The stream ends before the head recorded for it: events at the end were removed.
    Truncated { expected_version: u64, found: u64 },
    /// The stream's last hash differs from the head recorded for it.
    HeadMismatch,
    /// The stored state or list row of the incident is not what its events add up to.
    ProjectionMismatch,
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakKind::WrongIncident { found } => {
                write!(f, "event belongs to INC-{found}")
            }
            BreakKind::SequenceGap { expected, found } => {
                write!(f, "expected event #{expected}, found #{found}")
            }
            BreakKind::PrevHashMismatch => {
                f.write_str("prev_hash does not match the previous event's hash")
            }
            BreakKind::HashMismatch => {
                f.write_str("stored hash does not match the event's content")
            }
            BreakKind::Undecodable(problem) => write!(f, "body cannot be decoded: {problem}"),
            BreakKind::Truncated {
                expected_version,
                found,
            } => write!(
                f,
                "stream has {found} events but its head says {expected_version}"
            ),
            BreakKind::HeadMismatch => f.write_str("last hash differs from the recorded head"),
            BreakKind::ProjectionMismatch => {
                f.write_str("the stored incident state differs from what its events add up to")
            }
        }
    }
}

/// The first broken link of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub incident: u64,
    /// The sequence number at which the chain breaks.
    pub sequence: u64,
    pub kind: BreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "INC-{} breaks at event #{}: {}",
            self.incident, self.sequence, self.kind
        )
    }
}

impl std::error::Error for ChainBreak {}

/// Walks a stream link by link. Feed it the links in sequence order (in pages if the stream is
/// long), then call [`ChainVerifier::finish`] with the head recorded for the stream.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    incident: u64,
    next_sequence: u64,
    prev_hash: Hash,
}

impl ChainVerifier {
    /// Starts verifying the stream of `incident`.
    pub fn new(incident: u64) -> Self {
        Self {
            incident,
            next_sequence: 1,
            prev_hash: GENESIS,
        }
    }

    /// Checks the next link.
    pub fn check(&mut self, link: &StoredLink) -> Result<(), ChainBreak> {
        let broken = |kind| ChainBreak {
            incident: self.incident,
            sequence: link.sequence,
            kind,
        };
        if link.incident != self.incident {
            return Err(broken(BreakKind::WrongIncident {
                found: link.incident,
            }));
        }
        if link.sequence != self.next_sequence {
            return Err(ChainBreak {
                sequence: self.next_sequence,
                ..broken(BreakKind::SequenceGap {
                    expected: self.next_sequence,
                    found: link.sequence,
                })
            });
        }
        if link.prev_hash.as_slice() != self.prev_hash.as_slice() {
            return Err(broken(BreakKind::PrevHashMismatch));
        }
        let computed = link.fields().hash(&self.prev_hash);
        if link.hash.as_slice() != computed.as_slice() {
            return Err(broken(BreakKind::HashMismatch));
        }
        if let Err(problem) = Event::decode(&link.event_type, link.event_version, &link.body) {
            return Err(broken(BreakKind::Undecodable(problem.to_string())));
        }
        self.prev_hash = computed;
        self.next_sequence += 1;
        Ok(())
    }

    /// Checks that the stream ended where its recorded head says, with the same last hash.
    /// Returns the number of events verified.
    pub fn finish(self, head_version: u64, head_hash: &[u8]) -> Result<u64, ChainBreak> {
        let found = self.next_sequence - 1;
        if found != head_version {
            return Err(ChainBreak {
                incident: self.incident,
                // The first event missing (stream too short) or unknown to the head (too long).
                sequence: found.min(head_version) + 1,
                kind: BreakKind::Truncated {
                    expected_version: head_version,
                    found,
                },
            });
        }
        if head_hash != self.prev_hash.as_slice() {
            return Err(ChainBreak {
                incident: self.incident,
                sequence: found,
                kind: BreakKind::HeadMismatch,
            });
        }
        Ok(found)
    }
}
