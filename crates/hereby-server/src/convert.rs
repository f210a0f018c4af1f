//! Explicit conversions between the domain and the wire shapes of `hereby-api`, and the
//! application's downloads as HTTP responses.

use hereby_api as api;
use hereby_core::Incident;
use hereby_core::types::IncidentNumber;
use hereby_store::{Channel, Delivery, IncidentSummary, RecordedEvent, Subscription};

use hereby_app::channels::ChannelConfig;
use jiff::Timestamp;

fn time(at: Timestamp) -> String {
    at.to_string()
}

pub(crate) fn summary(row: &IncidentSummary) -> api::IncidentSummary {
    api::IncidentSummary {
        id: row.number.to_string(),
        number: row.number.0,
        title: row.title.clone(),
        status: row.status.as_str().to_owned(),
        severity: row.severity.as_str().to_owned(),
        potential: row.potential,
        visibility: row.visibility.as_str().to_owned(),
        services: row.services.clone(),
        commander: row.commander.clone(),
        declared_at: time(row.declared_at),
        resolved_at: row.resolved_at.map(time),
        updated_at: time(row.updated_at),
        version: row.version,
    }
}

/// The incident state document.
pub(crate) fn document(
    number: IncidentNumber,
    incident: &Incident,
    policy: &hereby_core::Policy,
    cadence: &hereby_core::Cadence,
) -> api::IncidentDocument {
    let roles = &policy.roles;
    api::IncidentDocument {
        evaluation: incident
            .evaluation
            .as_ref()
            .map(|evaluation| api::EvaluationView {
                suggested: evaluation.suggested.as_str().to_owned(),
                rule: evaluation.rule.clone(),
                chosen: evaluation.chosen.as_str().to_owned(),
                reason: evaluation.reason.as_ref().map(ToString::to_string),
                at: time(evaluation.at),
                by: evaluation.by.to_string(),
            }),
        suspect_release: incident.suspect_release.as_ref().map(release_ref),
        decision: incident.decisions.last().map(decision),
        open_intents: incident.open_intents().map(intent).collect(),
        open_collisions: incident.open_collisions().map(collision).collect(),
        collisions: incident.collisions.iter().map(collision).collect(),
        witness_required: incident.witness_required,
        unstaffed_roles: hereby_core::changes::unstaffed_roles(incident, policy, Timestamp::now())
            .into_iter()
            .map(ToString::to_string)
            .collect(),
        next_update_due: incident.next_update_due(cadence).map(time),
        id: number.to_string(),
        number: number.0,
        version: incident.version,
        title: incident.title.to_string(),
        summary: incident.summary.as_ref().map(ToString::to_string),
        public_summary: incident.public_summary.as_ref().map(ToString::to_string),
        status: incident.status.as_str().to_owned(),
        severity: incident.severity.as_str().to_owned(),
        potential: incident.potential,
        visibility: incident.visibility.as_str().to_owned(),
        services: incident.services.iter().map(ToString::to_string).collect(),
        declared_at: time(incident.declared_at),
        declared_by: incident.declared_by.to_string(),
        resolved_at: incident.resolved_at.map(time),
        updated_at: time(incident.updated_at),
        commander: incident.commander().map(ToString::to_string),
        roles: roles
            .roles()
            .iter()
            .map(|role| api::RoleHolders {
                role: role.key.to_string(),
                name: role.name.clone(),
                holders: incident
                    .holders_of(role.key.as_str())
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                duties: role.duties.clone(),
            })
            .collect(),
        pending_handoff: incident
            .pending_handoff
            .as_ref()
            .map(|pending| api::PendingHandoff {
                from: pending.from.to_string(),
                to: pending.to.to_string(),
                requested_at: time(pending.requested_at),
            }),
        impact_start: incident.impact.start.map(time),
        impact_end: incident.impact.end.map(time),
        milestones: {
            let milestones = hereby_core::milestones::Milestones::of(incident);
            api::Milestones {
                started: milestones.started.map(time),
                detected: milestones.detected.map(time),
                acknowledged: milestones.acknowledged.map(time),
                mitigated: milestones.mitigated.map(time),
                resolved: milestones.resolved.map(time),
                closed: milestones.closed.map(time),
            }
        },
        action_items: incident
            .action_items
            .values()
            .map(|item| api::ActionItem {
                item: item.item,
                text: item.text.to_string(),
                owner: item.owner.to_string(),
                due: item.due.map(|due| due.to_string()),
                kind: item.kind.as_str().to_owned(),
                state: item.state.as_str().to_owned(),
                tracker_url: item.tracker_url.as_ref().map(ToString::to_string),
                wont_fix_reason: item.wont_fix_reason.as_ref().map(ToString::to_string),
                tracker: item.tracker.as_ref().map(|link| link.tracker.to_string()),
                tracker_key: item
                    .tracker
                    .as_ref()
                    .and_then(|link| link.key.as_ref())
                    .map(ToString::to_string),
            })
            .collect(),
        members: incident.members.iter().map(ToString::to_string).collect(),
    }
}

