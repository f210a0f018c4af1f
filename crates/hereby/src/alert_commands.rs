//! The alert commands of the client: integrations (admins) and alert groups.

use clap::Subcommand;
use hereby_api as api;
use reqwest::Method;
use serde_json::json;

use crate::client::{Client, Failure};
use crate::commands::{NO_BODY, encode, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum IntegrationCommand {
    /// Create an integration and print its key (shown this once) and the configuration to
    /// paste into the source, e.g. `hereby integration add prometheus --kind alertmanager`.
    Add {
        /// A unique name: lowercase letters, digits, `.`, `_` and `-`.
        name: String,
        /// alertmanager (Prometheus Alertmanager's webhook, and Grafana's), pagerduty (the
        /// Events API v2), opsgenie (the Alert API), generic (JSON or a form, for curl) or
        /// heartbeat (pings; an alert fires when none came within --timeout).
        #[arg(long)]
        kind: String,
        /// A heartbeat's timeout, e.g. 10m (10s to 31d): how long without a ping before an
        /// alert fires. Only for --kind heartbeat.
        #[arg(long)]
        timeout: Option<String>,
    },
    /// List integrations (keys are never shown).
    List,
    /// Give an integration a new key; the current one keeps working for --overlap.
    Rotate {
        name: String,
        /// How long the current key keeps working beside the new one, e.g. 30m [default: 1h;
        /// at most 7d].
        #[arg(long)]
        overlap: Option<String>,
    },
    /// Revoke an integration: its keys open nothing from now on.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlertCommand {
    /// Alert groups, newest first: all you may see, or those of one incident.
    List {
        /// Only the groups attached to this incident, e.g. INC-7.
        #[arg(long)]
        incident: Option<String>,
        /// At most this many (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One group and its newest alerts.
    Show {
        /// The group's number, from `hereby alert list`.
        group: i64,
    },
    /// Attach a group to an incident: its alerts belong there (the timeline says so, and its
    /// later alerts are noted on it).
    Attach {
        /// The group's number, from `hereby alert list`.
        group: i64,
        /// The incident, e.g. INC-7.
        incident: String,
    },
    /// Acknowledge a group: you are on it, so its route opens no incident for it (also after
    /// a resolve and a re-fire within the route's reopen window).
    Ack {
        /// The group's number, from `hereby alert list`.
        group: i64,
    },
    /// Silence a group for a while: its new firing alerts are kept as suppressed and open
    /// nothing (a silence in force also covers the next group under the same key).
    Silence {
        /// The group's number, from `hereby alert list`.
        group: i64,
        /// How long, e.g. 2h (at most 7d); 0s lifts the silence.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Why (shown with the group).
        #[arg(long)]
        reason: Option<String>,
    },
}

fn print_key(created: &api::IntegrationKey) {
    println!(
        "integration {} ({}) — its key, shown this once: {}\n",
        created.integration.name, created.integration.kind, created.key
    );
    print!("{}", created.config);
}

pub(crate) async fn integration(
    client: &Client,
    command: IntegrationCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        IntegrationCommand::Add {
            name,
            kind,
            timeout,
        } => {
            let created: api::IntegrationKey = client
                .send(
                    Method::POST,
                    "/integrations",
                    Some(&api::IntegrationRequest {
                        name,
                        kind,
                        timeout,
                    }),
                    None,
                )
                .await?;
            if json {
                print_json(&created);
            } else {
                print_key(&created);
            }
        }
        IntegrationCommand::List => {
            let listed: Vec<api::Integration> = client
                .send(Method::GET, "/integrations", NO_BODY, None)
                .await?;
            if json {
                print_json(&listed);
                return Ok(());
            }
            println!(
                "{:<20} {:<13} {:<22} {:<24} LAST EVENT",
                "NAME", "KIND", "PATH", "STATE"
            );
            for integration in &listed {
                let state = match (&integration.revoked_at, &integration.previous_key_until) {
                    (Some(at), _) => format!("revoked {}", crate::commands::human_time(at)),
                    (None, Some(until)) => {
                        format!("old key until {}", crate::commands::human_time(until))
                    }
                    (None, None) => "live".to_owned(),
                };
                println!(
                    "{:<20} {:<13} {:<22} {:<24} {}{}",
                    integration.name,
                    integration.kind,
                    integration.path,
                    state,
                    integration
                        .last_event_at
                        .as_deref()
                        .map(crate::commands::human_time)
                        .unwrap_or_else(|| "never".to_owned()),
                    // A storm's events wait to be grouped: say how many, so nobody wonders
                    // where the alerts went.
                    match integration.queued_events {
                        0 => String::new(),
                        queued => format!(" ({queued} events queued)"),
                    }
                );
            }
        }
        IntegrationCommand::Rotate { name, overlap } => {
            let rotated: api::IntegrationKey = client
                .send(
                    Method::POST,
                    &format!("/integrations/{}/rotate", encode(&name)),
                    Some(&api::RotateRequest { overlap }),
                    None,
                )
                .await?;
            if json {
                print_json(&rotated);
            } else {
                print_key(&rotated);
                if let Some(until) = &rotated.integration.previous_key_until {
                    println!(
                        "\nThe previous key works until {}.",
                        crate::commands::human_time(until)
                    );
                }
            }
        }
        IntegrationCommand::Revoke { name } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/integrations/{}", encode(&name)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&json!({ "revoked": name }));
            } else {
                println!("integration {name} revoked: its keys open nothing from now on");
            }
        }
    }
    Ok(())
}

