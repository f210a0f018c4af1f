//! The one grammar of commands typed where people talk: `inc <verb> [arguments]`, with the
//! command line's words and flags (`--sev`, `--reason`, `--audience`, `--public`), parsed once
//! into a [`Line`] whatever the platform (a Matrix message, a Slack or Mattermost slash
//! command). A message that does not start with `inc` (or `!inc`, `/inc`) followed by a known
//! verb is ordinary talk and is not a command at all, so a sentence that happens to start
//! with "inc" draws no error.

use clap::{Parser, Subcommand};

/// A command line typed in chat.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "inc",
    about = "Run an incident from chat. In an incident's room the commands act on that incident; elsewhere name it with --incident INC-7.",
    disable_version_flag = true
)]
pub struct Line {
    /// The incident to act on, e.g. INC-7 [default: the incident of this room]
    #[arg(long, short = 'i', global = true, value_name = "INC-N")]
    pub incident: Option<String>,
    #[command(subcommand)]
    pub verb: Verb,
}

/// What a chat command asks for.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Verb {
    /// Declare an incident; you become Incident Commander, e.g. `inc declare "Checkout is dead" --sev 2`.
    Declare {
        /// SEV1 (worst) to SEV4, or just 1 to 4 [default: SEV3]
        #[arg(long, short = 's', visible_alias = "severity", value_name = "SEV")]
        sev: Option<String>,
        /// An affected service (repeat for several).
        #[arg(long = "service", value_name = "NAME")]
        services: Vec<String>,
        /// Visible only to its members and admins (security incidents); its room is private.
        #[arg(long)]
        restricted: bool,
        /// What is happening, in a few words.
        #[arg(required = true, num_args = 1.., value_name = "TITLE")]
        title: Vec<String>,
    },
    /// Add a note to the timeline.
    Note {
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Give someone a role, e.g. `inc role operations @anna`.
    Role {
        /// operations, communications, planning, scribe …
        role: String,
        /// The person: their hereby name or their linked chat account.
        person: String,
    },
    /// As Incident Commander, ask someone to take over command.
    Handoff {
        /// The person: their hereby name or their linked chat account.
        to: String,
    },
    /// Take over command you were asked to take.
    Accept,
    /// As Incident Commander, acknowledge the changes made so far (a change collision).
    Ack,
    /// Post a stakeholder update, e.g. `inc update --audience customers Checkout is back`.
    Update {
        /// internal, service_owners, customers, or group:<name>
        #[arg(long, default_value = "internal")]
        audience: String,
        /// Also show it on the public status page (the incident must be public).
        #[arg(long)]
        public: bool,
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
    },
    /// Change the severity, with why, e.g. `inc severity sev1 payments fail for everyone`.
    Severity {
        /// SEV1 (worst) to SEV4, or just 1 to 4.
        severity: String,
        /// Why (required; kept on the timeline).
        #[arg(long)]
        reason: Option<String>,
        /// Why, written after the severity.
        #[arg(num_args = 0.., value_name = "REASON")]
        because: Vec<String>,
    },
    /// Move the status (investigating, identified, monitoring, resolved, closed …).
    Status {
        status: String,
        /// Why (required for called_off, handed_back and reopening).
        #[arg(long)]
        reason: Option<String>,
        /// Why, written after the status.
        #[arg(num_args = 0.., value_name = "REASON")]
        because: Vec<String>,
    },
    /// Service is back to normal.
    Resolve {
        /// Why, if it needs saying.
        #[arg(num_args = 0.., value_name = "REASON")]
        because: Vec<String>,
    },
    /// Show the incident's state document.
    Show,
    /// Declare the incident hereby offered to declare when you said the phrase.
    Yes,
    /// In a reply (Matrix), copy the message it answers into the timeline, as a 📌 reaction
    /// does.
    Pin,
    /// Link your chat account to your hereby account with the code your hereby page shows
    /// (Account → Chat).
    Link { code: String },
}

/// The words that start a command.
pub const PREFIXES: [&str; 3] = ["inc", "!inc", "/inc"];

