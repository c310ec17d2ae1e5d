//! The filter rail: each dimension's values with disjunctive counts; a click
//! toggles a value, "only" keeps just it, Reset clears everything.

use leptos::either::Either;
use leptos::prelude::*;

use super::format::{self, status_label};
use super::{PageCtx, ViewLink};
use crate::model::{ExecutionStatus, ListMeta, Range, RunsView, ToolPathPattern, TriggerFilter};

/// One row of the rail: a toggle link, its count, and "only".
#[component]
fn Facet(
    label: String,
    /// `None` while the view's counts are pending.
    count: Option<i64>,
    /// The count is an estimate.
    #[prop(optional)]
    estimated: bool,
    checked: bool,
    toggle: RunsView,
    only: RunsView,
    #[prop(optional, into)] dot: Option<String>,
) -> impl IntoView {
    let only_label = format!(" {label}");
    // Long tool paths are cut off with an ellipsis: the title holds the
    // whole name.
    let title = label.clone();
    view! {
        <li class="facet" class:checked=checked>
            <ViewLink href=toggle.href() class="toggle".to_owned()>
                <span class="box" aria-hidden="true">{if checked { "☑" } else { "☐" }}</span>
                {dot.map(|d| view! { <span class=format!("dot status-{d}")></span> })}
                <span class="label" title=title>{label}</span>
                {match count {
                    Some(n) => Either::Left(view! { <span class="count">{format::count(n, estimated)}</span> }),
                    None => Either::Right(view! {
                        <span class="count"><span aria-hidden="true">"…"</span><span class="sr-only">" counting"</span></span>
                    }),
                }}
                <span class="sr-only">{if checked { " (selected)" } else { "" }}</span>
            </ViewLink>
            <ViewLink href=only.href() class="only".to_owned()>
                "only"
                <span class="sr-only">{only_label}</span>
            </ViewLink>
        </li>
    }
}

#[component]
pub fn Rail() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    view! {
        <nav class="rail" aria-label="Filters" id="rail">
            <div class="rail-head">
                <h2>"Execution history"</h2>
                {move || (ctx.view.get().is_filtered()).then(|| view! {
                    <ViewLink href=Signal::derive(move || ctx.view.get().reset().href()) class="reset".to_owned()>
                        "Reset"
                    </ViewLink>
                })}
            </div>
            {move || ctx.first().map(|d| view! { <Sections meta=d.page.meta view=ctx.view.get()/> })}
        </nav>
    }
}

