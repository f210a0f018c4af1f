//! The JSON shapes of the HTTP API under `/api/v1`: what the server sends and accepts, and
//! what the command-line client reads and writes. Plain data with serde, and the one parser
//! that turns an incident request into a core command (`Command::try_from(request)`), which
//! the API's handlers and the web UI's forms share.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

mod commands;
mod settings;
pub mod vocabulary;

pub use commands::{RequestError, search_text, time};

pub use settings::{
    AlertMaintenanceValue, AlertRouteValue, BlameRuleValue, Setting, SettingKind, SettingKindInfo,
    SettingKinds, SettingOrigin, SettingValue, Settings,
};

/// Every error response: `{"error": {"code": "…", "message": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable code (a rule's rejection code, or a protocol code such as
/// `unauthorized`, `not_found`, `malformed_json`) and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// For `version_conflict`: the incident's current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
}

/// `POST /api/v1/incidents`: declare an incident. Only the title is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareRequest {
    pub title: String,
    /// For responders; never sent to customers.
    #[serde(default)]
    pub summary: Option<String>,
    /// What customers may read (templates and the status page use it); refused while it holds
    /// template placeholders.
    #[serde(default)]
    pub public_summary: Option<String>,
    /// `SEV1` … `SEV4`; `SEV3` when absent.
    #[serde(default)]
    #[schema(value_type = Option<vocabulary::SeverityName>)]
    pub severity: Option<String>,
    /// The problem may happen but is not hurting anyone yet.
    #[serde(default)]
    pub potential: bool,
    #[serde(default)]
    pub services: Vec<String>,
    /// `internal` (default) or `restricted` (members and admins only).
    #[serde(default)]
    #[schema(value_type = Option<vocabulary::VisibilityName>)]
    pub visibility: Option<String>,
}

/// `PUT /api/v1/incidents/{id}/public-summary`: the summary written for customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicSummaryRequest {
    /// The new text; `null` clears it.
    pub text: Option<String>,
}

/// `POST /api/v1/incidents/{id}/notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub text: String,
}

/// `POST /api/v1/incidents/{id}/updates`: a stakeholder update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// `internal`, `service_owners`, `customers`, or `group:<name>`.
    pub audience: String,
    /// Markdown.
    pub body: String,
    /// Also show it on the public status page (the incident must be public).
    #[serde(default)]
    pub public: bool,
    /// Show it publicly without telling the status page's subscribers (a correction, say).
    #[serde(default)]
    pub quiet: bool,
}

/// `POST /api/v1/incidents/{id}/visibility`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisibilityRequest {
    /// `internal`, `public` or `restricted`.
    #[schema(value_type = vocabulary::VisibilityName)]
    pub visibility: String,
    pub reason: String,
}

/// One row of the incident list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentSummary {
    /// `INC-7`.
    pub id: String,
    pub number: u64,
    pub title: String,
    #[schema(value_type = vocabulary::IncidentStatus)]
    pub status: String,
    #[schema(value_type = vocabulary::SeverityName)]
    pub severity: String,
    pub potential: bool,
    #[schema(value_type = vocabulary::VisibilityName)]
    pub visibility: String,
    pub services: Vec<String>,
    pub commander: Option<String>,
    /// RFC 3339 timestamps.
    pub declared_at: String,
    pub resolved_at: Option<String>,
    pub updated_at: String,
    pub version: u64,
}

/// `GET /api/v1/incidents`: a page of incidents, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentSummary>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<u64>,
}

/// `GET /api/v1/insights`: figures across the incidents detected in a period, as
/// distributions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Insights {
    /// Detected at or after.
    pub since: String,
    /// Detected before.
    pub until: String,
    /// Incidents measured (those the caller may see).
    pub incidents: u64,
    /// Candidates still in triage: not yet incidents, not measured.
    pub in_triage: u64,
    /// Not measured, by how they ended: `declined`, `called_off`, `handed_back`, `merged`.
    pub not_measured: std::collections::BTreeMap<String, u64>,
    /// One row per group and measure.
    pub durations: Vec<DurationFigures>,
    /// How the measured incidents' follow-ups fare.
    pub follow_ups: FollowUpFigures,
    /// Incidents detected per ISO week and severity, oldest week first.
    pub per_week: Vec<WeekCount>,
    /// The current quarter's unavailability budget of each catalogued service with a
    /// `max_unavailability` (only the filtered service or team's, when filtered), over the
    /// incidents the caller may see.
    pub budgets: Vec<ServiceBudget>,
    /// Time each person spent on the period's incidents (those the caller may see), from
    /// their actions on the timelines: each counts 10 minutes, continuous when the next comes
    /// within 20; never more than an hour per hour across incidents. Split by each person's
    /// working hours into working, late and sleeping time. Most time first.
    pub workload: Vec<PersonWorkload>,
    /// True when the period held more incidents than one report reads (20,000): narrow it.
    pub capped: bool,
}

/// The figures as CSV, one figure per row (`figure,group,count,median_seconds,p90_seconds,value`),
/// for a spreadsheet: durations fill count, median and p90; counts and budgets fill value.
/// Text a spreadsheet would run as a formula (a team named `=cmd`) is quoted with a leading
/// apostrophe.
pub fn insights_csv(insights: &Insights) -> String {
    let mut out = String::from("figure,group,count,median_seconds,p90_seconds,value\r\n");
    let mut row = |figure: &str,
                   group: &str,
                   count: Option<u64>,
                   median: Option<i64>,
                   p90: Option<i64>,
                   value: Option<i64>| {
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            cell(figure),
            cell(group),
            count.map(|n| n.to_string()).unwrap_or_default(),
            number(median),
            number(p90),
            number(value)
        ));
    };
    row(
        "incidents",
        "all",
        None,
        None,
        None,
        Some(insights.incidents as i64),
    );
    row(
        "in_triage",
        "all",
        None,
        None,
        None,
        Some(insights.in_triage as i64),
    );
    for (status, count) in &insights.not_measured {
        row(
            "not_measured",
            &format!("status:{status}"),
            None,
            None,
            None,
            Some(*count as i64),
        );
    }
    for figures in &insights.durations {
        row(
            &figures.measure,
            &figures.group,
            Some(figures.count),
            figures.median_seconds,
            figures.p90_seconds,
            None,
        );
    }
    for week in &insights.per_week {
        row(
            "incidents_per_week",
            &format!("week:{}/severity:{}", week.week, week.severity),
            None,
            None,
            None,
            Some(week.count as i64),
        );
    }
    let f = &insights.follow_ups;
    for (figure, value) in [
        ("follow_ups", f.total),
        ("follow_ups_open", f.open),
        ("follow_ups_due_reached", f.due_reached),
        ("follow_ups_done_by_due", f.done_by_due),
    ] {
        row(figure, "all", None, None, None, Some(value as i64));
    }
    row(
        "follow_up_open_age",
        "all",
        Some(f.open),
        f.open_age_median_seconds,
        f.open_age_p90_seconds,
        None,
    );
    row(
        "follow_up_meetings_survived",
        "all",
        Some(f.total),
        f.meetings_survived_median,
        f.meetings_survived_p90,
        None,
    );
    for budget in &insights.budgets {
        let group = format!("service:{}", budget.service);
        row(
            "budget_allowed_seconds",
            &group,
            None,
            None,
            None,
            Some(budget.allowed_seconds),
        );
        row(
            "budget_used_seconds",
            &group,
            None,
            None,
            None,
            Some(budget.used_seconds),
        );
        row(
            "budget_remaining_seconds",
            &group,
            None,
            None,
            None,
            Some(budget.remaining_seconds),
        );
    }
    for person in &insights.workload {
        let group = format!("person:{}", person.person);
        for (figure, value) in [
            ("workload_total_seconds", person.total_seconds),
            ("workload_working_seconds", person.working_seconds),
            ("workload_late_seconds", person.late_seconds),
            ("workload_sleeping_seconds", person.sleeping_seconds),
        ] {
            row(figure, &group, None, None, None, Some(value));
        }
    }
    out
}