/// What a chat message is, as far as commands go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Ordinary talk.
    NotACommand,
    /// A command, ready to run.
    Command(Line),
    /// Help asked for, or a command that could not be read: the text to answer with.
    Answer(String),
}

/// Reads a chat message. `text` is the message as typed; a platform whose slash command
/// strips the command word (Slack's `/inc note …` arrives as `note …`) passes
/// `with_prefix: false`.
pub fn parse(text: &str, with_prefix: bool) -> Parsed {
    // Talk is recognised before anything is read as quoted: an apostrophe or an unclosed
    // quotation mark in ordinary talk draws no answer.
    if with_prefix {
        let mut plain = text.split_whitespace();
        let prefixed = plain
            .next()
            .is_some_and(|first| PREFIXES.contains(&first.to_lowercase().as_str()));
        if !prefixed || plain.next().is_some_and(|verb| !is_verb(verb)) {
            return Parsed::NotACommand;
        }
    }
    let Ok(mut words) = split(text) else {
        return Parsed::Answer("a quotation mark is not closed".to_owned());
    };
    if with_prefix {
        match words.first() {
            Some(first) if PREFIXES.contains(&first.to_lowercase().as_str()) => {
                words.remove(0);
            }
            _ => return Parsed::NotACommand,
        }
        // `inc` followed by a word that is no verb is talk ("inc numbers look odd").
        match words.first() {
            None => return Parsed::Answer(help()),
            Some(verb) if !is_verb(verb) => return Parsed::NotACommand,
            Some(_) => {}
        }
    } else if words.is_empty() {
        return Parsed::Answer(help());
    }
    let arguments = std::iter::once("inc".to_owned()).chain(words);
    match Line::try_parse_from(arguments) {
        Ok(line) => Parsed::Command(line),
        Err(error) => Parsed::Answer(error.render().to_string().trim_end().to_owned()),
    }
}

/// The list of verbs, as `inc help` shows it.
pub fn help() -> String {
    use clap::CommandFactory as _;
    Line::command()
        .render_help()
        .to_string()
        .trim_end()
        .to_owned()
}

fn is_verb(word: &str) -> bool {
    use clap::CommandFactory as _;
    let word = word.to_lowercase();
    word == "help"
        || word == "--help"
        || word == "-h"
        || Line::command()
            .get_subcommands()
            .any(|verb| verb.get_name() == word || verb.get_all_aliases().any(|a| a == word))
}

