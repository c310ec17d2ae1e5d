//! `GET /openapi.json`: the OpenAPI 3.1 document. Paths and wire types come
//! from the handler annotations and the types' derives; parameters come from
//! their one declaration (`app::model::params`), and every operation's error
//! answers from the table below, so the document says exactly what the
//! server accepts and answers (schemathesis checks it in the test command).

use std::sync::OnceLock;

use axum::Json;
use serde_json::{json, Value};
use utoipa::OpenApi;

use app::model::params::{self, Location, Param, Shape};
use app::model::{
    Chart, ChartBucket, ElicitationRequest, Execution, ExecutionEnvelope, Interaction,
    InteractionCounts, InteractionList, ListMeta, ListPage, PendingInteraction, ResumeAction,
    ResumeRequest, RunRequest, RunResponse, RunStatus, ToolCall, ToolCallList, ToolFacet,
    TriggerCount,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "executor runs API",
        description = "Execution history of code-executing agents. Reference: docs/api.md."
    ),
    paths(
        super::executions::list,
        super::executions::meta,
        super::executions::get_one,
        super::executions::tool_calls,
        super::executions::interactions,
        super::export::export,
        super::runs::run,
        super::runs::resume,
        super::runs::cancel,
        super::runs::rerun,
        super::sources::list,
        super::sources::add,
        super::sources::get_one,
        super::sources::remove,
        super::sources::refresh,
        super::sources::secrets,
        super::sources::put_secret,
        super::sources::delete_secret,
        super::health::healthz,
        super::health::readyz,
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
        InteractionList,
        RunRequest,
        RunResponse,
        RunStatus,
        ResumeRequest,
        ResumeAction,
        PendingInteraction,
        ElicitationRequest,
        super::sources::SourceList,
        super::sources::SecretList,
        super::sources::SecretName,
        super::sources::SecretValueBody,
        crate::sources::SourceView
    ))
)]
struct ApiDoc;

/// What each operation takes beside its path and body, and which error
/// statuses it can answer (every one can answer 500).
struct Operation {
    method: &'static str,
    path: &'static str,
    params: &'static [Param],
    errors: &'static [u16],
}

/// How many parameters the list has: the arrays below are sized from it,
/// so a new list parameter cannot push a handler's own off the end.
const LIST: usize = params::LIST_PARAMS.len();

/// The list's parameters and one of a handler's own.
const fn list_and(own: Param) -> [Param; LIST + 1] {
    let mut all = [own; LIST + 1];
    let mut i = 0;
    while i < params::LIST_PARAMS.len() {
        all[i] = params::LIST_PARAMS[i];
        i += 1;
    }
    all
}
/// The list's parameters and two of a handler's own.
const fn list_and_two(first: Param, second: Param) -> [Param; LIST + 2] {
    let mut all = [second; LIST + 2];
    let one = list_and(first);
    let mut i = 0;
    while i < one.len() {
        all[i] = one[i];
        i += 1;
    }
    all
}
const LIST_AND_FORMAT: [Param; LIST + 1] = list_and(params::FORMAT);
const LIST_AND_META: [Param; LIST + 2] = list_and_two(params::META, params::EXACT);
const LIST_AND_EXACT: [Param; LIST + 1] = list_and(params::EXACT);
const TRIGGER_HEADERS: [Param; 3] = [
    params::TRIGGER_HEADER,
    params::TRIGGER_META_HEADER,
    params::SESSION_HEADER,
];

const OPERATIONS: [Operation; 18] = [
    Operation {
        method: "get",
        path: "/executions",
        params: &LIST_AND_META,
        errors: &[400, 503],
    },
    Operation {
        method: "get",
        path: "/executions/meta",
        params: &LIST_AND_EXACT,
        errors: &[400, 503],
    },
    Operation {
        method: "get",
        path: "/executions/export",
        params: &LIST_AND_FORMAT,
        errors: &[400],
    },
    Operation {
        method: "get",
        path: "/executions/{id}",
        params: &[],
        errors: &[404],
    },
    Operation {
        method: "get",
        path: "/executions/{id}/tool-calls",
        params: &[],
        errors: &[404],
    },
    Operation {
        method: "get",
        path: "/executions/{id}/interactions",
        params: &[],
        errors: &[404],
    },
    Operation {
        method: "post",
        path: "/executions",
        params: &TRIGGER_HEADERS,
        errors: &[400, 413, 503],
    },
    Operation {
        method: "post",
        path: "/executions/{id}/resume",
        params: &[],
        errors: &[400, 404, 409, 413],
    },
    Operation {
        method: "post",
        path: "/executions/{id}/cancel",
        params: &[],
        errors: &[404, 409],
    },
    Operation {
        method: "post",
        path: "/executions/{id}/rerun",
        params: &TRIGGER_HEADERS,
        errors: &[400, 404, 503],
    },
    Operation {
        method: "get",
        path: "/sources",
        params: &[],
        errors: &[],
    },
    Operation {
        method: "post",
        path: "/sources",
        params: &[],
        errors: &[400, 403, 409, 413],
    },
    Operation {
        method: "get",
        path: "/sources/{name}",
        params: &[],
        errors: &[404],
    },
    Operation {
        method: "delete",
        path: "/sources/{name}",
        params: &[],
        errors: &[404, 409],
    },
    Operation {
        method: "post",
        path: "/sources/{name}/refresh",
        params: &[],
        errors: &[404],
    },
    Operation {
        method: "get",
        path: "/secrets",
        params: &[],
        errors: &[],
    },
    Operation {
        method: "put",
        path: "/secrets/{name}",
        params: &[],
        errors: &[400, 413],
    },
    Operation {
        method: "delete",
        path: "/secrets/{name}",
        params: &[],
        errors: &[400, 404],
    },
];

