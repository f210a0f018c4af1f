//! One picture of the public status page, built from the store and rendered once into every
//! format it is served in: the Statuspage-compatible JSON documents, the HTML page and the
//! Atom feed. Only public incidents and their public updates go in; restricted and internal
//! incidents are never read into it.

use std::collections::BTreeMap;

use atom_syndication as atom;
use axum::body::Bytes;
use hereby_core::Event;
use hereby_core::public::{self, Impact};
use hereby_core::types::{ComponentStatus, IncidentNumber, Status, Visibility};
use hereby_store::{Communications, Component, IncidentSummary, ListQuery, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::html::render;

/// How far back the page's history reaches.
pub(crate) const HISTORY: SignedDuration = SignedDuration::from_hours(90 * 24);

/// The most incidents the page considers (newest first); older public incidents fall off.
const MAX_INCIDENTS: u32 = 500;

/// The most updates read per incident.
const MAX_UPDATES: u32 = 1_000;

/// How many incidents `incidents.json` and the feed carry, as Statuspage does.
const RECENT: usize = 50;

/// The page's identity, as the JSON documents name it.
#[derive(Debug, Clone)]
pub(crate) struct PageInfo {
    pub(crate) name: String,
    /// Where people reach the server, without a trailing slash; empty gives relative links.
    pub(crate) base_url: String,
    /// When nothing on the page has a newer time, its `updated_at`.
    pub(crate) since: Timestamp,
}

/// One served document: its bytes and their entity tag.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) body: Bytes,
    /// The quoted tag, made once so that serving it is a copy.
    pub(crate) etag: axum::http::HeaderValue,
}

impl Document {
    fn new(body: Vec<u8>) -> Self {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Self {
            // Hex digits and quotes are always a valid header value.
            etag: axum::http::HeaderValue::from_str(&etag)
                .unwrap_or(axum::http::HeaderValue::from_static("\"\"")),
            body: Bytes::from(body),
        }
    }

    fn json(value: &Value) -> Self {
        Self::new(serde_json::to_vec(value).unwrap_or_default())
    }
}

/// Every document of the page, rendered.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub(crate) summary: Document,
    pub(crate) status: Document,
    pub(crate) components: Document,
    pub(crate) incidents: Document,
    pub(crate) unresolved: Document,
    pub(crate) html: Document,
    pub(crate) atom: Document,
}

/// A public update as the page shows it.
#[derive(Debug, Clone, Serialize)]
struct PublicUpdate {
    id: String,
    /// The incident's status (Statuspage's set) when the update was posted.
    status: &'static str,
    body: String,
    at: Timestamp,
}

/// A public incident with what the page shows of it.
#[derive(Debug, Clone)]
struct PublicIncident {
    row: IncidentSummary,
    impact: Impact,
    status: &'static str,
    monitoring_at: Option<Timestamp>,
    /// What the team wrote for customers (Markdown), if anything.
    public_summary: Option<String>,
    /// Newest first.
    updates: Vec<PublicUpdate>,
    /// The components it affects (names).
    components: Vec<String>,
}

impl PublicIncident {
    fn unresolved(&self) -> bool {
        self.row.status.is_active()
    }

    fn ended_at(&self) -> Option<Timestamp> {
        (!self.unresolved()).then(|| self.row.resolved_at.unwrap_or(self.row.updated_at))
    }
}

/// A component with its status as shown.
#[derive(Debug, Clone)]
struct ShownComponent {
    component: Component,
    status: ComponentStatus,
}

/// Reads what the page shows from the store and renders it.
pub(crate) async fn build<S: Store + Communications>(
    store: &S,
    info: &PageInfo,
    now: Timestamp,
) -> Result<Rendered, StoreError> {
    let cutoff = now.checked_sub(HISTORY).unwrap_or(now);
    let rows = store
        .list_incidents(&ListQuery {
            limit: MAX_INCIDENTS,
            visibilities: vec![Visibility::Public],
            ..ListQuery::default()
        })
        .await?;
    let mut incidents = Vec::new();
    for row in rows {
        // The visibility filter is the query's; this check keeps a wrong query from ever
        // publishing an internal or restricted incident.
        if row.visibility != Visibility::Public {
            continue;
        }
        let recent = row.status.is_active() || row.updated_at >= cutoff;
        if recent {
            incidents.push(read_incident(store, row).await?);
        }
    }
    let components = shown_components(store.list_components().await?, &mut incidents);
    Ok(render_all(info, &components, &incidents))
}

