//! One run's JavaScript in its own QuickJS runtime: no modules, no file,
//! network or process access; memory, stack, time, result and log limits.
//! The code reaches the outside only through the `tools` proxy, which calls
//! back into the [`ToolHost`].

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rquickjs::prelude::{Async, Func};
use rquickjs::{AsyncContext, AsyncRuntime, CatchResultExt, CaughtError, Ctx, Promise};

use super::config::{Limits, MIB};
use super::interrupt::{Interrupt, StopReason};
use super::tools::LocalFuture;

const PRELUDE: &str = include_str!("prelude.js");
/// Longest error text kept; a thrown 100 MB string must not become a row.
const MAX_ERROR_CHARS: usize = 16 * 1024;
/// Longest single `setTimeout` delay honoured.
const MAX_TIMER: Duration = Duration::from_secs(24 * 3600);

/// The side of the sandbox that performs tool calls.
pub trait ToolHost {
    /// `args` is the JSON text of the argument (`None` when there was none).
    /// Resolves to the result's JSON text or the tool's error message.
    fn invoke(&self, path: String, args: Option<String>) -> LocalFuture<Result<String, String>>;
}

/// Log lines of a run, capped in total size.
#[derive(Debug, Default)]
pub struct Logs {
    lines: Vec<String>,
    bytes: usize,
    limit: usize,
    overflowed: bool,
}

impl Logs {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    fn push(&mut self, level: &str, text: &str) {
        let line = format!("[{level}] {text}");
        if self.bytes + line.len() > self.limit {
            self.overflowed = true;
            return;
        }
        self.bytes += line.len();
        self.lines.push(line);
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}

/// Why a run's code did not produce a result. `Display` is the run's `error_text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// The code threw, or did not parse; the text is what JavaScript said.
    #[error("{0}")]
    Thrown(String),
    #[error("time limit exceeded: the run used more than {} ms", .0.as_millis())]
    TimeLimit(Duration),
    #[error("memory limit exceeded: the run used more than {} MiB", .0 / MIB)]
    MemoryLimit(usize),
    #[error("stack limit exceeded: the run nested calls deeper than {} KiB of stack allows", .0 / 1024)]
    StackLimit(usize),
    #[error("result too large: {bytes} bytes of JSON, the limit is {limit} bytes")]
    ResultTooLarge { bytes: usize, limit: usize },
    #[error("logs too large: the run logged more than {0} bytes")]
    LogsTooLarge(usize),
    #[error("cancelled")]
    Cancelled,
    #[error("cancelled: nobody answered the interaction in time")]
    PauseExpired,
    #[error("{}", super::INTERRUPTED_BY_STOP)]
    ServerStopped,
    #[error("{}", super::INTERRUPTED_BY_LOSS)]
    ServerLost,
    #[error("sandbox failure: {0}")]
    Internal(String),
}

/// Runs `code` to completion (or to a limit). `Ok` holds the result as JSON
/// text, `None` when the code returned nothing.
pub async fn run(
    code: &str,
    limits: &Limits,
    interrupt: Arc<Interrupt>,
    host: Rc<dyn ToolHost>,
    logs: Rc<RefCell<Logs>>,
) -> Result<Option<String>, SandboxError> {
    let internal = |e: rquickjs::Error| SandboxError::Internal(e.to_string());
    let rt = AsyncRuntime::new().map_err(internal)?;
    rt.set_memory_limit(limits.memory_bytes).await;
    rt.set_max_stack_size(limits.stack_bytes).await;
    let flag = interrupt.clone();
    rt.set_interrupt_handler(Some(Box::new(move || flag.should_stop())))
        .await;
    let ctx = AsyncContext::full(&rt).await.map_err(internal)?;

    // One line, so line numbers in stack traces match the submitted code.
    let script = format!("__settle((async () => {{{code}\n}})())");
    let log_sink = logs.clone();
    let settled = ctx.async_with(async move |ctx| evaluate(&ctx, &script, host, log_sink).await);
    let outcome = tokio::select! {
        out = settled => out,
        reason = interrupt.stopped() => Err(stopped(reason, limits)),
    };
    let outcome = match outcome {
        // A stop that interrupted running JavaScript surfaces as an
        // "interrupted" exception; report why it was interrupted.
        Err(_) if interrupt.reason().is_some() => Err(stopped(
            interrupt.reason().unwrap_or(StopReason::Cancelled),
            limits,
        )),
        Err(SandboxError::Thrown(text)) => Err(classify(text, limits)),
        other => other,
    };
    let result = match outcome {
        Ok(json) if json.len() > limits.result_bytes => Err(SandboxError::ResultTooLarge {
            bytes: json.len(),
            limit: limits.result_bytes,
        }),
        Ok(json) => Ok((json != "null").then_some(json)),
        Err(e) => Err(e),
    };
    if result.is_ok() && logs.borrow().overflowed {
        return Err(SandboxError::LogsTooLarge(limits.log_bytes));
    }
    result
}

