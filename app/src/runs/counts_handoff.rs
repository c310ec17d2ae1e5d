//! The page never waits long on a view's counts for its rows (issue 11,
//! docs/page.md#pending-counts). The rows come at index speed, but a view
//! only a sample or a full read can count may take longer: past the render
//! budget the page is rendered with its counts pending, and the counts
//! query goes on in a task of its own, parked under a ticket the page holds.
//! The page claims it (`load_counts`) once it has hydrated, and gets what
//! that one query answers instead of asking the database a second time.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::{JoinError, JoinHandle};

/// How long a render waits for its counts by default: the benchmark's
/// target for a 30-day view, so every view within target renders whole.
pub const DEFAULT_RENDER_BUDGET: Duration = Duration::from_millis(150);

/// A parked answer nobody claimed is dropped after this long (its page
/// was closed, or was rendered without JavaScript).
const KEEP: Duration = Duration::from_secs(60);

/// At most this many parked answers: a burst of renders cannot pile up
/// queries; the oldest goes first (its page recounts when it claims).
const MAX_PARKED: usize = 64;

/// What the render got within its budget.
pub enum Counted<T> {
    Ready(T),
    /// Still counting: claim it with this ticket.
    Pending(String),
}

/// The page's counts, or why there are none.
pub type Meta = Result<crate::model::ListMeta, crate::store::StoreError>;

/// The page's render budget and parked counts; one per server.
pub type CountsHandoff = Handoff<Meta>;

/// A budget and the answers that missed it (of any type: the tests park
/// numbers); cheap to clone, every clone shares the parked answers.
pub struct Handoff<T> {
    budget: Duration,
    parked: Arc<Mutex<VecDeque<Parked<T>>>>,
}

impl<T> Clone for Handoff<T> {
    fn clone(&self) -> Self {
        Self {
            budget: self.budget,
            parked: self.parked.clone(),
        }
    }
}

struct Parked<T> {
    /// Whose answer it is (a scope): nobody else can claim it.
    owner: String,
    ticket: String,
    at: Instant,
    task: AbortOnDrop<T>,
}

/// A task that stops when nobody can receive its answer any more: its
/// render was dropped (the client went away), or it expired unclaimed.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T: Send + 'static> Default for Handoff<T> {
    fn default() -> Self {
        Self::new(DEFAULT_RENDER_BUDGET)
    }
}

impl<T: Send + 'static> Handoff<T> {
    /// A zero budget never waits: every page renders its counts pending.
    pub fn new(budget: Duration) -> Self {
        Self {
            budget,
            parked: Arc::default(),
        }
    }

    /// Runs `answer`; answers it if it is done within the budget,
    /// otherwise parks it for `owner` and answers its ticket.
    pub async fn within_budget<F>(&self, owner: &str, answer: F) -> Counted<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut task = AbortOnDrop(tokio::spawn(answer));
        if !self.budget.is_zero() {
            if let Ok(done) = tokio::time::timeout(self.budget, &mut task.0).await {
                if let Some(answer) = joined(done) {
                    return Counted::Ready(answer);
                }
            }
        }
        // Only its owner can claim it, so a ticket needs to be unique, not
        // secret.
        let ticket = uuid::Uuid::now_v7().simple().to_string();
        self.park(owner.to_owned(), ticket.clone(), task);
        Counted::Pending(ticket)
    }

    /// The answer parked for `owner` under `ticket`, once it is done;
    /// `None` if there is no such ticket (expired, parked by another
    /// server, or for another owner: to them it does not exist).
    pub async fn claim(&self, owner: &str, ticket: &str) -> Option<T> {
        let mut task = {
            let mut parked = self.lock();
            let at = parked
                .iter()
                .position(|p| p.ticket == ticket && p.owner == owner)?;
            parked.remove(at)?.task
        };
        joined((&mut task.0).await)
    }

    fn park(&self, owner: String, ticket: String, task: AbortOnDrop<T>) {
        let now = Instant::now();
        let mut parked = self.lock();
        parked.retain(|p| now.duration_since(p.at) < KEEP);
        while parked.len() >= MAX_PARKED {
            parked.pop_front();
        }
        parked.push_back(Parked {
            owner,
            ticket,
            at: now,
            task,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Parked<T>>> {
        // A panic while the lock was held left the queue whole (every
        // change above is one call), so a poisoned lock is still usable.
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A finished task's answer. A panic in it is a panic of the request that
/// waits for it (which answers 500 and logs it, as if it had run inline);
/// a task aborted before it finished has no answer.
fn joined<T>(result: Result<T, JoinError>) -> Option<T> {
    match result {
        Ok(answer) => Some(answer),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn meta_after(delay: Duration, total: usize) -> usize {
        tokio::time::sleep(delay).await;
        total
    }

    #[tokio::test]
    async fn counts_within_budget_are_ready_and_late_ones_are_claimed_once() {
        let handoff = Handoff::new(Duration::from_millis(200));
        let Counted::Ready(ready) = handoff
            .within_budget("acme", meta_after(Duration::ZERO, 1))
            .await
        else {
            panic!("counts that take no time are ready within the budget");
        };
        assert_eq!(ready, 1);

        let started = Instant::now();
        let Counted::Pending(ticket) = handoff
            .within_budget("acme", meta_after(Duration::from_millis(600), 2))
            .await
        else {
            panic!("counts past the budget are pending");
        };
        assert!(started.elapsed() < Duration::from_millis(500));
        assert!(
            handoff.claim("other", &ticket).await.is_none(),
            "another owner's ticket does not exist for them"
        );
        assert_eq!(handoff.claim("acme", &ticket).await, Some(2));
        assert!(
            handoff.claim("acme", &ticket).await.is_none(),
            "a ticket is claimed once"
        );
        assert!(handoff.claim("acme", "no-such-ticket").await.is_none());
    }

    #[tokio::test]
    async fn a_zero_budget_never_waits_and_the_oldest_parked_answer_goes_first() {
        let handoff = Handoff::new(Duration::ZERO);
        let mut tickets = Vec::new();
        for i in 0..=MAX_PARKED {
            match handoff
                .within_budget("acme", meta_after(Duration::ZERO, i))
                .await
            {
                Counted::Pending(ticket) => tickets.push(ticket),
                Counted::Ready(_) => panic!("a zero budget renders every count pending"),
            }
        }
        assert!(
            handoff.claim("acme", &tickets[0]).await.is_none(),
            "evicted"
        );
        assert_eq!(
            handoff.claim("acme", &tickets[MAX_PARKED]).await,
            Some(MAX_PARKED)
        );
    }
}
