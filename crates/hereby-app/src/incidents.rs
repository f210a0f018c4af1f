//! Acting on incidents: declaring, running a command with the visibility and permission
//! checks on the snapshot it is decided against, recording the work of the system itself, and
//! loading an incident for someone who may see it.

use std::sync::Arc;

use hereby_core::Incident;
use hereby_core::types::{IncidentNumber, InstallationRole, UserName};
use hereby_core::{Command, RejectionCode, State};
use hereby_store::{Directory, Loaded, Outcome, Store, User, execute_admitted};
use jiff::Timestamp;

use crate::{App, AppError, require};

impl<S: Store> App<S> {
    /// Declares a new incident. `command` must be [`Command::Declare`].
    pub async fn declare(&self, actor: &User, command: Command) -> Result<Outcome, AppError> {
        require(actor, InstallationRole::Responder)?;
        let outcome = hereby_store::declare(
            &self.store,
            command,
            &actor.name,
            Timestamp::now(),
            &self.policy,
        )
        .await?;
        self.written(&outcome);
        Ok(outcome)
    }
}

impl<S: Store + Directory> App<S> {
    /// Runs `command` on an incident `actor` may see and change. Visibility comes first: to a
    /// non-member a restricted incident does not exist, whatever their role, so they are told
    /// it is not found rather than forbidden. Then the core's permission table says whether
    /// the actor may do this on this incident, on the same snapshot the command is decided
    /// against. Everyone the command names must be an enabled user. With `expected_version`,
    /// the command is decided only against that version.
    pub async fn act(
        &self,
        actor: &User,
        incident: IncidentNumber,
        expected_version: Option<u64>,
        command: Command,
    ) -> Result<Outcome, AppError> {
        // What an Incident Commander tried to change, should the attempt be refused.
        let attempt = match &command {
            Command::RecordOperation { target, action, .. }
            | Command::AnnounceIntent { target, action, .. } => {
                Some((target.clone(), action.clone()))
            }
            _ => None,
        };
        self.check_people(&command.people()).await?;
        let asked = command.clone();
        let admit = |loaded: &Loaded| {
            let declared = admit_visible(actor, incident, &loaded.state)?;
            require(actor, InstallationRole::Responder)?;
            self.policy
                .permissions
                .authorize(
                    declared,
                    &asked,
                    &actor.name,
                    actor.role,
                    &self.policy.roles,
                )
                .map_err(AppError::Rejected)
        };
        let result = execute_admitted(
            &self.store,
            incident,
            expected_version,
            command,
            &actor.name,
            Timestamp::now(),
            &self.policy,
            admit,
        )
        .await;
        match result {
            Ok(outcome) => {
                self.written(&outcome);
                Ok(outcome)
            }
            Err(AppError::Rejected(rejection))
                if rejection.code == RejectionCode::IcCannotOperate =>
            {
                // Role discipline: the commander is told, and the timeline keeps the attempt.
                if let Some((target, action)) = attempt {
                    let noted = self
                        .record(
                            &actor.name,
                            incident,
                            Command::NoteOperationAttempt { target, action },
                        )
                        .await;
                    if let Err(error) = noted {
                        tracing::warn!(%incident, %error, "cannot keep a refused operation on the timeline");
                    }
                }
                Err(AppError::Rejected(rejection))
            }
            Err(error) => Err(error),
        }
    }

    /// Decides `command` against a snapshot without writing anything, with every check
    /// [`App::act`] makes, so that work done before the write (storing an attachment's bytes)
    /// is not done for a command that would be refused.
    pub fn rehearse(
        &self,
        actor: &User,
        incident: IncidentNumber,
        loaded: &Loaded,
        expected_version: Option<u64>,
        command: &Command,
    ) -> Result<(), AppError> {
        let declared = admit_visible(actor, incident, &loaded.state)?;
        require(actor, InstallationRole::Responder)?;
        if let Some(expected) = expected_version
            && expected != loaded.version
        {
            return Err(AppError::Store(hereby_store::StoreError::Conflict {
                incident,
                expected,
                actual: loaded.version,
            }));
        }
        self.policy
            .permissions
            .authorize(
                declared,
                command,
                &actor.name,
                actor.role,
                &self.policy.roles,
            )
            .map_err(AppError::Rejected)?;
        let context = hereby_core::Context {
            now: Timestamp::now(),
            actor: &actor.name,
            policy: &self.policy,
        };
        hereby_core::decide(&loaded.state, command.clone(), context)
            .map(|_| ())
            .map_err(AppError::Rejected)
    }
}

impl<S: Store> App<S> {
    /// Runs a command on behalf of the system or of a person whose right to it was settled
    /// elsewhere (reminders noted on the timeline, a refused attempt kept): no visibility or
    /// installation-role check, the core's rules still apply.
    pub async fn record(
        &self,
        actor: &UserName,
        incident: IncidentNumber,
        command: Command,
    ) -> Result<Outcome, AppError> {
        let outcome = hereby_store::execute(
            &self.store,
            incident,
            None,
            command,
            actor,
            Timestamp::now(),
            &self.policy,
        )
        .await
        .map_err(AppError::from)?;
        self.written(&outcome);
        Ok(outcome)
    }

    /// Loads an incident `actor` may see; to anyone else it does not exist.
    pub async fn visible(
        &self,
        actor: &User,
        incident: IncidentNumber,
    ) -> Result<Loaded, AppError> {
        let loaded = self.store.load(incident).await?;
        admit_visible(actor, incident, &loaded.state)?;
        Ok(loaded)
    }

    /// Whether `actor` may see `incident` now, for outputs that skip what they may not show
    /// instead of failing. An incident that cannot be loaded is not shown.
    pub async fn may_see(&self, actor: &User, incident: IncidentNumber) -> bool {
        match self.store.load(incident).await {
            Ok(loaded) => loaded
                .state
                .incident()
                .is_some_and(|declared| declared.visible_to(&actor.name, actor.role)),
            Err(_) => false,
        }
    }

    /// The effects of every write, in one place: the event feed hears of it at once, the
    /// pending hand-offs this process shows are updated at once (other nodes' writes arrive
    /// through the feed), and the appends are counted.
    pub(crate) fn written(&self, outcome: &Outcome) {
        if let Some(incident) = outcome.state.incident() {
            self.handoffs.update(outcome.incident, incident);
        }
        if let Some(last) = outcome.events.last() {
            let state = outcome
                .state
                .incident()
                .map(|incident| (outcome.incident, Arc::new(incident.clone())));
            self.feed.appended(last.position, state);
        }
        metrics::counter!("hereby_events_appended_total").increment(outcome.events.len() as u64);
    }
}

/// Refuses an incident `actor` may not see, as not found.
fn admit_visible<'a>(
    actor: &User,
    incident: IncidentNumber,
    state: &'a State,
) -> Result<&'a Incident, AppError> {
    match state.incident() {
        Some(declared) if declared.visible_to(&actor.name, actor.role) => Ok(declared),
        _ => Err(AppError::not_found(incident)),
    }
}
