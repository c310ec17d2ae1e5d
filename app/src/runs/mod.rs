//! The `/runs` page (docs/page.md#url). The URL is the single source of
//! truth: every control computes the next [`RunsView`] and navigates to it;
//! the server renders the same view from the same URL before any WASM runs.

mod api;
mod chart;
mod chart_scale;
mod command;
#[cfg(feature = "ssr")]
mod counts_handoff;
mod drawer;
mod focus;
mod format;
mod keys;
mod list;
mod live;
mod page_state;
mod rail;
mod trouble;
mod zone;

use std::collections::HashMap;

use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use api::backend::RequestScope;
pub use api::{
    answer_run, cancel_run, load_counts, load_run, load_runs, more_runs, poll_runs, rerun_run,
    CountsLater, LiveUpdate, RunDetail, RunsData,
};
#[cfg(feature = "ssr")]
pub use counts_handoff::{CountsHandoff, DEFAULT_RENDER_BUDGET};
pub use format::duration as format_duration;
pub use page_state::{PageState, ELEMENT_ID as PAGE_STATE_ID};

use crate::model::{ExecutionEnvelope, RunsView};
use trouble::{Call, Trouble};

/// How the list shows: its optional columns and the zone of its times;
/// kept in localStorage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields {
    pub via: bool,
    pub tools: bool,
    pub logs: bool,
    pub duration: bool,
    /// The error's first line: off by default.
    pub error: bool,
    /// UTC on the server, the reader's choice once hydrated.
    pub zone: zone::Zone,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            via: true,
            tools: true,
            logs: true,
            duration: true,
            error: false,
            zone: zone::Zone::Utc,
        }
    }
}

/// Data the page loads: `None` until it has arrived, a sentence saying why
/// if loading failed.
pub type Loaded<T> = Option<Result<T, String>>;

/// Everything the page's parts share.
#[derive(Clone, Copy)]
pub struct PageCtx {
    pub view: Memo<RunsView>,
    /// The first page of the list: the last one that loaded, which stays
    /// on screen when a newer one fails (the banner says so). `None` only
    /// until one has loaded in the browser.
    pub data: RwSignal<Option<RunsData>>,
    /// The call that failed last, for the banner.
    pub failure: RwSignal<Option<trouble::Failure>>,
    /// Live mode cannot reach the server (it retries with backoff).
    pub offline: RwSignal<bool>,
    /// Live mode's poller between polls.
    poll: StoredValue<live::PollState>,
    /// The open run.
    pub detail: RwSignal<Loaded<Option<RunDetail>>>,
    /// A newer first page is on its way (the old one stays until then).
    pub loading: RwSignal<bool>,
    /// Pages after the first, loaded by scrolling.
    pub extra: RwSignal<Vec<ExecutionEnvelope>>,
    /// The cursor after `extra`; `None` means "the first page's".
    pub next_cursor: RwSignal<Option<Option<String>>>,
    pub loading_more: RwSignal<bool>,
    /// Runs that arrived in live mode, newest first, above the divider.
    pub live_rows: RwSignal<Vec<ExecutionEnvelope>>,
    /// Runs that arrived in live mode while the list is sorted otherwise
    /// than newest first, newest first: a chip counts them.
    pub unseen: RwSignal<Vec<ExecutionEnvelope>>,
    /// Newer states of listed runs, by id (live mode updates rows in place).
    pub changed: RwSignal<HashMap<String, ExecutionEnvelope>>,
    /// Keyboard selection in the list.
    pub selected: RwSignal<Option<usize>>,
    /// `None` until toggled: the rail shows on wide screens, hides on phones.
    pub rail_open: RwSignal<Option<bool>>,
    /// Whether the screen is wide enough that the rail shows untoggled:
    /// assumed on the server, measured once hydrated.
    pub wide: RwSignal<bool>,
    /// A drag on the chart: the bucket where it started and the one under
    /// the pointer. Esc cancels it.
    pub drag: RwSignal<Option<(usize, usize)>>,
    pub command_open: RwSignal<bool>,
    pub help_open: RwSignal<bool>,
    pub fields: RwSignal<Fields>,
    /// The URL's query string, without `?`: the page's state.
    query: RwSignal<String>,
    /// Counts list loads; an answer to any but the latest is dropped.
    list_loads: StoredValue<u64>,
    detail_loads: StoredValue<u64>,
}

