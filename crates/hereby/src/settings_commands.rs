//! `hereby setting …`: one family of verbs for every kind of named admin setting (message
//! and post-mortem templates, blame rules, services), over `/api/v1/settings`.

use std::path::PathBuf;

use clap::Subcommand;
use hereby_api::{self as api, SettingKind};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::client::{Client, Failure};
use crate::commands::{NO_BODY, encode, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum SettingCommand {
    /// List the kinds of setting, what their values hold, and how many are shipped and
    /// stored.
    Kinds,
    /// List the settings of one kind in effect: shipped (`default`), changed by an admin
    /// (`changed`) and added (`custom`).
    List {
        /// message_template, postmortem_template, blame_rule, service, alert_route or
        /// alert_maintenance.
        kind: String,
    },
    /// Print one setting. With --json, the setting as the API returns it; `--value` prints
    /// only its value, ready to edit and pass back to `setting set --file`.
    Show {
        kind: String,
        name: String,
        /// Print only the value, as JSON.
        #[arg(long, conflicts_with = "json")]
        value: bool,
    },
    /// Add or change a setting (admins). The value starts from --file or --value-json, or
    /// else from the setting in effect (so one --field changes one field), and each --field
    /// is laid over it. Checked before it is stored: a template with a syntax error, an
    /// unknown field or a bad value is refused and nothing changes.
    #[command(
        after_help = "Fields: `name=text` sets a string, `name=@path` a string read from a file (`@-` reads standard input), `name:=json` a JSON value (true, 30, [\"db\",\"cache\"]).

Examples:
  hereby setting set message_template outage --field subject='Outage: {{ title }}' --field body=@outage.md
  hereby setting set postmortem_template short --field body=@short.md
  hereby setting set blame_rule 'went rogue' --field suggestion='the check did not catch'
  hereby setting set service checkout --field owner_team=payments --field criticality=critical --field depends_on:='[\"db\"]'
  hereby setting show service checkout --value > checkout.json; hereby setting set service checkout --file checkout.json"
    )]
    Set {
        kind: String,
        name: String,
        /// A file with the whole value as JSON; `-` reads standard input.
        #[arg(long, conflicts_with = "value_json")]
        file: Option<PathBuf>,
        /// The whole value as JSON.
        #[arg(long)]
        value_json: Option<String>,
        /// One field of the value (repeat for several): name=text, name=@file or name:=json.
        #[arg(long = "field", value_name = "FIELD=VALUE")]
        fields: Vec<String>,
    },
    /// Remove an added setting, or bring back the shipped version of a changed one (admins).
    /// Shipped defaults stay.
    Remove { kind: String, name: String },
}

/// The kind a person typed, or a usage error naming the kinds there are.
fn kind(raw: &str) -> Result<SettingKind, Failure> {
    SettingKind::parse(raw).ok_or_else(|| {
        let kinds: Vec<&str> = SettingKind::ALL.iter().map(|kind| kind.as_str()).collect();
        Failure::Usage(format!(
            "`{raw}` is not a kind of setting; the kinds are {}",
            kinds.join(", ")
        ))
    })
}

fn read(path: &std::path::Path) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::Usage(format!("cannot read standard input: {e}")))
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))
    }
}

fn json(what: &str, raw: &str) -> Result<Value, Failure> {
    serde_json::from_str(raw).map_err(|e| Failure::Usage(format!("{what} is not JSON: {e}")))
}

/// Lays `name=text`, `name=@file` and `name:=json` fields over `value`.
fn apply_fields(value: &mut Map<String, Value>, fields: &[String]) -> Result<(), Failure> {
    for field in fields {
        let Some((name, raw)) = field.split_once('=') else {
            return Err(Failure::Usage(format!(
                "--field `{field}` has no value: write name=text, name=@file or name:=json"
            )));
        };
        let (name, content) = if let Some(name) = name.strip_suffix(':') {
            (name, json(&format!("--field {name}"), raw)?)
        } else if let Some(path) = raw.strip_prefix('@') {
            (name, Value::String(read(std::path::Path::new(path))?))
        } else {
            (name, Value::String(raw.to_owned()))
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(Failure::Usage(format!("--field `{field}` has no name")));
        }
        value.insert(name.to_owned(), content);
    }
    Ok(())
}

fn path(kind: SettingKind, name: &str) -> String {
    format!("/settings/{kind}/{}", encode(name))
}

/// A one-line summary of a value, for the list.
fn summary(value: &api::SettingValue) -> String {
    let text = match value {
        api::SettingValue::MessageTemplate(template) if !template.description.is_empty() => {
            template.description.clone()
        }
        api::SettingValue::MessageTemplate(template) => template.subject.clone(),
        api::SettingValue::PostmortemTemplate(template) => template.description.clone(),
        api::SettingValue::BlameRule(rule) => format!("→ {}", rule.suggestion),
        api::SettingValue::Service(service) => format!(
            "{}, {}{}",
            service.owner_team,
            service.criticality,
            service
                .max_unavailability
                .as_deref()
                .map(|max| format!(", at most {max} unavailable"))
                .unwrap_or_default()
        ),
        api::SettingValue::AlertRoute(route) => format!(
            "order {}, {}; grouped by {}; incidents: {}",
            route.order.unwrap_or_default(),
            if route.matchers.is_empty() {
                "every alert".to_owned()
            } else {
                route.matchers.join(", ")
            },
            route.group_by.as_deref().unwrap_or_default().join(", "),
            route.create.as_deref().unwrap_or("always")
        ),
        api::SettingValue::AlertMaintenance(window) => format!(
            "{} from {} to {}{}",
            window.matchers.join(", "),
            window.starts,
            window.ends,
            window
                .repeat
                .as_deref()
                .map(|repeat| format!(", {repeat}"))
                .unwrap_or_default()
        ),
    };
    let mut line: String = text.lines().next().unwrap_or("").chars().take(70).collect();
    if line.chars().count() == 70 {
        line.push('…');
    }
    line
}

