//! The review-meeting cycle over months, driven by the clock passed to `decide`: the first
//! meeting one interval after resolution, the next one interval after each meeting while a
//! follow-up stays open, none once all are settled, and closing only then (with a reviewed
//! post-mortem). Also a configured interval, and moving a meeting.

use hereby_core::RejectionCode;
use hereby_core::review::{agenda, follow_ups_settled};
use hereby_core::types::ActionState;
use hereby_core::{Command, Context, Envelope, Policy, State, decide, evolve};
use jiff::{SignedDuration, Timestamp};

use crate::support::*;

/// A story whose clock the test moves: each step happens at the time it is given.
struct Clocked {
    policy: Policy,
    state: State,
}

impl Clocked {
    fn new(policy: Policy) -> Self {
        Self {
            policy,
            state: State::initial(),
        }
    }

    fn try_at(
        &mut self,
        when: Timestamp,
        actor: &str,
        command: Command,
    ) -> Result<(), RejectionCode> {
        let actor = user(actor);
        let events = decide(
            &self.state,
            command,
            Context {
                now: when,
                actor: &actor,
                policy: &self.policy,
            },
        )
        .map_err(|rejection| rejection.code)?;
        for event in events {
            self.state = evolve(
                std::mem::take(&mut self.state),
                &Envelope {
                    at: when,
                    actor: actor.clone(),
                    event,
                },
            );
        }
        Ok(())
    }

    fn at(&mut self, when: Timestamp, actor: &str, command: Command) {
        if let Err(code) = self.try_at(when, actor, command) {
            panic!("refused at {when}: {}", code.as_str());
        }
    }

    fn next_meeting(&self) -> Option<(u32, Timestamp)> {
        self.state.incident().unwrap().reviews.next
    }
}

fn day(n: i64) -> Timestamp {
    t0() + SignedDuration::from_hours(24 * n)
}

/// When a meeting planned for day `n` takes place: on that working day (or the Monday after a
/// weekend) at the default meeting time.
fn meeting_day(n: i64) -> jiff::Timestamp {
    hereby_core::ReviewTime::default().on_working_day(day(n))
}

#[test]
fn meetings_recur_every_thirty_days_until_every_follow_up_is_settled() {
    let mut story = Clocked::new(Policy::default());
    story.at(day(0), "alice", declare("DB down"));
    story.at(
        day(0),
        "alice",
        add_item_follow_up("alert on replication lag", "bob"),
    );
    story.at(
        day(0),
        "alice",
        add_item_follow_up("document failover", "carol"),
    );
    story.at(day(1), "alice", status("resolved"));
    assert_eq!(
        story.next_meeting(),
        Some((1, meeting_day(31))),
        "30 days after resolution"
    );

    // The post-mortem is reviewed meanwhile; the open follow-ups still keep it from closing.
    for (actor, command) in [
        ("alice", draft()),
        ("alice", submit()),
        ("bob", approve()),
        ("alice", mark_reviewed()),
    ] {
        story.at(day(5), actor, command);
    }
    assert_eq!(
        story.try_at(day(6), "alice", status("closed")),
        Err(RejectionCode::OpenFollowUps)
    );

    // Meeting 1, on its day: one done, one still open with a new due date.
    let agenda_then = agenda(story.state.incident().unwrap(), day(31));
    assert_eq!(agenda_then.len(), 2);
    assert!(agenda_then.iter().all(|item| item.days_open == 31));
    story.at(
        day(31),
        "alice",
        record_meeting(
            &["alice", "bob", "carol"],
            &[(1, "done", ""), (2, "open", "2024-07-15")],
        ),
    );
    assert_eq!(
        story.next_meeting(),
        Some((2, meeting_day(61))),
        "30 days after the meeting"
    );
    assert!(!follow_ups_settled(story.state.incident().unwrap()));

    // Meeting 2 is moved two days later, then held late; nothing was decided, so a third
    // follows 30 days after the day it was held.
    let moved = day(63);
    story.at(
        day(40),
        "alice",
        Command::ScheduleReviewMeeting { at: moved },
    );
    assert_eq!(story.next_meeting(), Some((2, moved)));
    story.at(day(64), "alice", record_meeting(&["alice", "carol"], &[]));
    assert_eq!(story.next_meeting(), Some((3, meeting_day(94))));

    // Meeting 3 settles the last one: no further meeting, and the incident may close.
    story.at(
        day(94),
        "alice",
        record_meeting(
            &["alice", "carol"],
            &[(2, "wont_fix", "the runbook replaced it")],
        ),
    );
    assert_eq!(story.next_meeting(), None);
    let incident = story.state.incident().unwrap();
    assert!(follow_ups_settled(incident));
    assert_eq!(incident.reviews.held.len(), 3);
    assert_eq!(
        incident.action_items[&2].state,
        ActionState::WontFix,
        "the meeting's outcome is the follow-up's state"
    );
    story.at(day(95), "alice", status("closed"));
}

#[test]
fn the_interval_is_configurable() {
    let mut story = Clocked::new(Policy {
        review_interval: SignedDuration::from_hours(24 * 14),
        ..Policy::default()
    });
    story.at(day(0), "alice", declare("DB down"));
    story.at(
        day(0),
        "alice",
        add_item_follow_up("alert on replication lag", "bob"),
    );
    story.at(day(2), "alice", status("resolved"));
    assert_eq!(story.next_meeting(), Some((1, meeting_day(16))));
    story.at(day(16), "alice", record_meeting(&["alice"], &[]));
    assert_eq!(story.next_meeting(), Some((2, meeting_day(30))));
}

#[test]
fn reopening_cancels_the_meeting_and_resolving_again_plans_a_new_one() {
    let mut story = Clocked::new(Policy::default());
    story.at(day(0), "alice", declare("DB down"));
    story.at(day(1), "alice", status("resolved"));
    assert_eq!(story.next_meeting(), Some((1, meeting_day(31))));
    story.at(
        day(3),
        "alice",
        status_with_reason("investigating", "errors are back"),
    );
    assert_eq!(story.next_meeting(), None);
    assert_eq!(
        story.try_at(day(4), "alice", record_meeting(&["alice"], &[])),
        Err(RejectionCode::InvalidReviewMeeting)
    );
    story.at(day(5), "alice", status("resolved"));
    assert_eq!(story.next_meeting(), Some((1, meeting_day(35))));
}

#[test]
fn meetings_are_planned_at_the_team_s_time_on_a_working_day() {
    use hereby_core::ReviewTime;
    let ten_in_paris = ReviewTime::parse("10:00+01:00").unwrap();
    // A Saturday afternoon becomes the Monday after, at 10:00 in the team's offset.
    let saturday: jiff::Timestamp = "2026-12-05T15:42:17Z".parse().unwrap();
    assert_eq!(
        ten_in_paris.on_working_day(saturday).to_string(),
        "2026-12-07T09:00:00Z"
    );
    // A weekday keeps its day; the time becomes the meeting time, not the second reached.
    let wednesday: jiff::Timestamp = "2026-12-09T16:03:09Z".parse().unwrap();
    assert_eq!(
        ReviewTime::default().on_working_day(wednesday).to_string(),
        "2026-12-09T10:00:00Z"
    );
    for wrong in ["25:00", "10:00+15:00", "noon", "10:00+01"] {
        assert!(ReviewTime::parse(wrong).is_err(), "{wrong}");
    }
    assert!(ReviewTime::parse("14:30-05:00").is_ok());
}