/// Reads an incident's public updates and status history.
async fn read_incident<S: Store>(
    store: &S,
    row: IncidentSummary,
) -> Result<PublicIncident, StoreError> {
    let number = row.number;
    // The summary written for customers: set at declaration, changed by later events. The
    // internal summary is never read here.
    let mut public_summary = None;
    for stored in store
        .read_stream_of_type(number, "incident_declared", 0, 1)
        .await?
        .into_iter()
        .chain(
            store
                .read_stream_of_type(number, "public_summary_set", 0, MAX_UPDATES)
                .await?,
        )
    {
        match stored.decode()?.event {
            Event::IncidentDeclared(declared) => public_summary = declared.public_summary,
            Event::PublicSummarySet(set) => public_summary = set.text,
            _ => {}
        }
    }
    let mut changes = Vec::new();
    for stored in store
        .read_stream_of_type(number, "status_changed", 0, MAX_UPDATES)
        .await?
    {
        let recorded = stored.decode()?;
        if let Event::StatusChanged(change) = recorded.event {
            changes.push((recorded.sequence, recorded.at, change.to));
        }
    }
    let mut updates = Vec::new();
    for stored in store
        .read_stream_of_type(number, "update_posted", 0, MAX_UPDATES)
        .await?
    {
        let recorded = stored.decode()?;
        if let Event::UpdatePosted(update) = recorded.event
            && update.public
        {
            // The status in force when the update was posted: the last change before it.
            let status = changes
                .iter()
                .rev()
                .find(|(sequence, _, _)| *sequence < recorded.sequence)
                .map_or(Status::Investigating, |(_, _, to)| *to);
            updates.push(PublicUpdate {
                id: update_id(number, recorded.sequence),
                status: public::incident_status(status),
                body: update.body.as_str().to_owned(),
                at: recorded.at,
            });
        }
    }
    // When the incident has ended since its last public update, the page says so itself, so
    // that a reader never sees a finished incident whose newest word is "investigating".
    let current = public::incident_status(row.status);
    if !row.status.is_active()
        && let Some((sequence, at, _)) = changes.iter().rev().find(|(_, _, to)| !to.is_active())
        && updates.last().is_none_or(|last| last.status != current)
    {
        updates.push(PublicUpdate {
            id: update_id(number, *sequence),
            status: current,
            body: match row.status {
                Status::Resolved | Status::Closed => {
                    "This incident has been resolved. Thank you for your patience.".to_owned()
                }
                _ => "This turned out not to affect the service; no further updates will follow."
                    .to_owned(),
            },
            at: *at,
        });
    }
    updates.reverse();
    let monitoring_at = changes
        .iter()
        .find(|(_, _, to)| *to == Status::Monitoring)
        .map(|(_, at, _)| *at);
    Ok(PublicIncident {
        impact: public::impact(row.severity, row.potential),
        status: current,
        monitoring_at,
        public_summary: public_summary.map(|text| text.as_str().to_owned()),
        updates,
        components: Vec::new(),
        row,
    })
}

fn update_id(number: IncidentNumber, sequence: u64) -> String {
    format!("{number}-{sequence}")
}

/// Each component's status: set by hand, or the worst that an active public incident
/// affecting it implies. Also notes on each incident which components it affects.
fn shown_components(
    components: Vec<Component>,
    incidents: &mut [PublicIncident],
) -> Vec<ShownComponent> {
    components
        .into_iter()
        .map(|component| {
            let mut derived = ComponentStatus::Operational;
            for incident in incidents.iter_mut() {
                if incident
                    .row
                    .services
                    .iter()
                    .any(|s| s == component.name.as_str())
                {
                    incident.components.push(component.name.to_string());
                    derived = public::worse(
                        derived,
                        public::component_status(
                            incident.row.severity,
                            incident.row.status,
                            incident.row.potential,
                        ),
                    );
                }
            }
            ShownComponent {
                status: component.status.unwrap_or(derived),
                component,
            }
        })
        .collect()
}

