//! Follow-ups out to trackers: the outbox's deliveries that open an issue for a follow-up in
//! GitHub, GitLab or a generic tracker, and the reconcile poll that reads each tracked issue
//! back, because webhooks get lost, expire and get disabled.
//!
//! Only the REST calls needed are made, with plain reqwest: GitHub's `POST /repos/{o}/{r}/issues`
//! and `GET …/issues/{number}` (API version 2022-11-28), GitLab's `POST /api/v4/projects/{id}/issues`
//! and `GET …/issues/{iid}`, and a generic tracker's `POST <url>` and `GET <url>/<id>`, both
//! signed the Standard Webhooks way.

use std::sync::Arc;
use std::time::Duration;

use hereby_app::channels::ChannelConfig;
use hereby_app::trackers::{IssueFacts, IssueRequest, MadeIssue, TrackerReport};
use hereby_core::types::IncidentNumber;
use hereby_store::{Delivery, Notifications, Store};
use jiff::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::Settings;
use crate::AppState;

/// GitHub's REST API version the calls are written against.
const GITHUB_API_VERSION: &str = "2022-11-28";

/// Tracked issues read back per round of the reconcile poll.
const POLL_BATCH: u32 = 50;

/// Opens the follow-up of `delivery` in its tracker, unless an earlier attempt already did
/// (then only what was not yet recorded is recorded). A refusal is also kept as the
/// follow-up's sync error, so the incident page shows why the issue is not there.
pub(super) async fn export<S: Store + Notifications>(
    app: &hereby_app::App<S>,
    http: &reqwest::Client,
    channel: &hereby_store::Channel,
    delivery: &Delivery,
    budget: Duration,
) -> Result<(), String> {
    let config: ChannelConfig = serde_json::from_str(&channel.config)
        .map_err(|e| format!("the tracker's settings cannot be read: {e}"))?;
    let request: IssueRequest = serde_json::from_str(&delivery.payload)
        .map_err(|e| format!("the follow-up to open cannot be read: {e}"))?;
    let incident = IncidentNumber(request.incident);
    // Unlinked meanwhile, or asked of another tracker since: nothing is owed, and no issue
    // is made that nobody follows.
    if !app
        .export_owed(incident, request.item, &channel.name)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    if let Some(made) = app
        .made_issue(incident, request.item, &channel.name)
        .await
        .map_err(|e| e.to_string())?
    {
        return app
            .issue_made(incident, request.item, &channel.name, &made)
            .await
            .map_err(|e| e.to_string());
    }
    let made = match create(
        http,
        &channel.name,
        &config,
        &request,
        &delivery.key,
        budget,
    )
    .await
    {
        Ok(made) => made,
        Err(error) => {
            if let Err(failed) = app
                .tracker_sync_failed(incident, request.item, &channel.name, &error)
                .await
            {
                tracing::warn!(%failed, "cannot record a tracker's refusal on the follow-up");
            }
            return Err(error);
        }
    };
    app.issue_made(incident, request.item, &channel.name, &made)
        .await
        .map_err(|e| {
            format!(
                "the tracker made {} but it cannot be recorded: {e}",
                made.key
            )
        })
}

