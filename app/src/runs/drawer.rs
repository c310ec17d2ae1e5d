//! The drawer: one run in full — properties, code, result, error, logs, the
//! tool-call waterfall, the pending interaction as a form to answer, Rerun,
//! Cancel, copy JSON, previous/next.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use super::focus::{self, Opening};
use super::format::{duration, pretty_json, status_label};
use super::trouble::Trouble;
use super::{answer_run, cancel_run, rerun_run, PageCtx, RunDetail, ViewLink};
use crate::model::{Execution, ExecutionStatus, Interaction, InteractionStatus, ToolCall};

/// Opens the run `step` places away from the open one in the list (the
/// first listed run when the open one is not listed).
pub fn step(ctx: PageCtx, step: isize) {
    let view = ctx.view.get_untracked();
    let rows = ctx.rows();
    let Some(open) = view.execution_id.as_deref() else {
        return;
    };
    // A run the list does not show (opened from the rows a new filter was
    // replacing, or from a shared link): stepping starts at the first row.
    let next = match rows.iter().position(|r| r.execution.id == open) {
        Some(at) => at as isize + step,
        None => 0,
    };
    if let Some(row) = usize::try_from(next).ok().and_then(|i| rows.get(i)) {
        ctx.selected.set(Some(next as usize));
        ctx.navigate_as(
            &view.with_execution(Some(row.execution.id.clone())),
            super::Entry::Replace,
        );
    }
}

#[component]
pub fn Drawer() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    // One reactive boundary: the drawer exists exactly while a run is
    // loaded. It takes focus when it opens (not when it steps to another
    // run) and gives it back when it closes.
    let open = Memo::new(move |_| {
        ctx.view.with(|v| v.execution_id.is_some()) && ctx.detail.with(Option::is_some)
    });
    focus::follow(open, ".drawer", Opening::Itself);
    view! {
        {move || {
            let open = ctx.view.get().execution_id;
            // Its times are in the reader's zone: a change builds it again.
            ctx.zone();
            ctx.detail.get().and_then(|d| {
                let body = match (d, open) {
                    (_, None) => return None,
                    (Ok(Some(detail)), _) => EitherOf3::A(view! { <Detail detail/> }),
                    (Ok(None), Some(id)) => EitherOf3::B(view! {
                        <Header id json=String::new()/>
                        <p class="error">"No such run."</p>
                    }),
                    (Err(e), _) => EitherOf3::C(view! { <p class="error" role="alert">{e}</p> }),
                };
                Some(view! { <aside class="drawer" role="dialog" aria-label="Run details" tabindex="-1">{body}</aside> })
            })
        }}
    }
}

#[component]
fn Header(id: String, json: String) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let copied = RwSignal::new(false);
    let close = Signal::derive(move || ctx.view.get().with_execution(None).href());
    view! {
        <header class="drawer-head">
            <code class="run-id">{id}</code>
            <button class="prev" aria-keyshortcuts="ArrowUp" on:click=move |_| step(ctx, -1)>"↑ Prev"</button>
            <button class="next" aria-keyshortcuts="ArrowDown" on:click=move |_| step(ctx, 1)>"↓ Next"</button>
            <button
                class="copy"
                on:click=move |_| {
                    let clipboard = window().navigator().clipboard();
                    let _ = clipboard.write_text(&json);
                    copied.set(true);
                }
            >
                {move || if copied.get() { "Copied" } else { "Copy JSON" }}
            </button>
            <ViewLink href=close class="close".to_owned()>
                "Close" <span class="sr-only">" details (Esc)"</span>
            </ViewLink>
        </header>
    }
}

/// The run as JSON with its JSON-in-JSON fields parsed, for copying.
fn run_json(detail: &RunDetail) -> String {
    let e = &detail.run.execution;
    let parse = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(t.as_bytes()).ok())
    };
    let mut value = serde_json::to_value(e).unwrap_or_default();
    value["result"] = parse(&e.result_json).unwrap_or_default();
    value["logs"] = parse(&e.logs_json).unwrap_or_default();
    value["toolCalls"] = serde_json::to_value(&detail.tool_calls).unwrap_or_default();
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[component]
fn Detail(detail: RunDetail) -> impl IntoView {
    let json = run_json(&detail);
    let RunDetail {
        run,
        tool_calls,
        interactions,
    } = detail;
    let e = run.execution;
    let pending = run.pending_interaction;
    let logs = super::format::log_lines(e.logs_json.as_deref());
    view! {
        <Header id=e.id.clone() json/>
        <div class="drawer-body">
            <Actions execution=e.clone()/>
            <Properties execution=e.clone()/>
            {pending.map(|i| view! { <PendingForm interaction=i/> })}
            <h3>"Code"</h3>
            <pre class="code-block"><code>{e.code.clone()}</code></pre>
            {e.result_json.clone().map(|r| view! {
                <h3>"Result"</h3>
                <pre class="result">{pretty_json(&r)}</pre>
            })}
            {e.error_text.clone().map(|t| view! {
                <h3>"Error"</h3>
                <pre class="error-text">{t}</pre>
            })}
            <Waterfall execution=e.clone() calls=tool_calls/>
            <h3>{format!("Logs · {}", logs.len())}</h3>
            <ol class="logs">
                {logs.into_iter().map(|line| {
                    let level = ["error", "warn", "info"]
                        .into_iter()
                        .find(|l| line.starts_with(&format!("[{l}]")))
                        .unwrap_or("log");
                    view! { <li class=format!("log-{level}")>{line}</li> }
                }).collect_view()}
            </ol>
            <History interactions/>
        </div>
    }
}

