//! The client commands: each turns its arguments into one API request and prints the answer,
//! readable by people, or as JSON with `--json`.

use clap::{Args, Subcommand};
use hereby_api as api;
use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::client::{Client, Failure};

/// The heading the options of every client command are listed under.
pub(crate) const CLIENT_OPTIONS: &str = "Client options";

/// The client options' ids, for hiding them where they do not apply.
pub(crate) const CLIENT_OPTION_IDS: [&str; 4] = ["server", "token", "client_config", "json"];

/// Where the server is and who we are.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// The hereby server [default: from the client config file, else http://127.0.0.1:8080]
    #[arg(long, global = true, env = "HEREBY_SERVER", help_heading = CLIENT_OPTIONS)]
    server: Option<String>,
    /// An API token (from `hereby init`, or `hereby token create`) [default: from the client
    /// config file]
    #[arg(
        long,
        global = true,
        env = "HEREBY_TOKEN",
        hide_env_values = true,
        help_heading = CLIENT_OPTIONS
    )]
    token: Option<String>,
    /// The client config file, a TOML file with `server` and `token`
    /// [default: $XDG_CONFIG_HOME/hereby/client.toml or ~/.config/hereby/client.toml]
    #[arg(
        long,
        global = true,
        env = "HEREBY_CLIENT_CONFIG",
        help_heading = CLIENT_OPTIONS
    )]
    client_config: Option<std::path::PathBuf>,
    /// Print the server's JSON instead of text.
    #[arg(long, global = true, help_heading = CLIENT_OPTIONS)]
    json: bool,
}