/// What every operation but the probes may answer (docs/access.md): 401
/// and 429 on a server with tokens; 403 on any server, for a browser page
/// of another site (or, without tokens, a foreign `Host`).
const ACCESS_ERRORS: [u16; 3] = [401, 403, 429];

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "A parameter, header or body field is invalid; `parameter` names it",
        401 => "No valid token or session (unauthorized, invalid_token); WWW-Authenticate says Bearer",
        403 => "A state change came from another site's page (cross_site_request), or a server without tokens was asked for under a foreign name (foreign_host)",
        429 => "Too many failed tokens from this address (too_many_attempts); retry after Retry-After seconds",
        404 => "No such execution, source or secret in this scope",
        409 => "The run is not in a state that allows this, or the source is the config file's",
        413 => "The body is larger than 2 MiB",
        503 => "Busy (engine_busy) or stopping (shutting_down); retry after Retry-After seconds",
        _ => "Internal error; the message carries a trace id to quote",
    }
}

fn parameter(p: &Param) -> Value {
    let location = match p.location {
        Location::Query => "query",
        Location::Header => "header",
    };
    let mut out =
        json!({"name": p.name, "in": location, "required": false, "description": p.description});
    match p.shape {
        // A JSON object in a header is serialized JSON (OpenAPI's `content`).
        Shape::JsonObject { .. } => {
            out["content"] = json!({"application/json": {"schema": p.schema()}});
        }
        _ => out["schema"] = p.schema(),
    }
    out
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "invalid_parameter, invalid_body, payload_too_large, unauthorized, invalid_token, cross_site_request, foreign_host, too_many_attempts, execution_not_found, not_found, execution_not_waiting, execution_not_active, engine_busy, shutting_down, invalid_source, source_not_found, source_configured, stdio_sources_disabled, invalid_secret, secret_not_found, internal_error"},
                "message": {"type": "string"},
                "parameter": {"type": "string", "description": "The parameter, header or body field at fault (400)"},
                "traceId": {"type": "string", "description": "Quote it to an operator (500)"}
            }
        }}
    })
}

/// The body fields' constraints, from the constants their validation uses.
fn constrain_bodies(schemas: &mut Value) {
    let run = &mut schemas["RunRequest"];
    run["additionalProperties"] = json!(false);
    run["properties"]["code"] = json!({
        "type": "string",
        "pattern": app::model::CODE_PATTERN,
        "description": "JavaScript; top-level await works and a final return gives the result"
    });
    run["properties"]["timeoutMs"] = json!({
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": app::model::MAX_TIMEOUT_MS,
        "description": "Wall-time limit of this run in milliseconds (default: the server's)"
    });
    schemas["SecretValueBody"]["properties"]["value"] = json!({
        "type": "string",
        "minLength": crate::sources::secrets::MIN_VALUE_CHARS,
        "maxLength": crate::sources::secrets::MAX_VALUE_CHARS,
        "description": "The secret; it is never shown again"
    });
    schemas["ResumeRequest"]["additionalProperties"] = json!(false);
    schemas["ResumeRequest"]["properties"]["content"] =
        json!({"description": "What the person entered, for a form (any JSON)"});
    // A run's result is whatever JSON the code returned.
    schemas["RunResponse"]["properties"]["result"] =
        json!({"description": "The JSON value the code returned, or null"});
}

fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    doc["components"]["schemas"]["Error"] = error_schema();
    constrain_bodies(&mut doc["components"]["schemas"]);
    for op in &OPERATIONS {
        let operation = &mut doc["paths"][op.path][op.method];
        let mut parameters: Vec<Value> = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        parameters.extend(op.params.iter().map(parameter));
        operation["parameters"] = Value::Array(parameters);
        for &status in op.errors.iter().chain(&ACCESS_ERRORS).chain(&[500]) {
            let mut response = json!({
                "description": error_description(status),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            });
            if status == 503 || status == 429 {
                response["headers"] = json!({"Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer", "minimum": 0}
                }});
            }
            operation["responses"][status.to_string()] = response;
        }
    }
    // A bearer token, or none on a server without tokens.
    doc["components"]["securitySchemes"] = json!({"bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token made by `executor token new`; a server without tokens takes none (docs/access.md)"
    }});
    doc["security"] = json!([{}, {"bearer": []}]);
    doc["paths"]["/sources"]["post"]["requestBody"] = json!({
        "required": true,
        "content": {"application/json": {"schema": crate::sources::spec::json_schema()}}
    });
    for method in ["put", "delete"] {
        doc["paths"]["/secrets/{name}"][method]["parameters"][0]["schema"] =
            json!({"type": "string", "pattern": crate::sources::secrets::NAME_PATTERN});
    }
    for (path, methods) in [
        ("/sources/{name}", &["get", "delete"][..]),
        ("/sources/{name}/refresh", &["post"][..]),
    ] {
        for method in methods {
            doc["paths"][path][*method]["parameters"][0]["schema"] =
                json!({"type": "string", "pattern": app::engine::tools::NAMESPACE_PATTERN});
        }
    }
    let export = &mut doc["paths"]["/executions/export"]["get"]["responses"]["200"];
    export["content"] = json!({
        "application/x-ndjson": {"schema": {"type": "string", "description": "One Execution as JSON per line"}},
        "text/csv": {"schema": {"type": "string", "description": "A header row, then one run per row"}}
    });
    doc
}

/// The document, built once.
pub fn document_json() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

pub async fn document() -> Json<Value> {
    Json(document_json().clone())
}
