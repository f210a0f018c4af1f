//! Client commands for keeping people informed: the public status page's components, its
//! scheduled maintenance, and the message templates stakeholder updates start from.

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
        /// The group it is shown under on the status page (e.g. "Payments"); "" for none
        /// [default: unchanged].
        #[arg(long)]
        group: Option<String>,
    },
    /// Remove a component from the status page (admins).
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum StatusPageCommand {
    /// Show the page's name, address, time zone and description.
    Show,
    /// Change them (admins); options left out keep their value.
    Set {
        /// The page's title, e.g. "Acme status".
        #[arg(long)]
        name: Option<String>,
        /// Where the public reads the page, e.g. https://status.example.com; "" for this
        /// server's /status.
        #[arg(long)]
        url: Option<String>,
        /// The IANA time zone for the page's times and uptime days, e.g. Europe/Berlin.
        #[arg(long)]
        time_zone: Option<String>,
        /// A sentence or two under the title (Markdown); "" for none.
        #[arg(long)]
        description: Option<String>,
        /// The e-mail channel that sends to e-mail subscribers (see `hereby channel list`);
        /// "" for none, which turns e-mail sign-ups off.
        #[arg(long)]
        mail_channel: Option<String>,
        /// Who may subscribe a webhook: public (addresses on the internet only, the
        /// default), any (internal addresses too) or off.
        #[arg(long)]
        webhook_signups: Option<String>,
    },
    /// List the page's subscribers (admins): pending, active and unsubscribed.
    Subscribers,
    /// Remove a subscriber outright (admins); people unsubscribe themselves by the link in
    /// every message.
    RemoveSubscriber { id: i64 },
}

/// Runs a `hereby status-page …` command.
pub(crate) async fn status_page(
    client: &Client,
    command: StatusPageCommand,
    json: bool,
) -> Result<(), Failure> {
    let settings: api::StatusPageSettings = match command {
        StatusPageCommand::Subscribers => {
            let all: Vec<api::StatusSubscriber> = client
                .send(Method::GET, "/status-subscribers?limit=1000", NO_BODY, None)
                .await?;
            if json {
                print_json(&all);
            } else if all.is_empty() {
                println!("nobody has subscribed yet");
            } else {
                println!(
                    "{:>6}  {:<8} {:<13} {:<40} FOLLOWS",
                    "ID", "KIND", "STATE", "ADDRESS"
                );
                for s in &all {
                    let follows = match (&s.incident, s.components.is_empty()) {
                        (Some(incident), _) => incident.clone(),
                        (None, true) => "everything".to_owned(),
                        (None, false) => s.components.join(", "),
                    };
                    println!(
                        "{:>6}  {:<8} {:<13} {:<40} {follows}",
                        s.id, s.kind, s.state, s.address
                    );
                }
            }
            return Ok(());
        }
        StatusPageCommand::RemoveSubscriber { id } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/status-subscribers/{id}"),
                    NO_BODY,
                    None,
                )
                .await?;
            if !json {
                println!("subscriber {id} removed");
            }
            return Ok(());
        }
        StatusPageCommand::Show => {
            client
                .send(Method::GET, "/status-page", NO_BODY, None)
                .await?
        }
        StatusPageCommand::Set {
            name,
            url,
            time_zone,
            description,
            mail_channel,
            webhook_signups,
        } => {
            let request = api::PutStatusPage {
                name,
                url,
                time_zone,
                description,
                mail_channel,
                webhook_signups,
            };
            client
                .send(Method::PUT, "/status-page", Some(&request), None)
                .await?
        }
    };
    if json {
        print_json(&settings);
    } else {
        println!("name:        {}", settings.name);
        println!(
            "url:         {}",
            if settings.url.is_empty() {
                "(this server's /status)"
            } else {
                &settings.url
            }
        );
        println!("time zone:   {}", settings.time_zone);
        println!("description: {}", settings.description);
        println!("webhook sign-ups: {}", settings.webhook_signups);
        println!(
            "mail channel: {}",
            if settings.mail_channel.is_empty() {
                "(none: no e-mail sign-ups)"
            } else {
                &settings.mail_channel
            }
        );
    }
    Ok(())
}

/// The plan of a maintenance, as `schedule` and `replan` take it.
#[derive(Debug, clap::Args)]
pub(crate) struct MaintenancePlan {
    /// What the public reads, e.g. "Database upgrade".
    #[arg(long)]
    title: String,
    /// A component it affects (repeat for several).
    #[arg(long = "component", required = true)]
    components: Vec<String>,
    /// When it starts: RFC 3339 (2026-12-05T22:00:00Z), or a date and time read as UTC
    /// (2026-12-05T22:00).
    #[arg(long)]
    starts: String,
    /// When it ends, the same way.
    #[arg(long)]
    ends: String,
    /// Leave it scheduled at its start until someone moves it on [default: it goes in
    /// progress by itself].
    #[arg(long)]
    no_auto_start: bool,
    /// Leave it in progress at its end until someone completes it [default: it completes by
    /// itself].
    #[arg(long)]
    no_auto_complete: bool,
    /// What to tell the public (Markdown) [default: a sentence of hereby's when scheduling;
    /// no update when changing the plan].
    #[arg(long)]
    message: Option<String>,
    /// Tell nobody: subscribers hear nothing of this change.
    #[arg(long)]
    quiet: bool,
}