/// Options of every write on an incident.
#[derive(Debug, Args)]
pub(crate) struct Write {
    /// The incident, e.g. INC-7.
    pub(crate) incident: String,
    /// Only if the incident is still at this version (from `show`); otherwise exit 1.
    #[arg(long)]
    pub(crate) if_match: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Declare an incident; prints its id (e.g. INC-7). You become Incident Commander.
    Declare {
        title: String,
        /// SEV1 (worst) to SEV4 [default: SEV3]
        #[arg(long, short)]
        severity: Option<String>,
        /// What is happening, in a sentence or two (Markdown); responders see it, customers do not.
        #[arg(long)]
        summary: Option<String>,
        /// What customers may read, in their words (Markdown); the first-response template and
        /// the status page use it. Set or change it later with `hereby public-summary`.
        #[arg(long)]
        public_summary: Option<String>,
        /// An affected service (repeat for several).
        #[arg(long = "service")]
        services: Vec<String>,
        /// It may happen but is not hurting anyone yet.
        #[arg(long)]
        potential: bool,
        /// Visible only to its members and admins (security incidents).
        #[arg(long, conflicts_with = "public")]
        restricted: bool,
        /// Shown on the public status page, with its public updates.
        #[arg(long)]
        public: bool,
    },
    /// List incidents, newest first (active ones unless --all or --status).
    List {
        /// Comma-separated statuses, or `active`.
        #[arg(long)]
        status: Option<String>,
        /// Comma-separated severities.
        #[arg(long)]
        severity: Option<String>,
        /// Only incidents affecting this service.
        #[arg(long)]
        service: Option<String>,
        /// Include resolved, closed, called-off and handed-back incidents.
        #[arg(long)]
        all: bool,
        /// At most this many incidents (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Search incidents' titles, summaries, notes, updates, operations, decisions, follow-ups,
    /// links and post-mortems; best matches first, with the text that matched.
    #[command(
        after_help = "QUERY is words (stemmed: `timeout` finds \"timeouts\"; parts of words match too, after whole words), \"a phrase\" (quote it for the shell: '\"connection pool\"'), a prefix pay*, -left-out, INC-42, and filters: status:resolved (or status:open), sev:1, sev>=2, service:checkout, role:anna, kind:note|update|operation|decision|follow_up|postmortem|link|incident, since:2026-01-01, until:2026-02-01.\n\nExamples:\n  hereby search timeout service:checkout sev>=2\n  hereby search '\"connection pool\"' since:2026-01-01\n  hereby search kind:postmortem failover"
    )]
    Search {
        /// What to look for (several words are all required).
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        query: Vec<String>,
        /// At most this many incidents (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Skip this many (the next page).
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Figures across incidents: time to detect, acknowledge, mitigate, resolve and close
    /// (from each incident's start), as count, median and 90th percentile, overall and per
    /// severity, service, team and month; change-caused incidents (their time to mitigate is
    /// the failed deployment recovery time); follow-up health; and each service's
    /// unavailability budget this quarter.
    Insights {
        /// Incidents detected since: a span back from now (90d), a day or a time.
        #[arg(long, default_value = "90d")]
        since: String,
        /// Incidents detected before: a span back from now, a day or a time [default: now].
        #[arg(long)]
        until: Option<String>,
        /// Only incidents affecting this service.
        #[arg(long)]
        service: Option<String>,
        /// Only incidents affecting a service this team owns (by the catalogue).
        #[arg(long)]
        team: Option<String>,
        /// Only these severities, comma-separated (SEV1,SEV2).
        #[arg(long)]
        severity: Option<String>,
        /// Print the figures as CSV, one figure per row, for a spreadsheet.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
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
    /// Post a stakeholder update to an audience, e.g.
    /// `hereby update INC-7 --audience customers "Checkout is slow; next update 15:00"`.
    Update {
        #[command(flatten)]
        write: Write,
        /// internal, service_owners, customers, or group:<name>
        #[arg(long, default_value = "internal")]
        audience: String,
        /// Also show it on the public status page (the incident must be public).
        #[arg(long)]
        public: bool,
        /// With --public: show it without telling the status page's subscribers (a
        /// correction, say).
        #[arg(long, requires = "public")]
        quiet: bool,
        /// Start from a message template rendered for the incident (see `hereby template
        /// preview`) instead of a body of your own. What the template leaves open
        /// (`<time, UTC>` …) is filled in with --set, or in $VISUAL/$EDITOR on a terminal.
        #[arg(long, conflicts_with = "body")]
        template: Option<String>,
        /// Fill in a placeholder of the template by its first word, e.g. `--set time=14:30`
        /// for `<time, UTC>` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", requires = "template")]
        fill: Vec<String>,
        /// Open the text in $VISUAL/$EDITOR before posting, even with nothing left to fill in.
        #[arg(long, requires = "template")]
        edit: bool,
        /// The update, in Markdown.
        #[arg(required_unless_present = "template")]
        body: Option<String>,
    },
    /// Write the summary customers read (the first-response template and the status page use
    /// it; the internal summary never leaves the team), or remove it with --clear.
    PublicSummary {
        #[command(flatten)]
        write: Write,
        /// The text, in Markdown.
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        text: Option<String>,
        /// Remove the public summary.
        #[arg(long)]
        clear: bool,
    },
    /// Change who may see an incident: internal, public (also on the status page) or
    /// restricted (members and admins only).
    Visibility {
        #[command(flatten)]
        write: Write,
        visibility: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Record an operations action (what you changed, on what), or announce it first with
    /// --intent; then `act done` or `act abandon` it. The Incident Commander acknowledges
    /// changes with `act ack` and may require a witness with `act require-witness`.
    Act(crate::judgement_commands::ActArgs),
    #[command(flatten)]
    Judgement(crate::judgement_commands::JudgementCommand),
    /// Roles: assign, unassign, and the two-step IC hand-off.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Candidates a route in triage mode opened from alerts: accept one (you lead it),
    /// decline it (not an incident), or merge it into another incident.
    #[command(subcommand)]
    Triage(TriageCommand),
    /// The public status page's components (admins change them).
    #[command(subcommand)]
    Component(crate::publishing::ComponentCommand),
    /// The public status page's identity: its name, address, time zone and description
    /// (admins change it).
    #[command(subcommand, name = "status-page")]
    StatusPage(crate::publishing::StatusPageCommand),
    /// Scheduled maintenance on status page components: list, show, schedule, change the
    /// plan, post an update or move it on, remove one that has not begun.
    #[command(subcommand)]
    Maintenance(crate::publishing::MaintenanceCommand),
    /// Message templates for stakeholder updates: list, show, preview for an incident, and
    /// (admins) add, change or remove.
    #[command(subcommand)]
    Template(crate::publishing::TemplateCommand),
    /// Named admin settings of every kind (message and post-mortem templates, blame rules,
    /// services): list the kinds, list, show, and (admins) set or remove one.
    #[command(subcommand)]
    Setting(crate::settings_commands::SettingCommand),
    /// Change the severity (a reason is required).
    Severity {
        #[command(flatten)]
        write: Write,
        severity: String,
        /// Why the severity changes (required; kept on the timeline).
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
        /// Why (required for called_off, handed_back and reopening a resolved incident).
        #[arg(long)]
        reason: Option<String>,
        /// Close although the post-mortem is not reviewed or follow-ups are open (needs
        /// --reason, which the timeline keeps).
        #[arg(long)]
        override_close_checks: bool,
    },
    /// Service is back to normal.
    Resolve {
        #[command(flatten)]
        write: Write,
        /// Why, if it needs saying (kept on the timeline).
        #[arg(long)]
        reason: Option<String>,
    },
    /// It was not an incident after all.
    CallOff {
        #[command(flatten)]
        write: Write,
        /// Why it is not an incident after all (required).
        #[arg(long)]
        reason: String,
    },
    /// Hand it back to ordinary support.
    HandBack {
        #[command(flatten)]
        write: Write,
        /// Why ordinary support takes it back (required).
        #[arg(long)]
        reason: String,
    },
    /// Record when the impact started and ended (RFC 3339, e.g. 2026-11-21T09:30:00Z).
    Impact {
        #[command(flatten)]
        write: Write,
        /// When the impact started, e.g. 2026-11-21T09:30:00Z.
        #[arg(long)]
        start: Option<String>,
        /// When the impact ended [default: still ongoing].
        #[arg(long)]
        end: Option<String>,
    },
    /// Set a milestone's time by hand, saying why (the Incident Commander): started, detected,
    /// acknowledged, mitigated, resolved or closed. It must stay in that order.
    Milestone {
        #[command(flatten)]
        write: Write,
        /// started, detected, acknowledged, mitigated, resolved or closed.
        milestone: String,
        /// When, e.g. 2026-11-21T09:30:00Z (not in the future).
        at: String,
        /// Why the timeline's own time is not the right one.
        #[arg(long)]
        reason: String,
    },
    /// Link a ticket, release, pull request, document or chat.
    Link {
        #[command(flatten)]
        write: Write,
        /// ticket, release, pr, doc or chat.
        kind: String,
        url: String,
        /// A title to show instead of the address.
        #[arg(long)]
        title: Option<String>,
    },
    /// Action items: add, update, done, won't fix, reopen, list.
    #[command(subcommand)]
    Action(ActionCommand),
    /// Users of the installation (admins).
    #[command(subcommand)]
    User(UserCommand),
    /// Your API tokens (admins: anyone's).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Integrations monitoring sends alerts to: Alertmanager, PagerDuty Events v2, Opsgenie,
    /// generic (admins).
    #[command(subcommand)]
    Integration(crate::alert_commands::IntegrationCommand),
    /// Alert groups: list them, show one with its alerts.
    #[command(subcommand)]
    Alert(crate::alert_commands::AlertCommand),
    /// Chat: link your chat account (`hereby chat code`, then `inc link CODE` in chat), or
    /// (admins) link anyone's.
    #[command(subcommand)]
    Chat(crate::chat_commands::ChatCommand),
    /// Notification channels: signed webhooks, Slack/Mattermost, e-mail (admins).
    #[command(subcommand)]
    Channel(crate::notify_commands::ChannelCommand),
    /// Which events go to which channel (admins).
    #[command(subcommand)]
    Subscription(crate::notify_commands::SubscriptionCommand),
    /// The notification outbox: list deliveries, retry a dead one (admins).
    #[command(subcommand)]
    Delivery(crate::notify_commands::DeliveryCommand),
    /// Who may do what on an incident: the permission table in force (set with `hereby serve
    /// --permissions FILE`). With --toml, the table as a file to start your own from.
    Permissions {
        /// Print the table as TOML instead of a table.
        #[arg(long)]
        toml: bool,
    },
    /// Attach a file (log, screenshot, dump) as evidence; stored by its SHA-256.
    Attach {
        #[command(flatten)]
        write: Write,
        file: std::path::PathBuf,
        /// The name to record [default: the file's name].
        #[arg(long)]
        name: Option<String>,
        /// The media type.
        #[arg(long, default_value = "application/octet-stream")]
        media_type: String,
    },
    /// List an incident's attachments.
    Attachments { incident: String },
    /// Check hash chains on the server: one incident, or (admins) all of them. With --head,
    /// check a post-mortem export against its footer ("Timeline INC-7 at event N, hash-chain
    /// head HEX"): `hereby verify INC-7 --head HEX --at N`.
    Verify {
        incident: Option<String>,
        /// The hash-chain head an export's footer names; succeed only if event N of the
        /// incident's intact chain has exactly this hash.
        #[arg(long, requires = "incident")]
        head: Option<String>,
        /// The event number in the footer [default: the incident's latest event].
        #[arg(long, requires = "head")]
        at: Option<u64>,
    },
    /// Write every timeline entry you may see as JSON lines (to a file, with progress).
    Export {
        /// Write here instead of standard output; must not exist yet.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// Post-mortems: draft from the timeline, edit, lint, review, export; templates and
    /// blame rules.
    #[command(subcommand)]
    Postmortem(crate::postmortem_commands::PostmortemCommand),
    /// Post-mortem review meetings: upcoming ones, an incident's agenda and minutes, record a
    /// meeting, move the next one, its calendar invitation.
    #[command(subcommand)]
    Review(crate::postmortem_commands::ReviewCommand),
    /// Save a consistent copy of the server's SQLite database (admins).
    Backup {
        /// The file to write; must not exist yet.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ActionCommand {
    /// Add an action item.
    Add {
        #[command(flatten)]
        write: Write,
        text: String,
        /// A user, or role:<key> (e.g. role:operations).
        #[arg(long)]
        owner: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        due: Option<String>,
        /// A long-term follow-up (keeps the incident from closing) rather than a task.
        #[arg(long)]
        follow_up: bool,
        /// The item's address in your tracker.
        #[arg(long)]
        tracker: Option<String>,
    },
    /// Change an item's owner, due date or tracker link.
    Update {
        #[command(flatten)]
        write: Write,
        item: u32,
        /// The new owner: a user, or role:<key> for whoever holds that role.
        #[arg(long)]
        owner: Option<String>,
        /// The new due date, YYYY-MM-DD.
        #[arg(long)]
        due: Option<String>,
        /// The item's new address in your tracker.
        #[arg(long)]
        tracker: Option<String>,
    },
    /// Mark an item done.
    Done {
        #[command(flatten)]
        write: Write,
        item: u32,
    },
    /// Decide not to do an item, saying why.
    Wontfix {
        #[command(flatten)]
        write: Write,
        item: u32,
        /// Why it will not be done (required).
        #[arg(long)]
        reason: String,
    },
    /// Open a done or won't-fix item again.
    Reopen {
        #[command(flatten)]
        write: Write,
        item: u32,
    },
    /// Open a follow-up as an issue in a tracker (a github, gitlab or tracker channel); from
    /// then on the tracker says whether it is done, and people close it there.
    Export {
        #[command(flatten)]
        write: Write,
        item: u32,
        /// The tracker's channel name (see `hereby channel list`).
        #[arg(long)]
        tracker: String,
    },
    /// Stop following a follow-up's tracker issue (deleted, moved), saying why; its state is
    /// kept in hereby again.
    Unlink {
        #[command(flatten)]
        write: Write,
        item: u32,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Show an incident's follow-ups kept in trackers: their issue, what the tracker said
    /// last, when, and any sync error.
    Tracked { incident: String },
    /// List an incident's action items.
    List { incident: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user (role: viewer, responder or admin).
    Add {
        name: String,
        /// viewer, responder or admin.
        #[arg(long, default_value = "responder")]
        role: String,
    },
    /// List users.
    List,
    /// Disable a user: their tokens stop working; their history stays.
    Disable { name: String },
    /// Enable a disabled user again.
    Enable { name: String },
    /// Change a user's role.
    Role { name: String, role: String },
    /// Set a password for signing in to the web UI: yours, or (admins) NAME's. Asks twice on
    /// a terminal; otherwise reads one line from standard input (e.g. `… | hereby user
    /// passwd`). At least 10 characters.
    Passwd {
        /// The user [default: you].
        name: Option<String>,
    },
    /// Set where NAME's personal notifications (a role given to them, update reminders) are
    /// e-mailed; without an address, clear it. Your own, or (admins) anyone's.
    Email {
        name: String,
        address: Option<String>,
    },
    /// Show or set the working hours NAME's incident work is judged by in the workload
    /// figures (working, late or sleeping time). Without options, shows them. Your own, or
    /// (admins) anyone's. Defaults: UTC, 08:00-19:00, late until 23:00, mon-fri.
    Hours {
        name: String,
        /// An IANA time zone, e.g. Europe/Berlin.
        #[arg(long)]
        time_zone: Option<String>,
        /// Local working hours, e.g. 09:00-17:30.
        #[arg(long)]
        working: Option<String>,
        /// Until when the evening counts as late rather than sleeping, e.g. 23:00 (24:00 for
        /// midnight).
        #[arg(long)]
        late_until: Option<String>,
        /// Working days, e.g. mon-fri, mon,tue,thu or none; the working hours of other days
        /// count as late.
        #[arg(long)]
        days: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token and print it (shown this once).
    Create {
        label: String,
        /// For another user (admins).
        #[arg(long)]
        user: Option<String>,
    },
    /// List tokens.
    List,
    /// Revoke a token by id.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TriageCommand {
    /// Accept a candidate: it becomes an incident under investigation, and you its Incident
    /// Commander.
    Accept {
        #[command(flatten)]
        write: Write,
    },
    /// Decline a candidate: it was not an incident, and no figure counts it.
    Decline {
        #[command(flatten)]
        write: Write,
        /// Why it is not an incident (required; kept on the timeline).
        #[arg(long)]
        reason: String,
    },
    /// Merge a candidate into another incident, which takes its alert groups.
    Merge {
        /// The candidate, e.g. INC-9.
        incident: String,
        /// The incident it goes into, e.g. INC-7.
        #[arg(long)]
        into: String,
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
    /// Take command of an incident nobody commands (one a route opened from alerts).
    Take {
        #[command(flatten)]
        write: Write,
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
        /// Why not (the Incident Commander is told).
        #[arg(long)]
        reason: Option<String>,
    },
}

pub(crate) const NO_BODY: Option<&()> = None;

/// What the client config file may hold.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    server: Option<String>,
    token: Option<String>,
}

/// Reads the client config file: the one named, or the default one if it exists.
fn client_file(named: Option<&std::path::Path>) -> Result<ClientFile, Failure> {
    let default = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".config"))
        })
        .map(|base| base.join("hereby").join("client.toml"));
    let path = match (named, default) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(path)) if path.exists() => path,
        _ => return Ok(ClientFile::default()),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
}

/// Runs one client command.
pub(crate) async fn run(connection: Connection, command: ClientCommand) -> Result<(), Failure> {
    let file = client_file(connection.client_config.as_deref())?;
    let server = connection
        .server
        .or(file.server)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let secret = connection.token.or(file.token);
    let client = Client::new(&server, secret.as_deref())?;
    let json = connection.json;
    match command {
        ClientCommand::Declare {
            title,
            severity,
            summary,
            public_summary,
            services,
            potential,
            restricted,
            public,
        } => {
            let request = api::DeclareRequest {
                title,
                summary,
                public_summary,
                severity,
                potential,
                services,
                visibility: if restricted {
                    Some("restricted".to_owned())
                } else if public {
                    Some("public".to_owned())
                } else {
                    None
                },
            };
            let document: api::IncidentDocument = client
                .send(Method::POST, "/incidents", Some(&request), None)
                .await?;
            if json {
                print_json(&document);
            } else {
                println!("{}", document.id);
                // Each service's bar, so the declarer can check this is an incident and not a
                // support ticket. Only a reminder: the declaration is already made.
                if !document.services.is_empty()
                    && let Ok(catalogue) = client
                        .send::<api::Services>(Method::GET, "/services", None::<&()>, None)
                        .await
                {
                    for name in &document.services {
                        match catalogue.services.iter().find(|s| &s.name == name) {
                            Some(service) => eprintln!(
                                "{name} ({}): an incident when {}",
                                service.criticality,
                                service
                                    .incident_definition
                                    .as_deref()
                                    .unwrap_or("(no definition recorded)")
                            ),
                            None => eprintln!("{name}: not in the service catalogue"),
                        }
                    }
                }
            }
        }
        ClientCommand::List {
            status,
            severity,
            service,
            all,
            limit,
        } => {
            let status = status.or_else(|| (!all).then(|| "active".to_owned()));
            let mut query = vec![format!("limit={limit}")];
            for (name, value) in [
                ("status", status),
                ("severity", severity),
                ("service", service),
            ] {
                if let Some(value) = value {
                    query.push(format!("{name}={}", encode(&value)));
                }
            }
            let page: api::IncidentPage = client
                .send(
                    Method::GET,
                    &format!("/incidents?{}", query.join("&")),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&page);
            } else {
                print_list(&page.incidents);
            }
        }
        ClientCommand::Search {
            query,
            limit,
            offset,
        } => {
            let page: api::SearchPage = client
                .send(
                    Method::GET,
                    &format!(
                        "/search?q={}&limit={limit}&offset={offset}",
                        encode(&query.join(" "))
                    ),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&page);
            } else {
                print_search(&page);
            }
        }
        ClientCommand::Insights {
            since,
            until,
            service,
            team,
            severity,
            csv,
        } => {
            let mut query = vec![format!("since={}", encode(&since))];
            for (name, value) in [
                ("until", until),
                ("service", service),
                ("team", team),
                ("severity", severity),
            ] {
                if let Some(value) = value {
                    query.push(format!("{name}={}", encode(&value)));
                }
            }
            let insights: api::Insights = client
                .send(
                    Method::GET,
                    &format!("/insights?{}", query.join("&")),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&insights);
            } else if csv {
                print!("{}", api::insights_csv(&insights));
            } else {
                print_insights(&insights);
            }
        }
        ClientCommand::Show { incident } => {
            let document: api::IncidentDocument = client
                .send(
                    Method::GET,
                    &format!("/incidents/{}", encode(&incident)),
                    NO_BODY,
                    None,
                )
                .await?;
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
                        &format!(
                            "/incidents/{}/timeline?after={after}&limit=1000",
                            encode(&incident)
                        ),
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
                // One sentence per entry, as on the page; `--json` has the events.
                for entry in &entries {
                    let text = if entry.text.is_empty() {
                        format!("{} {}", entry.actor, entry.event_type.replace('_', " "))
                    } else {
                        entry.text.clone()
                    };
                    println!("{}  #{:<4} {text}", human_time(&entry.at), entry.sequence);
                }
            }
        }
        ClientCommand::PublicSummary { write, text, clear } => {
            let text = if clear { None } else { text };
            let result: api::WriteResult = client
                .send(
                    Method::PUT,
                    &incident_path(&write.incident, "public-summary"),
                    Some(&api::PublicSummaryRequest { text }),
                    write.if_match,
                )
                .await?;
            print_write(&result, json);
        }
        ClientCommand::Note { write, text } => {
            post(&client, &write, "notes", &api::NoteRequest { text }, json).await?;
        }
        ClientCommand::Update {
            write,
            audience,
            public,
            quiet,
            template,
            fill,
            edit,
            body,
        } => {
            let body = match (template, body) {
                (Some(template), _) => {
                    let message =
                        crate::publishing::preview(&client, &write.incident, &template).await?;
                    let mut text =
                        format!("**{}**\n\n{}", message.subject, message.body.trim_end());
                    for pair in &fill {
                        text = fill_in(&text, pair)?;
                    }
                    let open = hereby_core::placeholders::placeholders(&text)
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>();
                    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
                    if !open.is_empty() && !edit && !terminal {
                        return Err(Failure::Usage(format!(
                            "the template leaves {} to fill in: give each with --set NAME=VALUE (by its first word), or run this in a terminal to edit the text",
                            open.join(", ")
                        )));
                    }
                    if edit || !open.is_empty() {
                        let path = crate::editor::scratch(
                            &format!("{}-{template}", write.incident.to_lowercase()),
                            &text,
                        )?;
                        text = crate::editor::run_editor(&path)?;
                        let _ = std::fs::remove_file(&path);
                    }
                    if text.trim().is_empty() {
                        return Err(Failure::Rejected(
                            "the update is empty; nothing was posted".into(),
                        ));
                    }
                    text
                }
                (None, Some(body)) => body,
                (None, None) => {
                    return Err(Failure::Usage(
                        "give the update's text or --template".into(),
                    ));
                }
            };
            let request = api::UpdateRequest {
                audience,
                body,
                public,
                quiet,
            };
            post(&client, &write, "updates", &request, json).await?;
        }
        ClientCommand::Visibility {
            write,
            visibility,
            reason,
        } => {
            let request = api::VisibilityRequest { visibility, reason };
            post(&client, &write, "visibility", &request, json).await?;
        }
        ClientCommand::Act(args) => crate::judgement_commands::act(&client, args, json).await?,
        ClientCommand::Judgement(command) => {
            crate::judgement_commands::run(&client, command, json).await?;
        }
        ClientCommand::Role(RoleCommand::Assign {
            write,
            role,
            person,
        }) => {
            post(
                &client,
                &write,
                "roles",
                &api::RoleRequest { role, person },
                json,
            )
            .await?;
        }
        ClientCommand::Role(RoleCommand::Unassign {
            write,
            role,
            person,
        }) => {
            let path = format!(
                "/incidents/{}/roles/{}/{}",
                encode(&write.incident),
                encode(&role),
                encode(&person)
            );
            let result: api::WriteResult = client
                .send(Method::DELETE, &path, NO_BODY, write.if_match)
                .await?;
            print_write(&result, json);
        }
        ClientCommand::Role(RoleCommand::Handoff { write, to }) => {
            post(
                &client,
                &write,
                "handoff",
                &api::HandoffRequest { to },
                json,
            )
            .await?;
        }
        ClientCommand::Triage(TriageCommand::Accept { write }) => {
            post(&client, &write, "triage/accept", &json!({}), json).await?;
        }
        ClientCommand::Triage(TriageCommand::Decline { write, reason }) => {
            post(
                &client,
                &write,
                "triage/decline",
                &api::ReasonRequest {
                    reason: Some(reason),
                },
                json,
            )
            .await?;
        }
        ClientCommand::Triage(TriageCommand::Merge { incident, into }) => {
            let result: api::WriteResult = client
                .send(
                    Method::POST,
                    &format!("/incidents/{}/triage/merge", encode(&incident)),
                    Some(&api::MergeRequest { into }),
                    None,
                )
                .await?;
            print_write(&result, json);
        }
        ClientCommand::Role(RoleCommand::Take { write }) => {
            post(&client, &write, "take-command", &json!({}), json).await?;
        }
        ClientCommand::Role(RoleCommand::Accept { write }) => {
            post(&client, &write, "handoff/accept", &json!({}), json).await?;
        }
        ClientCommand::Role(RoleCommand::Decline { write, reason }) => {
            post(
                &client,
                &write,
                "handoff/decline",
                &api::ReasonRequest { reason },
                json,
            )
            .await?;
        }
        ClientCommand::Severity {
            write,
            severity,
            reason,
            potential,
            live,
        } => {
            let potential = if potential {
                Some(true)
            } else if live {
                Some(false)
            } else {
                None
            };
            post(
                &client,
                &write,
                "severity",
                &api::SeverityRequest {
                    severity,
                    potential,
                    reason,
                },
                json,
            )
            .await?;
        }
        ClientCommand::Status {
            write,
            status,
            reason,
            override_close_checks,
        } => {
            let request = api::StatusRequest {
                status,
                reason,
                override_close_checks,
            };
            post(&client, &write, "status", &request, json).await?;
        }
        ClientCommand::Resolve { write, reason } => {
            post(
                &client,
                &write,
                "resolve",
                &api::ReasonRequest { reason },
                json,
            )
            .await?;
        }
        ClientCommand::CallOff { write, reason } => {
            post(
                &client,
                &write,
                "call-off",
                &api::ReasonRequest {
                    reason: Some(reason),
                },
                json,
            )
            .await?;
        }
        ClientCommand::HandBack { write, reason } => {
            post(
                &client,
                &write,
                "hand-back",
                &api::ReasonRequest {
                    reason: Some(reason),
                },
                json,
            )
            .await?;
        }
        ClientCommand::Impact { write, start, end } => {
            let path = format!("/incidents/{}/impact", encode(&write.incident));
            let request = api::ImpactRequest { start, end };
            let result: api::WriteResult = client
                .send(Method::PUT, &path, Some(&request), write.if_match)
                .await?;
            print_write(&result, json);
        }
        ClientCommand::Milestone {
            write,
            milestone,
            at,
            reason,
        } => {
            post(
                &client,
                &write,
                "milestones",
                &api::MilestoneRequest {
                    milestone,
                    at,
                    reason,
                },
                json,
            )
            .await?;
        }
        ClientCommand::Link {
            write,
            kind,
            url,
            title,
        } => {
            post(
                &client,
                &write,
                "links",
                &api::LinkRequest { kind, url, title },
                json,
            )
            .await?;
        }
        ClientCommand::Action(command) => action(&client, command, json).await?,
        ClientCommand::User(command) => user(&client, command, json).await?,
        ClientCommand::Token(command) => token(&client, command, json).await?,
        ClientCommand::Component(command) => {
            crate::publishing::component(&client, command, json).await?
        }
        ClientCommand::StatusPage(command) => {
            crate::publishing::status_page(&client, command, json).await?
        }
        ClientCommand::Maintenance(command) => {
            crate::publishing::maintenance(&client, command, json).await?
        }
        ClientCommand::Template(command) => {
            crate::publishing::template(&client, command, json).await?
        }
        ClientCommand::Setting(command) => {
            crate::settings_commands::setting(&client, command, json).await?;
        }
        ClientCommand::Integration(command) => {
            crate::alert_commands::integration(&client, command, json).await?;
        }
        ClientCommand::Chat(command) => {
            crate::chat_commands::chat(&client, command, json).await?;
        }
        ClientCommand::Alert(command) => {
            crate::alert_commands::alert(&client, command, json).await?;
        }
        ClientCommand::Channel(command) => {
            crate::notify_commands::channel(&client, command, json).await?;
        }
        ClientCommand::Subscription(command) => {
            crate::notify_commands::subscription(&client, command, json).await?;
        }
        ClientCommand::Delivery(command) => {
            crate::notify_commands::delivery(&client, command, json).await?;
        }
        ClientCommand::Attach {
            write,
            file,
            name,
            media_type,
        } => {
            let content = std::fs::read(&file)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
            let name = name
                .or_else(|| {
                    file.file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                })
                .ok_or_else(|| {
                    Failure::Usage(format!("{} has no file name; pass --name", file.display()))
                })?;
            let path = format!(
                "/incidents/{}/attachments?name={}",
                encode(&write.incident),
                encode(&name)
            );
            let result: api::WriteResult = client.upload(&path, &media_type, content).await?;
            print_write(&result, json);
        }
        ClientCommand::Permissions { toml } => {
            let table: api::PermissionTable = client
                .send(Method::GET, "/permissions", NO_BODY, None)
                .await?;
            if json {
                print_json(&table);
            } else if toml {
                print!("{}", table.toml);
            } else {
                println!("{:<11} {:<45} covers", "capability", "who may");
                for row in &table.rows {
                    println!(
                        "{:<11} {:<45} {}",
                        row.capability,
                        row.who.join(", "),
                        row.covers
                    );
                }
            }
        }
        ClientCommand::Attachments { incident } => {
            let list: Vec<api::Attachment> = client
                .send(
                    Method::GET,
                    &format!("/incidents/{}/attachments", encode(&incident)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&list);
            } else {
                for attachment in &list {
                    println!(
                        "{}  {:>10}  {:<24} {}  {}",
                        attachment.sha256,
                        attachment.size,
                        attachment.media_type,
                        attachment.name,
                        attachment.attached_by
                    );
                }
            }
        }
        ClientCommand::Verify {
            incident: Some(incident),
            head: Some(head),
            at,
        } => {
            crate::postmortem_commands::verify_export(&client, &incident, &head, at, json).await?;
        }
        ClientCommand::Verify { incident, .. } => verify(&client, incident, json).await?,
        ClientCommand::Postmortem(command) => {
            crate::postmortem_commands::postmortem(&client, command, json).await?;
        }
        ClientCommand::Review(command) => {
            crate::postmortem_commands::review(&client, command, json).await?;
        }
        ClientCommand::Export { output } => export(&client, output).await?,
        ClientCommand::Backup { file } => backup(&client, &file).await?,
    }
    Ok(())
}

