//! One picture of the public status page, built from the store and rendered once into every
//! format it is served in: the Statuspage-compatible JSON documents, the HTML page and the
//! Atom feed. Only public incidents and their public updates go in; restricted and internal
//! incidents are never read into it.

use std::collections::BTreeMap;

use atom_syndication as atom;
use axum::body::Bytes;
use hereby_core::Event;
use hereby_core::maintenance::MaintenanceStatus;
use hereby_core::public::{self, Impact, group_id};
use hereby_core::types::{ComponentStatus, IncidentNumber, Status, Visibility};
use hereby_store::{
    Communications, Component, IncidentSummary, ListQuery, Maintenance, MaintenanceQuery, Store,
    StoreError,
};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use hereby_app::status_page::{PageSettings, page_settings};
use hereby_core::uptime::{self, Spell, Uptime};
use jiff::tz::TimeZone;

use crate::html::render;

/// How far back the page's history reaches.
pub(crate) const HISTORY: SignedDuration = SignedDuration::from_hours(90 * 24);

/// The most incidents the page considers (newest first); older public incidents fall off.
const MAX_INCIDENTS: u32 = 500;

/// The most updates read per incident.
const MAX_UPDATES: u32 = 1_000;

/// How many incidents `incidents.json` and the feed carry, as Statuspage does (and
/// maintenances `scheduled-maintenances.json`).
const RECENT: usize = 50;

/// The most maintenances the page considers: every one not completed, then the newest
/// completed ones of the history.
const MAX_MAINTENANCES: u32 = 200;

/// Where the page is served and since when; its name, address, zone and description come
/// from the admins' settings at each build.
#[derive(Debug, Clone)]
pub(crate) struct PageInfo {
    /// Where people reach the server, without a trailing slash; empty gives relative links.
    pub(crate) base_url: String,
    /// When nothing on the page has a newer time, its `updated_at`.
    pub(crate) since: Timestamp,
}

/// What one build renders with: where it is served and what admins set.
struct Page<'a> {
    info: &'a PageInfo,
    settings: PageSettings,
    zone: TimeZone,
    now: Timestamp,
}

impl Page<'_> {
    /// The page's own address: the admins' one, or this server's `/status`.
    fn url(&self) -> String {
        if self.settings.url.is_empty() {
            format!("{}/status", self.info.base_url)
        } else {
            self.settings.url.clone()
        }
    }

    /// A time as the page's readers read it, in the page's zone.
    fn clock(&self, at: Timestamp) -> String {
        at.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// The day a time falls on, in the page's zone.
    fn day(&self, at: Timestamp) -> String {
        at.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d")
            .to_string()
    }
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
    /// The page's settings the documents were rendered with (the history pages use them too).
    pub(crate) settings: PageSettings,
    pub(crate) summary: Document,
    pub(crate) status: Document,
    pub(crate) components: Document,
    pub(crate) incidents: Document,
    pub(crate) unresolved: Document,
    /// `scheduled-maintenances.json`: the 50 newest.
    pub(crate) maintenances: Document,
    /// `scheduled-maintenances/upcoming.json`: scheduled, not begun.
    pub(crate) upcoming: Document,
    /// `scheduled-maintenances/active.json`: in progress or verifying.
    pub(crate) active: Document,
    /// `uptime.json`: each component's last 90 days (hereby's own document).
    pub(crate) uptime: Document,
    pub(crate) html: Document,
    pub(crate) atom: Document,
    /// The Atom feed of each component, by name.
    pub(crate) atom_of: BTreeMap<String, Document>,
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
    /// Its last 90 days.
    uptime: Uptime,
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
    let maintenances = store
        .maintenances(&MaintenanceQuery {
            completed_since: Some(cutoff),
            before: None,
            limit: MAX_MAINTENANCES,
            updates: true,
        })
        .await?;
    let settings = page_settings(store)
        .await
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let page = Page {
        info,
        zone: settings.zone(),
        settings,
        now,
    };
    let components = shown_components(
        store.list_components().await?,
        &mut incidents,
        &maintenances,
        &page,
    );
    Ok(render_all(&page, &components, &incidents, &maintenances))
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
/// affecting it implies, or under maintenance while a maintenance on it runs (an incident
/// says more, so it wins). Also notes on each incident which components it affects.
fn shown_components(
    components: Vec<Component>,
    incidents: &mut [PublicIncident],
    maintenances: &[Maintenance],
    page: &Page<'_>,
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
            if maintenances.iter().any(|maintenance| {
                maintenance.schedule.running() && maintenance.components.contains(&component.name)
            }) {
                derived = public::worse(derived, ComponentStatus::UnderMaintenance);
            }
            let spells = spells(&component, incidents, maintenances, page.now);
            ShownComponent {
                status: component.status.unwrap_or(derived),
                uptime: uptime::uptime(
                    &spells,
                    uptime::DAYS,
                    &page.zone,
                    component.created_at,
                    page.now,
                ),
                component,
            }
        })
        .collect()
}

