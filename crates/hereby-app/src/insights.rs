//! Insights as a person may see them: the incidents detected in a period (restricted ones only
//! for their members and admins), filtered by service, team and severity, reduced to the
//! core's figures; and each service's unavailability budget for the current quarter, counted
//! over the incidents the same person may see.

use std::collections::BTreeMap;

use hereby_core::Incident;
use hereby_core::budget::{Budget, budget, quarter};
use hereby_core::duration::Duration;
use hereby_core::insights::{Group, Live, Report, Teams, live, report};
use hereby_core::types::{
    IncidentNumber, InstallationRole, InvalidValue, ServiceName, Severity, TeamName,
};
use hereby_store::{Communications, ListQuery, Store};
use jiff::{SignedDuration, Timestamp};

use crate::{App, AppError, catalogue};

/// The incidents a report covers.
#[derive(Debug, Clone)]
pub struct Period {
    /// Detected at or after.
    pub since: Timestamp,
    /// Detected before.
    pub until: Timestamp,
    pub service: Option<ServiceName>,
    /// Only incidents affecting a service this team owns.
    pub team: Option<TeamName>,
    pub severities: Vec<Severity>,
}

pub use crate::facts::MAX_INCIDENTS;

/// How long before the quarter an ended incident may have been declared and still count
/// against the budget (its impact may run into the quarter); incidents still under way count
/// whenever they were declared.
pub const BUDGET_LOOKBACK: SignedDuration = SignedDuration::from_hours(30 * 24);

/// How long a person's budgets are kept before they are counted again.
pub const BUDGETS_KEPT: std::time::Duration = std::time::Duration::from_secs(15);

/// Who asked (name, whether an admin) and for which services.
type BudgetKey = (String, bool, Vec<ServiceName>);

/// When budgets were counted, and what they were.
type Counted = (std::time::Instant, Vec<(ServiceName, Budget)>);

/// Budgets as each person last had them read, for [`BUDGETS_KEPT`].
#[derive(Debug, Default)]
pub(crate) struct KeptBudgets(std::sync::Mutex<std::collections::HashMap<BudgetKey, Counted>>);

impl KeptBudgets {
    fn get(&self, key: &BudgetKey) -> Option<Vec<(ServiceName, Budget)>> {
        let kept = self.0.lock().ok()?;
        kept.get(key)
            .filter(|(at, _)| at.elapsed() < BUDGETS_KEPT)
            .map(|(_, budgets)| budgets.clone())
    }

    fn keep(&self, key: BudgetKey, budgets: Vec<(ServiceName, Budget)>) {
        if let Ok(mut kept) = self.0.lock() {
            // What has gone stale goes, so the map holds only the last few seconds' viewers.
            kept.retain(|_, (at, _)| at.elapsed() < BUDGETS_KEPT);
            kept.insert(key, (std::time::Instant::now(), budgets));
        }
    }
}

/// What one insights request answers.
#[derive(Debug, Clone)]
pub struct Insights {
    pub since: Timestamp,
    pub until: Timestamp,
    pub report: Report,
    /// True when the period held more than [`MAX_INCIDENTS`].
    pub capped: bool,
    /// Each catalogued service with an allowance (only the filtered one, when filtered), for
    /// the current quarter.
    pub budgets: Vec<(ServiceName, Budget)>,
    /// Each person's time on the period's incidents.
    pub workload: BTreeMap<hereby_core::types::UserName, hereby_core::workload::PersonWorkload>,
}

impl Insights {
    /// The figures as the API, the CSV export and the page show them.
    pub fn wire(&self) -> hereby_api::Insights {
        use hereby_api as api;
        let report = &self.report;
        let seconds = |duration: Option<SignedDuration>| duration.map(|d| d.as_secs());
        api::Insights {
            since: self.since.to_string(),
            until: self.until.to_string(),
            incidents: report
                .incidents
                .get(&Group::All)
                .copied()
                .unwrap_or_default() as u64,
            in_triage: report.in_triage as u64,
            not_measured: report
                .not_measured
                .iter()
                .map(|(status, count)| (status.as_str().to_owned(), *count as u64))
                .collect(),
            durations: report
                .durations
                .iter()
                .map(|((group, measure), distribution)| api::DurationFigures {
                    group: group_name(group),
                    measure: measure.as_str().to_owned(),
                    count: distribution.count as u64,
                    median_seconds: seconds(distribution.median),
                    p90_seconds: seconds(distribution.p90),
                })
                .collect(),
            follow_ups: api::FollowUpFigures {
                total: report.follow_ups.total as u64,
                open: report.follow_ups.open as u64,
                due_reached: report.follow_ups.due_reached as u64,
                done_by_due: report.follow_ups.done_by_due as u64,
                open_age_median_seconds: seconds(report.follow_ups.open_age.median),
                open_age_p90_seconds: seconds(report.follow_ups.open_age.p90),
                meetings_survived_median: seconds(report.follow_ups.meetings_survived.median),
                meetings_survived_p90: seconds(report.follow_ups.meetings_survived.p90),
            },
            per_week: report
                .per_week
                .iter()
                .map(|((week, severity), count)| api::WeekCount {
                    week: week.clone(),
                    severity: severity.as_str().to_owned(),
                    count: *count as u64,
                })
                .collect(),
            budgets: self
                .budgets
                .iter()
                .map(|(service, budget)| budget_wire(service, budget))
                .collect(),
            workload: {
                let mut people: Vec<hereby_api::PersonWorkload> = self
                    .workload
                    .iter()
                    .map(|(person, figures)| crate::workload::workload_wire(person, figures))
                    .collect();
                people.sort_by(|a, b| {
                    b.total_seconds
                        .cmp(&a.total_seconds)
                        .then_with(|| a.person.cmp(&b.person))
                });
                people
            },
            capped: self.capped,
        }
    }
}

