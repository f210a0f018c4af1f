//! Group commit: one writer task per store takes the writes that arrive while it is busy and
//! commits them in a single transaction.
//!
//! Every caller is answered only after the shared commit returns, so each acknowledgement is
//! as durable as a commit of its own. Each write is fully checked (expected version, rules of
//! the log) before it touches the database, so a refused write has written nothing and needs
//! no savepoint; a database error aborts the whole batch and every caller in it gets the error.
//!
//! The writer keeps the heads of recently written streams in memory, which saves reading and
//! decoding the state snapshot on every append. The cache can never cause a wrong write: the
//! projection row is updated only `WHERE version = expected`, and when that matches nothing
//! (another process or node wrote meanwhile) the head is read again from the database.
//! Backends provide only the SQL, through [`Backend`] and [`WriteTransaction`].

use std::collections::HashMap;
use std::future::Future;

use hereby_core::event::Event;
use hereby_core::types::IncidentNumber;
use tokio::sync::{mpsc, oneshot};

use crate::prepare::{CurrentHead, PreparedAppend, prepare_append};
use crate::{Appended, NewEvents, StoreError};

/// The most writes committed together. Bounded so one transaction never grows without limit.
pub const MAX_BATCH: usize = 128;

/// How many writes may wait for the writer before submitters wait too.
const QUEUE: usize = 1_024;

/// How many stream heads the writer remembers. When full the cache starts over, which costs
/// only a re-read per stream.
const HEAD_CACHE: usize = 4_096;

/// What one write asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteKind {
    /// Start a new stream under the next incident number.
    Declare,
    /// Append to an existing stream at an expected version.
    Append {
        incident: IncidentNumber,
        expected_version: u64,
    },
}

/// One queued write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteJob {
    pub kind: WriteKind,
    pub batch: NewEvents,
}

/// A database that can start write transactions.
pub trait Backend: Send + 'static {
    type Tx: WriteTransaction;
    /// Starts a transaction that holds the database's write lock (SQLite) or the position
    /// counter's row lock (PostgreSQL) from its first statement on. Taking that one lock first
    /// in every write transaction orders writers and rules out deadlocks.
    fn begin(&mut self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// Appends one prepared write as a single self-contained statement that commits durably
    /// on its own (taking the same locks in the same order as a transaction would), for a
    /// batch of one. Returns `None` if the backend has no such statement, `Some(Ok(None))` if
    /// the stream was no longer at `expected_version` (nothing written), or the first position.
    fn append_alone(
        &mut self,
        prepared: &PreparedAppend,
        expected_version: u64,
    ) -> impl Future<Output = Option<Result<Option<i64>, StoreError>>> + Send {
        let _ = (prepared, expected_version);
        async { None }
    }
}

/// The SQL a backend runs inside one write transaction. Event positions are the backend's to
/// assign: consecutive, in commit order, without gaps.
pub trait WriteTransaction: Send {
    /// Advances the incident counter and returns the new number.
    fn next_incident_number(&mut self) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Reads a stream's head (locking its row where the database needs that), rebuilding the
    /// state from the stream when the snapshot is unusable. `None` if there is no such stream.
    fn read_head(
        &mut self,
        incident: IncidentNumber,
    ) -> impl Future<Output = Result<Option<CurrentHead>, StoreError>> + Send;
    /// Inserts a new incident's projection rows (its `incidents` row and members) and its
    /// events; returns the first position.
    fn insert_stream(
        &mut self,
        prepared: &PreparedAppend,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// If the projection row is still at `expected_version`, updates it (and the members if
    /// [`PreparedAppend::members_changed`]) and inserts the events, returning the first
    /// position; `None` (having written nothing) if not.
    fn extend_stream(
        &mut self,
        prepared: &PreparedAppend,
        expected_version: u64,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// Commits durably.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

struct Queued {
    job: WriteJob,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
}

/// A cloneable handle that submits writes to the writer task.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    queue: mpsc::Sender<Queued>,
}

impl WriterHandle {
    /// Starts the writer task on the current tokio runtime. It runs until every handle is gone.
    pub fn spawn<B: Backend>(mut backend: B) -> Self {
        let (queue, mut receiver) = mpsc::channel::<Queued>(QUEUE);
        tokio::spawn(async move {
            let mut cache = HashMap::new();
            let mut pending = Vec::with_capacity(MAX_BATCH);
            while receiver.recv_many(&mut pending, MAX_BATCH).await > 0 {
                let (jobs, replies): (Vec<WriteJob>, Vec<_>) =
                    pending.drain(..).map(|q: Queued| (q.job, q.reply)).unzip();
                let results = write_batch(&mut backend, &mut cache, &jobs).await;
                for (reply, result) in replies.into_iter().zip(results) {
                    // A caller that gave up waiting no longer needs its answer.
                    let _ = reply.send(result);
                }
            }
        });
        Self { queue }
    }

    /// Queues a write and waits for its durable commit.
    pub async fn submit(&self, job: WriteJob) -> Result<Appended, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued { job, reply })
            .await
            .map_err(|_| StoreError::Database("the store's writer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Database("the store's writer stopped before committing".into())
        })?
    }
}

/// Commits a batch and answers each job; on a database error every job gets that error.
async fn write_batch<B: Backend>(
    backend: &mut B,
    cache: &mut HashMap<IncidentNumber, CurrentHead>,
    jobs: &[WriteJob],
) -> Vec<Result<Appended, StoreError>> {
    if let [job] = jobs
        && let Some(result) = write_alone(backend, cache, job).await
    {
        return vec![result];
    }
    let mut written = HashMap::new();
    match try_write_batch(backend, cache, &mut written, jobs).await {
        Ok(results) => {
            if cache.len() + written.len() > HEAD_CACHE {
                cache.clear();
            }
            cache.extend(written);
            results
        }
        Err(error) => {
            for incident in written.keys() {
                cache.remove(incident);
            }
            jobs.iter().map(|_| Err(error.clone())).collect()
        }
    }
}

