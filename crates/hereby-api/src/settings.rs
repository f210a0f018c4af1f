//! Named admin settings under one route family, `/api/v1/settings/{kind}/{name}`: each kind
//! has its own value shape, shipped defaults where it has any, and the same list, show, put
//! and remove verbs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{PutPostmortemTemplate, PutService, PutTemplate};

/// The kinds of named setting an admin manages. Each has a value shape of its own (see
/// [`SettingValue`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// A stakeholder-update template (`subject`, `body`, `description`); shipped defaults
    /// may be changed.
    MessageTemplate,
    /// A post-mortem template (`body`, `description`); shipped defaults may be changed.
    PostmortemTemplate,
    /// A blame-language rule of the post-mortem linter, named by its pattern
    /// (`suggestion`); shipped rules stay as they are.
    BlameRule,
    /// A service of the catalogue (`owner_team`, `criticality`, …).
    Service,
    /// A route for incoming alerts (`order`, `matchers`, `group_by`, `window`, `create` …);
    /// the shipped catch-all `default` may be changed.
    AlertRoute,
    /// A maintenance window for incoming alerts (`matchers`, `starts`, `ends`, `repeat`,
    /// `reason`): the firing alerts it matches are kept as suppressed and open nothing.
    AlertMaintenance,
}

impl SettingKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [SettingKind; 6] = [
        SettingKind::MessageTemplate,
        SettingKind::PostmortemTemplate,
        SettingKind::BlameRule,
        SettingKind::Service,
        SettingKind::AlertRoute,
        SettingKind::AlertMaintenance,
    ];

    /// The spelling in paths, on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKind::MessageTemplate => "message_template",
            SettingKind::PostmortemTemplate => "postmortem_template",
            SettingKind::BlameRule => "blame_rule",
            SettingKind::Service => "service",
            SettingKind::AlertRoute => "alert_route",
            SettingKind::AlertMaintenance => "alert_maintenance",
        }
    }

    /// Parses a kind, accepting `-` for `_` and a trailing `s` (`message-templates`), so a
    /// person typing it is not refused over spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        let wanted = raw.trim().to_ascii_lowercase().replace('-', "_");
        let wanted = wanted.strip_suffix('s').unwrap_or(&wanted);
        Self::ALL.into_iter().find(|kind| kind.as_str() == wanted)
    }
}

impl std::fmt::Display for SettingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a setting in effect comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingOrigin {
    /// Shipped with hereby and unchanged.
    Default,
    /// Added by an admin.
    Custom,
    /// A shipped default an admin changed; removing it brings the shipped one back.
    Changed,
}

/// A blame rule's value: its name is the pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlameRuleValue {
    /// What to write instead.
    pub suggestion: String,
}

/// The value of a setting: its shape depends on the kind in the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SettingValue {
    /// `message_template`.
    MessageTemplate(PutTemplate),
    /// `postmortem_template`.
    PostmortemTemplate(PutPostmortemTemplate),
    /// `blame_rule`.
    BlameRule(BlameRuleValue),
    /// `service`.
    Service(PutService),
    /// `alert_route`.
    AlertRoute(Box<AlertRouteValue>),
    /// `alert_maintenance`.
    AlertMaintenance(AlertMaintenanceValue),
}

/// A maintenance window for incoming alerts: while it holds, the firing alerts all of whose
/// matchers hold are kept as suppressed (never dropped) and open nothing; resolves always go
/// through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertMaintenanceValue {
    /// At least one condition on labels, as routes write them: `service="db"`.
    pub matchers: Vec<String>,
    /// RFC 3339 times (`2026-12-05T22:00:00Z`): from `starts` until before `ends`.
    pub starts: String,
    pub ends: String,
    /// `daily` or `weekly`: the same span again every 24 hours or 7 days from `starts`.
    #[serde(default)]
    pub repeat: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A route for incoming alerts: which alerts it takes, how it groups them and when a group
/// opens an incident. Routes are tried by `order`, then name; the first that matches wins,
/// and the shipped `default` (which matches every alert) goes last. Absent fields take the
/// shipped route's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRouteValue {
    /// Lower goes first (default 1000).
    #[serde(default)]
    pub order: Option<i64>,
    /// Conditions on labels, all of which must hold, as Alertmanager writes them:
    /// `service="checkout"`, `env!="staging"`, `severity=~"critical|page"`, `team!~"db.*"`.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// The catalogue service its incidents affect, or `label:NAME` to take it from a label.
    #[serde(default)]
    pub service: Option<String>,
    /// Source severity words (`critical`, `error`, `P1` …) to `SEV1` … `SEV4`; replaces the
    /// shipped table when given.
    #[serde(default)]
    pub severity_map: Option<std::collections::BTreeMap<String, String>>,
    /// The label holding the severity word (default `severity`).
    #[serde(default)]
    pub severity_label: Option<String>,
    /// For words the table does not know (default `SEV3`).
    #[serde(default)]
    pub default_severity: Option<String>,
    /// The labels whose values make a group (default `alertname`, `service`).
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// `fixed` (from the group's first alert) or `extending` (from its newest; default).
    #[serde(default)]
    pub window_kind: Option<String>,
    /// How long a group takes new alerts (default `30m`).
    #[serde(default)]
    pub window: Option<String>,
    /// How long an extending group may last (default `2d`).
    #[serde(default)]
    pub max_age: Option<String>,
    /// A firing alert for a group resolved less than this ago reopens it (default `30m`).
    #[serde(default)]
    pub reopen_window: Option<String>,
    /// `never`, `always` (default) or `threshold(N within W)`.
    #[serde(default)]
    pub create: Option<String>,
    /// `all_alerts_resolved` (default: the timeline says so and the commander is asked to
    /// consider resolving) or `never`.
    #[serde(default)]
    pub resolve_on: Option<String>,
    /// Hold a group's incident this long and open none if its alerts resolve meanwhile
    /// (default `0s`: no pause; at most `24h`).
    #[serde(default)]
    pub pause: Option<String>,
    /// A group whose alerts fire again after resolving more than this many times within
    /// `flap_window` is flapping: it opens and reopens nothing (default 3; 0: never).
    #[serde(default)]
    pub flap_limit: Option<u32>,
    /// Default `1h`.
    #[serde(default)]
    pub flap_window: Option<String>,
}

/// One setting in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Setting {
    pub kind: SettingKind,
    pub name: String,
    pub origin: SettingOrigin,
    pub value: SettingValue,
    /// When an admin last stored it; absent for an unchanged default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// `GET /api/v1/settings/{kind}`: every setting of the kind in effect, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    pub kind: SettingKind,
    pub settings: Vec<Setting>,
}

/// What one kind of setting is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SettingKindInfo {
    pub kind: SettingKind,
    /// A sentence on what it is for.
    pub description: String,
    /// What a name of this kind may be.
    pub names: String,
    /// Which fields its value has.
    pub fields: String,
    /// How many shipped defaults it has.
    pub shipped: usize,
    /// How many admins stored (added or changed).
    pub stored: usize,
}

/// `GET /api/v1/settings`: the kinds of setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SettingKinds {
    pub kinds: Vec<SettingKindInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_as_people_type_them() {
        for kind in SettingKind::ALL {
            assert_eq!(SettingKind::parse(kind.as_str()), Some(kind));
            let plural = format!("{}s", kind.as_str().replace('_', "-"));
            assert_eq!(SettingKind::parse(&plural), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(SettingKind::parse("template"), None);
    }
}
