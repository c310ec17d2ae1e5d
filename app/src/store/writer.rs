//! The single writer task. Callers enqueue write operations; the task drains
//! whatever is queued and applies it in one transaction (see `batch.rs`). A
//! busy server thus commits thousands of writes per transaction, which is
//! what makes SQLite ingest fast, while an idle one commits each write at once.
//!
//! A caller that enqueues several writes and awaits only the last one still
//! sees all of them committed when it returns: the queue is FIFO and each
//! batch commits whole or, after a failure, op by op in order.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::batch::{write_all, Group};
use super::checkpoint::Checkpointer;
use super::db::{Db, WriterConn};
use super::write_ops::WriteOp;
use super::StoreError;

/// Most operations taken into one transaction.
const MAX_BATCH: usize = 32_768;
/// Queue bound: past it, enqueuers wait (back-pressure instead of memory growth).
const QUEUE: usize = 32_768;

type Reply = oneshot::Sender<Result<(), StoreError>>;

enum Msg {
    /// Writes that succeed or fail together (one run's, say).
    Write(Group, Reply),
    Flush(oneshot::Sender<()>),
    /// Write what is queued, give the connection back and stop.
    ShutDown(oneshot::Sender<()>),
}

/// A write that has been queued; await [`PendingWrite::committed`] to learn
/// its outcome. Dropping it does not cancel the write.
#[must_use = "a queued write is only known to be stored once `committed` resolves"]
pub struct PendingWrite(oneshot::Receiver<Result<(), StoreError>>);

impl PendingWrite {
    pub async fn committed(self) -> Result<(), StoreError> {
        self.0.await.map_err(|_| StoreError::WriterGone)?
    }
}

#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Msg>,
}

impl WriterHandle {
    /// Queues a write, waiting only while the queue is full.
    pub async fn enqueue(&self, op: WriteOp) -> Result<PendingWrite, StoreError> {
        self.enqueue_all(vec![op]).await
    }

    /// Queues writes that are stored in one transaction, all or none.
    pub async fn enqueue_all(&self, ops: Vec<WriteOp>) -> Result<PendingWrite, StoreError> {
        self.enqueue_as(None, ops).await
    }

    /// [`Self::enqueue_all`], for writes an owner makes to its runs: with
    /// `owner`, they are stored only while the runs they touch are still
    /// that owner's, else refused whole with [`StoreError::TakenOver`].
    pub async fn enqueue_as(
        &self,
        owner: Option<Arc<str>>,
        ops: Vec<WriteOp>,
    ) -> Result<PendingWrite, StoreError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Msg::Write(Group { ops, owner }, reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        Ok(PendingWrite(done))
    }

    /// Resolves once everything queued before it is written.
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Writes what is queued and stops the writer, releasing its connection
    /// (a pool does not finish closing while the writer holds one).
    pub async fn shut_down(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Msg::ShutDown(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}

pub fn spawn(db: Db) -> WriterHandle {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(db, rx));
    WriterHandle { tx }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Msg>) {
    let mut conn: Option<WriterConn> = None;
    let mut checkpointer = Checkpointer::for_db(&db);
    let mut batch: Vec<(Group, Reply)> = Vec::new();
    let mut batch_ops = 0;
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    let mut stop: Option<oneshot::Sender<()>> = None;
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Write(group, reply) => {
                    batch_ops += group.ops.len();
                    batch.push((group, reply));
                }
                Msg::Flush(done) => flushes.push(done),
                Msg::ShutDown(done) => {
                    stop = Some(done);
                    break;
                }
            }
            if batch_ops < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            apply_batch(&db, &mut conn, std::mem::take(&mut batch)).await;
            batch_ops = 0;
            if let Some(checkpointer) = checkpointer.as_mut() {
                checkpointer.after_commit(&mut conn).await;
            }
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if let Some(done) = stop.take() {
            drop(conn.take());
            if let Some(checkpointer) = &checkpointer {
                checkpointer.settle().await;
            }
            let _ = done.send(());
            return;
        }
    }
}

async fn apply_batch(db: &Db, conn: &mut Option<WriterConn>, batch: Vec<(Group, Reply)>) {
    let groups: Vec<&Group> = batch.iter().map(|(group, _)| group).collect();
    let ops = groups.iter().map(|g| g.ops.len()).sum();
    let started = std::time::Instant::now();
    let written = write_all(db, conn, &groups).await;
    crate::telemetry::writer_commit(ops, started.elapsed());
    match written {
        Ok(refused) => {
            for ((_, reply), refused) in batch.into_iter().zip(refused) {
                let _ = reply.send(answer(refused));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some((_, reply)) = batch.into_iter().next() {
                let _ = reply.send(Err(err));
            }
        }
        Err(err) => {
            // One bad write must not fail its neighbours: retry each group
            // alone, in order, so every caller gets its own answer.
            tracing::debug!(error = %err, size = batch.len(), "batch failed; retrying group by group");
            for (group, reply) in batch {
                let result = write_all(db, conn, &[&group]).await;
                let _ = reply.send(result.and_then(|refused| answer(refused[0])));
            }
        }
    }
}

/// A group's answer: stored, or refused because its run has another owner.
fn answer(refused: bool) -> Result<(), StoreError> {
    if refused {
        Err(StoreError::TakenOver)
    } else {
        Ok(())
    }
}