/// The fast path for a batch of one append whose head is cached: one statement, one round
/// trip. `None` means the transactional path must do the job (no cached head, no such
/// statement in this backend, or the cached head was stale).
async fn write_alone<B: Backend>(
    backend: &mut B,
    cache: &mut HashMap<IncidentNumber, CurrentHead>,
    job: &WriteJob,
) -> Option<Result<Appended, StoreError>> {
    let WriteKind::Append {
        incident,
        expected_version,
    } = job.kind
    else {
        return None;
    };
    let head = cache
        .get(&incident)
        .filter(|head| head.version == expected_version)?
        .clone();
    let prepared = match prepare_append(incident, head, Some(expected_version), &job.batch) {
        Ok(prepared) => prepared,
        Err(refusal) => return Some(Err(refusal)),
    };
    match backend.append_alone(&prepared, expected_version).await? {
        Ok(Some(first_position)) => {
            cache.insert(
                incident,
                CurrentHead {
                    version: prepared.version,
                    last_hash: prepared.last_hash,
                    state: prepared.state.clone(),
                },
            );
            Some(Ok(prepared.appended(first_position)))
        }
        Ok(None) => {
            cache.remove(&incident);
            None
        }
        Err(error) => {
            cache.remove(&incident);
            Some(Err(error))
        }
    }
}

/// The per-job outcome inside a batch: `Err` is a refusal of that job alone, an `Err` of the
/// outer result a database failure of the whole batch.
type JobResult = Result<Appended, StoreError>;

async fn try_write_batch<B: Backend>(
    backend: &mut B,
    cache: &HashMap<IncidentNumber, CurrentHead>,
    written: &mut HashMap<IncidentNumber, CurrentHead>,
    jobs: &[WriteJob],
) -> Result<Vec<JobResult>, StoreError> {
    let mut tx = backend.begin().await?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = match &job.kind {
            WriteKind::Declare => match check_declaration(&job.batch) {
                Err(refusal) => Err(refusal),
                Ok(()) => {
                    let number = IncidentNumber(tx.next_incident_number().await?);
                    // The batch was checked, so preparing cannot be refused; if it is anyway,
                    // the whole transaction is abandoned so the number is not lost.
                    let prepared = prepare_append(number, CurrentHead::empty(), None, &job.batch)?;
                    let first_position = tx.insert_stream(&prepared).await?;
                    Ok((prepared, first_position))
                }
            },
            WriteKind::Append {
                incident,
                expected_version,
            } => {
                append(
                    &mut tx,
                    cache,
                    written,
                    *incident,
                    *expected_version,
                    &job.batch,
                )
                .await?
            }
        };
        match outcome {
            Ok((prepared, first_position)) => {
                written.insert(
                    prepared.incident,
                    CurrentHead {
                        version: prepared.version,
                        last_hash: prepared.last_hash,
                        state: prepared.state.clone(),
                    },
                );
                results.push(Ok(prepared.appended(first_position)));
            }
            Err(refusal) => results.push(Err(refusal)),
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// Appends one job. The outer error aborts the batch; the inner one refuses this job only.
async fn append<T: WriteTransaction>(
    tx: &mut T,
    cache: &HashMap<IncidentNumber, CurrentHead>,
    written: &HashMap<IncidentNumber, CurrentHead>,
    incident: IncidentNumber,
    expected_version: u64,
    batch: &NewEvents,
) -> Result<Result<(PreparedAppend, i64), StoreError>, StoreError> {
    // A head written earlier in this batch is exact; one from the cache may be stale.
    let remembered = written
        .get(&incident)
        .map(|head| (head.clone(), true))
        .or_else(|| cache.get(&incident).map(|head| (head.clone(), false)));
    let (head, exact) = match remembered {
        Some((head, exact)) if exact || head.version == expected_version => (head, exact),
        _ => match tx.read_head(incident).await? {
            Some(head) => (head, true),
            None => return Ok(Err(StoreError::NotFound(incident))),
        },
    };
    let prepared = match prepare_append(incident, head, Some(expected_version), batch) {
        Ok(prepared) => prepared,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if let Some(first_position) = tx.extend_stream(&prepared, expected_version).await? {
        return Ok(Ok((prepared, first_position)));
    }
    if exact {
        return Err(StoreError::Database(format!(
            "{incident} changed under a held write lock"
        )));
    }
    // The cached head was stale: someone else appended. Decide on the real head.
    let Some(head) = tx.read_head(incident).await? else {
        return Ok(Err(StoreError::NotFound(incident)));
    };
    let prepared = match prepare_append(incident, head, Some(expected_version), batch) {
        Ok(prepared) => prepared,
        Err(refusal) => return Ok(Err(refusal)),
    };
    match tx.extend_stream(&prepared, expected_version).await? {
        Some(first_position) => Ok(Ok((prepared, first_position))),
        None => Err(StoreError::Database(format!(
            "{incident} changed under a held write lock"
        ))),
    }
}

/// The checks `prepare_append` makes of a declaration that do not depend on the number, made
/// before a number is taken.
fn check_declaration(batch: &NewEvents) -> Result<(), StoreError> {
    let declarations = batch
        .events
        .iter()
        .filter(|event| matches!(event, Event::IncidentDeclared(_)))
        .count();
    if matches!(batch.events.first(), Some(Event::IncidentDeclared(_))) && declarations == 1 {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "a new incident's stream starts with exactly one declaration".into(),
        ))
    }
}
