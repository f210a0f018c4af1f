//! The client commands for judging an incident and changing production with discipline: the
//! service catalogue, recorded releases and the suspect one, the severity checklist, the
//! follow-up decision ladder, and operations with announced intents, witnesses and change
//! collisions (`hereby act`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use hereby_api as api;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Client, Failure};
use crate::commands::{NO_BODY, Write, encode, incident_path, print_json, print_write};

/// The top-level commands this module adds next to `act`.
#[derive(Debug, Subcommand)]
pub(crate) enum JudgementCommand {
    /// The service catalogue: which services exist, who owns them, how critical they are and
    /// what counts as an incident for each. Everyone reads it; admins change it.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Deployments of services: record one (by hand or from a pipeline), list them, or list
    /// those around an incident with its suspect release marked.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Name the recorded release suspected of introducing an incident's fault, or clear it:
    /// `hereby suspect INC-7 --service api --version 3.4.1`. The follow-up ladder (`hereby
    /// decide`) offers a roll-back only when the suspect is the service's latest release.
    Suspect {
        #[command(flatten)]
        write: Write,
        /// The service of the suspect release.
        #[arg(long, requires = "version", required_unless_present = "clear")]
        service: Option<String>,
        /// The suspect release's version, as recorded with `hereby release record`.
        #[arg(long, requires = "service")]
        version: Option<String>,
        /// Name no release as suspect any more.
        #[arg(long, conflicts_with_all = ["service", "version"])]
        clear: bool,
        /// Why (kept on the timeline).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Answer the severity checklist: the rules suggest a severity, which is set (or the one
    /// you choose with --severity and --reason). The rule that fired is kept on the timeline.
    /// `hereby evaluate --rules` prints the rules in force.
    Evaluate(EvaluateArgs),
    /// The follow-up decision ladder: without --option, print each rung (do nothing,
    /// information broadcast, roll back, fast-tracked release), whether it applies here and
    /// what it sets in motion; with --option and --motivation, record the decision, which adds
    /// its action items and drafts the matching message.
    Decide {
        #[command(flatten)]
        write: Write,
        /// The rung to take: do_nothing, information_broadcast, roll_back or
        /// fast_tracked_release.
        #[arg(long, requires = "motivation", value_parser = ["do_nothing", "information_broadcast", "roll_back", "fast_tracked_release"])]
        option: Option<String>,
        /// Why this rung (kept with the decision).
        #[arg(long, requires = "option")]
        motivation: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServiceCommand {
    /// Add a service to the catalogue, or replace its entry (admins). Every field is set
    /// anew: give all the ones the service should keep.
    Add {
        /// The service's name, as incidents name it (`hereby declare --service NAME`).
        name: String,
        /// The team that owns it.
        #[arg(long)]
        team: String,
        /// How much it matters; the severity rules use the most critical affected service.
        #[arg(long, value_parser = ["critical", "high", "normal", "low"])]
        criticality: String,
        /// The longest unavailability it may have, a duration such as `30m`, `4h` or
        /// `1h30m`.
        #[arg(long)]
        max_unavailability: Option<String>,
        /// Seen by customers [default: internal only].
        #[arg(long)]
        public: bool,
        /// A service this one needs (repeat for several).
        #[arg(long = "depends-on")]
        depends_on: Vec<String>,
        /// The bar above which a problem is an incident rather than a support ticket, e.g.
        /// "≥ 2 users cannot log in".
        #[arg(long)]
        incident_definition: Option<String>,
        /// What the service is.
        #[arg(long)]
        description: Option<String>,
    },
    /// List the catalogue: name, criticality, team, public or internal, the longest
    /// unavailability allowed, and the incident definition.
    List,
    /// Show one service's entry.
    Show {
        /// The service's name.
        name: String,
    },
    /// Remove a service from the catalogue (admins). Incidents naming it keep the name.
    Remove {
        /// The service's name.
        name: String,
    },
    /// Import services from a TOML file of `[[service]]` tables with `name`, `owner_team`,
    /// `criticality` and optionally `max_unavailability`, `public`, `depends_on`,
    /// `incident_definition` and `description` (admins). All are stored, or none: one bad
    /// entry and nothing changes. A service already in the catalogue is replaced.
    Import {
        /// The TOML file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReleaseCommand {
    /// Record a deployment: `hereby release record --service api --version 3.4.1`.
    /// Recording the same deployment twice (same service, version and --at) keeps one
    /// record; give --at when a pipeline may retry, since without it each call is stamped now.
    Record {
        /// The service deployed.
        #[arg(long)]
        service: String,
        /// The version deployed as the pipeline names it, e.g. 3.4.1 or "UPDATE 40".
        #[arg(long)]
        version: String,
        /// When it went live, RFC 3339 (e.g. 2026-11-21T09:30:00Z) [default: now].
        #[arg(long)]
        at: Option<String>,
        /// What it changed, or a link to its notes.
        #[arg(long)]
        notes: Option<String>,
    },
    /// List recorded releases, newest first; with --incident, the releases of the incident's
    /// services from 48 hours before its impact started until now, with the suspect marked.
    List {
        /// Only this service's releases.
        #[arg(long, conflicts_with = "incident")]
        service: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, conflicts_with = "incident")]
        limit: u32,
        /// The releases around an incident, e.g. INC-7.
        #[arg(long)]
        incident: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct EvaluateArgs {
    /// The incident, e.g. INC-7.
    #[arg(required_unless_present = "rules")]
    incident: Option<String>,
    /// Only if the incident is still at this version (from `show`); otherwise exit 1.
    #[arg(long)]
    if_match: Option<u64>,
    /// Print the severity rules in force (TOML, first match wins) instead of evaluating.
    #[arg(long, conflicts_with_all = ["incident", "live", "potential"])]
    rules: bool,
    /// The problem hurts users now.
    #[arg(long, conflicts_with = "potential")]
    live: bool,
    /// The problem may happen but hurts nobody yet.
    #[arg(long)]
    potential: bool,
    /// How many users are affected.
    #[arg(long)]
    users: Option<u64>,
    /// The number of users is an estimate, not a count.
    #[arg(long, requires = "users")]
    estimated: bool,
    /// An affected site or region (repeat for several).
    #[arg(long = "site")]
    sites: Vec<String>,
    /// An affected service (repeat for several) [default: the incident's services]. Its
    /// criticality comes from the service catalogue.
    #[arg(long = "service")]
    services: Vec<String>,
    /// Availability or reliability is affected.
    #[arg(long)]
    availability: bool,
    /// Data was lost or exposed, or security is at stake.
    #[arg(long)]
    data_loss: bool,
    /// Users have a workaround.
    #[arg(long)]
    workaround: bool,
    /// Set this severity instead of the suggested one (needs --reason when they differ).
    #[arg(long)]
    severity: Option<String>,
    /// Why the severity differs from the suggestion.
    #[arg(long)]
    reason: Option<String>,
}

/// `hereby act`: record an operation, or announce one with --intent; or one of the
/// subcommands that follow an intent up or keep changes in order.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  hereby act INC-7 --target mysql --action \"restarted the primary\" --command \"systemctl restart mysql\"\n  hereby act INC-7 --target mysql --intent \"about to restart the MySQL primary\" --witness bob\n  hereby act done INC-7 1 --command \"systemctl restart mysql\"\n  hereby act abandon INC-7 1 --reason \"load dropped by itself\"\n\nA change by someone else within the collision window (10 minutes by default) of yours, \
                  since the Incident Commander last ran `hereby act ack`, is a change collision: a recovery in that window cannot be \
                  attributed to either change. hereby warns whoever records the second change and tells the Incident \
                  Commander."
)]
pub(crate) struct ActArgs {
    #[command(subcommand)]
    then: Option<ActCommand>,
    /// The incident, e.g. INC-7.
    #[arg(required = true)]
    incident: Option<String>,
    /// Only if the incident is still at this version (from `show`); otherwise exit 1.
    #[arg(long)]
    if_match: Option<u64>,
    /// What you changed (or are about to change): a host, service, cluster, flag …
    #[arg(long, required = true)]
    target: Option<String>,
    /// What you did, e.g. "restarted the primary".
    #[arg(long, required_unless_present = "intent", conflicts_with = "intent")]
    action: Option<String>,
    /// Instead of recording a change made, announce one you are about to make, e.g. "about
    /// to restart the MySQL primary"; prints its number for `hereby act done` or `abandon`.
    #[arg(long)]
    intent: Option<String>,
    /// The command you ran.
    #[arg(long, conflicts_with = "intent")]
    command: Option<String>,
    /// The second person who agreed to the change and watches it being made (required on
    /// SEV1/SEV2 once the Incident Commander ran `hereby act require-witness`).
    #[arg(long)]
    witness: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ActCommand {
    /// You carried out your announced intent N: record it as an operation.
    Done {
        #[command(flatten)]
        write: Write,
        /// The intent's number (printed when you announced it).
        intent: u32,
        /// The command you ran.
        #[arg(long)]
        command: Option<String>,
        /// The witness, replacing the one named with the intent.
        #[arg(long)]
        witness: Option<String>,
    },
    /// Drop announced intent N without changing anything (its author or the Incident
    /// Commander).
    Abandon {
        #[command(flatten)]
        write: Write,
        /// The intent's number.
        intent: u32,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Acknowledge the changes made so far and settle open change collisions (the Incident
    /// Commander). Changes before this no longer collide with later ones.
    Ack {
        #[command(flatten)]
        write: Write,
    },
    /// Require a witness for every operation while the incident is SEV1 or SEV2 (the
    /// Incident Commander); with --off, stop requiring one.
    RequireWitness {
        #[command(flatten)]
        write: Write,
        /// Stop requiring a witness.
        #[arg(long)]
        off: bool,
    },
}

/// One `[[service]]` table of an import file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileService {
    name: String,
    #[serde(alias = "team")]
    owner_team: String,
    criticality: String,
    #[serde(default)]
    max_unavailability: Option<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    incident_definition: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// A service import file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    #[serde(default)]
    service: Vec<FileService>,
}

/// Reads a service import file into the import request; unknown keys are refused with
/// their line.
fn read_services(file: &Path) -> Result<api::ImportServices, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
    let parsed: ServiceFile = toml::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{}: {}", file.display(), e.to_string().trim())))?;
    if parsed.service.is_empty() {
        return Err(Failure::Usage(format!(
            "{} has no [[service]] tables; nothing to import",
            file.display()
        )));
    }
    let services = parsed
        .service
        .into_iter()
        .map(|entry| api::ImportedService {
            name: entry.name,
            service: api::PutService {
                owner_team: entry.owner_team,
                criticality: entry.criticality,
                max_unavailability: entry.max_unavailability,
                public: entry.public,
                depends_on: entry.depends_on,
                incident_definition: entry.incident_definition,
                description: entry.description,
            },
        })
        .collect();
    Ok(api::ImportServices { services })
}

/// Runs one of this module's top-level commands.
pub(crate) async fn run(
    client: &Client,
    command: JudgementCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        JudgementCommand::Service(command) => service(client, command, json).await,
        JudgementCommand::Release(command) => release(client, command, json).await,
        JudgementCommand::Suspect {
            write,
            service,
            version,
            clear,
            reason,
        } => {
            let request = if clear {
                api::SuspectRequest {
                    service: None,
                    version: None,
                    reason,
                }
            } else {
                api::SuspectRequest {
                    service,
                    version,
                    reason,
                }
            };
            let result = post(client, &write, "suspect-release", &request).await?;
            if json {
                print_json(&result);
                return Ok(());
            }
            let named = result
                .entries
                .iter()
                .find(|entry| entry.event_type == "suspect_release_set")
                .and_then(|entry| entry.body.get("release"))
                .filter(|release| !release.is_null());
            match named {
                Some(release) => println!(
                    "{}: suspect release {} {}; see the ladder with `hereby decide {}`",
                    result.id,
                    text_of(release, "service"),
                    text_of(release, "version"),
                    result.id
                ),
                None => println!("{}: no release is suspect any more", result.id),
            }
            Ok(())
        }
        JudgementCommand::Evaluate(args) => evaluate(client, args, json).await,
        JudgementCommand::Decide {
            write,
            option: Some(option),
            motivation: Some(motivation),
        } => decide(client, &write, option, motivation, json).await,
        JudgementCommand::Decide { write, .. } => {
            let ladder: api::Ladder = client
                .send(
                    Method::GET,
                    &incident_path(&write.incident, "ladder"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&ladder);
            } else {
                print_ladder(&write.incident, &ladder);
            }
            Ok(())
        }
    }
}

/// Posts a write to `/incidents/{id}/{rest}` and returns its result.
async fn post(
    client: &Client,
    write: &Write,
    rest: &str,
    body: &(impl Serialize + Sync),
) -> Result<api::WriteResult, Failure> {
    client
        .send(
            Method::POST,
            &incident_path(&write.incident, rest),
            Some(body),
            write.if_match,
        )
        .await
}

/// A string field of a JSON body, or an empty string.
fn text_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A number field of a JSON body, or 0.
fn number_of(body: &Value, field: &str) -> u64 {
    body.get(field).and_then(Value::as_u64).unwrap_or(0)
}

/// An action item's owner as people type it: a user's name, or `role:<key>`.
fn owner_of(body: &Value) -> String {
    match body.get("owner") {
        Some(Value::String(owner)) => owner.clone(),
        Some(Value::Object(owner)) => match (owner.get("role"), owner.get("user")) {
            (Some(Value::String(role)), _) => format!("role:{role}"),
            (_, Some(Value::String(user))) => user.clone(),
            _ => Value::Object(owner.clone()).to_string(),
        },
        Some(other) => other.to_string(),
        None => "-".to_owned(),
    }
}

async fn service(client: &Client, command: ServiceCommand, json: bool) -> Result<(), Failure> {
    match command {
        ServiceCommand::Add {
            name,
            team,
            criticality,
            max_unavailability,
            public,
            depends_on,
            incident_definition,
            description,
        } => {
            let request = api::PutService {
                owner_team: team,
                criticality,
                max_unavailability,
                public,
                depends_on,
                incident_definition,
                description,
            };
            let stored: api::Service = client
                .send(
                    Method::PUT,
                    &format!("/services/{}", encode(&name)),
                    Some(&request),
                    None,
                )
                .await?;
            if json {
                print_json(&stored);
            } else {
                println!(
                    "service {} stored: {}, team {}, {}",
                    stored.name,
                    stored.criticality,
                    stored.owner_team,
                    exposure(&stored)
                );
            }
        }
        ServiceCommand::List => {
            let all: api::Services = client.send(Method::GET, "/services", NO_BODY, None).await?;
            if json {
                print_json(&all);
            } else {
                print_services(&all.services);
            }
        }
        ServiceCommand::Show { name } => {
            let found: api::Service = client
                .send(
                    Method::GET,
                    &format!("/services/{}", encode(&name)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&found);
            } else {
                print_service(&found);
            }
        }
        ServiceCommand::Remove { name } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/services/{}", encode(&name)),
                    NO_BODY,
                    None,
                )
                .await?;
            if !json {
                println!("service {name} removed");
            }
        }
        ServiceCommand::Import { file } => {
            let request = read_services(&file)?;
            let stored: api::Services = client
                .send(Method::POST, "/services/import", Some(&request), None)
                .await?;
            if json {
                print_json(&stored);
            } else {
                let names: Vec<&str> = request
                    .services
                    .iter()
                    .map(|entry| entry.name.as_str())
                    .collect();
                let count = names.len();
                println!(
                    "imported {count} service{} from {}: {}",
                    if count == 1 { "" } else { "s" },
                    file.display(),
                    names.join(", ")
                );
            }
        }
    }
    Ok(())
}

