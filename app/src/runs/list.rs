//! The list: rows newest first (or as sorted), more pages as the reader
//! scrolls, live rows above a divider, optional columns.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use super::format::{clock, code_preview, duration, log_counts, status_label};
use super::{more_runs, query_of, Fields, PageCtx, ViewLink};
use crate::model::{ExecutionEnvelope, Sort, SortDir, SortKey};

const FIELDS_KEY: &str = "runs.fieldVisibility";

/// Reads the saved column choice once hydrated, and saves every change.
pub fn load_fields(ctx: PageCtx) {
    Effect::new(move |first: Option<()>| {
        let storage = window().local_storage().ok().flatten();
        if first.is_none() {
            if let Some(saved) = storage
                .as_ref()
                .and_then(|s| s.get_item(FIELDS_KEY).ok().flatten())
            {
                let on = |name: &str| !saved.split(',').any(|f| f == format!("-{name}"));
                ctx.fields.set(Fields {
                    via: on("via"),
                    tools: on("tools"),
                    logs: on("log"),
                    duration: on("duration"),
                });
            }
        }
        let f = ctx.fields.get();
        let text = [
            ("via", f.via),
            ("tools", f.tools),
            ("log", f.logs),
            ("duration", f.duration),
        ]
        .iter()
        .map(|(n, on)| if *on { n.to_string() } else { format!("-{n}") })
        .collect::<Vec<_>>()
        .join(",");
        if let Some(storage) = storage {
            let _ = storage.set_item(FIELDS_KEY, &text);
        }
    });
}

#[component]
pub fn ViewOptions() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let option =
        move |label: &'static str, get: fn(&Fields) -> bool, set: fn(&mut Fields, bool)| {
            view! {
                <label>
                    <input
                        type="checkbox"
                        prop:checked=move || get(&ctx.fields.get())
                        on:change=move |ev| ctx.fields.update(|f| set(f, event_target_checked(&ev)))
                    />
                    {label}
                </label>
            }
        };
    view! {
        <details class="view-options">
            <summary>"View"</summary>
            <div class="menu">
                {option("Trigger", |f| f.via, |f, v| f.via = v)}
                {option("Tool calls", |f| f.tools, |f, v| f.tools = v)}
                {option("Logs", |f| f.logs, |f, v| f.logs = v)}
                {option("Duration", |f| f.duration, |f, v| f.duration = v)}
            </div>
        </details>
    }
}

/// The log cell's `1E 2W` in words, for its title.
fn log_title(errors: usize, warnings: usize) -> Option<String> {
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    match (errors, warnings) {
        (0, 0) => None,
        (e, 0) => Some(plural(e, "error")),
        (0, w) => Some(plural(w, "warning")),
        (e, w) => Some(format!("{}, {}", plural(e, "error"), plural(w, "warning"))),
    }
}

/// Next sort when a header is clicked: desc → asc → back to the default.
fn cycle(current: Sort, key: SortKey) -> Sort {
    match (current.key == key, current.dir) {
        (false, _) => Sort {
            key,
            dir: SortDir::Desc,
        },
        (true, SortDir::Desc) => Sort {
            key,
            dir: SortDir::Asc,
        },
        (true, SortDir::Asc) => Sort::default(),
    }
}

#[component]
fn SortHeader(label: &'static str, name: &'static str, key: SortKey) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let state = move || {
        let s = ctx.view.get().sort;
        match (s.key == key, s.dir) {
            (false, _) => "none",
            (true, SortDir::Desc) => "descending",
            (true, SortDir::Asc) => "ascending",
        }
    };
    let arrow = move || match state() {
        "descending" => " ↓",
        "ascending" => " ↑",
        _ => "",
    };
    view! {
        <th scope="col" aria-sort=state class=format!("sort sort-{name}")>
            <ViewLink href=Signal::derive(move || {
                let v = ctx.view.get();
                v.with_sort(cycle(v.sort, key)).href()
            })>
                {label}{arrow}
            </ViewLink>
        </th>
    }
}

/// Loads the next page, once at a time.
pub fn load_more(ctx: PageCtx) {
    // While a new list loads, the shown one has no next page worth having.
    if ctx.loading_more.get_untracked() || ctx.loading.get_untracked() {
        return;
    }
    let Some(first) = ctx.data.get_untracked().and_then(Result::ok) else {
        return;
    };
    let cursor = match ctx.next_cursor.get_untracked() {
        None => first.page.next_cursor.clone(),
        Some(c) => c,
    };
    let Some(cursor) = cursor else { return };
    ctx.loading_more.set(true);
    let query = query_of(&super::list_href(&ctx.view.get_untracked()));
    let list = ctx.list_load();
    leptos::task::spawn_local(async move {
        let page = more_runs(query, first.now_ms, cursor).await;
        if ctx.list_load() != list {
            // The list was replaced (or refreshed) meanwhile.
            ctx.loading_more.set(false);
            return;
        }
        match page {
            Ok(page) => {
                ctx.extra.update(|rows| rows.extend(page.executions));
                ctx.next_cursor.set(Some(page.next_cursor));
            }
            Err(e) => leptos::logging::warn!("loading more runs failed: {e}"),
        }
        ctx.loading_more.set(false);
    });
}

