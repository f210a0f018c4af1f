//! Invitations to post-mortem review meetings as iCalendar (RFC 5545) files.
//!
//! Written by hand rather than with the `icalendar` crate's builder: that builder fills in
//! DTSTAMP from the system clock and a random UID when they are missing and brings chrono and
//! uuid along; a single VEVENT is a few lines. The tests read every invitation back with
//! `icalendar`'s parser.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};

/// One review meeting of one post-mortem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInvite {
    /// Stable for the meeting across updates, e.g. "inc-7-review-2@hereby.example".
    pub uid: String,
    /// Bumped each time the meeting changes (RFC 5545 SEQUENCE).
    pub sequence: u32,
    /// When this version of the invitation was made (DTSTAMP): passed in, there is no clock.
    pub stamp: Timestamp,
    pub starts_at: Timestamp,
    pub duration_minutes: u32,
    /// E.g. "Post-mortem review 2 for INC-7: Checkout failing".
    pub summary: String,
    /// The agenda as plain text; may span several lines.
    pub description: String,
    /// A link to the post-mortem.
    pub url: Option<String>,
    pub organizer: Option<Attendee>,
    pub attendees: Vec<Attendee>,
}

/// A person invited to (or organising) a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub name: String,
    pub email: Option<String>,
}

/// A VCALENDAR with one VEVENT (METHOD:REQUEST, PRODID "-//hereby//post-mortem reviews//EN"):
/// times in UTC, DTEND from the duration, text escaped as RFC 5545 says (backslashes, commas,
/// semicolons, newlines), lines folded at 75 octets, CRLF line ends.
///
/// An iCalendar attendee or organizer is an address: people without an e-mail address get no
/// ATTENDEE or ORGANIZER line; attendees without one are named at the end of the description
/// instead, so the invitation still says they are expected.
pub fn review_invite(invite: &ReviewInvite) -> String {
    let mut out = String::with_capacity(1024 + invite.description.len() * 2);
    let mut line = |text: &str| push_folded(&mut out, text);

    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//hereby//post-mortem reviews//EN");
    line("CALSCALE:GREGORIAN");
    line("METHOD:REQUEST");
    line("BEGIN:VEVENT");
    line(&format!("UID:{}", escape_text(&invite.uid)));
    line(&format!("SEQUENCE:{}", invite.sequence));
    line(&format!("DTSTAMP:{}", utc(invite.stamp)));
    line(&format!("DTSTART:{}", utc(invite.starts_at)));
    let length = SignedDuration::from_mins(i64::from(invite.duration_minutes));
    let ends_at = invite
        .starts_at
        .checked_add(length)
        .unwrap_or(Timestamp::MAX);
    line(&format!("DTEND:{}", utc(ends_at)));
    line(&format!("SUMMARY:{}", escape_text(&invite.summary)));

    let mut description = invite.description.clone();
    let unreachable: Vec<&str> = invite
        .attendees
        .iter()
        .filter(|a| address(a).is_none())
        .map(|a| a.name.as_str())
        .collect();
    if !unreachable.is_empty() {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        let _ = write!(
            description,
            "Also expected (no e-mail address on file): {}",
            unreachable.join(", ")
        );
    }
    if !description.is_empty() {
        line(&format!("DESCRIPTION:{}", escape_text(&description)));
    }
    if let Some(url) = invite.url.as_deref().map(uri).filter(|u| !u.is_empty()) {
        line(&format!("URL:{url}"));
    }
    if let Some((organizer, mailto)) = invite
        .organizer
        .as_ref()
        .and_then(|o| Some((o, address(o)?)))
    {
        line(&format!(
            "ORGANIZER;CN={}:{mailto}",
            param_value(&organizer.name)
        ));
    }
    for (attendee, mailto) in invite
        .attendees
        .iter()
        .filter_map(|a| Some((a, address(a)?)))
    {
        line(&format!(
            "ATTENDEE;CN={};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{mailto}",
            param_value(&attendee.name)
        ));
    }
    line("STATUS:CONFIRMED");
    line("TRANSP:OPAQUE");
    line("END:VEVENT");
    line("END:VCALENDAR");
    out
}

/// A UTC DATE-TIME, e.g. 20261102T100000Z.
fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The person's calendar address as a mailto: URI, if they have a usable e-mail address.
fn address(person: &Attendee) -> Option<String> {
    let email = uri(person.email.as_deref()?.trim());
    (email.contains('@') && !email.contains([':', ';', ','])).then(|| format!("mailto:{email}"))
}

/// A URI value: not escaped like TEXT, but it must stay on its content line, so control
/// characters and spaces (never valid in a URI) are left out.
fn uri(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect()
}

/// A parameter value such as CN: always quoted; a quoted value cannot hold a double quote or a
/// control character, so those become an apostrophe and a space.
fn param_value(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push('\''),
            c if c.is_control() => quoted.push(' '),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, any line break
/// (CRLF, CR or LF) written as `\n`, other control characters except tab dropped.
fn escape_text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + value.len() / 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                escaped.push_str("\\n");
            }
            '\t' => escaped.push('\t'),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends one content line, folded so that no physical line exceeds 75 octets (continuation
/// lines start with a space, which counts), never inside a UTF-8 sequence, ended by CRLF.
fn push_folded(out: &mut String, line: &str) {
    const LIMIT: usize = 75;
    let mut rest = line;
    let mut budget = LIMIT;
    loop {
        if rest.len() <= budget {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = budget;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        budget = LIMIT - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_follow_rfc_5545() {
        assert_eq!(
            escape_text("a,b;c\\d\ne\r\nf\rg\u{7}h\ti"),
            "a\\,b\\;c\\\\d\\ne\\nf\\ngh\ti"
        );
    }

    #[test]
    fn folding_never_splits_a_character_and_keeps_75_octets() {
        for prefix in 0..8 {
            let line = format!("DESCRIPTION:{}{}", "x".repeat(prefix), "ü—✓".repeat(60));
            let mut out = String::new();
            push_folded(&mut out, &line);
            let physical: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
            assert!(physical.iter().all(|l| l.len() <= 75), "{physical:?}");
            assert!(physical[1..].iter().all(|l| l.starts_with(' ')));
            let unfolded: String = physical
                .iter()
                .enumerate()
                .map(|(i, l)| if i == 0 { *l } else { &l[1..] })
                .collect();
            assert_eq!(unfolded, line);
        }
    }
}