fn exposure(service: &api::Service) -> &'static str {
    if service.public { "public" } else { "internal" }
}

fn print_services(services: &[api::Service]) {
    if services.is_empty() {
        println!("no services; add them with `hereby service add` or `hereby service import`");
        return;
    }
    let name_width = services
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let team_width = services
        .iter()
        .map(|s| s.owner_team.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:<name_width$}  {:<11}  {:<team_width$}  {:<8}  {:<9}  INCIDENT DEFINITION",
        "NAME", "CRITICALITY", "TEAM", "EXPOSURE", "MAX DOWN"
    );
    for service in services {
        println!(
            "{:<name_width$}  {:<11}  {:<team_width$}  {:<8}  {:<9}  {}",
            service.name,
            service.criticality,
            service.owner_team,
            exposure(service),
            service.max_unavailability.as_deref().unwrap_or("-"),
            service.incident_definition.as_deref().unwrap_or("-")
        );
    }
}

fn print_service(service: &api::Service) {
    println!(
        "{}  ({}, {})",
        service.name,
        service.criticality,
        exposure(service)
    );
    if let Some(description) = &service.description {
        println!("{description}");
    }
    println!("team                 {}", service.owner_team);
    println!(
        "max unavailability   {}",
        service.max_unavailability.as_deref().unwrap_or("-")
    );
    println!(
        "depends on           {}",
        if service.depends_on.is_empty() {
            "-".to_owned()
        } else {
            service.depends_on.join(", ")
        }
    );
    println!(
        "incident definition  {}",
        service.incident_definition.as_deref().unwrap_or("-")
    );
    println!(
        "updated              {} by {}",
        service.updated_at, service.updated_by
    );
}

