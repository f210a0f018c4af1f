//! The fixture post-mortem, its metadata, and running poppler's tools on a PDF.

use std::io::ErrorKind;
use std::process::Command;

use hereby_report::ReportMeta;

/// A post-mortem as the drafting code writes it.
pub(crate) const POST_MORTEM: &str = include_str!("fixtures/post-mortem.md");

pub(crate) const HEAD: &str = "3fa2c6d1e0b94f57a8c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1";

pub(crate) fn meta() -> ReportMeta {
    ReportMeta {
        incident: "INC-7".into(),
        title: "INC-7: Checkout failing for EU customers".into(),
        state: "draft".into(),
        revision: 3,
        chain_head: HEAD.into(),
        chain_version: 42,
        generated_at: "2026-11-02T11:15:00Z".into(),
    }
}

/// A timeline section of `entries` entries, shaped like the drafting code's.
pub(crate) fn long_timeline(entries: usize) -> String {
    let mut md = String::from(
        "# INC-9: Queue backlog\n\n## Summary\nA long incident.\n\n## Timeline\nAll times UTC.\n\n",
    );
    for i in 1..=entries {
        let (h, m) = ((i / 60) % 24, i % 60);
        let star = if i % 17 == 0 { "★ " } else { "" };
        md.push_str(&format!(
            "- {star}**{h:02}:{m:02}** — Operations A on `worker-{w}`: drained queue shard {i} \
             of the backlog; lag fell to {lag} s — “steady”. Entry {i}.\n",
            w = i % 12,
            lag = 10_000 - i,
        ));
    }
    md.push_str("\n## Action items\n| # | Action |\n|---|---|\n| 1 | Cap the backlog |\n");
    md
}

/// Runs a poppler tool (`pdftotext`, `pdfinfo`, `pdffonts`) on `pdf` and returns its output;
/// None when poppler is not installed and HEREBY_TEST_PDFTOTEXT is not `required`. Poppler's
/// complaints on stderr (syntax errors, broken fonts) fail the test.
pub(crate) fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    let mut command = Command::new(tool);
    command.args(args).arg(&path);
    if tool == "pdftotext" {
        command.arg("-");
    }
    match command.output() {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let required = std::env::var("HEREBY_TEST_PDFTOTEXT").is_ok_and(|v| v == "required");
            assert!(
                !required,
                "{tool} is not installed (Debian: poppler-utils) but HEREBY_TEST_PDFTOTEXT=required"
            );
            eprintln!(
                "skipped: reading the PDF back needs {tool}, which is not installed \
                 (Debian: apt-get install poppler-utils); set HEREBY_TEST_PDFTOTEXT=required to \
                 make this a failure"
            );
            None
        }
        Err(e) => panic!("{tool} could not be started: {e}"),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{tool} failed: {stderr}");
            assert!(stderr.trim().is_empty(), "{tool} complained: {stderr}");
            Some(String::from_utf8(out.stdout).expect("poppler writes UTF-8"))
        }
    }
}

/// Text with every run of whitespace made one space: what a reader sees, whatever the layout.
pub(crate) fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Pages counted in the PDF's objects (no object streams are written, so they are plain text).
pub(crate) fn page_objects(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}
