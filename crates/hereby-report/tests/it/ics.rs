//! Review invitations, read back with the icalendar crate's parser.

use hereby_report::ics::{Attendee, ReviewInvite, review_invite};
use icalendar::{Calendar, CalendarDateTime, Component, DatePerhapsTime};
use jiff::Timestamp;

fn invite() -> ReviewInvite {
    ReviewInvite {
        uid: "inc-7-review-2@hereby.example".into(),
        sequence: 1,
        stamp: "2026-11-03T08:00:00Z".parse().unwrap(),
        starts_at: "2026-11-05T14:30:00Z".parse().unwrap(),
        duration_minutes: 90,
        summary: "Post-mortem review 2 for INC-7: Checkout failing, EU; \"urgent\"".into(),
        description:
            "Agenda:\n1. Timeline, impact; contributing factors\n2. Action items \\ owners\n\
                      Jürgen leads — Zürich office ✓\r\nBring notes, please."
                .into(),
        url: Some("https://hereby.example/incidents/INC-7/post-mortem?rev=3&view=review".into()),
        organizer: Some(Attendee {
            name: "Alice Example".into(),
            email: Some("alice@example.com".into()),
        }),
        attendees: vec![
            Attendee {
                name: "Bob \"Ops\" Builder; SRE".into(),
                email: Some("bob@example.com".into()),
            },
            Attendee {
                name: "Jürgen Müller-Lüdenscheidt, Communications Lead".into(),
                email: Some("juergen.mueller-luedenscheidt@kommunikation.example.com".into()),
            },
            Attendee {
                name: "carol".into(),
                email: None,
            },
        ],
    }
}

fn utc(value: Option<DatePerhapsTime>) -> String {
    match value {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(at))) => at.to_rfc3339(),
        other => panic!("not a UTC date-time: {other:?}"),
    }
}

#[test]
fn the_invitation_parses_back_with_its_fields() {
    let ics = review_invite(&invite());
    let calendar: Calendar = ics.parse().expect("icalendar parses the invitation");
    assert_eq!(calendar.property_value("METHOD"), Some("REQUEST"));
    assert_eq!(
        calendar.property_value("PRODID"),
        Some("-//hereby//post-mortem reviews//EN")
    );
    assert_eq!(calendar.property_value("VERSION"), Some("2.0"));
    let events: Vec<_> = calendar.events().collect();
    assert_eq!(events.len(), 1);
    let event = events[0];

    assert_eq!(event.get_uid(), Some("inc-7-review-2@hereby.example"));
    assert_eq!(event.get_sequence(), Some(1));
    assert_eq!(
        event.get_summary(),
        Some("Post-mortem review 2 for INC-7: Checkout failing, EU; \"urgent\"")
    );
    assert_eq!(utc(event.get_start()), "2026-11-05T14:30:00+00:00");
    assert_eq!(utc(event.get_end()), "2026-11-05T16:00:00+00:00");
    assert_eq!(
        event.get_timestamp().map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-03T08:00:00+00:00")
    );
    assert_eq!(
        event.get_url(),
        Some("https://hereby.example/incidents/INC-7/post-mortem?rev=3&view=review")
    );
    assert_eq!(
        event.get_description(),
        Some(
            "Agenda:\n1. Timeline, impact; contributing factors\n2. Action items \\ owners\n\
             Jürgen leads — Zürich office ✓\nBring notes, please.\n\n\
             Also expected (no e-mail address on file): carol"
        )
    );

    let attendees = event.get_attendees();
    let found: Vec<(Option<&str>, &str)> = attendees
        .iter()
        .map(|a| (a.cn.as_deref(), a.cal_address.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Some("Bob 'Ops' Builder; SRE"), "mailto:bob@example.com"),
            (
                Some("Jürgen Müller-Lüdenscheidt, Communications Lead"),
                "mailto:juergen.mueller-luedenscheidt@kommunikation.example.com"
            ),
        ]
    );
    assert!(attendees.iter().all(|a| a.rsvp == Some(true)));
    assert!(ics.contains("\r\nORGANIZER;CN=\"Alice Example\":mailto:alice@example.com\r\n"));
}

#[test]
fn lines_are_folded_at_75_octets_and_end_in_crlf() {
    let ics = review_invite(&invite());
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert!(!ics.replace("\r\n", "").contains('\n'), "bare LF");
    assert!(!ics.replace("\r\n", "").contains('\r'), "bare CR");
    let lines: Vec<&str> = ics.trim_end_matches("\r\n").split("\r\n").collect();
    for line in &lines {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    // The long ones really were folded (and continuation lines start with a space).
    assert!(
        lines.iter().filter(|l| l.starts_with(' ')).count() >= 4,
        "{ics}"
    );
    assert!(lines.iter().any(|l| l.len() >= 73), "{ics}");
}

#[test]
fn times_are_utc_and_the_duration_sets_the_end() {
    let mut short = invite();
    short.starts_at = "2026-12-31T23:45:00Z".parse().unwrap();
    short.duration_minutes = 30;
    let ics = review_invite(&short);
    assert!(ics.contains("\r\nDTSTART:20261231T234500Z\r\n"), "{ics}");
    assert!(ics.contains("\r\nDTEND:20270101T001500Z\r\n"), "{ics}");
    assert!(ics.contains("\r\nDTSTAMP:20261103T080000Z\r\n"), "{ics}");
}

#[test]
fn a_moved_meeting_keeps_its_uid_and_bumps_its_sequence() {
    let first = review_invite(&invite());
    let moved = ReviewInvite {
        sequence: 2,
        starts_at: "2026-11-06T09:00:00Z".parse().unwrap(),
        ..invite()
    };
    let second: Calendar = review_invite(&moved).parse().unwrap();
    let first: Calendar = first.parse().unwrap();
    let (a, b) = (
        first.events().next().unwrap(),
        second.events().next().unwrap(),
    );
    assert_eq!(a.get_uid(), b.get_uid());
    assert_eq!((a.get_sequence(), b.get_sequence()), (Some(1), Some(2)));
    assert_eq!(utc(b.get_start()), "2026-11-06T09:00:00+00:00");
}

#[test]
fn a_bare_invitation_has_no_optional_lines() {
    let bare = ReviewInvite {
        uid: "x@hereby.example".into(),
        sequence: 0,
        stamp: Timestamp::UNIX_EPOCH,
        starts_at: Timestamp::UNIX_EPOCH,
        duration_minutes: 0,
        summary: String::new(),
        description: String::new(),
        url: None,
        organizer: Some(Attendee {
            name: "No Mail".into(),
            email: None,
        }),
        attendees: vec![],
    };
    let ics = review_invite(&bare);
    let calendar: Calendar = ics.parse().unwrap();
    let event = calendar.events().next().unwrap();
    assert_eq!(event.get_summary(), Some(""));
    for absent in ["DESCRIPTION", "URL", "ORGANIZER", "ATTENDEE"] {
        assert!(!ics.contains(&format!("\r\n{absent}")), "{absent} in {ics}");
    }
    assert_eq!(utc(event.get_end()), "1970-01-01T00:00:00+00:00");
}
