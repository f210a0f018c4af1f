//! The API's routes, one module per area, merged in [`crate::app`].

pub(crate) mod alerts;
pub(crate) mod attachments;
pub(crate) mod chat;
pub(crate) mod data;
pub(crate) mod decisions;
pub(crate) mod health;
pub(crate) mod incidents;
pub(crate) mod insights;
pub(crate) mod live;
pub(crate) mod maintenance;
pub(crate) mod notifications;
pub(crate) mod postmortems;
pub(crate) mod reviews;
pub(crate) mod search;
pub(crate) mod services;
pub(crate) mod settings;
pub(crate) mod templates;
pub(crate) mod trackers;
pub(crate) mod users;