/// A CSV cell: quoted when it holds a comma, quote or line break, and defused when a
/// spreadsheet would read it as a formula.
fn cell(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// A service's unavailability budget for a calendar quarter: its `max_unavailability`,
/// consumed by the impact windows of its incidents (overlapping windows counted once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceBudget {
    pub service: String,
    /// The quarter's first instant.
    pub since: String,
    /// The next quarter's first instant.
    pub until: String,
    pub allowed_seconds: i64,
    pub used_seconds: i64,
    /// Negative once overspent.
    pub remaining_seconds: i64,
    /// Each incident's own impact within the quarter.
    pub incidents: Vec<BudgetUse>,
}

/// One person's time on incidents in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonWorkload {
    pub person: String,
    pub total_seconds: i64,
    pub working_seconds: i64,
    pub late_seconds: i64,
    pub sleeping_seconds: i64,
    /// Actions counted.
    pub actions: u64,
    /// Incidents worked on.
    pub incidents: u64,
}

/// How much of a budget one incident used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BudgetUse {
    /// `INC-7`.
    pub incident: String,
    pub used_seconds: i64,
}

/// How follow-ups fare: done by their due date, how long the open ones have been open, how
/// many review meetings they went through while open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpFigures {
    pub total: u64,
    pub open: u64,
    /// Follow-ups whose due date has come, or that were finished while having one.
    pub due_reached: u64,
    /// Of those, done on or before their due date.
    pub done_by_due: u64,
    pub open_age_median_seconds: Option<i64>,
    pub open_age_p90_seconds: Option<i64>,
    pub meetings_survived_median: Option<i64>,
    pub meetings_survived_p90: Option<i64>,
}

/// How many incidents of a severity were detected in a week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WeekCount {
    /// ISO week, e.g. `2026-W47`.
    pub week: String,
    #[schema(value_type = vocabulary::SeverityName)]
    pub severity: String,
    pub count: u64,
}

/// A duration's distribution in one group of incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DurationFigures {
    /// `all`, `severity:SEV1`, `service:checkout`, `team:payments`, `month:2026-11`, or
    /// `change_caused` (incidents naming a suspect release: their `time_to_mitigate` is the
    /// failed deployment recovery time).
    pub group: String,
    /// `time_to_detect`, `time_to_acknowledge`, `time_to_mitigate`, `time_to_resolve` or
    /// `time_to_close`, each from the `started` milestone.
    pub measure: String,
    /// Incidents in the group that reached the milestone.
    pub count: u64,
    /// Absent when no incident reached it.
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

/// `GET /api/v1/search`: the incidents a search finds, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// How many incidents match in all (those the caller may see).
    pub total: u64,
    /// False when a word is so common that only its newest 1,000 uses were ranked (500 for
    /// parts of words): then `total` counts the incidents among those, and more match.
    pub total_is_exact: bool,
    /// Pass as `offset` to get the next page; absent on the last page.
    pub next_offset: Option<u32>,
}

/// One incident a search found, with the text that matched best.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    /// e.g. `INC-42`.
    pub incident: String,
    pub title: String,
    pub status: String,
    pub severity: String,
    pub visibility: String,
    pub declared_at: String,
    /// Where the best match is: `incident` (title and summary), `note`, `update`,
    /// `operation`, `decision`, `follow_up`, `postmortem` or `link`.
    pub found_in: String,
    /// When that text was written.
    pub at: String,
    /// A piece of that text around the match.
    pub snippet: String,
    /// The same, HTML-escaped, with the matched words in `<mark>`.
    pub snippet_html: String,
}

/// Who holds a role on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleHolders {
    pub role: String,
    pub name: String,
    pub holders: Vec<String>,
    pub duties: Vec<String>,
}

/// A hand-off waiting for the named person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingHandoff {
    pub from: String,
    pub to: String,
    pub requested_at: String,
}

/// An action item as the state document shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActionItem {
    pub item: u32,
    pub text: String,
    /// A user name, or `role:<key>`.
    pub owner: String,
    pub due: Option<String>,
    /// `task` or `follow_up`.
    #[schema(value_type = vocabulary::ActionItemKind)]
    pub kind: String,
    /// `open`, `done` or `wont_fix`.
    #[schema(value_type = vocabulary::ActionItemState)]
    pub state: String,
    pub tracker_url: Option<String>,
    pub wont_fix_reason: Option<String>,
    /// The tracker the follow-up is kept in (its channel's name), which says where it
    /// stands; people close it there.
    #[serde(default)]
    pub tracker: Option<String>,
    /// How the tracker names its issue (`acme/api#12`); absent while it is being opened.
    #[serde(default)]
    pub tracker_key: Option<String>,
}

/// An incident's milestones, derived from its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Milestones {
    /// When the impact began: the impact window's start if earlier than the detection.
    pub started: Option<String>,
    /// When hereby first knew (the declaration; from alerts, when they arrived).
    pub detected: Option<String>,
    /// The first action of a person.
    pub acknowledged: Option<String>,
    /// The first move to monitoring (or to resolved, if it skipped monitoring).
    pub mitigated: Option<String>,
    pub resolved: Option<String>,
    pub closed: Option<String>,
}

