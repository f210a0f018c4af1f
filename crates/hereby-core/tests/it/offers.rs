//! What the post-mortem page may offer, as data: after a story, the steps the rules accept from
//! each person. Every answer is also checked against a real request of each kind, decided
//! with `decide`, so an offer never differs from what the rules then do. And whether an
//! incident may close, against closing itself.

use std::collections::BTreeSet;

use hereby_core::offers::{PostmortemStep, postmortem_steps};
use hereby_core::review::closable;
use hereby_core::types::{Severity, Visibility};
use hereby_core::{Command, Context, Policy, decide};

use crate::support::*;

use PostmortemStep::{Approve, Comment, Delegate, Edit, MarkReviewed, Publish, Submit};

/// Alice declares and leads, Bob holds operations, and it is resolved.
fn resolved() -> Vec<Step> {
    vec![
        ("alice", declare("DB down")),
        ("alice", assign("operations", "bob")),
        ("alice", status("resolved")),
    ]
}

fn with(mut given: Vec<Step>, more: Vec<Step>) -> Vec<Step> {
    given.extend(more);
    given
}

/// A real request of each kind, as a person would send it: a revision with other text based
/// on the current revision, and the review handed to `to`.
fn real(step: PostmortemStep, current_revision: Option<u32>, to: &str) -> Command {
    match step {
        Edit => revise("# Draft\n\nRewritten by hand.", current_revision),
        Submit => submit(),
        Approve => approve(),
        MarkReviewed => mark_reviewed(),
        Publish => publish(),
        Delegate => delegate_review(to),
        Comment => comment("Please add the alarm threshold."),
    }
}

/// After `given`, `who` is offered exactly `expected`, and each step is offered exactly when
/// the real request (the review handed to `to`) is accepted.
fn check(given: &[Step], who: &str, to: &str, expected: &[PostmortemStep]) {
    let story = play(given);
    let policy = Policy::default();
    let actor = user(who);
    let ctx = Context {
        now: step_time(given.len()),
        actor: &actor,
        policy: &policy,
    };
    let offered = postmortem_steps(&story.state, ctx);
    assert_eq!(
        offered,
        expected.iter().copied().collect::<BTreeSet<_>>(),
        "{who}"
    );
    let revision = story
        .state
        .incident()
        .and_then(|incident| incident.postmortem.as_ref())
        .map(|postmortem| postmortem.revision);
    for step in PostmortemStep::ALL {
        let accepted = decide(&story.state, real(step, revision, to), ctx).is_ok();
        assert_eq!(
            offered.contains(&step),
            accepted,
            "{who} {step:?}: offered and accepted differ"
        );
    }
}

#[test]
fn nothing_is_offered_before_a_draft() {
    check(&resolved(), "alice", "bob", &[]);
}

#[test]
fn a_draft_is_submitted_by_its_owner_and_edited_by_anyone() {
    let given = with(resolved(), vec![("alice", draft())]);
    check(&given, "alice", "bob", &[Edit, Submit, Delegate, Comment]);
    check(&given, "bob", "carol", &[Edit, Comment]);
    check(&given, "carol", "bob", &[Edit, Comment]);
}

#[test]
fn in_review_a_reviewer_approves_and_the_owner_waits_for_it() {
    let given = with(resolved(), vec![("alice", draft()), ("alice", submit())]);
    check(&given, "alice", "bob", &[Edit, Delegate, Comment]);
    check(&given, "bob", "alice", &[Edit, Approve, Comment]);
}

#[test]
fn after_an_approval_the_owner_marks_it_reviewed() {
    let given = with(
        resolved(),
        vec![("alice", draft()), ("alice", submit()), ("bob", approve())],
    );
    check(
        &given,
        "alice",
        "bob",
        &[Edit, MarkReviewed, Delegate, Comment],
    );
    check(&given, "bob", "alice", &[Edit, Comment]);
    check(&given, "carol", "bob", &[Edit, Approve, Comment]);
}

