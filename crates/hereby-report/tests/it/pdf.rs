//! The PDF export, read back with poppler.

use std::time::Instant;

use hereby_report::pdf::{MAX_MARKDOWN_BYTES, PdfError, pdf};
use hereby_report::{ReportMeta, footer_line};

use crate::support::{HEAD, POST_MORTEM, long_timeline, meta, page_objects, poppler, squash};

#[test]
fn the_post_mortem_reads_back_through_pdftotext() {
    let bytes = pdf(&meta(), POST_MORTEM).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let Some(layout) = poppler("pdftotext", &["-layout"], &bytes) else {
        return;
    };
    let text = squash(&layout);

    // The title block, once: the Markdown's own leading "# title" is not repeated.
    assert_eq!(
        text.matches("INC-7: Checkout failing for EU customers")
            .count(),
        1
    );
    assert!(text.contains(
        "INC-7 · Post-mortem · State: Draft · Revision 3 · Generated 2026-11-02 11:15 UTC"
    ));

    // Headings, in order.
    let mut from = 0;
    for heading in [
        "Summary",
        "People",
        "Impact",
        "Timeline",
        "Analysis",
        "Contributing factors",
        "What went well",
        "Evidence",
        "Action items",
    ] {
        let at = text[from..]
            .find(heading)
            .unwrap_or_else(|| panic!("heading {heading:?} missing after byte {from}:\n{layout}"));
        from += at + heading.len();
    }

    for expected in [
        // Timeline lines, with their bold times, code spans and typographic punctuation.
        "09:55 — Config push cfg-2291 reached the EU load balancers.",
        "10:02 — Incident Commander declared the incident (SEV2).",
        "★ 10:11 — Operations A on db-primary: restarted the service. Command: systemctl restart mysql",
        "10:20 — Severity SEV2 → SEV1: “EU-wide”.",
        "10:42 — Incident Commander resolved the incident. ✓",
        // Impact list.
        "Impact end: 2026-11-02 10:42 UTC (47 min)",
        // Non-ASCII prose.
        "Customers in Zürich, München and Kraków saw “Payment could not be processed”",
        // Nested and numbered lists.
        "1. The config push skipped the canary stage",
        "The flag defaults to off, but the drill's wrapper script never reset it.",
        "3. The database was overloaded — ruled out",
        // Quote, link with its target, autolink, code block.
        "Communications went out within eight minutes of the declaration",
        "deployment runbook (https://runbooks.example/deploy#rollback)",
        "https://status.example/incidents/7",
        "route table v2291 rejected: unknown upstream \"payments-eu\"",
        // A long code span that has to fit or wrap.
        HEAD,
    ] {
        assert!(
            text.contains(expected),
            "missing {expected:?} in:\n{layout}"
        );
    }

    // Table cells (each short enough to stay on one line of its column).
    for cell in [
        "Incident Commander",
        "alice",
        "jürgen",
        "2026-11-02 10:40 UTC",
        "2026-12-01",
        "Add a canary for config pushes",
    ] {
        assert!(
            layout.contains(cell),
            "missing table cell {cell:?} in:\n{layout}"
        );
    }

    // The footer on every page, with the full hash-chain head (twice: head and command).
    let pages = page_objects(&bytes);
    assert!(pages >= 2, "{pages} pages");
    assert!(text.contains("Timeline INC-7 at event 42, hash-chain head"));
    assert!(text.contains(&format!("hereby verify INC-7 --at 42 --head {HEAD}`")));
    assert!(
        text.matches(HEAD).count() >= 2 * pages,
        "{pages} pages:\n{layout}"
    );
    for page in 1..=pages {
        assert!(
            text.contains(&format!("Page {page} of {pages}")),
            "page {page}"
        );
    }
}

#[test]
fn the_footer_line_is_on_each_page_as_pdftotext_reads_it() {
    let bytes = pdf(&meta(), POST_MORTEM).unwrap();
    let pages = page_objects(&bytes);
    let footer = footer_line(&meta());
    for page in 1..=pages {
        let number = page.to_string();
        let Some(text) = poppler("pdftotext", &["-f", &number, "-l", &number], &bytes) else {
            return;
        };
        // Without -layout, pdftotext reads the footer's lines in order; the page number sits
        // at the right of its first line.
        let text = squash(&text).replace(&format!(" Page {page} of {pages}"), "");
        assert!(text.contains(&footer), "page {page}: {text}");
    }
}

#[test]
fn fonts_are_embedded_subset_and_mapped_to_unicode() {
    let bytes = pdf(&meta(), POST_MORTEM).unwrap();
    let Some(listing) = poppler("pdffonts", &[], &bytes) else {
        return;
    };
    // name type encoding emb sub uni object ID
    let fonts: Vec<&str> = listing.lines().skip(2).collect();
    assert_eq!(
        fonts.len(),
        4,
        "regular, bold, oblique and mono:\n{listing}"
    );
    for font in fonts {
        let columns: Vec<&str> = font.split_whitespace().collect();
        assert!(font.contains("CID TrueType"), "{font}");
        assert!(
            columns[0].len() > 7 && columns[0].as_bytes()[6] == b'+',
            "subset tag: {font}"
        );
        let flags = &columns[columns.len() - 5..columns.len() - 2];
        assert_eq!(flags, ["yes", "yes", "yes"], "emb sub uni: {font}");
    }
    // Subsetting keeps the file small: the four faces alone are 2.4 MB.
    assert!(bytes.len() < 150_000, "{} bytes", bytes.len());
}