/// `GET /api/v1/incidents/{id}`: the incident state document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentDocument {
    pub id: String,
    pub number: u64,
    /// Pass back in `If-Match` to make a write conditional on this version.
    pub version: u64,
    pub title: String,
    pub summary: Option<String>,
    /// The summary written for customers.
    #[serde(default)]
    pub public_summary: Option<String>,
    #[schema(value_type = vocabulary::IncidentStatus)]
    pub status: String,
    #[schema(value_type = vocabulary::SeverityName)]
    pub severity: String,
    pub potential: bool,
    #[schema(value_type = vocabulary::VisibilityName)]
    pub visibility: String,
    pub services: Vec<String>,
    pub declared_at: String,
    pub declared_by: String,
    pub resolved_at: Option<String>,
    pub updated_at: String,
    pub commander: Option<String>,
    /// Every role of the catalogue, staffed or not, in catalogue order.
    pub roles: Vec<RoleHolders>,
    pub pending_handoff: Option<PendingHandoff>,
    pub impact_start: Option<String>,
    pub impact_end: Option<String>,
    /// The moments its durations are measured between, each once reached.
    #[serde(default)]
    pub milestones: Milestones,
    pub action_items: Vec<ActionItem>,
    /// People added explicitly; role holders are members through their role.
    pub members: Vec<String>,
    /// When stakeholders are next owed an update (by the severity's cadence, while active).
    #[serde(default)]
    pub next_update_due: Option<String>,
    /// The latest severity evaluation with the checklist.
    #[serde(default)]
    pub evaluation: Option<EvaluationView>,
    /// The release suspected of introducing the fault.
    #[serde(default)]
    pub suspect_release: Option<ReleaseRef>,
    /// The follow-up decision that stands (the latest).
    #[serde(default)]
    pub decision: Option<DecisionView>,
    /// Announced intents not yet done or abandoned.
    #[serde(default)]
    pub open_intents: Vec<IntentView>,
    /// Change collisions the Incident Commander has not acknowledged.
    #[serde(default)]
    pub open_collisions: Vec<CollisionView>,
    /// Every change collision, acknowledged or not.
    #[serde(default)]
    pub collisions: Vec<CollisionView>,
    /// Operations on SEV1/SEV2 need a witness.
    #[serde(default)]
    pub witness_required: bool,
    /// Roles a SEV1/SEV2 still has nobody in after the grace period (operations,
    /// communications).
    #[serde(default)]
    pub unstaffed_roles: Vec<String>,
}

/// A release named by service and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseRef {
    pub service: String,
    pub version: String,
}

/// The latest severity evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationView {
    pub suggested: String,
    /// The rule that fired, or `default`.
    pub rule: String,
    pub chosen: String,
    pub reason: Option<String>,
    pub at: String,
    pub by: String,
}

/// A follow-up decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    pub decision: u32,
    /// `do_nothing`, `information_broadcast`, `roll_back` or `fast_tracked_release`.
    #[schema(value_type = vocabulary::FollowUpOptionName)]
    pub option: String,
    pub motivation: String,
    pub roll_back_to: Option<ReleaseRef>,
    /// The action items it generated.
    pub items: Vec<u32>,
    pub at: String,
    pub by: String,
}

/// An announced intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntentView {
    pub intent: u32,
    pub target: String,
    pub action: String,
    pub by: String,
    pub at: String,
    pub witness: Option<String>,
    /// `open`, `done` or `abandoned`.
    #[schema(value_type = vocabulary::IntentState)]
    pub state: String,
}

/// Two changes by different people in one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CollisionView {
    pub collision: u32,
    pub at: String,
    pub people: Vec<String>,
    /// Stream sequences of the earlier and later change.
    pub earlier: u64,
    pub later: u64,
    pub acknowledged: bool,
    /// A recovery fell within its window: the cause is unattributed.
    pub unattributed: bool,
}

/// A service of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Service {
    pub name: String,
    pub owner_team: String,
    /// `critical`, `high`, `normal` or `low`.
    #[schema(value_type = vocabulary::CriticalityName)]
    pub criticality: String,
    /// The longest unavailability the service may have, a duration such as `30m`, `4h` or
    /// `1h30m`.
    pub max_unavailability: Option<String>,
    /// Seen by customers (`true`) or internal only.
    pub public: bool,
    /// Services this one needs.
    pub depends_on: Vec<String>,
    /// The bar above which a problem is an incident rather than a support ticket.
    pub incident_definition: Option<String>,
    pub description: Option<String>,
    pub updated_at: String,
    pub updated_by: String,
}

/// `PUT /api/v1/services/{name}` (admins), and one entry of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutService {
    pub owner_team: String,
    #[schema(value_type = vocabulary::CriticalityName)]
    pub criticality: String,
    #[serde(default)]
    pub max_unavailability: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub incident_definition: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// One service of an import, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportedService {
    pub name: String,
    #[serde(flatten)]
    pub service: PutService,
}

/// `POST /api/v1/services/import` (admins): all services are stored, or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportServices {
    pub services: Vec<ImportedService>,
}

/// `GET /api/v1/services`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Services {
    pub services: Vec<Service>,
}

/// `POST /api/v1/releases`: a deployment, recorded by a pipeline or by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    pub service: String,
    pub version: String,
    /// When it went live (RFC 3339); now when absent.
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A recorded deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Release {
    pub service: String,
    pub version: String,
    pub at: String,
    pub recorded_by: String,
    pub notes: String,
}

/// A list of releases, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Releases {
    pub releases: Vec<Release>,
}

/// `GET /api/v1/incidents/{id}/releases`: releases of the affected services in the 48 hours
/// before impact start (or declaration) and since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentReleases {
    pub from: String,
    pub to: String,
    pub suspect: Option<ReleaseRef>,
    pub releases: Vec<Release>,
}

/// `POST /api/v1/incidents/{id}/suspect-release`: name a recorded release as suspect, or
/// clear it (both fields absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspectRequest {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/incidents/{id}/evaluation`: the severity checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRequest {
    /// Hurting users now (`false`: a potential problem).
    pub live: bool,
    #[serde(default)]
    pub users_affected: Option<u64>,
    #[serde(default)]
    pub users_estimated: bool,
    #[serde(default)]
    pub sites: Vec<String>,
    /// Affected services; the incident's own when empty. Criticality comes from the
    /// catalogue.
    #[serde(default)]
    pub services: Vec<String>,
    pub availability: bool,
    pub data_loss_or_security: bool,
    pub workaround: bool,
    /// The severity to set; the suggestion when absent.
    #[serde(default)]
    pub chosen: Option<String>,
    /// Needed when `chosen` differs from the suggestion.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer to an evaluation: the suggestion, its rule, and the write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationResult {
    pub suggested: String,
    pub rule: String,
    pub chosen: String,
    pub write: WriteResult,
}

/// `GET /api/v1/severity-rules`: the rules in force, as TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeverityRules {
    pub toml: String,
}