async fn release(client: &Client, command: ReleaseCommand, json: bool) -> Result<(), Failure> {
    match command {
        ReleaseCommand::Record {
            service,
            version,
            at,
            notes,
        } => {
            let request = api::ReleaseRequest {
                service,
                version,
                at,
                notes,
            };
            let recorded: api::Release = client
                .send(Method::POST, "/releases", Some(&request), None)
                .await?;
            if json {
                print_json(&recorded);
            } else {
                println!(
                    "release {} {} deployed {} is on record (recorded by {})",
                    recorded.service, recorded.version, recorded.at, recorded.recorded_by
                );
            }
        }
        ReleaseCommand::List {
            incident: Some(incident),
            ..
        } => {
            let around: api::IncidentReleases = client
                .send(
                    Method::GET,
                    &incident_path(&incident, "releases"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&around);
            } else {
                println!(
                    "releases of {incident}'s services from {} to {}",
                    around.from, around.to
                );
                let suspect = around.suspect.as_ref();
                print_releases(&around.releases, |release| {
                    suspect.is_some_and(|s| {
                        s.service == release.service && s.version == release.version
                    })
                });
                match suspect {
                    Some(suspect) => {
                        println!("* suspect release: {} {}", suspect.service, suspect.version)
                    }
                    None => println!(
                        "no suspect release; name one with `hereby suspect {incident} --service NAME --version V`"
                    ),
                }
            }
        }
        ReleaseCommand::List {
            service,
            limit,
            incident: None,
        } => {
            let mut query = format!("/releases?limit={limit}");
            if let Some(service) = &service {
                query.push_str(&format!("&service={}", encode(service)));
            }
            let list: api::Releases = client.send(Method::GET, &query, NO_BODY, None).await?;
            if json {
                print_json(&list);
            } else {
                print_releases(&list.releases, |_| false);
            }
        }
    }
    Ok(())
}