#[component]
fn Actions(execution: Execution) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let busy = RwSignal::new(false);
    // Rerun answers once the new run has started; until then it says so.
    let starting = RwSignal::new(false);
    // Cancel asks first: it cannot be undone.
    let confirming = RwSignal::new(false);
    let message = RwSignal::new(None::<String>);
    let id = execution.id.clone();
    let active = !execution.status.is_terminal();
    let rerun = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            busy.set(true);
            starting.set(true);
            leptos::task::spawn_local(async move {
                match rerun_run(id).await {
                    Ok(r) => {
                        ctx.refresh();
                        ctx.navigate(
                            &ctx.view
                                .get_untracked()
                                .with_execution(Some(r.execution_id)),
                        );
                    }
                    Err(e) => message.set(Some(Trouble::of(&e).sentence("Could not rerun"))),
                }
                starting.set(false);
                busy.set(false);
            });
        }
    };
    let cancel = move |_| {
        let id = id.clone();
        confirming.set(false);
        busy.set(true);
        leptos::task::spawn_local(async move {
            if let Err(e) = cancel_run(id).await {
                message.set(Some(Trouble::of(&e).sentence("Could not cancel")));
            }
            ctx.refresh();
            busy.set(false);
        });
    };
    view! {
        <div class="actions">
            <button
                class="rerun"
                on:click=rerun
                disabled=move || busy.get()
                aria-busy=move || starting.get().to_string()
            >
                {move || if starting.get() { "Starting…" } else { "Rerun" }}
            </button>
            {active.then_some(move || {
                if confirming.get() {
                    Either::Left(view! {
                        <span class="confirm-cancel" role="group" aria-label="Cancel this run?">
                            "Cancel this run? "
                            <button class="yes" on:click=cancel.clone()>"Yes, cancel"</button>
                            <button class="no" on:click=move |_| confirming.set(false)>
                                "Keep running"
                            </button>
                        </span>
                    })
                } else {
                    Either::Right(view! {
                        <button
                            class="cancel-run"
                            on:click=move |_| confirming.set(true)
                            disabled=move || busy.get()
                        >
                            "Cancel run"
                        </button>
                    })
                }
            })}
            {move || message.get().map(|m| view! { <span class="error" role="alert">{m}</span> })}
        </div>
    }
}

#[component]
fn Properties(execution: Execution) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let e = execution;
    // Times in the reader's zone (the drawer is built again when it changes).
    let zone = ctx.fields.with_untracked(|f| f.zone);
    let at = |ms: i64| zone.exact(ms);
    let rows: Vec<(&str, String)> = vec![
        ("status", status_label(e.status).to_owned()),
        (
            "duration",
            e.duration_ms.map(duration).unwrap_or_else(|| "—".into()),
        ),
        ("created", at(e.created_at)),
        (
            "started",
            e.started_at.map(at).unwrap_or_else(|| "—".into()),
        ),
        (
            "completed",
            e.completed_at.map(at).unwrap_or_else(|| "—".into()),
        ),
        (
            "via",
            e.trigger_kind.clone().unwrap_or_else(|| "unknown".into()),
        ),
        (
            "trigger meta",
            e.trigger_meta_json.clone().unwrap_or_else(|| "—".into()),
        ),
        ("tool calls", e.tool_call_count.to_string()),
        (
            "asked a person",
            if e.had_elicitation { "yes" } else { "no" }.into(),
        ),
    ];
    // The session, with a link to all its runs (whenever they ran).
    let session = e
        .session_id
        .as_deref()
        .and_then(|s| crate::model::SessionId::parse(s).ok())
        .map(|id| {
            let mut all = crate::model::RunsView {
                range: crate::model::Range::All,
                ..Default::default()
            };
            all.filters.sessions = vec![id.clone()];
            let href = all.href();
            let go = href.clone();
            view! {
                <dt>"session"</dt>
                <dd class="prop-session">
                    {String::from(id)}" · "
                    <a href=href on:click=move |ev| { ev.prevent_default(); ctx.go(go.clone()); }>"runs of this session"</a>
                </dd>
            }
        });
    view! {
        <dl class="properties">
            {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd class=format!("prop-{}", k.replace(' ', "-"))>{v}</dd> }).collect_view()}
            {session}
        </dl>
    }
}

