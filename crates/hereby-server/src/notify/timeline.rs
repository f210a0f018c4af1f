//! The workers' own notes on an incident's timeline (a reminder sent, a follow-up reminded),
//! written as the system's user through the application layer.

use hereby_core::Command;
use hereby_core::types::{IncidentNumber, Text, UserName};
use hereby_store::{Notifications, Store};

use crate::AppState;

/// The name reminders are recorded under on the timeline.
pub(super) const SYSTEM_ACTOR: &str = hereby_core::roles::SYSTEM_ACTOR;

/// Adds a note to the incident's timeline as [`SYSTEM_ACTOR`].
pub(super) async fn note<S: Store + Notifications>(
    state: &AppState<S>,
    number: IncidentNumber,
    text: &str,
) {
    let (Ok(actor), Ok(text)) = (UserName::parse(SYSTEM_ACTOR), Text::parse(text)) else {
        return;
    };
    if let Err(error) = state
        .app
        .record(&actor, number, Command::AddNote { text })
        .await
    {
        tracing::warn!(%number, %error, "cannot note a reminder on the timeline");
    }
}