/// The rail's sections; with `meta` pending, the values every view has
/// (statuses, elicitation) without counts, and the controls that need none.
#[component]
fn Sections(meta: Option<ListMeta>, view: RunsView) -> impl IntoView {
    let f = &view.filters;
    let estimated = |field: &str| meta.as_ref().is_some_and(|m| m.is_estimated(field));
    let statuses = ExecutionStatus::ALL
        .iter()
        .map(|&s| {
            view! {
                <Facet
                    label=status_label(s).to_owned()
                    count=meta.as_ref().map(|m| m.status_counts.get(s))
                    estimated=estimated("statusCounts")
                    checked=f.statuses.contains(&s)
                    toggle=view.toggle_status(s)
                    only=view.only_status(s)
                    dot=s.as_str().to_owned()
                />
            }
        })
        .collect_view();
    // Pending, the trigger values are not known yet: the selected ones show.
    let trigger_values: Vec<(TriggerFilter, Option<i64>)> = match &meta {
        Some(m) => m
            .trigger_counts
            .iter()
            .map(|t| {
                let filter = match &t.trigger_kind {
                    None => TriggerFilter::Unknown,
                    Some(kind) => TriggerFilter::Kind(kind.clone()),
                };
                (filter, Some(t.count))
            })
            .collect(),
        None => f.triggers.iter().map(|t| (t.clone(), None)).collect(),
    };
    let triggers = trigger_values
        .into_iter()
        .map(|(filter, count)| {
            let label = match &filter {
                TriggerFilter::Unknown => "unknown".to_owned(),
                TriggerFilter::Kind(kind) => kind.clone(),
            };
            view! {
                <Facet
                    label=label
                    count=count
                    estimated=estimated("triggerCounts")
                    checked=f.triggers.contains(&filter)
                    toggle=view.toggle_trigger(filter.clone())
                    only=view.only_trigger(filter)
                />
            }
        })
        .collect_view();
    // Pending, the selected tools show without counts.
    let tool_values: Vec<(ToolPathPattern, Option<i64>)> = match &meta {
        Some(m) => m
            .tool_facets
            .iter()
            .filter_map(|t| Some((ToolPathPattern::parse(&t.tool_path).ok()?, Some(t.count))))
            .collect(),
        None => f.tools.iter().map(|t| (t.clone(), None)).collect(),
    };
    let has_tools = !tool_values.is_empty();
    let tools = tool_values
        .into_iter()
        .map(|(pattern, count)| {
            view! {
                <Facet
                    label=pattern.to_string()
                    count=count
                    estimated=estimated("toolFacets")
                    checked=f.tools.contains(&pattern)
                    toggle=view.toggle_tool(pattern.clone())
                    only=view.only_tool(pattern)
                />
            }
        })
        .collect_view();
    let interactions = [(true, "Used elicitation"), (false, "No elicitation")]
        .into_iter()
        .map(|(value, label)| {
            let count = meta.as_ref().map(|m| {
                if value {
                    m.interaction_counts.with_elicitation
                } else {
                    m.interaction_counts.without_elicitation
                }
            });
            let toggled = view.toggle_elicitation(value);
            view! {
                <Facet
                    label=label.to_owned()
                    count=count
                    estimated=estimated("interactionCounts")
                    checked=f.elicitation == Some(value)
                    toggle=toggled.clone()
                    only=toggled
                />
            }
        })
        .collect_view();
    let window_set = f.from.is_some() || f.to.is_some();
    let ranges = Range::ALL
        .into_iter()
        .map(|r| {
            let current = !window_set && view.range == r;
            view! {
                <li class="range" class:checked=current>
                    <ViewLink href=view.with_range(r).href() class="toggle".to_owned()>
                        <span class="box" aria-hidden="true">{if current { "◉" } else { "○" }}</span>
                        {r.label()}
                    </ViewLink>
                </li>
            }
        })
        .collect_view();
    // The sessions filtered on, each with a link that drops it: a session
    // is chosen from a run's drawer or the command (their counts by
    // session would read every run of the window with one).
    let sessions = f
        .sessions
        .iter()
        .map(|s| {
            let mut without = view.clone();
            without.filters.sessions.retain(|other| other != s);
            let (label, title) = (s.as_str().to_owned(), s.as_str().to_owned());
            view! {
                <li class="facet checked">
                    <ViewLink href=without.href() class="toggle".to_owned()>
                        <span class="box" aria-hidden="true">"☑"</span>
                        <span class="label" title=title>{label}</span>
                    </ViewLink>
                </li>
            }
        })
        .collect_view();
    let code = f.code.clone().unwrap_or_default();
    let hidden: Vec<(&'static str, String)> = view
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| *k != "code" && *k != "executionId")
        .collect();
    view! {
        <section class="rail-section" aria-labelledby="rail-status"><h3 id="rail-status">"Status"</h3><ul>{statuses}</ul></section>
        <section class="rail-section" aria-labelledby="rail-trigger"><h3 id="rail-trigger">"Trigger"</h3><ul>{triggers}</ul></section>
        <section class="rail-section" aria-labelledby="rail-interactions"><h3 id="rail-interactions">"Interactions"</h3><ul>{interactions}</ul></section>
        {has_tools.then(|| view! {
            <section class="rail-section" aria-labelledby="rail-tools"><h3 id="rail-tools">"Tools"</h3><ul>{tools}</ul></section>
        })}
        {(!f.sessions.is_empty()).then(|| view! {
            <section class="rail-section" aria-labelledby="rail-session"><h3 id="rail-session">"Session"</h3><ul>{sessions}</ul></section>
        })}
        <section class="rail-section" aria-labelledby="rail-range">
            <h3 id="rail-range">"Time range"</h3>
            <ul>{ranges}</ul>
            {window_set.then(|| view! { <p class="window">"Custom window from the chart"</p> })}
        </section>
        <section class="rail-section" aria-labelledby="rail-code">
            <h3 id="rail-code">"Code contains"</h3>
            <CodeFilter code hidden/>
        </section>
    }
}

/// A GET form, so it works without JavaScript; with it, submitting
/// replaces the URL like every other control.
#[component]
fn CodeFilter(code: String, hidden: Vec<(&'static str, String)>) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let input = NodeRef::<leptos::html::Input>::new();
    view! {
        <form
            class="code-filter"
            action="/runs"
            method="get"
            on:submit=move |ev| {
                ev.prevent_default();
                let value = input.get().map(|i| i.value()).unwrap_or_default();
                ctx.navigate(&ctx.view.get_untracked().with_code(Some(value)));
            }
        >
            {hidden
                .into_iter()
                .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
                .collect_view()}
            <label class="sr-only" for="code-filter">"Code contains"</label>
            <input id="code-filter" name="code" type="search" value=code node_ref=input placeholder="substring"/>
        </form>
    }
}
