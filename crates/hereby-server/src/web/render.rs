//! Turning data into HTML: the compiled-in templates (auto-escaping), Markdown notes
//! sanitised with `ammonia`, timeline entries, and times as people read them.

use std::sync::LazyLock;

use hereby_core::Event;
use hereby_store::RecordedEvent;
use jiff::Timestamp;
use minijinja::Environment;
use pulldown_cmark::{Event as Markdown, Options, Parser};
use serde::Serialize;

/// Every template, compiled once. Templates named `*.html` escape every value they print
/// unless it is marked safe, which only Markdown that went through [`markdown`] is.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("error.html", include_str!("templates/error.html")),
        ("login.html", include_str!("templates/login.html")),
        ("setup.html", include_str!("templates/setup.html")),
        ("dashboard.html", include_str!("templates/dashboard.html")),
        ("macros.html", include_str!("templates/macros.html")),
        ("tables.html", include_str!("templates/tables.html")),
        ("list.html", include_str!("templates/list.html")),
        ("declare.html", include_str!("templates/declare.html")),
        ("incident.html", include_str!("templates/incident.html")),
        ("state.html", include_str!("templates/state.html")),
        ("entry.html", include_str!("templates/entry.html")),
        ("older.html", include_str!("templates/older.html")),
        ("timeline.html", include_str!("templates/timeline.html")),
        ("users.html", include_str!("templates/users.html")),
        ("status.html", include_str!("templates/status.html")),
        ("settings.html", include_str!("templates/settings.html")),
    ] {
        // The templates are part of the binary and checked by the tests, so a syntax error
        // cannot reach a running server; were one to, its pages would answer 500.
        if let Err(error) = env.add_template(name, source) {
            tracing::error!(%error, template = name, "a template does not compile");
        }
    }
    env
});

/// Any serialisable value, for a template's context.
pub(crate) fn data<T: Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// The compiled templates.
pub(crate) fn templates() -> &'static Environment<'static> {
    &TEMPLATES
}

/// Escapes text for HTML, for the rare page written without a template.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    pulldown_cmark_escape_html(&mut escaped, text);
    escaped
}

fn pulldown_cmark_escape_html(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Percent-encodes a query parameter value.
pub(crate) fn url_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// A note's Markdown as safe HTML. Raw HTML in the note is shown as text, not interpreted
/// (a responder pasting `<script>` means the text); `ammonia` then removes anything unsafe
/// that Markdown itself produced, such as `javascript:` links.
pub(crate) fn markdown(text: &str) -> String {
    let options =
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(|event| match event {
        Markdown::Html(raw) | Markdown::InlineHtml(raw) => Markdown::Text(raw),
        other => other,
    });
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

/// A time as responders read it on the page: UTC, to the second.
pub(crate) fn clock(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long ago `at` was, roughly: `just now`, `5 min ago`, `3 h 20 min ago`, `2 days ago`.
pub(crate) fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = now.as_second().saturating_sub(at.as_second()).max(0);
    match seconds {
        0..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", seconds / 60),
        3_600..86_400 => {
            let minutes = (seconds % 3_600) / 60;
            if minutes == 0 {
                format!("{} h ago", seconds / 3_600)
            } else {
                format!("{} h {} min ago", seconds / 3_600, minutes)
            }
        }
        86_400..172_800 => "1 day ago".to_owned(),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// How long something has lasted, like [`ago`] without the "ago".
pub(crate) fn age(since: Timestamp, now: Timestamp) -> String {
    let text = ago(since, now);
    match text.strip_suffix(" ago") {
        Some(age) => age.to_owned(),
        None => "under a minute".to_owned(),
    }
}

/// One timeline entry, as the entry template reads it.
#[derive(Debug, Serialize)]
struct EntryView<'a> {
    sequence: u64,
    position: i64,
    at: String,
    at_iso: String,
    actor: &'a str,
    kind: &'static str,
    body: serde_json::Value,
    /// The note's text as sanitised HTML, for notes only.
    note_html: Option<minijinja::Value>,
}

/// Renders one timeline entry as an `<li>`. Notes go through [`markdown`]; everything else
/// is printed by the auto-escaping template.
pub(crate) fn entry(recorded: &RecordedEvent, incident: &str) -> Result<String, minijinja::Error> {
    let note_html = match &recorded.event {
        Event::NoteAdded(note) => Some(minijinja::Value::from_safe_string(markdown(
            note.text.as_str(),
        ))),
        Event::UpdatePosted(update) => Some(minijinja::Value::from_safe_string(markdown(
            update.body.as_str(),
        ))),
        _ => None,
    };
    let view = EntryView {
        sequence: recorded.sequence,
        position: recorded.position,
        at: clock(recorded.at),
        at_iso: recorded.at.to_string(),
        actor: recorded.actor.as_str(),
        kind: recorded.event.event_type(),
        body: serde_json::from_str(&recorded.event.canonical_body())
            .unwrap_or(serde_json::Value::Null),
        note_html,
    };
    templates()
        .get_template("entry.html")?
        .render(minijinja::context! { e => data(&view), incident => incident })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_shows_raw_html_as_text() {
        let html = markdown("**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
    }

    #[test]
    fn markdown_drops_script_links() {
        let html = markdown("[click](javascript:alert(1)) and [docs](https://example.com)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        assert!(html.contains("noopener"), "{html}");
    }

    #[test]
    fn ages_read_naturally() {
        let now: Timestamp = "2026-11-22T12:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let at = |s: &str| s.parse::<Timestamp>().unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(ago(at("2026-11-22T11:59:30Z"), now), "just now");
        assert_eq!(ago(at("2026-11-22T11:55:00Z"), now), "5 min ago");
        assert_eq!(ago(at("2026-11-22T08:40:00Z"), now), "3 h 20 min ago");
        assert_eq!(ago(at("2026-11-19T12:00:00Z"), now), "3 days ago");
        assert_eq!(age(at("2026-11-22T11:00:00Z"), now), "1 h");
        assert_eq!(age(at("2026-11-22T12:00:00Z"), now), "under a minute");
    }

    #[test]
    fn every_template_compiles() {
        for name in [
            "base.html",
            "error.html",
            "login.html",
            "setup.html",
            "dashboard.html",
            "macros.html",
            "tables.html",
            "list.html",
            "declare.html",
            "incident.html",
            "state.html",
            "entry.html",
            "older.html",
            "timeline.html",
            "users.html",
        ] {
            assert!(
                templates().get_template(name).is_ok(),
                "{name} does not compile"
            );
        }
    }
}
