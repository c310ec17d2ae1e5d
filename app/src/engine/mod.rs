//! The engine: runs JavaScript in a sandbox, lets it call tools, records
//! everything, pauses runs for people and resumes them (docs/engine.md#lifecycle).
//!
//! Runs execute on a small pool of sandbox threads ([`pool`]); the engine's
//! API is called from the server's async tasks and waits for a run to
//! settle: finished, or paused on an interaction.

mod cluster;
mod config;
mod interrupt;
mod pool;
mod recorder;
mod run;
mod sandbox;
pub mod tools;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

pub use config::{EngineConfig, Instance, Limits, MIB};
pub use sandbox::SandboxError;
pub use tools::{ElicitationAnswer, Registry};

use crate::model::{
    ElicitationRequest, ErrorKind, ResumeAction, RunResponse, Trigger, TriggerKind,
};
use crate::store::{now_ms, Store, StoreError};
use interrupt::{Interrupt, StopReason};
use run::{RunControl, RunJob, Until};

/// Error text of runs a previous process left unfinished.
pub const INTERRUPTED_BY_RESTART: &str = "interrupted: server restarted";
/// The error of a run whose server died (its lease expired) while others
/// share the database.
pub const INTERRUPTED_BY_LOSS: &str = "interrupted: server lost";
/// Error text of runs a stopping server could not let finish.
pub const INTERRUPTED_BY_STOP: &str = "interrupted: server stopped";

/// How often a stopping engine looks at what is still live.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the engine is at capacity ({running} running, {queued} queued); retry later")]
    Busy { running: usize, queued: usize },
    #[error("no execution with id '{0}'")]
    NotFound(String),
    #[error("execution '{id}' is {status}, not waiting for an interaction")]
    NotWaiting { id: String, status: String },
    #[error("execution '{id}' is {status}; only running or waiting runs can be cancelled")]
    NotActive { id: String, status: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the sandbox pool has stopped")]
    PoolGone,
    #[error("the server is stopping; retry against another server or after it restarts")]
    ShuttingDown,
}

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Busy { .. } => ErrorKind::Unavailable {
                retry_after_secs: 1,
            },
            Self::ShuttingDown => ErrorKind::Unavailable {
                retry_after_secs: 5,
            },
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::NotWaiting { .. } | Self::NotActive { .. } => ErrorKind::Conflict,
            Self::Store(_) | Self::PoolGone => ErrorKind::Internal,
        }
    }
}

/// A host that answers elicitations itself while the run waits (an MCP
/// client with elicitation support).
pub trait InlineElicitor: Send + Sync {
    fn elicit(
        &self,
        execution_id: &str,
        request: ElicitationRequest,
    ) -> Pin<Box<dyn Future<Output = ElicitationAnswer> + Send>>;
}

/// How a run's interactions are answered.
#[derive(Clone, Default)]
pub enum ElicitationMode {
    /// The run pauses; the caller gets `waiting_for_interaction` and answers
    /// later with [`Engine::resume`].
    #[default]
    Pause,
    /// The host answers while the run waits.
    Inline(Arc<dyn InlineElicitor>),
}

/// A submission.
pub struct ExecuteRequest {
    pub scope: String,
    pub code: String,
    pub trigger: Trigger,
    /// Overrides the configured wall time for this run.
    pub timeout: Option<Duration>,
    pub elicitation: ElicitationMode,
}

/// Cheap to clone; every clone drives the same pool.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

pub struct Shared {
    store: Store,
    registry: Arc<Registry>,
    config: EngineConfig,
    pool: pool::Pool,
    live: Mutex<HashMap<String, Arc<RunControl>>>,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    storage_failures: Arc<AtomicU64>,
    /// Set when the server stops: no new run starts.
    closing: AtomicBool,
    /// This server's instance id, which its runs' writes are fenced by;
    /// `None` on SQLite, where one server has the file and its runs never
    /// change hands (so its writer does no ownership checks).
    owner: Option<Arc<str>>,
}

impl Shared {
    fn forget(&self, id: &str) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.remove(id);
        crate::telemetry::engine_depth(live.len(), self.queued.load(Ordering::Acquire));
    }

    /// Every run this process holds, at this moment.
    fn live_runs(&self) -> Vec<Arc<RunControl>> {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn owner(&self) -> Option<Arc<str>> {
        self.owner.clone()
    }

    fn live(&self, scope: &str, id: &str) -> Option<Arc<RunControl>> {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .filter(|c| c.scope == scope)
            .cloned()
    }
}