/// The stretches a component spent other than operational: each public incident affecting
/// it, at its severity's status until it moved to monitoring and degraded from then until it
/// ended, and each maintenance on it from its start until it completed.
fn spells(
    component: &Component,
    incidents: &[PublicIncident],
    maintenances: &[Maintenance],
    now: Timestamp,
) -> Vec<Spell> {
    let mut spells = Vec::new();
    for incident in incidents {
        let row = &incident.row;
        // A false alarm (called off, declined, handed back, merged) never affected the
        // service, as the page itself says of it.
        let false_alarm =
            !row.status.is_active() && !matches!(row.status, Status::Resolved | Status::Closed);
        if row.potential
            || false_alarm
            || !row.services.iter().any(|s| s == component.name.as_str())
        {
            continue;
        }
        let end = incident.ended_at().unwrap_or(now);
        let worst = public::component_status(row.severity, Status::Investigating, false);
        let calmer = incident.monitoring_at.filter(|at| *at < end);
        spells.push(Spell {
            start: row.declared_at,
            end: calmer.unwrap_or(end),
            status: worst,
        });
        if let Some(monitoring) = calmer {
            spells.push(Spell {
                start: monitoring,
                end,
                status: public::component_status(row.severity, Status::Monitoring, false),
            });
        }
    }
    for maintenance in maintenances {
        if let Some(started) = maintenance.schedule.started_at
            && maintenance.components.contains(&component.name)
        {
            spells.push(Spell {
                start: started,
                end: maintenance.schedule.completed_at.unwrap_or(now),
                status: ComponentStatus::UnderMaintenance,
            });
        }
    }
    spells
}

fn iso(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn page_json(page: &Page<'_>, updated_at: Timestamp) -> Value {
    json!({
        "id": "hereby",
        "name": page.settings.name,
        "url": page.url(),
        "time_zone": if page.settings.time_zone == "UTC" { "Etc/UTC" } else { page.settings.time_zone.as_str() },
        "updated_at": iso(updated_at),
    })
}

/// The groups in the order the page shows them (by their first member's position), each
/// with its members and its status (the worst of theirs).
fn groups(components: &[ShownComponent]) -> Vec<(String, Vec<&ShownComponent>, ComponentStatus)> {
    let mut groups: Vec<(String, Vec<&ShownComponent>, ComponentStatus)> = Vec::new();
    for shown in components {
        if let Some(name) = &shown.component.group {
            match groups.iter_mut().find(|(group, _, _)| group == name) {
                Some((_, members, status)) => {
                    members.push(shown);
                    *status = public::worse(*status, shown.status);
                }
                None => groups.push((name.clone(), vec![shown], shown.status)),
            }
        }
    }
    groups
}

/// The components document's list: Statuspage's flat list, where a group is a component
/// with `group: true` and its members' ids, and each member names its group.
fn components_json(components: &[ShownComponent]) -> Vec<Value> {
    let mut list: Vec<Value> = components.iter().map(component_json).collect();
    for (name, members, status) in groups(components) {
        let first = members[0];
        let created = members
            .iter()
            .map(|m| m.component.created_at)
            .min()
            .unwrap_or(first.component.created_at);
        let updated = members
            .iter()
            .map(|m| m.component.updated_at)
            .max()
            .unwrap_or(first.component.updated_at);
        list.push(json!({
            "id": group_id(&name),
            "name": name,
            "status": status.as_str(),
            "created_at": iso(created),
            "updated_at": iso(updated),
            "position": first.component.position,
            "description": null,
            "showcase": false,
            "start_date": null,
            "group_id": null,
            "page_id": "hereby",
            "group": true,
            "only_show_if_degraded": false,
            "components": members.iter().map(|m| m.component.name.as_str()).collect::<Vec<_>>(),
        }));
    }
    list
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
        "group_id": c.group.as_deref().map(group_id),
        "page_id": "hereby",
        "group": false,
        "only_show_if_degraded": false,
    })
}

