//! The post-mortem pages: reading one (its Markdown rendered and sanitised, the workflow
//! buttons the viewer may use, the linter's findings, comments and revisions), editing it,
//! diffs between revisions and the exports, and the forms that draft it and move it through
//! review. Every read and change goes through the application layer, so visibility,
//! installation roles and the core's rules are exactly the API's; the buttons shown are the
//! steps the core would accept now.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hereby_app::postmortem;
use hereby_app::{AppError, ExportFormat};
use hereby_core::lint::FindingKind;
use hereby_core::offers::PostmortemStep;
use hereby_core::types::{
    IncidentNumber, InstallationRole, InvalidValue, PostmortemStatus, Reason, Tag, Text,
};
use hereby_core::{Command, Incident, Postmortem};
use hereby_store::{Communications, Directory, Loaded, Store};
use serde::{Deserialize, Serialize};

use super::PageError;
use super::pages::{incident_page, label};
use super::render::{self, data};
use super::session::{Fields, SignedForm, Viewer};
use super::{act, visible};
use super::{bad_query, required, show};
use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::incident_id;

/// The incident, which the viewer may see, as loaded, and its post-mortem; a sentence when it
/// has none.
async fn with_postmortem<S: Store + Directory>(
    state: &AppState<S>,
    viewer: &Viewer,
    raw_id: &str,
) -> Result<(IncidentNumber, Loaded, Incident, Postmortem), PageError> {
    let number = incident_id(raw_id)?;
    let loaded = visible(state, &viewer.caller, number).await?;
    let Some(incident) = loaded.state.incident().cloned() else {
        return Err(PageError::not_found());
    };
    let Some(postmortem) = incident.postmortem.clone() else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            format!(
                "{number} has no post-mortem yet. Once the incident is resolved or called off, \
                 draft it from the incident page."
            ),
        ));
    };
    Ok((number, loaded, incident, postmortem))
}

#[derive(Debug, Serialize)]
struct FindingRow {
    line: usize,
    column: usize,
    kind: &'static str,
    text: String,
    message: String,
    suggestion: String,
}

#[derive(Debug, Serialize)]
struct RevisionRow {
    revision: u32,
    at: String,
    by: String,
    comment: Option<String>,
    /// The revision before it, for the diff link.
    previous: Option<u32>,
}

#[derive(Debug, Serialize)]
struct CommentRow {
    revision: u32,
    at: String,
    by: String,
    text_html: minijinja::Value,
}

/// The workflow steps the viewer may take now, as the application answers (the core's rules
/// for anyone whose installation role allows changes). The core decides again when one is
/// sent.
#[derive(Debug, Serialize)]
struct Steps {
    edit: bool,
    submit: bool,
    approve: bool,
    reviewed: bool,
    /// The owner waits for a reviewer's approval before marking it reviewed: a hint, not an
    /// action.
    awaiting_approval: bool,
    publish: bool,
    delegate: bool,
    comment: bool,
}

fn steps(viewer: &Viewer, postmortem: &Postmortem, offered: &BTreeSet<PostmortemStep>) -> Steps {
    let user = viewer.user();
    let waiting_owner = user.role >= InstallationRole::Responder
        && postmortem.owner == user.name
        && postmortem.status == PostmortemStatus::InReview;
    Steps {
        edit: offered.contains(&PostmortemStep::Edit),
        submit: offered.contains(&PostmortemStep::Submit),
        approve: offered.contains(&PostmortemStep::Approve),
        reviewed: offered.contains(&PostmortemStep::MarkReviewed),
        awaiting_approval: waiting_owner && !offered.contains(&PostmortemStep::MarkReviewed),
        publish: offered.contains(&PostmortemStep::Publish),
        delegate: offered.contains(&PostmortemStep::Delegate),
        comment: offered.contains(&PostmortemStep::Comment),
    }
}