/// A budget as the API shows it.
pub fn budget_wire(service: &ServiceName, budget: &Budget) -> hereby_api::ServiceBudget {
    hereby_api::ServiceBudget {
        service: service.to_string(),
        since: budget.since.to_string(),
        until: budget.until.to_string(),
        allowed_seconds: budget.allowed.as_secs(),
        used_seconds: budget.used.as_secs(),
        remaining_seconds: budget.remaining().as_secs(),
        incidents: budget
            .by_incident
            .iter()
            .map(|(number, used)| hereby_api::BudgetUse {
                incident: number.to_string(),
                used_seconds: used.as_secs(),
            })
            .collect(),
    }
}

/// The stable spelling of a group: `all`, `severity:SEV1`, `service:checkout`,
/// `team:payments`, `change_caused`, `month:2026-11`.
pub fn group_name(group: &Group) -> String {
    match group {
        Group::All => "all".to_owned(),
        Group::Severity(severity) => format!("severity:{severity}"),
        Group::Service(service) => format!("service:{service}"),
        Group::Team(team) => format!("team:{team}"),
        Group::ChangeCaused => "change_caused".to_owned(),
        Group::Month(month) => format!("month:{month}"),
    }
}

/// A filter's text, unless it is blank (a form's empty field is no filter).
pub(crate) fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|raw| !raw.is_empty())
}

/// Comma-separated severities (`SEV1,SEV2`); none for a blank field.
pub(crate) fn severity_list(raw: Option<&str>) -> Result<Vec<Severity>, InvalidValue> {
    match given(raw) {
        None => Ok(Vec::new()),
        Some(list) => list
            .split(',')
            .map(|one| Severity::parse(one.trim()))
            .collect(),
    }
}

impl Period {
    /// Reads a period as the API and the page take it: `since` defaults to 90 days back,
    /// `until` to `now`; blank fields are no filter.
    pub fn read(
        since: Option<&str>,
        until: Option<&str>,
        service: Option<&str>,
        team: Option<&str>,
        severity: Option<&str>,
        now: Timestamp,
    ) -> Result<Period, InvalidValue> {
        Ok(Period {
            since: bound("since", given(since).unwrap_or("90d"), now)?,
            until: match given(until) {
                Some(raw) => bound("until", raw, now)?,
                None => now,
            },
            service: given(service).map(ServiceName::parse).transpose()?,
            team: given(team).map(TeamName::parse).transpose()?,
            severities: severity_list(severity)?,
        })
    }
}

/// A period bound: a time (`2026-09-01T00:00:00Z`), a day (`2026-09-01`, its start in UTC)
/// or a span back from `now` (`90d`).
fn bound(field: &'static str, raw: &str, now: Timestamp) -> Result<Timestamp, InvalidValue> {
    let raw = raw.trim();
    if let Ok(span) = Duration::parse(raw) {
        return now
            .checked_sub(span.signed())
            .map_err(|_| InvalidValue::new(field, format!("`{raw}` reaches too far back")));
    }
    if let Ok(date) = raw.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .map_err(|_| InvalidValue::new(field, format!("`{raw}` is out of range")));
    }
    hereby_api::time(field)(raw).map_err(|_| {
        InvalidValue::new(
            field,
            format!("`{raw}` is not a time (2026-09-01T00:00:00Z), a day (2026-09-01) or a span back from now (90d)"),
        )
    })
}

/// The incidents a budget at `now` is counted over: those declared from the lookback before
/// the quarter's start until now (and those still under way, read on their own).
fn budget_window(now: Timestamp) -> (Timestamp, Timestamp) {
    let (start, _) = quarter(now);
    (
        start.checked_sub(BUDGET_LOOKBACK).unwrap_or(start),
        now.checked_add(SignedDuration::from_secs(1)).unwrap_or(now),
    )
}

