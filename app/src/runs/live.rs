//! Live mode: every 2 s (while the tab is visible) ask for runs newer than
//! the newest shown, put them above the divider without moving what the
//! reader looks at, and refresh unfinished rows in place. While the server
//! cannot be reached, live mode says "Offline" and polls less often (2, 4,
//! 8, 16, then every 30 s) until it answers again.

use std::time::Duration;

use leptos::prelude::*;

use super::format::now_ms;
use super::trouble::Call;
use super::{poll_runs, query_of, PageCtx};
use crate::model::{ExecutionEnvelope, Sort};

const EVERY: Duration = Duration::from_secs(2);
const LONGEST_WAIT_MS: f64 = 30_000.0;

/// How long to wait after `failures` failed polls in a row before the next.
fn backoff_ms(failures: u32) -> f64 {
    let doubled = EVERY.as_millis() as f64 * 2f64.powi(failures.saturating_sub(1).min(16) as i32);
    doubled.min(LONGEST_WAIT_MS)
}

/// The poller's state between ticks; one per page (`PageCtx::poll`).
#[derive(Clone, Copy, Default)]
pub struct PollState {
    in_flight: bool,
    /// Failed polls in a row.
    failures: u32,
    /// No poll before this instant (epoch ms), after failures.
    not_before: f64,
    /// Polls so far: every fifth counts the view again even when nothing
    /// changed, so that its window moves on with the clock.
    polls: u32,
    /// The last poll found new or changed runs: the next one counts again.
    recount: bool,
}

impl PageCtx {
    fn poller(&self) -> PollState {
        self.poll.get_value()
    }

    fn update_poller(&self, f: impl FnOnce(&mut PollState)) {
        self.poll.update_value(f);
    }
}

/// Polls at once, whatever the backoff (Retry in the banner).
pub fn poll_now(ctx: PageCtx) {
    ctx.update_poller(|p| p.not_before = 0.0);
    tick(ctx);
}

pub fn install(ctx: PageCtx) {
    Effect::new(move |_| {
        // Live mode turned off: nothing is offline any more.
        if !ctx.view.get().live {
            ctx.offline.set(false);
            ctx.update_poller(|p| {
                p.failures = 0;
                p.not_before = 0.0;
            });
            ctx.succeeded(Call::Live);
        }
    });
    Effect::new(move |_| {
        let handle = set_interval_with_handle(move || tick(ctx), EVERY).ok();
        on_cleanup(move || {
            if let Some(h) = handle {
                h.clear();
            }
        });
    });
}

fn tick(ctx: PageCtx) {
    let state = ctx.poller();
    if !ctx.view.get_untracked().live
        || state.in_flight
        || document().hidden()
        || (now_ms() as f64) < state.not_before
    {
        return;
    }
    let Some(first) = ctx.data.get_untracked() else {
        return;
    };
    let rows = ctx.rows();
    // Newest first, the newest listed run is the newest the page has;
    // in another order the first page holds older runs too, and every
    // run there was when the list was loaded is in it, page by page.
    let newest_first = ctx.view.get_untracked().sort == Sort::default();
    let listed_newest = if newest_first {
        rows.iter().map(|r| r.execution.created_at).max()
    } else {
        None
    };
    let after = listed_newest
        .unwrap_or(first.now_ms)
        .max(
            ctx.live_rows
                .get_untracked()
                .first()
                .map_or(0, |r| r.execution.created_at),
        )
        .max(
            ctx.unseen
                .get_untracked()
                .first()
                .map_or(0, |r| r.execution.created_at),
        );
    let watch: String = rows
        .iter()
        .filter(|r| !r.execution.status.is_terminal())
        .map(|r| r.execution.id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let query = query_of(&super::list_href(&ctx.view.get_untracked()));
    ctx.update_poller(|p| {
        p.in_flight = true;
        p.polls = p.polls.wrapping_add(1);
    });
    let with_meta = state.recount || ctx.poller().polls.is_multiple_of(5);
    let list = ctx.list_load();
    leptos::task::spawn_local(async move {
        let update = poll_runs(query, after, watch, with_meta).await;
        if ctx.list_load() != list {
            // The list was replaced meanwhile; its rows are not these.
            ctx.update_poller(|p| p.in_flight = false);
            return;
        }
        match update {
            Ok(update) => {
                ctx.update_poller(|p| {
                    p.failures = 0;
                    p.not_before = 0.0;
                    p.recount = !update.new.is_empty() || !update.changed.is_empty();
                });
                ctx.offline.set(false);
                ctx.succeeded(Call::Live);
                if let Some(meta) = update.meta {
                    ctx.data.update(|data| {
                        if let Some(first) = data {
                            first.page.meta = Some(meta);
                            first.counts_later = None;
                        }
                    });
                }
                if !update.changed.is_empty() {
                    ctx.changed.update(|m| {
                        for run in update.changed {
                            m.insert(run.execution.id.clone(), run);
                        }
                    });
                }
                // The sort is the one polled for: another list would have
                // been dropped above.
                match (update.new.is_empty(), newest_first) {
                    (true, _) => {}
                    (false, true) => insert_keeping_scroll(ctx, update.new),
                    // Newest first is not this list's order: the new
                    // runs wait behind a chip that reloads the list.
                    (false, false) => add_unseen(ctx, update.new),
                }
            }
            Err(e) => {
                ctx.update_poller(|p| {
                    p.failures = p.failures.saturating_add(1);
                    p.not_before = now_ms() as f64 + backoff_ms(p.failures);
                });
                ctx.offline.set(true);
                ctx.failed(Call::Live, &e);
            }
        }
        ctx.update_poller(|p| p.in_flight = false);
    });
}

fn add_unseen(ctx: PageCtx, new: Vec<ExecutionEnvelope>) {
    ctx.unseen.update(|unseen| put_on_top(unseen, new));
}

/// `new` (newest first) before `rows`, leaving out the runs already there.
fn put_on_top(rows: &mut Vec<ExecutionEnvelope>, new: Vec<ExecutionEnvelope>) {
    let known: std::collections::HashSet<String> =
        rows.iter().map(|r| r.execution.id.clone()).collect();
    let mut fresh: Vec<_> = new
        .into_iter()
        .filter(|r| !known.contains(&r.execution.id))
        .collect();
    fresh.append(rows);
    *rows = fresh;
}

/// New rows go on top; if the reader has scrolled, the page moves down by
/// what was added so the rows under their eyes stay put.
fn insert_keeping_scroll(ctx: PageCtx, new: Vec<ExecutionEnvelope>) {
    let root = document().document_element();
    let before = root.as_ref().map_or(0, |r| r.scroll_height());
    let scrolled = window().scroll_y().unwrap_or(0.0) > 0.0;
    ctx.live_rows.update(|rows| put_on_top(rows, new));
    if scrolled {
        request_animation_frame(move || {
            let after = document()
                .document_element()
                .map_or(before, |r| r.scroll_height());
            window().scroll_by_with_x_and_y(0.0, f64::from(after - before));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn polls_back_off_by_doubling_up_to_thirty_seconds() {
        let waits: Vec<f64> = (1..=7).map(backoff_ms).collect();
        assert_eq!(
            waits,
            [2_000.0, 4_000.0, 8_000.0, 16_000.0, 30_000.0, 30_000.0, 30_000.0]
        );
        assert_eq!(backoff_ms(u32::MAX), 30_000.0);
    }
}
