//! The closed sets of words the API speaks (severities, statuses, visibilities, installation
//! roles, channel kinds, subscription scopes, notification events …) as named enums in the
//! OpenAPI document. The wire keeps them as strings so that the server, not the JSON decoder,
//! refuses a wrong one with its own message; the lists come from the core where the core
//! owns the word, so the document cannot drift from the rules.

use std::borrow::Cow;

use hereby_core::Capability;
use hereby_core::types::{
    ActionKind, ActionState, ComponentStatus, Criticality, EntryMark, FollowUpOption,
    InstallationRole, LinkKind, MilestoneName, PostmortemStatus, ReviewDecision, Severity, Status,
    Visibility,
};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

/// The kinds of notification channel.
pub const CHANNEL_KINDS: &[&str] = &[
    "webhook",
    "slack",
    "teams",
    "email",
    "matrix",
    "slack_app",
    "mattermost",
    "github",
    "gitlab",
    "tracker",
];

/// The channel kinds that are issue trackers follow-ups are opened in.
pub const TRACKER_KINDS: &[&str] = &["github", "gitlab", "tracker"];

/// How an e-mail channel's connection is secured.
pub const SMTP_TLS_MODES: &[&str] = &["none", "starttls", "tls"];

/// Which incidents a subscription hears of: `all` (every incident except restricted ones) or
/// `public` (status-page subscribers: public incidents and public updates only).
pub const SUBSCRIPTION_SCOPES: &[&str] = &["all", "public"];

/// The kinds of notification a subscription can ask for.
pub const NOTIFICATION_EVENTS: &[&str] = &[
    "declared",
    "severity_changed",
    "status_changed",
    "update_posted",
    "resolved",
    "role_assigned",
    "reminder",
    "review_reminder",
    "change_collision",
    "maintenance",
];

/// Where a notification's delivery stands.
pub const DELIVERY_STATES: &[&str] = &["pending", "delivered", "dead"];

/// Where an announced intent stands.
pub const INTENT_STATES: &[&str] = &["open", "done", "abandoned"];

/// Where a message or post-mortem template comes from.
pub const TEMPLATE_ORIGINS: &[&str] = &["default", "custom", "changed"];

/// Where a blame rule comes from.
pub const RULE_ORIGINS: &[&str] = &["default", "custom"];

/// Which check of the post-mortem linter a finding comes from.
pub const FINDING_KINDS: &[&str] = &["blame", "name"];

/// The kinds of integration: each a format a monitoring source already speaks.
pub const INTEGRATION_KINDS: &[&str] = &["alertmanager", "pagerduty", "opsgenie", "generic"];

/// The shapes a post-mortem is exported in.
pub const EXPORT_FORMATS: &[&str] = &["md", "json", "html", "pdf"];

fn words(description: &str, words: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .enum_values(Some(words))
        .into()
}

