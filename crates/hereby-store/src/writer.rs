//! Group commit: one writer task per store takes the appends that arrive while it is busy and
//! commits them in a single transaction, each in its own savepoint.
//!
//! Every caller is answered only after the shared commit returns, so each acknowledgement is
//! as durable as a commit of its own; one caller's conflict rolls back only its savepoint.
//! Under load this turns N fsyncs into one, which is where a durable log spends its time.

use std::future::Future;

use hereby_core::types::IncidentNumber;
use tokio::sync::{mpsc, oneshot};

use crate::{Appended, NewEvents, StoreError};

/// The most appends committed together. Bounded so one transaction never grows without limit.
pub const MAX_BATCH: usize = 128;

/// How many writes may wait for the writer before submitters wait too.
const QUEUE: usize = 1_024;

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

/// A backend's way of committing a batch of writes in one transaction. It returns one result
/// per job, in order; if the commit fails, every job must get an error.
pub trait BatchWriter: Send + 'static {
    fn write_batch(
        &mut self,
        jobs: &[WriteJob],
    ) -> impl Future<Output = Vec<Result<Appended, StoreError>>> + Send;
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

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queued").field("job", &self.job).finish()
    }
}

impl WriterHandle {
    /// Starts the writer task on the current tokio runtime. It runs until every handle is gone.
    pub fn spawn<W: BatchWriter>(mut writer: W) -> Self {
        let (queue, mut receiver) = mpsc::channel::<Queued>(QUEUE);
        tokio::spawn(async move {
            let mut pending = Vec::with_capacity(MAX_BATCH);
            while receiver.recv_many(&mut pending, MAX_BATCH).await > 0 {
                let (jobs, replies): (Vec<WriteJob>, Vec<_>) =
                    pending.drain(..).map(|q| (q.job, q.reply)).unzip();
                let mut results = writer.write_batch(&jobs).await.into_iter();
                for reply in replies {
                    let result = results.next().unwrap_or_else(|| {
                        Err(StoreError::Database(
                            "the writer returned too few results".into(),
                        ))
                    });
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
