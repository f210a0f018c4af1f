//! Message templates: the shipped defaults for the messages an incident usually needs, the
//! variables they may use, checking a template when it is saved, and rendering one for an
//! incident (the preview a person edits before posting a stakeholder update).
//!
//! Templates are minijinja text (no HTML escaping: the result is Markdown that is sanitised
//! wherever it is shown as HTML). Undefined variables are errors, so a typo shows at save time
//! with its line rather than as an empty gap in a message to customers.

use std::collections::BTreeMap;

use hereby_core::types::TemplateName;
use hereby_core::{Cadence, Incident};
use hereby_store::StoredTemplate;
use jiff::Timestamp;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The variables a template may use, with what each holds. Shown by `hereby template vars`
/// and the API's template list, and checked when a template is saved.
pub const VARIABLES: &[(&str, &str)] = &[
    ("id", "the incident's id, e.g. INC-7"),
    ("title", "the incident's title"),
    (
        "status",
        "investigating, identified, monitoring, resolved, closed, called_off or handed_back",
    ),
    ("severity", "SEV1 … SEV4"),
    (
        "services",
        "the affected services, comma-separated (empty when none are named)",
    ),
    (
        "commander",
        "the Incident Commander's user name (empty when none)",
    ),
    (
        "communications",
        "who holds the communications role, comma-separated (empty when nobody)",
    ),
    (
        "summary",
        "the current summary, for responders (empty when none; the shipped templates for customers leave it out)",
    ),
    (
        "public_summary",
        "the summary written for customers (empty when none; the first-response template asks for one)",
    ),
    (
        "suspect_release",
        "the release suspected of the fault, e.g. `checkout 1.1` (empty when none)",
    ),
    (
        "roll_back_to",
        "the release a roll-back decision returns to, e.g. `checkout 1.0` (empty when none)",
    ),
    (
        "signature",
        "who signs a message: the Communications holders, else the Incident Commander",
    ),
    ("declared_at", "when the incident was declared (UTC)"),
    (
        "impact_start",
        "when the impact began (UTC), else the declaration time",
    ),
    (
        "impact_end",
        "when the impact ended (UTC; empty while it lasts)",
    ),
    (
        "resolved_at",
        "when service was restored (UTC; empty before)",
    ),
    ("url", "the incident's page (the state document)"),
    ("status_page_url", "the public status page"),
    (
        "last_update",
        "when the last stakeholder update was posted (UTC; empty before the first)",
    ),
    (
        "next_update_due",
        "when the next update will follow: the time of rendering plus the severity's update interval (UTC; empty when none is owed)",
    ),
    ("now", "the time of rendering (UTC)"),
];

/// A template as the API lists it: shipped, stored, or a stored change of a shipped one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub subject: String,
    pub body: String,
    /// `default`, `custom`, or `changed` (a stored template replacing a default).
    pub origin: &'static str,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub subject: String,
    pub body: String,
}

/// Why a template cannot be saved or rendered: which part, the line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{part}: {problem}", .line.map(|line| format!("line {line} of the ")).unwrap_or_default())]
pub struct TemplateError {
    /// `subject` or `body`.
    pub part: &'static str,
    pub line: Option<usize>,
    pub problem: String,
}

struct Default {
    name: &'static str,
    description: &'static str,
    subject: &'static str,
    body: &'static str,
}

