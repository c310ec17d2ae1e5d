//! The `/runs` page (product.md section 6). The URL is the single source of
//! truth: every control computes the next [`RunsView`] and navigates to it;
//! the server renders the same view from the same URL before any WASM runs.

mod api;
mod chart;
mod command;
mod drawer;
mod format;
mod keys;
mod list;
mod live;
mod rail;

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

pub use api::{
    answer_run, cancel_run, load_run, load_runs, more_runs, poll_runs, rerun_run, LiveUpdate,
    RunDetail, RunsData,
};

use crate::model::{ExecutionEnvelope, RunsView};

/// Which optional columns the list shows; kept in localStorage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields {
    pub via: bool,
    pub tools: bool,
    pub logs: bool,
    pub duration: bool,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            via: true,
            tools: true,
            logs: true,
            duration: true,
        }
    }
}

/// Everything the page's parts share.
#[derive(Clone, Copy)]
pub struct PageCtx {
    pub view: Memo<RunsView>,
    pub data: Resource<Result<RunsData, ServerFnError>>,
    pub detail: Resource<Result<Option<RunDetail>, ServerFnError>>,
    /// Pages after the first, loaded by scrolling.
    pub extra: RwSignal<Vec<ExecutionEnvelope>>,
    /// The cursor after `extra`; `None` means "the first page's".
    pub next_cursor: RwSignal<Option<Option<String>>>,
    pub loading_more: RwSignal<bool>,
    /// Runs that arrived in live mode, newest first, above the divider.
    pub live_rows: RwSignal<Vec<ExecutionEnvelope>>,
    /// Newer states of listed runs, by id (live mode updates rows in place).
    pub changed: RwSignal<HashMap<String, ExecutionEnvelope>>,
    /// Keyboard selection in the list.
    pub selected: RwSignal<Option<usize>>,
    /// `None` until toggled: the rail shows on wide screens, hides on phones.
    pub rail_open: RwSignal<Option<bool>>,
    pub command_open: RwSignal<bool>,
    pub help_open: RwSignal<bool>,
    pub fields: RwSignal<Fields>,
    /// Replaces the URL (filters never pile up in history).
    pub go: Callback<String>,
}

impl PageCtx {
    pub fn navigate(&self, view: &RunsView) {
        self.go.run(view.href());
    }

    /// The first page as loaded, if it has loaded.
    pub fn first(&self) -> Option<RunsData> {
        self.data.get().and_then(Result::ok)
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
        let wide = window()
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .is_some_and(|w| w > 700.0);
        self.rail_open.update(|open| {
            let shown = open.unwrap_or(wide);
            *open = Some(!shown);
        });
    }

    pub fn refresh(&self) {
        self.live_rows.set(Vec::new());
        self.changed.set(HashMap::new());
        self.extra.set(Vec::new());
        self.next_cursor.set(None);
        self.data.refetch();
        self.detail.refetch();
    }
}

/// The query string of a `/runs…` href.
pub(crate) fn query_of(href: &str) -> String {
    href.split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default()
}

/// What the list depends on: everything but the open run and live mode.
pub(crate) fn list_href(view: &RunsView) -> String {
    view.with_execution(None).with_live(false).href()
}

#[component]
pub fn RunsPage() -> impl IntoView {
    let location = use_location();
    let view = Memo::new(move |_| RunsView::from_query(&location.search.get()).0);
    // The list depends on everything but the open run.
    let list_href = Memo::new(move |_| list_href(&view.get()));
    let data = Resource::new(move || list_href.get(), |href| load_runs(query_of(&href)));
    let open_id = Memo::new(move |_| view.get().execution_id);
    let detail = Resource::new(
        move || open_id.get(),
        |id| async move {
            match id {
                Some(id) => load_run(id).await,
                None => Ok(None),
            }
        },
    );
    let navigate = use_navigate();
    let go = Callback::new(move |href: String| {
        navigate(
            &href,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..NavigateOptions::default()
            },
        )
    });
    let ctx = PageCtx {
        view,
        data,
        detail,
        extra: RwSignal::new(Vec::new()),
        next_cursor: RwSignal::new(None),
        loading_more: RwSignal::new(false),
        live_rows: RwSignal::new(Vec::new()),
        changed: RwSignal::new(HashMap::new()),
        selected: RwSignal::new(None),
        rail_open: RwSignal::new(None),
        command_open: RwSignal::new(false),
        help_open: RwSignal::new(false),
        fields: RwSignal::new(Fields::default()),
        go,
    };
    provide_context(ctx);
    // A new list forgets what scrolling and live mode added to the old one.
    Effect::watch(
        move || list_href.get(),
        move |_, _, _| {
            ctx.extra.set(Vec::new());
            ctx.next_cursor.set(None);
            ctx.live_rows.set(Vec::new());
            ctx.changed.set(HashMap::new());
            ctx.selected.set(None);
        },
        false,
    );
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser, so this marks a hydrated page.
    Effect::new(move |_| hydrated.set(true));
    keys::install(ctx);
    live::install(ctx);
    list::load_fields(ctx);

    view! {
        <main
            class="runs"
            class:rail-closed=move || ctx.rail_open.get() == Some(false)
            class:rail-opened=move || ctx.rail_open.get() == Some(true)
            data-hydrated=move || hydrated.get().then_some("true")
        >
            // One boundary around everything that reads the list, so the
            // server waits for it and hydration finds what it rendered.
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                <TopBar/>
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
            </Transition>
        </main>
    }
}

#[component]
fn TopBar() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let counts = move || {
        ctx.first().and_then(|d| d.page.meta).map(|m| {
            let loaded = ctx.live_rows.get().len()
                + ctx.first().map_or(0, |d| d.page.executions.len())
                + ctx.extra.get().len();
            format!(
                "{loaded} loaded · {} matching · {} total",
                m.filter_row_count, m.total_row_count
            )
        })
    };
    let problems = move || ctx.first().map(|d| d.problems).unwrap_or_default();
    view! {
        <header class="topbar">
            <h1>"Runs"</h1>
            <button
                class="toggle-rail"
                aria-controls="rail"
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
                aria-pressed=move || ctx.view.get().live.to_string()
                href=move || { let v = ctx.view.get(); v.with_live(!v.live).href() }
                on:click=move |ev| {
                    ev.prevent_default();
                    let v = ctx.view.get();
                    ctx.navigate(&v.with_live(!v.live));
                }
            >
                {move || if ctx.view.get().live { "● Live" } else { "Live" }}
            </a>
            <button class="refresh" aria-keyshortcuts="r" on:click=move |_| ctx.refresh()>
                "Refresh"
            </button>
            <list::ViewOptions/>
            <span class="counts">{counts}</span>
            <Show when=move || !problems().is_empty()>
                <p class="problems" role="status">
                    "Ignored in the URL: " {move || problems().join("; ")}
                </p>
            </Show>
        </header>
    }
}

/// A link that changes the view: a plain link without JavaScript, a URL
/// replacement with it.
#[component]
pub fn ViewLink(
    #[prop(into)] href: Signal<String>,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    view! {
        <a
            class=class
            href=move || href.get()
            on:click=move |ev| {
                ev.prevent_default();
                ctx.go.run(href.get_untracked());
            }
        >
            {children()}
        </a>
    }
}