/// `GET /api/v1/permissions`: who may do what on an incident, as the installation configured
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PermissionTable {
    /// One row per capability, in table order.
    pub rows: Vec<PermissionRow>,
    /// The same table as TOML, for `hereby serve --permissions FILE`.
    pub toml: String,
}

/// One row of the permission table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PermissionRow {
    /// `status`, `severity`, `visibility`, `roles`, `handoff`, `decisions`, `updates`,
    /// `operations` or `notes`.
    #[schema(value_type = vocabulary::CapabilityName)]
    pub capability: String,
    /// Role keys on the incident, `admin` or `anyone`.
    pub who: Vec<String>,
    /// What the capability covers.
    pub covers: String,
}

/// One rung of the follow-up ladder for an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rung {
    #[schema(value_type = vocabulary::FollowUpOptionName)]
    pub option: String,
    pub applicable: bool,
    pub note: String,
    pub actions: Vec<PlannedAction>,
    /// The message template drafted with the decision.
    pub template: Option<String>,
    pub roll_back_to: Option<ReleaseRef>,
}

/// An action a decision generates, owned by a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlannedAction {
    pub text: String,
    pub role: String,
}

/// `GET /api/v1/incidents/{id}/ladder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ladder {
    pub guidance: String,
    pub rungs: Vec<Rung>,
    pub current: Option<DecisionView>,
}

/// `POST /api/v1/incidents/{id}/decisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    #[schema(value_type = vocabulary::FollowUpOptionName)]
    pub option: String,
    pub motivation: String,
}

/// The answer to a decision: the write, and a message drafted from the matching template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecisionResult {
    pub write: WriteResult,
    pub message_draft: Option<Message>,
}

/// `POST /api/v1/incidents/{id}/intents`: what you are about to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentRequest {
    pub target: String,
    pub action: String,
    #[serde(default)]
    pub witness: Option<String>,
}

/// `POST /api/v1/incidents/{id}/intents/{intent}/done`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentDone {
    #[serde(default)]
    pub command: Option<String>,
    /// Replaces the witness named with the intent.
    #[serde(default)]
    pub witness: Option<String>,
}

/// `POST /api/v1/incidents/{id}/intents/{intent}/abandon`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentAbandon {
    #[serde(default)]
    pub reason: Option<String>,
}

/// `PUT /api/v1/incidents/{id}/witness-rule` (the Incident Commander).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessRule {
    pub required: bool,
}

/// One event of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    /// Position in the global log: the `Last-Event-ID` of live streams.
    pub position: i64,
    pub incident: String,
    pub sequence: u64,
    pub at: String,
    pub actor: String,
    /// The event type, e.g. `note_added`.
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub body: Value,
    /// The entry in one plain sentence, e.g. `anna-ops is now Operations`.
    #[serde(default)]
    pub text: String,
}

/// `GET /api/v1/incidents/{id}/timeline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    pub entries: Vec<TimelineEntry>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// The answer to every successful write on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WriteResult {
    pub id: String,
    pub version: u64,
    /// The timeline entries the write added.
    pub entries: Vec<TimelineEntry>,
    /// What the writer should know although the write was done: an incident resolved while
    /// alerts attached to it still fire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `POST /api/v1/incidents/{id}/roles`: give `person` a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub role: String,
    pub person: String,
}

/// `POST /api/v1/incidents/{id}/handoff`: the IC asks `to` to take over command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffRequest {
    pub to: String,
}

/// A body carrying an optional or required reason (decline, resolve, call-off, hand-back).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/incidents/{id}/triage/merge`: the incident a candidate goes into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// e.g. `INC-7`.
    pub into: String,
}

/// `POST …/postmortem/reviewed` and `…/publish`: optionally, why the step may go ahead although
/// the linter still finds blame language, real names or unfilled template hints in the text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GateRequest {
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// `POST /api/v1/incidents/{id}/severity`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeverityRequest {
    #[schema(value_type = vocabulary::SeverityName)]
    pub severity: String,
    /// Unchanged when absent.
    #[serde(default)]
    pub potential: Option<bool>,
    pub reason: String,
}

/// `POST /api/v1/incidents/{id}/status`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    #[schema(value_type = vocabulary::IncidentStatus)]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// Close although the post-mortem is not reviewed or follow-ups are open (needs a reason).
    #[serde(default)]
    #[serde(alias = "override_open_follow_ups")]
    pub override_close_checks: bool,
}

/// `POST /api/v1/incidents/{id}/milestones`: the Incident Commander sets a milestone's time,
/// saying why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneRequest {
    #[schema(value_type = vocabulary::Milestone)]
    pub milestone: String,
    /// RFC 3339, e.g. `2026-11-21T09:30:00Z`; not in the future.
    pub at: String,
    pub reason: String,
}

/// `PUT /api/v1/incidents/{id}/impact`: RFC 3339 times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactRequest {
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
}

/// `POST /api/v1/incidents/{id}/operations`: a change made to production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationRequest {
    pub target: String,
    pub action: String,
    #[serde(default)]
    pub command: Option<String>,
    /// Who agreed to the change and watches it being made.
    #[serde(default)]
    pub witness: Option<String>,
}

/// `POST /api/v1/incidents/{id}/links`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// `ticket`, `release`, `pr`, `doc` or `chat`.
    #[schema(value_type = vocabulary::LinkKindName)]
    pub kind: String,
    pub url: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// `POST /api/v1/incidents/{id}/action-items`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemRequest {
    pub text: String,
    /// A user name, or `role:<key>`.
    pub owner: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due: Option<String>,
    /// `task` (default) or `follow_up`.
    #[serde(default)]
    #[schema(value_type = Option<vocabulary::ActionItemKind>)]
    pub kind: Option<String>,
    #[serde(default)]
    pub tracker_url: Option<String>,
}

/// `PATCH /api/v1/incidents/{id}/action-items/{item}`: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemChange {
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub tracker_url: Option<String>,
}

/// `POST /api/v1/incidents/{id}/members`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    pub person: String,
}

/// A user of the installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub name: String,
    /// `admin`, `responder` or `viewer`.
    #[schema(value_type = vocabulary::UserRole)]
    pub role: String,
    pub disabled: bool,
    pub created_at: String,
}

/// `POST /api/v1/users` (admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub name: String,
    /// `responder` when absent.
    #[serde(default)]
    #[schema(value_type = Option<vocabulary::UserRole>)]
    pub role: Option<String>,
}

/// `PATCH /api/v1/users/{name}` (admins): absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChangeRequest {
    #[serde(default)]
    #[schema(value_type = Option<vocabulary::UserRole>)]
    pub role: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// `PUT /api/v1/users/{name}/password`: your own password, or (admins) anyone's. At least 10
