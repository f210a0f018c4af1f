//! Named admin settings of every kind behind one interface: message templates, post-mortem
//! templates, blame rules and services are listed, shown, stored and removed the same way,
//! each kind checked by its own rules and joined by its shipped defaults. The API's
//! `/api/v1/settings` routes, the CLI's `hereby setting` verbs and the settings page ask here;
//! the older per-kind routes are the same calls under their first names.

use std::collections::BTreeSet;

use hereby_api::{self as api, SettingKind, SettingOrigin, SettingValue};
use hereby_core::lint;
use hereby_core::types::{InstallationRole, InvalidValue, ServiceName};
use hereby_store::{Communications, Store, User};
use jiff::Timestamp;

use crate::catalogue::{self, SERVICE_KIND, ServiceEntry};
use crate::postmortem::{self, BLAME_RULE_KIND, TEMPLATE_KIND};
use crate::{App, AppError, alerts, messages, require};
use hereby_core::alerts::DEFAULT_ROUTE;

/// What the kinds are, for people choosing one.
struct KindFacts {
    description: &'static str,
    names: &'static str,
    fields: &'static str,
}

fn facts(kind: SettingKind) -> KindFacts {
    match kind {
        SettingKind::MessageTemplate => KindFacts {
            description: "A stakeholder-update template: the subject and Markdown body an update starts from, with {{ variables }} of the incident.",
            names: "lowercase letters, digits, `.`, `_` and `-`",
            fields: "subject, body, description",
        },
        SettingKind::PostmortemTemplate => KindFacts {
            description: "A post-mortem template: the Markdown a draft is rendered from, with the incident's facts.",
            names: "lowercase letters, digits, `.`, `_` and `-`",
            fields: "body, description",
        },
        SettingKind::BlameRule => KindFacts {
            description: "A blame-language rule of the post-mortem linter: words to flag and what to write instead.",
            names: "the pattern: words matched case-insensitively; `{person}` stands for a name or role variable, `*` for one word",
            fields: "suggestion",
        },
        SettingKind::AlertRoute => KindFacts {
            description: "A route for incoming alerts: which alerts it takes (matchers on labels), how it groups them (group_by, window) and when a group opens an incident. The first route that matches wins; the shipped `default` takes what no other does.",
            names: "lowercase letters, digits, `.`, `_` and `-`",
            fields: "order, matchers, service, severity_map, severity_label, default_severity, group_by, window_kind, window, max_age, reopen_window, create, resolve_on, pause, flap_limit, flap_window",
        },
        SettingKind::AlertMaintenance => KindFacts {
            description: "A maintenance window for incoming alerts: while it holds, the firing alerts its matchers meet are kept as suppressed (never dropped) and open no incident; resolves always go through. It may repeat daily or weekly.",
            names: "lowercase letters, digits, `.`, `_` and `-`",
            fields: "matchers, starts, ends, repeat, reason",
        },
        SettingKind::Service => KindFacts {
            description: "A service of the catalogue: who owns it, how critical it is, how long it may be unavailable, what it depends on.",
            names: "the service name incidents use (lowercase letters, digits, `-`)",
            fields: "owner_team, criticality, max_unavailability, public, depends_on, incident_definition, description",
        },
    }
}

fn origin(raw: &str) -> SettingOrigin {
    match raw {
        "default" => SettingOrigin::Default,
        "changed" => SettingOrigin::Changed,
        _ => SettingOrigin::Custom,
    }
}