/// The facts of the incident and its post-mortem every post-mortem page heads with.
fn heading(
    number: IncidentNumber,
    incident: &Incident,
    postmortem: &Postmortem,
) -> minijinja::Value {
    minijinja::context! {
        id => number.to_string(),
        title => incident.title.as_str(),
        status => incident.status.as_str(),
        visibility => incident.visibility.as_str(),
        pm => minijinja::context! {
            status => postmortem.status.as_str(),
            label => label(postmortem.status),
            owner => postmortem.owner.as_str(),
            template => postmortem.template.as_str(),
            revision => postmortem.revision,
            revised_at => render::clock(postmortem.revised_at),
            revised_by => postmortem.revised_by.as_str(),
            approvals => postmortem.approvals.iter().map(ToString::to_string).collect::<Vec<_>>(),
            comments => postmortem.comments,
            reviewed_at => postmortem.reviewed_at.map(render::clock),
            published_at => postmortem.published_at.map(render::clock),
            tags => postmortem.tags.iter().map(ToString::to_string).collect::<Vec<_>>(),
            factors => postmortem.factors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
    }
}

/// The post-mortem page, optionally with a rejected form's reason and its values.
async fn postmortem_page<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    raw_id: &str,
    status: StatusCode,
    error: Option<&str>,
    form: minijinja::Value,
) -> Result<Response, PageError> {
    let (number, loaded, incident, postmortem) = with_postmortem(state, viewer, raw_id).await?;
    let user = viewer.user();
    let linted = state.app.postmortem_lint(user, number).await?;
    let (revisions, comments) = state.app.postmortem_history(user, number).await?;
    let offered = state.app.postmortem_steps(user, &loaded);
    let findings: Vec<FindingRow> = linted
        .findings
        .into_iter()
        .map(|finding| FindingRow {
            line: finding.line,
            column: finding.column,
            kind: match finding.kind {
                FindingKind::Blame => "blame",
                FindingKind::Name => "name",
            },
            text: finding.text,
            message: finding.message,
            suggestion: finding.suggestion,
        })
        .collect();
    let mut previous = None;
    let mut revision_rows = Vec::with_capacity(revisions.len());
    for record in &revisions {
        revision_rows.push(RevisionRow {
            revision: record.revision,
            at: render::clock(record.at),
            by: record.by.to_string(),
            comment: record.comment.clone(),
            previous,
        });
        previous = Some(record.revision);
    }
    revision_rows.reverse();
    let comment_rows: Vec<CommentRow> = comments
        .iter()
        .map(|comment| CommentRow {
            revision: comment.revision,
            at: render::clock(comment.at),
            by: comment.by.to_string(),
            text_html: minijinja::Value::from_safe_string(render::markdown(&comment.text)),
        })
        .collect();
    show(
        status,
        "postmortem.html",
        minijinja::context! {
            viewer => viewer.context(),
            error => error,
            form => form,
            i => heading(number, &incident, &postmortem),
            body_html => minijinja::Value::from_safe_string(render::markdown(&linted.body)),
            steps => data(steps(viewer, &postmortem, &offered)),
            findings => data(&findings),
            substitutions => linted.substituted != linted.body,
            revisions => data(&revision_rows),
            comments => data(&comment_rows),
        },
    )
}

/// `GET /incidents/{id}/postmortem`
pub(crate) async fn page<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    postmortem_page(
        &state,
        &viewer,
        &id,
        StatusCode::OK,
        None,
        Fields::default().context(),
    )
    .await
}

/// `POST /incidents/{id}/postmortem/draft`: the incident page's draft form, through the
/// application (the template's rendering, the name substitutions, the core's rules). A
/// refusal shows the incident page again with the reason.
pub(crate) async fn draft<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let drafted = async {
        state
            .app
            .draft_postmortem(viewer.user(), incident_id(&id)?, fields.get("template"))
            .await?;
        Ok::<(), ApiError>(())
    }
    .await;
    match drafted {
        Ok(()) => Redirect::to(&format!("/incidents/{id}/postmortem")).into_response(),
        // The incident page checks visibility again: 404 for an incident the viewer may not
        // see, whatever else was wrong.
        Err(error) => incident_page(
            &state,
            &viewer,
            &id,
            error.status,
            Some(&error.message),
            fields.context(),
        )
        .await
        .unwrap_or_else(IntoResponse::into_response),
    }
}

/// `POST /incidents/{id}/postmortem/{step}`: the post-mortem page's forms. On success back to
/// the page; a refusal shows the page again with the core's reason and what was typed.
pub(crate) async fn step<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    Path((id, step)): Path<(String, String)>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let user = viewer.user();
    let run = |command: Command| act(&state, &viewer.caller, &id, None, command);
    let result = async {
        match step.as_str() {
            "submit" => run(Command::SubmitPostmortem).await?,
            "approve" => run(Command::ApprovePostmortem).await?,
            "reviewed" | "publish" => {
                let reason = fields
                    .get("override_reason")
                    .map(Reason::parse)
                    .transpose()?;
                let gate = state
                    .app
                    .postmortem_gate(user, incident_id(&id)?, reason)
                    .await?;
                run(if step == "reviewed" {
                    Command::MarkPostmortemReviewed { gate }
                } else {
                    Command::PublishPostmortem { gate }
                })
                .await?
            }
            "comment" => {
                let text = Text::parse(required(&fields, "text")?)?;
                run(Command::CommentPostmortem { text }).await?
            }
            "tags" => {
                // Comma- or space-separated words.
                let words = |name: &str| -> Result<Vec<Tag>, ApiError> {
                    fields
                        .get(name)
                        .unwrap_or_default()
                        .split([',', ' '])
                        .filter(|word| !word.trim().is_empty())
                        .map(|word| Tag::parse(word).map_err(ApiError::from))
                        .collect()
                };
                run(Command::TagPostmortem {
                    tags: words("tags")?,
                    factors: words("factors")?,
                })
                .await?
            }
            "timeline" => {
                state
                    .app
                    .refresh_postmortem_timeline(user, incident_id(&id)?)
                    .await?
            }
            "names" => {
                state
                    .app
                    .accept_postmortem_names(user, incident_id(&id)?)
                    .await?
            }
            "delegate" => {
                let owner = required(&fields, "owner")?;
                state
                    .app
                    .delegate_postmortem(user, incident_id(&id)?, None, owner)
                    .await?
            }
            _ => return Err(ApiError::not_found("this form")),
        };
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/incidents/{id}/postmortem")).into_response(),
        // The page checks visibility again: an incident the viewer may not see answers 404
        // whatever went wrong with the form.
        Err(error) => postmortem_page(
            &state,
            &viewer,
            &id,
            error.status,
            Some(&error.message),
            fields.context(),
        )
        .await
        .unwrap_or_else(IntoResponse::into_response),
    }
}