/// characters and at most 1,024 bytes. Its `Debug` form hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    pub password: String,
}

impl std::fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPassword")
            .field("password", &"***")
            .finish()
    }
}

/// `POST /api/v1/tokens`: a token for yourself, or (admins) for `user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub label: String,
    #[serde(default)]
    pub user: Option<String>,
}

/// An API token's record; the secret is never shown again after creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub id: i64,
    pub user: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// The answer to `POST /api/v1/tokens`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub record: Token,
}

/// `GET /api/v1/incidents/{id}/verify`: whether an incident's hash chain is intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Verification {
    pub id: String,
    /// Events checked (up to the first broken link).
    pub events: u64,
    pub intact: bool,
    /// The first broken link, e.g. `INC-2 breaks at event #2: stored hash does not match …`.
    pub problem: Option<String>,
    /// The head of the chain (hex SHA-256 of the last event) when intact.
    pub head: Option<String>,
    /// With `?at=N`: the hash of event N when the chain is intact up to it, which an export's
    /// footer names as the head it was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_at: Option<String>,
}

/// `GET /api/v1/verify` (admins): every incident's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerificationReport {
    pub incidents: u64,
    pub events: u64,
    /// One line per damaged incident: its first broken link.
    pub problems: Vec<String>,
}

/// An attachment on an incident; its content is at `/api/v1/incidents/{id}/attachments/{sha256}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// Hex SHA-256 of the content: its address.
    pub sha256: String,
    pub attached_at: String,
    pub attached_by: String,
}

/// A component of the public status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Component {
    /// A service name, as incidents name their affected services.
    pub name: String,
    pub description: String,
    /// Components are shown in ascending position, then by name.
    pub position: i64,
    /// Set by hand: `operational`, `degraded_performance`, `partial_outage`, `major_outage`
    /// or `under_maintenance`. Absent: derived from the active public incidents affecting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<vocabulary::ComponentStatusName>)]
    pub status: Option<String>,
    /// The group it is shown under on the status page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `PUT /api/v1/components/{name}`: create or change a component. Absent fields keep their
/// value (a new component goes last and has no description).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutComponent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// A component status to set by hand, or `auto` to derive it from incidents again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<vocabulary::ComponentStatusSetting>)]
    pub status: Option<String>,
    /// The group to show it under on the status page (e.g. `Payments`); empty for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// The public status page's identity, as admins set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusPageSettings {
    /// The page's title, e.g. `Acme status`.
    pub name: String,
    /// Where the public reads the page; empty for this server's `/status`.
    pub url: String,
    /// The IANA time zone the page shows times and days in, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// A sentence or two under the title (Markdown), possibly empty.
    pub description: String,
    /// The e-mail channel that sends to the page's e-mail subscribers; empty for none.
    #[serde(default)]
    pub mail_channel: String,
    /// Who may subscribe a webhook: `public` (addresses that resolve to public IP addresses
    /// only), `any` or `off`.
    #[serde(default)]
    pub webhook_signups: String,
}

/// `PUT /api/v1/status-page`: absent fields keep their value; an empty `url` goes back to
/// this server's `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutStatusPage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The e-mail channel for e-mail subscribers; empty for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_channel: Option<String>,
    /// `public` (webhook addresses on the internet only), `any` or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_signups: Option<String>,
}

/// A subscriber of the public status page, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusSubscriber {
    pub id: i64,
    /// `email` or `webhook`.
    pub kind: String,
    /// The e-mail address or the webhook's URL.
    pub address: String,
    /// The one incident it follows, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// The components it follows; none for everything.
    pub components: Vec<String>,
    /// `pending` (not confirmed yet), `active` or `unsubscribed`.
    pub state: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
}

/// `POST /api/v1/maintenances` (schedule) and `PUT /api/v1/maintenances/{maintenance}`
/// (change the plan): a planned window of work on status page components.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutMaintenance {
    /// What the public reads, e.g. `Database upgrade`.
    pub title: String,
    /// The components it affects, by name (at least one).
    pub components: Vec<String>,
    /// RFC 3339, or a date and time without an offset read as UTC.
    pub starts_at: String,
    pub ends_at: String,
    /// Go in progress at the start by itself (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_start: Option<bool>,
    /// Complete at the end by itself while still in progress (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_complete: Option<bool>,
    /// What to tell the public with it (Markdown); a sentence of hereby's when absent. A
    /// change of plan posts an update only when this is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Tell subscribers (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}

/// `POST /api/v1/maintenances/{maintenance}/updates`: words for the public, a move to
/// another status, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceUpdateRequest {
    /// `in_progress`, `verifying` or `completed` (forward only); absent keeps the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<vocabulary::MaintenanceStatusName>)]
    pub status: Option<String>,
    /// What to tell the public (Markdown); needed when the status stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Tell subscribers (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}

/// What was said about a maintenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceUpdate {
    pub id: i64,
    #[schema(value_type = vocabulary::MaintenanceStatusName)]
    pub status: String,
    pub body: String,
    pub author: String,
    pub at: String,
}

/// A scheduled maintenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Maintenance {
    pub id: i64,
    pub title: String,
    pub components: Vec<String>,
    #[schema(value_type = vocabulary::MaintenanceStatusName)]
    pub status: String,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub auto_start: bool,
    pub auto_complete: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// Newest first.
    pub updates: Vec<MaintenanceUpdate>,
}

/// A message template in effect: shipped, added by an admin, or a changed default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    pub name: String,
    pub description: String,
    /// Template source of the subject line.
    pub subject: String,
    /// Template source of the body (Markdown once rendered).
    pub body: String,
    /// `default` (shipped), `custom` (added) or `changed` (a stored change of a default).
    #[schema(value_type = vocabulary::TemplateOrigin)]
    pub origin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// `GET /api/v1/templates`: the templates and the variables they may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Templates {
    pub templates: Vec<Template>,
    pub variables: Vec<TemplateVariable>,
}

/// A variable templates may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TemplateVariable {
    pub name: String,
    pub description: String,
}

/// `PUT /api/v1/templates/{name}`: add a template or change one (a shipped default is
/// changed by storing one of its name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutTemplate {
    #[serde(default)]
    pub description: String,
    pub subject: String,
    pub body: String,
}

/// A template rendered for one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub template: String,
    pub subject: String,
    pub body: String,
}

