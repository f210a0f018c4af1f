//! The shipped message templates rendered for a recorded incident (snapshots), and what the
//! variables hold.

use hereby_app::messages;
use hereby_core::types::{RoleKey, ServiceName, Severity, Text, Title, UserName, Visibility};
use hereby_core::{Cadence, Command, Context, Envelope, Policy, State, decide, evolve};
use jiff::{SignedDuration, Timestamp};

/// Runs commands as `actor`, one minute apart from `start`, and returns the final state.
fn story(start: Timestamp, steps: Vec<(&str, Command)>) -> State {
    let policy = Policy::default();
    let mut state = State::initial();
    for (index, (actor, command)) in steps.into_iter().enumerate() {
        let actor = UserName::parse(actor).unwrap();
        let now = start + SignedDuration::from_mins(i64::try_from(index).unwrap());
        let context = Context {
            now,
            actor: &actor,
            policy: &policy,
        };
        for event in decide(&state, command, context).unwrap() {
            state = evolve(
                state,
                &Envelope {
                    at: now,
                    actor: actor.clone(),
                    event,
                },
            );
        }
    }
    state
}

fn checkout_outage() -> State {
    let start: Timestamp = "2026-03-02T09:14:00Z".parse().unwrap();
    story(
        start,
        vec![
            (
                "alice",
                Command::Declare {
                    title: Title::parse("Card payments fail at checkout").unwrap(),
                    summary: Some(
                        Text::parse("About a third of card payments are declined.").unwrap(),
                    ),
                    public_summary: Some(
                        Text::parse("Some card payments are declined at checkout.").unwrap(),
                    ),
                    severity: Severity::Sev1,
                    potential: false,
                    services: vec![
                        ServiceName::parse("checkout").unwrap(),
                        ServiceName::parse("payments").unwrap(),
                    ],
                    visibility: Visibility::Public,
                    triage: false,
                },
            ),
            (
                "alice",
                Command::AssignRole {
                    role: RoleKey::parse("communications").unwrap(),
                    person: UserName::parse("carol").unwrap(),
                },
            ),
            (
                "alice",
                Command::SetImpactWindow {
                    start: Some("2026-03-02T08:55:00Z".parse().unwrap()),
                    end: None,
                },
            ),
        ],
    )
}

#[test]
fn every_shipped_template_renders_for_a_recorded_incident() {
    let state = checkout_outage();
    let incident = state.incident().unwrap();
    let now: Timestamp = "2026-03-02T09:20:00Z".parse().unwrap();
    let variables = messages::variables(
        "INC-42",
        incident,
        &Cadence::default(),
        "https://hereby.example.com/",
        now,
    );
    let mut out = String::new();
    let templates = messages::effective(Vec::new());
    assert_eq!(templates.len(), 6, "six shipped templates");
    for template in templates {
        assert_eq!(template.origin, "default");
        let message = messages::render(&template.subject, &template.body, &variables).unwrap();
        out.push_str(&format!(
            "===== {} ({})\nSubject: {}\n\n{}\n",
            template.name, template.description, message.subject, message.body
        ));
    }
    expect_test::expect_file!["messages.snap"].assert_eq(&out);
}

#[test]
fn variables_follow_the_incident() {
    let state = checkout_outage();
    let incident = state.incident().unwrap();
    let now: Timestamp = "2026-03-02T09:20:00Z".parse().unwrap();
    let variables = messages::variables("INC-42", incident, &Cadence::default(), "", now);
    let expected = [
        ("id", "INC-42"),
        ("severity", "SEV1"),
        ("services", "checkout, payments"),
        ("commander", "alice"),
        ("communications", "carol"),
        ("impact_start", "2026-03-02 08:55 UTC"),
        ("impact_end", ""),
        ("url", "/incidents/INC-42"),
        ("last_update", ""),
        // SEV1: an update posted now promises the next 30 minutes from now, not from the
        // declaration (which would be 09:44).
        ("next_update_due", "2026-03-02 09:50 UTC"),
    ];
    for (name, value) in expected {
        assert_eq!(variables[name], value, "{name}");
    }
    // Every documented variable has a value, and only those.
    let documented: Vec<&str> = messages::VARIABLES.iter().map(|(name, _)| *name).collect();
    let given: Vec<&str> = variables.keys().copied().collect();
    let mut documented_sorted = documented.clone();
    documented_sorted.sort_unstable();
    assert_eq!(given, documented_sorted);
}
