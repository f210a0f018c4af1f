//! Post-mortems: drafting one from the timeline, editing it in revisions, the review workflow,
//! the linter, exports, starring and excluding timeline entries, and the templates and blame
//! rules admins keep.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hereby_api as api;
use hereby_app::ExportFormat;
use hereby_app::postmortem;
use hereby_core::Command;
use hereby_core::lint::FindingKind;
use hereby_core::types::{Reason, Tag, Text};
use hereby_store::{Communications, Directory, Store};
use serde::Deserialize;

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, IfMatch, OptionalJson};
use crate::routes::incidents::{act, incident_id};

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
    let outcome = state
        .app
        .draft_postmortem(&caller.0, incident_id(&id)?, request.template.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(convert::write_result(&outcome))))
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
    let postmortem = state
        .app
        .postmortem(&caller.0, incident_id(&id)?, query.revision)
        .await?;
    Ok(Json(postmortem))
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
    let outcome = state
        .app
        .refresh_postmortem_timeline(&caller.0, incident_id(&id)?)
        .await?;
    Ok(Json(convert::write_result(&outcome)))
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
    let outcome = state
        .app
        .delegate_postmortem(&caller.0, incident_id(&id)?, if_match.0, &request.owner)
        .await?;
    Ok(Json(convert::write_result(&outcome)))
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
/// `POST /api/v1/incidents/{id}/postmortem/reviewed`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/postmortem/reviewed",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body(content = api::GateRequest, description = "Optional: why to go ahead over the linter's findings"),
    responses(
        (status = 200, description = "The owner ended the review", body = api::WriteResult),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, description = "`version_conflict` (with `If-Match`)", body = api::ErrorBody),
        (status = 422, description = "A workflow rule refused it, e.g. `postmortem_findings` while the linter still finds something", body = api::ErrorBody),
    )
)]
pub(crate) async fn mark_reviewed<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<api::GateRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let gate = gate(&state, &caller, &id, request).await?;
    act(
        &state,
        &caller,
        &id,
        if_match,
        Command::MarkPostmortemReviewed { gate },
    )
    .await
}

/// `POST /api/v1/incidents/{id}/postmortem/publish`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/postmortem/publish",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body(content = api::GateRequest, description = "Optional: why to go ahead over the linter's findings"),
    responses(
        (status = 200, description = "Published", body = api::WriteResult),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, description = "`version_conflict` (with `If-Match`)", body = api::ErrorBody),
        (status = 422, description = "A workflow rule refused it, e.g. `postmortem_findings` while the linter still finds something", body = api::ErrorBody),
    )
)]
pub(crate) async fn publish<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<api::GateRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let gate = gate(&state, &caller, &id, request).await?;
    act(
        &state,
        &caller,
        &id,
        if_match,
        Command::PublishPostmortem { gate },
    )
    .await
}

/// The review gate for the post-mortem's current text, with the caller's reason to override.
async fn gate<S: Store + Directory + Communications>(
    state: &AppState<S>,
    caller: &Caller,
    id: &str,
    request: api::GateRequest,
) -> Result<hereby_core::review::ReviewGate, ApiError> {
    let reason = request
        .override_reason
        .filter(|reason| !reason.trim().is_empty())
        .map(|reason| Reason::parse(&reason))
        .transpose()?;
    Ok(state
        .app
        .postmortem_gate(&caller.0, incident_id(id)?, reason)
        .await?)
}

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
    let (revisions, comments) = state
        .app
        .postmortem_history(&caller.0, incident_id(&id)?)
        .await?;
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
    let diff = state
        .app
        .postmortem_diff(&caller.0, incident_id(&id)?, query.from, query.to)
        .await?;
    Ok(Json(diff))
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
    let linted = state
        .app
        .postmortem_lint(&caller.0, incident_id(&id)?)
        .await?;
    Ok(Json(api::LintReport {
        revision: linted.revision,
        findings: linted
            .findings
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
        substituted: (linted.substituted != linted.body).then_some(linted.substituted),
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
        ("format" = Option<api::vocabulary::ExportFormat>, Query, description = "`md` (default), `json`, `html` or `pdf`"),
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
    let raw = query.format.as_deref().unwrap_or("md");
    let format = ExportFormat::parse(raw).ok_or_else(|| {
        ApiError::bad_request(
            "unknown_format",
            format!("`{raw}` is not an export format: use md, json, html or pdf"),
        )
    })?;
    let download = state
        .app
        .postmortem_export(&caller.0, incident_id(&id)?, format)
        .await?;
    Ok(convert::file(download))
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
    let command = request.command(sequence)?;
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
    let templates = state.app.postmortem_templates().await?;
    Ok(Json(api::PostmortemTemplates {
        templates: templates.into_iter().map(wire_template).collect(),
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
    let template = state
        .app
        .save_postmortem_template(&caller.0, &name, &request.description, request.body)
        .await?;
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
    state
        .app
        .remove_postmortem_template(&caller.0, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
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
    let rules = state.app.blame_rules().await?;
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
    let rule = state
        .app
        .save_blame_rule(&caller.0, &request.pattern, &request.suggestion)
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
    state
        .app
        .remove_blame_rule(&caller.0, &query.pattern)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/incidents/{id}/postmortem/tags`
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/postmortem/tags",
    tag = "postmortems",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::TagPostmortem,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn tag<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::TagPostmortem>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let parse = |raw: &[String]| -> Result<Vec<Tag>, ApiError> {
        raw.iter()
            .map(|tag| Tag::parse(tag).map_err(ApiError::from))
            .collect()
    };
    let command = Command::TagPostmortem {
        tags: parse(&request.tags)?,
        factors: parse(&request.factors)?,
    };
    act(&state, &caller, &id, if_match, command).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LibraryParams {
    service: Option<String>,
    severity: Option<String>,
    tag: Option<String>,
    factor: Option<String>,
    q: Option<String>,
}

/// `GET /api/v1/postmortems`: the post-mortem library.
#[utoipa::path(
    get,
    path = "/api/v1/postmortems",
    tag = "postmortems",
    security(("bearer" = [])),
    params(
        ("service" = Option<String>, Query, description = "Only incidents affecting this service"),
        ("severity" = Option<String>, Query, description = "Only these severities, comma-separated"),
        ("tag" = Option<String>, Query, description = "Only post-mortems filed under this tag"),
        ("factor" = Option<String>, Query, description = "Only post-mortems naming this contributing factor"),
        ("q" = Option<String>, Query, description = "Words the post-mortem holds, in the search grammar; best match first"),
    ),
    responses(
        (status = 200, body = api::Library),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn library<S: Store + Directory + hereby_store::Search>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<LibraryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<api::Library>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let filter = hereby_app::library::LibraryFilter::read(
        params.service.as_deref(),
        params.severity.as_deref(),
        params.tag.as_deref(),
        params.factor.as_deref(),
        params.q.as_deref(),
    )
    .map_err(|invalid| ApiError::bad_request("invalid_query", invalid.to_string()))?;
    Ok(Json(state.app.library(&caller.0, &filter).await?))
}
