//! The timeline: stacked bars per status over the window, counts on hover,
//! drag to zoom (sets `from`/`to`), double click to go back to the range.

use leptos::either::Either;
use leptos::prelude::*;

use super::format::{axis_label, date_time, status_label};
use super::PageCtx;
use crate::model::{Chart, ChartBucket, ExecutionStatus};

/// Bottom to top, as the eye reads trouble first.
const STACK: [ExecutionStatus; 6] = [
    ExecutionStatus::Failed,
    ExecutionStatus::Cancelled,
    ExecutionStatus::WaitingForInteraction,
    ExecutionStatus::Running,
    ExecutionStatus::Pending,
    ExecutionStatus::Completed,
];
const HEIGHT: f64 = 100.0;

fn total(b: &ChartBucket) -> i64 {
    STACK.iter().map(|s| b.counts.get(*s)).sum()
}

fn describe(b: &ChartBucket, bucket_ms: i64) -> String {
    let parts: Vec<String> = STACK
        .iter()
        .filter(|s| b.counts.get(**s) > 0)
        .map(|s| format!("{} {}", status_label(*s), b.counts.get(*s)))
        .collect();
    format!(
        "{} – {}: {}",
        date_time(b.bucket_start),
        axis_label(b.bucket_start + bucket_ms, bucket_ms),
        if parts.is_empty() {
            "no runs".to_owned()
        } else {
            parts.join(", ")
        }
    )
}

#[component]
pub fn Timeline() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let first = move || ctx.first();
    view! {
        {move || first().map(|d| match (d.page.meta, d.counts_later) {
            (Some(m), _) => Either::Left(view! { <Bars chart=m.chart/> }),
            (None, later) => {
                let failed = matches!(later, Some(super::CountsLater::Failed(_)));
                Either::Right(view! { <Pending failed/> })
            }
        })}
    }
}

/// Where the chart goes while the view's counts are pending, as tall as
/// the chart so that nothing moves when it arrives.
#[component]
fn Pending(failed: bool) -> impl IntoView {
    view! {
        <figure class="timeline pending" aria-label="Runs over time by status" aria-busy=(!failed).then_some("true")>
            <svg viewBox=format!("0 0 10 {HEIGHT}") preserveAspectRatio="none" aria-hidden="true"></svg>
            <figcaption>
                <div class="axis"><span>"\u{a0}"</span></div>
                <p class="tip" role="status">
                    {if failed { "Counts unavailable: Refresh to try again" } else { "Counting…" }}
                </p>
            </figcaption>
        </figure>
    }
}

/// Least horizontal travel, in CSS pixels, that makes a press on the chart
/// a drag to zoom rather than a click.
const MIN_DRAG_PX: i32 = 4;

#[component]
fn Bars(chart: Chart) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let n = chart.buckets.len().max(1);
    let width = n as f64 * 10.0;
    let max = chart.buckets.iter().map(total).max().unwrap_or(0).max(1) as f64;
    let hover = RwSignal::new(None::<usize>);
    // Bucket index where a drag started, and where it is now (in the page's
    // context: Esc cancels it).
    let drag = ctx.drag;
    // Where the pointer went down: a click, or a drag shorter than
    // [`MIN_DRAG_PX`], zooms nothing (a double click must reach its handler).
    let down_x = StoredValue::new(0);
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    let bucket_ms = chart.bucket_ms;
    let starts: Vec<i64> = chart.buckets.iter().map(|b| b.bucket_start).collect();
    let index_at = move |client_x: i32| -> usize {
        let Some(svg) = svg_ref.get_untracked() else {
            return 0;
        };
        let rect = svg.get_bounding_client_rect();
        let x = (f64::from(client_x) - rect.left()) / rect.width().max(1.0);
        ((x * n as f64).floor().max(0.0) as usize).min(n - 1)
    };
    let finish = {
        let starts = starts.clone();
        move |up_x: i32| {
            if let Some((a, b)) = drag.get_untracked() {
                drag.set(None);
                if (up_x - down_x.get_value()).abs() < MIN_DRAG_PX {
                    return;
                }
                let (lo, hi) = (a.min(b), a.max(b));
                if let (Some(from), Some(last)) = (starts.get(lo), starts.get(hi)) {
                    ctx.navigate(
                        &ctx.view
                            .get_untracked()
                            .with_window(*from, last + bucket_ms),
                    );
                }
            }
        }
    };
    let finish_up = finish.clone();
    let bars = chart
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut y = HEIGHT;
            let segments = STACK
                .iter()
                .filter(|s| b.counts.get(**s) > 0)
                .map(|s| {
                    let h = b.counts.get(*s) as f64 / max * (HEIGHT - 4.0);
                    y -= h;
                    view! {
                        <rect
                            class=format!("seg status-{}", s.as_str())
                            x=i as f64 * 10.0 + 1.0
                            y=y
                            width=8.0
                            height=h
                        />
                    }
                })
                .collect_view();
            let label = describe(b, bucket_ms);
            view! {
                <g class="bucket" aria-label=label on:mouseenter=move |_| hover.set(Some(i))>
                    <rect class="hit" x=i as f64 * 10.0 y=0 width=10 height=HEIGHT/>
                    {segments}
                </g>
            }
        })
        .collect_view();
    let tooltip = {
        let buckets = chart.buckets.clone();
        move || {
            hover
                .get()
                .and_then(|i| buckets.get(i))
                .map(|b| describe(b, bucket_ms))
        }
    };
    let selection = move || {
        drag.get().map(|(a, b)| {
            let (lo, hi) = (a.min(b), a.max(b));
            view! {
                <rect
                    class="selection"
                    x=lo as f64 * 10.0
                    y=0
                    width=(hi - lo + 1) as f64 * 10.0
                    height=HEIGHT
                />
            }
        })
    };
    let empty = chart.buckets.iter().all(|b| total(b) == 0);
    let first = starts.first().copied().unwrap_or(0);
    let last = starts.last().copied().unwrap_or(0) + bucket_ms;
    let middle = first + (last - first) / 2;
    view! {
        <figure class="timeline" aria-label="Runs over time by status">
            <svg
                node_ref=svg_ref
                viewBox=format!("0 0 {width} {HEIGHT}")
                preserveAspectRatio="none"
                role="img"
                aria-label=format!("{} buckets of {}", n, super::format::duration(bucket_ms))
                on:mousedown=move |ev| {
                    ev.prevent_default();
                    let i = index_at(ev.client_x());
                    down_x.set_value(ev.client_x());
                    drag.set(Some((i, i)));
                }
                on:mousemove=move |ev| {
                    let i = index_at(ev.client_x());
                    hover.set(Some(i));
                    if let Some((a, _)) = drag.get_untracked() {
                        drag.set(Some((a, i)));
                    }
                }
                on:mouseup=move |ev| finish_up(ev.client_x())
                on:mouseleave=move |ev| {
                    hover.set(None);
                    finish(ev.client_x());
                }
                on:dblclick=move |_| {
                    let v = ctx.view.get_untracked();
                    ctx.navigate(&v.with_range(v.range));
                }
            >
                {bars}
                {selection}
            </svg>
            <figcaption>
                <div class="axis">
                    <span>{axis_label(first, bucket_ms)}</span>
                    <span>{axis_label(middle, bucket_ms)}</span>
                    <span>{axis_label(last, bucket_ms)}</span>
                </div>
                <p class="tip" role="status">
                    {move || tooltip().unwrap_or_else(|| if empty { "No activity in range".into() } else { "Drag to zoom · double click to reset".into() })}
                </p>
            </figcaption>
        </figure>
    }
}
