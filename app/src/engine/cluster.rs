//! Resume and cancel from any server (issue 16). A run lives in the process
//! that runs it. A server asked to resume or cancel a run it does not hold
//! checks the run in the database (scope, state), records the request
//! there (the first answer to an interaction wins), wakes the owner
//! (`NOTIFY`, the run id only) and waits for the run's next state in the
//! database; the caller gets what it would get from the owner. The owner
//! takes requests when woken and every few seconds (a lost notification
//! only delays), and applies them as its own.

use std::time::Duration;

use serde_json::Value;

use super::{Engine, EngineError};
use crate::model::{
    ExecutionEnvelope, ExecutionStatus, PendingInteraction, ResumeAction, RunResponse, RunStatus,
};
use crate::store::{now_ms, RunRequestRow};

/// How often a waiting caller reads the run again: soon at first (most
/// answers take milliseconds), then less often.
const FIRST_POLL: Duration = Duration::from_millis(2);
const POLL: Duration = Duration::from_millis(20);
/// How often the owner looks for requests without a notification.
const SWEEP: Duration = Duration::from_secs(2);
/// A caller waits at most this long for the owner (a run's longest wall
/// time and then some); then it gets the run as it stands.
const PATIENCE: Duration = Duration::from_secs(330);

/// What another server is asked to do to a run.
pub(super) enum Forward {
    Resume {
        action: ResumeAction,
        content: Option<Value>,
    },
    Cancel,
}

impl Engine {
    /// Forwards `request` to the run's owner when the run is unfinished in
    /// the database and this process does not hold it; `None` when there
    /// is nothing to forward (SQLite, no such run, a run in another state).
    pub(super) async fn forward(
        &self,
        scope: &str,
        id: &str,
        request: Forward,
    ) -> Result<Option<RunResponse>, EngineError> {
        let store = &self.shared.store;
        // Without an owner id this server shares its database with no other.
        if self.shared.owner.is_none() {
            return Ok(None);
        }
        let Some(found) = store.get(scope, id).await? else {
            return Ok(None);
        };
        let status = found.execution.status;
        let (row, answered) = match &request {
            Forward::Resume { action, content } => {
                let Some(pending) = found.pending_interaction.as_ref() else {
                    return Ok(None);
                };
                if status != ExecutionStatus::WaitingForInteraction {
                    return Ok(None);
                }
                let row = RunRequestRow {
                    scope_id: scope.to_owned(),
                    execution_id: id.to_owned(),
                    kind: "resume".into(),
                    interaction_id: pending.id.clone(),
                    action: Some(action.as_str().to_owned()),
                    content_json: content.as_ref().map(Value::to_string),
                };
                (row, Some(pending.id.clone()))
            }
            Forward::Cancel => {
                if status.is_terminal() {
                    return Ok(None);
                }
                let row = RunRequestRow {
                    scope_id: scope.to_owned(),
                    execution_id: id.to_owned(),
                    kind: "cancel".into(),
                    interaction_id: String::new(),
                    action: None,
                    content_json: None,
                };
                (row, None)
            }
        };
        if !store.put_run_request(&row, now_ms()).await? {
            // Someone answered this interaction first.
            return Err(EngineError::NotWaiting {
                id: id.to_owned(),
                status: "already answered".into(),
            });
        }
        store.notify_run_request(id).await?;
        let started = tokio::time::Instant::now();
        let mut wait = FIRST_POLL;
        loop {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(POLL);
            let Some(now) = store.get(scope, id).await? else {
                return Err(EngineError::NotFound(id.to_owned()));
            };
            let moved_on = match &answered {
                // Resumed: done, or waiting on another question.
                Some(answered) => {
                    now.execution.status.is_terminal()
                        || (now.execution.status == ExecutionStatus::WaitingForInteraction
                            && now
                                .pending_interaction
                                .as_ref()
                                .is_some_and(|p| &p.id != answered))
                }
                None => now.execution.status.is_terminal(),
            };
            if moved_on || started.elapsed() > PATIENCE {
                return Ok(Some(response_of(now)));
            }
        }
    }

