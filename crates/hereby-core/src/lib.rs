//! hereby's incident domain: commands are decided against state into events, and state is a
//! fold of events. Pure by construction: no I/O, no clock, no async; time and the actor are
//! passed in through [`Context`].
//!
//! The three functions of the decider are [`decide`], [`evolve`] and [`State::initial`].

pub mod alerts;
pub mod budget;
mod cadence;
mod canonical;
pub mod chain;
pub mod changes;
mod command;
mod decide;
pub mod draft;
pub mod duration;
pub mod event;
pub mod insights;
pub mod ladder;
pub mod lint;
pub mod maintenance;
pub mod milestones;
pub mod offers;
pub mod permissions;
pub mod placeholders;
pub mod public;
pub mod review;
pub mod roles;
pub mod search;
pub mod severity;
mod state;
pub mod subscribers;
pub mod trackers;
pub mod types;
pub mod uptime;
pub mod when;
pub mod workload;

pub use cadence::{Cadence, CadenceError};
pub use canonical::canonical_json;
pub use command::{Command, Context, Policy, ReviewTime};
pub use decide::{Rejection, RejectionCode, decide};
pub use event::{Envelope, Event};
pub use permissions::{Capability, Permissions};
pub use roles::RoleCatalogue;
pub use state::{
    ActionItem, ChangeMark, Collision, Decision, Evaluation, HeldMeeting, ImpactWindow, Incident,
    Intent, PendingHandoff, Postmortem, ReviewMeetings, State, TrackerLink, evolve,
};
