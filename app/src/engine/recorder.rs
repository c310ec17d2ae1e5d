//! Writes a run's rows without ever failing the run: every storage error is
//! logged and counted, never returned (product.md section 3).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::store::{PendingWrite, Store, WriteOp};

/// How long a run waits for its writes at a checkpoint before moving on.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Recorder {
    store: Option<Store>,
    failures: Arc<AtomicU64>,
    /// Queued writes not yet known to be stored.
    pending: RefCell<Vec<PendingWrite>>,
}

impl Recorder {
    /// `store: None` records nothing (the recording-overhead benchmark).
    pub fn new(store: Option<Store>, failures: Arc<AtomicU64>) -> Self {
        Self {
            store,
            failures,
            pending: RefCell::new(Vec::new()),
        }
    }

    fn failed(&self, error: &dyn std::fmt::Display) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, "could not record part of a run; the run goes on");
    }

    /// Queues a write; its outcome is collected at the next [`Self::settle`].
    pub async fn queue(&self, op: WriteOp) {
        let Some(store) = &self.store else { return };
        match store.enqueue(op).await {
            Ok(pending) => self.pending.borrow_mut().push(pending),
            Err(e) => self.failed(&e),
        }
    }

    /// Waits until everything queued so far is stored (or failed), so that
    /// readers see the run as the caller is told it is.
    pub async fn settle(&self) {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        let all = async {
            for write in pending {
                if let Err(e) = write.committed().await {
                    self.failed(&e);
                }
            }
        };
        if tokio::time::timeout(SETTLE_TIMEOUT, all).await.is_err() {
            self.failed(&"the store did not confirm the run's writes in time");
        }
    }
}
