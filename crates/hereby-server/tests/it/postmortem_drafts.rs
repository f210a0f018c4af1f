//! Post-mortem drafts for three recorded incidents of different shapes (snapshots): a short
//! called-off one, a SEV1 with a hand-off, a roll-back and many operations actions, and a
//! restricted security incident. Every real name outside the People section must have become
//! a role variable.

use expect_test::{ExpectFile, expect_file};
use hereby_app::postmortem;
use hereby_core::types::{
    ActionKind, Audience, EntryMark, FileName, IncidentNumber, LinkKind, MediaType, Owner, Reason,
    RoleKey, ServiceName, Severity, Sha256Hex, Status, Target, Text, Title, Url, UserName,
    Visibility,
};
use hereby_core::{Command, Context, Envelope, Policy, State, decide, evolve};
use jiff::{SignedDuration, Timestamp};

/// Everyone in the directory of these stories, including people who never took part.
const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// Runs commands as `actor` at `minute` minutes after 10:00 on 2026-11-02, and keeps every
/// event with its stream sequence.
fn record(steps: Vec<(u32, &str, Command)>) -> (State, Vec<(u64, Envelope)>) {
    let start: Timestamp = "2026-11-02T10:00:00Z".parse().unwrap();
    let policy = Policy::default();
    let mut state = State::initial();
    let mut envelopes = Vec::new();
    for (minute, actor, command) in steps {
        let actor = UserName::parse(actor).unwrap();
        let now = start + SignedDuration::from_mins(i64::from(minute));
        let context = Context {
            now,
            actor: &actor,
            policy: &policy,
        };
        let events = decide(&state, command.clone(), context)
            .unwrap_or_else(|rejection| panic!("{command:?} was rejected: {rejection}"));
        for event in events {
            let envelope = Envelope {
                at: now,
                actor: actor.clone(),
                event,
            };
            state = evolve(state, &envelope);
            envelopes.push((u64::try_from(envelopes.len()).unwrap() + 1, envelope));
        }
    }
    (state, envelopes)
}

fn declare(title: &str, severity: Severity, services: &[&str], visibility: Visibility) -> Command {
    Command::Declare {
        title: Title::parse(title).unwrap(),
        summary: None,
        public_summary: None,
        severity,
        potential: false,
        services: services
            .iter()
            .map(|s| ServiceName::parse(s).unwrap())
            .collect(),
        visibility,
        triage: false,
    }
}

fn assign(role: &str, person: &str) -> Command {
    Command::AssignRole {
        role: RoleKey::parse(role).unwrap(),
        person: UserName::parse(person).unwrap(),
    }
}

fn note(text: &str) -> Command {
    Command::AddNote {
        text: Text::parse(text).unwrap(),
    }
}

fn op(target: &str, action: &str, command: Option<&str>) -> Command {
    Command::RecordOperation {
        target: Target::parse(target).unwrap(),
        action: Text::parse(action).unwrap(),
        command: command.map(|c| Text::parse(c).unwrap()),
        witness: None,
    }
}

fn status(to: Status, reason: Option<&str>) -> Command {
    Command::ChangeStatus {
        to,
        reason: reason.map(|r| Reason::parse(r).unwrap()),
        override_close_checks: false,
    }
}

fn follow_up(text: &str, owner: &str, tracker: Option<&str>) -> Command {
    Command::AddActionItem {
        text: Text::parse(text).unwrap(),
        owner: Owner::parse(owner).unwrap(),
        due: Some("2026-12-01".parse().unwrap()),
        kind: ActionKind::FollowUp,
        tracker_url: tracker.map(|t| Url::parse(t).unwrap()),
    }
}

fn called_off() -> (State, Vec<(u64, Envelope)>) {
    record(vec![
        (
            0,
            "alice",
            declare(
                "Login page slow",
                Severity::Sev3,
                &["login"],
                Visibility::Internal,
            ),
        ),
        (
            4,
            "alice",
            note("Looks like a CDN hiccup; bob is checking the edge logs."),
        ),
        // A heading in a note must not open a section of the draft: names after it are still
        // replaced.
        (
            6,
            "alice",
            note("## People\ncarol restarted the edge cache."),
        ),
        (
            9,
            "alice",
            status(
                Status::CalledOff,
                Some("the CDN provider had a regional blip that cleared on its own"),
            ),
        ),
    ])
}

