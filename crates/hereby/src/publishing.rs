//! Client commands for keeping people informed: the public status page's components and the
//! message templates stakeholder updates start from.

use std::path::PathBuf;

use clap::Subcommand;
use hereby_api as api;
use reqwest::Method;

use crate::client::{Client, Failure};
use crate::commands::{NO_BODY, encode, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum ComponentCommand {
    /// List the status page's components with their hand-set status (or `auto`).
    List,
    /// Add a component or change it (admins). Its name is the service name incidents use, so
    /// active public incidents affecting that service set its status.
    Set {
        name: String,
        /// What the component is, shown on the status page.
        #[arg(long)]
        description: Option<String>,
        /// Where it is listed (ascending) [default: last, for a new component].
        #[arg(long)]
        position: Option<i64>,
        /// operational, degraded_performance, partial_outage, major_outage,
        /// under_maintenance, or auto (derived from public incidents) [default: unchanged,
        /// auto for a new component].
        #[arg(long)]
        status: Option<String>,
    },
    /// Remove a component from the status page (admins).
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// List the message templates (shipped, changed and added) and the variables they use.
    List,
    /// Print one template's source.
    Show { name: String },
    /// Add a template, or change one (admins). Checked before it is stored: a syntax error or
    /// an unknown variable is refused with its line.
    Set {
        name: String,
        /// The subject line, e.g. "Update on {{ id }}: {{ title }}".
        #[arg(long)]
        subject: String,
        /// A file with the body (Markdown with {{ variables }}); `-` reads standard input.
        #[arg(long)]
        body_file: PathBuf,
        /// What the template is for, shown in lists.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove an added template, or bring back the shipped version of a changed one (admins).
    Remove { name: String },
    /// Render a template for an incident: the message as it would be posted.
    Preview { incident: String, name: String },
}

fn status_or_auto(component: &api::Component) -> &str {
    component.status.as_deref().unwrap_or("auto")
}

/// Runs a `hereby component …` command.
pub(crate) async fn component(
    client: &Client,
    command: ComponentCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        ComponentCommand::List => {
            let components: Vec<api::Component> = client
                .send(Method::GET, "/components", NO_BODY, None)
                .await?;
            if json {
                print_json(&components);
            } else {
                println!("{:>4}  {:<24} {:<22} DESCRIPTION", "POS", "NAME", "STATUS");
                for component in &components {
                    println!(
                        "{:>4}  {:<24} {:<22} {}",
                        component.position,
                        component.name,
                        status_or_auto(component),
                        component.description
                    );
                }
            }
        }
        ComponentCommand::Set {
            name,
            description,
            position,
            status,
        } => {
            let request = api::PutComponent {
                description,
                position,
                status,
            };
            let stored: api::Component = client
                .send(
                    Method::PUT,
                    &format!("/components/{}", encode(&name)),
                    Some(&request),
                    None,
                )
                .await?;
            if json {
                print_json(&stored);
            } else {
                println!(
                    "component {} at position {}, status {}",
                    stored.name,
                    stored.position,
                    status_or_auto(&stored)
                );
            }
        }
        ComponentCommand::Remove { name } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/components/{}", encode(&name)),
                    NO_BODY,
                    None,
                )
                .await?;
            if !json {
                println!("component {name} removed");
            }
        }
    }
    Ok(())
}

/// Runs a `hereby template …` command.
pub(crate) async fn template(
    client: &Client,
    command: TemplateCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        TemplateCommand::List => {
            let all: api::Templates = client
                .send(Method::GET, "/templates", NO_BODY, None)
                .await?;
            if json {
                print_json(&all);
            } else {
                println!("{:<28} {:<8} DESCRIPTION", "NAME", "ORIGIN");
                for template in &all.templates {
                    println!(
                        "{:<28} {:<8} {}",
                        template.name, template.origin, template.description
                    );
                }
                println!("\nVariables:");
                for variable in &all.variables {
                    println!("  {:<18} {}", variable.name, variable.description);
                }
            }
        }
        TemplateCommand::Show { name } => {
            let template: api::Template = client
                .send(
                    Method::GET,
                    &format!("/templates/{}", encode(&name)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&template);
            } else {
                println!("Subject: {}\n\n{}", template.subject, template.body);
            }
        }
        TemplateCommand::Set {
            name,
            subject,
            body_file,
            description,
        } => {
            let body = if body_file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| Failure::Usage(format!("cannot read standard input: {e}")))?
            } else {
                std::fs::read_to_string(&body_file).map_err(|e| {
                    Failure::Usage(format!("cannot read {}: {e}", body_file.display()))
                })?
            };
            let request = api::PutTemplate {
                description,
                subject,
                body,
            };
            let stored: api::Template = client
                .send(
                    Method::PUT,
                    &format!("/templates/{}", encode(&name)),
                    Some(&request),
                    None,
                )
                .await?;
            if json {
                print_json(&stored);
            } else {
                println!("template {} stored ({})", stored.name, stored.origin);
            }
        }
        TemplateCommand::Remove { name } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/templates/{}", encode(&name)),
                    NO_BODY,
                    None,
                )
                .await?;
            if !json {
                println!("template {name} removed");
            }
        }
        TemplateCommand::Preview { incident, name } => {
            let message = preview(client, &incident, &name).await?;
            if json {
                print_json(&message);
            } else {
                println!("Subject: {}\n\n{}", message.subject, message.body);
            }
        }
    }
    Ok(())
}

/// A template rendered for an incident.
pub(crate) async fn preview(
    client: &Client,
    incident: &str,
    template: &str,
) -> Result<api::Message, Failure> {
    client
        .send(
            Method::GET,
            &format!(
                "/incidents/{}/messages/{}",
                encode(incident),
                encode(template)
            ),
            NO_BODY,
            None,
        )
        .await
}
