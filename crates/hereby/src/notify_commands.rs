//! The notification commands of the client: channels, subscriptions, deliveries (admins).

use clap::Subcommand;
use hereby_api as api;
use reqwest::Method;
use serde_json::json;

use crate::client::{Client, Failure};
use crate::commands::{NO_BODY, encode, print_json};

// Parsed once per run: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum ChannelCommand {
    /// Add a channel: `--kind webhook --url URL --secret S`, `--kind slack --url URL`,
    /// `--kind email --host H [--port P] [--tls none|starttls|tls] [--username U --password P]
    /// --from ADDRESS [--personal]`, or a chat connection: `--kind matrix --url HOMESERVER
    /// --secret ACCESS_TOKEN [--room '#ops:example.org'] [--phrase …] [--emoji 📌] [--capture]`
    /// or `--kind slack_app --secret BOT_TOKEN --signing-secret S --team T… [--room C…]`, or
    /// `--kind mattermost --url SERVER --secret BOT_TOKEN --signing-secret COMMAND_TOKEN
    /// --team TEAM_ID`; or a tracker: `--kind github --project OWNER/REPO --secret TOKEN
    /// --signing-secret WEBHOOK_SECRET`, `--kind gitlab [--url SERVER] --project GROUP/NAME
    /// --secret TOKEN --signing-secret WEBHOOK_TOKEN`, `--kind tracker --url URL --secret whsec_…`.
    Add {
        name: String,
        /// webhook, slack (also Mattermost's incoming webhooks), teams (a Workflows webhook),
        /// email, matrix, slack_app or mattermost; or a tracker follow-ups are opened in:
        /// github, gitlab or tracker (generic).
        #[arg(long)]
        kind: String,
        /// Where a webhook, Slack or Mattermost channel posts (https://…), or a Matrix
        /// homeserver's address; the GitHub API's [default: https://api.github.com], the
        /// GitLab server's [default: https://gitlab.com] or a generic tracker's address.
        #[arg(long)]
        url: Option<String>,
        /// The webhook signing secret (at least 16 characters), the Matrix bot's access
        /// token, a GitHub or GitLab access token, or a generic tracker's Standard Webhooks
        /// secret (whsec_…); stored as a secret and never shown again.
        #[arg(long, env = "HEREBY_CHANNEL_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// The repository (owner/name) on GitHub, or the project (group/name or its id) on
        /// GitLab.
        #[arg(long)]
        project: Option<String>,
        /// A room the team talks in (matrix; repeat for several): the bot joins it, answers
        /// commands there and offers to declare when someone says the phrase.
        #[arg(long = "room", value_name = "ROOM")]
        rooms: Vec<String>,
        /// What, said in a watched room, offers to declare an incident (matrix)
        /// [default: I hereby declare this an incident]
        #[arg(long)]
        phrase: Option<String>,
        /// A reaction with this emoji copies a message of an incident room into the timeline
        /// (matrix) [default: 📌]
        #[arg(long)]
        emoji: Option<String>,
        /// Copy every message of an incident room into its timeline (matrix, slack_app).
        #[arg(long)]
        capture: bool,
        /// The Slack app's signing secret (slack_app), the Mattermost slash command's token
        /// (mattermost), or the secret of a GitHub webhook or token of a GitLab webhook that
        /// reports issue changes (github, gitlab); stored as a secret.
        #[arg(long, env = "HEREBY_SLACK_SIGNING_SECRET", hide_env_values = true)]
        signing_secret: Option<String>,
        /// The Slack workspace's team id, T… (slack_app), or the Mattermost team's id
        /// (mattermost).
        #[arg(long)]
        team: Option<String>,
        /// An app-level token, xapp-… (slack_app): Socket Mode, so that hereby connects out to
        /// Slack and needs no public address; stored as a secret.
        #[arg(long, env = "HEREBY_SLACK_APP_TOKEN", hide_env_values = true)]
        app_token: Option<String>,
        /// The SMTP server (email).
        #[arg(long)]
        host: Option<String>,
        /// The SMTP server's port (email) [default: 587 with starttls, 465 with tls, 25 with none].
        #[arg(long)]
        port: Option<u16>,
        /// starttls, tls or none (email) [default: starttls].
        #[arg(long)]
        tls: Option<String>,
        /// The SMTP user name (email) [default: none, no authentication].
        #[arg(long)]
        username: Option<String>,
        /// The SMTP password (email); stored as a secret and never shown again.
        #[arg(long, env = "HEREBY_SMTP_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The sender address (email), e.g. hereby@example.com.
        #[arg(long)]
        from: Option<String>,
        /// Carry personal notifications (a role given to someone, update reminders) to
        /// users' own addresses (e-mail channels).
        #[arg(long)]
        personal: bool,
        /// Deliveries in flight at once on this channel, per server node [default: 4]
        #[arg(long)]
        concurrency: Option<u32>,
    },
    /// List channels (secrets are never shown).
    List,
    /// Remove a channel with its subscriptions and deliveries.
    Remove { id: i64 },
    /// Queue a test message through a channel.
    Test {
        id: i64,
        /// The address, for e-mail channels.
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SubscriptionCommand {
    /// Send events to a channel, e.g. `hereby subscription add ops --events declared,resolved`.
    Add {
        /// The channel's name or id.
        channel: String,
        /// Comma-separated: declared, severity_changed, status_changed, update_posted,
        /// resolved, role_assigned, reminder.
        #[arg(long)]
        events: String,
        /// The e-mail address (e-mail channels).
        #[arg(long)]
        recipient: Option<String>,
        /// Only updates to this audience.
        #[arg(long)]
        audience: Option<String>,
        /// Status-page subscribers: public incidents and public updates only.
        #[arg(long)]
        public: bool,
    },
    /// List subscriptions.
    List,
    /// Remove a subscription.
    Remove { id: i64 },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeliveryCommand {
    /// List deliveries, newest first.
    List {
        /// pending, delivered or dead
        #[arg(long)]
        state: Option<String>,
        /// At most this many deliveries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Try a pending or dead delivery now (a dead one starts its attempts over).
    Retry { id: i64 },
}

fn print_channels(channels: &[api::Channel]) {
    println!(
        "{:>4}  {:<20} {:<8} {:<4} TARGET",
        "ID", "NAME", "KIND", "PERS"
    );
    for c in channels {
        println!(
            "{:>4}  {:<20} {:<8} {:<4} {}",
            c.id,
            c.name,
            c.kind,
            if c.personal { "yes" } else { "-" },
            c.target
        );
    }
}

pub(crate) async fn channel(
    client: &Client,
    command: ChannelCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        ChannelCommand::Add {
            name,
            kind,
            url,
            secret,
            host,
            port,
            tls,
            username,
            password,
            from,
            personal,
            concurrency,
            rooms,
            phrase,
            emoji,
            capture,
            signing_secret,
            team,
            app_token,
            project,
        } => {
            let request = api::ChannelRequest {
                app_token,
                project,
                rooms,
                phrase,
                emoji,
                capture,
                signing_secret,
                team,
                name,
                kind,
                url,
                secret,
                host,
                port,
                tls,
                username,
                password,
                from,
                personal,
                concurrency,
            };
            let created: api::Channel = client
                .send(Method::POST, "/channels", Some(&request), None)
                .await?;
            if json {
                print_json(&created);
            } else {
                println!(
                    "channel {} ({}) added: {}",
                    created.id, created.name, created.target
                );
            }
        }
        ChannelCommand::List => {
            let channels: Vec<api::Channel> =
                client.send(Method::GET, "/channels", NO_BODY, None).await?;
            if json {
                print_json(&channels);
            } else {
                print_channels(&channels);
            }
        }
        ChannelCommand::Remove { id } => {
            let () = client
                .send(Method::DELETE, &format!("/channels/{id}"), NO_BODY, None)
                .await?;
            if json {
                print_json(&json!({ "removed": id }));
            } else {
                println!("channel {id} removed");
            }
        }
        ChannelCommand::Test { id, to } => {
            let path = match to {
                Some(to) => format!("/channels/{id}/test?recipient={}", encode(&to)),
                None => format!("/channels/{id}/test"),
            };
            let queued: api::Delivery = client.send(Method::POST, &path, NO_BODY, None).await?;
            if json {
                print_json(&queued);
            } else {
                println!(
                    "test message queued as delivery {}; see `hereby delivery list`",
                    queued.id
                );
            }
        }
    }
    Ok(())
}

pub(crate) async fn subscription(
    client: &Client,
    command: SubscriptionCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        SubscriptionCommand::Add {
            channel,
            events,
            recipient,
            audience,
            public,
        } => {
            let request = api::SubscriptionRequest {
                channel,
                recipient,
                events: events
                    .split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect(),
                audience,
                scope: Some(if public { "public" } else { "all" }.to_owned()),
            };
            let created: api::Subscription = client
                .send(Method::POST, "/subscriptions", Some(&request), None)
                .await?;
            if json {
                print_json(&created);
            } else {
                println!("subscription {} added", created.id);
            }
        }
        SubscriptionCommand::List => {
            let list: Vec<api::Subscription> = client
                .send(Method::GET, "/subscriptions", NO_BODY, None)
                .await?;
            if json {
                print_json(&list);
            } else {
                println!(
                    "{:>4}  {:<20} {:<7} {:<24} EVENTS",
                    "ID", "CHANNEL", "SCOPE", "RECIPIENT"
                );
                for s in &list {
                    let mut events = s.events.join(",");
                    if let Some(audience) = &s.audience {
                        events.push_str(&format!(" (audience {audience})"));
                    }
                    println!(
                        "{:>4}  {:<20} {:<7} {:<24} {events}",
                        s.id,
                        s.channel,
                        s.scope,
                        s.recipient.as_deref().unwrap_or("-"),
                    );
                }
            }
        }
        SubscriptionCommand::Remove { id } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/subscriptions/{id}"),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&json!({ "removed": id }));
            } else {
                println!("subscription {id} removed");
            }
        }
    }
    Ok(())
}