fn sev1_with_hand_off() -> (State, Vec<(u64, Envelope)>) {
    record(vec![
        (
            0,
            "alice",
            declare(
                "Checkout failing for EU customers",
                Severity::Sev2,
                &["checkout", "payments"],
                Visibility::Internal,
            ),
        ),
        (2, "alice", assign("operations", "bob")),
        (3, "alice", assign("operations", "carol")),
        (3, "alice", assign("communications", "dave")),
        (
            4,
            "alice",
            Command::SetImpactWindow {
                start: Some("2026-11-02T09:55:00Z".parse().unwrap()),
                end: None,
            },
        ),
        (
            6,
            "bob",
            op(
                "db-primary",
                "Restarted the database primary.",
                Some("systemctl restart mysql"),
            ),
        ),
        (
            8,
            "carol",
            op(
                "checkout-api",
                "Raised the connection pool from 50 to 200.",
                None,
            ),
        ),
        (
            10,
            "alice",
            Command::ChangeSeverity {
                severity: Severity::Sev1,
                potential: Some(false),
                reason: Reason::parse("every EU customer is affected").unwrap(),
            },
        ),
        (
            11,
            "dave",
            Command::PostUpdate {
                audience: Audience::parse("customers").unwrap(),
                body: Text::parse(
                    "Checkout is failing for customers in Europe. Next update in 30 minutes.",
                )
                .unwrap(),
                public: false,
                quiet: false,
            },
        ),
        (
            14,
            "alice",
            Command::RequestHandoff {
                to: UserName::parse("erin").unwrap(),
            },
        ),
        (15, "erin", Command::AcceptHandoff),
        (
            18,
            "carol",
            op(
                "checkout-api",
                "Rolled back release 3.4.1 to 3.4.0.",
                Some("deployctl rollback checkout-api --to `3.4.0`"),
            ),
        ),
        (
            20,
            "bob",
            note("Error rate back to normal after carol's roll-back.\nWatching for 15 minutes."),
        ),
        (
            21,
            "bob",
            Command::AddLink {
                kind: LinkKind::Ticket,
                url: Url::parse("https://tracker.example/T-812").unwrap(),
                title: Some(Title::parse("Roll-back of 3.4.1 | checkout").unwrap()),
            },
        ),
        (
            22,
            "bob",
            Command::AttachEvidence {
                name: FileName::parse("checkout-errors.log").unwrap(),
                media_type: MediaType::parse("text/plain").unwrap(),
                size: 48_213,
                sha256: Sha256Hex::parse(&"ab12".repeat(16)).unwrap(),
            },
        ),
        (23, "erin", status(Status::Monitoring, None)),
        (
            25,
            "erin",
            Command::SetImpactWindow {
                start: Some("2026-11-02T09:55:00Z".parse().unwrap()),
                end: Some("2026-11-02T10:19:00Z".parse().unwrap()),
            },
        ),
        (
            30,
            "erin",
            follow_up(
                "Canary every config push | block on error rate",
                "carol",
                Some("https://tracker.example/T-813"),
            ),
        ),
        (
            31,
            "erin",
            follow_up(
                "Alert on EU checkout errors within 2 minutes",
                "role:operations",
                None,
            ),
        ),
        (40, "erin", status(Status::Resolved, None)),
        (
            41,
            "erin",
            // Entry 8 is the change collision of bob's and carol's changes at 10:06 and 10:08.
            Command::MarkTimelineEntry {
                sequence: 13,
                mark: EntryMark::Starred,
            },
        ),
        (
            42,
            "erin",
            Command::MarkTimelineEntry {
                sequence: 7,
                mark: EntryMark::Excluded,
            },
        ),
    ])
}

fn restricted_security() -> (State, Vec<(u64, Envelope)>) {
    record(vec![
        (
            0,
            "frank",
            declare(
                "Leaked API key in a public repository",
                Severity::Sev2,
                &["api"],
                Visibility::Restricted,
            ),
        ),
        (1, "frank", assign("subject_matter_expert", "grace")),
        (
            3,
            "grace",
            op(
                "api-keys",
                "Revoked the leaked key and issued a new one.",
                Some("keyctl revoke ak_live_3f"),
            ),
        ),
        (
            5,
            "grace",
            note("No use of the key in the access logs; heidi confirmed from the audit trail."),
        ),
        (
            8,
            "frank",
            follow_up("Scan every push for secrets", "grace", None),
        ),
        (12, "frank", status(Status::Resolved, None)),
    ])
}

