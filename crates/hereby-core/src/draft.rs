//! Drafting a post-mortem: the facts a template needs, projected from the incident's events,
//! with every person named by a role variable.
//!
//! People are given role variables in the order they took part: the role they took first
//! decides theirs (`Incident Commander`, `Operations A`, `Communications` …). A role that
//! only one person ever held as their first role gets its plain name; a role several people
//! held, or one that allows several holders at once, gets letters. Anyone who acted without
//! a role is a `Responder`. The `people` list is the only place real names appear.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::event::{Envelope, Event};
use crate::roles::{INCIDENT_COMMANDER, RoleCatalogue};
use crate::state::Incident;
use crate::types::{ActionKind, EntryMark, IncidentNumber, Owner, UserName};

/// One recorded event with its position in the stream.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub sequence: u64,
    pub envelope: &'a Envelope,
}

/// Everything a post-mortem template can use. Times are UTC, formatted for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftFacts {
    /// `INC-7`.
    pub incident: String,
    pub title: String,
    /// The incident's summary, names replaced; empty when there is none.
    pub summary: String,
    pub severity: String,
    pub potential: bool,
    pub status: String,
    pub visibility: String,
    pub services: Vec<String>,
    pub declared_at: String,
    pub resolved_at: Option<String>,
    pub impact: Impact,
    /// The severity at declaration and every change after it.
    pub severity_history: Vec<SeverityStep>,
    /// Who held which role, and when: the mapping from role variables to people.
    pub people: Vec<PersonRow>,
    pub timeline: Vec<TimelineLine>,
    /// Entries left out of `timeline` because someone excluded them.
    pub excluded_entries: usize,
    pub operations: Vec<TimelineLine>,
    pub updates: Vec<TimelineLine>,
    pub action_items: Vec<ActionRow>,
    pub evidence: Vec<EvidenceRow>,
    pub links: Vec<LinkRow>,
    /// Every role variable of someone who took part, for the acknowledgements.
    pub participants: Vec<String>,
}

/// When the impact started and ended, and how long it lasted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Impact {
    pub start: Option<String>,
    pub end: Option<String>,
    /// Whole minutes from start to end, when both are known.
    pub duration_minutes: Option<i64>,
    /// The responders recorded the window; otherwise declaration and resolution stand in.
    pub recorded: bool,
}

/// One severity the incident had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeverityStep {
    pub at: String,
    pub severity: String,
    pub potential: bool,
    /// Why it changed; empty at declaration.
    pub reason: String,
}

/// One period in which a person held a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRow {
    pub variable: String,
    pub person: String,
    pub role: String,
    pub from: String,
    /// Empty while they still held it at the end of the record.
    pub to: String,
}

/// One line of the timeline, people already named by role variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineLine {
    pub sequence: u64,
    /// `2026-11-02 10:02`.
    pub at: String,
    /// `10:02`.
    pub time: String,
    /// The stored event type, such as `operation_recorded`.
    pub kind: String,
    /// One Markdown line; continuation lines are indented for list items.
    pub text: String,
    pub starred: bool,
}

/// One action item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRow {
    pub item: u32,
    pub text: String,
    pub owner: String,
    pub due: String,
    pub kind: String,
    pub state: String,
    pub tracker_url: String,
}

/// One attached piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRow {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub added_by: String,
    pub at: String,
}

/// One external link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRow {
    pub kind: String,
    pub url: String,
    pub title: String,
}

/// The role variable of each person who took part, and how the template refers to them.
#[derive(Debug, Clone, Default)]
pub struct RoleVariables {
    by_person: BTreeMap<UserName, String>,
}

impl RoleVariables {
    /// The variable for `person`; someone who never took part is a plain `a responder`.
    pub fn of(&self, person: &UserName) -> &str {
        if person.as_str() == crate::roles::SYSTEM_ACTOR {
            return "hereby";
        }
        self.by_person
            .get(person)
            .map_or("a responder", String::as_str)
    }

    /// Every person with their variable, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&UserName, &str)> {
        self.by_person
            .iter()
            .map(|(person, variable)| (person, variable.as_str()))
    }
}

