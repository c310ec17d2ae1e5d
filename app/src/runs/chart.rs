//! The timeline: stacked bars per status over the window on a round count
//! scale with gridlines, time ticks in the reader's zone, a tooltip that
//! follows the pointer, drag to zoom (sets `from`/`to`), and a double click
//! or "Reset zoom" to go back to the range.

use leptos::either::Either;
use leptos::prelude::*;

use super::chart_scale::{count_scale, time_ticks};
use super::format::{plural, status_label};
use super::zone::Zone;
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

/// A bucket's span in `zone`: `27 Nov 16:00 – 16:15 UTC`.
fn span(b: &ChartBucket, bucket_ms: i64, zone: Zone) -> String {
    let (start, end) = (b.bucket_start, b.bucket_start + bucket_ms);
    let time = |ms: i64| {
        let clock = zone.clock(ms);
        if bucket_ms < 60_000 {
            clock
        } else {
            clock[..5].to_owned()
        }
    };
    if bucket_ms >= 86_400_000 {
        format!("{} – {}", zone.short_date(start), zone.short_date(end))
    } else {
        format!(
            "{} {} – {} {}",
            zone.short_date(start),
            time(start),
            time(end),
            zone.label(start)
        )
    }
}

/// The bucket's counts by status: `failed 3, completed 40`.
fn breakdown(b: &ChartBucket) -> String {
    let parts: Vec<String> = STACK
        .iter()
        .filter(|s| b.counts.get(**s) > 0)
        .map(|s| format!("{} {}", status_label(*s), b.counts.get(*s)))
        .collect();
    parts.join(", ")
}

/// `43 runs`.
fn runs(b: &ChartBucket) -> String {
    plural(usize::try_from(total(b)).unwrap_or(0), "run")
}

/// A bucket in words: `27 Nov 16:00 – 16:15 UTC: 43 runs (failed 3, completed 40)`.
fn describe(b: &ChartBucket, bucket_ms: i64, zone: Zone) -> String {
    if total(b) == 0 {
        return format!("{}: no runs", span(b, bucket_ms, zone));
    }
    format!(
        "{}: {} ({})",
        span(b, bucket_ms, zone),
        runs(b),
        breakdown(b)
    )
}

#[component]
pub fn Timeline() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let first = move || ctx.first();
    view! {
        {move || {
            // Built again when the reader's zone changes (its ticks are in it).
            ctx.zone();
            first().map(|d| match (d.page.meta, d.counts_later) {
                (Some(m), _) => Either::Left(view! { <Bars chart=m.chart/> }),
                (None, later) => {
                    let failed = matches!(later, Some(super::CountsLater::Failed(_)));
                    Either::Right(view! { <Pending failed/> })
                }
            })
        }}
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
                <div class="axis x-axis"></div>
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
    let tallest = chart.buckets.iter().map(total).max().unwrap_or(0);
    let (top, gridlines) = count_scale(tallest);
    let max = top as f64;
    let hover = RwSignal::new(None::<usize>);
    // Read once: the timeline is built again when the zone changes.
    let zone = ctx.fields.with_untracked(|f| f.zone);
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
                    let h = b.counts.get(*s) as f64 / max * HEIGHT;
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
            let label = describe(b, bucket_ms, zone);
            view! {
                <g class="bucket" aria-label=label on:mouseenter=move |_| hover.set(Some(i))>
                    <rect class="hit" x=i as f64 * 10.0 y=0 width=10 height=HEIGHT/>
                    {segments}
                </g>
            }
        })
        .collect_view();
    // The tooltip over the hovered bucket, kept inside the chart's edges.
    let floating = {
        let buckets = chart.buckets.clone();
        move || {
            let i = hover.get()?;
            let b = buckets.get(i)?;
            let center = (i as f64 + 0.5) / n as f64 * 100.0;
            let style = format!("left: clamp(6rem, {center:.2}%, calc(100% - 6rem))");
            // One element of lines (`white-space: pre-line`): the span, the
            // total, the breakdown.
            let text = format!(
                "{}\n{}\n{}",
                span(b, bucket_ms, zone),
                runs(b),
                breakdown(b)
            );
            Some(view! { <div class="chart-tooltip" aria-hidden="true" style=style>{text}</div> })
        }
    };
    let grid = gridlines
        .iter()
        .map(|v| {
            let y = HEIGHT - *v as f64 / max * HEIGHT;
            view! {
                <line class="grid" x1=0 x2=width y1=y y2=y vector-effect="non-scaling-stroke"/>
            }
        })
        .collect_view();
    let y_labels = gridlines
        .iter()
        .map(|v| {
            let style = format!("top: {:.2}%", (1.0 - *v as f64 / max) * 100.0);
            view! { <span style=style>{*v}</span> }
        })
        .collect_view();
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
    let ticks = time_ticks(first, last, zone, 6)
        .into_iter()
        .map(|t| {
            // Slid left by as much of its width as it stands across the
            // window, so the first and last labels stay inside the chart.
            let at = t.at * 100.0;
            let style = format!("left: {at:.2}%; transform: translateX(-{at:.2}%)");
            // The date shows under the time (CSS `::after`).
            view! { <span class="tick" style=style data-date=t.date.unwrap_or_default()>{t.label}</span> }
        })
        .collect_view();
    let zoomed = move || {
        let f = &ctx.view.get().filters;
        f.from.is_some() || f.to.is_some()
    };
    // Back to the preset range: a double click, or the chip.
    let reset = move || {
        let v = ctx.view.get_untracked();
        ctx.navigate(&v.with_range(v.range));
    };
    view! {
        <figure class="timeline" aria-label="Runs over time by status">
            <div class="plot">
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
                on:dblclick=move |_| reset()
            >
                {grid}
                {bars}
                {selection}
            </svg>
            <div class="y-axis" aria-hidden="true">{y_labels}</div>
            {floating}
            </div>
            <figcaption>
                <div class="axis x-axis">{ticks}</div>
                {move || zoomed().then(|| view! {
                    <button class="reset-zoom" on:click=move |_| reset()>"Reset zoom"</button>
                })}
                <p class="tip" role="status">
                    {if empty { "No activity in range" } else { "Drag to zoom · double click to reset" }}
                </p>
            </figcaption>
        </figure>
    }
}