pub(crate) fn entry(event: &RecordedEvent) -> api::TimelineEntry {
    let event_type = event.event.event_type();
    let body =
        serde_json::from_str(&event.event.canonical_body()).unwrap_or(serde_json::Value::Null);
    api::TimelineEntry {
        position: event.position,
        incident: event.incident.to_string(),
        sequence: event.sequence,
        at: time(event.at),
        actor: event.actor.to_string(),
        text: hereby_app::describe::sentence(event_type, &body, event.actor.as_str()),
        event_type: event_type.to_owned(),
        body,
    }
}

pub(crate) fn release_ref(release: &hereby_core::ladder::ReleaseRef) -> api::ReleaseRef {
    api::ReleaseRef {
        service: release.service.to_string(),
        version: release.version.to_string(),
    }
}

pub(crate) fn decision(decision: &hereby_core::Decision) -> api::DecisionView {
    api::DecisionView {
        decision: decision.decision,
        option: decision.option.as_str().to_owned(),
        motivation: decision.motivation.to_string(),
        roll_back_to: decision.roll_back_to.as_ref().map(release_ref),
        items: decision.items.clone(),
        at: time(decision.at),
        by: decision.by.to_string(),
    }
}

pub(crate) fn intent(intent: &hereby_core::Intent) -> api::IntentView {
    api::IntentView {
        intent: intent.intent,
        target: intent.target.to_string(),
        action: intent.action.to_string(),
        by: intent.by.to_string(),
        at: time(intent.at),
        witness: intent.witness.as_ref().map(ToString::to_string),
        state: intent.state.as_str().to_owned(),
    }
}

pub(crate) fn collision(collision: &hereby_core::Collision) -> api::CollisionView {
    api::CollisionView {
        collision: collision.collision,
        at: time(collision.at),
        people: collision.people.iter().map(ToString::to_string).collect(),
        earlier: collision.earlier,
        later: collision.later,
        acknowledged: collision.acknowledged,
        unattributed: collision.unattributed,
    }
}

pub(crate) fn release(release: &hereby_store::Release) -> api::Release {
    api::Release {
        service: release.service.to_string(),
        version: release.version.to_string(),
        at: time(release.deployed_at),
        recorded_by: release.recorded_by.to_string(),
        notes: release.notes.clone(),
    }
}

/// A channel as the API shows it: its target, never a secret.
pub(crate) fn channel(channel: &Channel) -> api::Channel {
    let target = serde_json::from_str::<ChannelConfig>(&channel.config)
        .map(|config| config.target())
        .unwrap_or_else(|_| "(unreadable settings)".to_owned());
    api::Channel {
        id: channel.id,
        name: channel.name.clone(),
        kind: channel.kind.clone(),
        target,
        personal: channel.personal,
        concurrency: channel.concurrency,
        created_at: channel.created_at.to_string(),
    }
}

/// A subscription, with its channel's name.
pub(crate) fn subscription(subscription: &Subscription, channels: &[Channel]) -> api::Subscription {
    api::Subscription {
        id: subscription.id,
        channel_id: subscription.channel_id,
        channel: channels
            .iter()
            .find(|c| c.id == subscription.channel_id)
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        recipient: subscription.recipient.clone(),
        events: subscription.events.clone(),
        audience: subscription.audience.clone(),
        scope: subscription.scope.clone(),
        created_at: subscription.created_at.to_string(),
    }
}