/// Gives each person who took part a role variable, as the module documentation describes.
pub fn role_variables(entries: &[Entry<'_>], roles: &RoleCatalogue) -> RoleVariables {
    // First pass: each person's first role, in order of appearance.
    let mut first_role: Vec<(UserName, Option<String>)> = Vec::new();
    let mut note = |person: &UserName, role: Option<&str>| match first_role
        .iter_mut()
        .find(|(known, _)| known == person)
    {
        Some((_, slot @ None)) if role.is_some() => *slot = role.map(str::to_owned),
        Some(_) => {}
        None => first_role.push((person.clone(), role.map(str::to_owned))),
    };
    for entry in entries {
        let envelope = entry.envelope;
        match &envelope.event {
            Event::IncidentDeclared(e) => note(&e.commander, Some(INCIDENT_COMMANDER)),
            Event::RoleAssigned(e) => note(&e.person, Some(e.role.as_str())),
            Event::HandoffAccepted(e) => note(&e.to, Some(INCIDENT_COMMANDER)),
            _ => {}
        }
        if envelope.actor.as_str() != crate::roles::SYSTEM_ACTOR {
            note(&envelope.actor, None);
        }
    }
    let label = |role: &str| -> (String, bool) {
        let definition = roles.roles().iter().find(|r| r.key.as_str() == role);
        let name = match role {
            "subject_matter_expert" => "SME".to_owned(),
            _ => definition.map_or_else(|| role.replace('_', " "), |d| d.name.clone()),
        };
        (name, definition.is_some_and(|d| d.multiple_holders))
    };
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for (_, role) in &first_role {
        *count.entry(role.clone().unwrap_or_default()).or_default() += 1;
    }
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_person = BTreeMap::new();
    for (person, role) in first_role {
        let key = role.clone().unwrap_or_default();
        let (name, multiple) = match &role {
            Some(role) => label(role),
            None => ("Responder".to_owned(), true),
        };
        let index = used.entry(key.clone()).or_default();
        let variable = if multiple || count.get(&key).copied().unwrap_or(0) > 1 {
            format!("{name} {}", letters(*index))
        } else {
            name
        };
        *index += 1;
        by_person.insert(person, variable);
    }
    RoleVariables { by_person }
}

/// `A` … `Z`, then `AA`, `AB` …
pub fn letters(index: usize) -> String {
    let mut n = index;
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + (n % 26) as u8));
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    out.iter().rev().collect()
}