/// The value a request sent, read as the kind's own shape: a field of another kind, or one
/// missing, is named in the refusal.
fn value_of(kind: SettingKind, value: serde_json::Value) -> Result<SettingValue, AppError> {
    let invalid = |error: serde_json::Error| {
        AppError::Invalid(InvalidValue::new(
            "value",
            format!("not a {kind} value ({}): {error}", facts(kind).fields),
        ))
    };
    if !value.is_object() {
        return Err(AppError::Invalid(InvalidValue::new(
            "value",
            format!(
                "must be a JSON object with the {kind} fields ({})",
                facts(kind).fields
            ),
        )));
    }
    Ok(match kind {
        SettingKind::MessageTemplate => {
            SettingValue::MessageTemplate(serde_json::from_value(value).map_err(invalid)?)
        }
        SettingKind::PostmortemTemplate => {
            SettingValue::PostmortemTemplate(serde_json::from_value(value).map_err(invalid)?)
        }
        SettingKind::BlameRule => {
            SettingValue::BlameRule(serde_json::from_value(value).map_err(invalid)?)
        }
        SettingKind::Service => {
            SettingValue::Service(serde_json::from_value(value).map_err(invalid)?)
        }
        SettingKind::AlertRoute => {
            SettingValue::AlertRoute(serde_json::from_value(value).map_err(invalid)?)
        }
        SettingKind::AlertMaintenance => {
            SettingValue::AlertMaintenance(serde_json::from_value(value).map_err(invalid)?)
        }
    })
}

fn message_template(template: messages::Template) -> api::Setting {
    api::Setting {
        kind: SettingKind::MessageTemplate,
        origin: origin(template.origin),
        value: SettingValue::MessageTemplate(api::PutTemplate {
            description: template.description,
            subject: template.subject,
            body: template.body,
        }),
        name: template.name,
        updated_at: template.updated_at.map(|at| at.to_string()),
        updated_by: template.updated_by,
    }
}

fn postmortem_template(template: postmortem::Template) -> api::Setting {
    api::Setting {
        kind: SettingKind::PostmortemTemplate,
        origin: origin(template.origin),
        value: SettingValue::PostmortemTemplate(api::PutPostmortemTemplate {
            description: template.description,
            body: template.body,
        }),
        name: template.name,
        updated_at: template.updated_at.map(|at| at.to_string()),
        updated_by: template.updated_by,
    }
}

fn blame_rule(rule: lint::BlameRule, from: &str) -> api::Setting {
    api::Setting {
        kind: SettingKind::BlameRule,
        origin: origin(from),
        name: rule.pattern,
        value: SettingValue::BlameRule(api::BlameRuleValue {
            suggestion: rule.suggestion,
        }),
        updated_at: None,
        updated_by: None,
    }
}

fn alert_route(
    route: &hereby_core::alerts::Route,
    origin: SettingOrigin,
    stored: Option<&hereby_store::AdminSetting>,
) -> api::Setting {
    api::Setting {
        kind: SettingKind::AlertRoute,
        origin,
        name: route.name.clone(),
        value: SettingValue::AlertRoute(Box::new(alerts::route_value(route))),
        updated_at: stored.map(|s| s.updated_at.to_string()),
        updated_by: stored.map(|s| s.updated_by.to_string()),
    }
}

fn maintenance(
    window: &hereby_core::alerts::MaintenanceWindow,
    stored: Option<&hereby_store::AdminSetting>,
) -> api::Setting {
    api::Setting {
        kind: SettingKind::AlertMaintenance,
        origin: SettingOrigin::Custom,
        name: window.name.clone(),
        value: SettingValue::AlertMaintenance(alerts::maintenance_value(window)),
        updated_at: stored.map(|s| s.updated_at.to_string()),
        updated_by: stored.map(|s| s.updated_by.to_string()),
    }
}

fn service(wire: api::Service) -> api::Setting {
    api::Setting {
        kind: SettingKind::Service,
        origin: SettingOrigin::Custom,
        value: SettingValue::Service(api::PutService {
            owner_team: wire.owner_team,
            criticality: wire.criticality,
            max_unavailability: wire.max_unavailability,
            public: wire.public,
            depends_on: wire.depends_on,
            incident_definition: wire.incident_definition,
            description: wire.description,
        }),
        name: wire.name,
        updated_at: Some(wire.updated_at),
        updated_by: Some(wire.updated_by),
    }
}

impl<S: Store + Communications> App<S> {
    /// Every kind of setting, with how many are shipped and how many admins stored.
    pub async fn setting_kinds(&self) -> Result<Vec<api::SettingKindInfo>, AppError> {
        let mut kinds = Vec::new();
        for kind in SettingKind::ALL {
            let settings = self.settings(kind).await?;
            let shipped = settings
                .iter()
                .filter(|setting| setting.origin != SettingOrigin::Custom)
                .count();
            let stored = settings
                .iter()
                .filter(|setting| setting.origin != SettingOrigin::Default)
                .count();
            let facts = facts(kind);
            kinds.push(api::SettingKindInfo {
                kind,
                description: facts.description.to_owned(),
                names: facts.names.to_owned(),
                fields: facts.fields.to_owned(),
                shipped,
                stored,
            });
        }
        Ok(kinds)
    }

