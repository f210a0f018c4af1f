//! The severity checklist and the rules that suggest a severity from its answers.
//!
//! The rules are data: an ordered list read from TOML, where the first rule whose conditions
//! all hold names the suggested severity. The incident records the answers, the suggestion,
//! the rule that fired and the severity chosen, with a reason when the two differ.

use serde::{Deserialize, Serialize};

use crate::command::Context;
use crate::decide::{Rejection, RejectionCode, reject, require_open_for_response};
use crate::event::{Event, SeverityChanged, SeverityEvaluated};
use crate::state::Incident;
use crate::types::{Criticality, Reason, ServiceName, Severity, Site};

/// An affected service and how critical the service catalogue says it is (`None` for a
/// service that is not in the catalogue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedService {
    pub service: ServiceName,
    pub criticality: Option<Criticality>,
}

/// The answers to the severity evaluation checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    /// The problem hurts users now; `false` means it is potential.
    pub live: bool,
    /// How many users are affected, when anyone knows.
    pub users_affected: Option<u64>,
    /// `users_affected` is an estimate rather than a count.
    pub users_estimated: bool,
    pub sites: Vec<Site>,
    pub services: Vec<AffectedService>,
    /// Availability or reliability is affected.
    pub availability: bool,
    /// Data was lost or exposed, or security is at stake.
    pub data_loss_or_security: bool,
    /// Users have a workaround.
    pub workaround: bool,
}

impl Checklist {
    /// The most critical affected service's criticality.
    pub fn highest_criticality(&self) -> Option<Criticality> {
        self.services
            .iter()
            .filter_map(|service| service.criticality)
            .min()
    }
}

/// The conditions of one rule; a condition left out always holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityRule {
    pub name: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_at_least: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites_at_least: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality_at_least: Option<Criticality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_loss_or_security: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workaround: Option<bool>,
}

impl SeverityRule {
    /// Whether every condition of the rule holds for the answers.
    pub fn matches(&self, answers: &Checklist) -> bool {
        let flag = |wanted: Option<bool>, actual: bool| wanted.is_none_or(|w| w == actual);
        flag(self.live, answers.live)
            && flag(self.availability, answers.availability)
            && flag(self.data_loss_or_security, answers.data_loss_or_security)
            && flag(self.workaround, answers.workaround)
            && self
                .users_at_least
                .is_none_or(|least| answers.users_affected.is_some_and(|n| n >= least))
            && self
                .sites_at_least
                .is_none_or(|least| answers.sites.len() as u64 >= least)
            && self.criticality_at_least.is_none_or(|least| {
                answers
                    .highest_criticality()
                    .is_some_and(|highest| highest.at_least(least))
            })
    }
}

/// The ordered rule set, and the severity suggested when no rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityRules {
    pub default: Severity,
    #[serde(default, rename = "rule")]
    pub rules: Vec<SeverityRule>,
}

/// What the rules suggest, and which rule said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub severity: Severity,
    /// The name of the rule that fired, or `default` when none did.
    pub rule: String,
}

/// The name recorded as the rule when no rule matched.
pub const DEFAULT_RULE: &str = "default";

/// Why a rule file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RulesError(String);

impl SeverityRules {
    /// The rules hereby ships with.
    pub const DEFAULT_TOML: &'static str = include_str!("defaults/severity_rules.toml");

    /// Reads a rule set from TOML, refusing unknown keys, unnamed or duplicate rules.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let rules: SeverityRules =
            toml::from_str(text).map_err(|e| RulesError(e.to_string().trim().to_owned()))?;
        let mut seen = std::collections::BTreeSet::new();
        for (index, rule) in rules.rules.iter().enumerate() {
            let name = rule.name.trim();
            if name.is_empty() || name.chars().any(char::is_control) || name.len() > 200 {
                return Err(RulesError(format!(
                    "rule {} needs a one-line name of at most 200 characters",
                    index + 1
                )));
            }
            if name == DEFAULT_RULE || !seen.insert(name) {
                return Err(RulesError(format!(
                    "rule {}: the name `{name}` is used twice (or is the reserved `{DEFAULT_RULE}`)",
                    index + 1
                )));
            }
        }
        Ok(rules)
    }

    /// The first matching rule's severity, or the default.
    pub fn suggest(&self, answers: &Checklist) -> Suggestion {
        self.rules
            .iter()
            .find(|rule| rule.matches(answers))
            .map_or_else(
                || Suggestion {
                    severity: self.default,
                    rule: DEFAULT_RULE.to_owned(),
                },
                |rule| Suggestion {
                    severity: rule.severity,
                    rule: rule.name.clone(),
                },
            )
    }
}