fn print_releases(releases: &[api::Release], suspect: impl Fn(&api::Release) -> bool) {
    if releases.is_empty() {
        println!("no releases");
        return;
    }
    println!(
        "  {:<20} {:<16} {:<26} {:<14} NOTES",
        "SERVICE", "VERSION", "DEPLOYED", "RECORDED BY"
    );
    for release in releases {
        let row = format!(
            "{} {:<20} {:<16} {:<26} {:<14} {}",
            if suspect(release) { "*" } else { " " },
            release.service,
            release.version,
            release.at,
            release.recorded_by,
            release.notes.lines().next().unwrap_or("")
        );
        println!("{}", row.trim_end());
    }
}

async fn evaluate(client: &Client, args: EvaluateArgs, json: bool) -> Result<(), Failure> {
    let Some(incident) = args.incident.filter(|_| !args.rules) else {
        let rules: api::SeverityRules = client
            .send(Method::GET, "/severity-rules", NO_BODY, None)
            .await?;
        if json {
            print_json(&rules);
        } else {
            print!("{}", rules.toml);
            if !rules.toml.ends_with('\n') {
                println!();
            }
        }
        return Ok(());
    };
    if !args.live && !args.potential {
        return Err(Failure::Usage(
            "say whether the problem is --live (hurting users now) or --potential (not yet)".into(),
        ));
    }
    let request = api::EvaluationRequest {
        live: args.live,
        users_affected: args.users,
        users_estimated: args.estimated,
        sites: args.sites,
        services: args.services,
        availability: args.availability,
        data_loss_or_security: args.data_loss,
        workaround: args.workaround,
        chosen: args.severity,
        reason: args.reason,
    };
    let result: api::EvaluationResult = client
        .send(
            Method::POST,
            &incident_path(&incident, "evaluation"),
            Some(&request),
            args.if_match,
        )
        .await?;
    if json {
        print_json(&result);
        return Ok(());
    }
    let rule = if result.rule == "default" {
        "no rule matched: the default".to_owned()
    } else {
        format!("rule “{}”", result.rule)
    };
    let chosen = if result.chosen == result.suggested {
        String::new()
    } else {
        format!(
            ", chosen over the suggestion: {}",
            request.reason.unwrap_or_default()
        )
    };
    println!(
        "Suggested {} ({rule}); {} is now {}{chosen}.",
        result.suggested, result.write.id, result.chosen
    );
    Ok(())
}

