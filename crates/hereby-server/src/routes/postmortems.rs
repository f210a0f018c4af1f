//! Post-mortems: drafting one from the timeline, editing it in revisions, the review workflow,
//! the linter, exports, starring and excluding timeline entries, and the templates and blame
//! rules admins keep.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hereby_api as api;
use hereby_core::Command;
use hereby_core::lint::{self, BlameRule, FindingKind};
use hereby_core::types::{
    EntryMark, IncidentNumber, InstallationRole, Reason, TemplateName, Text, UserName,
};
use hereby_store::{AdminSetting, Communications, Directory, Loaded, Store};
use jiff::Timestamp;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, IfMatch, OptionalJson};
use crate::postmortem::{self, StoredTemplate, TEMPLATE_KIND};
use crate::routes::incidents::{act, incident_id, visible};

/// The incident (which the caller may see) and its post-mortem, or 404 when there is none.
async fn with_postmortem<S: Store + Directory>(
    state: &AppState<S>,
    caller: &Caller,
    raw_id: &str,
) -> Result<(IncidentNumber, Loaded, hereby_core::Postmortem), ApiError> {
    let number = incident_id(raw_id)?;
    let loaded = visible(state, caller, number).await?;
    let postmortem = loaded
        .state
        .incident()
        .and_then(|incident| incident.postmortem.clone())
        .ok_or_else(|| ApiError::not_found(format!("post-mortem of {number}")))?;
    Ok((number, loaded, postmortem))
}

/// `POST /api/v1/incidents/{id}/postmortem`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/postmortem",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body(content = api::DraftRequest, description = "Optional: the template to start from"),
    responses(
        (status = 201, description = "Drafted from the timeline", body = api::WriteResult),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, description = "No such incident or template", body = api::ErrorBody),
        (status = 409, description = "`version_conflict`: the incident changed while drafting", body = api::ErrorBody),
        (status = 422, description = "`incident_active`, `postmortem_exists`, `invalid_template`", body = api::ErrorBody),
    )
)]
pub(crate) async fn draft<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<api::DraftRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let number = incident_id(&id)?;
    let loaded = visible(&state, &caller, number).await?;
    caller.require(InstallationRole::Responder)?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let (name, template) = postmortem::find_template(
        &state.store,
        request
            .template
            .as_deref()
            .unwrap_or(postmortem::DEFAULT_TEMPLATE),
    )
    .await?;
    // The rules (resolved, not drafted yet) are decided again with the body below; checking
    // them first spares rendering a long timeline only to be refused.
    hereby_core::decide(
        &loaded.state,
        Command::DraftPostmortem {
            template: name.clone(),
            body: postmortem::document("-")?,
        },
        hereby_core::Context {
            now: Timestamp::now(),
            actor: &caller.0.name,
            policy: &state.policy,
        },
    )
    .map_err(|rejection| ApiError::from(hereby_store::ExecuteError::Rejected(rejection)))?;
    let body = postmortem::draft_body(
        &state.store,
        &state.policy.roles,
        number,
        incident,
        &template,
    )
    .await?;
    let command = Command::DraftPostmortem {
        template: name,
        body: postmortem::document(&body)?,
    };
    let written = act(&state, &caller, &id, IfMatch(Some(loaded.version)), command).await?;
    Ok((StatusCode::CREATED, written))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevisionQuery {
    /// An earlier revision to show instead of the current one.
    revision: Option<u32>,
}

/// `GET /api/v1/incidents/{id}/postmortem`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/postmortem",
    tag = "postmortems",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("revision" = Option<u32>, Query, description = "An earlier revision's text"),
    ),
    responses(
        (status = 200, body = api::Postmortem),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<RevisionQuery>,
) -> Result<Json<api::Postmortem>, ApiError> {
    let (number, _, postmortem) = with_postmortem(&state, &caller, &id).await?;
    let sequence = match query.revision {
        None => postmortem.body_sequence,
        Some(wanted) => revision_sequence(&state, number, wanted).await?,
    };
    let body = postmortem::body_at(&state.store, number, sequence).await?;
    let mut wire = postmortem::wire(number, &postmortem, body);
    if let Some(wanted) = query.revision {
        wire.revision = wanted;
    }
    Ok(Json(wire))
}

async fn revision_sequence<S: Store>(
    state: &AppState<S>,
    number: IncidentNumber,
    wanted: u32,
) -> Result<u64, ApiError> {
    let (revisions, _) = postmortem::history(&state.store, number).await?;
    revisions
        .iter()
        .find(|record| record.revision == wanted)
        .map(|record| record.sequence)
        .ok_or_else(|| ApiError::not_found(format!("revision {wanted} of {number}'s post-mortem")))
}