fn incident_json(
    page: &Page<'_>,
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
        "shortlink": format!("{}#{id}", page.url()),
        "started_at": iso(row.declared_at),
        "page_id": "hereby",
        "incident_updates": updates,
        "components": affected,
    })
}

/// A maintenance in Statuspage's shape: an incident with `scheduled_for` and
/// `scheduled_until`, impact `maintenance`.
fn maintenance_json(
    page: &Page<'_>,
    maintenance: &Maintenance,
    components: &[ShownComponent],
) -> Value {
    let id = format!("maintenance-{}", maintenance.id);
    let schedule = &maintenance.schedule;
    let affected: Vec<Value> = components
        .iter()
        .filter(|shown| maintenance.components.contains(&shown.component.name))
        .map(component_json)
        .collect();
    let updates: Vec<Value> = maintenance
        .updates
        .iter()
        .map(|update| {
            json!({
                "id": format!("{id}-{}", update.id),
                "status": update.status.as_str(),
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
        "name": maintenance.title,
        "status": schedule.status.as_str(),
        "created_at": iso(maintenance.created_at),
        "updated_at": iso(maintenance.updated_at),
        "monitoring_at": null,
        "resolved_at": schedule.completed_at.map(iso),
        "impact": "maintenance",
        "shortlink": format!("{}#{id}", page.url()),
        "started_at": iso(schedule.started_at.unwrap_or(schedule.starts_at)),
        "page_id": "hereby",
        "incident_updates": updates,
        "components": affected,
        "scheduled_for": iso(schedule.starts_at),
        "scheduled_until": iso(schedule.ends_at),
    })
}

/// A component's days as `uptime.json` gives them.
fn uptime_json(page: &Page<'_>, shown: &ShownComponent) -> Value {
    let days: Vec<Value> = shown
        .uptime
        .days
        .iter()
        .map(|day| {
            json!({
                "date": day.date.to_string(),
                "status": if day.unknown { Value::Null } else { Value::from(day.worst.as_str()) },
                "degraded_performance": day.degraded_minutes,
                "partial_outage": day.partial_minutes,
                "major_outage": day.major_minutes,
                "under_maintenance": day.maintenance_minutes,
            })
        })
        .collect();
    json!({
        "id": shown.component.name.as_str(),
        "name": shown.component.name.as_str(),
        "time_zone": page.settings.time_zone,
        "uptime_percent": shown.uptime.percent.map(|p| (p * 1000.0).round() / 1000.0),
        "days": days,
    })
}

/// Renders every document from one consistent set of data.
fn render_all(
    page: &Page<'_>,
    components: &[ShownComponent],
    incidents: &[PublicIncident],
    maintenances: &[Maintenance],
) -> Rendered {
    let updated_at = incidents
        .iter()
        .map(|incident| incident.row.updated_at)
        .chain(components.iter().map(|shown| shown.component.updated_at))
        .chain(
            maintenances
                .iter()
                .map(|maintenance| maintenance.updated_at),
        )
        .max()
        .unwrap_or(page.info.since);
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
    let page_json = page_json(page, updated_at);
    let under_way = maintenances.iter().any(|m| m.schedule.running());
    // With nothing wrong but work under way, the page says so, as Statuspage pages do.
    let status = if indicator == Impact::None && under_way {
        json!({ "indicator": "maintenance", "description": "Service Under Maintenance" })
    } else {
        json!({ "indicator": indicator.as_str(), "description": indicator.description() })
    };
    let upcoming: Vec<&Maintenance> = maintenances
        .iter()
        .filter(|m| m.schedule.status == MaintenanceStatus::Scheduled)
        .collect();
    let running: Vec<&Maintenance> = maintenances
        .iter()
        .filter(|m| m.schedule.running())
        .collect();
    let maintenance_list = |list: &mut dyn Iterator<Item = &Maintenance>| -> Vec<Value> {
        list.map(|m| maintenance_json(page, m, components))
            .collect()
    };
    let upcoming_json = maintenance_list(&mut upcoming.iter().copied());
    let running_json = maintenance_list(&mut running.iter().copied());
    let recent_json = maintenance_list(&mut maintenances.iter().take(RECENT));
    let components_json: Vec<Value> = components_json(components);
    let all: Vec<Value> = incidents
        .iter()
        .take(RECENT)
        .map(|incident| incident_json(page, incident, components))
        .collect();
    let unresolved: Vec<Value> = incidents
        .iter()
        .filter(|incident| incident.unresolved())
        .map(|incident| incident_json(page, incident, components))
        .collect();
    let uptime_json: Vec<Value> = components
        .iter()
        .map(|shown| uptime_json(page, shown))
        .collect();
    Rendered {
        settings: page.settings.clone(),
        summary: Document::json(&json!({
            "page": page_json,
            "components": components_json,
            "incidents": unresolved,
            "scheduled_maintenances": running_json.iter().chain(&upcoming_json).collect::<Vec<_>>(),
            "status": status,
        })),
        status: Document::json(&json!({ "page": page_json, "status": status })),
        components: Document::json(&json!({ "page": page_json, "components": components_json })),
        incidents: Document::json(&json!({ "page": page_json, "incidents": all })),
        unresolved: Document::json(&json!({ "page": page_json, "incidents": unresolved })),
        maintenances: Document::json(
            &json!({ "page": page_json, "scheduled_maintenances": recent_json }),
        ),
        upcoming: Document::json(
            &json!({ "page": page_json, "scheduled_maintenances": upcoming_json }),
        ),
        active: Document::json(
            &json!({ "page": page_json, "scheduled_maintenances": running_json }),
        ),
        uptime: Document::json(&json!({ "page": page_json, "components": uptime_json })),
        html: Document::new(
            html(
                page,
                &status,
                components,
                incidents,
                maintenances,
                updated_at,
            )
            .into_bytes(),
        ),
        atom: Document::new(
            feed(
                page,
                None,
                &incidents.iter().collect::<Vec<_>>(),
                &maintenances.iter().collect::<Vec<_>>(),
                updated_at,
            )
            .into_bytes(),
        ),
        // One feed per component: what touched it.
        atom_of: components
            .iter()
            .map(|shown| {
                let name = shown.component.name.as_str();
                let incidents: Vec<&PublicIncident> = incidents
                    .iter()
                    .filter(|incident| incident.components.iter().any(|c| c == name))
                    .collect();
                let maintenances: Vec<&Maintenance> = maintenances
                    .iter()
                    .filter(|m| m.components.contains(&shown.component.name))
                    .collect();
                let body = feed(page, Some(name), &incidents, &maintenances, updated_at);
                (name.to_owned(), Document::new(body.into_bytes()))
            })
            .collect(),
    }
}

/// The page people read: overall state, components, active incidents with their updates,
/// and the history of the last 90 days.
fn html(
    page: &Page<'_>,
    status: &Value,
    components: &[ShownComponent],
    incidents: &[PublicIncident],
    maintenances: &[Maintenance],
    updated_at: Timestamp,
) -> String {
    let indicator = status["indicator"].as_str().unwrap_or("none");
    let description = status["description"].as_str().unwrap_or("");
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
        declared_at: page.clock(incident.row.declared_at),
        ended_at: incident.ended_at().map(|at| page.clock(at)),
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
                at: page.clock(update.at),
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
        let day = page.day(incident.row.declared_at);
        history.entry(day).or_default().push(view(incident));
    }
    let history: Vec<(String, Vec<IncidentView>)> = history.into_iter().rev().collect();
    let component_view = |shown: &ShownComponent| {
        json!({
            "name": shown.component.name.as_str(),
            "description": shown.component.description,
            "status": shown.status.as_str(),
            "label": shown.status.as_str().replace('_', " "),
            "uptime": shown.uptime.percent.map(percent),
            "bars": bars(page, shown),
        })
    };
    // Ungrouped components in their places; a group where its first member would be.
    let groups = groups(components);
    let mut sections: Vec<Value> = Vec::new();
    for shown in components {
        match &shown.component.group {
            None => sections.push(json!({ "group": null, "components": [component_view(shown)] })),
            Some(name) => {
                let Some((_, members, status)) = groups.iter().find(|(group, _, _)| group == name)
                else {
                    continue;
                };
                if members
                    .first()
                    .is_some_and(|first| first.component.name == shown.component.name)
                {
                    sections.push(json!({
                        "group": name,
                        "status": status.as_str(),
                        "label": status.as_str().replace('_', " "),
                        "components": members.iter().map(|m| component_view(m)).collect::<Vec<_>>(),
                    }));
                }
            }
        }
    }
    let components = sections;
    #[derive(Serialize)]
    struct MaintenanceView {
        id: String,
        title: String,
        status: &'static str,
        label: &'static str,
        starts_at: String,
        ends_at: String,
        components: Vec<String>,
        updates: Vec<UpdateView>,
    }
    let maintenance_view = |maintenance: &Maintenance| MaintenanceView {
        id: format!("maintenance-{}", maintenance.id),
        title: maintenance.title.clone(),
        status: maintenance.schedule.status.as_str(),
        label: maintenance.schedule.status.label(),
        starts_at: page.clock(maintenance.schedule.starts_at),
        ends_at: page.clock(maintenance.schedule.ends_at),
        components: maintenance
            .components
            .iter()
            .map(ToString::to_string)
            .collect(),
        updates: maintenance
            .updates
            .iter()
            .map(|update| UpdateView {
                id: format!("maintenance-{}-{}", maintenance.id, update.id),
                status: update.status.label(),
                at: page.clock(update.at),
                body: minijinja::Value::from_safe_string(render::markdown(&update.body)),
            })
            .collect(),
    };
    let running: Vec<MaintenanceView> = maintenances
        .iter()
        .filter(|m| m.schedule.running())
        .map(maintenance_view)
        .collect();
    // Soonest first: the next one is what a reader looks for.
    let mut upcoming: Vec<&Maintenance> = maintenances
        .iter()
        .filter(|m| m.schedule.status == MaintenanceStatus::Scheduled)
        .collect();
    upcoming.sort_by_key(|m| m.schedule.starts_at);
    let upcoming: Vec<MaintenanceView> = upcoming.into_iter().map(maintenance_view).collect();
    let completed: Vec<MaintenanceView> = maintenances
        .iter()
        .filter(|m| m.schedule.status == MaintenanceStatus::Completed)
        .map(maintenance_view)
        .collect();
    let context = minijinja::context! {
        name => &page.settings.name,
        page_description => (!page.settings.description.is_empty())
            .then(|| minijinja::Value::from_safe_string(render::markdown(&page.settings.description))),
        time_zone => &page.settings.time_zone,
        indicator => indicator,
        description => description,
        running => render::data(&running),
        upcoming => render::data(&upcoming),
        completed => render::data(&completed),
        components => render::data(&components),
        active => render::data(&active),
        history => render::data(&history),
        updated_at => page.clock(updated_at),
        feed => format!("{}/status/feed.atom", page.info.base_url),
    };
    render::templates()
        .get_template("status.html")
        .and_then(|template| template.render(context))
        .unwrap_or_else(|error| {
            tracing::error!(%error, "the status page template failed");
            format!(
                "<!doctype html><title>{}</title><p>{}</p>",
                render::escape(&page.settings.name),
                render::escape(description)
            )
        })
}

/// An uptime percentage as the page prints it: three decimals at most, no trailing zeros.
fn percent(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} %")
}

