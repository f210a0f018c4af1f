//! The client commands: each turns its arguments into one API request and prints the answer,
//! readable by people, or as JSON with `--json`.

use clap::{Args, Subcommand};
use hereby_api as api;
use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::client::{Client, Failure};

/// Where the server is and who we are.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// The hereby server.
    #[arg(long, global = true, env = "HEREBY_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An API token (from `hereby init`, or `hereby token create`).
    #[arg(long, global = true, env = "HEREBY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print the server's JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

/// Options of every write on an incident.
#[derive(Debug, Args)]
pub(crate) struct Write {
    /// The incident, e.g. INC-7.
    incident: String,
    /// Only if the incident is still at this version (from `show`); otherwise exit 1.
    #[arg(long)]
    if_match: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Declare an incident; prints its id (e.g. INC-7). You become Incident Commander.
    Declare {
        title: String,
        #[arg(long, short)]
        severity: Option<String>,
        #[arg(long)]
        summary: Option<String>,
        /// An affected service (repeat for several).
        #[arg(long = "service")]
        services: Vec<String>,
        /// It may happen but is not hurting anyone yet.
        #[arg(long)]
        potential: bool,
        /// Visible only to its members and admins (security incidents).
        #[arg(long)]
        restricted: bool,
    },
    /// List incidents, newest first (active ones unless --all or --status).
    List {
        /// Comma-separated statuses, or `active`.
        #[arg(long)]
        status: Option<String>,
        /// Comma-separated severities.
        #[arg(long)]
        severity: Option<String>,
        #[arg(long)]
        service: Option<String>,
        /// Include resolved, closed, called-off and handed-back incidents.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show an incident's state document.
    Show { incident: String },
    /// Show an incident's timeline.
    Timeline { incident: String },
    /// Add a note to the timeline.
    Note {
        #[command(flatten)]
        write: Write,
        text: String,
    },
    /// Record an operations action: what you changed, on what.
    Act {
        #[command(flatten)]
        write: Write,
        #[arg(long)]
        target: String,
        #[arg(long)]
        action: String,
        /// The command you ran.
        #[arg(long)]
        command: Option<String>,
    },
    /// Roles: assign, unassign, and the two-step IC hand-off.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Change the severity (a reason is required).
    Severity {
        #[command(flatten)]
        write: Write,
        severity: String,
        #[arg(long)]
        reason: String,
        /// Mark it as potential (not hurting anyone yet) …
        #[arg(long, conflicts_with = "live")]
        potential: bool,
        /// … or as live.
        #[arg(long)]
        live: bool,
    },
    /// Move the status (investigating, identified, monitoring, resolved, closed …).
    Status {
        #[command(flatten)]
        write: Write,
        status: String,
        #[arg(long)]
        reason: Option<String>,
        /// Close although follow-ups are open (needs --reason).
        #[arg(long)]
        override_open_follow_ups: bool,
    },
    /// Service is back to normal.
    Resolve {
        #[command(flatten)]
        write: Write,
        #[arg(long)]
        reason: Option<String>,
    },
    /// It was not an incident after all.
    CallOff {
        #[command(flatten)]
        write: Write,
        #[arg(long)]
        reason: String,
    },
    /// Hand it back to ordinary support.
    HandBack {
        #[command(flatten)]
        write: Write,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RoleCommand {
    /// Give someone a role (e.g. operations, scribe, communications).
    Assign {
        #[command(flatten)]
        write: Write,
        role: String,
        person: String,
    },
    /// Take a role away.
    Unassign {
        #[command(flatten)]
        write: Write,
        role: String,
        person: String,
    },
    /// As IC, ask someone to take over command.
    Handoff {
        #[command(flatten)]
        write: Write,
        to: String,
    },
    /// Take over command you were asked to take.
    Accept {
        #[command(flatten)]
        write: Write,
    },
    /// Say no to taking over command.
    Decline {
        #[command(flatten)]
        write: Write,
        #[arg(long)]
        reason: Option<String>,
    },
}

const NO_BODY: Option<&()> = None;

/// Runs one client command.
pub(crate) async fn run(connection: Connection, command: ClientCommand) -> Result<(), Failure> {
    let client = Client::new(&connection.server, connection.token.as_deref())?;
    let json = connection.json;
    match command {
        ClientCommand::Declare { title, severity, summary, services, potential, restricted } => {
            let request = api::DeclareRequest {
                title,
                summary,
                severity,
                potential,
                services,
                visibility: restricted.then(|| "restricted".to_owned()),
            };
            let document: api::IncidentDocument =
                client.send(Method::POST, "/incidents", Some(&request), None).await?;
            if json {
                print_json(&document);
            } else {
                println!("{}", document.id);
            }
        }
        ClientCommand::List { status, severity, service, all, limit } => {
            let status = status.or_else(|| (!all).then(|| "active".to_owned()));
            let mut query = vec![format!("limit={limit}")];
            for (name, value) in [("status", status), ("severity", severity), ("service", service)] {
                if let Some(value) = value {
                    query.push(format!("{name}={}", encode(&value)));
                }
            }
            let page: api::IncidentPage = client
                .send(Method::GET, &format!("/incidents?{}", query.join("&")), NO_BODY, None)
                .await?;
            if json {
                print_json(&page);
            } else {
                print_list(&page.incidents);
            }
        }
        ClientCommand::Show { incident } => {
            let document: api::IncidentDocument =
                client.send(Method::GET, &format!("/incidents/{}", encode(&incident)), NO_BODY, None).await?;
            if json {
                print_json(&document);
            } else {
                print_document(&document);
            }
        }
        ClientCommand::Timeline { incident } => {
            let mut entries = Vec::new();
            let mut after = 0;
            loop {
                let page: api::Timeline = client
                    .send(
                        Method::GET,
                        &format!("/incidents/{}/timeline?after={after}&limit=1000", encode(&incident)),
                        NO_BODY,
                        None,
                    )
                    .await?;
                entries.extend(page.entries);
                match page.next_after {
                    Some(next) => after = next,
                    None => break,
                }
            }
            if json {
                print_json(&entries);
            } else {
                for entry in &entries {
                    println!("{}  #{:<4} {:<12} {:<22} {}", entry.at, entry.sequence, entry.actor, entry.event_type, entry.body);
                }
            }
        }
        ClientCommand::Note { write, text } => {
            post(&client, &write, "notes", &api::NoteRequest { text }, json).await?;
        }
        ClientCommand::Act { write, target, action, command } => {
            post(&client, &write, "operations", &api::OperationRequest { target, action, command }, json).await?;
        }
        ClientCommand::Role(RoleCommand::Assign { write, role, person }) => {
            post(&client, &write, "roles", &api::RoleRequest { role, person }, json).await?;
        }
        ClientCommand::Role(RoleCommand::Unassign { write, role, person }) => {
            let path = format!("/incidents/{}/roles/{}/{}", encode(&write.incident), encode(&role), encode(&person));
            let result: api::WriteResult = client.send(Method::DELETE, &path, NO_BODY, write.if_match).await?;
            print_write(&result, json);
        }
        ClientCommand::Role(RoleCommand::Handoff { write, to }) => {
            post(&client, &write, "handoff", &api::HandoffRequest { to }, json).await?;
        }
        ClientCommand::Role(RoleCommand::Accept { write }) => {
            post(&client, &write, "handoff/accept", &json!({}), json).await?;
        }
        ClientCommand::Role(RoleCommand::Decline { write, reason }) => {
            post(&client, &write, "handoff/decline", &api::ReasonRequest { reason }, json).await?;
        }
        ClientCommand::Severity { write, severity, reason, potential, live } => {
            let potential = if potential { Some(true) } else if live { Some(false) } else { None };
            post(&client, &write, "severity", &api::SeverityRequest { severity, potential, reason }, json).await?;
        }
        ClientCommand::Status { write, status, reason, override_open_follow_ups } => {
            let request = api::StatusRequest { status, reason, override_open_follow_ups };
            post(&client, &write, "status", &request, json).await?;
        }
        ClientCommand::Resolve { write, reason } => {
            post(&client, &write, "resolve", &api::ReasonRequest { reason }, json).await?;
        }
        ClientCommand::CallOff { write, reason } => {
            post(&client, &write, "call-off", &api::ReasonRequest { reason: Some(reason) }, json).await?;
        }
        ClientCommand::HandBack { write, reason } => {
            post(&client, &write, "hand-back", &api::ReasonRequest { reason: Some(reason) }, json).await?;
        }
    }
    Ok(())
}

/// Posts a write to `/incidents/{id}/{action}` and prints what it added.
async fn post(client: &Client, write: &Write, action: &str, body: &(impl Serialize + Sync), json: bool) -> Result<(), Failure> {
    let path = format!("/incidents/{}/{action}", encode(&write.incident));
    let result: api::WriteResult = client.send(Method::POST, &path, Some(body), write.if_match).await?;
    print_write(&result, json);
    Ok(())
}

fn print_write(result: &api::WriteResult, json: bool) {
    if json {
        print_json(result);
        return;
    }
    for entry in &result.entries {
        println!("{} #{} {} {}", result.id, entry.sequence, entry.event_type, entry.body);
    }
}

fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("hereby: cannot print JSON: {error}"),
    }
}

/// Percent-encodes a path segment or query value.
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn print_list(incidents: &[api::IncidentSummary]) {
    if incidents.is_empty() {
        println!("no incidents");
        return;
    }
    println!("{:<8} {:<5} {:<13} {:<12} {:<20} TITLE", "ID", "SEV", "STATUS", "IC", "DECLARED");
    for incident in incidents {
        let declared: String = incident.declared_at.chars().take(19).collect();
        println!(
            "{:<8} {:<5} {:<13} {:<12} {:<20} {}{}",
            incident.id,
            incident.severity,
            incident.status,
            incident.commander.as_deref().unwrap_or("-"),
            declared.replace('T', " "),
            incident.title,
            if incident.visibility == "restricted" { "  [restricted]" } else { "" },
        );
    }
}

fn print_document(document: &api::IncidentDocument) {
    println!("{}  {}", document.id, document.title);
    println!(
        "status {} · {}{} · {} · version {}",
        document.status,
        document.severity,
        if document.potential { " (potential)" } else { "" },
        document.visibility,
        document.version
    );
    if let Some(summary) = &document.summary {
        println!("\n{summary}");
    }
    println!("\ndeclared {} by {}", document.declared_at, document.declared_by);
    if let Some(resolved) = &document.resolved_at {
        println!("resolved {resolved}");
    }
    if document.impact_start.is_some() || document.impact_end.is_some() {
        println!(
            "impact {} → {}",
            document.impact_start.as_deref().unwrap_or("?"),
            document.impact_end.as_deref().unwrap_or("ongoing")
        );
    }
    if !document.services.is_empty() {
        println!("services {}", document.services.join(", "));
    }
    println!("\nroles");
    for role in &document.roles {
        let holders = if role.holders.is_empty() { "-".to_owned() } else { role.holders.join(", ") };
        println!("  {:<22} {holders}", role.name);
    }
    if let Some(pending) = &document.pending_handoff {
        println!("\nhand-off from {} to {} waiting since {}", pending.from, pending.to, pending.requested_at);
    }
    if !document.action_items.is_empty() {
        println!("\naction items");
        for item in &document.action_items {
            println!(
                "  {:>3}. [{}] {} ({}, {}{})",
                item.item,
                item.state,
                item.text,
                item.kind,
                item.owner,
                item.due.as_deref().map(|due| format!(", due {due}")).unwrap_or_default()
            );
        }
    }
}
