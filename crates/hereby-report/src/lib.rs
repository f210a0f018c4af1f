//! Rendering a post-mortem for readers outside hereby: a standalone HTML page, a PDF whose
//! fonts are embedded in the binary, and iCalendar invitations to review meetings. Pure
//! functions from text to bytes: no I/O and no clock.

pub mod html;
pub mod ics;
pub mod pdf;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// What every export shows around the post-mortem's Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMeta {
    /// The incident's id, e.g. "INC-7".
    pub incident: String,
    /// The post-mortem's title, e.g. "INC-7: Checkout failing for EU customers".
    pub title: String,
    /// The review state: "draft", "in_review", "reviewed" or "published".
    pub state: String,
    pub revision: u32,
    /// Hex SHA-256 of the incident timeline's last event (the hash-chain head).
    pub chain_head: String,
    /// How many events the head covers.
    pub chain_version: u64,
    /// RFC 3339 timestamp, already formatted by the caller.
    pub generated_at: String,
}

/// The footer line every export carries: which timeline the document was made from and how a
/// reader checks it, e.g. "Timeline INC-7 at event 42, hash-chain head 3fa2… — check it with
/// `hereby verify INC-7 --at 42 --head 3fa2…`" (the head in full both times).
pub fn footer_line(meta: &ReportMeta) -> String {
    format!(
        "Timeline {incident} at event {version}, hash-chain head {head} — check it with \
         `hereby verify {incident} --at {version} --head {head}`",
        incident = meta.incident,
        version = meta.chain_version,
        head = meta.chain_head,
    )
}

/// The review state as a reader sees it ("in_review" → "In review"); unknown states as given.
/// When the document was made, as people read it (`2026-11-02 11:00 UTC`); the RFC 3339
/// form stays in machine-readable places.
fn generated_label(meta: &ReportMeta) -> String {
    meta.generated_at
        .parse::<jiff::Timestamp>()
        .map(|at| at.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| meta.generated_at.clone())
}

fn state_label(state: &str) -> &str {
    match state {
        "draft" => "Draft",
        "in_review" => "In review",
        "reviewed" => "Reviewed",
        "published" => "Published",
        other => other,
    }
}

/// The Markdown dialect of post-mortems: CommonMark with GFM tables and strikethrough.
fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// The document's events, without a leading level-1 heading that only repeats `title`: both
/// renderers show the title in their own title block.
fn markdown_events<'a>(markdown: &'a str, title: &str) -> impl Iterator<Item = Event<'a>> {
    let mut parser = Parser::new_ext(markdown, markdown_options());
    let mut head = Vec::new();
    if let Some(first) = parser.next() {
        let opens_title = matches!(
            first,
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            })
        );
        head.push(first);
        if opens_title {
            let mut text = String::new();
            for event in parser.by_ref() {
                let end = matches!(event, Event::End(TagEnd::Heading(_)));
                if let Event::Text(t) | Event::Code(t) = &event {
                    text.push_str(t);
                }
                head.push(event);
                if end {
                    break;
                }
            }
            if text.trim() == title.trim() {
                head.clear();
            }
        }
    }
    head.into_iter().chain(parser)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ReportMeta {
        ReportMeta {
            incident: "INC-7".into(),
            title: "INC-7: Checkout failing".into(),
            state: "draft".into(),
            revision: 3,
            chain_head: "ab".repeat(32),
            chain_version: 42,
            generated_at: "2026-11-02T11:00:00Z".into(),
        }
    }

    #[test]
    fn footer_names_the_event_and_the_full_head_twice() {
        let head = "ab".repeat(32);
        assert_eq!(
            footer_line(&meta()),
            format!(
                "Timeline INC-7 at event 42, hash-chain head {head} — check it with \
                 `hereby verify INC-7 --at 42 --head {head}`"
            )
        );
    }

    #[test]
    fn a_leading_heading_that_repeats_the_title_is_dropped_and_others_kept() {
        let count = |md: &str| {
            markdown_events(md, "INC-7: Checkout failing")
                .filter(|e| matches!(e, Event::Start(Tag::Heading { .. })))
                .count()
        };
        assert_eq!(count("# INC-7: Checkout failing\n\n## Summary\n"), 1);
        assert_eq!(count("# Something else\n\n## Summary\n"), 2);
        assert_eq!(count("## Summary\n"), 1);
        assert_eq!(count(""), 0);
    }
}
