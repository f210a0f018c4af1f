//! The OpenAPI 3 document of the API, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`.

use axum::Json;
use hereby_api as api;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    alerts, attachments, chat, data, decisions, health, incidents, insights, live, maintenance,
    notifications, postmortems, reviews, search, services, settings, templates, trackers, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hereby",
        description = "Declare incidents, run the response, learn from it. Every call under /api/v1 \
                       needs `Authorization: Bearer <token>`. Errors are \
                       `{\"error\": {\"code\", \"message\"}}`; writes may carry `If-Match: <version>`.",
    ),
    paths(
        health::healthz,
        health::readyz,
        crate::observe::metrics,
        openapi_json,
        incidents::declare_incident,
        incidents::list_incidents,
        search::search,
        insights::insights,
        incidents::show_incident,
        incidents::timeline,
        incidents::add_note,
        incidents::post_update,
        incidents::set_public_summary,
        incidents::take_command,
        incidents::accept_candidate,
        incidents::decline_candidate,
        incidents::merge_candidate,
        incidents::change_visibility,
        incidents::assign_role,
        incidents::unassign_role,
        incidents::request_handoff,
        incidents::accept_handoff,
        incidents::decline_handoff,
        incidents::cancel_handoff,
        incidents::change_severity,
        incidents::change_status,
        incidents::resolve,
        incidents::call_off,
        incidents::hand_back,
        incidents::set_impact,
        incidents::set_milestone,
        incidents::record_operation,
        incidents::add_link,
        incidents::add_action_item,
        incidents::update_action_item,
        incidents::complete_action_item,
        incidents::wont_fix_action_item,
        incidents::reopen_action_item,
        trackers::export_action_item,
        trackers::unlink_action_item,
        trackers::list_tracked_items,
        incidents::add_member,
        incidents::remove_member,
        live::all_events,
        live::incident_events,
        attachments::upload,
        attachments::list,
        attachments::download,
        data::export,
        data::verify_everything,
        data::verify,
        data::backup,
        users::me,
        users::list_users,
        users::create_user,
        users::update_user,
        users::set_password,
        users::working_hours,
        users::set_working_hours,
        users::list_tokens,
        users::create_token,
        users::revoke_token,
        crate::status::list_components,
        crate::status::put_component,
        crate::status::remove_component,
        crate::status::show_page_settings,
        crate::status::put_page_settings,
        crate::status::list_subscribers,
        crate::status::remove_subscriber,
        maintenance::list_maintenances,
        maintenance::schedule_maintenance,
        maintenance::show_maintenance,
        maintenance::replan_maintenance,
        maintenance::remove_maintenance,
        maintenance::post_maintenance_update,
        templates::list_templates,
        templates::show_template,
        templates::put_template,
        templates::remove_template,
        templates::preview,
        notifications::set_email,
        notifications::create_channel,
        notifications::list_channels,
        notifications::delete_channel,
        notifications::test_channel,
        notifications::create_subscription,
        notifications::list_subscriptions,
        notifications::delete_subscription,
        notifications::list_deliveries,
        notifications::retry_delivery,
        postmortems::draft,
        postmortems::show,
        postmortems::revise,
        postmortems::refresh_timeline,
        postmortems::delegate,
        postmortems::submit,
        postmortems::approve,
        postmortems::mark_reviewed,
        postmortems::publish,
        postmortems::comment,
        postmortems::tag,
        postmortems::library,
        postmortems::revisions,
        postmortems::diff,
        postmortems::lint_postmortem,
        postmortems::export,
        postmortems::mark_entry,
        postmortems::list_templates,
        postmortems::put_template,
        postmortems::delete_template,
        postmortems::list_blame_rules,
        postmortems::put_blame_rule,
        postmortems::delete_blame_rule,
        reviews::show,
        reviews::record,
        reviews::schedule,
        reviews::next_ics,
        reviews::overview,
        decisions::evaluate,
        decisions::incident_releases,
        decisions::set_suspect,
        decisions::show_ladder,
        decisions::record_decision,
        decisions::announce_intent,
        decisions::complete_intent,
        decisions::abandon_intent,
        decisions::set_witness_rule,
        decisions::acknowledge_changes,
        settings::list_kinds,
        settings::list_settings,
        settings::show_setting,
        settings::put_setting,
        settings::remove_setting,
        services::list_services,
        services::show_service,
        services::put_service,
        services::remove_service,
        services::import_services,
        services::record_release,
        services::list_releases,
        services::severity_rules,
        services::permissions,
        alerts::add_integration,
        alerts::list_integrations,
        alerts::rotate_integration,
        alerts::revoke_integration,
        alerts::list_groups,
        alerts::show_group,
        alerts::attach_group,
        alerts::acknowledge_group,
        alerts::silence_group,
        chat::link_code,
        chat::list_links,
        chat::put_link,
        chat::remove_link,
    ),
    // Schemas only query parameters name are not collected from the operations: listed here.
    components(schemas(
        api::ErrorBody,
        api::ErrorDetail,
        api::vocabulary::ExportFormat,
        api::vocabulary::DeliveryState
    )),
    modifiers(&BearerToken, &ErrorStatuses),
)]
pub struct ApiDoc;

/// Declares the bearer-token scheme the operations refer to.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Documents the error statuses every operation of a kind can answer, besides the ones its
/// own annotation names: a request that cannot be read (400: a malformed path, query or
/// body), a value that is not acceptable (422), a JSON body that is too large (413) or not
/// JSON (415), and a database that did not answer (503). Each is the JSON error shape.
struct ErrorStatuses;

impl Modify for ErrorStatuses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
                continue;
            }
            let operations = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                let body = operation.request_body.is_some();
                let parameters = operation
                    .parameters
                    .as_ref()
                    .is_some_and(|parameters| !parameters.is_empty());
                let mut statuses = vec![(
                    "503",
                    "The database did not answer (`database_unavailable`); nothing was changed",
                )];
                if body || parameters {
                    statuses.push((
                        "400",
                        "The path, query or body cannot be read (`invalid_path`, `invalid_query`, `malformed_json`, `invalid_body`)",
                    ));
                    statuses.push((
                        "422",
                        "A value is not acceptable (`invalid_value`, naming the field), or a rule refused",
                    ));
                }
                if body {
                    statuses.push(("413", "The body is too large (`body_too_large`)"));
                    statuses.push((
                        "415",
                        "The body is not sent as `application/json` (`unsupported_media_type`)",
                    ));
                }
                for (status, description) in statuses {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// The document as served.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "This document")))]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
