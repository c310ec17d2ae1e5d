//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handler
//! annotations and the wire types so it cannot drift from the code.

use axum::Json;
use utoipa::OpenApi;

use app::model::{
    Chart, ChartBucket, ElicitationRequest, Execution, ExecutionEnvelope, Interaction,
    InteractionCounts, ListMeta, ListPage, PendingInteraction, ResumeAction, ResumeRequest,
    RunRequest, RunResponse, RunStatus, ToolCall, ToolCallList, ToolFacet, TriggerCount,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "executor runs API",
        description = "Execution history of code-executing agents."
    ),
    paths(
        super::executions::list,
        super::executions::get_one,
        super::executions::tool_calls,
        super::export::export,
        super::runs::run,
        super::runs::resume,
        super::runs::cancel,
        super::runs::rerun,
    ),
    components(schemas(
        Execution,
        Interaction,
        ToolCall,
        ExecutionEnvelope,
        ListPage,
        ListMeta,
        TriggerCount,
        ToolFacet,
        InteractionCounts,
        Chart,
        ChartBucket,
        ToolCallList,
        RunRequest,
        RunResponse,
        RunStatus,
        ResumeRequest,
        ResumeAction,
        PendingInteraction,
        ElicitationRequest
    ))
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
