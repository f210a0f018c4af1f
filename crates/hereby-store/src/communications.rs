//! What admins set up: the components shown on the public status page, the message templates
//! that stakeholder updates start from, and named settings of other kinds (post-mortem
//! templates, the linter's blame rules).
//!
//! Scheduled maintenance lives here too: the status page shows it beside the components.
//!
//! None is part of any incident's history, so they live in plain tables beside the log,
//! changed in place; every write is durable when it returns.

use std::future::Future;

use hereby_core::maintenance::{MaintenanceStatus, Schedule};
use hereby_core::types::{ComponentStatus, ReleaseVersion, ServiceName, TemplateName, UserName};
use jiff::Timestamp;

use crate::{NewDelivery, StoreError};

/// A component of the public status page: a service the public can see, by the name
/// incidents use for it in their affected services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: ServiceName,
    /// A sentence for the public, possibly empty.
    pub description: String,
    /// Components are shown in ascending position, then by name.
    pub position: i64,
    /// Set by hand (e.g. `under_maintenance`); `None` derives the status from the active
    /// public incidents that affect the component.
    pub status: Option<ComponentStatus>,
    /// The group it is shown under on the status page, if any.
    pub group: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A scheduled maintenance with its updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub id: i64,
    pub title: String,
    /// The components it affects, as named on the status page.
    pub components: Vec<ServiceName>,
    pub schedule: Schedule,
    pub created_by: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Moves on with every change; a change names the version it was made on.
    pub version: i64,
    /// Newest first.
    pub updates: Vec<MaintenanceUpdate>,
}

/// What was said about a maintenance, and the status it was said in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceUpdate {
    pub id: i64,
    pub status: MaintenanceStatus,
    pub body: String,
    pub author: UserName,
    pub at: Timestamp,
}

/// A maintenance as a change leaves it, with the update it posts (if any) and the
/// notifications it queues, all written in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWrite {
    pub title: String,
    pub components: Vec<ServiceName>,
    pub schedule: Schedule,
    pub at: Timestamp,
    pub author: UserName,
    /// The status and words of the update to post.
    pub update: Option<(MaintenanceStatus, String)>,
    pub deliveries: Vec<NewDelivery>,
}

/// Which maintenances to list: every one not completed, and completed ones that ended at or
/// after `completed_since`, newest start first, at most `limit`; `before` pages on to those
/// starting earlier than it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceQuery {
    pub completed_since: Option<Timestamp>,
    pub before: Option<Timestamp>,
    pub limit: u32,
    /// Read each one's updates too (one more query each); the timers need only the plans.
    pub updates: bool,
}

/// A message template stored by an admin: a new one, or one that replaces a shipped default
/// of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub name: TemplateName,
    pub description: String,
    /// Template source of the subject line.
    pub subject: String,
    /// Template source of the body (Markdown once rendered).
    pub body: String,
    pub updated_at: Timestamp,
    pub updated_by: UserName,
}

/// A named setting of some kind, such as a post-mortem template: the store keeps its value as
/// text and leaves checking it to the server, which knows each kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSetting {
    /// The kind, such as `postmortem_template`.
    pub kind: String,
    /// Unique within its kind.
    pub name: String,
    pub value: String,
    pub updated_at: Timestamp,
    pub updated_by: UserName,
}

/// A deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub service: ServiceName,
    pub version: ReleaseVersion,
    /// When it went live.
    pub deployed_at: Timestamp,
    pub recorded_at: Timestamp,
    pub recorded_by: UserName,
    /// Free text from the pipeline (a changelog link, a commit), possibly empty.
    pub notes: String,
}

/// Which releases to list: of these services (all when empty), deployed in `[from, to]`,
/// newest first, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseQuery {
    pub services: Vec<ServiceName>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub limit: u32,
}

/// Status page components, message templates, other admin settings and releases.
pub trait Communications: Clone + Send + Sync + 'static {
    /// Every component, by position then name.
    fn list_components(&self) -> impl Future<Output = Result<Vec<Component>, StoreError>> + Send;

    /// Creates the component or replaces its description, position and status (its creation
    /// time stays). Returns the component as stored.
    fn put_component(
        &self,
        component: &Component,
    ) -> impl Future<Output = Result<Component, StoreError>> + Send;

    /// Removes a component; `false` if there was none of that name.
    fn remove_component(
        &self,
        name: &ServiceName,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every stored template, by name.
    fn list_templates(
        &self,
    ) -> impl Future<Output = Result<Vec<StoredTemplate>, StoreError>> + Send;

    /// Creates or replaces a template.
    fn put_template(
        &self,
        template: &StoredTemplate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a stored template; `false` if there was none of that name.
    fn remove_template(
        &self,
        name: &TemplateName,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every setting of one kind, by name.
    fn list_settings(
        &self,
        kind: &str,
    ) -> impl Future<Output = Result<Vec<AdminSetting>, StoreError>> + Send;

    /// Creates or replaces a setting.
    fn put_setting(
        &self,
        setting: &AdminSetting,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates or replaces several settings at once: all of them, or none when it fails.
    fn put_settings(
        &self,
        settings: &[AdminSetting],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a setting unless one of its kind and name exists; returns the one stored
    /// (this or the earlier), so two nodes making the same setting at once agree on it.
    fn put_setting_if_absent(
        &self,
        setting: &AdminSetting,
    ) -> impl Future<Output = Result<AdminSetting, StoreError>> + Send;

    /// Records a deployment; `false` when the same deployment (service, version and time)
    /// was already recorded, which leaves the first record as it was.
    fn record_release(
        &self,
        release: &Release,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Releases matching the query, newest deployment first.
    fn list_releases(
        &self,
        query: &ReleaseQuery,
    ) -> impl Future<Output = Result<Vec<Release>, StoreError>> + Send;

    /// Removes a setting; `false` if there was none of that kind and name.
    fn remove_setting(
        &self,
        kind: &str,
        name: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Maintenances matching the query, newest start first, each with its updates.
    fn maintenances(
        &self,
        query: &MaintenanceQuery,
    ) -> impl Future<Output = Result<Vec<Maintenance>, StoreError>> + Send;

    /// One maintenance with its updates.
    fn maintenance(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Maintenance>, StoreError>> + Send;

    /// Creates a maintenance, its first update and its notifications: `write`'s own, and
    /// those `notices` makes from the new maintenance's id (which a message needs and only
    /// the insert knows), all in one transaction.
    fn create_maintenance(
        &self,
        write: &MaintenanceWrite,
        notices: &(dyn Fn(i64) -> Vec<NewDelivery> + Sync),
    ) -> impl Future<Output = Result<Maintenance, StoreError>> + Send;

    /// Changes a maintenance if it is still at `version`, with its update and notifications;
    /// `None` when another change came first (nothing is written then).
    fn change_maintenance(
        &self,
        id: i64,
        version: i64,
        write: &MaintenanceWrite,
    ) -> impl Future<Output = Result<Option<Maintenance>, StoreError>> + Send;

    /// Removes a maintenance if it is still at `version`, queuing `deliveries` (the notice
    /// that it is cancelled) in the same transaction; `false` otherwise.
    fn remove_maintenance(
        &self,
        id: i64,
        version: i64,
        deliveries: &[NewDelivery],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
