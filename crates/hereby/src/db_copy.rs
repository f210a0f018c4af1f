//! `hereby db copy`: every row of one database into another, empty one (SQLite to PostgreSQL
//! or back), with progress on standard error, then every hash chain of the copy verified.
//!
//! The copying itself is the store layer's (`hereby_store::copy`); this is the command around
//! it: connecting, the order of the checks, progress, and what is printed.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hereby_store::copy::{
    Access, CopyError, CopyProgress, CopyReport, Table, Tables as _, check_source, check_target,
    copy,
};
use hereby_store::{redact_url, verify_all};

use crate::UNREACHABLE;
use crate::any_store::{AnyStore, AnyTables};

/// Exit code for a refusal or a copy that does not verify.
const FAILED: u8 = 1;

/// Exit code for a command that makes no sense as given.
const USAGE: u8 = 2;

/// How often plain progress lines are printed when standard error is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Copies `from` into `to` and verifies the copy. Every check that can refuse runs before the
/// target is migrated or written, and the source is only ever read.
pub(crate) async fn run(from: &str, to: &str) -> ExitCode {
    let started = Instant::now();
    let source = match AnyTables::connect(from, Access::Read).await {
        Ok(source) => source,
        Err(failure) => return fail(UNREACHABLE, &failure.0),
    };
    if let Err(error) = check_source(&source).await {
        return refuse(from, error);
    }
    // Connected only now, so that a refused source never leaves a new, empty target file.
    let target = match AnyTables::connect(to, Access::Write).await {
        Ok(target) => target,
        Err(failure) => return fail(UNREACHABLE, &failure.0),
    };
    if let Err(error) = check_target(&source, &target).await {
        return refuse(to, error);
    }
    if let Err(error) = target.migrate().await {
        return fail(
            UNREACHABLE,
            &format!("cannot open database {}: {error}", redact_url(to)),
        );
    }

    let mut shown = Shown::new();
    let copied = copy(&source, &target, |step| shown.step(step)).await;
    shown.finish();
    let report = match copied {
        Ok(report) => report,
        Err(error @ CopyError::Committed(_)) => {
            return fail(FAILED, &format!("{}: {error}", redact_url(to)));
        }
        Err(error) => {
            return fail(
                FAILED,
                &format!(
                    "the copy failed and nothing of it was kept in {}: {error}",
                    redact_url(to)
                ),
            );
        }
    };
    print_summary(from, to, &report, started.elapsed());

    let verifying = Instant::now();
    let store = match AnyStore::open(to).await {
        Ok(store) => store,
        Err(failure) => return fail(UNREACHABLE, &failure.0),
    };
    let verified = match verify_all(&store).await {
        Ok(verified) => verified,
        Err(error) => return fail(FAILED, &format!("cannot verify the copy: {error}")),
    };
    if !verified.breaks.is_empty() {
        for broken in &verified.breaks {
            println!("{broken}");
        }
        return fail(
            FAILED,
            &format!(
                "{} of {} incidents of the copy in {} have a broken hash chain",
                verified.breaks.len(),
                verified.incidents,
                redact_url(to)
            ),
        );
    }
    if verified.events != report.rows("events") {
        return fail(
            FAILED,
            &format!(
                "the copy's chains hold {} events, but {} were copied",
                verified.events,
                report.rows("events")
            ),
        );
    }
    println!(
        "verified {} events in {} incidents in {:.1} s: every hash chain is intact",
        verified.events,
        verified.incidents,
        verifying.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("hereby: {message}");
    ExitCode::from(code)
}

/// A check that refused the copy: nothing was written. `url` is the database it is about.
fn refuse(url: &str, error: CopyError) -> ExitCode {
    match error {
        CopyError::SameDatabase => fail(USAGE, &error.to_string()),
        // A database that cannot even be read is one that cannot be opened.
        CopyError::Store(error) => fail(
            UNREACHABLE,
            &format!("cannot open database {}: {error}", redact_url(url)),
        ),
        error => fail(FAILED, &format!("{}: {error}", redact_url(url))),
    }
}

fn print_summary(from: &str, to: &str, report: &CopyReport, took: Duration) {
    println!(
        "copied {} rows from {} to {} in {:.1} s:",
        report.total(),
        redact_url(from),
        redact_url(to),
        took.as_secs_f64()
    );
    // Counts right-aligned, so that a column of them reads at a glance.
    let width = report
        .tables
        .iter()
        .map(|counted| counted.rows.to_string().len())
        .max()
        .unwrap_or(1);
    for counted in &report.tables {
        let phrase = counted.to_string();
        let (count, noun) = phrase.split_once(' ').unwrap_or((&phrase, ""));
        println!("  {count:>width$} {noun}");
    }
}

/// Progress on standard error: a bar on a terminal, otherwise a line per table and, for long
/// tables, one every few seconds (for logs, where a bar's redrawing would be noise).
struct Shown {
    bar: Option<indicatif::ProgressBar>,
    /// Rows of the tables finished so far, for the bar's overall position.
    finished: u64,
    last_line: Instant,
}

impl Shown {
    fn new() -> Self {
        Self {
            bar: None,
            finished: 0,
            last_line: Instant::now(),
        }
    }

    fn step(&mut self, step: CopyProgress<'_>) {
        match step {
            CopyProgress::Planned(plan) => {
                let total: u64 = plan.iter().map(|counted| counted.rows).sum();
                if std::io::stderr().is_terminal() {
                    let bar = indicatif::ProgressBar::new(total);
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {human_pos}/{human_len} rows ({eta} left): {msg}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    self.bar = Some(bar);
                } else {
                    eprintln!("hereby: copying {total} rows");
                }
            }
            CopyProgress::Copied { table, copied, of } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(table.noun.1);
                    bar.set_position(self.finished + copied);
                } else if copied == of {
                    eprintln!("hereby: copied {}", table.count_phrase(copied));
                } else if self.last_line.elapsed() >= LINE_EVERY {
                    eprintln!("hereby: copying {}: {copied} of {of}", plural(table));
                    self.last_line = Instant::now();
                }
                if copied == of {
                    self.finished += copied;
                }
            }
            CopyProgress::Committing => {
                if let Some(bar) = &self.bar {
                    bar.set_message("committing");
                } else {
                    eprintln!("hereby: committing the copy");
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn plural(table: &Table) -> &'static str {
    table.noun.1
}