fn origin(origin: api::SettingOrigin) -> &'static str {
    match origin {
        api::SettingOrigin::Default => "default",
        api::SettingOrigin::Custom => "custom",
        api::SettingOrigin::Changed => "changed",
    }
}

/// Runs a `hereby setting …` command.
pub(crate) async fn setting(
    client: &Client,
    command: SettingCommand,
    as_json: bool,
) -> Result<(), Failure> {
    match command {
        SettingCommand::Kinds => {
            let kinds: api::SettingKinds =
                client.send(Method::GET, "/settings", NO_BODY, None).await?;
            if as_json {
                print_json(&kinds);
                return Ok(());
            }
            for info in kinds.kinds {
                println!(
                    "{} ({} shipped, {} stored)\n  {}\n  names: {}\n  fields: {}",
                    info.kind, info.shipped, info.stored, info.description, info.names, info.fields
                );
            }
        }
        SettingCommand::List { kind: raw } => {
            let kind = kind(&raw)?;
            let settings: api::Settings = client
                .send(Method::GET, &format!("/settings/{kind}"), NO_BODY, None)
                .await?;
            if as_json {
                print_json(&settings);
                return Ok(());
            }
            if settings.settings.is_empty() {
                println!("no {kind} yet: add one with `hereby setting set {kind} NAME …`");
                return Ok(());
            }
            let width = settings
                .settings
                .iter()
                .map(|setting| setting.name.chars().count())
                .max()
                .unwrap_or(4)
                .clamp(4, 40);
            println!("{:<width$}  {:<8} SUMMARY", "NAME", "ORIGIN");
            for setting in &settings.settings {
                println!(
                    "{:<width$}  {:<8} {}",
                    setting.name,
                    origin(setting.origin),
                    summary(&setting.value)
                );
            }
        }
        SettingCommand::Show {
            kind: raw,
            name,
            value,
        } => {
            let kind = kind(&raw)?;
            let setting: api::Setting = client
                .send(Method::GET, &path(kind, &name), NO_BODY, None)
                .await?;
            if as_json {
                print_json(&setting);
            } else if value {
                print_json(&setting.value);
            } else {
                println!(
                    "{} {} ({})",
                    setting.kind,
                    setting.name,
                    origin(setting.origin)
                );
                if let (Some(at), Some(by)) = (&setting.updated_at, &setting.updated_by) {
                    println!("stored {at} by {by}");
                }
                print_json(&setting.value);
            }
        }
        SettingCommand::Set {
            kind: raw,
            name,
            file,
            value_json,
            fields,
        } => {
            let kind = kind(&raw)?;
            let mut value = match (file, value_json) {
                (Some(file), _) => json(&file.display().to_string(), &read(&file)?)?,
                (None, Some(raw)) => json("--value-json", &raw)?,
                (None, None) if fields.is_empty() => {
                    return Err(Failure::Usage(
                        "give the value: --file, --value-json or one --field per field".into(),
                    ));
                }
                (None, None) => {
                    // Start from the setting in effect, so that one --field changes one field.
                    match client
                        .send::<api::Setting>(Method::GET, &path(kind, &name), NO_BODY, None)
                        .await
                    {
                        Ok(current) => serde_json::to_value(&current.value)
                            .map_err(|e| Failure::Usage(e.to_string()))?,
                        Err(Failure::Rejected(_)) => Value::Object(Map::new()),
                        Err(other) => return Err(other),
                    }
                }
            };
            let Value::Object(object) = &mut value else {
                return Err(Failure::Usage(
                    "the value must be a JSON object of the kind's fields (see `hereby setting kinds`)"
                        .into(),
                ));
            };
            apply_fields(object, &fields)?;
            let stored: api::Setting = client
                .send(Method::PUT, &path(kind, &name), Some(&value), None)
                .await?;
            if as_json {
                print_json(&stored);
            } else {
                println!(
                    "{} {} stored ({})",
                    stored.kind,
                    stored.name,
                    origin(stored.origin)
                );
            }
        }
        SettingCommand::Remove { kind: raw, name } => {
            let kind = kind(&raw)?;
            let () = client
                .send(Method::DELETE, &path(kind, &name), NO_BODY, None)
                .await?;
            if !as_json {
                println!("{kind} {name} removed");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_text_files_or_json() {
        let mut value = Map::new();
        value.insert("subject".into(), Value::String("old".into()));
        apply_fields(
            &mut value,
            &[
                "subject=New: {{ title }}".into(),
                "depends_on:=[\"db\"]".into(),
                "public:=true".into(),
                "note=a=b".into(),
                "text=x:=y".into(),
            ],
        )
        .unwrap();
        assert_eq!(value["subject"], "New: {{ title }}");
        assert_eq!(value["depends_on"], serde_json::json!(["db"]));
        assert_eq!(value["public"], true);
        assert_eq!(value["note"], "a=b");
        assert_eq!(value["text"], "x:=y");
        assert!(apply_fields(&mut value, &["nothing".into()]).is_err());
        assert!(apply_fields(&mut value, &["bad:=[".into()]).is_err());
        assert!(apply_fields(&mut value, &["=x".into()]).is_err());
    }

    #[test]
    fn an_unknown_kind_names_the_kinds() {
        let Err(Failure::Usage(message)) = kind("templates") else {
            panic!("`templates` is not a kind");
        };
        assert!(message.contains("message_template"), "{message}");
        assert_eq!(
            kind("Message-Templates").ok(),
            Some(SettingKind::MessageTemplate)
        );
    }
}
