//! Worker threads for sandboxes. A QuickJS runtime is not `Send` and
//! JavaScript can hold a thread for its whole time limit, so runs execute on
//! their own threads, each a single-threaded tokio runtime that interleaves
//! many runs while they await tools. The server's own threads stay free.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use tokio::sync::mpsc;

/// Builds a run's future on the worker thread (the future itself is not `Send`).
pub type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

pub struct Pool {
    workers: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicUsize,
}

impl Pool {
    pub fn start(workers: usize) -> std::io::Result<Self> {
        let mut senders = Vec::with_capacity(workers);
        for n in 0..workers.max(1) {
            let (tx, rx) = mpsc::unbounded_channel::<Job>();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            std::thread::Builder::new()
                .name(format!("sandbox-{n}"))
                .spawn(move || work(runtime, rx))?;
            senders.push(tx);
        }
        Ok(Self {
            workers: senders,
            next: AtomicUsize::new(0),
        })
    }

    /// Hands a job to the next worker, round robin. `false` if the pool is gone.
    pub fn dispatch(&self, job: Job) -> bool {
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[n].send(job).is_ok()
    }
}

fn work(runtime: tokio::runtime::Runtime, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        while let Some(job) = jobs.recv().await {
            tokio::task::spawn_local(async move {
                // A panic in one run must not take the worker's other runs with it.
                if std::panic::AssertUnwindSafe(job())
                    .catch_unwind()
                    .await
                    .is_err()
                {
                    tracing::error!("a run panicked on its sandbox worker");
                }
            });
        }
    });
}
