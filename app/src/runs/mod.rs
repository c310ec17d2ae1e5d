//! The `/runs` page. For now: the first page of runs as a table, rendered on
//! the server, with a refresh button that only works once hydrated.

mod api;

pub use api::list_runs;

use leptos::prelude::*;

use crate::model::{format_utc, ExecutionEnvelope, ListPage};

#[component]
pub fn RunsPage() -> impl IntoView {
    let refreshes = RwSignal::new(0u32);
    let page = Resource::new(move || refreshes.get(), |_| list_runs());
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser, so this marks a hydrated page.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <main class="runs" data-hydrated=move || hydrated.get().then_some("true")>
            <header class="topbar">
                <h1>"Runs"</h1>
                <button
                    class="refresh"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                    disabled=move || !hydrated.get()
                >
                    "Refresh"
                </button>
                <span class="refresh-count">{move || format!("refreshed {}×", refreshes.get())}</span>
            </header>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    page.get()
                        .map(|result| match result {
                            Ok(page) => view! { <RunsTable page/> }.into_any(),
                            Err(err) => view! { <p class="error">{err.to_string()}</p> }.into_any(),
                        })
                }}
            </Transition>
        </main>
    }
}

#[component]
fn RunsTable(page: ListPage) -> impl IntoView {
    let counts = page.meta.as_ref().map(|m| {
        format!(
            "{} loaded · {} matching · {} total",
            page.executions.len(),
            m.filter_row_count,
            m.total_row_count
        )
    });
    view! {
        <p class="counts">{counts}</p>
        <table class="run-list">
            <thead>
                <tr>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Created (UTC)"</th>
                    <th scope="col">"Trigger"</th>
                    <th scope="col">"Tools"</th>
                    <th scope="col">"Duration"</th>
                    <th scope="col">"Code"</th>
                </tr>
            </thead>
            <tbody>
                {page.executions.into_iter().map(|row| view! { <RunRow row/> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RunRow(row: ExecutionEnvelope) -> impl IntoView {
    let e = row.execution;
    let status = e.status.as_str();
    let code: String = e
        .code
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(160)
        .collect();
    view! {
        <tr class="run" data-id=e.id.clone() data-status=status>
            <td><span class=format!("dot status-{status}")></span>{status}</td>
            <td><time datetime=e.created_at.to_string()>{format_utc(e.created_at)}</time></td>
            <td>{e.trigger_kind.unwrap_or_else(|| "unknown".into())}</td>
            <td>{e.tool_call_count}</td>
            <td>{e.duration_ms.map(|d| format!("{d} ms"))}</td>
            <td class="code">{code}</td>
        </tr>
    }
}
