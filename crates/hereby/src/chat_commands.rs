//! The chat commands of the client: linking chat accounts to hereby users.

use clap::Subcommand;
use hereby_api as api;
use reqwest::Method;
use serde_json::json;

use crate::client::{Client, Failure};
use crate::commands::{NO_BODY, encode, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum ChatCommand {
    /// Print a one-time code (good for 15 minutes) that links the chat account you send it
    /// from, as `inc link CODE`, to you.
    Code,
    /// List chat links: yours, or every one for an admin.
    Links,
    /// Link a chat account to a user (admins), e.g.
    /// `hereby chat link matrix @anna:example.org anna`.
    Link {
        /// The platform, e.g. matrix.
        platform: String,
        /// The platform's id of the account, e.g. @anna:example.org.
        chat_user: String,
        /// The hereby user it speaks for.
        user: String,
    },
    /// Unlink a chat account (yours, or anyone's for an admin).
    Unlink { platform: String, chat_user: String },
}

pub(crate) async fn chat(client: &Client, command: ChatCommand, json: bool) -> Result<(), Failure> {
    match command {
        ChatCommand::Code => {
            let code: api::ChatLinkCode = client
                .send(Method::POST, "/chat/link-code", NO_BODY, None)
                .await?;
            if json {
                print_json(&code);
            } else {
                println!(
                    "Send `inc link {}` from your chat account (before {}).",
                    code.code, code.expires_at
                );
            }
        }
        ChatCommand::Links => {
            let links: Vec<api::ChatLink> = client
                .send(Method::GET, "/chat/links", NO_BODY, None)
                .await?;
            if json {
                print_json(&links);
            } else if links.is_empty() {
                println!("no chat links");
            } else {
                for link in links {
                    println!(
                        "{}\t{}\t{}\t(linked by {}, {})",
                        link.platform, link.chat_user, link.user, link.linked_by, link.linked_at
                    );
                }
            }
        }
        ChatCommand::Link {
            platform,
            chat_user,
            user,
        } => {
            let request = api::ChatLinkRequest {
                platform,
                chat_user,
                user,
            };
            let link: api::ChatLink = client
                .send(Method::PUT, "/chat/links", Some(&request), None)
                .await?;
            if json {
                print_json(&link);
            } else {
                println!(
                    "{} {} speaks for {}",
                    link.platform, link.chat_user, link.user
                );
            }
        }
        ChatCommand::Unlink {
            platform,
            chat_user,
        } => {
            let () = client
                .send(
                    Method::DELETE,
                    &format!("/chat/links/{}/{}", encode(&platform), encode(&chat_user)),
                    NO_BODY,
                    None,
                )
                .await?;
            if json {
                print_json(&json!({ "unlinked": chat_user }));
            } else {
                println!("{platform} {chat_user} unlinked");
            }
        }
    }
    Ok(())
}