impl MaintenancePlan {
    fn request(self, changing: bool) -> api::PutMaintenance {
        api::PutMaintenance {
            title: self.title,
            components: self.components,
            starts_at: self.starts,
            ends_at: self.ends,
            // A change of plan keeps the automatic moves as they were unless told otherwise.
            auto_start: (self.no_auto_start || !changing).then_some(!self.no_auto_start),
            auto_complete: (self.no_auto_complete || !changing).then_some(!self.no_auto_complete),
            body: self.message,
            notify: Some(!self.quiet),
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum MaintenanceCommand {
    /// List maintenances not completed and those completed in the last 90 days.
    List {
        /// Also those completed since this time (RFC 3339).
        #[arg(long)]
        completed_since: Option<String>,
    },
    /// Show one maintenance with its updates.
    Show { id: i64 },
    /// Schedule a maintenance (responders). Subscribers asking for `maintenance` hear of it;
    /// the public status page shows it, and firing alerts labelled service=<component> are
    /// kept as suppressed while it holds.
    Schedule(MaintenancePlan),
    /// Change a maintenance's plan: times, title, components (responders). The start cannot
    /// move once it began.
    Replan {
        id: i64,
        #[command(flatten)]
        plan: MaintenancePlan,
    },
    /// Post an update, move it on (in_progress → verifying → completed), or both.
    Update {
        id: i64,
        /// in_progress, verifying or completed (forward only).
        #[arg(long)]
        status: Option<String>,
        /// What to tell the public (Markdown).
        #[arg(long)]
        message: Option<String>,
        /// Tell nobody: subscribers hear nothing of this update.
        #[arg(long)]
        quiet: bool,
    },
    /// Remove a maintenance that has not begun (one that began stays on record: complete it).
    /// Subscribers hear it is cancelled.
    Remove {
        id: i64,
        /// Tell nobody.
        #[arg(long)]
        quiet: bool,
    },
}

fn print_maintenance(maintenance: &api::Maintenance) {
    println!("maintenance {}: {}", maintenance.id, maintenance.title);
    println!("  status:     {}", maintenance.status);
    println!(
        "  scheduled:  {} to {}",
        maintenance.starts_at, maintenance.ends_at
    );
    println!("  components: {}", maintenance.components.join(", "));
    println!(
        "  automatic:  start {}, completion {}",
        if maintenance.auto_start { "yes" } else { "no" },
        if maintenance.auto_complete {
            "yes"
        } else {
            "no"
        }
    );
    for update in &maintenance.updates {
        println!(
            "  {} [{}] {}: {}",
            update.at, update.status, update.author, update.body
        );
    }
}

/// Runs a `hereby maintenance …` command.
pub(crate) async fn maintenance(
    client: &Client,
    command: MaintenanceCommand,
    json: bool,
) -> Result<(), Failure> {
    let shown = match command {
        MaintenanceCommand::List { completed_since } => {
            let path = match completed_since {
                Some(since) => format!("/maintenances?completed_since={}", encode(&since)),
                None => "/maintenances".to_owned(),
            };
            let all: Vec<api::Maintenance> = client.send(Method::GET, &path, NO_BODY, None).await?;
            if json {
                print_json(&all);
            } else if all.is_empty() {
                println!("no maintenance scheduled, under way or completed in the period");
            } else {
                println!(
                    "{:>5}  {:<12} {:<22} {:<22} TITLE (COMPONENTS)",
                    "ID", "STATUS", "STARTS", "ENDS"
                );
                for m in &all {
                    println!(
                        "{:>5}  {:<12} {:<22} {:<22} {} ({})",
                        m.id,
                        m.status,
                        m.starts_at,
                        m.ends_at,
                        m.title,
                        m.components.join(", ")
                    );
                }
            }
            return Ok(());
        }
        MaintenanceCommand::Show { id } => {
            client
                .send(Method::GET, &format!("/maintenances/{id}"), NO_BODY, None)
                .await?
        }
        MaintenanceCommand::Schedule(plan) => {
            client
                .send(
                    Method::POST,
                    "/maintenances",
                    Some(&plan.request(false)),
                    None,
                )
                .await?
        }
        MaintenanceCommand::Replan { id, plan } => {
            client
                .send(
                    Method::PUT,
                    &format!("/maintenances/{id}"),
                    Some(&plan.request(true)),
                    None,
                )
                .await?
        }
        MaintenanceCommand::Update {
            id,
            status,
            message,
            quiet,
        } => {
            let request = api::MaintenanceUpdateRequest {
                status,
                body: message,
                notify: Some(!quiet),
            };
            client
                .send(
                    Method::POST,
                    &format!("/maintenances/{id}/updates"),
                    Some(&request),
                    None,
                )
                .await?
        }
        MaintenanceCommand::Remove { id, quiet } => {
            let path = if quiet {
                format!("/maintenances/{id}?quiet=true")
            } else {
                format!("/maintenances/{id}")
            };
            let () = client.send(Method::DELETE, &path, NO_BODY, None).await?;
            if !json {
                println!("maintenance {id} removed");
            }
            return Ok(());
        }
    };
    let shown: api::Maintenance = shown;
    if json {
        print_json(&shown);
    } else {
        print_maintenance(&shown);
    }
    Ok(())
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
                println!(
                    "{:>4}  {:<24} {:<22} {:<16} DESCRIPTION",
                    "POS", "NAME", "STATUS", "GROUP"
                );
                for component in &components {
                    println!(
                        "{:>4}  {:<24} {:<22} {:<16} {}",
                        component.position,
                        component.name,
                        status_or_auto(component),
                        component.group.as_deref().unwrap_or("-"),
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
            group,
        } => {
            let request = api::PutComponent {
                description,
                position,
                status,
                group,
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