/// Declares a schema-only type: a named enum of words in the OpenAPI document.
macro_rules! vocabulary {
    ($($(#[$meta:meta])* $name:ident = $description:literal, $words:expr;)+) => {
        $(
            $(#[$meta])*
            #[doc = $description]
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    words($description, $words)
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )+

        /// Every vocabulary's name and words, for checking the document against them.
        pub fn all() -> Vec<(&'static str, Vec<&'static str>)> {
            vec![$((stringify!($name), $words.into_iter().collect())),+]
        }
    };
}

vocabulary! {
    SeverityName = "How bad it is: SEV1 is the most severe.", Severity::ALL.iter().map(|v| v.as_str());
    IncidentStatus = "Where an incident is in its life.", Status::ALL.iter().map(|v| v.as_str());
    Milestone = "A moment of an incident its durations are measured between, in their order.", MilestoneName::ALL.iter().map(|v| v.as_str());
    VisibilityName = "Who may see an incident: everyone with an account (internal), only its members and admins (restricted), or also the public status page (public).", Visibility::ALL.iter().map(|v| v.as_str());
    UserRole = "What a user may do in the whole installation.", InstallationRole::ALL.iter().map(|v| v.as_str());
    LinkKindName = "What an external link points at.", LinkKind::ALL.iter().map(|v| v.as_str());
    ActionItemKind = "Work during the incident (task) or a longer-term follow-up.", ActionKind::ALL.iter().map(|v| v.as_str());
    ActionItemState = "Where an action item stands.", ActionState::ALL.iter().map(|v| v.as_str());
    ComponentStatusName = "A status-page component's status.", ComponentStatus::ALL.iter().map(|v| v.as_str());
    PostmortemStatusName = "Where a post-mortem's review stands.", PostmortemStatus::ALL.iter().map(|v| v.as_str());
    TimelineMark = "How a timeline entry appears in the post-mortem: starred, excluded or plain.", EntryMark::ALL.iter().map(|v| v.as_str());
    CriticalityName = "How critical a service is.", Criticality::ALL.iter().map(|v| v.as_str());
    ChannelKind = "The kind of notification channel.", CHANNEL_KINDS.iter().copied();
    SmtpTls = "How an e-mail channel's connection is secured.", SMTP_TLS_MODES.iter().copied();
    SubscriptionScope = "Which incidents a subscription hears of: all (except restricted ones) or public (public incidents and public updates only).", SUBSCRIPTION_SCOPES.iter().copied();
    NotificationEvent = "A kind of notification a subscription can ask for.", NOTIFICATION_EVENTS.iter().copied();
    DeliveryState = "Where a notification's delivery stands.", DELIVERY_STATES.iter().copied();
    FollowUpOptionName = "The task force's follow-up options, least perturbation first.", FollowUpOption::ALL.iter().map(|v| v.as_str());
    ReviewOutcome = "What a review meeting decided about a follow-up: done, won't fix (with a reason) or still open (with a new due date).", ReviewDecision::ALL.iter().map(|v| v.as_str());
    CapabilityName = "A row of the permission table: what a command does.", Capability::ALL.iter().map(|v| v.as_str());
    ComponentStatusSetting = "A component status to set by hand, or auto to derive it from incidents again.", std::iter::once("auto").chain(ComponentStatus::ALL.iter().map(|v| v.as_str()));
    IntentState = "Where an announced intent stands.", INTENT_STATES.iter().copied();
    MaintenanceStatusName = "Where a scheduled maintenance stands: scheduled, in_progress, verifying or completed (forward only).", hereby_core::maintenance::MaintenanceStatus::ALL.iter().map(|v| v.as_str());
    TemplateOrigin = "Where a template comes from: shipped (default), added (custom), or a stored change of a shipped one (changed).", TEMPLATE_ORIGINS.iter().copied();
    RuleOrigin = "Where a blame rule comes from: shipped (default) or added by an admin (custom).", RULE_ORIGINS.iter().copied();
    FindingKind = "Which check a post-mortem finding comes from: blame (language that points at a person) or name (a real name outside People).", FINDING_KINDS.iter().copied();
    ExportFormat = "The shape a post-mortem is exported in.", EXPORT_FORMATS.iter().copied();
    IntegrationKind = "The format an integration receives: Alertmanager's webhook, PagerDuty Events v2, the Opsgenie Alert API, a generic JSON or form body, or a heartbeat's pings.", INTEGRATION_KINDS.iter().copied();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_is_a_named_string_enum() {
        for (name, words) in all() {
            assert!(!words.is_empty(), "{name} has no words");
            let mut sorted = words.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), words.len(), "{name} repeats a word");
        }
        let RefOr::T(Schema::Object(object)) = SeverityName::schema() else {
            panic!("a vocabulary is an inline object schema");
        };
        let values = object.enum_values.expect("an enum");
        assert_eq!(values.len(), Severity::ALL.len());
        assert_eq!(values[0], serde_json::json!("SEV1"));
    }
}
