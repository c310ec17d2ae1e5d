//! Why and when a run must stop. Shared between the engine (which cancels),
//! the sandbox's interrupt handler (polled by QuickJS while JavaScript runs)
//! and the run's driver (which waits while JavaScript awaits a tool).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Someone asked to cancel the run.
    Cancelled,
    /// Nobody answered the run's interaction in time.
    PauseExpired,
    /// The run used up its wall time.
    TimeLimit,
    /// The server is stopping and the run did not finish within the grace.
    ServerStopped,
    /// Another server took the run over: this one's lease ran out (it was
    /// frozen or cut off) and the run was failed as lost.
    TakenOver,
}

const NONE: u8 = 0;

impl StopReason {
    fn code(self) -> u8 {
        match self {
            Self::Cancelled => 1,
            Self::PauseExpired => 2,
            Self::TimeLimit => 3,
            Self::ServerStopped => 4,
            Self::TakenOver => 5,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Cancelled),
            2 => Some(Self::PauseExpired),
            3 => Some(Self::TimeLimit),
            4 => Some(Self::ServerStopped),
            5 => Some(Self::TakenOver),
            _ => None,
        }
    }
}

/// A run's stop flag and its running-time budget. The budget pauses while
/// the run waits for a person.
pub struct Interrupt {
    base: Instant,
    /// Nanoseconds after `base` when the budget runs out; `u64::MAX` while paused.
    deadline: AtomicU64,
    reason: AtomicU8,
    /// Budget left when paused.
    remaining: Mutex<Duration>,
    changed: Notify,
}

impl Interrupt {
    pub fn new(budget: Duration) -> Self {
        let base = Instant::now();
        Self {
            base,
            deadline: AtomicU64::new(nanos(budget)),
            reason: AtomicU8::new(NONE),
            remaining: Mutex::new(budget),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        nanos(self.base.elapsed())
    }

    /// First reason wins: a cancel after a timeout is still a timeout.
    pub fn stop(&self, reason: StopReason) {
        let _ =
            self.reason
                .compare_exchange(NONE, reason.code(), Ordering::AcqRel, Ordering::Acquire);
        self.changed.notify_waiters();
    }

    pub fn reason(&self) -> Option<StopReason> {
        StopReason::from_code(self.reason.load(Ordering::Acquire))
    }

    /// Called by QuickJS every few thousand instructions: true stops the script.
    pub fn should_stop(&self) -> bool {
        if self.reason().is_some() {
            return true;
        }
        if self.now() >= self.deadline.load(Ordering::Acquire) {
            self.stop(StopReason::TimeLimit);
            return true;
        }
        false
    }

    /// True while the run waits for a person (its clock stopped).
    pub fn is_paused(&self) -> bool {
        self.deadline.load(Ordering::Acquire) == u64::MAX
    }

    /// Stops the clock while the run waits for a person.
    pub fn pause(&self) {
        let deadline = self.deadline.swap(u64::MAX, Ordering::AcqRel);
        if deadline != u64::MAX {
            let left = Duration::from_nanos(deadline.saturating_sub(self.now()));
            *self.remaining.lock().unwrap_or_else(|e| e.into_inner()) = left;
        }
        self.changed.notify_waiters();
    }

    pub fn resume(&self) {
        let left = *self.remaining.lock().unwrap_or_else(|e| e.into_inner());
        self.deadline
            .store(self.now().saturating_add(nanos(left)), Ordering::Release);
        self.changed.notify_waiters();
    }

    /// Resolves when the run must stop while JavaScript is not running
    /// (awaiting a tool or a timer): on cancel, or when the budget is spent.
    pub async fn stopped(&self) -> StopReason {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(reason) = self.reason() {
                return reason;
            }
            let deadline = self.deadline.load(Ordering::Acquire);
            if deadline == u64::MAX {
                notified.await;
                continue;
            }
            let now = self.now();
            if now >= deadline {
                self.stop(StopReason::TimeLimit);
                continue;
            }
            let _ = tokio::time::timeout(Duration::from_nanos(deadline - now), notified).await;
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_clock_stops_while_paused() {
        let i = Interrupt::new(Duration::from_millis(100));
        i.pause();
        assert!(!i.should_stop());
        i.resume();
        assert_eq!(i.stopped().await, StopReason::TimeLimit);
    }

    #[tokio::test]
    async fn cancel_wakes_a_waiter_and_first_reason_wins() {
        let i = std::sync::Arc::new(Interrupt::new(Duration::from_secs(60)));
        let waiter = tokio::spawn({
            let i = i.clone();
            async move { i.stopped().await }
        });
        tokio::task::yield_now().await;
        i.stop(StopReason::Cancelled);
        i.stop(StopReason::TimeLimit);
        assert_eq!(waiter.await.unwrap(), StopReason::Cancelled);
        assert!(i.should_stop());
    }
}