#[component]
fn Waterfall(execution: Execution, calls: Vec<ToolCall>) -> impl IntoView {
    let t0 = execution
        .started_at
        .or_else(|| calls.first().map(|c| c.started_at))
        .unwrap_or(execution.created_at);
    let t1 = calls
        .iter()
        .map(|c| c.completed_at.unwrap_or(c.started_at))
        .chain(execution.completed_at)
        .max()
        .unwrap_or(t0)
        .max(t0 + 1);
    let span = (t1 - t0) as f64;
    let count = calls.len();
    // A call still open while its run waits for a person is the one waiting
    // on them (for approval, say), not one that is running.
    let open_label = if execution.status == ExecutionStatus::WaitingForInteraction {
        "waiting"
    } else {
        "running"
    };
    view! {
        <h3>{format!("Tool calls · {count}")}</h3>
        <ol class="waterfall">
            {calls.into_iter().map(|c| {
                let left = (c.started_at - t0) as f64 / span * 100.0;
                let width = (c.duration_ms.unwrap_or(0) as f64 / span * 100.0).max(0.75).min(100.0 - left.min(99.25));
                let status = c.status.as_str();
                view! {
                    <li class=format!("call call-{status}")>
                        <details>
                            <summary>
                                <span class="lane">
                                    <span class=format!("bar status-{status}") style=format!("left:{left:.2}%;width:{width:.2}%")></span>
                                </span>
                                <span class="path">{c.tool_path.clone()}</span>
                                <span class="ms">{c.duration_ms.map(duration).unwrap_or_else(|| open_label.into())}</span>
                            </summary>
                            {c.args_json.clone().map(|a| view! { <h4>"args"</h4><pre>{pretty_json(&a)}</pre> })}
                            {c.result_json.clone().map(|r| view! { <h4>"result"</h4><pre>{pretty_json(&r)}</pre> })}
                            {c.error_text.clone().map(|t| view! { <h4>"error"</h4><pre class="error-text">{t}</pre> })}
                        </details>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[component]
fn PendingForm(interaction: Interaction) -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    let payload: serde_json::Value = interaction
        .payload_json
        .as_deref()
        .and_then(|p| serde_json::from_slice(p.as_bytes()).ok())
        .unwrap_or_default();
    let url = payload
        .get("url")
        .and_then(|u| u.as_str())
        .map(str::to_owned);
    let schema = payload
        .get("requestedSchema")
        .map(|s| serde_json::to_string_pretty(s).unwrap_or_default());
    let content = RwSignal::new("{}".to_owned());
    let busy = RwSignal::new(false);
    let message = RwSignal::new(None::<String>);
    let execution_id = interaction.execution_id.clone();
    let is_form = interaction.kind == "form";
    let answer = move |action: &'static str| {
        let id = execution_id.clone();
        let body = is_form.then(|| content.get_untracked());
        busy.set(true);
        leptos::task::spawn_local(async move {
            match answer_run(id, action.to_owned(), body).await {
                Ok(_) => {
                    message.set(None);
                    ctx.refresh();
                }
                Err(e) => message.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let (accept, decline, cancel) = (answer.clone(), answer.clone(), answer);
    view! {
        <section class="pending" aria-label="Waiting for an answer">
            <h3>"Waiting for an answer"</h3>
            <p class="purpose">{interaction.purpose.clone()}</p>
            {url.map(|u| {
                let text = u.clone();
                view! { <p><a href=u target="_blank" rel="noopener">{text}</a></p> }
            })}
            {schema.map(|s| view! {
                <details><summary>"Requested schema"</summary><pre>{s}</pre></details>
            })}
            {is_form.then(|| view! {
                <label for="answer-content">"Answer (JSON)"</label>
                <textarea
                    id="answer-content"
                    rows="3"
                    prop:value=move || content.get()
                    on:input=move |ev| content.set(event_target_value(&ev))
                ></textarea>
            })}
            <div class="answer-buttons">
                <button class="accept" on:click=move |_| accept("accept") disabled=move || busy.get()>"Accept"</button>
                <button class="decline" on:click=move |_| decline("decline") disabled=move || busy.get()>"Decline"</button>
                <button class="cancel" on:click=move |_| cancel("cancel") disabled=move || busy.get()>"Cancel"</button>
            </div>
            {move || message.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </section>
    }
}

#[component]
fn History(interactions: Vec<Interaction>) -> impl IntoView {
    let answered: Vec<Interaction> = interactions
        .into_iter()
        .filter(|i| i.status != InteractionStatus::Pending)
        .collect();
    (!answered.is_empty()).then(|| {
        view! {
            <h3>"Interactions"</h3>
            <ul class="interactions">
                {answered.into_iter().map(|i| view! {
                    <li>
                        <span class="kind">{i.kind}</span>" "
                        <span class="purpose">{i.purpose}</span>" — "
                        <span class="status">{i.status.as_str()}</span>" "
                        <code>{i.response_json}</code>
                    </li>
                }).collect_view()}
            </ul>
        }
    })
}