/// A rung's option as it reads in a sentence.
fn spoken(option: &str) -> String {
    option.replace('_', " ")
}

fn print_ladder(incident: &str, ladder: &api::Ladder) {
    println!("{incident}: follow-up decision ladder, lowest rung first\n");
    println!("{}\n", ladder.guidance);
    for (rung_number, rung) in ladder.rungs.iter().enumerate() {
        println!(
            "{}. {} {} {}",
            rung_number + 1,
            if rung.applicable { "✓" } else { "✗" },
            rung.option,
            if rung.applicable {
                "(applicable)"
            } else {
                "(not applicable)"
            }
        );
        println!("   {}", rung.note);
        if let Some(to) = &rung.roll_back_to {
            println!("   rolls {} back to {}", to.service, to.version);
        }
        for action in &rung.actions {
            println!("   - {} (role:{})", action.text, action.role);
        }
        if let Some(template) = &rung.template {
            println!("   message drafted from template {template}");
        }
        println!();
    }
    match &ladder.current {
        Some(current) => println!(
            "current decision {}: {} by {} at {}: {}",
            current.decision,
            spoken(&current.option),
            current.by,
            current.at,
            current.motivation
        ),
        None => println!(
            "no decision yet; record one with `hereby decide {incident} --option OPTION --motivation TEXT`"
        ),
    }
}

