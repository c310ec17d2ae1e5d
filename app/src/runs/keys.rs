//! Keyboard shortcuts and the `?` overlay that lists them.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{drawer, PageCtx};

pub const SHORTCUTS: [(&str, &str); 9] = [
    ("/", "Open the filter command"),
    ("j", "Live mode on or off"),
    ("r", "Refresh"),
    ("b", "Show or hide the filter rail"),
    (
        "↑ / ↓",
        "Select the previous / next run (in the drawer: open it)",
    ),
    ("Enter", "Open the selected run"),
    (
        "Esc",
        "Cancel a drag; close this help, the command or the drawer",
    ),
    ("?", "Show this help"),
    (
        "drag on the chart",
        "Zoom to the selected span (double click: back)",
    ),
];

fn target(ev: &web_sys::KeyboardEvent) -> Option<web_sys::Element> {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
}

fn typing(ev: &web_sys::KeyboardEvent) -> bool {
    target(ev).is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

/// Focus is on a control with keys of its own (a link, a button, a
/// disclosure): Enter and the arrows are its, not the list's.
fn in_control(ev: &web_sys::KeyboardEvent) -> bool {
    target(ev).is_some_and(|el| matches!(el.tag_name().as_str(), "A" | "BUTTON" | "SUMMARY"))
}

/// The event comes from the filter command, which closes itself on Esc.
fn in_command(ev: &web_sys::KeyboardEvent) -> bool {
    target(ev).is_some_and(|el| el.closest(".command").ok().flatten().is_some())
}

/// Brings the selected row into view, once it is drawn selected.
fn reveal_selection() {
    request_animation_frame(|| {
        if let Ok(Some(row)) = document().query_selector("tr.run.selected") {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Nearest);
            row.scroll_into_view_with_scroll_into_view_options(&options);
        }
    });
}

pub fn install(ctx: PageCtx) {
    let _keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let key = ev.key();
        if key == "Escape" {
            // One Esc closes one layer: the command's own handler has
            // closed it already.
            if ev.default_prevented() || in_command(&ev) {
                return;
            }
            if ctx.drag.get_untracked().is_some() {
                ctx.drag.set(None);
            } else if ctx.help_open.get_untracked() {
                ctx.help_open.set(false);
            } else if ctx.command_open.get_untracked() {
                ctx.command_open.set(false);
            } else if ctx.view.get_untracked().execution_id.is_some() {
                ctx.navigate(&ctx.view.get_untracked().with_execution(None));
            }
            return;
        }
        if typing(&ev) || ctx.command_open.get_untracked() {
            return;
        }
        if in_control(&ev) && matches!(key.as_str(), "ArrowDown" | "ArrowUp" | "Enter") {
            return;
        }
        let drawer_open = ctx.view.get_untracked().execution_id.is_some();
        match key.as_str() {
            "/" => {
                ev.prevent_default();
                ctx.command_open.set(true);
            }
            "?" => ctx.help_open.update(|h| *h = !*h),
            "j" => {
                let v = ctx.view.get_untracked();
                ctx.navigate(&v.with_live(!v.live));
            }
            "r" => ctx.refresh(),
            "b" => ctx.toggle_rail(),
            "ArrowDown" | "ArrowUp" => {
                ev.prevent_default();
                let delta = if key == "ArrowDown" { 1 } else { -1 };
                if drawer_open {
                    drawer::step(ctx, delta);
                } else {
                    let count = ctx.rows().len();
                    if count > 0 {
                        let next = match ctx.selected.get_untracked() {
                            None => 0,
                            Some(i) => (i as isize + delta).clamp(0, count as isize - 1) as usize,
                        };
                        ctx.selected.set(Some(next));
                        reveal_selection();
                        // At the last row, the next page comes.
                        if next + 1 >= count {
                            super::list::load_more(ctx);
                        }
                    }
                }
            }
            "Enter" => {
                if let Some(row) = ctx
                    .selected
                    .get_untracked()
                    .and_then(|i| ctx.rows().get(i).cloned())
                {
                    ctx.navigate(
                        &ctx.view
                            .get_untracked()
                            .with_execution(Some(row.execution.id)),
                    );
                }
            }
            _ => {}
        }
    });
}

#[component]
pub fn Help() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    view! {
        {move || ctx.help_open.get().then(|| view! {
            <div class="help" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts">
                <h2>"Keyboard shortcuts"</h2>
                <dl>
                    {SHORTCUTS.iter().map(|(k, what)| view! { <dt><kbd>{*k}</kbd></dt><dd>{*what}</dd> }).collect_view()}
                </dl>
                <button on:click=move |_| ctx.help_open.set(false)>"Close"</button>
            </div>
        })}
    }
}
