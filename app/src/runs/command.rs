//! The filter command (`/`): type filters as text, see bad tokens as errors
//! in place, pick suggestions with counts, Enter applies, Esc closes.

use leptos::prelude::*;

use super::format::now_ms;
use super::PageCtx;
use crate::model::filter_command::{parse, print, suggest};

#[component]
pub fn Command() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let text = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    // Opening starts from the current filters and focuses the input.
    Effect::watch(
        move || ctx.command_open.get(),
        move |open, _, _| {
            if *open {
                let current = print(&ctx.view.get_untracked().filters);
                text.set(if current.is_empty() {
                    current
                } else {
                    format!("{current} ")
                });
                request_animation_frame(move || {
                    if let Some(el) = input.get_untracked() {
                        let _ = el.focus();
                    }
                });
            }
        },
        false,
    );
    let now = move || {
        ctx.data
            .get_untracked()
            .map_or_else(now_ms, |d| d.now_ms.max(now_ms()))
    };
    let parsed = Memo::new(move |_| parse(&text.get(), now()));
    let suggestions = move || {
        let meta = ctx.first().and_then(|d| d.page.meta);
        suggest(&text.get(), meta.as_ref())
    };
    let apply = move || {
        let p = parsed.get_untracked();
        if p.errors.is_empty() {
            ctx.command_open.set(false);
            ctx.navigate(&ctx.view.get_untracked().with_filters(p.filters));
        }
    };
    view! {
        {move || ctx.command_open.get().then(|| view! {
            <div class="command-backdrop" on:click=move |_| ctx.command_open.set(false)></div>
            <div class="command" role="dialog" aria-modal="true" aria-label="Filter command">
                <label class="sr-only" for="filter-command">"Filters"</label>
                <input
                    id="filter-command"
                    type="text"
                    autocomplete="off"
                    spellcheck="false"
                    node_ref=input
                    placeholder="status:failed tool:github.* duration:>500ms after:1h"
                    aria-invalid=move || (!parsed.get().errors.is_empty()).to_string()
                    aria-describedby="command-errors"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                    on:keydown=move |ev| match ev.key().as_str() {
                        "Enter" => {
                            ev.prevent_default();
                            apply();
                        }
                        "Escape" => {
                            ev.prevent_default();
                            ctx.command_open.set(false);
                        }
                        "Tab" => {
                            if let Some(first) = suggestions().into_iter().next() {
                                ev.prevent_default();
                                text.set(first.input);
                            }
                        }
                        _ => {}
                    }
                />
                <ul class="command-errors" id="command-errors" role="alert">
                    {move || parsed.get().errors.into_iter().map(|e| view! {
                        <li class="token-error"><code>{e.token}</code>" "{e.message}</li>
                    }).collect_view()}
                </ul>
                <ul class="suggestions" role="listbox" aria-label="Suggestions">
                    {move || suggestions().into_iter().take(12).map(|s| {
                        let next = s.input.clone();
                        view! {
                            <li role="option">
                                <button
                                    class="suggestion"
                                    on:mousedown=move |ev| {
                                        ev.prevent_default();
                                        text.set(next.clone());
                                        if let Some(el) = input.get_untracked() {
                                            let _ = el.focus();
                                        }
                                    }
                                >
                                    <span>{s.label}</span>
                                    {s.count.map(|c| view! { <span class="count">{c}</span> })}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <p class="hint">"Enter applies · Esc closes · Tab completes"</p>
            </div>
        })}
    }
}
