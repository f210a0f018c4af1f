//! Running a command end to end: load the state, decide, append with optimistic concurrency.

use hereby_core::types::{IncidentNumber, UserName};
use hereby_core::{Command, Context, Policy, Rejection, State, decide};
use jiff::Timestamp;

use crate::{Appended, Loaded, NewEvents, Store, StoreError};

/// How often a write without an explicit expected version is tried before a lost race is
/// reported. Each retry decides again against the newer state, so a rule that now fails is
/// reported as such. Many responders writing to one incident at once is normal in a big
/// incident, and group commit puts their same-version appends in one batch where only one can
/// win, so the budget is generous and retries back off a little, with jitter.
const MAX_ATTEMPTS: u32 = 20;

/// Commands on one incident take turns within a process: each stripe admits one writer at a
/// time for the incidents that map to it. Without turns, N responders writing to one incident
/// at once put N appends of the same version into one group commit, of which only one can
/// win, and a writer could lose every retry; with them, only writers on other server nodes
/// can race, which the retries absorb.
static TURNS: std::sync::LazyLock<Vec<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(|| (0..1_024).map(|_| tokio::sync::Mutex::new(())).collect());

/// Why a command did not take effect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecuteError {
    /// A rule refused it; nothing was written.
    #[error("{0}")]
    Rejected(Rejection),
    /// The store refused or failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a successful command did: the appended events and the incident's state after them.
pub type Outcome = Appended;

/// Declares a new incident. `command` must be [`Command::Declare`].
pub async fn declare<S: Store>(
    store: &S,
    command: Command,
    actor: &UserName,
    now: Timestamp,
    policy: &Policy,
) -> Result<Outcome, ExecuteError> {
    let ctx = Context { now, actor, policy };
    let events = decide(&State::initial(), command, ctx).map_err(ExecuteError::Rejected)?;
    let appended = store
        .declare(NewEvents::new(actor.clone(), now, events))
        .await?;
    Ok(appended)
}

/// Runs `command` on an existing incident.
///
/// With `expected_version`, the command is decided only against that version and fails with
/// [`StoreError::Conflict`] if the incident moved on (the client saw a stale state). Without
/// it, a lost race is retried against the fresh state.
pub async fn execute<S: Store>(
    store: &S,
    incident: IncidentNumber,
    expected_version: Option<u64>,
    command: Command,
    actor: &UserName,
    now: Timestamp,
    policy: &Policy,
) -> Result<Outcome, ExecuteError> {
    execute_admitted(
        store,
        incident,
        expected_version,
        command,
        actor,
        now,
        policy,
        |_| Ok(()),
    )
    .await
}

/// [`execute`], with `admit` asked about each loaded snapshot before the command is decided
/// against it: the caller's own checks (who may see and change the incident) run on the very
/// state the command is decided on, so the incident is loaded once per attempt, not once for
/// the checks and again for the command.
#[allow(clippy::too_many_arguments)]
pub async fn execute_admitted<S, E>(
    store: &S,
    incident: IncidentNumber,
    expected_version: Option<u64>,
    command: Command,
    actor: &UserName,
    now: Timestamp,
    policy: &Policy,
    admit: impl Fn(&Loaded) -> Result<(), E>,
) -> Result<Outcome, E>
where
    S: Store,
    E: From<ExecuteError>,
{
    let ctx = Context { now, actor, policy };
    let stripe = (incident.0 % TURNS.len() as u64) as usize;
    let _turn = match TURNS.get(stripe) {
        Some(turn) => Some(turn.lock().await),
        None => None,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let loaded = store.load(incident).await.map_err(ExecuteError::from)?;
        admit(&loaded)?;
        if let Some(expected) = expected_version
            && expected != loaded.version
        {
            return Err(ExecuteError::from(StoreError::Conflict {
                incident,
                expected,
                actual: loaded.version,
            })
            .into());
        }
        let events = decide(&loaded.state, command.clone(), ctx).map_err(ExecuteError::Rejected)?;
        let batch = NewEvents::new(actor.clone(), now, events);
        match store.append(incident, loaded.version, batch).await {
            Ok(appended) => return Ok(appended),
            Err(StoreError::Conflict { .. })
                if expected_version.is_none() && attempt < MAX_ATTEMPTS =>
            {
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(error) => return Err(ExecuteError::from(error).into()),
        }
    }
}

/// A short pause before retry `attempt`: up to `attempt` milliseconds, spread by the clock's
/// sub-microsecond digits so that writers who lost together do not retry together.
fn backoff(attempt: u32) -> std::time::Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    std::time::Duration::from_micros(u64::from(jitter % (attempt.min(10) * 1_000)))
}