#[test]
fn links_are_clickable() {
    let bytes = pdf(&meta(), POST_MORTEM).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    for url in [
        "https://runbooks.example/deploy#rollback",
        "https://status.example/incidents/7",
        "https://tracker.example/T-3",
    ] {
        assert!(
            raw.contains(&format!("/URI ({url})")),
            "no link annotation for {url}"
        );
    }
    assert!(raw.contains("/Subtype /Link"));
}

#[test]
fn headings_become_bookmarks() {
    let bytes = pdf(&meta(), POST_MORTEM).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    for heading in ["Summary", "Contributing factors", "Action items"] {
        assert!(raw.contains(&format!("/Title ({heading})")), "{heading}");
    }
    assert!(raw.contains("/PageMode /UseOutlines"));
}

#[test]
fn a_ten_thousand_entry_timeline_makes_many_pages() {
    let markdown = long_timeline(10_000);
    let started = Instant::now();
    let bytes = pdf(&meta(), &markdown).unwrap();
    let took = started.elapsed();
    let pages = page_objects(&bytes);
    eprintln!(
        "pdf() of a 10,000-entry timeline: {took:?} for {} KB of Markdown → {pages} pages, {} KB of PDF",
        markdown.len() / 1024,
        bytes.len() / 1024
    );
    assert!(pages > 200, "{pages} pages");

    let Some(info) = poppler("pdfinfo", &[], &bytes) else {
        return;
    };
    let reported: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in:\n{info}"));
    assert_eq!(reported, pages);
    assert!(
        info.contains("Page size:") && info.contains("(A4)"),
        "{info}"
    );

    let last = pages.to_string();
    let text = squash(
        &poppler("pdftotext", &["-layout", "-f", &last, "-l", &last], &bytes).unwrap_or_default(),
    );
    assert!(
        text.contains("drained queue shard 10000 of the backlog"),
        "{text}"
    );
    assert!(text.contains("Cap the backlog"), "{text}");
    assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
    assert!(text.contains(HEAD), "{text}");
}

#[test]
fn characters_the_fonts_lack_become_question_marks() {
    let markdown = "## Notes\n\nThe pager said 中文 and 🚀 — then ü.\n\n`𝔘nicode`\n";
    let bytes = pdf(&meta(), markdown).unwrap();
    let Some(text) = poppler("pdftotext", &[], &bytes) else {
        return;
    };
    let text = squash(&text);
    assert!(text.contains("The pager said ?? and ? — then ü."), "{text}");
}

#[test]
fn hostile_markdown_still_makes_a_pdf() {
    let deep_quotes = format!("{} deep\n", ">".repeat(300));
    let deep_lists: String = (0..150)
        .map(|depth| format!("{}- level {depth}\n", "  ".repeat(depth)))
        .collect();
    let long_word = format!("{}\n", "x".repeat(20_000));
    let wide_table = format!(
        "|{}|\n|{}|\n|{}|\n",
        (0..40)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join("|"),
        vec!["---"; 40].join("|"),
        (0..40)
            .map(|_| "y".repeat(300))
            .collect::<Vec<_>>()
            .join("|"),
    );
    let tall_cell = format!("| a | b |\n|---|---|\n| {} | x |\n", "word ".repeat(20_000));
    let raw_html = "<div onclick=\"x()\">hi</div>\n\n<script>alert(1)</script>\n\ntext<br>more\n";
    let odd = "![alt *text*](https://img.example/a.png) [](https://e.example) [x](javascript:alert(1))\n\n---\n\n1.\n2.\n\n```\n\t\tindented\n```\n";
    for markdown in [
        "",
        "   \n\n\t",
        &deep_quotes,
        &deep_lists,
        &long_word,
        &wide_table,
        &tall_cell,
        raw_html,
        odd,
        "\u{0}\u{1}\u{7f}\u{feff}\u{202e}",
    ] {
        let bytes = pdf(&meta(), markdown).unwrap_or_else(|e| panic!("{e} for {markdown:.60?}"));
        assert!(page_objects(&bytes) >= 1);
        if let Some(text) = poppler("pdftotext", &[], &bytes) {
            assert!(text.contains("INC-7"), "{markdown:.60?}");
        }
    }
    let raw = String::from_utf8_lossy(&pdf(&meta(), odd).unwrap()).into_owned();
    assert!(
        !raw.to_lowercase().contains("javascript"),
        "no script link may become clickable"
    );
}

#[test]
fn the_output_depends_only_on_the_input() {
    let one = pdf(&meta(), POST_MORTEM).unwrap();
    let two = pdf(&meta(), POST_MORTEM).unwrap();
    assert!(one == two, "two runs differ");
    let other = ReportMeta {
        revision: 4,
        ..meta()
    };
    assert!(pdf(&other, POST_MORTEM).unwrap() != one);
}

#[test]
fn oversized_markdown_is_refused_with_a_clear_error() {
    let markdown = "a".repeat(MAX_MARKDOWN_BYTES + 1);
    let error = pdf(&meta(), &markdown).unwrap_err();
    assert!(matches!(error, PdfError::TooLarge { .. }));
    assert_eq!(
        error.to_string(),
        format!(
            "the post-mortem is {} bytes of Markdown; a PDF is made of at most {MAX_MARKDOWN_BYTES} bytes",
            MAX_MARKDOWN_BYTES + 1
        )
    );
}
