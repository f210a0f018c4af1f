//! Insights as a person may see them: the incidents detected in a period (restricted ones only
//! for their members and admins), filtered by service and severity, reduced to the core's
//! figures.

use hereby_core::insights::{Live, Report, live, report};
use hereby_core::types::{InstallationRole, ServiceName, Severity};
use hereby_store::{ListQuery, Store};
use jiff::Timestamp;

use crate::{App, AppError};

/// The incidents a report covers.
#[derive(Debug, Clone)]
pub struct Period {
    /// Detected at or after.
    pub since: Timestamp,
    /// Detected before.
    pub until: Timestamp,
    pub service: Option<ServiceName>,
    pub severities: Vec<Severity>,
}

/// The most incidents one report reads.
pub const MAX_INCIDENTS: usize = 20_000;

impl<S: Store> App<S> {
    /// The figures of the incidents `actor` may see in `period`, and whether the report
    /// stopped at [`MAX_INCIDENTS`].
    pub async fn insights(
        &self,
        actor: &hereby_store::User,
        period: &Period,
    ) -> Result<(Report, bool), AppError> {
        if period.until <= period.since {
            return Err(AppError::Refused {
                code: "invalid_period",
                message: format!(
                    "the period ends ({}) before it starts ({})",
                    period.until, period.since
                ),
            });
        }
        let visible_to = (actor.role != InstallationRole::Admin).then(|| actor.name.clone());
        let mut incidents = Vec::new();
        let mut before = None;
        let mut capped = false;
        // Newest first, a page at a time, until the period's start is passed.
        'pages: loop {
            let page = self
                .store
                .list_incidents(&ListQuery {
                    limit: 1_000,
                    before,
                    severities: period.severities.clone(),
                    service: period.service.clone(),
                    visible_to: visible_to.clone(),
                    ..ListQuery::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            before = Some(last.number);
            for row in &page {
                if row.declared_at >= period.until {
                    continue;
                }
                if row.declared_at < period.since {
                    break 'pages;
                }
                if incidents.len() == MAX_INCIDENTS {
                    capped = true;
                    break 'pages;
                }
                if let Some(incident) = self.store.load(row.number).await?.state.incident() {
                    incidents.push(incident.clone());
                }
            }
            if page.len() < 1_000 {
                break;
            }
        }
        Ok((report(&incidents, Timestamp::now()), capped))
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