/// The services with an allowance, and the team of every catalogued service.
struct CatalogueFacts {
    allowances: BTreeMap<ServiceName, SignedDuration>,
    teams: Teams,
}

impl<S: Store + Communications> App<S> {
    /// The figures of the incidents `actor` may see in `period`.
    pub async fn insights(
        &self,
        actor: &hereby_store::User,
        period: &Period,
    ) -> Result<Insights, AppError> {
        if period.until <= period.since {
            return Err(AppError::Refused {
                code: "invalid_period",
                message: format!(
                    "the period ends ({}) before it starts ({})",
                    period.until, period.since
                ),
            });
        }
        let facts = self.catalogue_facts().await?;
        if let Some(team) = &period.team
            && !facts.teams.values().any(|owner| owner == team)
        {
            return Err(AppError::Refused {
                code: "unknown_team",
                message: format!(
                    "no service of the catalogue is owned by team `{team}`; `hereby service list` shows the teams"
                ),
            });
        }
        let now = Timestamp::now();
        // The default page (no severity or service filter) reads the period and the budgets'
        // window in one listing; a filtered one, or one that would pass the cap, reads each.
        let (window_from, window_until) = budget_window(now);
        let wide = Period {
            since: period.since.min(window_from),
            until: period.until.max(window_until),
            service: None,
            team: None,
            severities: Vec::new(),
        };
        let combined = if period.severities.is_empty() && period.service.is_none() {
            match self.visible_incidents(actor, &wide).await? {
                (all, false) => Some(all),
                (_, true) => None,
            }
        } else {
            None
        };
        let (incidents, capped, for_budgets) = match combined {
            Some(all) => {
                let within = |facts: &crate::facts::Facts, since: Timestamp, until: Timestamp| {
                    facts.incident.declared_at >= since && facts.incident.declared_at < until
                };
                let in_period: Vec<_> = all
                    .iter()
                    .filter(|(_, facts)| within(facts, period.since, period.until))
                    .cloned()
                    .collect();
                let in_window: Vec<_> = all
                    .into_iter()
                    .filter(|(_, facts)| within(facts, window_from, window_until))
                    .collect();
                (in_period, false, Some(in_window))
            }
            None => {
                let (incidents, capped) = self.visible_incidents(actor, period).await?;
                (incidents, capped, None)
            }
        };
        let in_team = |incident: &Incident| match &period.team {
            None => true,
            Some(team) => incident
                .services
                .iter()
                .any(|service| facts.teams.get(service) == Some(team)),
        };
        let now = Timestamp::now();
        let chosen: Vec<(IncidentNumber, &crate::facts::Facts)> = incidents
            .iter()
            .filter(|(_, facts)| in_team(&facts.incident))
            .map(|(number, facts)| (*number, facts.as_ref()))
            .collect();
        let report = report(
            chosen.iter().map(|(_, facts)| &facts.incident),
            &facts.teams,
            now,
        );
        let workload = self.workload_of(&chosen).await?;
        let wanted = |service: &ServiceName| {
            period.service.as_ref().is_none_or(|only| only == service)
                && period
                    .team
                    .as_ref()
                    .is_none_or(|team| facts.teams.get(service) == Some(team))
        };
        let services: Vec<ServiceName> = facts
            .allowances
            .keys()
            .filter(|service| wanted(service))
            .cloned()
            .collect();
        let budgets = self
            .budgets_of(actor, &services, &facts.allowances, now, for_budgets)
            .await?;
        Ok(Insights {
            since: period.since,
            until: period.until,
            report,
            capped,
            budgets,
            workload,
        })
    }

    /// The current quarter's budget of each of `services` that has an allowance, counted over
    /// the incidents `actor` may see: what the incident page and the services page show. Kept
    /// for [`BUDGETS_KEPT`] per person and services, since every live refresh of an incident
    /// page asks again.
    pub async fn budgets(
        &self,
        actor: &hereby_store::User,
        services: &[ServiceName],
    ) -> Result<Vec<(ServiceName, Budget)>, AppError> {
        let key = (
            actor.name.to_string(),
            actor.role == InstallationRole::Admin,
            services.to_vec(),
        );
        if let Some(kept) = self.budgets_kept.get(&key) {
            return Ok(kept);
        }
        let fresh = self.budgets_now(actor, services).await?;
        self.budgets_kept.keep(key, fresh.clone());
        Ok(fresh)
    }

    async fn budgets_now(
        &self,
        actor: &hereby_store::User,
        services: &[ServiceName],
    ) -> Result<Vec<(ServiceName, Budget)>, AppError> {
        let facts = self.catalogue_facts().await?;
        let services: Vec<ServiceName> = services
            .iter()
            .filter(|service| facts.allowances.contains_key(*service))
            .cloned()
            .collect();
        self.budgets_of(actor, &services, &facts.allowances, Timestamp::now(), None)
            .await
    }

