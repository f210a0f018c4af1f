//! The `hereby` binary: `hereby serve` runs the server; `hereby db …` administers the
//! database directly. Exit codes: 0 ok, 1 a check failed (e.g. a broken hash chain), 2 usage,
//! 3 the database could not be opened or migrated.

mod alert_commands;
mod any_store;
mod chat_commands;
mod client;
mod commands;
mod config;
mod db_copy;
mod editor;
mod judgement_commands;
mod notify_commands;
mod postmortem_commands;
mod publishing;
mod serve;
mod settings_commands;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hereby_store::{Backup, verify_all};

use crate::any_store::AnyStore;

/// mimalloc rather than the system allocator: a request makes many short-lived allocations,
/// which it serves with less work and less contention between threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// hereby: declare incidents, run the response, learn from it.
#[derive(Debug, Parser)]
#[command(name = "hereby", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    connection: commands::Connection,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hereby server on a database (created and migrated on first start; on an empty
    /// database the first admin `admin` is created and their API token printed once).
    #[command(
        after_help = "Durations (the cadence's intervals, --notify-backoff, --notify-backoff-max, --notify-lease, --notify-timeout, --review-interval, --review-reminder-lead, --collision-window, --staffing-grace) are whole numbers with a unit (w, d, h, m, s or ms), largest unit first: 500ms, 30s, 10m, 2h, 1d, 1w, 1h30m or 2h 30m. A day is 24 hours, a week 7 days."
    )]
    Serve(Box<ServeArgs>),
    /// Create and migrate a database with its first admin, and print that admin's API token as
    /// the only line on standard output.
    Init(InitArgs),
    /// Administer the database directly, without a running server.
    #[command(subcommand)]
    Db(DbCommand),
    /// Print a shell completion script: `hereby completions bash > /etc/bash_completion.d/hereby`.
    Completions { shell: clap_complete::Shell },
    #[command(flatten)]
    Client(commands::ClientCommand),
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// The database: `sqlite://PATH` (created if missing) or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "HEREBY_DATABASE_URL",
        default_value = "sqlite://hereby.db"
    )]
    database_url: String,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The database: `sqlite://PATH` (created if missing) or `postgres://USER:PASSWORD@HOST/DB`
    /// [default: sqlite://hereby.db]
    #[arg(long, env = "HEREBY_DATABASE_URL")]
    database_url: Option<String>,
    /// The address to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "HEREBY_LISTEN")]
    listen: Option<SocketAddr>,
    /// Log lines as text or JSON [default: text]
    #[arg(long, env = "HEREBY_LOG_FORMAT", value_enum)]
    log_format: Option<config::LogFormat>,
    /// The largest attachment accepted, in bytes [default: 26214400, i.e. 25 MiB]
    #[arg(long, env = "HEREBY_MAX_ATTACHMENT_BYTES")]
    max_attachment_bytes: Option<usize>,
    /// The address people reach the server at, e.g. `https://hereby.example.com`: used in
    /// the links it prints, and an https address marks session cookies `Secure`
    /// [default: http://<listen address>]
    #[arg(long, env = "HEREBY_PUBLIC_URL")]
    public_url: Option<String>,
    /// A client must send a request's headers within this time; a keep-alive connection
    /// idle this long is closed [default: 20s]
    #[arg(long, env = "HEREBY_HEADER_TIMEOUT")]
    header_timeout: Option<String>,
    /// At most this many connections open at once from one client address (trusted proxies
    /// excepted); 0 for no cap [default: 256]
    #[arg(long, env = "HEREBY_MAX_CONNECTIONS_PER_ADDRESS")]
    max_connections_per_address: Option<usize>,
    /// The address of a reverse proxy in front of the server (repeat for several): its
    /// connections are not capped per address, and the sign-in throttle reads the client's
    /// address from its `X-Forwarded-For` [default: none]
    #[arg(
        long = "trusted-proxy",
        env = "HEREBY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// A secret of at least 16 characters that a Prometheus scraper sends as
    /// `Authorization: Bearer <token>` to read /metrics (an admin's API token also works)
    /// [default: none, admins only]
    #[arg(long, env = "HEREBY_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Let anyone read /metrics without a token (for a server only a private network
    /// reaches)
    #[arg(long, env = "HEREBY_METRICS_PUBLIC")]
    metrics_public: bool,
    /// Run no chat adapters on this node (with several nodes, let one node run them); the
    /// chat endpoints Slack and Mattermost call still answer here
    #[arg(long, env = "HEREBY_NO_CHAT_ADAPTERS")]
    no_chat_adapters: bool,
    /// Alert events each integration may send per minute; beyond it the sender is answered
    /// 429 with Retry-After [default: 6000]
    #[arg(long, env = "HEREBY_ALERT_EVENTS_PER_MINUTE")]
    alert_events_per_minute: Option<u32>,
    /// Alert events that may wait queued behind a storm to be grouped (all nodes' together,
    /// counted every 5 s); beyond it senders are answered 429 with Retry-After until the queue
    /// shrinks [default: 200000]
    #[arg(long, env = "HEREBY_ALERT_QUEUE_LIMIT")]
    alert_queue_limit: Option<u64>,
    /// How often stakeholders are owed an update, per severity: a duration of at least 1s, or
    /// `none` [default: SEV1=30m,SEV2=1h,SEV3=4h,SEV4=none]
    #[arg(long, env = "HEREBY_CADENCE")]
    cadence: Option<String>,
    /// Attempts before a notification is given up (dead) [default: 8]
    #[arg(long, env = "HEREBY_NOTIFY_MAX_ATTEMPTS")]
    notify_max_attempts: Option<u32>,
    /// The first retry of a notification waits up to this long, each next one up to twice as
    /// long [default: 2s]
    #[arg(long, env = "HEREBY_NOTIFY_BACKOFF")]
    notify_backoff: Option<String>,
    /// The longest wait between attempts [default: 15m]
    #[arg(long, env = "HEREBY_NOTIFY_BACKOFF_MAX")]
    notify_backoff_max: Option<String>,
    /// How long a worker holds a claimed delivery or job before another may take it; a
    /// delivery attempt is cut short when only a quarter of its lease is left [default: 2m]
    #[arg(long, env = "HEREBY_NOTIFY_LEASE")]
    notify_lease: Option<String>,
    /// Time limit of one delivery attempt [default: 10s]
    #[arg(long, env = "HEREBY_NOTIFY_TIMEOUT")]
    notify_timeout: Option<String>,
    /// From an incident's resolution to its first post-mortem review meeting, and from each
    /// meeting to the next while follow-ups stay open [default: 30d]
    #[arg(long, env = "HEREBY_REVIEW_INTERVAL")]
    review_interval: Option<String>,
    /// The time of day review meetings are planned at, on the working day (Monday to Friday)
    /// the interval reaches, with the offset from UTC where the team sits, e.g. 10:00+01:00
    /// (intervals under a day are kept to the minute) [default: 10:00 UTC]
    #[arg(long, env = "HEREBY_REVIEW_TIME")]
    review_time: Option<String>,
    /// How long before a post-mortem review meeting the owners of open follow-ups are
    /// reminded; at once when the meeting is set closer than that [default: 2d]
    #[arg(long, env = "HEREBY_REVIEW_REMINDER_LEAD")]
    review_reminder_lead: Option<String>,
    /// How often each follow-up kept in a tracker is read back from the tracker, to catch
    /// what a lost or disabled webhook did not say [default: 5m]
    #[arg(long, env = "HEREBY_TRACKER_POLL")]
    tracker_poll: Option<String>,
    /// A TOML file of severity rules that suggest a severity from the checklist's answers
    /// (see `hereby evaluate --rules` for the ones in force) [default: the shipped rules]
    #[arg(long, env = "HEREBY_SEVERITY_RULES")]
    severity_rules: Option<PathBuf>,
    /// A TOML file saying who may do what on an incident (status, severity, roles, updates,
    /// operations, …); rows left out keep the shipped ones (see `hereby permissions` for the
    /// table in force) [default: the shipped table]
    #[arg(long, env = "HEREBY_PERMISSIONS")]
    permissions: Option<PathBuf>,
    /// Changes (or announced intents) by two different people this close together, without
    /// the Incident Commander acknowledging in between, are a change collision (at most 7d)
    /// [default: 10m]
    #[arg(long, env = "HEREBY_COLLISION_WINDOW")]
    collision_window: Option<String>,
    /// How long a SEV1/SEV2 may have nobody in operations or communications before its page
    /// flags it (at most 7d) [default: 15m]
    #[arg(long, env = "HEREBY_STAFFING_GRACE")]
    staffing_grace: Option<String>,
    /// A TOML file with `database_url`, `listen`, `log_format`, `max_attachment_bytes`,
    /// `public_url`, `header_timeout`, `max_connections_per_address`, `trusted_proxies` (a
    /// list), `metrics_token`, `metrics_public`, `no_chat_adapters`, `alert_events_per_minute`, `alert_queue_limit`, `cadence`,
    /// `review_interval`, `review_time`, `severity_rules`, `permissions`,
    /// `collision_window`, `staffing_grace` and the `notify_*` settings; flags and
    /// HEREBY_* variables override it.
    #[arg(long, env = "HEREBY_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct InitArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The first admin's user name.
    #[arg(long, default_value = "admin")]
    admin: String,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Create the database if needed and apply every pending migration.
    Migrate(DatabaseArgs),
    /// Walk every incident's hash chain and report the first broken link of each.
    Verify(DatabaseArgs),
    /// Write a consistent copy of a SQLite database while it is in use.
    Backup {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Where to write the copy; the file must not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
    /// Copy everything into another, empty database (SQLite to PostgreSQL or back) and verify it.
    ///
    /// Every row of every table is copied, then every hash chain of the copy is verified. Stop
    /// every server on the source first.
    #[command(after_help = COPY_HELP)]
    Copy {
        /// The database to copy: `sqlite://PATH` (which must exist) or
        /// `postgres://USER:PASSWORD@HOST/DB`. It is only read.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The database to copy into: `sqlite://PATH` (created if missing) or
        /// `postgres://USER:PASSWORD@HOST/DB` (an existing, empty database). It is migrated
        /// first and must hold nothing.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

const COPY_HELP: &str = "Everything is copied as it is: events with their positions, sequence numbers, hashes and times; incidents and their members; users, API tokens, web sessions and setup links; status page components, message templates, admin settings and releases; attachments; notification channels, subscriptions, the delivery outbox, the dispatcher's cursor and jobs. Ids are kept, so API tokens keep working, signed-in browsers stay signed in, and pending notifications are sent once, by the server that runs on the copy.

The source is read in one consistent snapshot, and must be migrated to this version of hereby. The target is written in one transaction: a copy that fails leaves it empty. A target that already holds anything is refused, and so is a copy of a database onto itself.

Progress goes to standard error (a bar on a terminal); the rows copied per table and the verification go to standard output. Exit codes: 0 copied and verified, 1 refused or not verified, 2 usage (e.g. the same database twice), 3 a database could not be opened or migrated.

Example, moving to PostgreSQL with the server stopped:
  hereby db copy --from sqlite:///var/lib/hereby/hereby.db --to postgres://hereby:secret@db.internal/hereby";

/// Exit code for a database that cannot be opened or migrated.
const UNREACHABLE: u8 = 3;

/// The commands that never talk to a server: the client options are hidden from their help
/// and refused when given on their command line.
const SERVER_SIDE: [&str; 4] = ["serve", "init", "db", "completions"];

/// The client options' long names, in the order of [`commands::CLIENT_OPTION_IDS`].
const CLIENT_OPTION_LONGS: [&str; 4] = ["server", "token", "client-config", "json"];

/// The command line as `hereby` parses it: the derived parser, where the client options
/// (global, so that they may follow any client command) do not reach the server-side
/// commands. Each of those gets hidden options of the same names instead, which stop the
/// global ones from being propagated to it (and so from its help) and which
/// [`misplaced_client_option`] refuses when given.
fn command_line() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command();
    for name in SERVER_SIDE {
        command = command.mut_subcommand(name, |mut sub| {
            for (id, long) in commands::CLIENT_OPTION_IDS
                .into_iter()
                .zip(CLIENT_OPTION_LONGS)
            {
                let arg = clap::Arg::new(id).long(long).hide(true).global(true);
                sub = sub.arg(if id == "json" {
                    arg.action(clap::ArgAction::SetTrue)
                } else {
                    arg.num_args(1)
                });
            }
            sub
        });
    }
    command
}

/// A client option written on a server-side command's own command line, if any (one set
/// through a `HEREBY_*` variable is the environment's, and fine).
fn misplaced_client_option(matches: &clap::ArgMatches) -> Option<(&'static str, String)> {
    let (name, mut sub) = matches.subcommand()?;
    if !SERVER_SIDE.contains(&name) {
        return None;
    }
    loop {
        for id in commands::CLIENT_OPTION_IDS {
            if sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                return Some((id, name.to_owned()));
            }
        }
        match sub.subcommand() {
            Some((_, deeper)) => sub = deeper,
            None => return None,
        }
    }
}

