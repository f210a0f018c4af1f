//! Verifying stored streams against their hash chains and recorded heads.

use hereby_core::chain::{BreakKind, ChainBreak, ChainVerifier};
use hereby_core::types::IncidentNumber;
use hereby_core::{State, evolve};

use crate::prepare::summarize;
use crate::{ListQuery, Store, StoreError};

/// Events are read in pages of this many, so verifying a long stream needs little memory.
const PAGE: u32 = 1_000;

/// The result of verifying every stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub incidents: u64,
    pub events: u64,
    /// The first broken link of each damaged stream.
    pub breaks: Vec<ChainBreak>,
}

/// Walks one incident's stream and checks each link and the recorded head, then checks that
/// the stored state snapshot and list row are what the events add up to (they are not hashed,
/// so this is how a doctored `incidents` row is caught). `Ok(Ok(n))` means all `n` events
/// verify; `Ok(Err(break))` names the first problem.
pub async fn verify_incident<S: Store>(
    store: &S,
    incident: IncidentNumber,
) -> Result<Result<u64, ChainBreak>, StoreError> {
    let head = store.head(incident).await?;
    let mut verifier = ChainVerifier::new(incident.0);
    let mut state = State::initial();
    let mut after = 0;
    loop {
        let page = store.read_stream(incident, after, PAGE).await?;
        for stored in &page {
            if let Err(broken) = verifier.check(&stored.link) {
                return Ok(Err(broken));
            }
            // The link verified, so it decodes.
            state = evolve(state, &stored.decode()?.into_envelope());
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = last.link.sequence,
            _ => break,
        }
    }
    let events = match verifier.finish(head.version, &head.last_hash) {
        Ok(events) => events,
        Err(broken) => return Ok(Err(broken)),
    };
    let mismatch = Err(ChainBreak {
        incident: incident.0,
        sequence: events,
        kind: BreakKind::ProjectionMismatch,
    });
    // A snapshot that cannot be decoded is rebuilt from the events on load, so it cannot
    // mislead; one that decodes must equal the fold.
    let loaded = store.load(incident).await?;
    let Some(folded) = state.incident() else {
        return Ok(mismatch);
    };
    if loaded.state != state {
        return Ok(mismatch);
    }
    let row = store
        .list_incidents(&ListQuery {
            limit: 1,
            before: Some(IncidentNumber(incident.0 + 1)),
            ..ListQuery::default()
        })
        .await?;
    if row.first() != Some(&summarize(incident, folded)) {
        return Ok(mismatch);
    }
    Ok(Ok(events))
}

/// Verifies every incident's stream.
pub async fn verify_all<S: Store>(store: &S) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let mut before = None;
    loop {
        let page = store
            .list_incidents(&ListQuery {
                limit: PAGE,
                before,
                ..ListQuery::default()
            })
            .await?;
        for summary in &page {
            report.incidents += 1;
            match verify_incident(store, summary.number).await? {
                Ok(events) => report.events += events,
                Err(broken) => report.breaks.push(broken),
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => before = Some(last.number),
            _ => break,
        }
    }
    report.breaks.sort_by_key(|b| b.incident);
    Ok(report)
}
