//! Live mode: every 2 s (while the tab is visible) ask for runs newer than
//! the newest shown, put them above the divider without moving what the
//! reader looks at, and refresh unfinished rows in place.

use std::time::Duration;

use leptos::prelude::*;

use super::{poll_runs, query_of, PageCtx};

const EVERY: Duration = Duration::from_secs(2);

pub fn install(ctx: PageCtx) {
    let polling = StoredValue::new(false);
    let tick = move || {
        if !ctx.view.get_untracked().live || polling.get_value() || document().hidden() {
            return;
        }
        let Some(first) = ctx.data.get_untracked().and_then(Result::ok) else {
            return;
        };
        let rows = ctx.rows();
        let after = rows
            .iter()
            .map(|r| r.execution.created_at)
            .max()
            .unwrap_or(first.now_ms)
            .max(
                ctx.live_rows
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
        polling.set_value(true);
        let list = ctx.list_load();
        leptos::task::spawn_local(async move {
            let update = poll_runs(query, after, watch).await;
            if ctx.list_load() != list {
                // The list was replaced meanwhile; its rows are not these.
                polling.set_value(false);
                return;
            }
            match update {
                Ok(update) => {
                    if !update.changed.is_empty() {
                        ctx.changed.update(|m| {
                            for run in update.changed {
                                m.insert(run.execution.id.clone(), run);
                            }
                        });
                    }
                    if !update.new.is_empty() {
                        insert_keeping_scroll(ctx, update.new);
                    }
                }
                Err(e) => leptos::logging::warn!("live poll failed: {e}"),
            }
            polling.set_value(false);
        });
    };
    Effect::new(move |_| {
        let handle = set_interval_with_handle(tick, EVERY).ok();
        on_cleanup(move || {
            if let Some(h) = handle {
                h.clear();
            }
        });
    });
}

/// New rows go on top; if the reader has scrolled, the page moves down by
/// what was added so the rows under their eyes stay put.
fn insert_keeping_scroll(ctx: PageCtx, new: Vec<crate::model::ExecutionEnvelope>) {
    let root = document().document_element();
    let before = root.as_ref().map_or(0, |r| r.scroll_height());
    let scrolled = window().scroll_y().unwrap_or(0.0) > 0.0;
    ctx.live_rows.update(|rows| {
        let known: std::collections::HashSet<String> =
            rows.iter().map(|r| r.execution.id.clone()).collect();
        let mut fresh: Vec<_> = new
            .into_iter()
            .filter(|r| !known.contains(&r.execution.id))
            .collect();
        fresh.append(rows);
        *rows = fresh;
    });
    if scrolled {
        request_animation_frame(move || {
            let after = document()
                .document_element()
                .map_or(before, |r| r.scroll_height());
            window().scroll_by_with_x_and_y(0.0, f64::from(after - before));
        });
    }
}