/// Makes the issue in the tracker.
async fn create(
    http: &reqwest::Client,
    name: &str,
    config: &ChannelConfig,
    request: &IssueRequest,
    key: &str,
    budget: Duration,
) -> Result<MadeIssue, String> {
    match config {
        ChannelConfig::Github {
            api, repo, token, ..
        } => {
            let url = format!("{api}/repos/{repo}/issues");
            let answer = http
                .post(&url)
                .bearer_auth(token)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", GITHUB_API_VERSION)
                .json(&json!({
                    "title": request.title,
                    "body": request.body,
                    "labels": request.labels,
                }))
                .timeout(budget)
                .send()
                .await;
            let issue = answer_of("GitHub", name, &url, answer).await?;
            let number = issue
                .get("number")
                .and_then(Value::as_u64)
                .ok_or("GitHub's answer names no issue number")?;
            let url = issue
                .get("html_url")
                .and_then(Value::as_str)
                .ok_or("GitHub's answer has no html_url")?;
            Ok(MadeIssue {
                external: number.to_string(),
                key: format!("{repo}#{number}"),
                url: url.to_owned(),
            })
        }
        ChannelConfig::Gitlab {
            url: server,
            project,
            token,
            ..
        } => {
            let url = format!("{server}/api/v4/projects/{}/issues", project_id(project));
            let answer = http
                .post(&url)
                .header("PRIVATE-TOKEN", token)
                // GitLab makes one issue for requests that repeat the key (GitLab 17.4 on).
                .header("Idempotency-Key", key)
                .json(&json!({
                    "title": request.title,
                    "description": request.body,
                    "labels": request.labels.join(","),
                }))
                .timeout(budget)
                .send()
                .await;
            let issue = answer_of("GitLab", name, &url, answer).await?;
            let iid = issue
                .get("iid")
                .and_then(Value::as_u64)
                .ok_or("GitLab's answer names no issue iid")?;
            let url = issue
                .get("web_url")
                .and_then(Value::as_str)
                .ok_or("GitLab's answer has no web_url")?;
            Ok(MadeIssue {
                external: iid.to_string(),
                key: format!("{project}#{iid}"),
                url: url.to_owned(),
            })
        }
        ChannelConfig::Tracker { url, secret } => {
            let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
            let answer = signed(http.post(url), secret, key, &body)?
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .timeout(budget)
                .send()
                .await;
            let issue = answer_of("The tracker", name, url, answer).await?;
            let id = issue
                .get("id")
                .and_then(|id| match id {
                    Value::String(id) => Some(id.clone()),
                    Value::Number(id) => Some(id.to_string()),
                    _ => None,
                })
                .filter(|id| !id.is_empty() && id.len() <= 200)
                .ok_or("the tracker's answer has no id")?;
            let link = issue
                .get("url")
                .and_then(Value::as_str)
                .ok_or("the tracker's answer has no url")?;
            let shown = issue
                .get("key")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{name}#{id}"), str::to_owned);
            Ok(MadeIssue {
                external: id,
                key: shown,
                url: link.to_owned(),
            })
        }
        _ => Err(format!("channel `{name}` is not a tracker")),
    }
}

/// Reads the issue `external` back from the tracker.
async fn fetch(
    http: &reqwest::Client,
    name: &str,
    config: &ChannelConfig,
    external: &str,
    budget: Duration,
) -> Result<IssueFacts, String> {
    match config {
        ChannelConfig::Github {
            api, repo, token, ..
        } => {
            let url = format!("{api}/repos/{repo}/issues/{external}");
            let answer = http
                .get(&url)
                .bearer_auth(token)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", GITHUB_API_VERSION)
                .timeout(budget)
                .send()
                .await;
            hereby_app::trackers::github_issue(&answer_of("GitHub", name, &url, answer).await?)
        }
        ChannelConfig::Gitlab {
            url: server,
            project,
            token,
            ..
        } => {
            let url = format!(
                "{server}/api/v4/projects/{}/issues/{external}",
                project_id(project)
            );
            let answer = http
                .get(&url)
                .header("PRIVATE-TOKEN", token)
                .timeout(budget)
                .send()
                .await;
            hereby_app::trackers::gitlab_issue(&answer_of("GitLab", name, &url, answer).await?)
        }
        ChannelConfig::Tracker { url, secret } => {
            let url = format!("{url}/{}", path_segment(external));
            let id = format!("poll-{external}-{}", Timestamp::now().as_second());
            let answer = signed(http.get(&url), secret, &id, b"")?
                .timeout(budget)
                .send()
                .await;
            hereby_app::trackers::generic_issue(
                &answer_of("The tracker", name, &url, answer).await?,
            )
        }
        _ => Err(format!("channel `{name}` is not a tracker")),
    }
}

/// A project's path as GitLab's API takes it in a URL (`group%2Fname`), or its numeric id.
fn project_id(project: &str) -> String {
    path_segment(project)
}

/// `raw` as one segment of a URL path: every byte but the unreserved ones percent-encoded.
fn path_segment(raw: &str) -> String {
    let mut segment = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

/// `request` signed the Standard Webhooks way over `body` with the tracker's secret.
fn signed(
    request: reqwest::RequestBuilder,
    secret: &str,
    id: &str,
    body: &[u8],
) -> Result<reqwest::RequestBuilder, String> {
    let timestamp = Timestamp::now().as_second();
    let signature = super::deliver::standard_signature(secret, id, timestamp, body)
        .ok_or("the tracker's secret cannot be read")?;
    Ok(request
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature))
}