#[component]
pub fn RunList() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    // Near the bottom, fetch the next page.
    let _scroll = window_event_listener(leptos::ev::scroll, move |_| {
        let w = window();
        let (Ok(y), Ok(h)) = (w.scroll_y(), w.inner_height()) else {
            return;
        };
        let height = document()
            .document_element()
            .map_or(0.0, |e| f64::from(e.scroll_height()));
        if y + h.as_f64().unwrap_or(0.0) >= height - 200.0 {
            load_more(ctx);
        }
    });
    let has_more = move || match ctx.next_cursor.get() {
        None => ctx.first().is_some_and(|d| d.page.next_cursor.is_some()),
        Some(c) => c.is_some(),
    };
    let f = move || ctx.fields.get();
    view! {
        {move || match ctx.data.get() {
            Some(Err(e)) => EitherOf3::A(view! { <p class="error" role="alert">{e.to_string()}</p> }),
            // Only when the server's data could not be used: it is on its way.
            None => EitherOf3::B(view! { <p class="loading">"Loading…"</p> }),
            Some(Ok(_)) => EitherOf3::C(view! {
                // Hidden columns are hidden by class, so rows carry no
                // per-cell reactivity (cheaper to render and hydrate).
                <table
                    class="run-list"
                    class:hide-via=move || !f().via
                    class:hide-tools=move || !f().tools
                    class:hide-log=move || !f().logs
                    class:hide-duration=move || !f().duration
                >
                    <thead>
                        <tr>
                            <th scope="col" class="col-status">"Status"</th>
                            <SortHeader label="Created" name="created" key=SortKey::CreatedAt/>
                            <th scope="col" class="col-via">"Trigger"</th>
                            <th scope="col" class="col-tools">"Tool calls"</th>
                            <th scope="col" class="col-log">"Logs"</th>
                            <SortHeader label="Duration" name="duration" key=SortKey::DurationMs/>
                            <th scope="col" class="col-code">"Code"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || rows_view(ctx)}
                    </tbody>
                </table>
                {move || if has_more() {
                    Either::Left(view! {
                        <button class="more" on:click=move |_| load_more(ctx) disabled=move || ctx.loading_more.get()>
                            {move || if ctx.loading_more.get() { "Loading…" } else { "Load more" }}
                        </button>
                    })
                } else {
                    Either::Right(view! { <p class="end">"End of history"</p> })
                }}
            }),
        }}
    }
}

fn rows_view(ctx: PageCtx) -> impl IntoView {
    let live = ctx.view.get().live;
    let live_count = ctx.live_rows.get().len();
    let rows = ctx.rows();
    let empty = rows.is_empty();
    let mut out = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        if live && i == live_count {
            out.push(Either::Left(note_row("live-divider", "● Live · now")));
        }
        out.push(Either::Right(
            view! { <Row row index=i fresh=live && i < live_count/> },
        ));
    }
    if live && empty {
        out.insert(0, Either::Left(note_row("live-divider", "● Live · now")));
    }
    if empty {
        out.push(Either::Left(note_row("empty", "No runs match.")));
    }
    out
}

/// A full-width row of text: the live divider, "no runs".
fn note_row(class: &'static str, text: &'static str) -> impl IntoView {
    view! { <tr class=class><td colspan="7">{text}</td></tr> }
}

#[component]
fn Row(row: ExecutionEnvelope, index: usize, fresh: bool) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let e = row.execution;
    let status = e.status;
    let id = e.id.clone();
    let href = ctx
        .view
        .get_untracked()
        .with_execution(Some(id.clone()))
        .href();
    let click_href = href.clone();
    let (errors, warnings) = log_counts(e.logs_json.as_deref());
    let slow = e.duration_ms.is_some_and(|d| d > 5_000);
    let via = e.trigger_kind.clone().unwrap_or_else(|| "unknown".into());
    let tool_count = e.tool_call_count;
    let took = e.duration_ms.map(duration);
    let created_at = e.created_at;
    let preview = code_preview(&e.code);
    let open = {
        let id = id.clone();
        move || ctx.view.get().execution_id.as_deref() == Some(id.as_str())
    };
    view! {
        <tr
            class="run"
            class:fresh=fresh
            class:selected=move || ctx.selected.get() == Some(index)
            class:open=open
            data-id=id.clone()
            data-status=status.as_str()
            on:click=move |ev| {
                ev.prevent_default();
                ctx.selected.set(Some(index));
                ctx.go(click_href.clone());
            }
        >
            <td class="col-status">
                <span class=format!("dot status-{}", status.as_str()) class:pulse=!status.is_terminal()></span>
                {status_label(status)}
            </td>
            <td class="col-time">
                <a href=href title=super::format::date_time(created_at)>
                    <time datetime=super::format::iso(created_at)>{clock(created_at)}</time>
                </a>
            </td>
            <td class="col-via">{via}</td>
            <td class="col-tools">{tool_count}</td>
            <td class="col-log" title=log_title(errors, warnings)>
                {(errors > 0).then(|| view! { <span class="log-error">{format!("{errors}E")}</span> })}
                {(warnings > 0).then(|| view! { <span class="log-warn">{format!(" {warnings}W")}</span> })}
            </td>
            <td class="col-duration" class:slow=slow>{took}</td>
            <td class="col-code code">{preview}</td>
        </tr>
    }
}
