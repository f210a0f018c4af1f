//! hereby-core's test suite: the rules as data, the persisted format, the duration grammar,
//! and properties.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod alerts;
mod decide;
mod duration;
mod evolve;
mod format;
mod judgement;
mod lint;
mod offers;
mod permissions;
mod properties;
mod review_cycle;
mod support;
