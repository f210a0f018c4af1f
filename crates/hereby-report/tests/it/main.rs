//! hereby-report's test suite: each export made from a realistic post-mortem and read back with
//! real tools — poppler's pdftotext, pdfinfo and pdffonts for the PDF, icalendar's parser for
//! the invitations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod html;
mod ics;
mod pdf;
mod support;