impl Default for SeverityRules {
    /// The shipped rules. They are checked by a test, so reading them cannot fail at run time;
    /// should it ever, every evaluation falls back to SEV4 rather than stopping the server.
    fn default() -> Self {
        Self::from_toml(Self::DEFAULT_TOML).unwrap_or(SeverityRules {
            default: Severity::Sev4,
            rules: Vec::new(),
        })
    }
}

/// Records a checklist evaluation with the rules' suggestion and the chosen severity.
pub(crate) fn decide_evaluation(
    incident: &Incident,
    mut checklist: Checklist,
    chosen: Option<Severity>,
    reason: Option<Reason>,
    ctx: Context<'_>,
) -> Result<Vec<Event>, Rejection> {
    require_open_for_response(incident, "evaluate severity")?;
    checklist.services.sort_by(|a, b| a.service.cmp(&b.service));
    checklist.services.dedup_by(|a, b| a.service == b.service);
    checklist.sites.sort();
    checklist.sites.dedup();
    let suggestion = ctx.policy.severity_rules.suggest(&checklist);
    let chosen = chosen.unwrap_or(suggestion.severity);
    if chosen != suggestion.severity && reason.is_none() {
        return reject(
            RejectionCode::ReasonRequired,
            format!(
                "the rules suggest {} (rule “{}”); choosing {chosen} instead needs a reason",
                suggestion.severity, suggestion.rule
            ),
        );
    }
    let potential = !checklist.live;
    // A changed severity is also a severity change, so that everything that follows one
    // (notifications, the update cadence, the severity history) follows this one too.
    let change = (chosen != incident.severity || potential != incident.potential)
        .then(|| {
            let why = match &reason {
                Some(reason) => format!("checklist: {reason}"),
                None => format!("checklist, rule “{}”", suggestion.rule),
            };
            Reason::parse(&why).ok()
        })
        .flatten()
        .map(|reason| {
            Event::SeverityChanged(SeverityChanged {
                from: incident.severity,
                to: chosen,
                potential,
                reason,
            })
        });
    let mut events = vec![Event::SeverityEvaluated(SeverityEvaluated {
        checklist,
        suggested: suggestion.severity,
        rule: suggestion.rule,
        chosen,
        reason,
    })];
    events.extend(change);
    Ok(events)
}

impl SeverityRules {
    /// The rules as TOML that [`SeverityRules::from_toml`] reads back.
    pub fn to_toml(&self) -> String {
        // JSON string literals are valid TOML basic strings.
        let quoted = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
        let mut out = format!("default = {}\n", quoted(self.default.as_str()));
        for rule in &self.rules {
            out.push_str("\n[[rule]]\n");
            out.push_str(&format!("name = {}\n", quoted(&rule.name)));
            out.push_str(&format!("severity = {}\n", quoted(rule.severity.as_str())));
            let flags = [
                ("live", rule.live),
                ("availability", rule.availability),
                ("data_loss_or_security", rule.data_loss_or_security),
                ("workaround", rule.workaround),
            ];
            for (key, value) in flags {
                if let Some(value) = value {
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
            for (key, value) in [
                ("users_at_least", rule.users_at_least),
                ("sites_at_least", rule.sites_at_least),
            ] {
                if let Some(value) = value {
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
            if let Some(least) = rule.criticality_at_least {
                out.push_str(&format!(
                    "criticality_at_least = {}\n",
                    quoted(least.as_str())
                ));
            }
        }
        out
    }
}