/// The shipped templates. Each has the parts a good incident message has: who it is for, what
/// is happening, what the reader should do, an apology where one is owed, and who sends it.
const DEFAULTS: &[Default] = &[
    Default {
        name: "first-response",
        description: "First word to customers that a service is disrupted",
        subject: "[{{ severity }}] Disruption of {{ services or title }} — we are on it",
        body: "\
To: everyone using {{ services or \"our services\" }}

**What is happening:** {{ public_summary or \"<describe what customers notice, in their words>\" }}
We noticed the problem at {{ impact_start }} and a response team is working on it now.

**What you can do:** nothing is needed from you for now. If you depend on \
{{ services or \"the affected service\" }} for time-critical work, plan for it to be \
unavailable for a while. Please do not retry failed operations in bulk; it slows the recovery.

We are sorry for the trouble this causes. The next update will follow \
{% if next_update_due %}by {{ next_update_due }}{% else %}as soon as we know more{% endif %}; \
you can also follow {{ status_page_url }}.

— {{ signature }}, for {{ id }}
",
    },
    Default {
        name: "slow-service",
        description: "A service answers slowly or not at all",
        subject: "[{{ severity }}] {{ services or title }} is slow or not responding",
        body: "\
To: users of {{ services or \"the affected service\" }}

**What is happening:** requests to {{ services or \"the service\" }} take much longer than \
usual, and some time out.

**What you can do:** requests that time out can be retried after a few minutes; work that \
was saved is safe. If you see data that looks wrong, tell us with the time and what you did.

We apologise for the slowness. Next update: {{ next_update_due or \"as soon as we know more\" }}.

— {{ signature }}, for {{ id }}
",
    },
    Default {
        name: "periodic-update",
        description: "The regular update while an incident goes on",
        subject: "Update on {{ id }}: {{ title }} ({{ status }})",
        body: "\
To: everyone following {{ id }}

**Where we are:** the incident is *{{ status }}*.

**What changed since the last update{% if last_update %} ({{ last_update }}){% endif %}:** \
<describe what was tried, learnt or fixed>

**What you can do:** <any workaround, or \"nothing for now\">

Thank you for your patience. The next update will follow \
{% if next_update_due %}by {{ next_update_due }}{% else %}when there is news{% endif %}.

— {{ signature }}, for {{ id }}
",
    },
    Default {
        name: "resolved",
        description: "Service is back to normal",
        subject: "Resolved: {{ title }} ({{ id }})",
        body: "\
To: everyone affected by {{ id }}

**The problem is fixed:** {{ services or \"the service\" }} works normally again \
{% if resolved_at %}since {{ resolved_at }}{% else %}now{% endif %}. \
The disruption began at {{ impact_start }}{% if impact_end %} and ended at {{ impact_end }}{% endif %}.

**What you can do:** operations that failed during the disruption can be repeated now. If \
something still does not work for you, reply to this message.

We are sorry for the disruption. We will study what happened and share what we change so \
that it does not happen again.

— {{ signature }}, for {{ id }}
",
    },
    Default {
        name: "rollback-announcement",
        description: "Warn users before a release is rolled back",
        subject: "Planned roll-back of {{ services or \"a recent release\" }} ({{ id }})",
        body: "\
To: users and owners of {{ services or \"the affected services\" }}

**What will happen:** to end the problems described in {{ id }} ({{ title }}), we will \
return {{ services or \"the service\" }} {% if suspect_release %}from {{ suspect_release }} \
{% endif %}to {% if roll_back_to %}{{ roll_back_to }}{% else %}its previous release{% endif %}. \
The roll-back starts at <time, UTC> and should take about <duration>.

**What you can do:** finish or pause long-running work on {{ services or \"the service\" }} \
before the roll-back starts; anything started during it may have to be repeated. Features \
added in the latest release will be unavailable until a corrected release follows.

We are sorry for the extra interruption; we judged it the quickest safe way back to normal.

— {{ signature }}, for {{ id }}
",
    },
    Default {
        name: "release-broadcast",
        description: "Special broadcast about a problem in a release",
        subject: "Known problem in the current release of {{ services or \"our software\" }} ({{ id }})",
        body: "\
To: everyone running the current release of {{ services or \"our software\" }}

**The problem:** {{ title }}.

**Who is affected:** installations that run the latest release and use the affected feature.

**What you can do:** <the workaround, or: hold back the upgrade until the corrected release>.
A corrected release is being prepared; we will announce it on {{ status_page_url }}.

We apologise for the inconvenience.

— {{ signature }}, for {{ id }}
",
    },
];

/// The templates in effect: the shipped defaults, replaced or joined by stored ones.
pub fn effective(stored: Vec<StoredTemplate>) -> Vec<Template> {
    let mut all: BTreeMap<String, Template> = DEFAULTS
        .iter()
        .map(|default| {
            (
                default.name.to_owned(),
                Template {
                    name: default.name.to_owned(),
                    description: default.description.to_owned(),
                    subject: default.subject.to_owned(),
                    body: default.body.to_owned(),
                    origin: "default",
                    updated_at: None,
                    updated_by: None,
                },
            )
        })
        .collect();
    for template in stored {
        let name = template.name.to_string();
        let origin = if all.contains_key(&name) {
            "changed"
        } else {
            "custom"
        };
        all.insert(
            name.clone(),
            Template {
                name,
                description: template.description,
                subject: template.subject,
                body: template.body,
                origin,
                updated_at: Some(template.updated_at),
                updated_by: Some(template.updated_by.to_string()),
            },
        );
    }
    all.into_values().collect()
}

/// Whether `name` is one of the shipped templates.
pub fn is_default(name: &TemplateName) -> bool {
    DEFAULTS.iter().any(|default| default.name == name.as_str())
}

/// The values of [`VARIABLES`] for one incident.
pub fn variables(
    id: &str,
    incident: &Incident,
    cadence: &Cadence,
    base_url: &str,
    now: Timestamp,
) -> BTreeMap<&'static str, String> {
    let clock = |at: Timestamp| at.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let join = |names: &[hereby_core::types::UserName]| {
        names
            .iter()
            .map(|name| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let base = base_url.trim_end_matches('/');
    let values = [
        ("id", id.to_owned()),
        ("title", incident.title.to_string()),
        ("status", incident.status.as_str().to_owned()),
        ("severity", incident.severity.as_str().to_owned()),
        (
            "services",
            incident
                .services
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "commander",
            incident
                .commander()
                .map(|c| c.to_string())
                .unwrap_or_default(),
        ),
        (
            "communications",
            join(incident.holders_of("communications")),
        ),
        (
            "summary",
            incident
                .summary
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        (
            "public_summary",
            incident
                .public_summary
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        (
            "suspect_release",
            incident
                .suspect_release
                .as_ref()
                .map(|release| format!("{} {}", release.service, release.version))
                .unwrap_or_default(),
        ),
        (
            "roll_back_to",
            incident
                .decisions
                .last()
                .and_then(|decision| decision.roll_back_to.as_ref())
                .map(|release| format!("{} {}", release.service, release.version))
                .unwrap_or_default(),
        ),
        (
            "signature",
            match incident.holders_of("communications") {
                [] => incident
                    .commander()
                    .map(|commander| format!("{commander}, Incident Commander"))
                    .unwrap_or_else(|| "The incident team".to_owned()),
                holders => format!("{}, Communications", join(holders)),
            },
        ),
        ("declared_at", clock(incident.declared_at)),
        (
            "impact_start",
            clock(incident.impact.start.unwrap_or(incident.declared_at)),
        ),
        (
            "impact_end",
            incident.impact.end.map(clock).unwrap_or_default(),
        ),
        (
            "resolved_at",
            incident.resolved_at.map(clock).unwrap_or_default(),
        ),
        ("url", format!("{base}/incidents/{id}")),
        ("status_page_url", format!("{base}/status")),
        (
            "last_update",
            incident.last_update_at.map(clock).unwrap_or_default(),
        ),
        (
            "next_update_due",
            incident
                .next_update_promised(cadence, now)
                .map(clock)
                .unwrap_or_default(),
        ),
        ("now", clock(now)),
    ];
    values.into_iter().collect()
}

/// Example values for every variable, for checking a template at save time.
fn sample() -> BTreeMap<&'static str, String> {
    VARIABLES
        .iter()
        .map(|(name, _)| (*name, format!("<{name}>")))
        .collect()
}

/// How many instructions one rendering may run: far more than any message needs.
const FUEL: u64 = 200_000;

/// The longest subject and body a template may have or produce.
const MAX_SUBJECT: usize = 300;
const MAX_BODY: usize = 20_000;

/// Checks a template's subject and body: they compile, use only known variables, render, and
/// the subject renders to one line.
pub fn check(subject: &str, body: &str) -> Result<(), TemplateError> {
    for (part, source, max) in [("subject", subject, MAX_SUBJECT), ("body", body, MAX_BODY)] {
        if source.trim().is_empty() {
            return Err(TemplateError {
                part,
                line: None,
                problem: "must not be empty".to_owned(),
            });
        }
        if source.len() > max {
            return Err(TemplateError {
                part,
                line: None,
                problem: format!("is longer than {max} bytes"),
            });
        }
        let env = environment();
        let template = env
            .template_from_str(source)
            .map_err(|error| template_error(part, &error))?;
        let known: Vec<&str> = VARIABLES.iter().map(|(name, _)| *name).collect();
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|name| !known.contains(&name.as_str()))
            .collect();
        unknown.sort();
        if let Some(name) = unknown.first() {
            return Err(TemplateError {
                part,
                line: line_of(source, name),
                problem: format!(
                    "unknown variable `{name}`; the variables are {}",
                    known.join(", ")
                ),
            });
        }
    }
    render_parts(subject, body, &sample()).map(|_| ())
}

/// Renders a template with an incident's variables.
pub fn render(
    subject: &str,
    body: &str,
    variables: &BTreeMap<&'static str, String>,
) -> Result<Message, TemplateError> {
    render_parts(subject, body, variables)
}

fn render_parts(
    subject: &str,
    body: &str,
    variables: &BTreeMap<&'static str, String>,
) -> Result<Message, TemplateError> {
    let env = environment();
    let one = |part: &'static str, source: &str, max: usize| {
        let template = env
            .template_from_str(source)
            .map_err(|error| template_error(part, &error))?;
        // Written into a bounded buffer: fuel counts instructions, not bytes, and one
        // instruction (`"x" * 100000000`) can make a very long string.
        let mut out = Bounded::new(max);
        match template.render_captured_to(
            minijinja::Value::from(minijinja::value::Serde(variables)),
            &mut out,
        ) {
            Ok(_) => Ok(out.into_string()),
            Err(_) if out.overflowed() => Err(TemplateError {
                part,
                line: None,
                problem: format!("renders to more than {max} bytes"),
            }),
            Err(error) => Err(template_error(part, &error)),
        }
    };
    let subject = one("subject", subject, MAX_SUBJECT)?;
    let subject = subject.trim().to_owned();
    if subject.contains('\n') {
        return Err(TemplateError {
            part: "subject",
            line: None,
            problem: "must render to a single line".to_owned(),
        });
    }
    Ok(Message {
        subject,
        body: one("body", body, MAX_BODY)?,
    })
}

/// A buffer that refuses to grow past `max` bytes.
pub struct Bounded {
    bytes: Vec<u8>,
    max: usize,
    overflowed: bool,
}

impl Bounded {
    pub fn new(max: usize) -> Self {
        Self {
            bytes: Vec::new(),
            max,
            overflowed: false,
        }
    }

    /// Whether a write was refused for going past the limit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// What was written, as text.
    pub fn into_string(self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.max {
            self.overflowed = true;
            return Err(std::io::Error::other("the message is too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Templates are written by admins but rendered on every preview: a runaway loop must end
    // with an error, not hold a server thread.
    env.set_fuel(Some(FUEL));
    // Plain text: nothing is escaped here; HTML views sanitise the Markdown themselves.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

pub fn template_error(part: &'static str, error: &minijinja::Error) -> TemplateError {
    TemplateError {
        part,
        line: error.line(),
        problem: error
            .detail()
            .map_or_else(|| error.kind().to_string(), str::to_owned),
    }
}

/// The first line (counting from 1) on which `name` appears as a whole word.
pub fn line_of(source: &str, name: &str) -> Option<usize> {
    source
        .lines()
        .position(|line| {
            line.match_indices(name).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + name.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !word(before) && !word(after)
            })
        })
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_check() {
        for default in DEFAULTS {
            assert_eq!(
                check(default.subject, default.body),
                Ok(()),
                "{}",
                default.name
            );
        }
    }

    #[test]
    fn bad_templates_are_refused_with_their_line() {
        let cases = [
            (
                "Hi {{ title }}",
                "line one\nline {{ nope }} two",
                "line 2 of the body: unknown variable `nope`",
            ),
            ("{{ title", "body", "line 1 of the subject: "),
            (
                "ok",
                "a\nb\n{% if id %}never closed",
                "line 3 of the body: ",
            ),
            ("ok", "{{ title | no_such_filter }}", "line 1 of the body: "),
            (
                "two\n{{ id }} lines",
                "body",
                "subject: must render to a single line",
            ),
            ("  ", "body", "subject: must not be empty"),
            (
                "ok",
                "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}",
                "line 1 of the body: ",
            ),
            (
                "ok",
                "{{ 'x' * 30000 }}",
                "body: renders to more than 20000 bytes",
            ),
            (
                "{{ 'x' * 400 }}",
                "body",
                "subject: renders to more than 300 bytes",
            ),
        ];
        for (subject, body, expected) in cases {
            let error = check(subject, body).expect_err(body);
            assert!(
                error.to_string().starts_with(expected),
                "{subject:?} / {body:?}: {error}"
            );
        }
    }
}
