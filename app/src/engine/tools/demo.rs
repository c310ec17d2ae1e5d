//! A fixture source, namespace `demo`, for tests and demos: an echo, a tool
//! that fails, a slow one, one that needs approval and two that ask a person
//! for input. The shipped server registers it only when started with
//! `--demo-tools`.

use std::time::Duration;

use serde_json::{json, Value};

use super::{
    ElicitationAnswer, Invocation, LocalFuture, SourceInfo, ToolDescriptor, ToolError, ToolSource,
};
use crate::model::{ElicitationRequest, ResumeAction};

pub struct DemoSource;

/// Longest `demo.sleep`, so a test typo cannot hang a worker for hours.
const MAX_SLEEP_MS: u64 = 60_000;

impl ToolSource for DemoSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            id: "demo".into(),
            name: "Demo fixtures".into(),
            kind: "fixture".into(),
            error: None,
        }
    }

    fn tools(&self) -> Vec<ToolDescriptor> {
        vec![
            ToolDescriptor::new("demo.echo", "Returns its argument."),
            ToolDescriptor::new("demo.fail", "Always fails with {message}."),
            ToolDescriptor::new("demo.sleep", "Waits {ms} milliseconds, then returns."),
            ToolDescriptor::new("demo.write", "Pretends to write; needs approval.")
                .needing_approval(),
            ToolDescriptor::new(
                "demo.ask",
                "Asks a person {question} and returns the answer.",
            ),
            ToolDescriptor::new("demo.login", "Sends a person to a sign-in URL."),
            ToolDescriptor::new(
                "demo.panic",
                "Panics, as a tool with a bug would (tests the engine's guard).",
            ),
        ]
    }

    fn invoke(&self, call: Invocation) -> LocalFuture<Result<Value, ToolError>> {
        Box::pin(async move {
            let args = call.args.clone();
            match call.path.as_str() {
                "demo.echo" => Ok(args.unwrap_or(Value::Null)),
                "demo.panic" => panic!("demo.panic was called"),
                "demo.fail" => Err(ToolError::new(
                    super::arg_str(args.as_ref(), "message").unwrap_or("demo.fail failed"),
                )),
                "demo.sleep" => {
                    let ms = args
                        .as_ref()
                        .and_then(|a| a.get("ms"))
                        .and_then(Value::as_u64)
                        .unwrap_or(100)
                        .min(MAX_SLEEP_MS);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok(json!({ "sleptMs": ms }))
                }
                "demo.write" => Ok(json!({ "written": true, "args": args })),
                "demo.ask" => {
                    let question = super::arg_str(args.as_ref(), "question")
                        .unwrap_or("What should I do?")
                        .to_owned();
                    let answer = call
                        .elicit
                        .elicit(ElicitationRequest::Form {
                            message: question,
                            requested_schema: json!({
                                "type": "object",
                                "properties": {"answer": {"type": "string"}},
                                "required": ["answer"]
                            }),
                        })
                        .await;
                    accepted(answer).map(|content| content.unwrap_or(Value::Null))
                }
                "demo.login" => {
                    let answer = call
                        .elicit
                        .elicit(ElicitationRequest::Url {
                            message: "Sign in to the demo service".into(),
                            url: "https://demo.invalid/login".into(),
                        })
                        .await;
                    accepted(answer).map(|_| json!({ "signedIn": true }))
                }
                other => Err(super::unknown_tool(other)),
            }
        })
    }
}

fn accepted(answer: ElicitationAnswer) -> Result<Option<Value>, ToolError> {
    match answer.action {
        ResumeAction::Accept => Ok(answer.content),
        ResumeAction::Decline => Err(ToolError::new("the person declined")),
        ResumeAction::Cancel => Err(ToolError::new("the person cancelled the request")),
    }
}
