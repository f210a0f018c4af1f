//! A post-mortem as one standalone, sanitised HTML page.
//!
//! The page is assembled here rather than from a template: it has one fixed shape, `html_page`
//! cannot fail, and every value from outside reaches it either through [`Escaped`] (the
//! metadata) or through ammonia (the rendered Markdown).

use std::fmt::{self, Write as _};

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

use crate::{ReportMeta, footer_line, markdown_events, state_label};

/// A complete standalone HTML5 document: inline CSS, no scripts and no external assets,
/// laid out for screen and print. The Markdown is rendered with GFM tables and strikethrough
/// and then sanitised with ammonia (no scripts, event handlers or `javascript:` links); images
/// become links to their source, so opening the page fetches nothing. The metadata is
/// escaped, and the page ends with [`footer_line`].
pub fn html_page(meta: &ReportMeta, markdown: &str) -> String {
    let body = sanitised_body(meta, markdown);
    let mut page = String::with_capacity(body.len() + STYLE.len() + 2048);
    // Writing into a String cannot fail.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"hereby\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{title}</h1>\n\
         <dl class=\"meta\"><div><dt>Incident</dt><dd>{incident}</dd></div>\
         <div><dt>State</dt><dd>{state}</dd></div>\
         <div><dt>Revision</dt><dd>{revision}</dd></div>\
         <div><dt>Generated</dt><dd><time datetime=\"{generated}\">{generated_label}</time></dd></div></dl>\n\
         </header>\n<main>\n{body}</main>\n<footer>\n<p>{footer}</p>\n</footer>\n</body>\n</html>\n",
        title = Escaped(&meta.title),
        incident = Escaped(&meta.incident),
        state = Escaped(state_label(&meta.state)),
        revision = meta.revision,
        generated = Escaped(&meta.generated_at),
        generated_label = Escaped(&crate::generated_label(meta)),
        footer = Escaped(&footer_line(meta)),
    );
    page
}

/// The Markdown as HTML, images turned into links, then cleaned by ammonia.
fn sanitised_body(meta: &ReportMeta, markdown: &str) -> String {
    let events = markdown_events(markdown, &meta.title).flat_map(|event| {
        let (first, second) = match event {
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => (
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }),
                Some(Event::Text(CowStr::Borrowed("[image: "))),
            ),
            Event::End(TagEnd::Image) => (
                Event::Text(CowStr::Borrowed("]")),
                Some(Event::End(TagEnd::Link)),
            ),
            other => (other, None),
        };
        std::iter::once(first).chain(second)
    });
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut raw, events);

    let mut cleaner = ammonia::Builder::default();
    cleaner
        .rm_tags(["img"])
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("td", ["style"])
        .filter_style_properties(["text-align"].into_iter().collect());
    cleaner.clean(&raw).to_string()
}

/// Text made safe for HTML element content and double- or single-quoted attribute values.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1d232b; --muted: #5b6570; --rule: #c9cfd6; --tint: #f2f4f6; --link: #1b57b1; }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", "Helvetica Neue", Arial, system-ui, sans-serif; font-size: 16px; line-height: 1.5; color: var(--ink); background: #fff; }
body { max-width: 52rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 1.5rem; padding-bottom: .75rem; }
header h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 .5rem; }
dl.meta { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; margin: 0; color: var(--muted); font-size: .9rem; }
dl.meta div { display: flex; gap: .4rem; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
main h1, main h2, main h3, main h4, main h5, main h6 { line-height: 1.25; margin: 1.6em 0 .5em; break-after: avoid; page-break-after: avoid; }
main h1 { font-size: 1.6rem; } main h2 { font-size: 1.35rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; }
main h3 { font-size: 1.15rem; } main h4 { font-size: 1rem; }
p, ul, ol, table, pre, blockquote { margin: 0 0 1rem; }
li + li { margin-top: .2rem; }
a { color: var(--link); overflow-wrap: anywhere; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; background: var(--tint); padding: .05em .25em; border-radius: 3px; }
pre { background: var(--tint); padding: .75rem 1rem; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
blockquote { margin-left: 0; padding-left: 1rem; border-left: 4px solid var(--rule); color: var(--muted); }
hr { border: 0; border-top: 1px solid var(--rule); margin: 1.5rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { border: 1px solid var(--rule); padding: .35rem .5rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: var(--tint); }
tr { break-inside: avoid; page-break-inside: avoid; }
footer { margin-top: 2.5rem; padding-top: .75rem; border-top: 1px solid var(--rule); color: var(--muted); font-size: .8rem; overflow-wrap: anywhere; }
@page { size: A4; margin: 18mm 16mm; }
@media print {
  html { font-size: 11pt; }
  body { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: underline; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: .85em; color: var(--muted); }
  pre, blockquote, table { break-inside: auto; }
  thead { display: table-header-group; }
}
"#;

#[cfg(test)]
mod tests {
    use super::Escaped;

    #[test]
    fn escaping_covers_the_five_characters_and_leaves_the_rest() {
        assert_eq!(
            Escaped(r#"a<b>&"c"'d' — ü"#).to_string(),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39; — ü"
        );
    }
}
