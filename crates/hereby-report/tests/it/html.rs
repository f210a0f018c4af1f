//! The standalone HTML page.

use hereby_report::html::html_page;
use hereby_report::{ReportMeta, footer_line};

use crate::support::{HEAD, POST_MORTEM, meta};

#[test]
fn the_page_is_a_complete_document_with_the_markdown_rendered() {
    let page = html_page(&meta(), POST_MORTEM);
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.trim_end().ends_with("</html>"));
    assert!(page.contains("<meta charset=\"utf-8\">"));
    assert!(page.contains("<title>INC-7: Checkout failing for EU customers</title>"));
    assert!(page.contains("<style>") && page.contains("@media print"));
    // The title once as a heading: the Markdown's own first heading repeats it and is dropped.
    assert_eq!(page.matches("<h1>").count(), 1);
    for heading in [
        "Summary",
        "People",
        "Impact",
        "Timeline",
        "Analysis",
        "Action items",
    ] {
        assert!(page.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    assert!(page.contains("<h3>Contributing factors</h3>"));
    // Tables, with their header and cells.
    assert_eq!(page.matches("<table>").count(), 2);
    assert!(page.contains("<th>Role</th>"));
    assert!(page.contains("<td>Add a canary for config pushes</td>"));
    assert!(page.contains("<td>jürgen</td>"));
    // Inline formatting, lists, code, quotes, strikethrough, links.
    assert!(page.contains("<code>systemctl restart mysql</code>"));
    assert!(
        page.contains("<strong>10:02</strong> — Incident Commander declared the incident (SEV2).")
    );
    assert!(page.contains("<del>The database was overloaded</del>"));
    assert!(page.contains("<blockquote>"));
    assert!(page.contains("<pre><code>2026-11-02T09:55:41Z lb-eu-1"));
    assert!(page.contains(
        "<a href=\"https://runbooks.example/deploy#rollback\" rel=\"noopener noreferrer\">deployment runbook</a>"
    ));
    assert!(page.contains("<dd>Draft</dd>") && page.contains("<dd>3</dd>"));
}

#[test]
fn the_footer_line_ends_the_page() {
    let page = html_page(&meta(), POST_MORTEM);
    let footer = footer_line(&meta());
    assert!(footer.contains(HEAD));
    let at = page
        .find(&format!("<footer>\n<p>{footer}</p>\n</footer>"))
        .expect("footer");
    assert!(page[at..].starts_with("<footer>"));
    assert!(!page[at..].contains("<main>") && page.find("</main>").unwrap() < at);
}

#[test]
fn metadata_is_escaped() {
    let hostile = ReportMeta {
        incident: "INC-<b>8</b>".into(),
        title: "<script>alert('t')</script> & \"co\"".into(),
        state: "<img src=x onerror=alert(1)>".into(),
        generated_at: "\"><script>alert(2)</script>".into(),
        ..meta()
    };
    let page = html_page(&hostile, "## Summary\n");
    assert!(!page.to_lowercase().contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<b>"), "{page}");
    assert!(page.contains(
        "<title>&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; &amp; &quot;co&quot;</title>"
    ));
    assert!(page.contains("datetime=\"&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;\""));
    assert!(page.contains("INC-&lt;b&gt;8&lt;/b&gt;"));
}

#[test]
fn scripts_handlers_and_script_links_are_removed_from_the_markdown() {
    let markdown = "## Notes\n\n<script>alert(1)</script>\n\n\
        <p onclick=\"steal()\" onmouseover=\"x()\">hover</p>\n\n\
        <a href=\"javascript:alert(2)\">raw link</a> [md link](javascript:alert(3)) \
        [data](data:text/html;base64,PHNjcmlwdD4=)\n\n\
        <iframe src=\"https://evil.example\"></iframe><style>body{display:none}</style>\n\n\
        <img src=\"https://tracker.example/pixel.png\" onerror=\"alert(4)\">\n\n\
        | a | b |\n|---|--:|\n| <script>x()</script> | 2 |\n";
    let page = html_page(&meta(), markdown);
    let body = &page[page.find("<main>").unwrap()..page.find("</main>").unwrap()];
    let lower = body.to_lowercase();
    for banned in [
        "<script",
        "onclick",
        "onmouseover",
        "onerror",
        "javascript:",
        "data:text",
        "<iframe",
        "<style",
        "<img",
        "src=",
    ] {
        assert!(!lower.contains(banned), "{banned} survived:\n{body}");
    }
    assert!(body.contains("hover") && body.contains("raw link") && body.contains("md link"));
    // The table survives, its alignment too.
    assert!(
        body.contains("<table>") && body.contains("<td style=\"text-align:right\">2</td>"),
        "{body}"
    );
}

#[test]
fn images_become_links_so_the_page_fetches_nothing() {
    let page = html_page(
        &meta(),
        "![error graph](https://grafana.example/render/1.png)\n",
    );
    assert!(!page.contains("<img") && !page.contains("src="));
    assert!(page.contains(
        "<a href=\"https://grafana.example/render/1.png\" rel=\"noopener noreferrer\">[image: error graph]</a>"
    ), "{page}");
    // No external stylesheet, script or font either.
    assert!(!page.contains("<link") && !page.contains("@import") && !page.contains("url("));
}
