//! One run on its worker: records it, runs its code, routes its tool calls,
//! pauses it for people, and writes its end, whatever the end is.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit};

use super::config::Limits;
use super::interrupt::{Interrupt, StopReason};
use super::recorder::Recorder;
use super::sandbox::{self, Logs, SandboxError, ToolHost};
use super::tools::{
    Elicit, ElicitationAnswer, Invocation, LocalFuture, PolicyAction, ToolError, Verdict,
};
use super::{ElicitationMode, Shared};
use crate::model::{
    ElicitationRequest, ExecutionStatus, InteractionStatus, PendingInteraction, ResumeAction,
    RunResponse, RunStatus, ToolCallStatus, Trigger,
};
use crate::store::{
    now_ms, ExecutionPatch, InteractionResolution, Lease, NewExecution, NewInteraction,
    NewToolCall, ToolCallFinish, WriteOp,
};

/// Where a run stands, as waiting callers see it.
#[derive(Clone, Debug)]
pub enum Phase {
    Running,
    /// Paused (status `waiting_for_interaction`) or finished.
    Settled(RunResponse),
}

/// The handle the engine keeps for a live run: how to stop it, how to
/// answer it, and where to watch it.
pub struct RunControl {
    pub id: String,
    pub scope: String,
    pub interrupt: Arc<Interrupt>,
    phase: watch::Sender<Phase>,
    answer: Mutex<Option<(String, oneshot::Sender<ElicitationAnswer>)>>,
}

impl RunControl {
    pub fn new(id: String, scope: String, interrupt: Arc<Interrupt>) -> Self {
        Self {
            id,
            scope,
            interrupt,
            phase: watch::Sender::new(Phase::Running),
            answer: Mutex::new(None),
        }
    }

