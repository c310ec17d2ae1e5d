//! Limits of one run and the engine's capacity, with the defaults of
//! docs/engine.md#limits.

use std::time::Duration;

pub const MIB: usize = 1024 * 1024;

/// What one run may use before it is stopped and failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time spent running (time paused for a person does not count).
    pub wall_time: Duration,
    pub memory_bytes: usize,
    pub stack_bytes: usize,
    /// Size of the result as JSON text.
    pub result_bytes: usize,
    /// Total size of the log lines.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            wall_time: Duration::from_secs(5),
            memory_bytes: 64 * MIB,
            stack_bytes: MIB,
            result_bytes: MIB,
            log_bytes: MIB,
        }
    }
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub limits: Limits,
    /// Threads that run sandboxes; each interleaves many runs while they
    /// wait on tools.
    pub workers: usize,
    /// Runs executing at once (paused runs do not count).
    pub max_running: usize,
    /// Runs waiting for a free slot; past this, new runs are refused (503).
    pub max_queued: usize,
    /// A run paused for a person longer than this is cancelled.
    pub pause_ttl: Duration,
    /// Off only in the recording-overhead benchmark.
    pub record: bool,
    /// This process as a run owner (many servers on one database): its
    /// runs name it, with a lease its heartbeat renews.
    pub instance: Option<Instance>,
}

/// A server process among others on one database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Fresh at every start: a restarted server owns none of its old runs.
    pub id: String,
    /// How long a run's claim holds without a heartbeat.
    pub lease: Duration,
}

impl Instance {
    /// How often it beats (and follows other servers): three times a
    /// lease, so one lost beat costs nothing.
    pub fn beat_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(100))
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            limits: Limits::default(),
            workers: cores.max(2),
            max_running: 128,
            max_queued: 1_024,
            pause_ttl: Duration::from_secs(3_600),
            record: true,
            instance: None,
        }
    }
}