#[test]
fn the_owner_of_a_handed_on_review_needs_someone_elses_approval() {
    // Bob approved, then the review was handed to him: his own approval does not count.
    let given = with(
        resolved(),
        vec![
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", delegate_review("bob")),
        ],
    );
    check(&given, "bob", "alice", &[Edit, Delegate, Comment]);
    // The commander may still hand it on; she is no longer the owner and may approve.
    check(
        &given,
        "alice",
        "carol",
        &[Edit, Approve, Delegate, Comment],
    );
}

#[test]
fn a_reviewed_post_mortem_is_published_by_its_owner() {
    let given = with(
        resolved(),
        vec![
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", mark_reviewed()),
        ],
    );
    check(&given, "alice", "bob", &[Edit, Publish, Delegate, Comment]);
    check(&given, "bob", "alice", &[Edit, Comment]);
}

#[test]
fn a_published_post_mortem_offers_nothing() {
    let given = with(
        resolved(),
        vec![
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", mark_reviewed()),
            ("alice", publish()),
        ],
    );
    check(&given, "alice", "bob", &[]);
    check(&given, "bob", "alice", &[]);
}

#[test]
fn once_the_incident_is_closed_the_text_no_longer_changes() {
    let given = with(
        resolved(),
        vec![
            ("alice", draft()),
            ("alice", submit()),
            ("bob", approve()),
            ("alice", mark_reviewed()),
            ("alice", status("closed")),
        ],
    );
    check(&given, "alice", "bob", &[Publish, Delegate, Comment]);
    check(&given, "bob", "alice", &[Comment]);
}

#[test]
fn a_restricted_review_goes_only_to_members() {
    let given = vec![
        (
            "alice",
            declare_full(
                "Leak",
                "Customer data exposed",
                Severity::Sev2,
                false,
                &[],
                Visibility::Restricted,
            ),
        ),
        ("alice", status("resolved")),
        ("alice", draft()),
    ];
    // Nobody else is a member: handing the review on cannot be accepted, whoever is named.
    check(&given, "alice", "bob", &[Edit, Submit, Comment]);
    let given = with(given, vec![("alice", add_member("carol"))]);
    check(&given, "alice", "carol", &[Edit, Submit, Delegate, Comment]);
}

#[test]
fn an_incident_closes_once_reviewed_and_settled_as_closing_itself_says() {
    let stories: Vec<(Vec<Step>, bool)> = vec![
        (vec![("alice", declare("DB down"))], false),
        (resolved(), false),
        (with(resolved(), vec![("alice", draft())]), false),
        (
            with(
                resolved(),
                vec![
                    ("alice", add_item_follow_up("alert on lag", "bob")),
                    ("alice", draft()),
                    ("alice", submit()),
                    ("bob", approve()),
                    ("alice", mark_reviewed()),
                ],
            ),
            false,
        ),
        (
            with(
                resolved(),
                vec![
                    ("alice", add_item_follow_up("alert on lag", "bob")),
                    ("alice", draft()),
                    ("alice", submit()),
                    ("bob", approve()),
                    ("alice", mark_reviewed()),
                    ("bob", complete(1)),
                ],
            ),
            true,
        ),
        (
            with(
                resolved(),
                vec![
                    ("alice", draft()),
                    ("alice", submit()),
                    ("bob", approve()),
                    ("alice", mark_reviewed()),
                    ("alice", publish()),
                ],
            ),
            true,
        ),
        (
            with(
                resolved(),
                vec![
                    ("alice", draft()),
                    ("alice", submit()),
                    ("bob", approve()),
                    ("alice", mark_reviewed()),
                    ("alice", status("closed")),
                ],
            ),
            false,
        ),
    ];
    for (index, (given, expected)) in stories.into_iter().enumerate() {
        let incident = play(&given).state.incident().cloned().unwrap();
        assert_eq!(closable(&incident), expected, "story {index}");
        let closes = decide_after(&given, &("alice", status("closed"))).is_ok();
        assert_eq!(closes, expected, "story {index}: closing itself");
    }
}