    /// The budgets of `services` over the incidents `actor` may see. `listed`, when given,
    /// holds every incident `actor` may see declared from [`budget_window`]'s start on (read
    /// once with the period's, so the page lists the log once).
    async fn budgets_of(
        &self,
        actor: &hereby_store::User,
        services: &[ServiceName],
        allowances: &BTreeMap<ServiceName, SignedDuration>,
        now: Timestamp,
        listed: Option<Vec<(IncidentNumber, std::sync::Arc<crate::facts::Facts>)>>,
    ) -> Result<Vec<(ServiceName, Budget)>, AppError> {
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let (start, end) = quarter(now);
        let (from, until) = budget_window(now);
        let everything = Period {
            since: from,
            until,
            service: (services.len() == 1).then(|| services[0].clone()),
            team: None,
            severities: Vec::new(),
        };
        let mut incidents = match listed {
            Some(listed) => listed,
            None => self.visible_incidents(actor, &everything).await?.0,
        };
        // An incident declared before the lookback that is still under way uses the budget
        // too: the ones not yet ended are read whenever they were declared.
        let visible_to = (actor.role != InstallationRole::Admin).then(|| actor.name.clone());
        let under_way = ListQuery {
            statuses: hereby_core::types::Status::ALL
                .iter()
                .copied()
                .filter(|status| status.is_active())
                .collect(),
            service: everything.service.clone(),
            visible_to,
            ..ListQuery::default()
        };
        let (older, _) = self
            .listed(
                under_way,
                MAX_INCIDENTS,
                |_| false,
                |row| row.declared_at < from,
            )
            .await?;
        incidents.extend(self.facts_of(&older).await?);
        Ok(services
            .iter()
            .filter_map(|service| {
                let allowed = *allowances.get(service)?;
                let numbered = incidents
                    .iter()
                    .map(|(number, facts)| (*number, &facts.incident));
                Some((
                    service.clone(),
                    budget(service, allowed, numbered, start, end, now),
                ))
            })
            .collect())
    }

    async fn catalogue_facts(&self) -> Result<CatalogueFacts, AppError> {
        let mut facts = CatalogueFacts {
            allowances: BTreeMap::new(),
            teams: Teams::new(),
        };
        for (name, (entry, _)) in catalogue::services(&self.store).await? {
            let Ok(service) = ServiceName::parse(&name) else {
                continue;
            };
            if let Some(allowed) = entry
                .max_unavailability
                .as_deref()
                .and_then(|raw| Duration::parse(raw).ok())
            {
                facts.allowances.insert(service.clone(), allowed.signed());
            }
            facts.teams.insert(service, entry.owner_team);
        }
        Ok(facts)
    }

    /// The incidents `actor` may see that were declared in the period and pass its service
    /// and severity filters (not its team, which the catalogue decides), newest first, and
    /// whether there were more than [`MAX_INCIDENTS`].
    async fn visible_incidents(
        &self,
        actor: &hereby_store::User,
        period: &Period,
    ) -> Result<
        (
            Vec<(IncidentNumber, std::sync::Arc<crate::facts::Facts>)>,
            bool,
        ),
        AppError,
    > {
        let (since, until) = (period.since, period.until);
        let visible_to = (actor.role != InstallationRole::Admin).then(|| actor.name.clone());
        let query = ListQuery {
            severities: period.severities.clone(),
            service: period.service.clone(),
            visible_to,
            ..ListQuery::default()
        };
        // Newest first, until the period's start is passed.
        let (rows, capped) = self
            .listed(
                query,
                MAX_INCIDENTS,
                |row| row.declared_at < since,
                |row| row.declared_at < until,
            )
            .await?;
        Ok((self.facts_of(&rows).await?, capped))
    }
}

impl<S: Store> App<S> {
    /// What is happening now over every incident not yet ended (for the metrics gauges, read
    /// by admins and the scraper): active incidents by severity, overdue stakeholder updates,
    /// open follow-ups.
    pub async fn live_figures(&self) -> Result<Live, AppError> {
        use hereby_core::types::Status;
        let mut incidents = Vec::new();
        let mut before = None;
        loop {
            let page = self
                .store
                .list_incidents(&ListQuery {
                    limit: 1_000,
                    before,
                    statuses: Status::ALL
                        .iter()
                        .copied()
                        .filter(|status| !status.is_final())
                        .collect(),
                    ..ListQuery::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            before = Some(last.number);
            for row in &page {
                if let Some(incident) = self.store.load(row.number).await?.state.incident() {
                    incidents.push(incident.clone());
                }
            }
            if page.len() < 1_000 || incidents.len() >= MAX_INCIDENTS {
                break;
            }
        }
        Ok(live(&incidents, &self.cadence, Timestamp::now()))
    }
}
