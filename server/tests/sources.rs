//! Tool sources against real things written elsewhere (docs/sources.md):
//! the OpenAPI Initiative's example documents, served by a small HTTP
//! server of the test's own; secrets that reach the API and nowhere else;
//! policies; discovery across sources. The MCP sources are in
//! tests/mcp_sources.rs.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::{on_both_databases, on_both_databases_with_url};

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{json, Value};

use app::engine::tools::demo::DemoSource;
use app::engine::tools::{Policy, PolicyAction};
use app::engine::{Engine, EngineConfig, Registry};
use app::store::Store;
use app::test_support::TestDb;
use common::process::{free_addr, RealServer};
use common::{get, post, serve};

on_both_databases!(
    openapi_operations_become_tools_that_call_the_api,
    policies_block_ask_or_allow_by_the_most_specific_pattern,
);
on_both_databases_with_url!(a_secret_reaches_the_api_and_nowhere_else);

const PETSTORE: &str = include_str!("data/openapi/v3.0-petstore.yaml");
const TICTACTOE: &str = include_str!("data/openapi/v3.1-tictactoe.yaml");

/// What the test API received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: String,
}

/// A real HTTP server that answers as the two documents describe: the
/// petstore under /v1 (pet `404` is missing; pet `echo` answers the
/// request's headers), the board under /ttt. Every request is recorded.
async fn test_api() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let path = uri.path().to_owned();
                let echo: serde_json::Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
                    .collect();
                log.lock().unwrap().push(Seen {
                    method: method.to_string(),
                    path: path.clone(),
                    query: uri.query().unwrap_or("").to_owned(),
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let (status, value) = match (method.as_str(), path.as_str()) {
                    ("GET", "/v1/pets") => (200, json!([{"id": 1, "name": "Rex"}])),
                    ("POST", "/v1/pets") => (201, Value::Null),
                    ("GET", "/v1/pets/404") => {
                        (404, json!({"code": 404, "message": "no such pet"}))
                    }
                    ("GET", "/v1/pets/echo") => (200, json!({"headers": echo})),
                    ("GET", "/v1/pets/echo404") => (404, json!({"headers": echo})),
                    ("GET", p) if p.starts_with("/v1/pets/") => (
                        200,
                        json!({"id": p.trim_start_matches("/v1/pets/"), "name": "Rex"}),
                    ),
                    ("GET", "/ttt/board") => (200, json!({"winner": ".", "board": [[".", ".", "."], [".", ".", "."], [".", ".", "."]]})),
                    ("PUT", p) if p.starts_with("/ttt/board/") => (
                        200,
                        json!({"winner": ".", "board": [["X", ".", "."], [".", ".", "."], [".", ".", "."]]}),
                    ),
                    _ => (500, json!({"message": "not in the test API"})),
                };
                let status = StatusCode::from_u16(status).unwrap();
                if value.is_null() {
                    (status, [("content-type", "text/plain")], String::new())
                } else {
                    (
                        status,
                        [("content-type", "application/json")],
                        value.to_string(),
                    )
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

async fn add_source(base: &str, spec: Value) -> Value {
    let (status, body) = post(&format!("{base}/sources"), Some(&spec.to_string()), &[]).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn run(base: &str, code: &str) -> Value {
    let body = json!({ "code": code }).to_string();
    let (status, answer) = post(&format!("{base}/executions"), Some(&body), &[]).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

async fn resume(base: &str, id: &str, action: &str) -> Value {
    let body = json!({ "action": action }).to_string();
    let (status, answer) = post(&format!("{base}/executions/{id}/resume"), Some(&body), &[]).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn last(seen: &Mutex<Vec<Seen>>) -> Seen {
    seen.lock().unwrap().last().cloned().unwrap()
}

async fn openapi_operations_become_tools_that_call_the_api(store: &Store) {
    let base = serve(store).await;
    let (api, seen) = test_api().await;
    let pets = add_source(
        &base,
        json!({"kind": "openapi", "name": "petstore", "document": PETSTORE, "baseUrl": format!("{api}/v1")}),
    )
    .await;
    assert_eq!(
        (pets["state"].as_str(), pets["toolCount"].as_u64()),
        (Some("loaded"), Some(3))
    );
    assert_eq!(pets["title"], "Swagger Petstore");
    let board = add_source(
        &base,
        json!({"kind": "openapi", "name": "tictactoe", "document": TICTACTOE, "baseUrl": format!("{api}/ttt")}),
    )
    .await;
    assert_eq!(board["toolCount"], 3, "{board}");
    // A broken document is listed with its error; the others work.
    let broken = add_source(
        &base,
        json!({"kind": "openapi", "name": "broken", "document": "openapi: [3.0", "baseUrl": api}),
    )
    .await;
    assert_eq!(broken["state"], "failed");
    assert!(
        broken["error"].as_str().unwrap().contains("YAML"),
        "{broken}"
    );
    let (_, listed) = get(&format!("{base}/sources")).await;
    let names: Vec<&str> = listed["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // With the server's own (the demo fixtures), by name.
    assert_eq!(names, ["broken", "demo", "petstore", "tictactoe"]);

    // GETs run freely; values go where the document says.
    let out = run(
        &base,
        "const pets = await tools.petstore.pets.listPets({ limit: 2 });
         const one = await tools.petstore.pets.showPetById({ petId: 'a b' });
         return { pets, one };",
    )
    .await;
    assert_eq!(out["status"], "completed", "{out}");
    assert_eq!(out["result"]["pets"][0]["name"], "Rex");
    assert_eq!(
        out["result"]["one"]["id"], "a%20b",
        "the test API echoes the raw path"
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            (
                seen[0].method.as_str(),
                seen[0].path.as_str(),
                seen[0].query.as_str()
            ),
            ("GET", "/v1/pets", "limit=2")
        );
        assert_eq!(seen[1].path, "/v1/pets/a%20b");
    }
    // Hyphenated ids, path-level $ref parameters, a header parameter, a
    // body; PUT needs approval, which says what will be sent.
    let paused = run(
        &base,
        "return await tools.tictactoe.gameplay.putSquare({ row: 1, column: 2, progressUrl: 'http://x/p', body: 'X' });",
    )
    .await;
    assert_eq!(paused["status"], "waiting_for_interaction", "{paused}");
    let message = paused["interaction"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("Approve PUT {api}/ttt/board/1/2?")),
        "{message}"
    );
    assert!(
        message.contains(r#""progressUrl":"http://x/p""#),
        "{message}"
    );
    let done = resume(&base, paused["executionId"].as_str().unwrap(), "accept").await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["board"][0][0], "X");
    let put = last(&seen);
    assert_eq!(
        (put.method.as_str(), put.path.as_str()),
        ("PUT", "/ttt/board/1/2")
    );
    assert_eq!(put.headers["progressurl"], "http://x/p");
    assert_eq!(put.headers["content-type"], "application/json");
    assert_eq!(put.body, r#""X""#);
    let got = run(&base, "return await tools.tictactoe.gameplay.getBoard();").await;
    assert_eq!(got["result"]["winner"], ".", "{got}");

    // createPets: declined, it fails catchably; accepted, it posts.
    let create = "try { await tools.petstore.pets.createPets({ body: { id: 7, name: 'Tom' } }); return 'created' }
                  catch (e) { return 'refused: ' + e.message }";
    let paused = run(&base, create).await;
    let declined = resume(&base, paused["executionId"].as_str().unwrap(), "decline").await;
    assert_eq!(
        declined["result"],
        "refused: declined: petstore.pets.createPets was not approved"
    );
    let before = seen.lock().unwrap().len();
    let paused = run(&base, create).await;
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "nothing is sent before the approval"
    );
    let accepted = resume(&base, paused["executionId"].as_str().unwrap(), "accept").await;
    assert_eq!(accepted["result"], "created", "{accepted}");
    let posted = last(&seen);
    assert_eq!(
        (posted.method.as_str(), posted.path.as_str()),
        ("POST", "/v1/pets")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&posted.body).unwrap(),
        json!({"id": 7, "name": "Tom"})
    );

    // A 404 rejects with its status and the body's start; recorded failed.
    let missing = run(
        &base,
        "try { return await tools.petstore.pets.showPetById({ petId: '404' }) } catch (e) { return e.message }",
    )
    .await;
    let text = missing["result"].as_str().unwrap();
    assert!(
        text.starts_with("HTTP 404 Not Found:") && text.contains("no such pet"),
        "{text}"
    );
    let id = missing["executionId"].as_str().unwrap();
    let (_, calls) = get(&format!("{base}/executions/{id}/tool-calls")).await;
    assert_eq!(calls["toolCalls"][0]["status"], "failed");
    assert!(calls["toolCalls"][0]["errorText"]
        .as_str()
        .unwrap()
        .contains("HTTP 404"));
    // Arguments the operation does not take are refused by name.
    let wrong = run(
        &base,
        "return await tools.petstore.pets.listPets({ limt: 2 })",
    )
    .await;
    assert!(
        wrong["error"]
            .as_str()
            .unwrap()
            .contains("unknown argument 'limt'; petstore.pets.listPets takes limit"),
        "{wrong}"
    );

    // Discovery across the sources and the built-ins.
    let found = run(
        &base,
        "const first = async (query) => (await tools.search({ query }))[0]?.path;
         return {
           list: await first('list pets'),
           create: await first('create a pet'),
           one: await first('pet by id'),
           square: await first('set a square on the board'),
           sources: await tools.executor.sources.list(),
           described: await tools.describe.tool({ path: 'petstore.pets.listPets' }),
           near: await tools.describe.tool({ path: 'petstore.pets.listPet' }).catch((e) => e.message),
         };",
    )
    .await;
    let r = &found["result"];
    assert_eq!(r["list"], "petstore.pets.listPets", "{r}");
    assert_eq!(r["create"], "petstore.pets.createPets", "{r}");
    assert_eq!(r["one"], "petstore.pets.showPetById", "{r}");
    assert_eq!(r["square"], "tictactoe.gameplay.putSquare", "{r}");
    assert_eq!(
        r["described"]["signature"],
        "tools.petstore.pets.listPets(args: { limit?: number }) => Promise<unknown>"
    );
    assert!(
        r["near"]
            .as_str()
            .unwrap()
            .contains("did you mean petstore.pets.listPets"),
        "{r}"
    );
    let sources = r["sources"].as_array().unwrap();
    let broken = sources.iter().find(|s| s["id"] == "broken").unwrap();
    assert_eq!(
        (broken["state"].as_str(), broken["toolCount"].as_u64()),
        (Some("failed"), Some(0))
    );

    // Removed, its tools are gone; refreshed, they are back.
    let client = reqwest::Client::new();
    let gone = client
        .delete(format!("{base}/sources/tictactoe"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    let after = run(&base, "return await tools.tictactoe.gameplay.getBoard()").await;
    assert_eq!(
        after["error"],
        "ToolError: unknown tool: tictactoe.gameplay.getBoard"
    );
    let (status, refreshed) = post(&format!("{base}/sources/petstore/refresh"), None, &[]).await;
    assert_eq!((status, refreshed["toolCount"].as_u64()), (200, Some(3)));
}

async fn policies_block_ask_or_allow_by_the_most_specific_pattern(store: &Store) {
    let registry = Registry::new();
    registry.register(Arc::new(DemoSource)).unwrap();
    let policy = |pattern: &str, action| Policy {
        pattern: pattern.into(),
        action,
        scope: None,
    };
    registry.set_policies(vec![
        policy("petstore.*", PolicyAction::RequireApproval),
        policy("petstore.pets.showPetById", PolicyAction::Block),
        policy("petstore.pets.create*", PolicyAction::Allow),
        policy("demo.write", PolicyAction::Allow),
    ]);
    let engine = Engine::start(store.clone(), registry, EngineConfig::default()).unwrap();
    let sources = server::ephemeral_sources(store, &engine);
    let base = common::serve_sources(store, engine, sources).await;
    let (api, seen) = test_api().await;
    add_source(&base, json!({"kind": "openapi", "name": "petstore", "document": PETSTORE, "baseUrl": format!("{api}/v1")})).await;

    let blocked = run(&base, "try { await tools.petstore.pets.showPetById({ petId: '1' }) } catch (e) { return e.message }").await;
    assert_eq!(
        blocked["result"],
        "blocked: the policy 'petstore.pets.showPetById' does not allow petstore.pets.showPetById"
    );
    let id = blocked["executionId"].as_str().unwrap();
    let (_, calls) = get(&format!("{base}/executions/{id}/tool-calls")).await;
    assert_eq!(calls["toolCalls"][0]["status"], "failed");
    // A GET that would run freely asks first under `petstore.*`.
    let asked = run(&base, "return await tools.petstore.pets.listPets()").await;
    assert_eq!(asked["status"], "waiting_for_interaction", "{asked}");
    // A POST that would ask runs freely under the more specific allow.
    let created = run(
        &base,
        "return await tools.petstore.pets.createPets({ body: { id: 1, name: 'A' } })",
    )
    .await;
    assert_eq!(created["status"], "completed", "{created}");
    let written = run(&base, "return (await tools.demo.write({})).written").await;
    assert_eq!(written["result"], true, "{written}");
    assert!(
        seen.lock().unwrap().iter().all(|s| s.path != "/v1/pets/1"),
        "a blocked call sends nothing"
    );
}

async fn a_secret_reaches_the_api_and_nowhere_else(db: &TestDb) {
    let secret = format!("s3cr3t-{}", uuid::Uuid::now_v7().simple());
    let work = std::env::temp_dir().join(format!("runs_secret_{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let key_file = work.join("executor.key");
    let server = RealServer::start_with_env(
        &db.url,
        &free_addr(),
        &["--secret-key-file", key_file.to_str().unwrap()],
        &[("RUST_LOG", "debug,hyper=info,h2=info,reqwest=info")],
    )
    .ready()
    .await;
    let base = server.base.clone();
    let (api, seen) = test_api().await;
    let client = reqwest::Client::new();
    let set = client
        .put(format!("{base}/secrets/pets"))
        .header("content-type", "application/json")
        .body(json!({ "value": secret }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is the owner's alone");
    }
    add_source(
        &base,
        json!({
            "kind": "openapi", "name": "petstore", "document": PETSTORE,
            "baseUrl": format!("{api}/v1"),
            "headers": {"Authorization": "Bearer {secret:pets}"},
            "query": {"api_key": "{secret:pets}"}
        }),
    )
    .await;
    let out = run(
        &base,
        "const list = await tools.petstore.pets.listPets({ limit: 1 });
         const echoed = await tools.petstore.pets.showPetById({ petId: 'echo' });
         let failed = null;
         try { await tools.petstore.pets.showPetById({ petId: 'echo404' }) } catch (e) { failed = e.message }
         console.log(JSON.stringify(echoed));
         return { list, echoed, failed };",
    )
    .await;
    assert_eq!(out["status"], "completed", "{out}");
    // It reached the API, in the header and the query.
    let first = seen.lock().unwrap()[0].clone();
    assert_eq!(first.headers["authorization"], format!("Bearer {secret}"));
    assert!(
        first.query.contains(&format!("api_key={secret}")),
        "{}",
        first.query
    );
    // What the API sent back carries the reference, not the value.
    assert_eq!(
        out["result"]["echoed"]["headers"]["authorization"],
        "Bearer {secret:pets}"
    );
    assert!(
        out["result"]["failed"]
            .as_str()
            .unwrap()
            .contains("{secret:pets}"),
        "{out}"
    );

    // Nowhere else: every answer of the API, the log, the database.
    let id = out["executionId"].as_str().unwrap();
    let mut seen_text = out.to_string();
    for path in [
        format!("/executions/{id}"),
        format!("/executions/{id}/tool-calls"),
        format!("/executions/{id}/interactions"),
        "/executions/export?format=ndjson".to_owned(),
        "/sources".to_owned(),
        "/secrets".to_owned(),
    ] {
        let text = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        seen_text.push_str(&text);
    }
    assert!(seen_text.contains("{secret:pets}"));
    assert!(
        !seen_text.contains(&secret),
        "an API answer holds the secret"
    );
    let log = server.log();
    assert!(log.contains("petstore"), "the log is being written: {log}");
    assert!(!log.contains(&secret), "the log holds the secret");
    drop(server);
    let dump = database_text(&db.url);
    assert!(dump.contains("{secret:pets}"), "the dump is readable");
    assert!(!dump.contains(&secret), "the database holds the secret");
    let _ = std::fs::remove_dir_all(work);
}

/// Everything the database holds, as text: the SQLite files' bytes, or a
/// PostgreSQL dump.
fn database_text(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let dir = std::path::Path::new(path).parent().unwrap();
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
        }
        String::from_utf8_lossy(&all).into_owned()
    } else {
        let out = std::process::Command::new("pg_dump")
            .args(["--data-only", url])
            .output()
            .expect("pg_dump");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
