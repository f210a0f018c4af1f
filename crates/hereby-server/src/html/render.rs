//! Turning data into HTML: the compiled-in templates (auto-escaping), Markdown notes
//! sanitised with `ammonia`, timeline entries, and times as people read them.

use std::sync::LazyLock;

use std::collections::BTreeMap;

use hereby_core::Event;
use hereby_core::types::EntryMark;
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
        ("entry_what.html", include_str!("templates/entry_what.html")),
        ("entries.html", include_str!("templates/entries.html")),
        ("older.html", include_str!("templates/older.html")),
        ("timeline.html", include_str!("templates/timeline.html")),
        ("users.html", include_str!("templates/users.html")),
        ("account.html", include_str!("templates/account.html")),
        ("services.html", include_str!("templates/services.html")),
        ("search.html", include_str!("templates/search.html")),
        ("insights.html", include_str!("templates/insights.html")),
        ("library.html", include_str!("templates/library.html")),
        ("alerts.html", include_str!("templates/alerts.html")),
        (
            "alert_groups.html",
            include_str!("templates/alert_groups.html"),
        ),
        ("status.html", include_str!("templates/status.html")),
        (
            "maintenance.html",
            include_str!("templates/maintenance.html"),
        ),
        (
            "status_subscribe.html",
            include_str!("templates/status_subscribe.html"),
        ),
        (
            "status_history.html",
            include_str!("templates/status_history.html"),
        ),
        ("settings.html", include_str!("templates/settings.html")),
        ("postmortem.html", include_str!("templates/postmortem.html")),
        (
            "postmortem_edit.html",
            include_str!("templates/postmortem_edit.html"),
        ),
        (
            "postmortem_diff.html",
            include_str!("templates/postmortem_diff.html"),
        ),
        ("reviews.html", include_str!("templates/reviews.html")),
        (
            "reviews_overview.html",
            include_str!("templates/reviews_overview.html"),
        ),
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

/// When a time in the API's RFC 3339 shape is, as the pages print times.
pub(crate) fn when(raw: &str) -> String {
    raw.parse::<Timestamp>()
        .map(clock)
        .unwrap_or_else(|_| raw.to_owned())
}

/// How long ago `at` was, roughly: `just now`, `5 min ago`, `3 h 20 min ago`, `2 days ago`.
pub(crate) fn ago(at: Timestamp, now: Timestamp) -> String {
    hereby_core::when::ago(at, now)
}

/// How long something has lasted, like [`ago`] without the "ago".
pub(crate) fn age(since: Timestamp, now: Timestamp) -> String {
    let text = ago(since, now);
    match text.strip_suffix(" ago") {
        Some(age) => age.to_owned(),
        None => "under a minute".to_owned(),
    }
}

/// One timeline entry, as the template of what happened reads it.
#[derive(Debug, Serialize)]
struct EntryView {
    sequence: u64,
    kind: &'static str,
    body: serde_json::Value,
    /// The note's text as sanitised HTML, for notes only.
    note_html: Option<minijinja::Value>,
}

/// A timeline entry ready to be shown: what happened is rendered once (and cached by the
/// incident page's view); who, when, and the entry's post-mortem mark are added per page.
#[derive(Debug, Clone)]
pub(crate) struct ShownEntry {
    pub(crate) sequence: u64,
    pub(crate) kind: &'static str,
    at: hereby_core::when::Stamp,
    at_iso: String,
    actor: String,
    /// What happened, as HTML from the auto-escaping template.
    what: std::sync::Arc<str>,
}

impl ShownEntry {
    /// Renders what happened in `recorded`. Notes and updates go through [`markdown`];
    /// everything else is printed by the auto-escaping template.
    pub(crate) fn of(recorded: &RecordedEvent, incident: &str) -> Result<Self, minijinja::Error> {
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
            kind: recorded.event.event_type(),
            body: serde_json::from_str(&recorded.event.canonical_body())
                .unwrap_or(serde_json::Value::Null),
            note_html,
        };
        let what = templates()
            .get_template("entry_what.html")?
            .render(minijinja::context! { e => data(&view), incident => incident })?;
        Ok(Self {
            sequence: recorded.sequence,
            kind: recorded.event.event_type(),
            at: hereby_core::when::Stamp::new(recorded.at),
            at_iso: recorded.at.to_string(),
            actor: recorded.actor.to_string(),
            what: what.into(),
        })
    }

    /// The entry as the template reads it, its time as seen at `now`, on the day `today`.
    fn value(&self, mark: EntryMark, now: Timestamp, today: &str) -> minijinja::Value {
        minijinja::context! {
            sequence => self.sequence,
            kind => self.kind,
            at => self.at.read(now, today),
            at_full => self.at.full(),
            at_iso => &self.at_iso,
            actor => &self.actor,
            what => minijinja::Value::from_safe_string(self.what.to_string()),
            mark => mark.as_str(),
        }
    }
}

/// Renders entries as the timeline's `<li>`s, each with its post-mortem mark (★ for starred,
/// muted for excluded) and, when `csrf` is given (a responder's page), the buttons that mark
/// it.
pub(crate) fn entries<'a>(
    shown: impl IntoIterator<Item = &'a ShownEntry>,
    marks: &BTreeMap<u64, EntryMark>,
    incident: &str,
    csrf: Option<&str>,
) -> Result<String, minijinja::Error> {
    let now = Timestamp::now();
    let today = hereby_core::when::day(now);
    let entries: Vec<minijinja::Value> = shown
        .into_iter()
        .map(|entry| {
            let mark = marks
                .get(&entry.sequence)
                .copied()
                .unwrap_or(EntryMark::Plain);
            entry.value(mark, now, &today)
        })
        .collect();
    templates()
        .get_template("entries.html")?
        .render(minijinja::context! {
            entries => entries,
            incident => incident,
            csrf => csrf,
        })
}

/// Renders one timeline entry as an `<li>`, unmarked and without buttons: what the live
/// stream sends to every viewer.
pub(crate) fn entry(recorded: &RecordedEvent, incident: &str) -> Result<String, minijinja::Error> {
    let shown = ShownEntry::of(recorded, incident)?;
    entries([&shown], &BTreeMap::new(), incident, None)
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
            "entry_what.html",
            "entries.html",
            "older.html",
            "timeline.html",
            "users.html",
            "account.html",
            "status.html",
            "status_history.html",
            "status_subscribe.html",
            "maintenance.html",
            "settings.html",
            "postmortem.html",
            "postmortem_edit.html",
            "postmortem_diff.html",
            "reviews.html",
            "reviews_overview.html",
        ] {
            assert!(
                templates().get_template(name).is_ok(),
                "{name} does not compile"
            );
        }
    }
}