/// A component's 90 days as a row of bars (inline SVG, drawn here so the page needs no
/// script): one bar per day coloured by its worst status, each with a title that says what
/// happened, and a label for screen readers.
fn bars(page: &Page<'_>, shown: &ShownComponent) -> String {
    const WIDTH: usize = 4;
    let days = &shown.uptime.days;
    let mut bad_days = 0;
    let mut svg = String::new();
    for (index, day) in days.iter().enumerate() {
        let mut said = Vec::new();
        for (minutes, what) in [
            (day.major_minutes, "major outage"),
            (day.partial_minutes, "partial outage"),
            (day.degraded_minutes, "degraded performance"),
            (day.maintenance_minutes, "maintenance"),
        ] {
            if minutes > 0 {
                said.push(format!("{minutes} min {what}"));
            }
        }
        let class = if day.unknown {
            "unknown"
        } else {
            day.worst.as_str()
        };
        let title = if day.unknown {
            format!("{}: no data", day.date)
        } else if said.is_empty() {
            format!("{}: no incidents", day.date)
        } else {
            bad_days += 1;
            format!("{}: {}", day.date, said.join(", "))
        };
        svg.push_str(&format!(
            r#"<rect class="day {class}" x="{}" y="0" width="{}" height="28" rx="1"><title>{}</title></rect>"#,
            index * WIDTH,
            WIDTH - 1,
            render::escape(&title)
        ));
    }
    let label = format!(
        "{}: {} uptime over the last {} days ({}); {} with incidents or maintenance",
        shown.component.name,
        shown
            .uptime
            .percent
            .map(percent)
            .unwrap_or_else(|| "no".to_owned()),
        days.len(),
        page.settings.time_zone,
        match bad_days {
            0 => "no day".to_owned(),
            1 => "1 day".to_owned(),
            n => format!("{n} days"),
        }
    );
    format!(
        r#"<svg class="uptime" viewBox="0 0 {} 28" preserveAspectRatio="none" role="img" aria-label="{}">{svg}</svg>"#,
        days.len() * WIDTH,
        render::escape(&label)
    )
}