impl Engine {
    pub fn start(
        store: Store,
        registry: Arc<Registry>,
        config: EngineConfig,
    ) -> std::io::Result<Self> {
        let pool = pool::Pool::start(config.workers)?;
        let owner = config
            .instance
            .as_ref()
            .filter(|_| store.dialect() == crate::store::Dialect::Postgres)
            .map(|i| Arc::from(i.id.as_str()));
        Ok(Self {
            shared: Arc::new(Shared {
                store,
                registry,
                slots: Arc::new(Semaphore::new(config.max_running.max(1))),
                config,
                pool,
                live: Mutex::new(HashMap::new()),
                queued: AtomicUsize::new(0),
                storage_failures: Arc::new(AtomicU64::new(0)),
                closing: AtomicBool::new(false),
                owner,
            }),
        })
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.shared.registry
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Writes that failed since start (each logged when it happened).
    pub fn storage_failures(&self) -> u64 {
        self.shared.storage_failures.load(Ordering::Relaxed)
    }

    /// Fails runs a previous process left unfinished (call once at start).
    pub async fn recover(&self) -> Result<u64, StoreError> {
        let store = &self.shared.store;
        match store.dialect() {
            // One server per file (its lock): whatever is unfinished is dead.
            crate::store::Dialect::Sqlite => {
                store
                    .fail_unfinished(INTERRUPTED_BY_RESTART, now_ms())
                    .await
            }
            // Others may be alive: only the runs of dead owners.
            crate::store::Dialect::Postgres => self.reap().await,
        }
    }

    /// Fails the runs whose owner stopped renewing their lease, unless
    /// another server is doing it right now. Nothing on SQLite: one server
    /// has the file, and `recover` fails what a dead process left.
    pub async fn reap(&self) -> Result<u64, StoreError> {
        let store = &self.shared.store;
        if store.dialect() == crate::store::Dialect::Sqlite {
            return Ok(0);
        }
        let reaped = store
            .exclusively(
                crate::store::Exclusive::Reaper,
                store.reap_expired(INTERRUPTED_BY_LOSS, now_ms()),
            )
            .await?;
        Ok(reaped.transpose()?.unwrap_or(0))
    }

    /// Stops the runs this server holds that another server took over (its
    /// lease ran out while it was frozen or cut off, and they were failed
    /// as lost): each ends at once, its caller told the recorded failure.
    /// Called on every heartbeat; answers how many were stopped.
    pub async fn stop_taken_over(&self) -> Result<usize, StoreError> {
        let Some(owner) = &self.shared.owner else {
            return Ok(0);
        };
        let live = self.shared.live_runs();
        if live.is_empty() {
            return Ok(0);
        }
        let runs = live.iter().map(|c| (c.scope.as_str(), c.id.as_str()));
        let lost = self.shared.store.taken_over(owner, runs).await?;
        for control in live.iter().filter(|c| lost.contains(&c.id)) {
            control.interrupt.stop(StopReason::TakenOver);
        }
        Ok(lost.len())
    }

    /// Runs code until it finishes or pauses.
    pub async fn execute(&self, request: ExecuteRequest) -> Result<RunResponse, EngineError> {
        let shared = &self.shared;
        if shared.closing.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let permit = match shared.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let queued = shared.queued.fetch_add(1, Ordering::AcqRel);
                if queued >= shared.config.max_queued {
                    shared.queued.fetch_sub(1, Ordering::AcqRel);
                    crate::telemetry::engine_busy();
                    return Err(EngineError::Busy {
                        running: shared.config.max_running,
                        queued,
                    });
                }
                let permit = shared.slots.clone().acquire_owned().await;
                shared.queued.fetch_sub(1, Ordering::AcqRel);
                permit.map_err(|_| EngineError::PoolGone)?
            }
        };
        // It may have waited for its slot while the server began to stop.
        if shared.closing.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let mut limits = shared.config.limits.clone();
        if let Some(timeout) = request.timeout {
            limits.wall_time = timeout;
        }
        let id = uuid::Uuid::now_v7().to_string();
        let control = Arc::new(RunControl::new(
            id.clone(),
            request.scope,
            Arc::new(Interrupt::new(limits.wall_time)),
        ));
        let watch = control.watch();
        {
            let mut live = shared.live.lock().unwrap_or_else(|e| e.into_inner());
            live.insert(id.clone(), control.clone());
            crate::telemetry::engine_depth(live.len(), shared.queued.load(Ordering::Acquire));
        }
        let job = RunJob {
            shared: shared.clone(),
            control,
            code: request.code,
            trigger: request.trigger,
            limits,
            mode: request.elicitation,
            permit,
        };
        if !shared
            .pool
            .dispatch(Box::new(move || Box::pin(run::drive(job))))
        {
            shared.forget(&id);
            return Err(EngineError::PoolGone);
        }
        Ok(run::settled(watch, Until::PausedOrDone(None), &id).await)
    }

    /// Answers a paused run's interaction and waits until it finishes or
    /// pauses again.
    pub async fn resume(
        &self,
        scope: &str,
        id: &str,
        action: ResumeAction,
        content: Option<serde_json::Value>,
    ) -> Result<RunResponse, EngineError> {
        if self.shared.live(scope, id).is_none() {
            // Another server's run (PostgreSQL): it answers through us.
            let request = cluster::Forward::Resume {
                action,
                content: content.clone(),
            };
            if let Some(response) = self.forward(scope, id, request).await? {
                return Ok(response);
            }
        }
        self.resume_here(scope, id, action, content).await
    }

    /// Resumes a run this process holds.
    async fn resume_here(
        &self,
        scope: &str,
        id: &str,
        action: ResumeAction,
        content: Option<serde_json::Value>,
    ) -> Result<RunResponse, EngineError> {
        let answer = self
            .shared
            .live(scope, id)
            .and_then(|control| Some((control.take_answer()?, control)));
        let Some(((interaction_id, reply), control)) = answer else {
            return Err(self.not_waiting(scope, id).await);
        };
        let watch = control.watch();
        if reply.send(ElicitationAnswer { action, content }).is_err() {
            return Err(self.not_waiting(scope, id).await);
        }
        Ok(run::settled(watch, Until::PausedOrDone(Some(&interaction_id)), id).await)
    }

    async fn not_waiting(&self, scope: &str, id: &str) -> EngineError {
        match self.shared.store.get(scope, id).await {
            Ok(Some(found)) => EngineError::NotWaiting {
                id: id.to_owned(),
                status: found.execution.status.to_string(),
            },
            Ok(None) => EngineError::NotFound(id.to_owned()),
            Err(e) => EngineError::Store(e),
        }
    }

    /// Stops a running or paused run; it ends `cancelled`.
    pub async fn cancel(&self, scope: &str, id: &str) -> Result<RunResponse, EngineError> {
        if self.shared.live(scope, id).is_none() {
            if let Some(response) = self.forward(scope, id, cluster::Forward::Cancel).await? {
                return Ok(response);
            }
        }
        self.cancel_here(scope, id).await
    }

    /// Cancels a run this process holds.
    async fn cancel_here(&self, scope: &str, id: &str) -> Result<RunResponse, EngineError> {
        let Some(control) = self.shared.live(scope, id) else {
            return Err(match self.shared.store.get(scope, id).await? {
                Some(found) => EngineError::NotActive {
                    id: id.to_owned(),
                    status: if found.execution.status.is_terminal() {
                        found.execution.status.to_string()
                    } else {
                        format!("{} in another process", found.execution.status)
                    },
                },
                None => EngineError::NotFound(id.to_owned()),
            });
        };
        let watch = control.watch();
        control.interrupt.stop(StopReason::Cancelled);
        Ok(run::settled(watch, Until::Done, id).await)
    }

    /// Runs the code of an earlier run again as a new run whose trigger
    /// meta names the original (`{"rerunOf": id}`).
    pub async fn rerun(
        &self,
        scope: &str,
        id: &str,
        trigger: Option<Trigger>,
    ) -> Result<RunResponse, EngineError> {
        let Some(original) = self.shared.store.get(scope, id).await? else {
            return Err(EngineError::NotFound(id.to_owned()));
        };
        let mut trigger =
            trigger.unwrap_or_else(|| Trigger::new(TriggerKind::known(TriggerKind::UI)));
        trigger
            .meta
            .get_or_insert_with(Default::default)
            .insert("rerunOf".into(), serde_json::Value::String(id.to_owned()));
        self.execute(ExecuteRequest {
            scope: scope.to_owned(),
            code: original.execution.code,
            trigger,
            timeout: None,
            elicitation: ElicitationMode::Pause,
        })
        .await
    }

    /// Stops the engine for a server shutdown: no new run starts; paused
    /// runs (nobody can answer them any more) and, after `grace`, runs still
    /// going end `failed` with [`INTERRUPTED_BY_STOP`], each through its own
    /// ending, so its open tool calls and interactions are closed and its
    /// caller answered. Returns how many runs were interrupted.
    pub async fn shut_down(&self, grace: Duration) -> usize {
        let shared = &self.shared;
        shared.closing.store(true, Ordering::Release);
        let deadline = tokio::time::Instant::now() + grace;
        let mut interrupted = std::collections::HashSet::new();
        loop {
            let live = shared.live_runs();
            if live.is_empty() {
                return interrupted.len();
            }
            let out_of_time = tokio::time::Instant::now() >= deadline;
            for control in live {
                if (out_of_time || control.interrupt.is_paused())
                    && interrupted.insert(control.id.clone())
                {
                    control.interrupt.stop(StopReason::ServerStopped);
                }
            }
            tokio::time::sleep(SHUTDOWN_POLL).await;
        }
    }

    /// Whether this process is executing the run (status as the store says).
    pub fn is_live(&self, scope: &str, id: &str) -> bool {
        self.shared.live(scope, id).is_some()
    }
}