    /// Every setting of `kind` in effect: the shipped defaults, changed or joined by admins'.
    pub async fn settings(&self, kind: SettingKind) -> Result<Vec<api::Setting>, AppError> {
        Ok(match kind {
            SettingKind::MessageTemplate => self
                .templates()
                .await?
                .into_iter()
                .map(message_template)
                .collect(),
            SettingKind::PostmortemTemplate => self
                .postmortem_templates()
                .await?
                .into_iter()
                .map(postmortem_template)
                .collect(),
            SettingKind::BlameRule => self
                .blame_rules()
                .await?
                .into_iter()
                .map(|(rule, from)| blame_rule(rule, from))
                .collect(),
            SettingKind::Service => catalogue::services(&self.store)
                .await?
                .into_values()
                .map(|(_, wire)| service(wire))
                .collect(),
            SettingKind::AlertRoute => {
                let stored = self.store.list_settings(alerts::ROUTE_KIND).await?;
                self.alert_routes()
                    .await?
                    .all()
                    .iter()
                    .map(|route| {
                        let kept = stored.iter().find(|s| s.name == route.name);
                        let origin = match (kept, route.name == DEFAULT_ROUTE) {
                            (None, _) => SettingOrigin::Default,
                            (Some(_), true) => SettingOrigin::Changed,
                            (Some(_), false) => SettingOrigin::Custom,
                        };
                        alert_route(route, origin, kept)
                    })
                    .collect()
            }
            SettingKind::AlertMaintenance => {
                let stored = self.store.list_settings(alerts::MAINTENANCE_KIND).await?;
                self.maintenance_windows()
                    .await?
                    .iter()
                    .map(|window| {
                        maintenance(window, stored.iter().find(|s| s.name == window.name))
                    })
                    .collect()
            }
        })
    }

    /// The setting of `kind` named `name` in effect.
    pub async fn setting(&self, kind: SettingKind, name: &str) -> Result<api::Setting, AppError> {
        let wanted = name.trim();
        self.settings(kind)
            .await?
            .into_iter()
            .find(|setting| match kind {
                // A blame rule's pattern is matched as the linter matches it.
                SettingKind::BlameRule => setting.name.eq_ignore_ascii_case(wanted),
                _ => setting.name == wanted,
            })
            .ok_or_else(|| AppError::not_found(format!("{kind} `{wanted}`")))
    }

    /// Checks and stores a setting as `actor` (an admin): a new one, a change of an admin's
    /// own, or a change of a shipped default where the kind allows it. Answers with the
    /// setting as it is now in effect.
    pub async fn put_setting(
        &self,
        actor: &User,
        kind: SettingKind,
        name: &str,
        value: serde_json::Value,
    ) -> Result<api::Setting, AppError> {
        require(actor, InstallationRole::Admin)?;
        let stored = match value_of(kind, value)? {
            SettingValue::MessageTemplate(value) => message_template(
                self.save_template(actor, name, &value.description, value.subject, value.body)
                    .await?,
            ),
            SettingValue::PostmortemTemplate(value) => postmortem_template(
                self.save_postmortem_template(actor, name, &value.description, value.body)
                    .await?,
            ),
            SettingValue::BlameRule(value) => {
                let rule = self.save_blame_rule(actor, name, &value.suggestion).await?;
                let mut setting = blame_rule(rule, "custom");
                setting.updated_by = Some(actor.name.to_string());
                setting
            }
            SettingValue::Service(value) => service(self.save_service(actor, name, &value).await?),
            SettingValue::AlertRoute(value) => {
                let route = self.save_alert_route(actor, name, &value).await?;
                let origin = if route.name == DEFAULT_ROUTE {
                    SettingOrigin::Changed
                } else {
                    SettingOrigin::Custom
                };
                let mut setting = alert_route(&route, origin, None);
                setting.updated_at = Some(Timestamp::now().to_string());
                setting.updated_by = Some(actor.name.to_string());
                setting
            }
            SettingValue::AlertMaintenance(value) => {
                let window = self.save_maintenance_window(actor, name, &value).await?;
                let mut setting = maintenance(&window, None);
                setting.updated_at = Some(Timestamp::now().to_string());
                setting.updated_by = Some(actor.name.to_string());
                setting
            }
        };
        self.settings_changed();
        Ok(stored)
    }