/// The Atom feed: one entry per public update, newest first.
fn feed(
    page: &Page<'_>,
    component: Option<&str>,
    incidents: &[&PublicIncident],
    maintenances: &[&Maintenance],
    updated_at: Timestamp,
) -> String {
    let page_url = page.url();
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
    for maintenance in maintenances {
        let id = format!("maintenance-{}", maintenance.id);
        for update in &maintenance.updates {
            let mut entry = atom::Entry::default();
            entry.set_id(format!("{page_url}#{id}-{}", update.id));
            entry.set_title(format!(
                "Maintenance: {} ({})",
                maintenance.title,
                update.status.as_str()
            ));
            entry.set_updated(fixed(update.at));
            entry.set_published(Some(fixed(update.at)));
            entry.set_links(vec![atom::Link {
                href: format!("{page_url}#{id}"),
                rel: "alternate".to_owned(),
                ..atom::Link::default()
            }]);
            let when = format!(
                "<p>Scheduled {} to {}</p>",
                page.clock(maintenance.schedule.starts_at),
                page.clock(maintenance.schedule.ends_at)
            );
            entry.set_content(Some(atom::Content {
                value: Some(format!("{when}{}", render::markdown(&update.body))),
                content_type: Some("html".to_owned()),
                ..atom::Content::default()
            }));
            entries.push((update.at, entry));
        }
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    let mut feed = atom::Feed::default();
    let self_url = match component {
        Some(name) => format!("{}/status/feed.atom?component={name}", page.info.base_url),
        None => format!("{}/status/feed.atom", page.info.base_url),
    };
    feed.set_id(match component {
        Some(name) => format!("{page_url}#component-{name}"),
        None => page_url.clone(),
    });
    feed.set_title(match component {
        Some(name) => format!("{}: {name}", page.settings.name),
        None => page.settings.name.clone(),
    });
    // RFC 4287 requires an author for every entry; the page itself speaks for all of them.
    feed.set_authors(vec![atom::Person {
        name: page.settings.name.clone(),
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
            href: self_url,
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

/// How many incidents a page of the history shows.
pub(crate) const HISTORY_PAGE: u32 = 25;

/// One page of the public history, as HTML and JSON: the public incidents numbered below
/// `before` (all when `None`), newest first, with what their row says (title, impact, when
/// they began and ended). Reading updates too would cost three reads per incident for a
/// request anyone may send.
pub(crate) async fn history<S: Store>(
    store: &S,
    info: &PageInfo,
    settings: &PageSettings,
    before: Option<IncidentNumber>,
) -> Result<(Document, Document, Option<u64>), StoreError> {
    let mut rows = store
        .list_incidents(&ListQuery {
            limit: HISTORY_PAGE + 1,
            before,
            visibilities: vec![Visibility::Public],
            ..ListQuery::default()
        })
        .await?;
    rows.retain(|row| row.visibility == Visibility::Public);
    let more = rows.len() > HISTORY_PAGE as usize;
    rows.truncate(HISTORY_PAGE as usize);
    let page = Page {
        info,
        zone: settings.zone(),
        settings: settings.clone(),
        now: Timestamp::now(),
    };
    let older = more.then(|| rows.last().map(|row| row.number.0)).flatten();
    let ended = |row: &IncidentSummary| {
        (!row.status.is_active()).then(|| row.resolved_at.unwrap_or(row.updated_at))
    };
    let incidents: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.number.to_string(),
                "name": row.title,
                "status": public::incident_status(row.status),
                "impact": public::impact(row.severity, row.potential).as_str(),
                "started_at": iso(row.declared_at),
                "resolved_at": ended(row).map(iso),
            })
        })
        .collect();
    let json_link = |before: Option<u64>| match before {
        Some(number) => format!("{}/api/v2/history.json?before={number}", info.base_url),
        None => format!("{}/api/v2/history.json", info.base_url),
    };
    let document = Document::json(&json!({
        "page": page_json(&page, page.now),
        "incidents": incidents,
        "older": older.map(|number| json_link(Some(number))),
    }));
    let views: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.number.to_string(),
                "title": row.title,
                "impact": public::impact(row.severity, row.potential).as_str(),
                "declared_at": page.clock(row.declared_at),
                "ended_at": ended(row).map(|at| page.clock(at)),
            })
        })
        .collect();
    let context = minijinja::context! {
        name => &settings.name,
        incidents => render::data(&views),
        older => older,
        time_zone => &settings.time_zone,
        json => json_link(before.map(|number| number.0)),
    };
    let html = render::templates()
        .get_template("status_history.html")
        .and_then(|template| template.render(context))
        .unwrap_or_else(|error| {
            tracing::error!(%error, "the status history template failed");
            format!(
                "<!doctype html><title>{}</title>",
                render::escape(&settings.name)
            )
        });
    Ok((Document::new(html.into_bytes()), document, older))
}