/// What the edit page shows besides the form: the revision saved since the editor started,
/// when their save was refused as stale.
struct Since {
    revision: u32,
    by: String,
    diff: String,
}

/// The edit page: the text (the current revision's, or what the editor sent), the revision
/// it is based on, and after a stale save what changed since.
#[allow(clippy::too_many_arguments)]
fn edit_page(
    viewer: &Viewer,
    number: IncidentNumber,
    incident: &Incident,
    postmortem: &Postmortem,
    status: StatusCode,
    error: Option<&str>,
    body: &str,
    base_revision: u32,
    comment: Option<&str>,
    since: Option<Since>,
    editable: bool,
) -> Result<Response, PageError> {
    show(
        status,
        "postmortem_edit.html",
        minijinja::context! {
            viewer => viewer.context(),
            error => error,
            i => heading(number, incident, postmortem),
            body => body,
            base_revision => base_revision,
            comment => comment,
            published => postmortem.status == PostmortemStatus::Published,
            responder => viewer.user().role >= InstallationRole::Responder,
            editable => editable,
            since => since.map(|since| minijinja::context! {
                revision => since.revision,
                by => since.by,
                diff => since.diff,
            }),
        },
    )
}

/// `GET /incidents/{id}/postmortem/edit`
pub(crate) async fn edit_form<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (number, loaded, incident, postmortem) = with_postmortem(&state, &viewer, &id).await?;
    let body = state
        .app
        .postmortem_text(viewer.user(), number, None)
        .await?;
    let editable = state
        .app
        .postmortem_steps(viewer.user(), &loaded)
        .contains(&PostmortemStep::Edit);
    edit_page(
        &viewer,
        number,
        &incident,
        &postmortem,
        StatusCode::OK,
        None,
        &body,
        postmortem.revision,
        None,
        None,
        editable,
    )
}

/// `POST /incidents/{id}/postmortem/edit`: saves the text as a new revision. A save based
/// on an older revision is refused (`stale_revision`); the page then keeps the editor's text,
/// shows what changed since their revision, and bases the form on the current one, so that
/// saving again after merging replaces it knowingly. Nothing typed is lost.
pub(crate) async fn save<S: Store + Directory>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    // Browsers send a textarea's lines ending in CR LF; the drafts end them in LF, and so
    // must every revision, or a diff would show every line changed.
    let text = fields.raw("body").unwrap_or_default().replace("\r\n", "\n");
    let comment = fields.get("comment").map(str::to_owned);
    let base: Option<u32> = fields.get("base_revision").and_then(|raw| raw.parse().ok());
    let command = (|| -> Result<Command, ApiError> {
        Ok(Command::RevisePostmortem {
            body: postmortem::document(&text)?,
            base_revision: Some(base.ok_or_else(|| {
                ApiError::from(InvalidValue {
                    field: "base_revision",
                    problem: "is required: reload the edit page".into(),
                })
            })?),
            comment: comment.as_deref().map(Reason::parse).transpose()?,
        })
    })();
    let result = match command {
        Ok(command) => act(&state, &viewer.caller, &id, None, command)
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    let error = match result {
        Ok(()) => return Redirect::to(&format!("/incidents/{id}/postmortem")).into_response(),
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            return PageError::from(error).into_response();
        }
        Err(error) => error,
    };
    let shown = async {
        let (number, loaded, incident, postmortem) = with_postmortem(&state, &viewer, &id).await?;
        let user = viewer.user();
        let mut since = None;
        let mut base_revision = base.unwrap_or(postmortem.revision);
        if error.code == "stale_revision"
            && let Some(old) = base
        {
            // A revision that does not exist (a base typed by hand) is compared as empty.
            let old_body = match state.app.postmortem_text(user, number, Some(old)).await {
                Ok(body) => body,
                Err(AppError::NotFound(_)) => String::new(),
                Err(error) => return Err(PageError::from(error)),
            };
            let current = state.app.postmortem_text(user, number, None).await?;
            since = Some(Since {
                revision: postmortem.revision,
                by: postmortem.revised_by.to_string(),
                diff: postmortem::unified_diff(
                    &old_body,
                    &current,
                    &format!("revision {old} (yours started here)"),
                    &format!("revision {}", postmortem.revision),
                ),
            });
            base_revision = postmortem.revision;
        }
        edit_page(
            &viewer,
            number,
            &incident,
            &postmortem,
            error.status,
            Some(&error.message),
            &text,
            base_revision,
            comment.as_deref(),
            since,
            state
                .app
                .postmortem_steps(user, &loaded)
                .contains(&PostmortemStep::Edit),
        )
    };
    shown.await.unwrap_or_else(IntoResponse::into_response)
}