async fn verify(client: &Client, incident: Option<String>, json: bool) -> Result<(), Failure> {
    match incident {
        Some(incident) => {
            let result: api::Verification = client
                .send(
                    Method::GET,
                    &format!("/incidents/{}/verify", encode(&incident)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&result);
            } else if result.intact {
                println!(
                    "{}: {} events, chain intact, head {}",
                    result.id,
                    result.events,
                    result.head.as_deref().unwrap_or("-")
                );
            }
            match result.problem {
                None => Ok(()),
                Some(problem) => Err(Failure::Rejected(problem)),
            }
        }
        None => {
            let report: api::VerificationReport =
                client.send(Method::GET, "/verify", NO_BODY, None).await?;
            if json {
                print_json(&report);
            } else if report.problems.is_empty() {
                println!(
                    "verified {} events in {} incidents: every hash chain is intact",
                    report.events, report.incidents
                );
            }
            if report.problems.is_empty() {
                Ok(())
            } else {
                for problem in &report.problems {
                    println!("{problem}");
                }
                Err(Failure::Rejected(format!(
                    "{} of {} incidents have a broken hash chain",
                    report.problems.len(),
                    report.incidents
                )))
            }
        }
    }
}

/// Creates `path` for writing, refusing to overwrite anything.
pub(crate) fn create_new(path: &std::path::Path) -> Result<std::fs::File, Failure> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", path.display())))
}

