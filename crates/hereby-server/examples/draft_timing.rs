//! Drafting, rendering, linting and PDF layout of a post-mortem for an incident with a long
//! timeline, in process and without the database: the compute part of what
//! `cargo xtask bench-postmortem` measures through HTTP. Run it in release:
//! `cargo run --release -p hereby-server --example draft_timing -- [ENTRIES]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use hereby_app::postmortem;
use hereby_core::draft;
use hereby_core::lint;
use hereby_core::types::{
    ActionKind, Audience, IncidentNumber, Owner, Severity, Status, Text, Title, UserName,
    Visibility,
};
use hereby_core::{Command, Context, Envelope, Policy, State, decide, evolve};
use jiff::{SignedDuration, Timestamp};

fn main() {
    let entries: u64 = std::env::args()
        .nth(1)
        .map_or(10_000, |n| n.parse().expect("ENTRIES is a number"));
    let policy = Policy::default();
    let start: Timestamp = "2026-11-02T10:00:00Z".parse().unwrap();
    let actor = UserName::parse("alice").unwrap();
    let mut state = State::initial();
    let mut envelopes: Vec<(u64, Envelope)> = Vec::new();
    for n in 0..entries {
        let command = match n {
            0 => Command::Declare {
                title: Title::parse("Checkout failing for EU customers").unwrap(),
                summary: None,
                public_summary: None,
                severity: Severity::Sev1,
                potential: false,
                services: Vec::new(),
                visibility: Visibility::Internal,
                triage: false,
            },
            n if n + 1 == entries => Command::ChangeStatus {
                to: Status::Resolved,
                reason: None,
                override_close_checks: false,
            },
            n if n.is_multiple_of(500) => Command::AddActionItem {
                text: Text::parse(&format!("Follow-up {n}: alert earlier")).unwrap(),
                owner: Owner::parse("alice").unwrap(),
                due: None,
                kind: ActionKind::FollowUp,
                tracker_url: None,
            },
            n if n.is_multiple_of(50) => Command::PostUpdate {
                audience: Audience::parse("internal").unwrap(),
                body: Text::parse(&format!("Update {n}: still working on it.")).unwrap(),
                public: false,
                quiet: false,
            },
            n => Command::AddNote {
                text: Text::parse(&format!(
                    "Note {n}: error rate at {}% on the EU checkout pods; connection pool saturated.",
                    n % 97
                ))
                .unwrap(),
            },
        };
        let now = start + SignedDuration::from_secs(i64::try_from(n).unwrap());
        let context = Context {
            now,
            actor: &actor,
            policy: &policy,
        };
        for event in decide(&state, command, context).unwrap() {
            let envelope = Envelope {
                at: now,
                actor: actor.clone(),
                event,
            };
            state = evolve(state, &envelope);
            envelopes.push((u64::try_from(envelopes.len()).unwrap() + 1, envelope));
        }
    }
    let incident = state.incident().unwrap();
    let template = postmortem::shipped("full").unwrap();
    let users: Vec<String> = (0..50).map(|n| format!("user{n}")).collect();
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .min()
            .unwrap_or(Duration::ZERO)
    };
    let listed: Vec<draft::Entry<'_>> = envelopes
        .iter()
        .map(|(sequence, envelope)| draft::Entry {
            sequence: *sequence,
            envelope,
        })
        .collect();
    let facts_time = best(&mut || {
        draft::facts(IncidentNumber(1), incident, &listed, &policy.roles);
    });
    let (facts, _) = draft::facts(IncidentNumber(1), incident, &listed, &policy.roles);
    let render_time = best(&mut || {
        postmortem::render(&template.body, &facts).unwrap();
    });
    let mut body = String::new();
    let compose_time = best(&mut || {
        body = postmortem::compose(
            IncidentNumber(1),
            incident,
            &envelopes,
            &policy.roles,
            &template,
            &users,
        )
        .unwrap();
    });
    let rules = lint::default_blame_rules();
    let people: Vec<lint::Person> = users
        .iter()
        .map(|name| lint::Person {
            names: vec![name.clone()],
            role_variable: None,
        })
        .collect();
    let lint_time = best(&mut || {
        lint::lint(&body, &rules, &people);
    });
    let meta = hereby_report::ReportMeta {
        incident: "INC-1".to_owned(),
        title: "INC-1: Checkout failing for EU customers".to_owned(),
        state: "draft".to_owned(),
        revision: 1,
        chain_head: "ab".repeat(32),
        chain_version: entries,
        generated_at: start.to_string(),
    };
    let pdf_time = best(&mut || {
        hereby_report::pdf::pdf(&meta, &body).unwrap();
    });
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "draft_timing: {entries} timeline entries, {} KiB of Markdown, 50 users (best of 5)",
        body.len() / 1024
    );
    println!(
        "facts from the events            {:>8.1} ms",
        ms(facts_time)
    );
    println!(
        "render the `full` template       {:>8.1} ms",
        ms(render_time)
    );
    println!(
        "draft: facts, render, names      {:>8.1} ms   goal < 200 ms",
        ms(compose_time)
    );
    println!("lint (40 rules, 50 users)        {:>8.1} ms", ms(lint_time));
    println!(
        "PDF                              {:>8.1} ms   goal < 2000 ms",
        ms(pdf_time)
    );
}