/// A delivery of the outbox.
pub(crate) fn delivery(delivery: &Delivery) -> api::Delivery {
    api::Delivery {
        id: delivery.id,
        idempotency_key: delivery.key.clone(),
        channel_id: delivery.channel_id,
        recipient: delivery.recipient.clone(),
        incident: delivery.incident.map(|n| format!("INC-{n}")),
        kind: delivery.kind.clone(),
        subject: delivery.subject.clone(),
        state: delivery.state.as_str().to_owned(),
        attempts: delivery.attempts,
        next_attempt_at: delivery.next_attempt_at.to_string(),
        last_error: delivery.last_error.clone(),
        created_at: delivery.created_at.to_string(),
        finished_at: delivery.finished_at.map(|t| t.to_string()),
    }
}

/// What a write answers: the incident, its new version and the entries appended.
pub(crate) fn write_result(outcome: &hereby_app::Outcome) -> api::WriteResult {
    api::WriteResult {
        id: outcome.incident.to_string(),
        version: outcome.version,
        entries: outcome.events.iter().map(entry).collect(),
        warnings: Vec::new(),
    }
}

/// An attachment's content as a download, never rendered by the browser as a page: served
/// as `attachment`, under a media type that no browser runs (see [`served_media_type`]),
/// with `nosniff` and a sandboxing content security policy besides.
pub(crate) fn download(attachment: api::Attachment, content: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (
                header::CONTENT_TYPE,
                served_media_type(&attachment.media_type).to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&attachment.name),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
        ],
        axum::body::Body::from(content),
    )
        .into_response()
}

/// The media type an attachment is served with. Whoever uploads chooses the stored type, so
/// a type a browser would run on the UI's origin (HTML, SVG, XML, JavaScript …) must never
/// be served as such: known-inert types are kept, other text is served as plain text, and
/// everything else as bytes to save.
pub(crate) fn served_media_type(stored: &str) -> &'static str {
    let essence = stored
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    const INERT: &[&str] = &[
        "text/plain",
        "text/csv",
        "application/json",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-tar",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
    ];
    match INERT.iter().find(|inert| **inert == essence) {
        Some(inert) => inert,
        None if essence.starts_with("text/") => "text/plain; charset=utf-8",
        None => "application/octet-stream",
    }
}

/// `attachment` with the file's name as RFC 6266 gives it: a plain-ASCII `filename` for old
/// clients and the exact name, percent-encoded as UTF-8, in `filename*`.
pub(crate) fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// A file the application made (a post-mortem export, a meeting invitation) as a download:
/// its media type, and a name to save it under rather than a page to show.
pub(crate) fn file(download: hereby_app::Download) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, download.media_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&download.file_name),
            ),
        ],
        axum::body::Body::from(download.content),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{content_disposition, served_media_type};

    #[test]
    fn nothing_a_browser_runs_is_served_as_such() {
        for dangerous in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "application/xhtml+xml",
            "image/svg+xml",
            "text/javascript",
            "application/javascript",
            "text/xml",
            "application/xml",
        ] {
            let served = served_media_type(dangerous);
            assert!(
                served == "text/plain; charset=utf-8" || served == "application/octet-stream",
                "{dangerous} served as {served}"
            );
        }
        assert_eq!(served_media_type("image/png"), "image/png");
        assert_eq!(served_media_type("text/plain"), "text/plain");
        assert_eq!(
            served_media_type("application/x-ms"),
            "application/octet-stream"
        );
    }

    #[test]
    fn file_names_follow_rfc_6266() {
        assert_eq!(
            content_disposition("db.log"),
            "attachment; filename=\"db.log\"; filename*=UTF-8''db.log"
        );
        assert_eq!(
            content_disposition("Störung \"prod\".log"),
            "attachment; filename=\"St_rung _prod_.log\"; filename*=UTF-8''St%C3%B6rung%20%22prod%22.log"
        );
    }
}
