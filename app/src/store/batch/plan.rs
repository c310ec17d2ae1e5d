//! A batch sorted into phases, with writes to rows born in the batch folded
//! into their inserts. Pure: no database; the tests below pin the folding.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use crate::store::write_ops::{
    ExecutionPatch, InteractionResolution, NewExecution, NewInteraction, NewToolCall,
    ToolCallFinish, WriteOp,
};

pub(super) type Key<'a> = (&'a str, &'a str);

/// A batch sorted into phases, with writes to rows born in the batch folded in.
#[derive(Default)]
pub(super) struct Plan<'a> {
    pub(super) executions: Vec<(&'a NewExecution, ExecutionPatch)>,
    pub(super) execution_at: HashMap<Key<'a>, usize>,
    pub(super) tool_calls: Vec<(&'a NewToolCall, Option<&'a ToolCallFinish>)>,
    pub(super) tool_call_at: HashMap<(&'a str, &'a str, &'a str), usize>,
    pub(super) interactions: Vec<(&'a NewInteraction, Option<&'a InteractionResolution>)>,
    pub(super) interaction_at: HashMap<Key<'a>, usize>,
    /// Changes to rows written by earlier batches; the last write wins.
    pub(super) finishes: BTreeMap<(&'a str, &'a str, &'a str), &'a ToolCallFinish>,
    pub(super) resolutions: BTreeMap<Key<'a>, &'a InteractionResolution>,
    pub(super) patches: BTreeMap<Key<'a>, ExecutionPatch>,
}

impl<'a> Plan<'a> {
    pub(super) fn add(&mut self, op: &'a WriteOp) {
        match op {
            WriteOp::CreateExecution(new) => {
                self.execution_at
                    .insert((&new.scope_id, &new.id), self.executions.len());
                self.executions.push((new, ExecutionPatch::default()));
            }
            WriteOp::UpdateExecution {
                scope_id,
                id,
                patch,
            } => self.patch((scope_id, id), patch.clone()),
            WriteOp::RecordToolCall(new) => {
                self.tool_call_at.insert(
                    (&new.scope_id, &new.execution_id, &new.id),
                    self.tool_calls.len(),
                );
                self.tool_calls.push((new, None));
            }
            WriteOp::FinishToolCall(finish) => {
                let key = (
                    finish.scope_id.as_str(),
                    finish.execution_id.as_str(),
                    finish.id.as_str(),
                );
                match self.tool_call_at.get(&key) {
                    Some(&i) => self.tool_calls[i].1 = Some(finish),
                    None => {
                        self.finishes.insert(key, finish);
                    }
                }
            }
            WriteOp::RecordInteraction(new) => {
                self.interaction_at
                    .insert((&new.scope_id, &new.id), self.interactions.len());
                self.interactions.push((new, None));
                self.patch(
                    (&new.scope_id, &new.execution_id),
                    ExecutionPatch {
                        had_elicitation: Some(true),
                        ..Default::default()
                    },
                );
            }
            WriteOp::ResolveInteraction(resolution) => {
                let key = (resolution.scope_id.as_str(), resolution.id.as_str());
                match self.interaction_at.get(&key) {
                    Some(&i) => self.interactions[i].1 = Some(resolution),
                    None => {
                        self.resolutions.insert(key, resolution);
                    }
                }
            }
        }
    }

    fn patch(&mut self, key: Key<'a>, patch: ExecutionPatch) {
        if let Some(&i) = self.execution_at.get(&key) {
            self.executions[i].1.merge(patch);
        } else {
            self.patches.entry(key).or_default().merge(patch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExecutionStatus;

    fn create(id: &str) -> WriteOp {
        WriteOp::CreateExecution(NewExecution {
            id: id.into(),
            scope_id: "s".into(),
            status: ExecutionStatus::Running,
            code: "1".into(),
            trigger_kind: None,
            trigger_meta_json: None,
            session_id: None,
            created_at: 0,
            started_at: Some(0),
            lease: None,
        })
    }

    fn finish(id: &str, status: ExecutionStatus) -> WriteOp {
        WriteOp::UpdateExecution {
            scope_id: "s".into(),
            id: id.into(),
            patch: ExecutionPatch {
                status: Some(status),
                ..ExecutionPatch::default()
            },
        }
    }

    #[test]
    fn a_run_created_and_finished_in_one_batch_is_one_insert() {
        let ops = [create("a"), finish("a", ExecutionStatus::Completed)];
        let mut plan = Plan::default();
        ops.iter().for_each(|op| plan.add(op));
        assert_eq!(plan.executions.len(), 1);
        assert_eq!(
            plan.executions[0].1.status,
            Some(ExecutionStatus::Completed)
        );
        assert!(plan.patches.is_empty());
    }

    #[test]
    fn a_run_from_an_earlier_batch_is_patched_and_its_end_is_final() {
        let ops = [
            finish("old", ExecutionStatus::Completed),
            finish("old", ExecutionStatus::Failed),
        ];
        let mut plan = Plan::default();
        ops.iter().for_each(|op| plan.add(op));
        assert!(plan.executions.is_empty());
        assert_eq!(
            plan.patches[&("s", "old")].status,
            Some(ExecutionStatus::Completed)
        );
    }

    #[test]
    fn a_tool_call_finished_in_its_batch_is_folded_into_its_insert() {
        let call = NewToolCall {
            id: "c".into(),
            execution_id: "a".into(),
            scope_id: "s".into(),
            tool_path: "x.y".into(),
            args_json: None,
            started_at: 0,
        };
        let end = ToolCallFinish {
            id: "c".into(),
            execution_id: "a".into(),
            scope_id: "s".into(),
            status: crate::model::ToolCallStatus::Completed,
            result_json: None,
            error_text: None,
            completed_at: 1,
            duration_ms: 1,
        };
        let ops = [WriteOp::RecordToolCall(call), WriteOp::FinishToolCall(end)];
        let mut plan = Plan::default();
        ops.iter().for_each(|op| plan.add(op));
        assert_eq!(plan.tool_calls.len(), 1);
        assert!(plan.tool_calls[0].1.is_some());
        assert!(plan.finishes.is_empty());
    }
}