async fn decide(
    client: &Client,
    write: &Write,
    option: String,
    motivation: String,
    json: bool,
) -> Result<(), Failure> {
    let request = api::DecisionRequest { option, motivation };
    let result: api::DecisionResult = client
        .send(
            Method::POST,
            &incident_path(&write.incident, "decisions"),
            Some(&request),
            write.if_match,
        )
        .await?;
    if json {
        print_json(&result);
        return Ok(());
    }
    let id = &result.write.id;
    for entry in &result.write.entries {
        let body = &entry.body;
        match entry.event_type.as_str() {
            "decision_recorded" => {
                println!(
                    "{id}: decision {}: {}",
                    number_of(body, "decision"),
                    spoken(text_of(body, "option"))
                );
                if let Some(to) = body.get("roll_back_to").filter(|to| !to.is_null()) {
                    println!(
                        "roll {} back to {}",
                        text_of(to, "service"),
                        text_of(to, "version")
                    );
                }
            }
            "action_item_wont_fix" => println!(
                "action item {} will not be done: {}",
                number_of(body, "item"),
                text_of(body, "reason")
            ),
            _ => {}
        }
    }
    let added: Vec<&api::TimelineEntry> = result
        .write
        .entries
        .iter()
        .filter(|entry| entry.event_type == "action_item_added")
        .collect();
    if !added.is_empty() {
        println!("\naction items");
        for entry in added {
            println!(
                "  {:>3}. {} (owner {})",
                number_of(&entry.body, "item"),
                text_of(&entry.body, "text"),
                owner_of(&entry.body)
            );
        }
    }
    if let Some(draft) = &result.message_draft {
        println!(
            "\nmessage draft (template {})\nSubject: {}\n\n{}",
            draft.template,
            draft.subject,
            draft.body.trim_end()
        );
        println!(
            "\npost it with `hereby update {id} --template {} --audience AUDIENCE` (internal, service_owners, customers or group:NAME; --public also shows it on the status page); to fill in its <placeholders> first, post your edited text with `hereby update {id} --audience AUDIENCE \"TEXT\"`",
            draft.template
        );
    }
    Ok(())
}