/// `POST /api/v1/channels` (admins): a webhook (`url`, `secret`), a Slack/Mattermost
/// incoming webhook (`url`), or an SMTP server (`host`, `port`, `tls`, `username`,
/// `password`, `from`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    /// A unique name, e.g. `ops-webhook`.
    pub name: String,
    /// `webhook`, `slack`, `teams`, `email`, `matrix`, `slack_app` or `mattermost`; or a
    /// tracker follow-ups are opened in: `github`, `gitlab` or `tracker` (a generic one).
    #[schema(value_type = vocabulary::ChannelKind)]
    pub kind: String,
    /// Where a webhook posts, or a Matrix homeserver's, Slack Web API's or Mattermost
    /// server's address; a GitHub API's (default `https://api.github.com`), a GitLab
    /// server's (default `https://gitlab.com`) or a generic tracker's address.
    #[serde(default)]
    pub url: Option<String>,
    /// The webhook signing secret (at least 16 characters), or the bot's access token of a
    /// Matrix, Slack app or Mattermost channel; a GitHub or GitLab access token; a generic
    /// tracker's Standard Webhooks secret (`whsec_…`), which signs both ways.
    #[serde(default)]
    pub secret: Option<String>,
    /// Trackers: the repository (`owner/name`) on GitHub, the project (`group/name` or its
    /// id) on GitLab.
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    #[schema(value_type = Option<vocabulary::SmtpTls>)]
    pub tls: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The sender address of e-mails.
    #[serde(default)]
    pub from: Option<String>,
    /// Chat (matrix): rooms the team talks in, by id (`!id:server`) or alias (`#name:server`);
    /// the bot joins them, answers commands there and offers to declare on the phrase.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Chat: said in a watched room, it offers to declare an incident [default: I hereby
    /// declare this an incident].
    #[serde(default)]
    pub phrase: Option<String>,
    /// Chat: a reaction with this emoji copies a message of an incident room into the
    /// timeline [default: 📌].
    #[serde(default)]
    pub emoji: Option<String>,
    /// Chat: copy every message of an incident room into its timeline.
    #[serde(default)]
    pub capture: bool,
    /// Chat: the Slack app's signing secret (slack_app), which every request Slack sends is
    /// checked against, or the Mattermost slash command's token (mattermost). Trackers: the
    /// secret of GitHub's webhook (`X-Hub-Signature-256`) or GitLab's webhook token.
    #[serde(default)]
    pub signing_secret: Option<String>,
    /// Chat: the Slack workspace's team id (`T…`), or the Mattermost team's id.
    #[serde(default)]
    pub team: Option<String>,
    /// Chat (slack_app): an app-level token (`xapp-…`) for Socket Mode, with which hereby
    /// connects out to Slack and needs no public address.
    #[serde(default)]
    pub app_token: Option<String>,
    /// An e-mail channel that carries personal notifications (a role given to you, update
    /// reminders) to users' own addresses.
    #[serde(default)]
    pub personal: bool,
    /// Deliveries in flight at once on this channel, per server node (1–64, default 4).
    #[serde(default)]
    pub concurrency: Option<u32>,
}

/// A channel as the API shows it: never its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    #[schema(value_type = vocabulary::ChannelKind)]
    pub kind: String,
    /// Where messages go, without secrets.
    pub target: String,
    pub personal: bool,
    pub concurrency: u32,
    pub created_at: String,
}

/// `POST /api/v1/subscriptions` (admins): which events go to a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    /// The channel's id or name.
    pub channel: String,
    /// The e-mail address, for e-mail channels (required there, refused elsewhere).
    #[serde(default)]
    pub recipient: Option<String>,
    /// Any of `declared`, `severity_changed`, `status_changed`, `update_posted`, `resolved`,
    /// `role_assigned`, `reminder`.
    #[schema(value_type = Vec<vocabulary::NotificationEvent>)]
    pub events: Vec<String>,
    /// Only updates to this audience (`internal`, `customers`, `group:<name>` …).
    #[serde(default)]
    pub audience: Option<String>,
    /// `all` (default: every incident except restricted ones) or `public` (status-page
    /// subscribers: public incidents and public updates only).
    #[serde(default)]
    #[schema(value_type = Option<vocabulary::SubscriptionScope>)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub id: i64,
    pub channel_id: i64,
    pub channel: String,
    pub recipient: Option<String>,
    #[schema(value_type = Vec<vocabulary::NotificationEvent>)]
    pub events: Vec<String>,
    pub audience: Option<String>,
    #[schema(value_type = vocabulary::SubscriptionScope)]
    pub scope: String,
    pub created_at: String,
}

/// A queued notification and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    /// Sent as `Idempotency-Key`; the same for every attempt.
    pub idempotency_key: String,
    pub channel_id: i64,
    pub recipient: Option<String>,
    /// e.g. `INC-7`.
    pub incident: Option<String>,
    pub kind: String,
    pub subject: String,
    /// `pending`, `delivered` or `dead`.
    #[schema(value_type = vocabulary::DeliveryState)]
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// `PUT /api/v1/users/{name}/email`: where personal notifications go (`null` clears it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEmail {
    pub email: Option<String>,
}

/// `GET`/`PUT /api/v1/users/{name}/working-hours` answer: the hours a person's incident work
/// is judged by in the workload figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkingHours {
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: String,
    /// Local working hours, `08:00-19:00`.
    pub working: String,
    /// Until when the evening counts as late rather than sleeping, `23:00`.
    pub late_until: String,
    /// Working days, `mon-fri`, `mon-tue,thu` or `none`.
    pub days: String,
    /// Whether these are the defaults (nothing was set for the person).
    pub default: bool,
}

/// `PUT /api/v1/users/{name}/working-hours`: each field left out keeps its current (or
/// default) value. Defaults: `UTC`, `08:00-19:00`, late until `23:00`, `mon-fri`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWorkingHours {
    /// An IANA time zone such as `Europe/Berlin`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Local working hours, `09:00-17:30`.
    #[serde(default)]
    pub working: Option<String>,
    /// Until when the evening counts as late rather than sleeping; `24:00` for midnight.
    #[serde(default)]
    pub late_until: Option<String>,
    /// Working days, `mon-fri`, `mon,tue,thu` or `none`; the working hours of other days
    /// count as late.
    #[serde(default)]
    pub days: Option<String>,
}

/// `PUT /api/v1/incidents/{id}/postmortem/tags`: file the post-mortem in the library under
/// these tags and contributing factors (lowercase words such as `database` or
/// `missing-alert`), replacing the earlier ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPostmortem {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub factors: Vec<String>,
}

/// `GET /api/v1/postmortems`: the post-mortem library, newest published first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Library {
    pub postmortems: Vec<LibraryEntry>,
    /// Every tag among the post-mortems found, with how many carry it, most used first.
    pub tags: Vec<TagCount>,
    /// Every contributing factor among them, likewise.
    pub factors: Vec<TagCount>,
    /// True when more incidents were to be looked through than one request reads (5,000), or
    /// a search filled its 100 best matches: narrow the filters.
    pub capped: bool,
}