/// The JSON a tracker answered, or why it did not, in words an admin can act on: a refused
/// token names the tracker and what to do.
async fn answer_of(
    product: &str,
    name: &str,
    url: &str,
    answer: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, String> {
    let response = answer.map_err(|e| {
        if e.is_timeout() {
            format!("{product} did not answer in time ({url})")
        } else {
            format!("cannot reach {product} at {url}: {e}")
        }
    })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let said = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|body| {
            body.get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    match status {
        status if status.is_success() => serde_json::from_str(&text).map_err(|e| {
            format!("{product} answered {status} with something that is not JSON: {e}")
        }),
        StatusCode::UNAUTHORIZED => Err(format!(
            "{product} refused the token of tracker `{name}` (401 {said}): it was revoked or has \
             expired; give the tracker a new token (remove the channel and add it again under \
             the same name and for the same repository or project: its follow-ups keep their \
             links; export again any still being opened)"
        )),
        StatusCode::FORBIDDEN => Err(format!(
            "{product} refused tracker `{name}` access (403 {said}): its token needs read and \
             write access to issues"
        )),
        StatusCode::MOVED_PERMANENTLY => Err(format!(
            "{product} says {url} moved (301): the issue was transferred or the repository \
             renamed; unlink the follow-up and link the new one, or add the tracker again for \
             the new repository"
        )),
        StatusCode::NOT_FOUND | StatusCode::GONE => Err(format!(
            "{product} has nothing at {url} ({status}): the issue or project is gone, or the \
             token cannot see it; unlink the follow-up if it moved"
        )),
        _ => Err(format!("{product} answered {status}: {said}")),
    }
}

/// Reads tracked issues back, least recently synced first, each once per `every`: a webhook
/// that was lost, or a tracker whose webhooks were disabled, is caught up within about that
/// long. Several nodes may read the same issue in the same round; what they record is the
/// same, and the core changes a follow-up once.
pub(super) async fn reconcile<S: Store + Notifications + hereby_store::Communications>(
    state: AppState<S>,
    settings: Arc<Settings>,
    mut stop: watch::Receiver<bool>,
) {
    let http = match reqwest::Client::builder()
        .user_agent(concat!("hereby/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client; trackers are not polled");
            return;
        }
    };
    let every = settings.tracker_poll;
    loop {
        if let Err(error) = reconcile_once(&state, &http, every, settings.timeout).await {
            tracing::warn!(%error, "reconciling tracked follow-ups failed; retrying");
        }
        tokio::select! {
            () = tokio::time::sleep(every.min(Duration::from_secs(60))) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One round of the reconcile poll: reads back every tracked issue not synced within `every`.
async fn reconcile_once<S: Store + Notifications>(
    state: &AppState<S>,
    http: &reqwest::Client,
    every: Duration,
    timeout: Duration,
) -> Result<(), hereby_app::AppError> {
    let app = &state.app;
    let since = Timestamp::now()
        .checked_sub(jiff::SignedDuration::try_from(every).unwrap_or(jiff::SignedDuration::ZERO))
        .unwrap_or(Timestamp::MIN);
    loop {
        let due = app.tracked_due(since, POLL_BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        let trackers = app.trackers().await?;
        let mut failed = 0;
        for row in &due {
            let Some(external) = &row.external else {
                continue;
            };
            let config = trackers.iter().find(|(name, _)| *name == row.tracker);
            let result = match config {
                Some((_, config)) => fetch(http, &row.tracker, config, external, timeout).await,
                None => Err(format!(
                    "there is no tracker `{}` any more: add it again under that name, or \
                     unlink the follow-up",
                    row.tracker
                )),
            };
            let recorded = match result {
                Ok(mut issue) => {
                    // The issue as hereby names it, whatever form of its id the tracker
                    // answers with.
                    issue.external = external.clone();
                    let report = TrackerReport::of(issue, None);
                    app.tracker_reported(&row.tracker, &report)
                        .await
                        .map(|_| ())
                }
                Err(error) => {
                    app.tracker_sync_failed(row.incident, row.item, &row.tracker, &error)
                        .await
                }
            };
            // One follow-up that cannot be recorded does not hold up the others.
            if let Err(error) = recorded {
                tracing::warn!(
                    incident = %row.incident,
                    item = row.item,
                    tracker = %row.tracker,
                    %error,
                    "cannot record a tracked follow-up's sync"
                );
                failed += 1;
            }
        }
        // A full batch that could not be recorded would come back first: wait for the next
        // round rather than read it again at once.
        if due.len() < POLL_BATCH as usize || failed > 0 {
            return Ok(());
        }
    }
}
