//! Renders a Markdown post-mortem to PDF and HTML for a look at the result, and times `pdf()`:
//! `cargo run --release -p hereby-report --example render -- post-mortem.md out` writes
//! out.pdf and out.html. Without a file it renders a 10,000-entry timeline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use hereby_report::ReportMeta;

fn main() {
    let mut args = std::env::args().skip(1);
    let markdown = match args.next() {
        Some(path) if path != "-" => std::fs::read_to_string(path).expect("readable Markdown"),
        _ => timeline(10_000),
    };
    let out = args.next().unwrap_or_else(|| "report".into());
    let meta = ReportMeta {
        incident: "INC-7".into(),
        title: "INC-7: Checkout failing for EU customers".into(),
        state: "draft".into(),
        revision: 3,
        chain_head: "3fa2c6d1e0b94f57a8c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1".into(),
        chain_version: 42,
        generated_at: "2026-11-02T11:15:00Z".into(),
    };
    let mut fastest = None;
    let mut pdf = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        pdf = hereby_report::pdf::pdf(&meta, &markdown).expect("pdf");
        let took = started.elapsed();
        fastest = Some(fastest.map_or(took, |f: std::time::Duration| f.min(took)));
    }
    println!(
        "pdf(): {:?} (best of 3) for {} KB of Markdown → {} KB of PDF",
        fastest.unwrap_or_default(),
        markdown.len() / 1024,
        pdf.len() / 1024
    );
    std::fs::write(format!("{out}.pdf"), &pdf).expect("write pdf");
    std::fs::write(
        format!("{out}.html"),
        hereby_report::html::html_page(&meta, &markdown),
    )
    .expect("write html");
}

fn timeline(entries: usize) -> String {
    let mut md = String::from("## Timeline\nAll times UTC.\n\n");
    for i in 1..=entries {
        md.push_str(&format!(
            "- **{:02}:{:02}** — Operations A on `worker-{}`: drained queue shard {i} of the \
             backlog; lag fell to {} s — “steady”. Entry {i}.\n",
            (i / 60) % 24,
            i % 60,
            i % 12,
            10_000 - i
        ));
    }
    md
}