/// Projects the facts of a post-mortem draft from the incident's state and its events, in
/// stream order.
pub fn facts(
    number: IncidentNumber,
    incident: &Incident,
    entries: &[Entry<'_>],
    roles: &RoleCatalogue,
) -> (DraftFacts, RoleVariables) {
    let variables = role_variables(entries, roles);
    // Intents later carried out read as done where they were announced.
    let carried_out: Vec<u32> = entries
        .iter()
        .filter_map(|entry| match &entry.envelope.event {
            Event::OperationRecorded(e) => e.intent,
            _ => None,
        })
        .collect();
    let who = |person: &UserName| variables.of(person).to_owned();
    let role_name = |key: &str| {
        roles
            .roles()
            .iter()
            .find(|r| r.key.as_str() == key)
            .map_or_else(|| key.replace('_', " "), |r| r.name.clone())
    };

    let mut people: Vec<PersonRow> = Vec::new();
    let mut open_periods: BTreeMap<(String, UserName), usize> = BTreeMap::new();
    let end_period = |people: &mut Vec<PersonRow>,
                      open: &mut BTreeMap<(String, UserName), usize>,
                      role: &str,
                      person: &UserName,
                      at| {
        if let Some(index) = open.remove(&(role.to_owned(), person.clone()))
            && let Some(row) = people.get_mut(index)
        {
            row.to = minute(at);
        }
    };

    let mut severity_history = Vec::new();
    let mut timeline = Vec::new();
    let mut operations = Vec::new();
    let mut updates = Vec::new();
    let mut evidence = Vec::new();
    let mut links = Vec::new();
    let mut excluded_entries = 0;
    for entry in entries {
        let envelope = entry.envelope;
        let actor = who(&envelope.actor);
        let at = envelope.at;
        let text = match &envelope.event {
            Event::IncidentDeclared(e) => {
                open_or_start(
                    &mut people,
                    &mut open_periods,
                    &variables,
                    INCIDENT_COMMANDER,
                    &e.commander,
                    &role_name(INCIDENT_COMMANDER),
                    at,
                );
                severity_history.push(SeverityStep {
                    at: minute(at),
                    severity: e.severity.to_string(),
                    potential: e.potential,
                    reason: String::new(),
                });
                let services = if e.services.is_empty() {
                    String::new()
                } else {
                    let names: Vec<&str> = e.services.iter().map(|s| s.as_str()).collect();
                    format!("; services: {}", names.join(", "))
                };
                Some(format!(
                    "{actor} declared the incident “{}” ({}{}){services}.",
                    e.title,
                    e.severity,
                    if e.potential { ", potential" } else { "" }
                ))
            }
            Event::RoleAssigned(e) => {
                let person = who(&e.person);
                let role = role_name(e.role.as_str());
                let line = if e.person == envelope.actor {
                    format!("{person} took on the role {role}.")
                } else {
                    format!("{actor} gave the role {role} to {person}.")
                };
                open_or_start(
                    &mut people,
                    &mut open_periods,
                    &variables,
                    e.role.as_str(),
                    &e.person,
                    &role,
                    at,
                );
                Some(line)
            }
            Event::RoleUnassigned(e) => {
                end_period(
                    &mut people,
                    &mut open_periods,
                    e.role.as_str(),
                    &e.person,
                    at,
                );
                Some(format!(
                    "{} stepped down from {}.",
                    who(&e.person),
                    role_name(e.role.as_str())
                ))
            }
            Event::HandoffRequested(e) => Some(format!(
                "{} asked {} to take over command.",
                who(&e.from),
                who(&e.to)
            )),
            Event::HandoffAccepted(e) => {
                end_period(
                    &mut people,
                    &mut open_periods,
                    INCIDENT_COMMANDER,
                    &e.from,
                    at,
                );
                open_or_start(
                    &mut people,
                    &mut open_periods,
                    &variables,
                    INCIDENT_COMMANDER,
                    &e.to,
                    &role_name(INCIDENT_COMMANDER),
                    at,
                );
                Some(format!(
                    "{} took over command from {}.",
                    who(&e.to),
                    who(&e.from)
                ))
            }
            Event::HandoffDeclined(e) => Some(format!(
                "{} declined to take over command{}.",
                who(&e.to),
                e.reason
                    .as_ref()
                    .map(|r| format!(": “{}”", one_line(r.as_str())))
                    .unwrap_or_default()
            )),
            Event::HandoffCancelled(e) => Some(format!(
                "{actor} withdrew the request for {} to take over command.",
                who(&e.to)
            )),
            Event::SeverityChanged(e) => {
                severity_history.push(SeverityStep {
                    at: minute(at),
                    severity: e.to.to_string(),
                    potential: e.potential,
                    reason: one_line(e.reason.as_str()),
                });
                Some(format!(
                    "{actor} changed the severity {} → {}{}: “{}”.",
                    e.from,
                    e.to,
                    if e.potential { " (potential)" } else { "" },
                    one_line(e.reason.as_str())
                ))
            }
            Event::StatusChanged(e) => Some(format!(
                "{actor} moved the status {} → {}{}.",
                e.from,
                e.to,
                e.reason
                    .as_ref()
                    .map(|r| format!(": “{}”", one_line(r.as_str())))
                    .unwrap_or_default()
            )),
            Event::MilestoneSet(e) => Some(format!(
                "{actor} set the {} milestone to {}: “{}”.",
                e.milestone,
                minute(e.at),
                one_line(e.reason.as_str())
            )),
            Event::ImpactWindowSet(e) => Some(format!(
                "{actor} recorded the impact window: start {}, end {}.",
                e.start.map_or_else(|| "unknown".to_owned(), minute),
                e.end.map_or_else(|| "ongoing".to_owned(), minute)
            )),
            Event::NoteAdded(e) => Some(format!("{actor}: {}", indented(e.text.as_str()))),
            Event::OperationRecorded(e) => {
                let line = format!(
                    "{actor} on {}: {}{}{}{}",
                    code_span(e.target.as_str()),
                    indented(e.action.as_str()),
                    e.command
                        .as_ref()
                        .map(|c| format!(" Command: {}", code_span(&one_line(c.as_str()))))
                        .unwrap_or_default(),
                    e.intent
                        .map(|n| format!(" (announced as intent {n})"))
                        .unwrap_or_default(),
                    e.witness
                        .as_ref()
                        .map(|w| format!(" Witness: {}.", who(w)))
                        .unwrap_or_default()
                );
                operations.push(line_for(entry, "operation_recorded", &line, false));
                Some(line)
            }
            Event::LinkAdded(e) => {
                let title = e.title.as_ref().map_or(e.url.as_str(), |t| t.as_str());
                links.push(LinkRow {
                    kind: e.kind.to_string(),
                    url: e.url.to_string(),
                    title: title.to_owned(),
                });
                Some(format!(
                    "{actor} linked a {}: [{}]({}).",
                    e.kind,
                    escape_brackets(title),
                    e.url
                ))
            }
            Event::EvidenceAttached(e) => {
                evidence.push(EvidenceRow {
                    name: e.name.to_string(),
                    media_type: e.media_type.to_string(),
                    size: e.size,
                    sha256: e.sha256.to_string(),
                    added_by: actor.clone(),
                    at: minute(at),
                });
                Some(format!(
                    "{actor} attached evidence {} ({} bytes, SHA-256 {}…).",
                    code_span(e.name.as_str()),
                    e.size,
                    e.sha256.as_str().get(..12).unwrap_or_default()
                ))
            }
            Event::ActionItemAdded(e) => Some(format!(
                "{actor} added {} {}: {} (owner: {}).",
                kind_name(e.kind),
                e.item,
                one_line(e.text.as_str()),
                owner_name(&e.owner, &variables, &role_name)
            )),
            Event::ActionItemUpdated(e) => Some(format!(
                "{actor} updated action item {}{}{}{}.",
                e.item,
                e.owner
                    .as_ref()
                    .map(|o| format!("; owner: {}", owner_name(o, &variables, &role_name)))
                    .unwrap_or_default(),
                e.due.map(|d| format!("; due {d}")).unwrap_or_default(),
                e.tracker_url
                    .as_ref()
                    .map(|u| format!("; tracker: {u}"))
                    .unwrap_or_default()
            )),
            Event::ActionItemCompleted(e) => {
                Some(format!("{actor} marked action item {} done.", e.item))
            }
            Event::ActionItemWontFix(e) => Some(format!(
                "{actor} marked action item {} won't fix: “{}”.",
                e.item,
                one_line(e.reason.as_str())
            )),
            Event::ActionItemReopened(e) => {
                Some(format!("{actor} reopened action item {}.", e.item))
            }
            Event::ActionItemExportRequested(e) => Some(format!(
                "{actor} asked for follow-up {} to be opened in tracker {}.",
                e.item,
                code_span(e.tracker.as_str())
            )),
            Event::ActionItemExported(e) => Some(format!(
                "Follow-up {} is kept in tracker {} as [{}]({}).",
                e.item,
                code_span(e.tracker.as_str()),
                one_line(e.key.as_str()),
                e.url
            )),
            Event::ActionItemUnlinked(e) => Some(format!(
                "{actor} unlinked follow-up {} from its tracker: “{}”.",
                e.item,
                one_line(e.reason.as_str())
            )),
            Event::UpdatePosted(e) => {
                let line = format!(
                    "{actor} posted {} update to {}: {}",
                    if e.public { "a public" } else { "an" },
                    e.audience.as_str().replace('_', " "),
                    indented(e.body.as_str())
                );
                updates.push(line_for(entry, "update_posted", &line, false));
                Some(line)
            }
            Event::VisibilityChanged(e) => Some(format!(
                "{actor} changed the visibility {} → {}: “{}”.",
                e.from,
                e.to,
                one_line(e.reason.as_str())
            )),
            Event::IntentAnnounced(e) => Some(format!(
                "{actor} announced intent {} on {}: {}{}",
                e.intent,
                code_span(e.target.as_str()),
                indented(e.action.as_str()),
                if carried_out.contains(&e.intent) {
                    " (done)"
                } else {
                    ""
                }
            )),
            Event::IntentAbandoned(e) => Some(format!(
                "{actor} abandoned intent {}{}.",
                e.intent,
                e.reason
                    .as_ref()
                    .map(|r| format!(": “{}”", one_line(r.as_str())))
                    .unwrap_or_default()
            )),
            Event::ChangeCollisionFlagged(e) => Some(format!(
                "Change collision {}: {actor} on {} and {} on {} changed things in the same window; a recovery cannot be attributed to either.",
                e.collision,
                code_span(e.target.as_str()),
                who(&e.earlier_by),
                code_span(e.earlier_target.as_str())
            )),
            Event::ChangesAcknowledged(e) if !e.collisions.is_empty() => Some(format!(
                "{actor} acknowledged change collision {}.",
                numbers(&e.collisions)
            )),
            Event::RecoveryUnattributed(e) => Some(format!(
                "Cause unattributed: the recovery came within the window of change collision {}.",
                numbers(&e.collisions)
            )),
            Event::IcOperationAttempted(e) => Some(format!(
                "{actor}, as Incident Commander, was stopped from operating on {}: the commander coordinates, others operate.",
                code_span(e.target.as_str())
            )),
            Event::SeverityEvaluated(e) => {
                let reason = e
                    .reason
                    .as_ref()
                    .map_or_else(String::new, |r| format!(": “{}”", one_line(r.as_str())));
                Some(format!(
                    "{actor} evaluated the severity with the checklist: the rules suggest {} (rule “{}”); chosen {}{reason}.",
                    e.suggested, e.rule, e.chosen
                ))
            }
            Event::SuspectReleaseSet(e) => Some(match &e.release {
                Some(release) => format!("{actor} named {release} as the suspect release."),
                None => format!("{actor} cleared the suspect release."),
            }),
            Event::DecisionRecorded(e) => Some(format!(
                "{actor} decided: {}{}: “{}”.",
                e.option.as_str().replace('_', " "),
                e.roll_back_to
                    .as_ref()
                    .map(|to| format!(" to {to}"))
                    .unwrap_or_default(),
                one_line(e.motivation.as_str())
            )),
            Event::PublicSummarySet(e) => Some(match &e.text {
                Some(text) => format!(
                    "{actor} wrote the public summary: “{}”.",
                    one_line(text.as_str())
                ),
                None => format!("{actor} cleared the public summary."),
            }),
            Event::AlertGroupAttached(e) => Some(format!(
                "Alerts “{}” ({}) were attached: {}.",
                one_line(e.group.title.as_str()),
                e.group.label.as_str(),
                one_line(e.group.why.as_str())
            )),
            Event::IncidentMerged(e) => Some(format!("It was merged into {}.", e.into)),
            Event::AlertsNoted(e) if e.all_resolved => {
                Some("Every alert of an attached group resolved.".to_owned())
            }
            Event::WitnessRuleChanged(_)
            | Event::AlertsNoted(_)
            | Event::ChangesAcknowledged(_)
            | Event::MemberAdded(_)
            | Event::MemberRemoved(_)
            | Event::PostmortemDrafted(_)
            | Event::PostmortemRevised(_)
            | Event::PostmortemOwnerChanged(_)
            | Event::PostmortemSubmitted(_)
            | Event::PostmortemCommented(_)
            | Event::PostmortemTagged(_)
            | Event::PostmortemApproved(_)
            | Event::PostmortemReviewed(_)
            | Event::PostmortemPublished(_)
            | Event::TimelineEntryMarked(_)
            | Event::ReviewMeetingScheduled(_)
            | Event::ReviewMeetingHeld(_) => None,
        };
        let Some(text) = text else { continue };
        match incident.timeline_marks.get(&entry.sequence) {
            Some(EntryMark::Excluded) => excluded_entries += 1,
            mark => timeline.push(line_for(
                entry,
                envelope.event.event_type(),
                &text,
                mark == Some(&EntryMark::Starred),
            )),
        }
    }

    let recorded = incident.impact.start.is_some();
    let start = incident.impact.start.or(Some(incident.declared_at));
    let end = if recorded {
        incident.impact.end
    } else {
        incident.resolved_at.or(incident.ended_at)
    };
    let duration_minutes = match (start, end) {
        (Some(start), Some(end)) => Some(end.duration_since(start).as_secs() / 60),
        _ => None,
    };
    let action_items = incident
        .action_items
        .values()
        .map(|item| ActionRow {
            item: item.item,
            text: one_line(item.text.as_str()),
            owner: owner_name(&item.owner, &variables, &role_name),
            due: item.due.map(|d| d.to_string()).unwrap_or_default(),
            kind: kind_name(item.kind).to_owned(),
            state: item.state.as_str().replace('_', " "),
            tracker_url: item
                .tracker_url
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
        })
        .collect();
    let mut participants: Vec<String> = variables.iter().map(|(_, v)| v.to_owned()).collect();
    participants.sort();
    let facts = DraftFacts {
        incident: number.to_string(),
        title: incident.title.to_string(),
        summary: incident
            .summary
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        severity: incident.severity.to_string(),
        potential: incident.potential,
        status: incident.status.to_string(),
        visibility: incident.visibility.to_string(),
        services: incident.services.iter().map(|s| s.to_string()).collect(),
        declared_at: minute(incident.declared_at),
        resolved_at: incident.resolved_at.map(minute),
        impact: Impact {
            start: start.map(minute),
            end: end.map(minute),
            duration_minutes,
            recorded,
        },
        severity_history,
        people,
        timeline,
        excluded_entries,
        operations,
        updates,
        action_items,
        evidence,
        links,
        participants,
    };
    (facts, variables)
}

#[allow(clippy::too_many_arguments)]
fn open_or_start(
    people: &mut Vec<PersonRow>,
    open: &mut BTreeMap<(String, UserName), usize>,
    variables: &RoleVariables,
    role_key: &str,
    person: &UserName,
    role: &str,
    at: Timestamp,
) {
    let key = (role_key.to_owned(), person.clone());
    if open.contains_key(&key) {
        return;
    }
    open.insert(key, people.len());
    people.push(PersonRow {
        variable: variables.of(person).to_owned(),
        person: person.to_string(),
        role: role.to_owned(),
        from: minute(at),
        to: String::new(),
    });
}

fn line_for(entry: &Entry<'_>, kind: &str, text: &str, starred: bool) -> TimelineLine {
    let at = minute(entry.envelope.at);
    TimelineLine {
        sequence: entry.sequence,
        time: at.get(11..16).unwrap_or_default().to_owned(),
        at,
        kind: kind.to_owned(),
        text: text.to_owned(),
        starred,
    }
}

fn owner_name(
    owner: &Owner,
    variables: &RoleVariables,
    role_name: &dyn Fn(&str) -> String,
) -> String {
    match owner {
        Owner::User(person) => variables.of(person).to_owned(),
        Owner::Role(role) => role_name(role.as_str()),
    }
}

fn kind_name(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Task => "task",
        ActionKind::FollowUp => "follow-up",
    }
}

/// `2026-11-02 10:02` in UTC.
pub fn minute(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

/// Text on one line: newlines become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Multi-line text as the continuation of a list item: later lines indented by two spaces,
/// and a line that would read as a heading escaped, so that a note cannot open a section of
/// its own (a `## People` in a note would otherwise shield the names after it).
fn indented(text: &str) -> String {
    text.trim()
        .replace("\r\n", "\n")
        .lines()
        .map(|line| {
            if line.trim_start().starts_with('#') {
                format!("\\{}", line.trim_start())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// An inline code span that survives backticks in the text.
fn code_span(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

fn escape_brackets(text: &str) -> String {
    text.replace('[', "\\[").replace(']', "\\]")
}

/// Numbers as `1`, `1 and 2` or `1, 2 and 3`.
fn numbers(list: &[u32]) -> String {
    let words: Vec<String> = list.iter().map(u32::to_string).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => words.join(""),
    }
}