    pub fn watch(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    fn publish(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    /// Takes the way to answer the pending interaction, if the run is paused.
    pub fn take_answer(&self) -> Option<(String, oneshot::Sender<ElicitationAnswer>)> {
        self.answer.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn await_answer(&self, interaction_id: String, tx: oneshot::Sender<ElicitationAnswer>) {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = Some((interaction_id, tx));
    }
}

/// What a caller waits for.
#[derive(Clone, Copy, Debug)]
pub enum Until<'a> {
    /// The run pauses (on an interaction other than this one) or ends.
    PausedOrDone(Option<&'a str>),
    /// The run ends.
    Done,
}

pub async fn settled(mut rx: watch::Receiver<Phase>, until: Until<'_>, id: &str) -> RunResponse {
    loop {
        {
            let phase = rx.borrow_and_update();
            if let Phase::Settled(response) = &*phase {
                let paused_on = (response.status == RunStatus::WaitingForInteraction)
                    .then(|| response.interaction.as_ref().map(|i| i.id.as_str()));
                let reached = match (until, paused_on) {
                    (_, None) => true,
                    (Until::Done, Some(_)) => false,
                    (Until::PausedOrDone(skip), Some(on)) => on != skip,
                };
                if reached {
                    return response.clone();
                }
            }
        }
        if rx.changed().await.is_err() {
            // The worker dropped the run without settling it (a panic).
            return worker_stopped(id.to_owned());
        }
    }
}

/// Everything a worker needs to run one submission.
pub struct RunJob {
    pub shared: Arc<Shared>,
    pub control: Arc<RunControl>,
    pub code: String,
    pub trigger: Trigger,
    pub limits: Limits,
    pub mode: ElicitationMode,
    pub permit: OwnedSemaphorePermit,
}

struct OpenCall {
    id: String,
    started: Instant,
}

struct RunState {
    shared: Arc<Shared>,
    control: Arc<RunControl>,
    recorder: Recorder,
    mode: ElicitationMode,
    logs: Rc<RefCell<Logs>>,
    trigger_kind: String,
    started_at: i64,
    started: Instant,
    tool_calls: Cell<i64>,
    open_calls: RefCell<Vec<OpenCall>>,
    pending_interaction: RefCell<Option<String>>,
    /// Released while paused: a run waiting for a person holds no slot.
    permit: RefCell<Option<OwnedSemaphorePermit>>,
}

/// Runs the job to its end; never fails (its outcome is the run's row).
pub async fn drive(job: RunJob) {
    let RunJob {
        shared,
        control,
        code,
        trigger,
        limits,
        mode,
        permit,
    } = job;
    let started_at = now_ms();
    let mut guard = Unfinished {
        shared: shared.clone(),
        control: control.clone(),
        trigger_kind: trigger.kind.as_str().to_owned(),
        started_at,
        armed: true,
    };
    let store = shared.config.record.then(|| shared.store.clone());
    let state = Rc::new(RunState {
        recorder: Recorder::new(
            store,
            shared.storage_failures.clone(),
            shared.owner(),
            control.interrupt.clone(),
        ),
        shared,
        control,
        mode,
        logs: Rc::new(RefCell::new(Logs::new(limits.log_bytes))),
        trigger_kind: trigger.kind.as_str().to_owned(),
        started_at,
        started: Instant::now(),
        tool_calls: Cell::new(0),
        open_calls: RefCell::new(Vec::new()),
        pending_interaction: RefCell::new(None),
        permit: RefCell::new(Some(permit)),
    });
    state.recorder.queue(WriteOp::CreateExecution(NewExecution {
        id: state.control.id.clone(),
        scope_id: state.control.scope.clone(),
        status: ExecutionStatus::Running,
        code: code.clone(),
        trigger_kind: Some(trigger.kind.as_str().to_owned()),
        trigger_meta_json: trigger.meta_json(),
        session_id: trigger.session.as_ref().map(|s| s.as_str().to_owned()),
        created_at: started_at,
        started_at: Some(started_at),
        lease: state.shared.config.instance.as_ref().map(|i| Lease {
            owner_id: i.id.clone(),
            expires_at: started_at + i.lease.as_millis() as i64,
        }),
    }));
    // The row exists before any code runs, even code that never yields.
    state.recorder.flush().await;
    let outcome = match state.control.interrupt.reason() {
        // Cancelled while it waited for a slot.
        Some(StopReason::Cancelled) => Err(SandboxError::Cancelled),
        _ => {
            let host: Rc<dyn ToolHost> = Rc::new(Host(state.clone()));
            sandbox::run(
                &code,
                &limits,
                state.control.interrupt.clone(),
                host,
                state.logs.clone(),
            )
            .await
        }
    };
    state.finish(outcome).await;
    guard.armed = false;
}

/// Error text of a run whose driver stopped without ending it (a panic).
const WORKER_STOPPED: &str = "internal error: the run's worker stopped";

/// What the caller of such a run is told.
fn worker_stopped(execution_id: String) -> RunResponse {
    RunResponse {
        status: RunStatus::Failed,
        execution_id,
        result: None,
        error: Some(WORKER_STOPPED.into()),
        logs: Vec::new(),
        interaction: None,
    }
}

/// Ends a run its driver dropped without finishing it (a panic in a tool,
/// say, caught by the pool): the caller is answered `failed`, the engine
/// forgets the run, and its row is failed, instead of all three waiting
/// forever. The run's open tool calls stay open until the next restart.
struct Unfinished {
    shared: Arc<Shared>,
    control: Arc<RunControl>,
    trigger_kind: String,
    started_at: i64,
    armed: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let id = self.control.id.clone();
        tracing::error!(execution_id = %id, "a run's driver stopped without ending it; failing it");
        let now = now_ms();
        let took = (now - self.started_at).max(0);
        crate::telemetry::run_finished(
            ExecutionStatus::Failed,
            Some(&self.trigger_kind),
            std::time::Duration::from_millis(took as u64),
        );
        let (shared, control) = (self.shared.clone(), self.control.clone());
        // As for every answer: the failure is stored before the caller hears it.
        tokio::spawn(async move {
            if shared.config.record {
                let failed = vec![WriteOp::UpdateExecution {
                    scope_id: control.scope.clone(),
                    id: id.clone(),
                    patch: ExecutionPatch {
                        status: Some(ExecutionStatus::Failed),
                        error_text: Some(WORKER_STOPPED.into()),
                        completed_at: Some(now),
                        duration_ms: Some(took),
                        ..ExecutionPatch::default()
                    },
                }];
                let written = match shared.store.enqueue_as(shared.owner(), failed).await {
                    Ok(pending) => pending.committed().await,
                    Err(e) => Err(e),
                };
                if let Err(error) = written {
                    crate::telemetry::storage_failure();
                    tracing::warn!(%error, "could not record a run's failure after a panic");
                }
            }
            shared.forget(&id);
            control.publish(Phase::Settled(worker_stopped(id)));
        });
    }
}

/// The run's side of the sandbox and of its tools' elicitations.
struct Host(Rc<RunState>);

impl ToolHost for Host {
    fn invoke(&self, path: String, args: Option<String>) -> LocalFuture<Result<String, String>> {
        let state = self.0.clone();
        Box::pin(async move { state.call_tool(path, args).await })
    }
}

impl Elicit for Host {
    fn elicit(&self, request: ElicitationRequest) -> LocalFuture<ElicitationAnswer> {
        let state = self.0.clone();
        Box::pin(async move { state.elicit(request).await })
    }
}

impl RunState {
    fn id(&self) -> &str {
        &self.control.id
    }

    fn scope(&self) -> &str {
        &self.control.scope
    }

    async fn call_tool(
        self: &Rc<Self>,
        path: String,
        args: Option<String>,
    ) -> Result<String, String> {
        self.tool_calls.set(self.tool_calls.get() + 1);
        let call_id = uuid::Uuid::now_v7().to_string();
        let started = Instant::now();
        self.open_calls.borrow_mut().push(OpenCall {
            id: call_id.clone(),
            started,
        });
        self.recorder.queue(WriteOp::RecordToolCall(NewToolCall {
            id: call_id.clone(),
            execution_id: self.id().to_owned(),
            scope_id: self.scope().to_owned(),
            tool_path: path.clone(),
            args_json: args.clone(),
            started_at: now_ms(),
        }));
        let outcome = self.perform(&path, args).await;
        self.open_calls.borrow_mut().retain(|c| c.id != call_id);
        let (status, result_json, error_text) = match &outcome {
            Ok(value) => (ToolCallStatus::Completed, Some(value.to_string()), None),
            Err(e) => (ToolCallStatus::Failed, None, Some(e.message.clone())),
        };
        crate::telemetry::tool_call_finished(status);
        self.recorder.queue(WriteOp::FinishToolCall(ToolCallFinish {
            id: call_id,
            execution_id: self.id().to_owned(),
            scope_id: self.scope().to_owned(),
            status,
            result_json,
            error_text,
            completed_at: now_ms(),
            duration_ms: started.elapsed().as_millis() as i64,
        }));
        match outcome {
            Ok(value) => Ok(value.to_string()),
            Err(e) => Err(e.message),
        }
    }

    async fn perform(
        self: &Rc<Self>,
        path: &str,
        args: Option<String>,
    ) -> Result<Value, ToolError> {
        let args = match args {
            None => None,
            Some(text) => Some(
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| ToolError::new(format!("arguments are not JSON: {e}")))?,
            ),
        };
        let registry = self.shared.registry.clone();
        let tool = registry
            .describe(self.scope(), path)
            .ok_or_else(|| super::tools::unknown_tool(path))?;
        // A policy overrides what the tool itself asks for.
        let asks = match registry.verdict(self.scope(), path) {
            Some(Verdict {
                action: PolicyAction::Block,
                pattern,
            }) => {
                return Err(ToolError::new(format!(
                    "blocked: the policy '{pattern}' does not allow {path}"
                )))
            }
            Some(Verdict {
                action: PolicyAction::Allow,
                ..
            }) => false,
            Some(Verdict {
                action: PolicyAction::RequireApproval,
                ..
            }) => true,
            None => tool.approval_message().is_some(),
        };
        if asks {
            let message = registry.approval_prompt(self.scope(), &tool, args.as_ref());
            let answer = self
                .elicit(ElicitationRequest::Form {
                    message,
                    requested_schema: json!({"type": "object", "properties": {}}),
                })
                .await;
            match answer.action {
                ResumeAction::Accept => {}
                ResumeAction::Decline => {
                    return Err(ToolError::new(format!("declined: {path} was not approved")))
                }
                ResumeAction::Cancel => {
                    return Err(ToolError::new(format!(
                        "cancelled: the approval of {path} was cancelled"
                    )))
                }
            }
        }
        let elicit: Rc<dyn Elicit> = Rc::new(Host(self.clone()));
        registry
            .invoke(
                self.scope(),
                Invocation {
                    scope: self.scope().to_owned(),
                    path: path.to_owned(),
                    args,
                    elicit,
                },
            )
            .await
    }

    /// Records a pending interaction, pauses the run's clock and waits for
    /// the answer: from `resume` (pausable runs) or from the host (inline).
    async fn elicit(self: &Rc<Self>, request: ElicitationRequest) -> ElicitationAnswer {
        let interaction_id = uuid::Uuid::now_v7().to_string();
        let payload = serde_json::to_string(&request).ok();
        self.recorder
            .queue(WriteOp::RecordInteraction(NewInteraction {
                id: interaction_id.clone(),
                execution_id: self.id().to_owned(),
                scope_id: self.scope().to_owned(),
                kind: request.kind().to_owned(),
                purpose: Some(request.message().to_owned()),
                payload_json: payload,
                created_at: now_ms(),
            }));
        self.set_status(ExecutionStatus::WaitingForInteraction);
        *self.pending_interaction.borrow_mut() = Some(interaction_id.clone());
        self.control.interrupt.pause();
        drop(self.permit.borrow_mut().take());

        // Whoever answers must find the run shown as waiting, also in lists.
        self.recorder.settle().await;
        if self.taken_over() {
            // Failed by the server that took it over: nobody may answer it
            // here; the driver ends it on the way out.
            return cancel_answer();
        }
        let ttl = self.shared.config.pause_ttl;
        let answer = match &self.mode {
            ElicitationMode::Pause => {
                let (tx, rx) = oneshot::channel();
                self.control.await_answer(interaction_id.clone(), tx);
                self.control.publish(Phase::Settled(RunResponse {
                    status: RunStatus::WaitingForInteraction,
                    execution_id: self.id().to_owned(),
                    result: None,
                    error: None,
                    logs: self.logs.borrow().lines().to_vec(),
                    interaction: Some(PendingInteraction {
                        id: interaction_id.clone(),
                        request,
                    }),
                }));
                tokio::time::timeout(ttl, rx).await.map(|r| r.ok())
            }
            ElicitationMode::Inline(host) => {
                tokio::time::timeout(ttl, host.elicit(self.id(), request))
                    .await
                    .map(Some)
            }
        };
        let answer = match answer {
            Ok(Some(answer)) => answer,
            Ok(None) => cancel_answer(),
            Err(_elapsed) => {
                self.control.take_answer();
                // The driver ends the run as soon as it sees this; the
                // pending interaction is cancelled on the way out.
                self.control.interrupt.stop(StopReason::PauseExpired);
                return cancel_answer();
            }
        };
        let status = if answer.action == ResumeAction::Cancel {
            InteractionStatus::Cancelled
        } else {
            InteractionStatus::Resolved
        };
        self.recorder
            .queue(WriteOp::ResolveInteraction(InteractionResolution {
                id: interaction_id,
                execution_id: self.id().to_owned(),
                scope_id: self.scope().to_owned(),
                status,
                response_json: Some(
                    json!({"action": answer.action.as_str(), "content": answer.content})
                        .to_string(),
                ),
                updated_at: now_ms(),
            }));
        *self.pending_interaction.borrow_mut() = None;
        self.set_status(ExecutionStatus::Running);
        self.control.publish(Phase::Running);
        self.control.interrupt.resume();
        answer
    }

    /// Records a change of status, with the tool calls made so far: a run
    /// paused for approval shows the call it waits on (and those before).
    fn set_status(&self, status: ExecutionStatus) {
        self.update(ExecutionPatch {
            status: Some(status),
            had_elicitation: (status == ExecutionStatus::WaitingForInteraction).then_some(true),
            tool_call_count: Some(self.tool_calls.get()),
            ..ExecutionPatch::default()
        });
    }

    fn update(&self, patch: ExecutionPatch) {
        self.recorder.queue(WriteOp::UpdateExecution {
            scope_id: self.scope().to_owned(),
            id: self.id().to_owned(),
            patch,
        });
    }

    /// Writes the run's end: closes what is still open, then the terminal row.
    async fn finish(&self, outcome: Result<Option<String>, SandboxError>) {
        let now = now_ms();
        let open: Vec<OpenCall> = std::mem::take(&mut *self.open_calls.borrow_mut());
        for call in open {
            let why = match &outcome {
                // Stops already say "interrupted: …".
                Err(e @ (SandboxError::ServerStopped | SandboxError::ServerLost)) => e.to_string(),
                Err(e) => format!("interrupted: {e}"),
                Ok(_) => "interrupted: the run ended before the call returned".to_owned(),
            };
            crate::telemetry::tool_call_finished(ToolCallStatus::Failed);
            self.recorder.queue(WriteOp::FinishToolCall(ToolCallFinish {
                id: call.id,
                execution_id: self.id().to_owned(),
                scope_id: self.scope().to_owned(),
                status: ToolCallStatus::Failed,
                result_json: None,
                error_text: Some(why),
                completed_at: now,
                duration_ms: call.started.elapsed().as_millis() as i64,
            }));
        }
        let pending = self.pending_interaction.borrow_mut().take();
        if let Some(interaction_id) = pending {
            self.control.take_answer();
            self.recorder
                .queue(WriteOp::ResolveInteraction(InteractionResolution {
                    id: interaction_id,
                    execution_id: self.id().to_owned(),
                    scope_id: self.scope().to_owned(),
                    status: InteractionStatus::Cancelled,
                    response_json: None,
                    updated_at: now,
                }));
        }
        let (status, run_status) = match &outcome {
            Ok(_) => (ExecutionStatus::Completed, RunStatus::Completed),
            Err(SandboxError::Cancelled | SandboxError::PauseExpired) => {
                (ExecutionStatus::Cancelled, RunStatus::Cancelled)
            }
            Err(_) => (ExecutionStatus::Failed, RunStatus::Failed),
        };
        let logs = self.logs.borrow().lines().to_vec();
        let result_json = outcome.as_ref().ok().cloned().flatten();
        let error = outcome.as_ref().err().map(ToString::to_string);
        self.update(ExecutionPatch {
            status: Some(status),
            result_json: result_json.clone(),
            error_text: error.clone(),
            logs_json: (!logs.is_empty()).then(|| serde_json::to_string(&logs).unwrap_or_default()),
            completed_at: Some(now),
            duration_ms: Some((now - self.started_at).max(0)),
            tool_call_count: Some(self.tool_calls.get()),
            ..ExecutionPatch::default()
        });
        // The answer leaves only once the end is committed.
        self.recorder.settle().await;
        let response = if self.taken_over() {
            // Not ours to end: the caller hears the end the history has,
            // the failure written by the server that took the run over.
            super::cluster::recorded_end(&self.shared.store, self.scope(), self.id()).await
        } else {
            crate::telemetry::run_finished(
                status,
                Some(&self.trigger_kind),
                self.started.elapsed(),
            );
            RunResponse {
                status: run_status,
                execution_id: self.id().to_owned(),
                result: result_json.and_then(|j| serde_json::from_str(&j).ok()),
                error,
                logs,
                interaction: None,
            }
        };
        self.shared.forget(self.id());
        // The slot is free before the caller hears of the end: a client that
        // starts its next run on the answer must not find the engine full
        // (it did, now and then, on PostgreSQL, whose commit takes longer).
        drop(self.permit.borrow_mut().take());
        self.control.publish(Phase::Settled(response));
    }

    /// Another server took the run over: its writes here are refused.
    fn taken_over(&self) -> bool {
        self.control.interrupt.reason() == Some(StopReason::TakenOver)
    }
}

fn cancel_answer() -> ElicitationAnswer {
    ElicitationAnswer {
        action: ResumeAction::Cancel,
        content: None,
    }
}