pub(crate) async fn delivery(
    client: &Client,
    command: DeliveryCommand,
    json: bool,
) -> Result<(), Failure> {
    let list: Vec<api::Delivery> = match command {
        DeliveryCommand::List { state, limit } => {
            let mut path = format!("/deliveries?limit={limit}");
            if let Some(state) = state {
                path.push_str(&format!("&state={}", encode(&state)));
            }
            client.send(Method::GET, &path, NO_BODY, None).await?
        }
        DeliveryCommand::Retry { id } => vec![
            client
                .send(
                    Method::POST,
                    &format!("/deliveries/{id}/retry"),
                    NO_BODY,
                    None,
                )
                .await?,
        ],
    };
    if json {
        print_json(&list);
        return Ok(());
    }
    println!(
        "{:>5}  {:<9} {:>3}  {:<8} {:<16} {:<40} LAST ERROR",
        "ID", "STATE", "TRY", "INCIDENT", "KIND", "KEY"
    );
    for d in &list {
        println!(
            "{:>5}  {:<9} {:>3}  {:<8} {:<16} {:<40} {}",
            d.id,
            d.state,
            d.attempts,
            d.incident.as_deref().unwrap_or("-"),
            d.kind,
            d.idempotency_key,
            d.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// `hereby user email NAME [ADDRESS]`: sets, or without an address clears, where NAME's
/// personal notifications go.
pub(crate) async fn user_email(
    client: &Client,
    name: String,
    email: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let path = format!("/users/{}/email", encode(&name));
    let request = api::SetEmail {
        email: email.clone(),
    };
    let () = client
        .send(Method::PUT, &path, Some(&request), None)
        .await?;
    if json {
        print_json(&json!({ "user": name, "email": email }));
    } else {
        match email {
            Some(email) => println!("personal notifications for {name} go to {email}"),
            None => println!("{name} has no notification address now"),
        }
    }
    Ok(())
}