    /// Removes a setting as `actor` (an admin): an added one goes, a changed default is the
    /// shipped one again. A shipped default cannot be removed (`setting_is_default`).
    pub async fn remove_setting(
        &self,
        actor: &User,
        kind: SettingKind,
        name: &str,
    ) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        let current = self.setting(kind, name).await?;
        if current.origin == SettingOrigin::Default {
            return Err(AppError::Conflict {
                code: "setting_is_default",
                message: format!(
                    "{kind} `{}` is shipped with hereby and stays; store a changed one instead",
                    current.name
                ),
            });
        }
        let removed = match kind {
            SettingKind::MessageTemplate => {
                self.delete_template(actor, &current.name).await?;
                true
            }
            SettingKind::PostmortemTemplate => {
                self.store
                    .remove_setting(TEMPLATE_KIND, &current.name)
                    .await?
            }
            SettingKind::BlameRule => {
                self.store
                    .remove_setting(BLAME_RULE_KIND, &current.name)
                    .await?
            }
            SettingKind::Service => {
                self.store
                    .remove_setting(SERVICE_KIND, &current.name)
                    .await?
            }
            SettingKind::AlertRoute => {
                self.store
                    .remove_setting(alerts::ROUTE_KIND, &current.name)
                    .await?
            }
            SettingKind::AlertMaintenance => {
                self.store
                    .remove_setting(alerts::MAINTENANCE_KIND, &current.name)
                    .await?
            }
        };
        if !removed {
            // Removed by someone else between the look-up and now: the same answer as if it
            // had never been there.
            return Err(AppError::not_found(format!("{kind} `{}`", current.name)));
        }
        self.settings_changed();
        Ok(())
    }

    /// Adds or changes several services as `actor` (an admin): every entry is checked first,
    /// then all are stored in one transaction, or none. Answers with the whole catalogue.
    pub async fn import_services(
        &self,
        actor: &User,
        services: &[api::ImportedService],
    ) -> Result<Vec<api::Service>, AppError> {
        require(actor, InstallationRole::Admin)?;
        let now = Timestamp::now();
        let mut settings = Vec::new();
        let mut seen = BTreeSet::new();
        for (index, imported) in services.iter().enumerate() {
            let at = |error: AppError| AppError::Refused {
                code: "invalid_value",
                message: format!("service {} (`{}`): {error}", index + 1, imported.name),
            };
            let name = ServiceName::parse(&imported.name).map_err(|e| at(e.into()))?;
            if !seen.insert(name.clone()) {
                return Err(at(AppError::Refused {
                    code: "invalid_value",
                    message: "the name appears twice in the import".to_owned(),
                }));
            }
            let entry = ServiceEntry::check(&name, &imported.service).map_err(at)?;
            settings.push((name, entry));
        }
        // Dependencies name services of the catalogue or of this same import.
        let imported: Vec<ServiceName> = settings.iter().map(|(name, _)| name.clone()).collect();
        for (name, entry) in &settings {
            let dependencies: Vec<&ServiceName> = entry.depends_on.iter().collect();
            catalogue::require_catalogued(
                &self.store,
                &dependencies,
                &imported,
                &format!("service `{name}`, depends_on"),
            )
            .await?;
        }
        let settings: Vec<_> = settings
            .iter()
            .map(|(name, entry)| entry.setting(name, &actor.name, now))
            .collect();
        self.store.put_settings(&settings).await?;
        self.settings_changed();
        Ok(catalogue::services(&self.store)
            .await?
            .into_values()
            .map(|(_, wire)| wire)
            .collect())
    }
}