async fn evaluate<'js>(
    ctx: &Ctx<'js>,
    script: &str,
    host: Rc<dyn ToolHost>,
    logs: Rc<RefCell<Logs>>,
) -> Result<String, SandboxError> {
    install(ctx, host, logs).map_err(|e| SandboxError::Internal(e.to_string()))?;
    ctx.eval::<(), _>(PRELUDE)
        .catch(ctx)
        .map_err(|e| SandboxError::Internal(format!("prelude failed: {}", caught_text(e))))?;
    let promise: Promise = ctx
        .eval(script)
        .catch(ctx)
        .map_err(|e| SandboxError::Thrown(caught_text(e)))?;
    let reply: String = promise
        .into_future::<String>()
        .await
        .catch(ctx)
        .map_err(|e| SandboxError::Thrown(caught_text(e)))?;
    match reply.split_at_checked(1) {
        Some(("o", json)) => Ok(json.to_owned()),
        Some(("e", text)) => Err(SandboxError::Thrown(truncate(text))),
        _ => Err(SandboxError::Internal(format!(
            "unexpected settle reply {:?}",
            truncate(&reply)
        ))),
    }
}

fn install<'js>(
    ctx: &Ctx<'js>,
    host: Rc<dyn ToolHost>,
    logs: Rc<RefCell<Logs>>,
) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    globals.set(
        "__invoke",
        Func::from(Async(move |path: String, args: String| {
            let call = host.invoke(path, (!args.is_empty()).then_some(args));
            async move {
                Ok::<String, rquickjs::Error>(match call.await {
                    Ok(json) => format!("o{json}"),
                    Err(message) => format!("e{message}"),
                })
            }
        })),
    )?;
    globals.set(
        "__log",
        Func::from(move |level: String, text: String| {
            logs.borrow_mut().push(&level, &text);
        }),
    )?;
    globals.set(
        "__sleep",
        Func::from(Async(move |ms: f64| async move {
            let wait = if ms.is_finite() && ms > 0.0 {
                Duration::from_secs_f64(ms / 1000.0).min(MAX_TIMER)
            } else {
                Duration::ZERO
            };
            tokio::time::sleep(wait).await;
            Ok::<(), rquickjs::Error>(())
        })),
    )?;
    Ok(())
}

fn caught_text(e: CaughtError<'_>) -> String {
    let text = match e {
        CaughtError::Exception(ex) => {
            let name: Option<String> = ex.get("name").ok();
            let head = format!(
                "{}: {}",
                name.unwrap_or_else(|| "Error".into()),
                ex.message().unwrap_or_default()
            );
            match ex.stack().map(|s| s.trim_end().to_owned()) {
                Some(stack) if !stack.is_empty() => format!("{head}\n{stack}"),
                _ => head,
            }
        }
        CaughtError::Value(v) => format!("Uncaught {v:?}"),
        CaughtError::Error(e) => e.to_string(),
    };
    truncate(&text)
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}… (truncated)", &text[..at]),
        None => text.to_owned(),
    }
}

/// QuickJS reports its own limits as ordinary exceptions.
fn classify(text: String, limits: &Limits) -> SandboxError {
    if text.starts_with("InternalError: out of memory") || text == "Error: out of memory" {
        SandboxError::MemoryLimit(limits.memory_bytes)
    } else if text.starts_with("InternalError: stack overflow")
        || text.starts_with("RangeError: Maximum call stack size exceeded")
    {
        SandboxError::StackLimit(limits.stack_bytes)
    } else if text.contains("out of memory") && text.starts_with("Error: Allocation") {
        SandboxError::MemoryLimit(limits.memory_bytes)
    } else {
        SandboxError::Thrown(text)
    }
}

fn stopped(reason: StopReason, limits: &Limits) -> SandboxError {
    match reason {
        StopReason::Cancelled => SandboxError::Cancelled,
        StopReason::PauseExpired => SandboxError::PauseExpired,
        StopReason::TimeLimit => SandboxError::TimeLimit(limits.wall_time),
        StopReason::ServerStopped => SandboxError::ServerStopped,
        StopReason::TakenOver => SandboxError::ServerLost,
    }
}