fn iso(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn page_json(info: &PageInfo, updated_at: Timestamp) -> Value {
    json!({
        "id": "hereby",
        "name": info.name,
        "url": format!("{}/status", info.base_url),
        "time_zone": "Etc/UTC",
        "updated_at": iso(updated_at),
    })
}

fn component_json(shown: &ShownComponent) -> Value {
    let c = &shown.component;
    json!({
        "id": c.name.as_str(),
        "name": c.name.as_str(),
        "status": shown.status.as_str(),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "position": c.position,
        "description": (!c.description.is_empty()).then_some(c.description.as_str()),
        "showcase": true,
        "start_date": c.created_at.strftime("%Y-%m-%d").to_string(),
        "group_id": null,
        "page_id": "hereby",
        "group": false,
        "only_show_if_degraded": false,
    })
}

fn incident_json(
    info: &PageInfo,
    incident: &PublicIncident,
    components: &[ShownComponent],
) -> Value {
    let row = &incident.row;
    let id = row.number.to_string();
    let affected: Vec<Value> = components
        .iter()
        .filter(|shown| {
            incident
                .components
                .iter()
                .any(|c| c == shown.component.name.as_str())
        })
        .map(component_json)
        .collect();
    let updates: Vec<Value> = incident
        .updates
        .iter()
        .map(|update| {
            json!({
                "id": update.id,
                "status": update.status,
                "body": update.body,
                "incident_id": id,
                "created_at": iso(update.at),
                "updated_at": iso(update.at),
                "display_at": iso(update.at),
                "affected_components": null,
                "deliver_notifications": true,
                "custom_tweet": null,
                "tweet_id": null,
            })
        })
        .collect();
    json!({
        "id": id,
        "name": row.title,
        "status": incident.status,
        "created_at": iso(row.declared_at),
        "updated_at": iso(row.updated_at),
        "monitoring_at": incident.monitoring_at.map(iso),
        "resolved_at": incident.ended_at().map(iso),
        "impact": incident.impact.as_str(),
        "shortlink": format!("{}/status#{id}", info.base_url),
        "started_at": iso(row.declared_at),
        "page_id": "hereby",
        "incident_updates": updates,
        "components": affected,
    })
}

/// Renders every document from one consistent set of data.
fn render_all(
    info: &PageInfo,
    components: &[ShownComponent],
    incidents: &[PublicIncident],
) -> Rendered {
    let updated_at = incidents
        .iter()
        .map(|incident| incident.row.updated_at)
        .chain(components.iter().map(|shown| shown.component.updated_at))
        .max()
        .unwrap_or(info.since);
    let indicator = incidents
        .iter()
        .filter(|incident| incident.unresolved())
        .map(|incident| incident.impact)
        .chain(
            components
                .iter()
                .map(|shown| public::component_impact(shown.status)),
        )
        .max()
        .unwrap_or(Impact::None);
    let page = page_json(info, updated_at);
    let status = json!({ "indicator": indicator.as_str(), "description": indicator.description() });
    let components_json: Vec<Value> = components.iter().map(component_json).collect();
    let all: Vec<Value> = incidents
        .iter()
        .take(RECENT)
        .map(|incident| incident_json(info, incident, components))
        .collect();
    let unresolved: Vec<Value> = incidents
        .iter()
        .filter(|incident| incident.unresolved())
        .map(|incident| incident_json(info, incident, components))
        .collect();
    Rendered {
        summary: Document::json(&json!({
            "page": page,
            "components": components_json,
            "incidents": unresolved,
            "scheduled_maintenances": [],
            "status": status,
        })),
        status: Document::json(&json!({ "page": page, "status": status })),
        components: Document::json(&json!({ "page": page, "components": components_json })),
        incidents: Document::json(&json!({ "page": page, "incidents": all })),
        unresolved: Document::json(&json!({ "page": page, "incidents": unresolved })),
        html: Document::new(html(info, indicator, components, incidents, updated_at).into_bytes()),
        atom: Document::new(feed(info, incidents, updated_at).into_bytes()),
    }
}

/// The page people read: overall state, components, active incidents with their updates,
/// and the history of the last 90 days.
fn html(
    info: &PageInfo,
    indicator: Impact,
    components: &[ShownComponent],
    incidents: &[PublicIncident],
    updated_at: Timestamp,
) -> String {
    #[derive(Serialize)]
    struct IncidentView {
        id: String,
        title: String,
        status: &'static str,
        impact: &'static str,
        declared_at: String,
        ended_at: Option<String>,
        public_summary: Option<minijinja::Value>,
        updates: Vec<UpdateView>,
    }
    #[derive(Serialize)]
    struct UpdateView {
        id: String,
        status: &'static str,
        at: String,
        body: minijinja::Value,
    }
    let view = |incident: &PublicIncident| IncidentView {
        id: incident.row.number.to_string(),
        title: incident.row.title.clone(),
        status: incident.status,
        impact: incident.impact.as_str(),
        declared_at: render::clock(incident.row.declared_at),
        ended_at: incident.ended_at().map(render::clock),
        public_summary: incident
            .public_summary
            .as_deref()
            .map(|text| minijinja::Value::from_safe_string(render::markdown(text))),
        updates: incident
            .updates
            .iter()
            .map(|update| UpdateView {
                id: update.id.clone(),
                status: update.status,
                at: render::clock(update.at),
                body: minijinja::Value::from_safe_string(render::markdown(&update.body)),
            })
            .collect(),
    };
    let active: Vec<IncidentView> = incidents
        .iter()
        .filter(|i| i.unresolved())
        .map(view)
        .collect();
    let mut history: BTreeMap<String, Vec<IncidentView>> = BTreeMap::new();
    for incident in incidents.iter().filter(|i| !i.unresolved()) {
        let day = incident.row.declared_at.strftime("%Y-%m-%d").to_string();
        history.entry(day).or_default().push(view(incident));
    }
    let history: Vec<(String, Vec<IncidentView>)> = history.into_iter().rev().collect();
    let components: Vec<Value> = components
        .iter()
        .map(|shown| {
            json!({
                "name": shown.component.name.as_str(),
                "description": shown.component.description,
                "status": shown.status.as_str(),
                "label": shown.status.as_str().replace('_', " "),
            })
        })
        .collect();
    let context = minijinja::context! {
        name => &info.name,
        indicator => indicator.as_str(),
        description => indicator.description(),
        components => render::data(&components),
        active => render::data(&active),
        history => render::data(&history),
        updated_at => render::clock(updated_at),
        feed => format!("{}/status/feed.atom", info.base_url),
    };
    render::templates()
        .get_template("status.html")
        .and_then(|template| template.render(context))
        .unwrap_or_else(|error| {
            tracing::error!(%error, "the status page template failed");
            format!(
                "<!doctype html><title>{}</title><p>{}</p>",
                render::escape(&info.name),
                render::escape(indicator.description())
            )
        })
}

/// The Atom feed: one entry per public update, newest first.
fn feed(info: &PageInfo, incidents: &[PublicIncident], updated_at: Timestamp) -> String {
    let page_url = format!("{}/status", info.base_url);
    let mut entries: Vec<(Timestamp, atom::Entry)> = Vec::new();
    for incident in incidents {
        for update in &incident.updates {
            let link = format!("{page_url}#{}", incident.row.number);
            let mut entry = atom::Entry::default();
            entry.set_id(format!("{page_url}#{}", update.id));
            entry.set_title(format!(
                "{}: {} ({})",
                incident.row.number, incident.row.title, update.status
            ));
            entry.set_updated(fixed(update.at));
            entry.set_published(Some(fixed(update.at)));
            entry.set_links(vec![atom::Link {
                href: link,
                rel: "alternate".to_owned(),
                ..atom::Link::default()
            }]);
            entry.set_content(Some(atom::Content {
                value: Some(render::markdown(&update.body)),
                content_type: Some("html".to_owned()),
                ..atom::Content::default()
            }));
            entries.push((update.at, entry));
        }
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    let mut feed = atom::Feed::default();
    feed.set_id(page_url.clone());
    feed.set_title(info.name.clone());
    // RFC 4287 requires an author for every entry; the page itself speaks for all of them.
    feed.set_authors(vec![atom::Person {
        name: info.name.clone(),
        uri: Some(page_url.clone()),
        ..atom::Person::default()
    }]);
    feed.set_updated(fixed(updated_at));
    feed.set_links(vec![
        atom::Link {
            href: page_url,
            rel: "alternate".to_owned(),
            ..atom::Link::default()
        },
        atom::Link {
            href: format!("{}/status/feed.atom", info.base_url),
            rel: "self".to_owned(),
            ..atom::Link::default()
        },
    ]);
    feed.set_entries(
        entries
            .into_iter()
            .take(RECENT)
            .map(|(_, entry)| entry)
            .collect::<Vec<_>>(),
    );
    feed.to_string()
}

/// A time in the feed's date type.
fn fixed(at: Timestamp) -> atom::FixedDateTime {
    iso(at).parse().unwrap_or_default()
}
