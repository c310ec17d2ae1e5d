//! Writes a run's rows without ever failing the run: every storage error is
//! logged and counted, never returned (docs/engine.md#storage-failures).
//!
//! Writes are buffered on the run's worker and handed to the store's writer
//! together: at a checkpoint (a pause, the end) or at the latest
//! [`FLUSH_AFTER`] after the first buffered write, so a long run and its
//! open tool calls show up while it runs, and a short one costs one batch.
//!
//! On a server among others the writes go as the run's owner's: once
//! another server has taken the run over, the store refuses them, and the
//! run is stopped ([`StopReason::TakenOver`]) instead of counting a failure.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::interrupt::{Interrupt, StopReason};
use crate::store::{PendingWrite, Store, StoreError, WriteOp};

/// Longest a write waits on the worker before it goes to the store.
const FLUSH_AFTER: Duration = Duration::from_millis(50);
/// How long a checkpoint waits for the store before moving on.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Recorder(Rc<Inner>);

struct Inner {
    store: Option<Store>,
    failures: Arc<AtomicU64>,
    /// This server's instance, when it shares the database with others.
    owner: Option<Arc<str>>,
    /// The run's: stopped when the store says the run is no longer ours.
    interrupt: Arc<Interrupt>,
    buffer: RefCell<Vec<WriteOp>>,
    flush_scheduled: Cell<bool>,
    /// Held while handing writes over, so two flushes never interleave.
    flushing: tokio::sync::Mutex<()>,
    /// Handed to the writer, outcome not yet known.
    pending: RefCell<Vec<PendingWrite>>,
}

impl Recorder {
    /// `store: None` records nothing (the recording-overhead benchmark).
    pub fn new(
        store: Option<Store>,
        failures: Arc<AtomicU64>,
        owner: Option<Arc<str>>,
        interrupt: Arc<Interrupt>,
    ) -> Self {
        Self(Rc::new(Inner {
            store,
            failures,
            owner,
            interrupt,
            buffer: RefCell::new(Vec::new()),
            flush_scheduled: Cell::new(false),
            flushing: tokio::sync::Mutex::new(()),
            pending: RefCell::new(Vec::new()),
        }))
    }

    fn failed(failures: &AtomicU64, error: &dyn std::fmt::Display) {
        failures.fetch_add(1, Ordering::Relaxed);
        crate::telemetry::storage_failure();
        tracing::warn!(%error, "could not record part of a run; the run goes on");
    }

    /// Buffers a write; it reaches the store within [`FLUSH_AFTER`].
    pub fn queue(&self, op: WriteOp) {
        if self.0.store.is_none() {
            return;
        }
        self.0.buffer.borrow_mut().push(op);
        if !self.0.flush_scheduled.replace(true) {
            let me = self.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(FLUSH_AFTER).await;
                me.flush().await;
            });
        }
    }

    /// Hands every buffered write to the store's writer, in order.
    pub async fn flush(&self) {
        let _one_at_a_time = self.0.flushing.lock().await;
        self.0.flush_scheduled.set(false);
        let ops = std::mem::take(&mut *self.0.buffer.borrow_mut());
        let Some(store) = &self.0.store else { return };
        if ops.is_empty() {
            return;
        }
        match store.enqueue_as(self.0.owner.clone(), ops).await {
            Ok(pending) => self.0.pending.borrow_mut().push(pending),
            Err(e) => Self::failed(&self.0.failures, &e),
        }
    }

    /// Sends what is buffered and waits until it is stored (or failed).
    /// Every answer a caller gets (a run's end, a pause) waits for this, so
    /// what a caller was told is in the history, also across a crash; the
    /// single writer commits the runs that settle together in one
    /// transaction, so waiting costs a commit shared by all of them.
    pub async fn settle(&self) {
        self.flush().await;
        let pending = std::mem::take(&mut *self.0.pending.borrow_mut());
        let failures = &self.0.failures;
        let all = Self::collect(pending, failures, &self.0.interrupt);
        if tokio::time::timeout(SETTLE_TIMEOUT, all).await.is_err() {
            Self::failed(
                failures,
                &"the store did not confirm the run's writes in time",
            );
        }
    }

    /// Waits for each handed-over write, counting the ones that failed.
    async fn collect(pending: Vec<PendingWrite>, failures: &AtomicU64, interrupt: &Interrupt) {
        for write in pending {
            match write.committed().await {
                Ok(()) => {}
                Err(StoreError::TakenOver) => interrupt.stop(StopReason::TakenOver),
                Err(e) => Self::failed(failures, &e),
            }
        }
    }
}