    /// The owner's side: takes the requests for its runs when woken and
    /// every few seconds, and applies them. Runs until the process ends;
    /// a no-op on SQLite. `listen_url` is a direct connection for `LISTEN`
    /// when the pool's goes through a transaction-mode pooler.
    pub async fn serve_forwarded(self, listen_url: Option<String>) {
        let Some(owner) = self.shared.owner.clone() else {
            return;
        };
        let store = self.shared.store.clone();
        let mut listener = None;
        loop {
            if listener.is_none() {
                match store.run_request_listener(listen_url.as_deref()).await {
                    Ok(l) => listener = l,
                    Err(e) => tracing::warn!(error = %e, "cannot listen for run requests; polling"),
                }
            }
            self.take_requests(&owner).await;
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        got = l.try_recv() => match got {
                            Ok(Some(_)) => {}
                            // Reconnected: notifications may have been lost; the sweep above catches up.
                            Ok(None) => tracing::info!("the run-request listener reconnected"),
                            Err(e) => {
                                tracing::warn!(error = %e, "the run-request listener failed; polling");
                                listener = None;
                                tokio::time::sleep(SWEEP).await;
                            }
                        },
                        () = tokio::time::sleep(SWEEP) => {}
                    }
                }
                None => tokio::time::sleep(SWEEP).await,
            }
        }
    }

    async fn take_requests(&self, owner: &str) {
        let store = &self.shared.store;
        let requests = match store.owned_run_requests(owner).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read run requests");
                return;
            }
        };
        for request in requests {
            match store.take_run_request(&request).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take a run request");
                    continue;
                }
            }
            let engine = self.clone();
            tokio::spawn(async move {
                let (scope, id) = (&request.scope_id, &request.execution_id);
                let outcome = match request.kind.as_str() {
                    "cancel" => engine.cancel_here(scope, id).await,
                    _ => {
                        let action = match request.action.as_deref() {
                            Some("accept") => ResumeAction::Accept,
                            Some("decline") => ResumeAction::Decline,
                            _ => ResumeAction::Cancel,
                        };
                        let content = request
                            .content_json
                            .as_deref()
                            .and_then(|c| serde_json::from_str(c).ok());
                        engine.resume_here(scope, id, action, content).await
                    }
                };
                if let Err(e) = outcome {
                    tracing::info!(execution = %id, error = %e, "a forwarded request found nothing to do");
                }
            });
        }
    }
}

/// The end the database has for a run another server took over, for its
/// caller here; while the taking server's failure is still on its way, the
/// failure it writes.
pub(super) async fn recorded_end(
    store: &crate::store::Store,
    scope: &str,
    id: &str,
) -> RunResponse {
    match store.get(scope, id).await {
        Ok(Some(found)) if found.execution.status.is_terminal() => response_of(found),
        _ => RunResponse {
            status: RunStatus::Failed,
            execution_id: id.to_owned(),
            result: None,
            error: Some(super::INTERRUPTED_BY_LOSS.to_owned()),
            logs: Vec::new(),
            interaction: None,
        },
    }
}

/// What a caller is told of a run as the database has it.
fn response_of(found: ExecutionEnvelope) -> RunResponse {
    let e = found.execution;
    let status = match e.status {
        ExecutionStatus::Completed => RunStatus::Completed,
        ExecutionStatus::Cancelled => RunStatus::Cancelled,
        ExecutionStatus::WaitingForInteraction => RunStatus::WaitingForInteraction,
        _ => RunStatus::Failed,
    };
    RunResponse {
        status,
        execution_id: e.id,
        result: e
            .result_json
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        error: e.error_text,
        logs: e
            .logs_json
            .as_deref()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_default(),
        interaction: found.pending_interaction.and_then(|p| {
            Some(PendingInteraction {
                request: serde_json::from_str(p.payload_json.as_deref()?).ok()?,
                id: p.id,
            })
        }),
    }
}