async fn export(client: &Client, output: Option<std::path::PathBuf>) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut response = client.raw(Method::GET, "/export").await?;
    let last = response
        .headers()
        .get("x-hereby-last-position")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(0);
    let (mut sink, progress): (Box<dyn std::io::Write>, Option<indicatif::ProgressBar>) =
        match &output {
            Some(path) => {
                let bar = indicatif::ProgressBar::new(last);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} events ({per_sec}, {eta} left)",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                (
                    Box::new(std::io::BufWriter::new(create_new(path)?)),
                    Some(bar),
                )
            }
            None => (Box::new(std::io::stdout().lock()), None),
        };
    let broken = |e: String| Failure::Unreachable(format!("the export broke off: {e}"));
    let mut lines = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|e| broken(e.to_string()))? {
        sink.write_all(&chunk).map_err(|e| broken(e.to_string()))?;
        if let Some(bar) = &progress {
            // Progress follows the position of the last complete line written.
            if let Some(last_line) = chunk
                .split(|byte| *byte == b'\n')
                .rev()
                .find(|line| !line.is_empty())
                && let Ok(entry) = serde_json::from_slice::<api::TimelineEntry>(last_line)
            {
                bar.set_position(u64::try_from(entry.position).unwrap_or(0));
            }
        }
        lines += chunk.iter().filter(|byte| **byte == b'\n').count() as u64;
    }
    sink.flush().map_err(|e| broken(e.to_string()))?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
        eprintln!("hereby: exported {lines} timeline entries");
    }
    Ok(())
}

