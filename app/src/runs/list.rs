//! The list: rows newest first (or as sorted), more pages as the reader
//! scrolls, live rows above a divider, optional columns.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use super::format::{code_preview, duration, log_counts, now_ms, plural, status_label};
use super::trouble::Call;
use super::zone::{relative, Zone};
use super::{more_runs, query_of, Fields, PageCtx, ViewLink};
use crate::model::{ExecutionEnvelope, Sort, SortDir, SortKey};

const FIELDS_KEY: &str = "runs.fieldVisibility";
/// Where the zone is kept: `utc` or `local`.
const ZONE_KEY: &str = "runs.timeZone";

/// Reads the saved columns and zone once hydrated (the browser's zone unless
/// UTC was chosen), and saves every change.
pub fn load_fields(ctx: PageCtx) {
    Effect::new(move |first: Option<()>| {
        let storage = window().local_storage().ok().flatten();
        let saved = |key: &str| {
            storage
                .as_ref()
                .and_then(|s| s.get_item(key).ok().flatten())
        };
        if first.is_none() {
            let columns = saved(FIELDS_KEY).unwrap_or_default();
            let on = |name: &str| !columns.split(',').any(|f| f == format!("-{name}"));
            ctx.fields.set(Fields {
                via: on("via"),
                tools: on("tools"),
                logs: on("log"),
                duration: on("duration"),
                // Off unless chosen: few runs have an error.
                error: columns.split(',').any(|f| f == "error"),
                zone: match saved(ZONE_KEY).as_deref() {
                    Some("utc") => Zone::Utc,
                    _ => Zone::Local,
                },
            });
        }
        // Read (and so tracked) on every run, the first included: every
        // later change is saved.
        let f = ctx.fields.get();
        let text = [
            ("via", f.via),
            ("tools", f.tools),
            ("log", f.logs),
            ("duration", f.duration),
            ("error", f.error),
        ]
        .iter()
        .map(|(n, on)| if *on { n.to_string() } else { format!("-{n}") })
        .collect::<Vec<_>>()
        .join(",");
        let zone = match f.zone {
            Zone::Utc => "utc",
            Zone::Local => "local",
        };
        if let Some(storage) = storage {
            let _ = storage.set_item(FIELDS_KEY, &text);
            let _ = storage.set_item(ZONE_KEY, zone);
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
                {option("Error", |f| f.error, |f, v| f.error = v)}
                <hr/>
                <label>
                    <input
                        type="checkbox"
                        class="utc-switch"
                        prop:checked=move || ctx.zone() == Zone::Utc
                        on:change=move |ev| ctx.fields.update(|f| f.zone = if event_target_checked(&ev) { Zone::Utc } else { Zone::Local })
                    />
                    "Times in UTC"
                </label>
            </div>
        </details>
    }
}

/// The log cell's `1E 2W` in words, for its title.
fn log_title(errors: usize, warnings: usize) -> Option<String> {
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
    let Some(first) = ctx.data.get_untracked() else {
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
                ctx.succeeded(Call::More);
                ctx.extra.update(|rows| rows.extend(page.executions));
                ctx.next_cursor.set(Some(page.next_cursor));
            }
            Err(e) => {
                ctx.failed(Call::More, &e);
            }
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
            // Nothing has loaded yet, and the last try failed: the banner
            // says why and offers Retry.
            None if ctx.failure.get().is_some() => EitherOf3::A(view! { <p class="loading">"No runs loaded."</p> }),
            // Only when the server's data could not be used: it is on its way.
            None => EitherOf3::B(view! { <p class="loading">"Loading…"</p> }),
            Some(_) => EitherOf3::C(view! {
                <NewRuns/>
                // Hidden columns are hidden by class, so rows carry no
                // per-cell reactivity (cheaper to render and hydrate).
                <table
                    on:mouseover=hover_title
                    class="run-list"
                    class:hide-via=move || !f().via
                    class:hide-tools=move || !f().tools
                    class:hide-log=move || !f().logs
                    class:hide-duration=move || !f().duration
                    class:hide-error=move || !f().error
                >
                    <thead>
                        <tr>
                            <th scope="col" class="col-status">"Status"</th>
                            <SortHeader label="Created" name="created" key=SortKey::CreatedAt/>
                            <th scope="col" class="col-via">"Trigger"</th>
                            <th scope="col" class="col-tools">"Tool calls"</th>
                            <th scope="col" class="col-log">"Logs"</th>
                            <SortHeader label="Duration" name="duration" key=SortKey::DurationMs/>
                            <th scope="col" class="col-error">"Error"</th>
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

/// "3 new runs": live mode's new runs while the list is sorted otherwise
/// than newest first, where they have no place on top; a click reloads the
/// list in its order.
#[component]
fn NewRuns() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    move || {
        let n = ctx.unseen.with(Vec::len);
        (n > 0).then(|| {
            let text = plural(n, "new run");
            view! {
                <button class="new-runs" on:click=move |_| ctx.refresh()>{text}</button>
            }
        })
    }
}

/// A time under the pointer gets how long ago it was before its exact
/// instant as its title, as of now: one listener for the list rather than
/// a ticking title per row.
fn hover_title(ev: leptos::ev::MouseEvent) {
    use wasm_bindgen::JsCast;
    let Some(link) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("a[data-at]").ok().flatten())
    else {
        return;
    };
    let at = link
        .get_attribute("data-at")
        .and_then(|a| a.parse::<i64>().ok());
    let exact = link.get_attribute("title").unwrap_or_default();
    if let Some(at) = at {
        // The exact instant stays at the end: keep it, change the start.
        let exact = exact.rsplit(" · ").next().unwrap_or_default().to_owned();
        let _ = link.set_attribute("title", &format!("{} · {exact}", relative(at, now_ms())));
    }
}

fn rows_view(ctx: PageCtx) -> impl IntoView {
    let sort = ctx.view.get().sort;
    // New runs go above a divider only where newest first is the order.
    let live = ctx.view.get().live && sort == Sort::default();
    let live_count = ctx.live_rows.get().len();
    let rows = ctx.rows();
    let empty = rows.is_empty();
    // In time order, a row opens each day (when the list spans several);
    // other orders show the date in each row instead.
    let zone = ctx.zone();
    let days = sort.key == SortKey::CreatedAt && {
        let mut days = rows.iter().map(|r| zone.day(r.execution.created_at));
        let first = days.next();
        days.any(|d| Some(d) != first)
    };
    let now = ctx.loaded_at();
    let mut out = Vec::new();
    let mut day = None;
    for (i, row) in rows.into_iter().enumerate() {
        if live && i == live_count {
            out.push(EitherOf3::A(note_row("live-divider", "● Live · now")));
        }
        let created = row.execution.created_at;
        if days && day != Some(zone.day(created)) {
            day = Some(zone.day(created));
            out.push(EitherOf3::B(view! {
                <tr class="day-divider"><th colspan="8" scope="rowgroup">{zone.day_label(created, now)}</th></tr>
            }));
        }
        out.push(EitherOf3::C(
            view! { <Row row index=i fresh=live && i < live_count/> },
        ));
    }
    if live && empty {
        out.insert(0, EitherOf3::A(note_row("live-divider", "● Live · now")));
    }
    if empty {
        out.push(EitherOf3::A(note_row("empty", "No runs match.")));
    }
    out
}

/// A full-width row of text: the live divider, "no runs".
fn note_row(class: &'static str, text: &'static str) -> impl IntoView {
    view! { <tr class=class><td colspan="8">{text}</td></tr> }
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
    // An unfinished run shows its time so far, which `tick_elapsed` moves
    // on each second from `data-since`.
    let since = e.started_at.unwrap_or(e.created_at);
    let unfinished = !status.is_terminal();
    let took = match e.duration_ms {
        _ if unfinished => duration((ctx.loaded_at() - since).max(0)),
        Some(ms) => duration(ms),
        None => String::new(),
    };
    let created_at = e.created_at;
    // The time in the reader's zone (the rows are built again when it
    // changes); the date too where no day separator gives it. The exact
    // instant on hover, and how long ago (`hover_title`).
    let zone = ctx.fields.with_untracked(|f| f.zone);
    let shown = if ctx.view.get_untracked().sort.key == SortKey::CreatedAt {
        zone.clock(created_at)
    } else {
        zone.day_and_clock(created_at)
    };
    let preview = code_preview(&e.code);
    // The error's first line, as the list has room for; all of it on hover.
    let error_line = e.error_text.as_deref().and_then(|t| t.lines().next());
    let error_title = error_line.map(str::to_owned);
    let error = error_line.map(code_preview);
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
                <a href=href title=zone.exact(created_at) data-at=created_at.to_string()>
                    <time datetime=super::format::iso(created_at)>{shown}</time>
                </a>
            </td>
            <td class="col-via">{via}</td>
            <td class="col-tools">{tool_count}</td>
            <td class="col-log" title=log_title(errors, warnings)>
                {(errors > 0).then(|| view! { <span class="log-error">{format!("{errors}E")}</span> })}
                {(warnings > 0).then(|| view! { <span class="log-warn">{format!(" {warnings}W")}</span> })}
            </td>
            <td class="col-duration" class:slow=slow class:elapsed=unfinished data-since=since.to_string()>{took}</td>
            <td class="col-error" title=error_title>{error}</td>
            <td class="col-code code">{preview}</td>
        </tr>
    }
}