/// How a change of view enters the browser's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A step of its own: Back returns to the view before.
    Push,
    /// In place of the current one: stepping through runs in an open
    /// drawer, where Back should close the drawer, not replay each run.
    Replace,
}

impl PageCtx {
    /// Shows `href` (a `/runs?…` link) as a new history entry, so that
    /// Back returns to the view before; the view follows from the new
    /// query.
    pub fn go(&self, href: String) {
        self.go_as(href, Entry::Push);
    }

    pub fn go_as(&self, href: String, entry: Entry) {
        #[cfg(feature = "hydrate")]
        if let Ok(history) = window().history() {
            // The same view again (a second click on a link) adds no step.
            let same = current_query() == query_of(&href);
            let url = Some(href.as_str());
            let _ = if entry == Entry::Replace || same {
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", url)
            } else {
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", url)
            };
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = entry;
        self.query.set(query_of(&href));
    }

    pub fn navigate(&self, view: &RunsView) {
        self.go(view.href());
    }

    pub fn navigate_as(&self, view: &RunsView, entry: Entry) {
        self.go_as(view.href(), entry);
    }

    /// The zone times are shown in (tracked).
    pub fn zone(&self) -> zone::Zone {
        self.fields.with(|f| f.zone)
    }

    /// When the first page was loaded (the server's clock; 0 before):
    /// what the server rendered with, so hydration meets the same text.
    pub fn loaded_at(&self) -> i64 {
        self.data
            .with_untracked(|d| d.as_ref().map_or(0, |d| d.now_ms))
    }

    /// The first page as loaded, if it has loaded.
    pub fn first(&self) -> Option<RunsData> {
        self.data.get()
    }

    /// Every listed run in display order, with live updates applied.
    pub fn rows(&self) -> Vec<ExecutionEnvelope> {
        let changed = self.changed.get();
        let mut rows = self.live_rows.get();
        if let Some(first) = self.first() {
            rows.extend(first.page.executions);
        }
        rows.extend(self.extra.get());
        for row in &mut rows {
            if let Some(newer) = changed.get(&row.execution.id) {
                *row = newer.clone();
            }
        }
        rows
    }

    /// Shows the rail if it is hidden and hides it if it shows.
    pub fn toggle_rail(&self) {
        self.measure_width();
        let wide = self.wide.get_untracked();
        self.rail_open.update(|open| {
            let shown = open.unwrap_or(wide);
            *open = Some(!shown);
        });
    }

    /// Whether the rail shows (for the Filters button's `aria-expanded`).
    pub fn rail_shown(&self) -> bool {
        self.rail_open.get().unwrap_or_else(|| self.wide.get())
    }

    /// Measures [`Self::wide`] in the browser, at the width where the
    /// stylesheet's phone layout hides the rail.
    pub fn measure_width(&self) {
        let wide = window()
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .is_none_or(|w| w > 700.0);
        self.wide.set(wide);
    }

    /// Loads the list and the open run again; the keyboard selection stays.
    pub fn refresh(&self) {
        let view = self.view.get_untracked();
        self.load_list(list_href(&view), Reload::Same);
        self.load_detail(view.execution_id);
    }

    /// The number the current list load has; `load_more` checks it to drop
    /// pages of a list that was replaced meanwhile.
    pub fn list_load(&self) -> u64 {
        self.list_loads.get_value()
    }

    /// Loads the first page of `href`'s list; what scrolling and live mode
    /// added to the old list goes when the new one arrives.
    fn load_list(self, href: String, reload: Reload) {
        let load = bump(self.list_loads);
        self.loading.set(true);
        leptos::task::spawn_local(async move {
            let data = load_runs(query_of(&href)).await;
            if self.list_loads.get_value() != load {
                return;
            }
            self.loading.set(false);
            let data = match data {
                Ok(data) => data,
                Err(e) => {
                    // The last good list stays; the banner offers Retry.
                    self.failed(Call::List, &e);
                    return;
                }
            };
            self.succeeded(Call::List);
            self.extra.set(Vec::new());
            self.next_cursor.set(None);
            self.live_rows.set(Vec::new());
            self.unseen.set(Vec::new());
            self.changed.set(HashMap::new());
            if reload == Reload::Other {
                self.selected.set(None);
            }
            self.data.set(Some(data));
            self.fill_counts(load);
        });
    }

    /// Asks for the counts the first page came without, if they are still
    /// being counted; they fill in where the page shows them pending.
    fn fill_counts(self, load: u64) {
        let Some(first) = self.data.get_untracked() else {
            return;
        };
        let Some(CountsLater::Pending(ticket)) = first.counts_later else {
            return;
        };
        let query = query_of(&list_href(&self.view.get_untracked()));
        leptos::task::spawn_local(async move {
            let counted = load_counts(query, first.now_ms, ticket).await;
            if self.list_loads.get_value() != load {
                return;
            }
            self.data.update(|data| {
                if let Some(first) = data {
                    match counted {
                        Ok(meta) => {
                            first.page.meta = Some(meta);
                            first.counts_later = None;
                        }
                        Err(e) => {
                            let why = Trouble::of(&e).sentence("Could not count the runs");
                            first.counts_later = Some(CountsLater::Failed(why));
                        }
                    }
                }
            });
        });
    }

    /// Whether `id` is one of the listed runs (not tracked).
    fn rows_untracked_have(&self, id: &str) -> bool {
        let has = |rows: &Vec<ExecutionEnvelope>| rows.iter().any(|r| r.execution.id == id);
        self.live_rows.with_untracked(has)
            || self.extra.with_untracked(has)
            || self
                .data
                .with_untracked(|d| d.as_ref().is_some_and(|d| has(&d.page.executions)))
    }

    fn load_detail(self, id: Option<String>) {
        let load = bump(self.detail_loads);
        let Some(id) = id else {
            self.detail.set(Some(Ok(None)));
            return;
        };
        leptos::task::spawn_local(async move {
            let detail = load_run(id.clone()).await;
            if self.detail_loads.get_value() != load {
                return;
            }
            match detail {
                Ok(detail) => {
                    self.succeeded(Call::Run);
                    if let Some(d) = &detail {
                        // Its row in the list shows the same state.
                        let run = d.run.clone();
                        if self.rows_untracked_have(&run.execution.id) {
                            self.changed.update(|m| {
                                m.insert(run.execution.id.clone(), run);
                            });
                        }
                    }
                    // The same answer again (a run that waits for a person,
                    // followed) changes nothing on screen: an answer being
                    // typed in the drawer stays.
                    let detail = Some(Ok(detail));
                    if self.detail.with_untracked(|d| *d != detail) {
                        self.detail.set(detail);
                    }
                }
                Err(e) => {
                    let trouble = self.failed(Call::Run, &e);
                    // The run on screen stays if it is this one; another
                    // run's details must not stand in for it.
                    let same = self.detail.with_untracked(
                        |d| matches!(d, Some(Ok(Some(d))) if d.run.execution.id == id),
                    );
                    if !same {
                        let why = trouble.sentence(&format!("Could not load run {id}"));
                        self.detail.set(Some(Err(why)));
                    }
                }
            }
        });
    }
}

/// The page's chores by the clock, on one timer: unfinished rows' time so
/// far moves on each second, and an open run that has not finished is
/// loaded again every 2 s until it ends, live mode or not.
fn every_second(ctx: PageCtx) {
    Effect::new(move |_| {
        let ticks = StoredValue::new(0u64);
        let handle = set_interval_with_handle(
            move || {
                tick_elapsed();
                ticks.update_value(|t| *t += 1);
                let open_unfinished = ctx.detail.with_untracked(
                    |d| matches!(d, Some(Ok(Some(d))) if !d.run.execution.status.is_terminal()),
                );
                if open_unfinished && ticks.get_value().is_multiple_of(2) {
                    ctx.load_detail(ctx.view.get_untracked().execution_id);
                }
            },
            std::time::Duration::from_secs(1),
        )
        .ok();
        on_cleanup(move || {
            if let Some(h) = handle {
                h.clear();
            }
        });
    });
}

/// Sets each unfinished row's time so far from its `data-since`. Straight
/// in the document: a ticking signal read by every row cost the page's WASM
/// budget a reactive cell per row, for text nothing else reads.
fn tick_elapsed() {
    let Ok(cells) = document().query_selector_all("td.elapsed[data-since]") else {
        return;
    };
    let now = format::now_ms();
    for cell in (0..cells.length()).filter_map(|i| cells.item(i)) {
        let since = wasm_bindgen::JsCast::dyn_ref::<web_sys::Element>(&cell)
            .and_then(|el| el.get_attribute("data-since"))
            .and_then(|s| s.parse::<i64>().ok());
        if let (Some(since), Some(text)) = (since, cell.first_child()) {
            // The text node Leptos made stays; only its text changes.
            text.set_node_value(Some(&format::duration((now - since).max(0))));
        }
    }
}

/// Which list a load brings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reload {
    /// Another list (the filters changed): the selection goes.
    Other,
    /// The same list again (Refresh).
    Same,
}