/// Runs `hereby act …`.
pub(crate) async fn act(client: &Client, args: ActArgs, json: bool) -> Result<(), Failure> {
    let result = match args.then {
        Some(ActCommand::Done {
            write,
            intent,
            command,
            witness,
        }) => {
            let request = api::IntentDone { command, witness };
            post(client, &write, &format!("intents/{intent}/done"), &request).await?
        }
        Some(ActCommand::Abandon {
            write,
            intent,
            reason,
        }) => {
            let request = api::IntentAbandon { reason };
            post(
                client,
                &write,
                &format!("intents/{intent}/abandon"),
                &request,
            )
            .await?
        }
        Some(ActCommand::Ack { write }) => {
            let result: api::WriteResult = client
                .send(
                    Method::POST,
                    &incident_path(&write.incident, "changes/acknowledge"),
                    NO_BODY,
                    write.if_match,
                )
                .await?;
            if json {
                print_json(&result);
            } else {
                let settled: Vec<String> = result
                    .entries
                    .iter()
                    .filter(|entry| entry.event_type == "changes_acknowledged")
                    .filter_map(|entry| entry.body.get("collisions").and_then(Value::as_array))
                    .flatten()
                    .filter_map(Value::as_u64)
                    .map(|n| n.to_string())
                    .collect();
                if settled.is_empty() {
                    println!("{}: changes so far acknowledged", result.id);
                } else {
                    println!(
                        "{}: changes so far acknowledged; change collision{} {} settled",
                        result.id,
                        if settled.len() == 1 { "" } else { "s" },
                        settled.join(", ")
                    );
                }
            }
            return Ok(());
        }
        Some(ActCommand::RequireWitness { write, off }) => {
            let result: api::WriteResult = client
                .send(
                    Method::PUT,
                    &incident_path(&write.incident, "witness-rule"),
                    Some(&api::WitnessRule { required: !off }),
                    write.if_match,
                )
                .await?;
            if json {
                print_json(&result);
            } else if off {
                println!("{}: operations need no witness any more", result.id);
            } else {
                println!(
                    "{}: every operation now needs a witness (--witness NAME) while the incident is SEV1 or SEV2",
                    result.id
                );
            }
            return Ok(());
        }
        None => {
            let (Some(incident), Some(target)) = (args.incident, args.target) else {
                return Err(Failure::Usage(
                    "give the incident and --target, or a subcommand (see `hereby act --help`)"
                        .into(),
                ));
            };
            let write = Write {
                incident,
                if_match: args.if_match,
            };
            match (args.intent, args.action) {
                (Some(action), _) => {
                    let request = api::IntentRequest {
                        target,
                        action,
                        witness: args.witness,
                    };
                    post(client, &write, "intents", &request).await?
                }
                (None, Some(action)) => {
                    let request = api::OperationRequest {
                        target,
                        action,
                        command: args.command,
                        witness: args.witness,
                    };
                    post(client, &write, "operations", &request).await?
                }
                (None, None) => {
                    return Err(Failure::Usage(
                        "say what you did with --action, or what you are about to do with --intent"
                            .into(),
                    ));
                }
            }
        }
    };
    if json {
        print_json(&result);
    } else {
        print_write(&result, false);
        for entry in &result.entries {
            if entry.event_type == "intent_announced" {
                let intent = number_of(&entry.body, "intent");
                println!(
                    "intent {intent} announced on {id}: once done, `hereby act done {id} {intent}`; if not, `hereby act abandon {id} {intent}`",
                    id = result.id
                );
            }
        }
    }
    warn_collisions(&result);
    Ok(())
}

/// Warns on standard error about change collisions a write flagged.
fn warn_collisions(result: &api::WriteResult) {
    for entry in &result.entries {
        if entry.event_type != "change_collision" {
            continue;
        }
        let body = &entry.body;
        eprintln!(
            "warning: change collision {}: {} on {} and {} on {} in the same window — recovery cannot be attributed to either; the Incident Commander is notified (by e-mail, when they have an address)",
            number_of(body, "collision"),
            entry.actor,
            text_of(body, "target"),
            text_of(body, "earlier_by"),
            text_of(body, "earlier_target")
        );
    }
}