async fn backup(client: &Client, file: &std::path::Path) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut sink = create_new(file)?;
    let broken = |e: String| Failure::Unreachable(format!("the backup broke off: {e}"));
    let result = async {
        let mut response = client.raw(Method::POST, "/backup").await?;
        let mut bytes = 0usize;
        while let Some(chunk) = response.chunk().await.map_err(|e| broken(e.to_string()))? {
            sink.write_all(&chunk).map_err(|e| broken(e.to_string()))?;
            bytes += chunk.len();
        }
        sink.sync_all().map_err(|e| broken(e.to_string()))?;
        Ok::<usize, Failure>(bytes)
    }
    .await;
    match result {
        Ok(bytes) => {
            eprintln!("hereby: wrote {} ({bytes} bytes)", file.display());
            Ok(())
        }
        Err(failure) => {
            // A partial copy is worse than none.
            let _ = std::fs::remove_file(file);
            Err(failure)
        }
    }
}

async fn action(client: &Client, command: ActionCommand, json: bool) -> Result<(), Failure> {
    match command {
        ActionCommand::Add {
            write,
            text,
            owner,
            due,
            follow_up,
            tracker,
        } => {
            let request = api::ActionItemRequest {
                text,
                owner,
                due,
                kind: Some(if follow_up { "follow_up" } else { "task" }.to_owned()),
                tracker_url: tracker,
            };
            post(client, &write, "action-items", &request, json).await
        }
        ActionCommand::Update {
            write,
            item,
            owner,
            due,
            tracker,
        } => {
            let path = format!("/incidents/{}/action-items/{item}", encode(&write.incident));
            let request = api::ActionItemChange {
                owner,
                due,
                tracker_url: tracker,
            };
            let result: api::WriteResult = client
                .send(Method::PATCH, &path, Some(&request), write.if_match)
                .await?;
            print_write(&result, json);
            Ok(())
        }
        ActionCommand::Done { write, item } => {
            post(
                client,
                &write,
                &format!("action-items/{item}/done"),
                &json!({}),
                json,
            )
            .await
        }
        ActionCommand::Wontfix {
            write,
            item,
            reason,
        } => {
            let request = api::ReasonRequest {
                reason: Some(reason),
            };
            post(
                client,
                &write,
                &format!("action-items/{item}/wont-fix"),
                &request,
                json,
            )
            .await
        }
        ActionCommand::Reopen { write, item } => {
            post(
                client,
                &write,
                &format!("action-items/{item}/reopen"),
                &json!({}),
                json,
            )
            .await
        }
        ActionCommand::Export {
            write,
            item,
            tracker,
        } => {
            let request = api::ExportRequest { tracker };
            post(
                client,
                &write,
                &format!("action-items/{item}/export"),
                &request,
                json,
            )
            .await
        }
        ActionCommand::Unlink {
            write,
            item,
            reason,
        } => {
            let request = api::UnlinkRequest { reason };
            post(
                client,
                &write,
                &format!("action-items/{item}/unlink"),
                &request,
                json,
            )
            .await
        }
        ActionCommand::Tracked { incident } => {
            let tracked: Vec<api::TrackedFollowUp> = client
                .send(
                    Method::GET,
                    &format!("/incidents/{}/tracked-items", encode(&incident)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&tracked);
            } else if tracked.is_empty() {
                println!("no follow-ups kept in a tracker");
            } else {
                println!(
                    "{:>4}  {:<16} {:<24} {:<8} {:<26} SYNC",
                    "ITEM", "TRACKER", "ISSUE", "STATE", "SYNCED"
                );
                for row in &tracked {
                    println!(
                        "{:>4}  {:<16} {:<24} {:<8} {:<26} {}",
                        row.item,
                        row.tracker,
                        row.key.as_deref().unwrap_or("(being opened)"),
                        row.state.as_deref().unwrap_or("-"),
                        row.synced_at.as_deref().unwrap_or("never"),
                        row.sync_error
                            .as_deref()
                            .map_or_else(|| "ok".to_owned(), |error| format!("failed: {error}"))
                    );
                }
            }
            Ok(())
        }
        ActionCommand::List { incident } => {
            let document: api::IncidentDocument = client
                .send(
                    Method::GET,
                    &format!("/incidents/{}", encode(&incident)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&document.action_items);
            } else if document.action_items.is_empty() {
                println!("no action items");
            } else {
                println!(
                    "{:>4}  {:<9} {:<10} {:<20} {:<11} TEXT",
                    "ITEM", "STATE", "KIND", "OWNER", "DUE"
                );
                for item in &document.action_items {
                    let tracked = match (&item.tracker, &item.tracker_key) {
                        (Some(tracker), Some(key)) => format!(" [{tracker} {key}]"),
                        (Some(tracker), None) => format!(" [being opened in {tracker}]"),
                        _ => String::new(),
                    };
                    println!(
                        "{:>4}  {:<9} {:<10} {:<20} {:<11} {}{tracked}",
                        item.item,
                        item.state,
                        item.kind,
                        item.owner,
                        item.due.as_deref().unwrap_or("-"),
                        item.text
                    );
                }
            }
            Ok(())
        }
    }
}