fn bump(counter: StoredValue<u64>) -> u64 {
    counter.update_value(|n| *n += 1);
    counter.get_value()
}

/// The query string of a `/runs…` href.
/// Back and Forward: the URL is the view, so a step through history shows
/// the view its URL names.
fn follow_history(ctx: PageCtx) {
    let _history = window_event_listener(leptos::ev::popstate, move |_| {
        ctx.query.set(current_query());
    });
}

/// The browser's URL query, without `?` (in the browser only).
fn current_query() -> String {
    let search = window().location().search().unwrap_or_default();
    search.trim_start_matches('?').to_owned()
}

pub(crate) fn query_of(href: &str) -> String {
    href.split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default()
}

/// What the list depends on: everything but the open run and live mode.
pub(crate) fn list_href(view: &RunsView) -> String {
    view.with_execution(None).with_live(false).href()
}

/// The query string the page was rendered for, the data it was rendered
/// with, and the URL's query string if that is another one. In the browser
/// the URL is the truth, but hydration must first see what the server
/// rendered (a browser should never show a page for another query; if one
/// does, the page then moves to its URL).
fn initial_state() -> (String, Option<PageState>, Option<String>) {
    #[cfg(feature = "hydrate")]
    {
        let url = window().location().search().unwrap_or_default();
        let url = url.trim_start_matches('?').to_owned();
        match PageState::from_page() {
            Some(state) => {
                let moved = (state.query != url).then_some(url);
                (state.query.clone(), Some(state), moved)
            }
            None => (url, None, None),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let state = use_context::<PageState>();
        let query = state.as_ref().map(|s| s.query.clone()).unwrap_or_default();
        (query, state, None)
    }
}

#[component]
pub fn RunsPage() -> impl IntoView {
    let (initial_query, state, moved) = initial_state();
    let loaded = state.is_some();
    let scope = state.as_ref().and_then(|s| s.scope.clone());
    // What the server could not load shows as a failure, as it would
    // have in the browser.
    let (data, failure, detail) = match state {
        Some(s) => {
            let (data, failure) = match s.data {
                Ok(data) => (Some(data), None),
                Err(message) => (
                    None,
                    Some(trouble::Failure {
                        call: Call::List,
                        trouble: Trouble::Server(message),
                    }),
                ),
            };
            let detail = s
                .detail
                .map_err(|message| Trouble::Server(message).sentence("Could not load the run"));
            (data, failure, Some(detail))
        }
        None => (None, None, None),
    };
    let query = RwSignal::new(initial_query);
    let view = Memo::new(move |_| RunsView::from_query(&query.get()).0);
    let ctx = PageCtx {
        view,
        data: RwSignal::new(data),
        failure: RwSignal::new(failure),
        offline: RwSignal::new(false),
        poll: StoredValue::new(live::PollState::default()),
        detail: RwSignal::new(detail),
        loading: RwSignal::new(false),
        extra: RwSignal::new(Vec::new()),
        next_cursor: RwSignal::new(None),
        loading_more: RwSignal::new(false),
        live_rows: RwSignal::new(Vec::new()),
        unseen: RwSignal::new(Vec::new()),
        changed: RwSignal::new(HashMap::new()),
        selected: RwSignal::new(None),
        rail_open: RwSignal::new(None),
        wide: RwSignal::new(true),
        drag: RwSignal::new(None),
        command_open: RwSignal::new(false),
        help_open: RwSignal::new(false),
        fields: RwSignal::new(Fields::default()),
        query,
        list_loads: StoredValue::new(0),
        detail_loads: StoredValue::new(0),
    };
    provide_context(ctx);
    // Effects run only in the browser: load when the list or the open run
    // changes (and at once if the server's data was not usable).
    let list = Memo::new(move |_| list_href(&view.get()));
    let open_id = Memo::new(move |_| view.get().execution_id);
    Effect::watch(
        move || list.get(),
        move |href, _, _| ctx.load_list(href.clone(), Reload::Other),
        !loaded,
    );
    Effect::watch(
        move || open_id.get(),
        move |id, _, _| ctx.load_detail(id.clone()),
        !loaded,
    );
    if let Some(url) = moved {
        Effect::new(move |_| query.set(url.clone()));
    } else if loaded {
        // The server's page may have come with its counts pending.
        Effect::new(move |_| ctx.fill_counts(ctx.list_load()));
    }
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser, so this marks a hydrated page.
    Effect::new(move |_| hydrated.set(true));
    Effect::new(move |_| ctx.measure_width());
    keys::install(ctx);
    focus::install();
    let help_open = Memo::new(move |_| ctx.help_open.get());
    focus::follow(help_open, ".help", focus::Opening::FirstControl);
    let command_open = Memo::new(move |_| ctx.command_open.get());
    focus::follow(command_open, ".command", focus::Opening::FirstControl);
    follow_history(ctx);
    every_second(ctx);
    live::install(ctx);
    list::load_fields(ctx);

    view! {
        <main
            class="runs"
            class:rail-closed=move || ctx.rail_open.get() == Some(false)
            class:rail-opened=move || ctx.rail_open.get() == Some(true)
            aria-busy=move || ctx.loading.get().then_some("true")
            data-hydrated=move || hydrated.get().then_some("true")
        >
            // While a new view loads, the old one stays on screen, dimmed,
            // under this bar.
            <div class="progress" role="progressbar" aria-label="Loading" hidden=move || !ctx.loading.get()></div>
            <TopBar scope/>
            <div class="body">
                <rail::Rail/>
                <section class="main" aria-label="Runs">
                    <chart::Timeline/>
                    <list::RunList/>
                </section>
            </div>
            <drawer::Drawer/>
            <command::Command/>
            <keys::Help/>
        </main>
    }
}

/// `scope`: the signed-in scope, shown with "Log out" (a plain form: it
/// works without JavaScript), on a server that requires tokens.
#[component]
fn TopBar(scope: Option<String>) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let counts = move || {
        let first = ctx.first()?;
        let loaded =
            ctx.live_rows.get().len() + first.page.executions.len() + ctx.extra.get().len();
        Some(match (&first.page.meta, &first.counts_later) {
            (Some(m), _) => format!(
                "{loaded} loaded · {} matching · {} total",
                format::count(m.filter_row_count, m.is_estimated("filterRowCount")),
                m.total_row_count
            ),
            (None, Some(CountsLater::Failed(_))) => format!("{loaded} loaded · counts unavailable"),
            (None, _) => format!("{loaded} loaded · counting…"),
        })
    };
    let counts_title = move || match ctx.first()?.counts_later? {
        CountsLater::Failed(why) => Some(why),
        CountsLater::Pending(_) => None,
    };
    let counting = move || {
        ctx.first()
            .is_some_and(|d| matches!(d.counts_later, Some(CountsLater::Pending(_))))
    };
    let problems = move || ctx.first().map(|d| d.problems).unwrap_or_default();
    view! {
        <header class="topbar">
            <h1>"Runs"</h1>
            <button
                class="toggle-rail"
                aria-controls="rail"
                aria-expanded=move || ctx.rail_shown().to_string()
                aria-keyshortcuts="b"
                on:click=move |_| ctx.toggle_rail()
            >
                "Filters"
            </button>
            <button
                class="open-command"
                aria-keyshortcuts="/"
                on:click=move |_| ctx.command_open.set(true)
            >
                <span class="filter-summary">
                    {move || {
                        let text = crate::model::filter_command::print(&ctx.view.get().filters);
                        if text.is_empty() { "Filter runs…".to_owned() } else { text }
                    }}
                </span>
                <kbd>"/"</kbd>
            </button>
            <a
                class="live-toggle"
                class:on=move || ctx.view.get().live
                class:offline=move || ctx.view.get().live && ctx.offline.get()
                aria-pressed=move || ctx.view.get().live.to_string()
                href=move || { let v = ctx.view.get(); v.with_live(!v.live).href() }
                on:click=move |ev| {
                    ev.prevent_default();
                    let v = ctx.view.get();
                    ctx.navigate(&v.with_live(!v.live));
                }
            >
                {move || match (ctx.view.get().live, ctx.offline.get()) {
                    (true, true) => "○ Offline",
                    (true, false) => "● Live",
                    (false, _) => "Live",
                }}
            </a>
            <button class="refresh" aria-keyshortcuts="r" on:click=move |_| ctx.refresh()>
                "Refresh"
            </button>
            <list::ViewOptions/>
            <span class="counts" class:pending=counting aria-busy=move || counting().then_some("true") title=counts_title>
                {counts}
            </span>
            {move || (!problems().is_empty()).then(|| view! {
                <p class="problems" role="status">
                    "Ignored in the URL: " {move || problems().join("; ")}
                </p>
            })}
            {scope.map(|scope| view! {
                <form class="account" method="post" action="/logout">
                    <span class="scope" title="Scope">{scope}</span>
                    <button type="submit">"Log out"</button>
                </form>
            })}
            // In the sticky bar, so it stays in sight while the list scrolls.
            <trouble::Banner/>
        </header>
    }
}

/// A link that changes the view: a plain link without JavaScript, a URL
/// replacement with it.
#[component]
pub fn ViewLink<C: IntoView + 'static>(
    #[prop(into)] href: Signal<String>,
    #[prop(optional, into)] class: String,
    children: TypedChildren<C>,
) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    view! {
        <a
            class=class
            href=move || href.get()
            on:click=move |ev| {
                ev.prevent_default();
                ctx.go(href.get_untracked());
            }
        >
            {children.into_inner()()}
        </a>
    }
}