/// Which revisions a diff compares.
#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    from: Option<u32>,
    to: Option<u32>,
}

/// `GET /incidents/{id}/postmortem/diff?from=N&to=M`: a unified diff between two revisions.
pub(crate) async fn diff<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(bad_query)?;
    let (number, _, incident, postmortem) = with_postmortem(&state, &viewer, &id).await?;
    let diff = state
        .app
        .postmortem_diff(viewer.user(), number, query.from, query.to)
        .await?;
    show(
        StatusCode::OK,
        "postmortem_diff.html",
        minijinja::context! {
            viewer => viewer.context(),
            i => heading(number, &incident, &postmortem),
            from => diff.from,
            to => diff.to,
            diff => diff.diff,
        },
    )
}

/// The export formats, by the web route that downloads each.
pub(crate) const EXPORTS: [(&str, ExportFormat); 4] = [
    (
        "/incidents/{id}/postmortem/export.md",
        ExportFormat::Markdown,
    ),
    ("/incidents/{id}/postmortem/export.html", ExportFormat::Html),
    ("/incidents/{id}/postmortem/export.pdf", ExportFormat::Pdf),
    ("/incidents/{id}/postmortem/export.json", ExportFormat::Json),
];

/// `GET /incidents/{id}/postmortem/export.{md,html,pdf,json}`: a download for a signed-in
/// viewer who may see the incident, the same file the API's export gives.
pub(crate) async fn export<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
    format: ExportFormat,
) -> Response {
    let download = async {
        let number = incident_id(&id)?;
        Ok::<_, PageError>(
            state
                .app
                .postmortem_export(viewer.user(), number, format)
                .await?,
        )
    }
    .await;
    match download {
        Ok(download) => convert::file(download),
        Err(error) => error.into_response(),
    }
}

#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LibraryParams {
    #[serde(default)]
    service: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    factor: String,
    #[serde(default)]
    q: String,
}

/// `GET /postmortems`: the library of published post-mortems, by service, severity, tag,
/// contributing factor and words.
pub(crate) async fn library<S: Store + hereby_store::Search>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    params: Result<axum::extract::Query<LibraryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let axum::extract::Query(params) = params.map_err(super::bad_query)?;
    let filter = hereby_app::library::LibraryFilter::read(
        Some(&params.service),
        Some(&params.severity),
        Some(&params.tag),
        Some(&params.factor),
        Some(&params.q),
    );
    let (status, library, error) = match filter {
        Err(invalid) => (StatusCode::BAD_REQUEST, None, Some(invalid.to_string())),
        Ok(filter) => match state.app.library(viewer.user(), &filter).await {
            Ok(library) => (StatusCode::OK, Some(library), None),
            Err(hereby_app::AppError::Refused { message, .. }) => {
                (StatusCode::BAD_REQUEST, None, Some(message))
            }
            Err(other) => return Err(other.into()),
        },
    };
    let entries: Vec<minijinja::Value> = library
        .as_ref()
        .map(|library| {
            library
                .postmortems
                .iter()
                .map(|entry| {
                    minijinja::context! {
                        incident => &entry.incident,
                        title => &entry.title,
                        severity => &entry.severity,
                        services => &entry.services,
                        owner => &entry.owner,
                        published => render::when(&entry.published_at),
                        tags => &entry.tags,
                        factors => &entry.factors,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    super::show(
        status,
        "library.html",
        minijinja::context! {
            viewer => viewer.context(),
            form => render::data(&params),
            error => error,
            entries => entries,
            tags => library.as_ref().map(|l| render::data(&l.tags)),
            factors => library.as_ref().map(|l| render::data(&l.factors)),
            capped => library.as_ref().is_some_and(|l| l.capped),
        },
    )
}