async fn user(client: &Client, command: UserCommand, json: bool) -> Result<(), Failure> {
    let changed =
        |role: Option<String>, disabled: Option<bool>| api::UserChangeRequest { role, disabled };
    let result: Vec<api::User> = match command {
        UserCommand::Add { name, role } => {
            let request = api::NewUserRequest {
                name,
                role: Some(role),
            };
            vec![
                client
                    .send(Method::POST, "/users", Some(&request), None)
                    .await?,
            ]
        }
        UserCommand::List => client.send(Method::GET, "/users", NO_BODY, None).await?,
        UserCommand::Disable { name } => {
            let path = format!("/users/{}", encode(&name));
            vec![
                client
                    .send(Method::PATCH, &path, Some(&changed(None, Some(true))), None)
                    .await?,
            ]
        }
        UserCommand::Enable { name } => {
            let path = format!("/users/{}", encode(&name));
            vec![
                client
                    .send(
                        Method::PATCH,
                        &path,
                        Some(&changed(None, Some(false))),
                        None,
                    )
                    .await?,
            ]
        }
        UserCommand::Role { name, role } => {
            let path = format!("/users/{}", encode(&name));
            vec![
                client
                    .send(Method::PATCH, &path, Some(&changed(Some(role), None)), None)
                    .await?,
            ]
        }
        UserCommand::Passwd { name } => return passwd(client, name, json).await,
        UserCommand::Email { name, address } => {
            return crate::notify_commands::user_email(client, name, address, json).await;
        }
        UserCommand::Hours {
            name,
            time_zone,
            working,
            late_until,
            days,
        } => {
            let path = format!("/users/{}/working-hours", encode(&name));
            let setting = [&time_zone, &working, &late_until, &days]
                .iter()
                .any(|field| field.is_some());
            let hours: api::WorkingHours = if setting {
                let request = api::SetWorkingHours {
                    time_zone,
                    working,
                    late_until,
                    days,
                };
                client
                    .send(Method::PUT, &path, Some(&request), None)
                    .await?
            } else {
                client.send(Method::GET, &path, NO_BODY, None).await?
            };
            if json {
                print_json(&hours);
            } else {
                println!(
                    "{name}: {} working {} on {}, late until {}{}",
                    hours.time_zone,
                    hours.working,
                    hours.days,
                    hours.late_until,
                    if hours.default { " (the defaults)" } else { "" }
                );
            }
            return Ok(());
        }
    };
    if json {
        print_json(&result);
    } else {
        println!("{:<24} {:<10} {:<9} CREATED", "NAME", "ROLE", "STATE");
        for user in &result {
            let state = if user.disabled { "disabled" } else { "active" };
            println!(
                "{:<24} {:<10} {:<9} {}",
                user.name, user.role, state, user.created_at
            );
        }
    }
    Ok(())
}

/// `hereby user passwd [NAME]`: the password is read first, so nothing is sent unless it is.
async fn passwd(client: &Client, name: Option<String>, json: bool) -> Result<(), Failure> {
    let name = match name {
        Some(name) => name,
        None => {
            let me: api::User = client.send(Method::GET, "/me", NO_BODY, None).await?;
            me.name
        }
    };
    let password = read_new_password()?;
    let path = format!("/users/{}/password", encode(&name));
    let request = api::SetPassword { password };
    let () = client
        .send(Method::PUT, &path, Some(&request), None)
        .await?;
    if json {
        print_json(&json!({ "user": name, "password_set": true }));
    } else {
        println!("password set for {name}");
    }
    Ok(())
}

/// A new password: typed twice without echo on a terminal, else the first line of standard
/// input without its line ending.
fn read_new_password() -> Result<String, Failure> {
    use std::io::IsTerminal;
    let unreadable = |e: std::io::Error| Failure::Usage(format!("cannot read the password: {e}"));
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ").map_err(unreadable)?;
        let again = rpassword::prompt_password("Repeat it: ").map_err(unreadable)?;
        if first != again {
            return Err(Failure::Usage(
                "the two passwords differ; nothing was changed".into(),
            ));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(unreadable)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Failure::Usage(
            "no password: type it at the prompt, or give it as the first line of standard input"
                .into(),
        ));
    }
    Ok(password.to_owned())
}