/// A published post-mortem in the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LibraryEntry {
    /// `INC-7`.
    pub incident: String,
    pub title: String,
    #[schema(value_type = vocabulary::SeverityName)]
    pub severity: String,
    pub services: Vec<String>,
    pub owner: String,
    pub published_at: String,
    pub tags: Vec<String>,
    pub factors: Vec<String>,
}

/// A tag or factor and how many post-mortems carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TagCount {
    pub name: String,
    pub count: u64,
}

/// `POST /api/v1/incidents/{id}/postmortem`: draft the post-mortem from the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    /// The post-mortem template to start from [default: `full`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// `GET /api/v1/incidents/{id}/postmortem`: the post-mortem and where its review stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Postmortem {
    pub id: String,
    /// `draft`, `in_review`, `reviewed` or `published`.
    #[schema(value_type = vocabulary::PostmortemStatusName)]
    pub status: String,
    /// Who runs the review.
    pub owner: String,
    pub template: String,
    /// Pass back as `base_revision` when saving an edit.
    pub revision: u32,
    pub revised_at: String,
    pub revised_by: String,
    /// Who approved the current revision.
    pub approvals: Vec<String>,
    pub comments: u32,
    pub reviewed_at: Option<String>,
    pub published_at: Option<String>,
    /// The Markdown text.
    pub body: String,
}

/// `PUT /api/v1/incidents/{id}/postmortem`: save a new revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisePostmortem {
    pub body: String,
    /// The revision this edit started from; a newer saved revision refuses the edit
    /// (`stale_revision`) instead of overwriting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_revision: Option<u32>,
    /// What changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `PUT /api/v1/incidents/{id}/postmortem/owner`: hand the review to someone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerRequest {
    pub owner: String,
}

/// One saved revision of a post-mortem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    pub revision: u32,
    pub at: String,
    pub by: String,
    pub comment: Option<String>,
    /// The timeline entry that holds it.
    pub sequence: u64,
}

/// A reviewer's comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewComment {
    pub revision: u32,
    pub at: String,
    pub by: String,
    pub text: String,
}

/// `GET /api/v1/incidents/{id}/postmortem/revisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Revisions {
    pub revisions: Vec<Revision>,
    pub comments: Vec<ReviewComment>,
}

/// `GET /api/v1/incidents/{id}/postmortem/diff?from=1&to=2`: a unified diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevisionDiff {
    pub from: u32,
    pub to: u32,
    pub diff: String,
}

/// One thing the post-mortem linter found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    /// `blame` (language that points at a person) or `name` (a real name in the body).
    #[schema(value_type = vocabulary::FindingKind)]
    pub kind: String,
    pub line: usize,
    pub column: usize,
    pub text: String,
    pub message: String,
    pub suggestion: String,
    /// For a name: the role variable to write instead.
    pub replacement: Option<String>,
}

/// `GET /api/v1/incidents/{id}/postmortem/lint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LintReport {
    pub revision: u32,
    pub findings: Vec<Finding>,
    /// The body with every real name replaced by its role variable: save it to accept the
    /// substitutions. Absent when there is nothing to replace.
    pub substituted: Option<String>,
}

/// `PUT /api/v1/incidents/{id}/timeline/{sequence}/mark`: star an entry, exclude it from the
/// post-mortem's timeline, or make it plain again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    /// `starred`, `excluded` or `plain`.
    #[schema(value_type = vocabulary::TimelineMark)]
    pub mark: String,
}

/// A post-mortem template in effect: shipped, added by an admin, or a changed default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostmortemTemplate {
    pub name: String,
    pub description: String,
    /// minijinja source rendering to Markdown.
    pub body: String,
    /// `default`, `custom` or `changed`.
    #[schema(value_type = vocabulary::TemplateOrigin)]
    pub origin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// `GET /api/v1/postmortem-templates`: the templates and the variables they may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostmortemTemplates {
    pub templates: Vec<PostmortemTemplate>,
    pub variables: Vec<TemplateVariable>,
}

/// `PUT /api/v1/postmortem-templates/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPostmortemTemplate {
    #[serde(default)]
    pub description: String,
    pub body: String,
}

/// One rule of the blame-language check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlameRule {
    /// Words matched case-insensitively; `{person}` stands for anyone's name or role
    /// variable, `*` for one word.
    pub pattern: String,
    pub suggestion: String,
    /// `default` (shipped) or `custom` (added by an admin).
    #[serde(default)]
    #[schema(value_type = vocabulary::RuleOrigin)]
    pub origin: String,
}

/// `GET /api/v1/blame-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlameRules {
    pub rules: Vec<BlameRule>,
}

/// `PUT /api/v1/blame-rules`: add a rule or change a custom rule's suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutBlameRule {
    pub pattern: String,
    pub suggestion: String,
}

/// One follow-up on a review meeting's agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgendaItem {
    pub item: u32,
    pub text: String,
    /// A user, or `role:<key>`.
    pub owner: String,
    /// `open`, `done` or `wont_fix`.
    #[schema(value_type = vocabulary::ActionItemState)]
    pub state: String,
    pub due: Option<String>,
    pub tracker_url: Option<String>,
    pub days_open: i64,
    pub overdue: bool,
    /// Where the follow-up's tracker issue stands, when it is kept in a tracker: the state
    /// shown above is the tracker's, as of `synced_at`.
    #[serde(default)]
    pub tracked: Option<TrackedFollowUp>,
}

/// A follow-up kept in an issue tracker, and how its last sync went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrackedFollowUp {
    /// `INC-42`.
    pub incident: String,
    pub item: u32,
    /// The tracker (its channel's name).
    pub tracker: String,
    /// How the tracker names the issue (`acme/api#12`); absent until it was made.
    pub key: Option<String>,
    pub url: Option<String>,
    /// What the tracker said last: `open`, `done` or `wont_do`.
    pub state: Option<String>,
    /// The tracker's reason for closing it.
    pub reason: Option<String>,
    /// When hereby last heard from the tracker about it (webhook or poll).
    pub synced_at: Option<String>,
    /// Why the last sync failed (a refused token, an issue that is gone); absent once a sync
    /// works again.
    pub sync_error: Option<String>,
    pub error_at: Option<String>,
}

/// `POST /api/v1/incidents/{incident}/action-items/{item}/export`: open a follow-up in a
/// tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The tracker's (its channel's) name.
    pub tracker: String,
}

/// `POST /api/v1/incidents/{incident}/action-items/{item}/unlink`: stop following its
/// tracker issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlinkRequest {
    pub reason: String,
}

/// A review meeting that took place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeldMeeting {
    pub meeting: u32,
    pub at: String,
    pub attendees: Vec<String>,
    pub notes: Option<String>,
    pub outcomes: Vec<Outcome>,
}