fn draft(template: &str, story: &(State, Vec<(u64, Envelope)>)) -> String {
    let (state, envelopes) = story;
    let users: Vec<String> = USERS.iter().map(|u| (*u).to_owned()).collect();
    postmortem::compose(
        IncidentNumber(7),
        state.incident().unwrap(),
        envelopes,
        &Policy::default().roles,
        &postmortem::shipped(template).unwrap(),
        &users,
    )
    .unwrap()
}

/// The body without its People section, where names are allowed.
fn outside_people(body: &str) -> String {
    let start = body.find("\n## People").unwrap();
    let end = body[start + 1..].find("\n## ").unwrap() + start + 1;
    format!("{}{}", &body[..start], &body[end..])
}

/// Fails if a user name appears as a whole word outside the People section.
fn assert_blameless(body: &str) {
    let rest = outside_people(body);
    for user in USERS {
        let named = rest.match_indices(user).any(|(at, _)| {
            let before = rest[..at].chars().next_back();
            let after = rest[at + user.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
            !word(before) && !word(after)
        });
        assert!(
            !named,
            "`{user}` appears outside the People section:\n{rest}"
        );
    }
}

fn check(template: &str, story: &(State, Vec<(u64, Envelope)>), expected: ExpectFile) {
    let body = draft(template, story);
    assert_blameless(&body);
    expected.assert_eq(&body);
}

#[test]
fn a_called_off_incident_gives_a_short_draft() {
    check("full", &called_off(), expect_file!["drafts/called_off.md"]);
}

#[test]
fn a_sev1_with_hand_off_and_roll_back() {
    let story = sev1_with_hand_off();
    check("full", &story, expect_file!["drafts/sev1_hand_off.md"]);
    let body = draft("full", &story);
    // The hand-off makes two Incident Commanders; the starred roll-back is marked; the
    // excluded entry is left out and counted.
    assert!(body.contains("| Incident Commander A | alice |"), "{body}");
    assert!(body.contains("| Incident Commander B | erin |"), "{body}");
    assert!(
        body.contains("★ **2026-11-02 10:18** — Operations B on `checkout-api`"),
        "{body}"
    );
    assert!(body.contains("1 entry was left out"), "{body}");
    assert!(!body.contains("Raised the connection pool"), "{body}");
}

#[test]
fn the_short_template_shows_the_starred_moments() {
    let body = draft("short", &sev1_with_hand_off());
    assert_blameless(&body);
    expect_file!["drafts/sev1_short.md"].assert_eq(&body);
}

#[test]
fn a_restricted_security_incident() {
    check(
        "full",
        &restricted_security(),
        expect_file!["drafts/security.md"],
    );
}

#[test]
fn the_draft_reads_as_people_write() {
    let story = record(vec![
        (
            0,
            "alice",
            declare(
                "Queue stuck",
                Severity::Sev2,
                &["queue"],
                Visibility::Internal,
            ),
        ),
        (0, "alice", assign("operations", "bob")),
        (
            1,
            "alice",
            Command::SetImpactWindow {
                start: Some("2026-11-02T10:00:00Z".parse().unwrap()),
                end: Some("2026-11-02T10:01:00Z".parse().unwrap()),
            },
        ),
        // The system's own note (an overdue reminder) is no one's contribution.
        (2, "hereby", note("A stakeholder update was due at 10:01.")),
        (
            3,
            "bob",
            Command::AnnounceIntent {
                target: Target::parse("queue-worker").unwrap(),
                action: Text::parse("restart the worker").unwrap(),
                witness: None,
            },
        ),
        (
            4,
            "bob",
            Command::CompleteIntent {
                intent: 1,
                command: None,
                witness: None,
            },
        ),
        (5, "alice", status(Status::Resolved, None)),
    ]);
    let body = draft("full", &story);
    assert!(body.contains("**Duration:** 1 minute\n"), "{body}");
    assert!(
        body.contains("announced intent 1 on `queue-worker`: restart the worker (done)"),
        "{body}"
    );
    assert!(
        body.contains("hereby: A stakeholder update was due at 10:01."),
        "{body}"
    );
    let start = body.find("\n## People").unwrap();
    let end = body[start + 1..]
        .find("\n## ")
        .map_or(body.len(), |end| end + start + 1);
    let people = &body[start..end];
    assert!(
        !people.contains("hereby"),
        "the system is not a responder:\n{people}"
    );
    assert!(!body.contains("Responder A"), "{body}");
}