/// `PUT /api/v1/incidents/{id}/postmortem`
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/postmortem",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::RevisePostmortem,
    responses(
        (status = 200, description = "Saved as a new revision", body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, description = "`version_conflict` (with `If-Match`)", body = api::ErrorBody),
        (status = 422, description = "`stale_revision`, `postmortem_state`, `no_postmortem` or `invalid_value`", body = api::ErrorBody),
    )
)]
pub(crate) async fn revise<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::RevisePostmortem>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::RevisePostmortem {
        body: postmortem::document(&request.body)?,
        base_revision: request.base_revision,
        comment: request.comment.as_deref().map(Reason::parse).transpose()?,
    };
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/postmortem/timeline`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/postmortem/timeline",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "The Timeline section written again from the events, with the current stars and exclusions, as a new revision", body = api::WriteResult),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, description = "`no_timeline_section`", body = api::ErrorBody),
    )
)]
pub(crate) async fn refresh_timeline<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let (number, loaded, current) = with_postmortem(&state, &caller, &id).await?;
    caller.require(InstallationRole::Responder)?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let (_, template) = postmortem::find_template(&state.store, current.template.as_str()).await?;
    let fresh = postmortem::draft_body(
        &state.store,
        &state.policy.roles,
        number,
        incident,
        &template,
    )
    .await?;
    let body = postmortem::body_at(&state.store, number, current.body_sequence).await?;
    let merged = postmortem::replace_timeline(&body, &fresh)?;
    let command = Command::RevisePostmortem {
        body: postmortem::document(&merged)?,
        base_revision: Some(current.revision),
        comment: Some(Reason::parse("timeline written again from the events")?),
    };
    act(&state, &caller, &id, IfMatch(Some(loaded.version)), command).await
}

/// `PUT /api/v1/incidents/{id}/postmortem/owner`
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/postmortem/owner",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::OwnerRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, description = "`not_review_owner` and other rules", body = api::ErrorBody),
    )
)]
pub(crate) async fn delegate<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::OwnerRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let to = UserName::parse(&request.owner)?;
    // An unknown user is answered 404 here rather than becoming an owner nobody can be.
    state.store.user(&to).await?;
    act(
        &state,
        &caller,
        &id,
        if_match,
        Command::DelegatePostmortem { to },
    )
    .await
}

/// The workflow steps without a body: submit, approve, mark reviewed, publish.
macro_rules! workflow_step {
    ($handler:ident, $path:literal, $command:expr, $what:literal) => {
        #[doc = concat!("`POST ", $path, "`")]
        #[utoipa::path(
            post,
            path = $path,
            tag = "postmortems",
            security(("bearer" = [])),
            params(("id" = String, Path, description = "The incident, e.g. INC-7")),
            responses(
                (status = 200, description = $what, body = api::WriteResult),
                (status = 401, body = api::ErrorBody),
                (status = 403, body = api::ErrorBody),
                (status = 404, body = api::ErrorBody),
                (status = 409, description = "`version_conflict` (with `If-Match`)", body = api::ErrorBody),
                (status = 422, description = "A workflow rule refused it", body = api::ErrorBody),
            )
        )]
        pub(crate) async fn $handler<S: Store + Directory>(
            State(state): State<AppState<S>>,
            caller: Caller,
            if_match: IfMatch,
            Path(id): Path<String>,
        ) -> Result<Json<api::WriteResult>, ApiError> {
            act(&state, &caller, &id, if_match, $command).await
        }
    };
}

workflow_step!(
    submit,
    "/api/v1/incidents/{id}/postmortem/submit",
    Command::SubmitPostmortem,
    "The owner asked for reviews"
);
workflow_step!(
    approve,
    "/api/v1/incidents/{id}/postmortem/approve",
    Command::ApprovePostmortem,
    "A reviewer approved the current revision"
);
workflow_step!(
    mark_reviewed,
    "/api/v1/incidents/{id}/postmortem/reviewed",
    Command::MarkPostmortemReviewed,
    "The owner ended the review"
);
workflow_step!(
    publish,
    "/api/v1/incidents/{id}/postmortem/publish",
    Command::PublishPostmortem,
    "Published"
);

/// `POST /api/v1/incidents/{id}/postmortem/comments`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/postmortem/comments",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::NoteRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn comment<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::NoteRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::CommentPostmortem {
        text: Text::parse(&request.text)?,
    };
    act(&state, &caller, &id, if_match, command).await
}

/// `GET /api/v1/incidents/{id}/postmortem/revisions`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/postmortem/revisions",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, body = api::Revisions),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn revisions<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::Revisions>, ApiError> {
    let (number, _, _) = with_postmortem(&state, &caller, &id).await?;
    let (revisions, comments) = postmortem::history(&state.store, number).await?;
    Ok(Json(api::Revisions {
        revisions: revisions
            .into_iter()
            .map(|record| api::Revision {
                revision: record.revision,
                at: record.at.to_string(),
                by: record.by.to_string(),
                comment: record.comment,
                sequence: record.sequence,
            })
            .collect(),
        comments: comments
            .into_iter()
            .map(|record| api::ReviewComment {
                revision: record.revision,
                at: record.at.to_string(),
                by: record.by.to_string(),
                text: record.text,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    from: Option<u32>,
    to: Option<u32>,
}

/// `GET /api/v1/incidents/{id}/postmortem/diff`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/postmortem/diff",
    tag = "postmortems",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("from" = Option<u32>, Query, description = "The older revision [default: the one before `to`]"),
        ("to" = Option<u32>, Query, description = "The newer revision [default: the current one]"),
    ),
    responses(
        (status = 200, description = "A unified diff between two revisions", body = api::RevisionDiff),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn diff<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<DiffQuery>,
) -> Result<Json<api::RevisionDiff>, ApiError> {
    let (number, _, postmortem) = with_postmortem(&state, &caller, &id).await?;
    let to = query.to.unwrap_or(postmortem.revision);
    let from = query.from.unwrap_or(to.saturating_sub(1).max(1));
    let old = postmortem::body_at(
        &state.store,
        number,
        revision_sequence(&state, number, from).await?,
    )
    .await?;
    let new = postmortem::body_at(
        &state.store,
        number,
        revision_sequence(&state, number, to).await?,
    )
    .await?;
    let diff = postmortem::unified_diff(
        &old,
        &new,
        &format!("revision {from}"),
        &format!("revision {to}"),
    );
    Ok(Json(api::RevisionDiff { from, to, diff }))
}

/// `GET /api/v1/incidents/{id}/postmortem/lint`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/postmortem/lint",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "Blame language and real names in the current revision", body = api::LintReport),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn lint_postmortem<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::LintReport>, ApiError> {
    let (number, _, postmortem) = with_postmortem(&state, &caller, &id).await?;
    let body = postmortem::body_at(&state.store, number, postmortem.body_sequence).await?;
    let (findings, substituted) =
        postmortem::lint_body(&state.store, &state.policy.roles, number, body.clone()).await?;
    Ok(Json(api::LintReport {
        revision: postmortem.revision,
        findings: findings
            .into_iter()
            .map(|finding| api::Finding {
                kind: match finding.kind {
                    FindingKind::Blame => "blame",
                    FindingKind::Name => "name",
                }
                .to_owned(),
                line: finding.line,
                column: finding.column,
                text: finding.text,
                message: finding.message,
                suggestion: finding.suggestion,
                replacement: finding.replacement,
            })
            .collect(),
        substituted: (substituted != body).then_some(substituted),
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    format: Option<String>,
}

/// `GET /api/v1/incidents/{id}/postmortem/export`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/postmortem/export",
    tag = "postmortems",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("format" = Option<String>, Query, description = "`md` (default), `json`, `html` or `pdf`"),
    ),
    responses(
        (status = 200, description = "The current revision with a footer naming the timeline's hash-chain head: text/markdown, application/json, text/html or application/pdf"),
        (status = 400, description = "`unknown_format`", body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn export<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = query.format.as_deref().unwrap_or("md");
    if !matches!(format, "md" | "markdown" | "json" | "html" | "pdf") {
        return Err(ApiError::bad_request(
            "unknown_format",
            format!("`{format}` is not an export format: use md, json, html or pdf"),
        ));
    }
    let (number, loaded, postmortem) = with_postmortem(&state, &caller, &id).await?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let body = postmortem::body_at(&state.store, number, postmortem.body_sequence).await?;
    let head = state.store.head(number).await?;
    let meta = hereby_report::ReportMeta {
        incident: number.to_string(),
        title: postmortem::title(number, incident),
        state: postmortem.status.to_string(),
        revision: postmortem.revision,
        chain_head: hex::encode(&head.last_hash),
        chain_version: head.version,
        generated_at: Timestamp::now().to_string(),
    };
    let file = format!("{}-postmortem-r{}", number, postmortem.revision).to_lowercase();
    let attachment = |extension: &str| format!("attachment; filename=\"{file}.{extension}\"");
    let response = match format {
        "json" => {
            let document = serde_json::json!({
                "id": number.to_string(),
                "title": meta.title,
                "status": meta.state,
                "revision": postmortem.revision,
                "owner": postmortem.owner.to_string(),
                "approvals": postmortem.approvals.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                "reviewed_at": postmortem.reviewed_at.map(|at| at.to_string()),
                "published_at": postmortem.published_at.map(|at| at.to_string()),
                "chain": { "version": head.version, "head": meta.chain_head },
                "generated_at": meta.generated_at,
                "sections": sections(&body),
                "body": body,
                "footer": hereby_report::footer_line(&meta),
            });
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (header::CONTENT_DISPOSITION, attachment("json")),
                ],
                Json(document),
            )
                .into_response()
        }
        "html" => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, attachment("html")),
            ],
            hereby_report::html::html_page(&meta, &body),
        )
            .into_response(),
        "pdf" => {
            // Laying out a long timeline takes a while: off the async threads.
            let pdf = tokio::task::spawn_blocking(move || hereby_report::pdf::pdf(&meta, &body))
                .await
                .map_err(|e| ApiError::internal(format!("PDF rendering stopped: {e}")))?
                .map_err(|e| ApiError::internal(format!("PDF rendering failed: {e}")))?;
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (header::CONTENT_DISPOSITION, attachment("pdf")),
                ],
                Body::from(pdf),
            )
                .into_response()
        }
        _ => {
            let text = format!(
                "{}\n\n---\n\n{}\n",
                body.trim_end(),
                hereby_report::footer_line(&meta)
            );
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "text/markdown; charset=utf-8".to_owned(),
                    ),
                    (header::CONTENT_DISPOSITION, attachment("md")),
                ],
                text,
            )
                .into_response()
        }
    };
    Ok(response)
}

/// The body split at its level-2 headings: `[{heading, markdown}]`, for readers of the JSON
/// export who want one section.
fn sections(body: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut text = String::new();
    let mut in_fence = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && let Some(title) = line.strip_prefix("## ") {
            out.push(serde_json::json!({ "heading": heading, "markdown": text.trim() }));
            heading = title.trim().to_owned();
            text.clear();
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    out.push(serde_json::json!({ "heading": heading, "markdown": text.trim() }));
    out
}

/// `PUT /api/v1/incidents/{id}/timeline/{sequence}/mark`
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/timeline/{sequence}/mark",
    tag = "postmortems",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("sequence" = u64, Path, description = "The timeline entry's sequence number"),
    ),
    request_body = api::MarkRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn mark_entry<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path((id, sequence)): Path<(String, u64)>,
    ApiJson(request): ApiJson<api::MarkRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::MarkTimelineEntry {
        sequence,
        mark: EntryMark::parse(&request.mark)?,
    };
    act(&state, &caller, &id, if_match, command).await
}

fn wire_template(template: postmortem::Template) -> api::PostmortemTemplate {
    api::PostmortemTemplate {
        name: template.name,
        description: template.description,
        body: template.body,
        origin: template.origin.to_owned(),
        updated_at: template.updated_at.map(|at| at.to_string()),
        updated_by: template.updated_by,
    }
}

/// `GET /api/v1/postmortem-templates`
#[utoipa::path(
    get,
    path = "/api/v1/postmortem-templates",
    tag = "postmortems",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every post-mortem template in effect, and the variables they may use", body = api::PostmortemTemplates),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_templates<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Result<Json<api::PostmortemTemplates>, ApiError> {
    let stored = state.store.list_settings(TEMPLATE_KIND).await?;
    Ok(Json(api::PostmortemTemplates {
        templates: postmortem::effective(&stored)
            .into_iter()
            .map(wire_template)
            .collect(),
        variables: postmortem::VARIABLES
            .iter()
            .map(|(name, description)| api::TemplateVariable {
                name: (*name).to_owned(),
                description: (*description).to_owned(),
            })
            .collect(),
    }))
}

/// `PUT /api/v1/postmortem-templates/{name}`
#[utoipa::path(
    put,
    path = "/api/v1/postmortem-templates/{name}",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The template: lowercase letters, digits, `.`, `_`, `-`")),
    request_body = api::PutPostmortemTemplate,
    responses(
        (status = 200, description = "Stored", body = api::PostmortemTemplate),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 422, description = "`invalid_template` (with its line) or `invalid_value`", body = api::ErrorBody),
    )
)]
pub(crate) async fn put_template<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<api::PutPostmortemTemplate>,
) -> Result<Json<api::PostmortemTemplate>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let name = TemplateName::parse(&name)?;
    postmortem::check(&request.body)?;
    let setting = AdminSetting {
        kind: TEMPLATE_KIND.to_owned(),
        name: name.to_string(),
        value: serde_json::to_string(&StoredTemplate {
            description: request.description.trim().to_owned(),
            body: request.body,
        })
        .map_err(|e| ApiError::internal(e.to_string()))?,
        updated_at: Timestamp::now(),
        updated_by: caller.0.name.clone(),
    };
    state.store.put_setting(&setting).await?;
    // Answered from what was stored, not read back: a concurrent removal must not turn a
    // successful save into a 404.
    let template = postmortem::effective(std::slice::from_ref(&setting))
        .into_iter()
        .find(|template| template.name == setting.name)
        .ok_or_else(|| ApiError::internal("a stored template did not read back"))?;
    Ok(Json(wire_template(template)))
}

/// `DELETE /api/v1/postmortem-templates/{name}`
#[utoipa::path(
    delete,
    path = "/api/v1/postmortem-templates/{name}",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The template")),
    responses(
        (status = 204, description = "Removed; a changed default is shipped again"),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, description = "No stored template of that name", body = api::ErrorBody),
    )
)]
pub(crate) async fn delete_template<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(InstallationRole::Admin)?;
    if state.store.remove_setting(TEMPLATE_KIND, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "stored post-mortem template `{name}`"
        )))
    }
}

/// `GET /api/v1/blame-rules`
#[utoipa::path(
    get,
    path = "/api/v1/blame-rules",
    tag = "postmortems",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The blame-language rules: shipped and added", body = api::BlameRules),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_blame_rules<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Result<Json<api::BlameRules>, ApiError> {
    let rules = postmortem::blame_rules(&state.store).await?;
    Ok(Json(api::BlameRules {
        rules: rules
            .into_iter()
            .map(|(rule, origin)| api::BlameRule {
                pattern: rule.pattern,
                suggestion: rule.suggestion,
                origin: origin.to_owned(),
            })
            .collect(),
    }))
}

/// `PUT /api/v1/blame-rules`
#[utoipa::path(
    put,
    path = "/api/v1/blame-rules",
    tag = "postmortems",
    security(("bearer" = [])),
    request_body = api::PutBlameRule,
    responses(
        (status = 200, description = "Stored", body = api::BlameRule),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 422, description = "`invalid_rule`", body = api::ErrorBody),
    )
)]
pub(crate) async fn put_blame_rule<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::PutBlameRule>,
) -> Result<Json<api::BlameRule>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let rule = BlameRule {
        pattern: request.pattern.trim().to_owned(),
        suggestion: request.suggestion.trim().to_owned(),
    };
    lint::check_rule(&rule).map_err(|problem| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rule", problem)
    })?;
    if lint::default_blame_rules()
        .iter()
        .any(|shipped| shipped.pattern.eq_ignore_ascii_case(&rule.pattern))
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rule",
            format!("`{}` is already a shipped rule", rule.pattern),
        ));
    }
    state
        .store
        .put_setting(&AdminSetting {
            kind: postmortem::BLAME_RULE_KIND.to_owned(),
            name: rule.pattern.clone(),
            value: rule.suggestion.clone(),
            updated_at: Timestamp::now(),
            updated_by: caller.0.name.clone(),
        })
        .await?;
    Ok(Json(api::BlameRule {
        pattern: rule.pattern,
        suggestion: rule.suggestion,
        origin: "custom".to_owned(),
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PatternQuery {
    pattern: String,
}

/// `DELETE /api/v1/blame-rules`
#[utoipa::path(
    delete,
    path = "/api/v1/blame-rules",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("pattern" = String, Query, description = "The added rule's pattern")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, description = "No added rule with that pattern (shipped rules stay)", body = api::ErrorBody),
    )
)]
pub(crate) async fn delete_blame_rule<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(query): Query<PatternQuery>,
) -> Result<StatusCode, ApiError> {
    caller.require(InstallationRole::Admin)?;
    if state
        .store
        .remove_setting(postmortem::BLAME_RULE_KIND, query.pattern.trim())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "added blame rule `{}`",
            query.pattern.trim()
        )))
    }
}
