//! This process among the servers on one database (docs/operations.md#many-servers):
//! registered at start, a heartbeat every third of the lease that renews
//! its runs' leases in one statement and reaps the runs of servers that
//! stopped renewing theirs, and gone from the list when it stops cleanly.

use app::engine::Engine;
use app::store::{now_ms, Store};

/// The heartbeat's task; [`Heartbeat::stop`] ends it and leaves the list.
pub struct Heartbeat {
    id: String,
    store: Store,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

/// Registers the engine's instance and starts its heartbeat, and the
/// taking of resume and cancel requests other servers forward to it
/// (`listen_url`: a direct connection for `LISTEN`); `None` for an engine
/// without an instance.
pub async fn start(
    engine: &Engine,
    store: &Store,
    address: &str,
    listen_url: Option<String>,
) -> Option<Heartbeat> {
    let instance = engine.config().instance.clone()?;
    let forwarded = tokio::spawn(engine.clone().serve_forwarded(listen_url));
    if let Err(e) = store
        .register_instance(&instance.id, address, now_ms())
        .await
    {
        tracing::error!(error = %e, "could not register this server; its heartbeat will try again");
    }
    let lease = instance.lease;
    let every = instance.beat_every();
    let (engine, beat_store, id) = (engine.clone(), store.clone(), instance.id.clone());
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = now_ms();
            let lease_ms = lease.as_millis() as i64;
            if let Err(e) = beat_store.heartbeat(&id, now, now + lease_ms).await {
                // Missing beats costs this server its runs after one lease.
                tracing::warn!(error = %e, "heartbeat failed");
                continue;
            }
            match engine.stop_taken_over().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    runs = n,
                    "stopped runs another server took over: this server's lease had run out"
                ),
                Err(e) => tracing::warn!(error = %e, "checking this server's runs failed"),
            }
            match engine.reap().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    runs = n,
                    "failed runs of a lost server: {}",
                    app::engine::INTERRUPTED_BY_LOSS
                ),
                Err(e) => tracing::warn!(error = %e, "reaping lost servers' runs failed"),
            }
            if let Err(e) = beat_store.forget_instances(now - 2 * lease_ms).await {
                tracing::warn!(error = %e, "forgetting silent servers failed");
            }
            // A request no owner took in ten minutes never will be.
            if let Err(e) = beat_store.forget_run_requests(now - 600_000).await {
                tracing::warn!(error = %e, "forgetting stale run requests failed");
            }
        }
    });
    tracing::info!(instance = %instance.id, lease_secs = lease.as_secs_f64(), "registered; heartbeat every {every:?}");
    Some(Heartbeat {
        id: instance.id,
        store: store.clone(),
        tasks: [task, forwarded],
    })
}

impl Heartbeat {
    /// Stops beating and leaves the list (a clean stop: its runs were
    /// finished by the shutdown already).
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Err(e) = self.store.deregister_instance(&self.id).await {
            tracing::warn!(error = %e, "could not leave the server list");
        }
    }
}