/// What a meeting decided about one follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub item: u32,
    /// `done`, `wont_fix` (with `reason`) or `open` (with a new `due` date).
    #[schema(value_type = vocabulary::ReviewOutcome)]
    pub decision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
}

/// The next review meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NextMeeting {
    pub meeting: u32,
    pub at: String,
    /// The invitation as iCalendar.
    pub ics_url: String,
}

/// `GET /api/v1/incidents/{id}/reviews`: the agenda, the next meeting and the minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reviews {
    pub id: String,
    pub title: String,
    #[schema(value_type = vocabulary::IncidentStatus)]
    pub status: String,
    pub next: Option<NextMeeting>,
    pub agenda: Vec<AgendaItem>,
    pub held: Vec<HeldMeeting>,
    /// Every follow-up is done or won't fix.
    pub follow_ups_settled: bool,
    /// `draft`, `in_review`, `reviewed`, `published`, or absent before a draft.
    #[schema(value_type = Option<vocabulary::PostmortemStatusName>)]
    pub postmortem_status: Option<String>,
    /// The incident may be closed now without an override.
    pub closable: bool,
}

/// `POST /api/v1/incidents/{id}/reviews`: record a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMeeting {
    pub attendees: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default)]
    pub outcomes: Vec<Outcome>,
    /// When the meeting took place (RFC 3339), for one recorded afterwards [default: now].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// `PUT /api/v1/incidents/{id}/reviews/next`: set or move the next meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleMeeting {
    /// RFC 3339, e.g. `2026-12-30T15:00:00Z`.
    pub at: String,
}

/// One incident in the review overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewOverviewRow {
    pub id: String,
    pub title: String,
    pub next_meeting: Option<String>,
    pub open_follow_ups: u32,
    pub overdue_follow_ups: Vec<AgendaItem>,
    #[schema(value_type = Option<vocabulary::PostmortemStatusName>)]
    pub postmortem_status: Option<String>,
}

/// `GET /api/v1/reviews`: upcoming review meetings and overdue follow-ups across incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewOverview {
    /// Resolved incidents with a meeting planned or follow-ups open, soonest meeting first.
    pub incidents: Vec<ReviewOverviewRow>,
}

/// `POST /api/v1/integrations`: a place monitoring sends alerts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationRequest {
    /// A unique name, e.g. `prometheus`.
    pub name: String,
    /// `alertmanager`, `pagerduty`, `opsgenie`, `generic` or `heartbeat`.
    #[schema(value_type = vocabulary::IntegrationKind)]
    pub kind: String,
    /// A heartbeat's timeout (e.g. `10m`): an alert fires when no ping came for this long.
    /// Required for `heartbeat`, refused for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// An integration, without its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Integration {
    pub id: i64,
    pub name: String,
    #[schema(value_type = vocabulary::IntegrationKind)]
    pub kind: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// While a rotation lasts, the previous key works until this time.
    pub previous_key_until: Option<String>,
    pub last_event_at: Option<String>,
    /// Where the source sends, relative to the server's address.
    pub path: String,
    /// A heartbeat's timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Events accepted from it and queued behind a storm, not yet grouped.
    #[serde(default)]
    pub queued_events: u64,
}

/// A new or rotated integration with its key, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntegrationKey {
    pub integration: Integration,
    /// The key: stored only as a digest, never shown again.
    pub key: String,
    /// What to paste into the source's configuration, with the key in it.
    pub config: String,
}

/// `POST /api/v1/integrations/{name}/rotate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the current key keeps working beside the new one (default `1h`; at most `7d`).
    #[serde(default)]
    pub overlap: Option<String>,
}

/// An alert group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertGroup {
    pub id: i64,
    pub route: String,
    /// Its key as people read it: `alertname="HighLatency", service="checkout"`.
    pub label: String,
    pub title: String,
    #[schema(value_type = vocabulary::SeverityName)]
    pub severity: String,
    pub service: Option<String>,
    pub opened_at: String,
    pub last_alert_at: String,
    /// When its last firing alert resolved; absent while any fires.
    pub resolved_at: Option<String>,
    pub firing: u64,
    pub alerts: u64,
    pub events: u64,
    pub reopened: u64,
    /// e.g. `INC-7`.
    pub incident: Option<String>,
    /// Who acknowledged it: someone is on it, so it opens no incident by its route's policy.
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default)]
    pub acknowledged_at: Option<String>,
    /// Its new firing alerts are kept as suppressed until then.
    #[serde(default)]
    pub silenced_until: Option<String>,
    #[serde(default)]
    pub silenced_by: Option<String>,
    #[serde(default)]
    pub silence_reason: Option<String>,
    /// Its alerts flip too often: it takes them all and opens or reopens nothing.
    #[serde(default)]
    pub flapping: bool,
    /// It waits for an incident, held by its route's pause until then.
    #[serde(default)]
    pub held_until: Option<String>,
}

/// `POST /api/v1/alert-groups/{id}/silence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    /// How long, e.g. `2h` (at most `7d`); `0s` lifts the silence.
    #[serde(rename = "for")]
    pub duration: String,
    /// Why (shown with the group).
    #[serde(default)]
    pub reason: Option<String>,
}

/// One alert of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub dedup_key: String,
    pub firing: bool,
    pub summary: String,
    #[schema(value_type = Object)]
    pub labels: std::collections::BTreeMap<String, String>,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
    /// Events received for it, duplicates included.
    pub count: u64,
    /// Why it was kept without asking anything (a maintenance window, a silence).
    #[serde(default)]
    pub suppressed: Option<String>,
}

/// `GET /api/v1/alert-groups/{id}`: a group and its newest alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertGroupDetail {
    pub group: AlertGroup,
    pub alerts: Vec<Alert>,
}

/// `POST /api/v1/alert-groups/{id}/attach`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachRequest {
    /// The incident the group's alerts belong to, e.g. `INC-7`.
    pub incident: String,
}

/// `POST /api/v1/chat/link-code`: a one-time code to send from chat as `inc link CODE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChatLinkCode {
    pub code: String,
    pub expires_at: String,
}

/// A chat account linked to a hereby user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChatLink {
    /// e.g. `matrix`.
    pub platform: String,
    /// The platform's id of the account, e.g. `@anna:example.org`.
    pub chat_user: String,
    pub user: String,
    pub linked_at: String,
    /// The user themself (by a code) or the admin who linked it.
    pub linked_by: String,
}

/// `PUT /api/v1/chat/links`: an admin links a chat account to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatLinkRequest {
    /// e.g. `matrix`.
    pub platform: String,
    /// The platform's id of the account, e.g. `@anna:example.org`.
    pub chat_user: String,
    /// The hereby user.
    pub user: String,
}