async fn token(client: &Client, command: TokenCommand, json: bool) -> Result<(), Failure> {
    match command {
        TokenCommand::Create { label, user } => {
            let request = api::TokenRequest { label, user };
            let created: api::CreatedToken = client
                .send(Method::POST, "/tokens", Some(&request), None)
                .await?;
            if json {
                print_json(&created);
            } else {
                // The secret alone on stdout, so scripts can capture it.
                println!("{}", created.token);
                eprintln!(
                    "hereby: token {} for {} ({}); it is shown only this once",
                    created.record.id, created.record.user, created.record.label
                );
            }
        }
        TokenCommand::List => {
            let tokens: Vec<api::Token> =
                client.send(Method::GET, "/tokens", NO_BODY, None).await?;
            if json {
                print_json(&tokens);
            } else {
                println!(
                    "{:>5}  {:<20} {:<24} {:<28} REVOKED",
                    "ID", "USER", "LABEL", "CREATED"
                );
                for token in &tokens {
                    println!(
                        "{:>5}  {:<20} {:<24} {:<28} {}",
                        token.id,
                        token.user,
                        token.label,
                        token.created_at,
                        token.revoked_at.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let revoked: api::Token = client
                .send(Method::DELETE, &format!("/tokens/{id}"), NO_BODY, None)
                .await?;
            if json {
                print_json(&revoked);
            } else {
                println!("token {} revoked", revoked.id);
            }
        }
    }
    Ok(())
}

/// Posts a write to `/incidents/{id}/{action}` and prints what it added.
async fn post(
    client: &Client,
    write: &Write,
    action: &str,
    body: &(impl Serialize + Sync),
    json: bool,
) -> Result<(), Failure> {
    let result: api::WriteResult = client
        .send(
            Method::POST,
            &incident_path(&write.incident, action),
            Some(body),
            write.if_match,
        )
        .await?;
    print_write(&result, json);
    Ok(())
}

/// Fills in the template placeholder(s) `NAME=VALUE` names by their first word (`time`
/// fills `<time, UTC>`), or says which placeholders the text has.
fn fill_in(text: &str, pair: &str) -> Result<String, Failure> {
    let Some((name, value)) = pair.split_once('=') else {
        return Err(Failure::Usage(format!(
            "--set takes NAME=VALUE, e.g. --set time=14:30; got `{pair}`"
        )));
    };
    let name = name.trim().to_lowercase();
    let open = hereby_core::placeholders::placeholders(text);
    let first_word = |placeholder: &str| {
        placeholder
            .trim_matches(['<', '>'])
            .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
            .next()
            .unwrap_or_default()
            .to_lowercase()
    };
    let matching: Vec<&str> = open
        .iter()
        .copied()
        .filter(|placeholder| first_word(placeholder) == name)
        .collect();
    if matching.is_empty() {
        return Err(Failure::Usage(if open.is_empty() {
            format!("--set {name}: the text has no placeholders left to fill in")
        } else {
            format!(
                "--set {name}: no placeholder starts with `{name}`; the text has {}",
                open.join(", ")
            )
        }));
    }
    let mut filled = text.to_owned();
    for placeholder in matching {
        filled = filled.replace(placeholder, value.trim());
    }
    Ok(filled)
}

/// The API path `/incidents/{id}/{rest}`, with the id encoded.
pub(crate) fn incident_path(incident: &str, rest: &str) -> String {
    format!("/incidents/{}/{rest}", encode(incident))
}

/// Prints what a write added, one entry a line (or the whole answer as JSON).
pub(crate) fn print_write(result: &api::WriteResult, json: bool) {
    if json {
        print_json(result);
        return;
    }
    for warning in &result.warnings {
        eprintln!("hereby: warning: {warning}");
    }
    // A single-holder role given to someone relieves whoever held it, in the same write:
    // said in the one sentence, as people say it.
    let relieved: Vec<(&str, &str)> = result
        .entries
        .iter()
        .filter(|entry| entry.event_type == "role_unassigned")
        .filter_map(|entry| Some((entry.body["role"].as_str()?, entry.body["person"].as_str()?)))
        .collect();
    let assigned: Vec<&str> = result
        .entries
        .iter()
        .filter(|entry| entry.event_type == "role_assigned")
        .filter_map(|entry| entry.body["role"].as_str())
        .collect();
    for entry in &result.entries {
        let role = entry.body["role"].as_str().unwrap_or_default();
        match entry.event_type.as_str() {
            "role_unassigned" if assigned.contains(&role) => continue,
            "role_assigned" => {
                let previous: Vec<&str> = relieved
                    .iter()
                    .filter(|(held, _)| *held == role)
                    .map(|(_, person)| *person)
                    .collect();
                if previous.is_empty() {
                    println!("{}: {}", result.id, entry.text);
                } else {
                    println!(
                        "{}: {} (relieves {})",
                        result.id,
                        entry.text,
                        previous.join(", ")
                    );
                }
            }
            _ => println!("{}: {}", result.id, entry.text),
        }
    }
}

pub(crate) fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("hereby: cannot print JSON: {error}"),
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// How urgent a status is, most urgent first: the ones still being responded to, then the
/// ended ones.
fn status_rank(status: &str) -> u8 {
    match status {
        "investigating" => 0,
        "identified" => 1,
        "monitoring" => 2,
        "resolved" => 3,
        "closed" => 4,
        _ => 5,
    }
}

fn print_list(incidents: &[api::IncidentSummary]) {
    if incidents.is_empty() {
        println!("no incidents");
        return;
    }
    // Most severe and most urgent first; among equals, the one running longest.
    let mut sorted: Vec<&api::IncidentSummary> = incidents.iter().collect();
    sorted.sort_by(|a, b| {
        let active = |i: &api::IncidentSummary| status_rank(&i.status) > 2;
        (
            active(a),
            &a.severity,
            status_rank(&a.status),
            &a.declared_at,
        )
            .cmp(&(
                active(b),
                &b.severity,
                status_rank(&b.status),
                &b.declared_at,
            ))
    });
    println!(
        "{:<8} {:<5} {:<13} {:<12} {:<20} TITLE",
        "ID", "SEV", "STATUS", "IC", "DECLARED"
    );
    for incident in sorted {
        let declared: String = incident.declared_at.chars().take(19).collect();
        println!(
            "{:<8} {:<5} {:<13} {:<12} {:<20} {}{}{}",
            incident.id,
            incident.severity,
            incident.status.replace('_', " "),
            incident.commander.as_deref().unwrap_or("-"),
            declared.replace('T', " "),
            incident.title,
            if incident.potential {
                "  (potential)"
            } else {
                ""
            },
            if incident.visibility == "restricted" {
                "  [restricted]"
            } else {
                ""
            },
        );
    }
}

/// A stored time (RFC 3339) as people read it: `2026-11-21 09:30 UTC`.
pub(crate) fn human_time(raw: &str) -> String {
    match raw.parse::<jiff::Timestamp>() {
        Ok(at) => hereby_core::when::clock(at),
        Err(_) => raw.to_owned(),
    }
}

fn print_document(document: &api::IncidentDocument) {
    println!("{}  {}", document.id, document.title);
    println!(
        "status {} · {}{} · {} · version {}",
        document.status.replace('_', " "),
        document.severity,
        if document.potential {
            " (potential)"
        } else {
            ""
        },
        document.visibility,
        document.version
    );
    if let Some(summary) = &document.summary {
        println!("\n{summary}");
    }
    if let Some(public) = &document.public_summary {
        println!("\nfor customers: {public}");
    }
    println!(
        "\ndeclared {} by {}",
        human_time(&document.declared_at),
        document.declared_by
    );
    if let Some(resolved) = &document.resolved_at {
        println!("resolved {}", human_time(resolved));
    }
    if document.impact_start.is_some() || document.impact_end.is_some() {
        println!(
            "impact {} → {}",
            document
                .impact_start
                .as_deref()
                .map_or_else(|| "?".to_owned(), human_time),
            document
                .impact_end
                .as_deref()
                .map_or_else(|| "ongoing".to_owned(), human_time)
        );
    }
    let m = &document.milestones;
    let reached: Vec<String> = [
        ("started", &m.started),
        ("detected", &m.detected),
        ("acknowledged", &m.acknowledged),
        ("mitigated", &m.mitigated),
        ("resolved", &m.resolved),
        ("closed", &m.closed),
    ]
    .into_iter()
    .filter_map(|(name, at)| at.as_deref().map(|at| format!("{name} {}", human_time(at))))
    .collect();
    if !reached.is_empty() {
        println!("milestones: {}", reached.join(" · "));
    }
    if !document.services.is_empty() {
        println!("services {}", document.services.join(", "));
    }
    if let Some(due) = &document.next_update_due {
        let overdue = due
            .parse::<jiff::Timestamp>()
            .is_ok_and(|due| due <= jiff::Timestamp::now());
        println!(
            "next stakeholder update due {}{}",
            human_time(due),
            if overdue { " — OVERDUE" } else { "" }
        );
    }
    println!("\nroles");
    for role in &document.roles {
        let holders = if role.holders.is_empty() {
            "-".to_owned()
        } else {
            role.holders.join(", ")
        };
        println!("  {:<22} {holders}", role.name);
    }
    if !document.unstaffed_roles.is_empty() {
        println!(
            "  WARNING: nobody holds {} on this {} incident",
            document.unstaffed_roles.join(" or "),
            document.severity
        );
    }
    if !document.members.is_empty() {
        println!("members {}", document.members.join(", "));
    }
    if let Some(pending) = &document.pending_handoff {
        println!(
            "\nhand-off: {} asks {} to take command (waiting since {}); {} answers with `hereby role accept {}` or `hereby role decline {}`",
            pending.from,
            pending.to,
            human_time(&pending.requested_at),
            pending.to,
            document.id,
            document.id
        );
    }
    if !document.open_collisions.is_empty() {
        println!("\nchange collisions (not acknowledged)");
        for collision in &document.open_collisions {
            println!(
                "  {}: {} changed things in the same window ({}){}; the commander acknowledges with `hereby act acknowledge {}`",
                collision.collision,
                collision.people.join(" and "),
                human_time(&collision.at),
                if collision.unattributed {
                    ", the recovery cannot be attributed"
                } else {
                    ""
                },
                document.id
            );
        }
    }
    if !document.open_intents.is_empty() {
        println!("\nannounced changes not yet made");
        for intent in &document.open_intents {
            println!(
                "  intent {}: {} is about to change {}: {}{}",
                intent.intent,
                intent.by,
                intent.target,
                intent.action,
                intent
                    .witness
                    .as_deref()
                    .map(|witness| format!(" (witness {witness})"))
                    .unwrap_or_default()
            );
        }
    }
    if document.witness_required {
        println!("operations on SEV1 and SEV2 need a witness");
    }
    if let Some(evaluation) = &document.evaluation {
        println!(
            "\nseverity evaluation: the checklist suggests {} (rule “{}”); {} chosen by {}{}",
            evaluation.suggested,
            evaluation.rule,
            evaluation.chosen,
            evaluation.by,
            evaluation
                .reason
                .as_deref()
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default()
        );
    }
    if let Some(release) = &document.suspect_release {
        println!("suspect release {} {}", release.service, release.version);
    }
    if let Some(decision) = &document.decision {
        println!(
            "decision {}: {}{} ({}): {}",
            decision.decision,
            decision.option.replace('_', " "),
            decision
                .roll_back_to
                .as_ref()
                .map(|to| format!(" to {} {}", to.service, to.version))
                .unwrap_or_default(),
            decision.by,
            decision.motivation
        );
    }
    let open: Vec<&api::ActionItem> = document
        .action_items
        .iter()
        .filter(|item| item.state == "open")
        .collect();
    let closed = document.action_items.len() - open.len();
    if !open.is_empty() || closed > 0 {
        println!(
            "\nopen action items{}",
            if closed > 0 {
                format!(" ({closed} done or won't fix not shown; `--json` has them all)")
            } else {
                String::new()
            }
        );
        for item in open {
            println!(
                "  {:>3}. {} ({}, {}{})",
                item.item,
                item.text,
                item.kind.replace('_', "-"),
                item.owner,
                item.due
                    .as_deref()
                    .map(|due| format!(", due {due}"))
                    .unwrap_or_default()
            );
        }
    }
}

/// Search hits as a compact table: the incident, its severity and status, its title, and
/// the matched text (matches between `[` and `]`).
fn print_search(page: &api::SearchPage) {
    if page.hits.is_empty() {
        eprintln!("No incident matches.");
        return;
    }
    for hit in &page.hits {
        println!(
            "{:<8} {:<5} {:<13} {}",
            hit.incident, hit.severity, hit.status, hit.title
        );
        println!("         {}: {}", hit.found_in, marked(&hit.snippet_html));
    }
    let shown = page.hits.len();
    // Past the newest texts ranked, more match than were counted.
    let at_least = if page.total_is_exact { "" } else { "at least " };
    match page.next_offset {
        Some(next) => eprintln!(
            "{shown} of {at_least}{} incidents; the next page: --offset {next}",
            page.total
        ),
        None => eprintln!(
            "{at_least}{} incident{}",
            page.total,
            if page.total == 1 { "" } else { "s" }
        ),
    }
}

/// A snippet's HTML as plain text, the matched words between `[` and `]`, on one line.
fn marked(html: &str) -> String {
    html.replace("<mark>", "[")
        .replace("</mark>", "]")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Insights as a compact table: every measure over all incidents, then each group's time to
/// mitigate and to resolve.
fn print_insights(insights: &api::Insights) {
    let not_measured: Vec<String> = insights
        .not_measured
        .iter()
        .map(|(status, count)| format!("{count} {}", status.replace('_', " ")))
        .collect();
    println!(
        "{} incidents detected {} → {}{}{}",
        insights.incidents,
        human_time(&insights.since),
        human_time(&insights.until),
        if not_measured.is_empty() {
            String::new()
        } else {
            format!("; not measured: {}", not_measured.join(", "))
        },
        if insights.in_triage > 0 {
            format!("; {} in triage", insights.in_triage)
        } else {
            String::new()
        },
    );
    if insights.capped {
        eprintln!("The period holds more incidents than one report reads; narrow it.");
    }
    let f = &insights.follow_ups;
    if f.total > 0 {
        println!(
            "follow-ups: {} ({} open); done by their due date: {} of {}; open for a median of {}; review meetings survived: median {}, p90 {}",
            f.total,
            f.open,
            f.done_by_due,
            f.due_reached,
            span(f.open_age_median_seconds),
            f.meetings_survived_median
                .map_or("—".to_owned(), |n| n.to_string()),
            f.meetings_survived_p90
                .map_or("—".to_owned(), |n| n.to_string()),
        );
    }
    println!("{:<28} {:>6} {:>10} {:>10}", "", "count", "median", "p90");
    for row in &insights.durations {
        let wanted = row.group == "all"
            || (row.group == "change_caused" && row.measure == "time_to_mitigate")
            || (!row.group.starts_with("month:")
                && row.group != "change_caused"
                && matches!(row.measure.as_str(), "time_to_mitigate" | "time_to_resolve"));
        if !wanted {
            continue;
        }
        let label = if row.group == "all" {
            row.measure.replace('_', " ")
        } else if row.group == "change_caused" {
            "failed deployment recovery".to_owned()
        } else {
            format!(
                "{} {}",
                row.group,
                row.measure.trim_start_matches("time_to_")
            )
        };
        println!(
            "{label:<28} {:>6} {:>10} {:>10}",
            row.count,
            span(row.median_seconds),
            span(row.p90_seconds)
        );
    }
    for budget in &insights.budgets {
        let state = if budget.remaining_seconds < 0 {
            "overspent"
        } else {
            "used"
        };
        println!(
            "budget {}: {} of {} {state} this quarter ({} incidents)",
            budget.service,
            span(Some(budget.used_seconds)),
            span(Some(budget.allowed_seconds)),
            budget.incidents.len(),
        );
    }
    for person in &insights.workload {
        println!(
            "workload {}: {} on {} incident{} ({} working, {} late, {} sleeping)",
            person.person,
            span(Some(person.total_seconds)),
            person.incidents,
            if person.incidents == 1 { "" } else { "s" },
            span(Some(person.working_seconds)),
            span(Some(person.late_seconds)),
            span(Some(person.sleeping_seconds)),
        );
    }
}

/// Seconds as `2d 3h`, `1h 5m`, `4m 10s` or `—`.
fn span(seconds: Option<i64>) -> String {
    let Some(seconds) = seconds else {
        return "—".to_owned();
    };
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}