fn main() -> ExitCode {
    let matches = command_line().get_matches();
    if let Some((id, name)) = misplaced_client_option(&matches) {
        eprintln!(
            "hereby: --{} is an option of the client commands; `hereby {name}` does not talk to a server",
            id.replace('_', "-")
        );
        return ExitCode::from(2);
    }
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hereby: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn open(database: &DatabaseArgs) -> Result<AnyStore, ExitCode> {
    AnyStore::open(&database.database_url)
        .await
        .map_err(|failure| {
            eprintln!("hereby: {}", failure.0);
            ExitCode::from(UNREACHABLE)
        })
}

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Completions { shell } => {
            let mut command = command_line();
            clap_complete::generate(shell, &mut command, "hereby", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Client(command) => {
            // A client's output is often piped (`hereby timeline INC-1 | head -1`): when the
            // reader goes away, end quietly as other command-line tools do instead of
            // panicking on the failed write. Only the client does this; the server must
            // survive a peer that hangs up.
            sigpipe::reset();
            return match commands::run(cli.connection, command).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(failure) => failure.report(),
            };
        }
        Command::Serve(args) => {
            let file = match &args.config {
                Some(path) => match config::FileConfig::load(path) {
                    Ok(file) => file,
                    Err(message) => {
                        eprintln!("hereby: {message}");
                        return ExitCode::from(2);
                    }
                },
                None => config::FileConfig::default(),
            };
            config::init_logging(args.log_format.or(file.log_format).unwrap_or_default());
            let notifications = match serve::Notifying::from_settings(&args, &file) {
                Ok(notifications) => notifications,
                Err(message) => {
                    eprintln!("hereby: {message}");
                    return ExitCode::from(2);
                }
            };
            let database = DatabaseArgs {
                database_url: args
                    .database_url
                    .or(file.database_url)
                    .unwrap_or_else(|| "sqlite://hereby.db".to_owned()),
            };
            let listen = args
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
            let max_attachment_bytes = args
                .max_attachment_bytes
                .or(file.max_attachment_bytes)
                .unwrap_or(hereby_server::DEFAULT_MAX_ATTACHMENT);
            let public_url = args
                .public_url
                .or(file.public_url)
                .map(|url| url.trim_end_matches('/').to_owned());
            if let Some(url) = &public_url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                eprintln!("hereby: --public-url must start with http:// or https://, not `{url}`");
                return ExitCode::from(2);
            }
            match open(&database).await {
                Ok(store) => {
                    serve::serve(
                        store,
                        listen,
                        max_attachment_bytes,
                        public_url,
                        notifications,
                    )
                    .await
                }
                Err(code) => return code,
            }
        }
        Command::Init(args) => {
            let admin = match hereby_core::types::UserName::parse(&args.admin) {
                Ok(admin) => admin,
                Err(error) => {
                    eprintln!("hereby: --admin {error}");
                    return ExitCode::from(2);
                }
            };
            let store = match open(&args.database).await {
                Ok(store) => store,
                Err(code) => return code,
            };
            match serve::first_run(&store, &admin).await {
                Ok(serve::FirstRun::Created { token, .. }) => {
                    println!("{}", token.reveal());
                    Ok(())
                }
                Ok(serve::FirstRun::AlreadySetUp) => {
                    eprintln!(
                        "hereby: {} already has users; create more with an admin's token",
                        hereby_store::redact_url(&args.database.database_url)
                    );
                    return ExitCode::FAILURE;
                }
                Err(error) => Err(error),
            }
        }
        Command::Db(DbCommand::Migrate(database)) => match open(&database).await {
            Ok(_) => {
                println!(
                    "{} is migrated and ready",
                    hereby_store::redact_url(&database.database_url)
                );
                Ok(())
            }
            Err(code) => return code,
        },
        Command::Db(DbCommand::Verify(database)) => {
            let store = match open(&database).await {
                Ok(store) => store,
                Err(code) => return code,
            };
            match verify_all(&store).await {
                Ok(report) if report.breaks.is_empty() => {
                    println!(
                        "verified {} events in {} incidents: every hash chain is intact",
                        report.events, report.incidents
                    );
                    Ok(())
                }
                Ok(report) => {
                    for broken in &report.breaks {
                        println!("{broken}");
                    }
                    eprintln!(
                        "hereby: {} of {} incidents have a broken hash chain",
                        report.breaks.len(),
                        report.incidents
                    );
                    return ExitCode::FAILURE;
                }
                Err(error) => Err(error.into()),
            }
        }
        Command::Db(DbCommand::Copy { from, to }) => return db_copy::run(&from, &to).await,
        Command::Db(DbCommand::Backup { database, to }) => match open(&database).await {
            Ok(AnyStore::Sqlite(store)) => {
                if to.exists() {
                    eprintln!("hereby: {} already exists; choose a new file", to.display());
                    return ExitCode::FAILURE;
                }
                store
                    .backup_to(&to)
                    .await
                    .map_err(anyhow::Error::from)
                    .map(|()| {
                        println!("backed up to {}", to.display());
                    })
            }
            Ok(AnyStore::Postgres(_)) => {
                eprintln!(
                    "hereby: backups of PostgreSQL are made with the database's own tools (pg_dump or base backups)"
                );
                return ExitCode::FAILURE;
            }
            Err(code) => return code,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hereby: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::command_line;

    /// Every option of every command, with the path of commands it belongs to.
    fn options(command: &clap::Command, path: String, out: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            if !arg.is_hide_set() && !arg.is_positional() {
                out.push((path.clone(), arg.clone()));
            }
        }
        for sub in command.get_subcommands() {
            options(sub, format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_option_says_what_it_does() {
        let mut all = Vec::new();
        options(&command_line(), "hereby".to_owned(), &mut all);
        let silent: Vec<String> = all
            .iter()
            .filter(|(_, arg)| {
                arg.get_help().is_none() && arg.get_id() != "help" && arg.get_id() != "version"
            })
            .map(|(path, arg)| format!("{path} --{}", arg.get_id()))
            .collect();
        assert!(silent.is_empty(), "options without help: {silent:?}");
    }

    #[test]
    fn client_options_sit_under_their_heading_and_not_on_server_commands() {
        let mut command = command_line();
        // Global options reach the subcommands when the command line is built.
        command.build();
        let render = |args: &[&str]| {
            let mut path = command.clone();
            for name in args {
                path = path.find_subcommand(name).unwrap().clone();
            }
            path.render_long_help().to_string()
        };
        let list = render(&["list"]);
        assert!(list.contains("Client options:"), "{list}");
        assert!(list.contains("--server"), "{list}");
        for server_side in [&["serve"][..], &["init"], &["db", "verify"]] {
            let help = render(server_side);
            for option in ["--server", "--token", "--client-config", "--json"] {
                assert!(
                    !help.contains(option),
                    "{server_side:?} shows {option}:\n{help}"
                );
            }
        }
    }
}