fn group_line(group: &api::AlertGroup) -> String {
    let mut state = if group.firing > 0 {
        format!("{} firing", group.firing)
    } else {
        "resolved".to_owned()
    };
    if group.flapping {
        state.push_str(", flapping");
    }
    if group.silenced_until.is_some() {
        state.push_str(", silenced");
    }
    if group.acknowledged_by.is_some() {
        state.push_str(", acked");
    }
    if group.held_until.is_some() {
        state.push_str(", held");
    }
    format!(
        "#{:<5} {:<5} {:<18} {:<8} {:<38} {} [{}]",
        group.id,
        group.severity,
        state,
        group.incident.as_deref().unwrap_or("-"),
        group.title.chars().take(38).collect::<String>(),
        group.label,
        group.route
    )
}

pub(crate) async fn alert(
    client: &Client,
    command: AlertCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        AlertCommand::List { incident, limit } => {
            let mut path = format!("/alert-groups?limit={limit}");
            if let Some(incident) = incident {
                path.push_str(&format!("&incident={}", encode(&incident)));
            }
            let groups: Vec<api::AlertGroup> =
                client.send(Method::GET, &path, NO_BODY, None).await?;
            if json {
                print_json(&groups);
            } else if groups.is_empty() {
                println!("no alert groups");
            } else {
                for group in &groups {
                    println!("{}", group_line(group));
                }
            }
        }
        AlertCommand::Attach { group, incident } => {
            let result: api::WriteResult = client
                .send(
                    Method::POST,
                    &format!("/alert-groups/{group}/attach"),
                    Some(&api::AttachRequest { incident }),
                    None,
                )
                .await?;
            crate::commands::print_write(&result, json);
        }
        AlertCommand::Ack { group } => {
            let acked: api::AlertGroup = client
                .send(
                    Method::POST,
                    &format!("/alert-groups/{group}/ack"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&acked);
            } else {
                println!("{}", group_line(&acked));
                println!(
                    "acknowledged by {}: it opens no incident by its route",
                    acked.acknowledged_by.as_deref().unwrap_or("you")
                );
            }
        }
        AlertCommand::Silence {
            group,
            duration,
            reason,
        } => {
            let silenced: api::AlertGroup = client
                .send(
                    Method::POST,
                    &format!("/alert-groups/{group}/silence"),
                    Some(&api::SilenceRequest { duration, reason }),
                    None,
                )
                .await?;
            if json {
                print_json(&silenced);
            } else {
                println!("{}", group_line(&silenced));
                match &silenced.silenced_until {
                    Some(until) => println!(
                        "silenced until {}: its new firing alerts are kept as suppressed",
                        crate::commands::human_time(until)
                    ),
                    None => println!("not silenced"),
                }
            }
        }
        AlertCommand::Show { group } => {
            let detail: api::AlertGroupDetail = client
                .send(
                    Method::GET,
                    &format!("/alert-groups/{group}"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&detail);
                return Ok(());
            }
            let g = &detail.group;
            println!("{}", group_line(g));
            println!(
                "opened {}, last alert {}{}; {} alerts, {} events, reopened {} times",
                crate::commands::human_time(&g.opened_at),
                crate::commands::human_time(&g.last_alert_at),
                g.resolved_at
                    .as_deref()
                    .map(|at| format!(", all resolved {}", crate::commands::human_time(at)))
                    .unwrap_or_default(),
                g.alerts,
                g.events,
                g.reopened
            );
            if let Some(by) = &g.acknowledged_by {
                println!("acknowledged by {by}");
            }
            if let Some(until) = &g.silenced_until {
                println!(
                    "silenced by {} until {}{}",
                    g.silenced_by.as_deref().unwrap_or("?"),
                    crate::commands::human_time(until),
                    g.silence_reason
                        .as_deref()
                        .filter(|reason| !reason.is_empty())
                        .map(|reason| format!(": {reason}"))
                        .unwrap_or_default()
                );
            }
            if g.flapping {
                println!("flapping: its alerts flip too often; it opens and reopens nothing");
            }
            if let Some(until) = &g.held_until {
                println!(
                    "held by its route's pause: its incident opens {} unless it resolves first",
                    crate::commands::human_time(until)
                );
            }
            for alert in &detail.alerts {
                println!(
                    "  {} {:<9} ×{:<4} {}  (key {}, last {})",
                    if alert.firing { "●" } else { "○" },
                    if alert.firing { "firing" } else { "resolved" },
                    alert.count,
                    alert.summary,
                    alert.dedup_key,
                    crate::commands::human_time(&alert.last_seen)
                );
                if let Some(why) = &alert.suppressed {
                    println!("      {why}");
                }
            }
        }
    }
    Ok(())
}