/// Splits a message into words as a shell would for the simple cases people type: spaces
/// separate words, and straight or typographic quotation marks (which chat clients put in
/// for straight ones) keep a phrase together.
fn split(text: &str) -> Result<Vec<String>, ()> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut closing: Option<char> = None;
    for c in text.chars() {
        match closing {
            Some(close) if c == close => closing = None,
            Some(_) => word.push(c),
            None => match c {
                '"' => (closing, in_word) = (Some('"'), true),
                '\'' if !in_word => (closing, in_word) = (Some('\''), true),
                '“' | '„' => (closing, in_word) = (Some('”'), true),
                '‘' if !in_word => (closing, in_word) = (Some('’'), true),
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                c => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if closing.is_some() {
        return Err(());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The severity as the core spells it: `2`, `sev2` and `SEV2` are the same.
pub fn severity_word(raw: &str) -> String {
    let upper = raw.trim().to_uppercase();
    if upper.len() == 1 && upper.chars().all(|c| c.is_ascii_digit()) {
        format!("SEV{upper}")
    } else {
        upper
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn command(text: &str) -> Line {
        match parse(text, true) {
            Parsed::Command(line) => line,
            other => panic!("{text:?} is not a command: {other:?}"),
        }
    }

    #[test]
    fn declare_takes_the_title_in_quotes_or_as_words() {
        let line = command("inc declare \"Checkout is dead\" --sev 2");
        assert_eq!(
            line.verb,
            Verb::Declare {
                sev: Some("2".to_owned()),
                services: Vec::new(),
                restricted: false,
                title: vec!["Checkout is dead".to_owned()],
            }
        );
        let line = command("!inc declare “Checkout is dead” --restricted --service checkout");
        assert!(matches!(
            line.verb,
            Verb::Declare { restricted: true, ref services, ref title, .. }
                if services == &["checkout"] && title == &["Checkout is dead"]
        ));
        let line = command("inc declare checkout is dead");
        assert!(
            matches!(line.verb, Verb::Declare { ref title, .. } if title.join(" ") == "checkout is dead")
        );
    }

    #[test]
    fn every_example_of_the_grammar_reads() {
        assert_eq!(
            command("inc role operations @anna").verb,
            Verb::Role {
                role: "operations".to_owned(),
                person: "@anna".to_owned()
            }
        );
        assert_eq!(
            command("inc handoff @nina").verb,
            Verb::Handoff {
                to: "@nina".to_owned()
            }
        );
        assert_eq!(command("inc accept").verb, Verb::Accept);
        assert_eq!(command("INC show").verb, Verb::Show);
        assert!(matches!(
            command("inc severity sev1 payments fail for everyone").verb,
            Verb::Severity { ref severity, ref because, reason: None } if severity == "sev1" && because.len() == 4
        ));
        assert!(matches!(
            command("inc status monitoring --reason 'fix deployed'").verb,
            Verb::Status { ref status, reason: Some(ref reason), .. } if status == "monitoring" && reason == "fix deployed"
        ));
        assert!(matches!(
            command("inc update --audience customers Checkout works again").verb,
            Verb::Update { ref audience, public: false, ref text } if audience == "customers" && text.len() == 3
        ));
        assert!(
            matches!(command("inc resolve").verb, Verb::Resolve { ref because } if because.is_empty())
        );
        assert_eq!(
            command("inc note --incident INC-7 restarted the pods").incident,
            Some("INC-7".to_owned())
        );
        assert_eq!(
            command("inc link K7Q2-M9XD").verb,
            Verb::Link {
                code: "K7Q2-M9XD".to_owned()
            }
        );
    }

    #[test]
    fn talk_is_not_a_command_and_a_mistyped_command_is_explained() {
        assert_eq!(parse("the inc numbers look odd", true), Parsed::NotACommand);
        assert_eq!(parse("inc numbers look odd", true), Parsed::NotACommand);
        assert_eq!(parse("incredible", true), Parsed::NotACommand);
        assert_eq!(
            parse("I said \"checkout is 'down", true),
            Parsed::NotACommand,
            "an open quotation mark in talk draws no answer"
        );
        let Parsed::Answer(answer) = parse("inc role operations", true) else {
            panic!("a missing person is explained")
        };
        assert!(answer.contains("<PERSON>"), "{answer}");
        let Parsed::Answer(answer) = parse("inc note \"unclosed", true) else {
            panic!("an open quotation mark is explained")
        };
        assert!(answer.contains("quotation"), "{answer}");
        let Parsed::Answer(help) = parse("inc help", true) else {
            panic!("help is answered")
        };
        assert!(
            help.contains("declare") && help.contains("handoff"),
            "{help}"
        );
        let Parsed::Answer(help) = parse("inc", true) else {
            panic!("the bare word shows help")
        };
        assert!(help.contains("Usage"), "{help}");
    }

    #[test]
    fn a_slash_command_arrives_without_its_word() {
        assert_eq!(
            parse("note restarted the pods", false),
            Parsed::Command(Line {
                incident: None,
                verb: Verb::Note {
                    text: vec!["restarted".into(), "the".into(), "pods".into()]
                }
            })
        );
        assert!(matches!(parse("", false), Parsed::Answer(_)));
    }

    #[test]
    fn severities_read_as_the_core_spells_them() {
        assert_eq!(severity_word("2"), "SEV2");
        assert_eq!(severity_word("sev1"), "SEV1");
        assert_eq!(severity_word("SEV4"), "SEV4");
    }
}
