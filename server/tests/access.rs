//! Scopes and access (docs/access.md): tokens, the login session and its
//! cookie, cross-site refusal, failure limits, and the isolation matrix,
//! proof that no route or server function lets one scope see, count or
//! change another's runs.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use app::store::Store;
use common::serve_with_tokens;
use server::access::SessionPolicy;

on_both_databases!(
    no_scope_sees_counts_or_changes_another_scopes_runs,
    requests_without_a_valid_token_answer_401_and_pages_go_to_login,
    a_login_session_works_until_logout_and_refuses_cross_site_changes,
    sessions_end_when_idle,
    failed_logins_and_tokens_are_limited_and_a_right_token_still_works,
    an_open_server_refuses_other_sites_pages_and_foreign_names,
);

const TOKEN_A: &str = "exr_token-of-scope-acme-0001";
const TOKEN_B: &str = "exr_token-of-scope-beta-0002";
const TOKENS: &str = "acme:exr_token-of-scope-acme-0001,beta:exr_token-of-scope-beta-0002";
/// In the code of B's runs: found anywhere A can read, it is a leak.
const B_MARKER: &str = "beta_only_marker";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A response's status, headers and body text.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap(),
    }
}

/// A request as the holder of `token`.
fn as_token(token: &str, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
    client().request(method, url).bearer_auth(token)
}

/// Runs code as `token`'s scope; answers the run's response.
async fn run_as(base: &str, token: &str, code: &str) -> Value {
    let body = serde_json::json!({ "code": code }).to_string();
    let answer = send(
        as_token(token, reqwest::Method::POST, &format!("{base}/executions"))
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

/// What one request of the matrix does with a run id.
#[derive(Clone, Copy)]
enum Target {
    /// Reads or changes the run `{id}` names: B's id must answer exactly
    /// what a missing id answers.
    Run,
    /// Lists or counts: nothing of B's may show.
    Listing,
    /// Reads or changes the source or secret `{id}` names: B's name must
    /// answer exactly what a missing name answers.
    Source,
    Secret,
}

/// B's source and secret, and A's source (names are namespaces).
const B_SOURCE: &str = "b_private_api";
const B_SECRET: &str = "b_private_key";
const A_SOURCE: &str = "acme_api";

/// A source whose document needs no server: one operation, no network.
fn inline_source(name: &str) -> String {
    serde_json::json!({
        "kind": "openapi",
        "name": name,
        "document": "openapi: 3.0.0\ninfo: {title: T, version: '1'}\npaths:\n  /x:\n    get: {operationId: getX}\n",
        "baseUrl": "http://127.0.0.1:9"
    })
    .to_string()
}

/// A server function's form fields.
type Form = &'static [(&'static str, &'static str)];

/// One row: the route (as the coverage check names it), the method, the
/// path or server function with `{id}` for the run, a form body for server
/// functions, and what it targets.
struct Row {
    route: &'static str,
    method: reqwest::Method,
    path: &'static str,
    form: Form,
    target: Target,
}

const fn row(
    route: &'static str,
    method: reqwest::Method,
    path: &'static str,
    form: Form,
    target: Target,
) -> Row {
    Row {
        route,
        method,
        path,
        form,
        target,
    }
}

/// Every route and server function. A route the OpenAPI document or the
/// binary's server functions have and this table lacks fails the test.
fn matrix() -> Vec<Row> {
    use reqwest::Method as M;
    use Target::{Listing, Run, Secret, Source};
    let mut rows = vec![
        row(
            "GET /executions",
            M::GET,
            "/executions?limit=100",
            &[],
            Listing,
        ),
        row(
            "GET /executions",
            M::GET,
            "/executions?status=waiting_for_interaction",
            &[],
            Listing,
        ),
        row(
            "GET /executions",
            M::GET,
            "/executions?tool=demo.*&trigger=http",
            &[],
            Listing,
        ),
        row(
            "GET /executions",
            M::GET,
            "/executions?code=beta_only_marker",
            &[],
            Listing,
        ),
        row(
            "GET /executions",
            M::GET,
            "/executions?error=boom&exact=true",
            &[],
            Listing,
        ),
        row(
            "GET /executions",
            M::GET,
            "/executions?elicitation=true&minDurationMs=0",
            &[],
            Listing,
        ),
        row(
            "GET /executions/meta",
            M::GET,
            "/executions/meta?exact=true",
            &[],
            Listing,
        ),
        row(
            "GET /executions/export",
            M::GET,
            "/executions/export",
            &[],
            Listing,
        ),
        row(
            "GET /executions/export",
            M::GET,
            "/executions/export?format=csv",
            &[],
            Listing,
        ),
        row("GET /executions/{id}", M::GET, "/executions/{id}", &[], Run),
        row(
            "GET /executions/{id}/tool-calls",
            M::GET,
            "/executions/{id}/tool-calls",
            &[],
            Run,
        ),
        row(
            "GET /executions/{id}/interactions",
            M::GET,
            "/executions/{id}/interactions",
            &[],
            Run,
        ),
        row("GET /sources", M::GET, "/sources", &[], Listing),
        row("POST /sources", M::POST, "/sources", &[], Listing),
        row("GET /sources/{name}", M::GET, "/sources/{id}", &[], Source),
        row(
            "DELETE /sources/{name}",
            M::DELETE,
            "/sources/{id}",
            &[],
            Source,
        ),
        row(
            "POST /sources/{name}/refresh",
            M::POST,
            "/sources/{id}/refresh",
            &[],
            Source,
        ),
        row("GET /secrets", M::GET, "/secrets", &[], Listing),
        row(
            "DELETE /secrets/{name}",
            M::DELETE,
            "/secrets/{id}",
            &[],
            Secret,
        ),
        // A's own secret of the same name: B's is untouched (checked below); after the delete, which must find none of A's.
        row(
            "PUT /secrets/{name}",
            M::PUT,
            "/secrets/b_private_key",
            &[],
            Listing,
        ),
        row(
            "POST /executions/{id}/resume",
            M::POST,
            "/executions/{id}/resume",
            &[],
            Run,
        ),
        row(
            "POST /executions/{id}/cancel",
            M::POST,
            "/executions/{id}/cancel",
            &[],
            Run,
        ),
        row(
            "POST /executions/{id}/rerun",
            M::POST,
            "/executions/{id}/rerun",
            &[],
            Run,
        ),
        // Runs in the caller's own scope: B's never show afterwards.
        row("POST /executions", M::POST, "/executions", &[], Listing),
        row("GET /runs", M::GET, "/runs?executionId={id}", &[], Run),
        row("GET /metrics", M::GET, "/metrics", &[], Listing),
        row("GET /openapi.json", M::GET, "/openapi.json", &[], Listing),
        row("GET /healthz", M::GET, "/healthz", &[], Listing),
        row("GET /readyz", M::GET, "/readyz", &[], Listing),
    ];
    let fns: [(&str, Form, Target); 8] = [
        (
            "load_runs",
            &[("query", "status=waiting_for_interaction")],
            Listing,
        ),
        (
            "load_counts",
            &[("query", ""), ("now_ms", "4102444800000"), ("ticket", "x")],
            Listing,
        ),
        (
            "more_runs",
            &[
                ("query", ""),
                ("now_ms", "4102444800000"),
                ("cursor", "cd~4102444800000~z"),
            ],
            Listing,
        ),
        (
            "poll_runs",
            &[
                ("query", ""),
                ("after", "0"),
                ("watch", "{id}"),
                ("with_meta", "true"),
            ],
            Listing,
        ),
        ("load_run", &[("id", "{id}")], Run),
        ("answer_run", &[("id", "{id}"), ("action", "accept")], Run),
        ("cancel_run", &[("id", "{id}")], Run),
        ("rerun_run", &[("id", "{id}")], Run),
    ];
    for (name, form, target) in fns {
        let path: &'static str = Box::leak(format!("/api/{name}").into_boxed_str());
        rows.push(row(path, M::POST, path, form, target));
    }
    rows
}

/// A row's request as `token`, for the run `id`.
fn request(base: &str, token: &str, row: &Row, id: &str) -> reqwest::RequestBuilder {
    let url = format!("{base}{}", row.path.replace("{id}", id));
    let request = as_token(token, row.method.clone(), &url);
    if row.path.starts_with("/api/") {
        let form: Vec<(&str, String)> = row
            .form
            .iter()
            .map(|(k, v)| (*k, v.replace("{id}", id)))
            .collect();
        request.form(&form)
    } else if row.method == reqwest::Method::POST || row.method == reqwest::Method::PUT {
        let body = match row.path {
            "/executions" => r#"{"code": "return 'acme again'"}"#.to_owned(),
            "/sources" => inline_source(A_SOURCE),
            p if p.starts_with("/secrets/") => r#"{"value": "acme-secret-value"}"#.to_owned(),
            p if p.starts_with("/sources/") => String::new(),
            _ => r#"{"action": "accept"}"#.to_owned(),
        };
        request
            .header("content-type", "application/json")
            .body(body)
    } else {
        request
    }
}

async fn no_scope_sees_counts_or_changes_another_scopes_runs(store: &Store) {
    let base = serve_with_tokens(store, TOKENS, SessionPolicy::default()).await;
    // B: a finished run with a tool call and an error, and one waiting for
    // approval (a pending interaction).
    let b_done = run_as(
        &base,
        TOKEN_B,
        &format!(
            "await tools.demo.echo({{ m: '{B_MARKER}' }}); throw new Error('boom {B_MARKER}')"
        ),
    )
    .await;
    let b_waiting = run_as(
        &base,
        TOKEN_B,
        &format!("const r = await tools.demo.write({{ m: '{B_MARKER}' }}); return r;"),
    )
    .await;
    assert_eq!(
        b_waiting["status"], "waiting_for_interaction",
        "{b_waiting}"
    );
    let a_run = run_as(
        &base,
        TOKEN_A,
        "await tools.demo.echo({ a: 1 }); return 'acme'",
    )
    .await;
    let b_ids = [
        b_done["executionId"].as_str().unwrap().to_owned(),
        b_waiting["executionId"].as_str().unwrap().to_owned(),
    ];
    let a_id = a_run["executionId"].as_str().unwrap().to_owned();
    let missing = uuid::Uuid::now_v7().to_string();
    // B's source and secret; A's source.
    for (token, body) in [
        (TOKEN_B, inline_source(B_SOURCE)),
        (TOKEN_A, inline_source(A_SOURCE)),
    ] {
        let added = send(
            as_token(token, reqwest::Method::POST, &format!("{base}/sources"))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.text);
        assert_eq!(added.json()["state"], "loaded", "{}", added.text);
    }
    let secret = send(
        as_token(
            TOKEN_B,
            reqwest::Method::PUT,
            &format!("{base}/secrets/{B_SECRET}"),
        )
        .header("content-type", "application/json")
        .body(r#"{"value": "beta-secret-value"}"#),
    )
    .await;
    assert_eq!(secret.status, 204, "{}", secret.text);
    let b_secret_set = send(as_token(
        TOKEN_B,
        reqwest::Method::GET,
        &format!("{base}/secrets"),
    ))
    .await;

    // The table covers every JSON route and every server function.
    let openapi = send(as_token(
        TOKEN_A,
        reqwest::Method::GET,
        &format!("{base}/openapi.json"),
    ))
    .await;
    let mut served: BTreeSet<String> = BTreeSet::new();
    for (path, methods) in openapi.json()["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            served.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    served.extend(
        server::bundle_check::served()
            .into_iter()
            .map(|f| format!("/api/{f}")),
    );
    let table = matrix();
    let covered: BTreeSet<String> = table.iter().map(|r| r.route.to_owned()).collect();
    let uncovered: Vec<_> = served.difference(&covered).collect();
    assert!(
        uncovered.is_empty(),
        "routes without a row in the matrix: {uncovered:?}"
    );

    for row in &table {
        match row.target {
            Target::Run | Target::Source | Target::Secret => {
                let b_run_ids = b_ids.clone();
                let (b_ids, a_id, missing) = match row.target {
                    Target::Run => (b_run_ids.to_vec(), a_id.clone(), missing.clone()),
                    Target::Source => (
                        vec![B_SOURCE.to_owned()],
                        A_SOURCE.to_owned(),
                        "no_such_source".to_owned(),
                    ),
                    _ => (
                        vec![B_SECRET.to_owned()],
                        String::new(),
                        "no_such_secret".to_owned(),
                    ),
                };
                for b_id in &b_ids {
                    let theirs = send(request(&base, TOKEN_A, row, b_id)).await;
                    let nothing = send(request(&base, TOKEN_A, row, &missing)).await;
                    let what = format!("{} {} for B's run", row.method, row.path);
                    assert_eq!(theirs.status, nothing.status, "{what}: {}", theirs.text);
                    assert!(!theirs.text.contains(B_MARKER), "{what}: {}", theirs.text);
                    if row.path.starts_with("/runs") {
                        // A page carries the time it was made: the drawer
                        // says what it says of a missing run.
                        assert!(theirs.text.contains("No such run."), "{what}");
                        continue;
                    }
                    // The same body, but for the id it names.
                    let (theirs, nothing) = (
                        theirs.text.replace(b_id.as_str(), "ID"),
                        nothing.text.replace(missing.as_str(), "ID"),
                    );
                    assert!(theirs == nothing, "{what}: {theirs} ≠ {nothing}");
                }
                // And A's own run is there to be seen (the row can fail).
                if !a_id.is_empty()
                    && (row.method == reqwest::Method::GET || row.path == "/api/load_run")
                {
                    let mine = send(request(&base, TOKEN_A, row, &a_id)).await;
                    // A's run asked nobody anything: its (empty) list is there.
                    let seen = mine.text.contains(&a_id)
                        || (row.path.ends_with("/interactions") && mine.status == 200);
                    assert!(seen, "{}: {}", row.path, mine.text);
                }
            }
            Target::Listing => {
                let answer = send(request(&base, TOKEN_A, row, &b_ids[1])).await;
                let what = format!("{} {}", row.method, row.path);
                assert!(answer.status < 500, "{what}: {}", answer.text);
                for b_id in &b_ids {
                    assert!(!answer.text.contains(b_id.as_str()), "{what} shows B's run");
                }
                assert!(!answer.text.contains(B_MARKER), "{what}: {}", answer.text);
                assert!(!answer.text.contains("beta"), "{what} names scope beta");
            }
        }
    }
    // A's counts are A's alone: its run and the one the matrix posted.
    let meta = send(as_token(
        TOKEN_A,
        reqwest::Method::GET,
        &format!("{base}/executions/meta?exact=true"),
    ))
    .await;
    assert_eq!(meta.json()["totalRowCount"], 2, "{}", meta.text);
    // B's runs are as B left them: A's resume, cancel and rerun touched
    // nothing, and B still sees exactly its own two.
    let waiting = send(as_token(
        TOKEN_B,
        reqwest::Method::GET,
        &format!("{base}/executions/{}", b_ids[1]),
    ))
    .await;
    assert_eq!(
        waiting.json()["execution"]["status"],
        "waiting_for_interaction"
    );
    let listed = send(as_token(
        TOKEN_B,
        reqwest::Method::GET,
        &format!("{base}/executions?limit=100"),
    ))
    .await;
    let rows = listed.json()["executions"].as_array().unwrap().len();
    assert_eq!(rows, 2, "{}", listed.text);
    assert!(!listed.text.contains(&a_id));
    // B's source and secret are as B left them.
    let sources = send(as_token(
        TOKEN_B,
        reqwest::Method::GET,
        &format!("{base}/sources"),
    ))
    .await;
    assert!(
        sources.text.contains(B_SOURCE) && !sources.text.contains(A_SOURCE),
        "{}",
        sources.text
    );
    let secrets = send(as_token(
        TOKEN_B,
        reqwest::Method::GET,
        &format!("{base}/secrets"),
    ))
    .await;
    assert_eq!(secrets.json(), b_secret_set.json());
}

async fn requests_without_a_valid_token_answer_401_and_pages_go_to_login(store: &Store) {
    let base = serve_with_tokens(store, TOKENS, SessionPolicy::default()).await;
    for path in [
        "/executions",
        "/executions/meta",
        "/metrics",
        "/openapi.json",
        "/nope",
    ] {
        let none = send(client().get(format!("{base}{path}"))).await;
        assert_eq!(none.status, 401, "{path}: {}", none.text);
        assert_eq!(none.header("www-authenticate"), "Bearer", "{path}");
        assert_eq!(none.json()["error"]["code"], "unauthorized", "{path}");
        let wrong = send(as_token(
            "exr_not-a-token-at-all-00",
            reqwest::Method::GET,
            &format!("{base}{path}"),
        ))
        .await;
        assert_eq!(wrong.status, 401, "{path}");
        assert_eq!(
            wrong.header("www-authenticate"),
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(wrong.json()["error"]["code"], "invalid_token");
        assert!(
            !wrong.text.contains("exr_not-a-token"),
            "the token is not echoed"
        );
    }
    let post = send(
        client()
            .post(format!("{base}/api/load_runs"))
            .form(&[("query", "")]),
    )
    .await;
    assert_eq!(post.status, 401);
    // A browser goes to the login page, and comes back where it was.
    let page = send(client().get(format!("{base}/runs?status=failed"))).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location"),
        "/login?next=%2Fruns%3Fstatus%3Dfailed"
    );
    // Probes, the login page and the bundle need nothing.
    for path in ["/healthz", "/readyz", "/login"] {
        let open = send(client().get(format!("{base}{path}"))).await;
        assert_eq!(open.status, 200, "{path}");
    }
    let login = send(client().get(format!("{base}/login?next=%2F%2Fevil.test"))).await;
    assert!(
        login.text.contains(r#"name="next" value="/runs""#),
        "{}",
        login.text
    );
    let bundle = send(client().get(format!("{base}/pkg/none.js"))).await;
    assert_eq!(
        bundle.status, 404,
        "the bundle's folder answers without a token"
    );
    // The right token opens every route.
    let ok = send(as_token(
        TOKEN_A,
        reqwest::Method::GET,
        &format!("{base}/executions"),
    ))
    .await;
    assert_eq!(ok.status, 200);
    let page = send(as_token(
        TOKEN_A,
        reqwest::Method::GET,
        &format!("{base}/runs"),
    ))
    .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Log out") && page.text.contains(">acme<"),
        "the top bar shows the scope"
    );
}

/// Logs in with `token`; answers the response.
async fn log_in(base: &str, token: &str, next: &str) -> Answer {
    send(
        client()
            .post(format!("{base}/login"))
            .header("origin", base)
            .form(&[("token", token), ("next", next)]),
    )
    .await
}

/// The session cookie a login set (`name=value`).
fn session_cookie(login: &Answer) -> String {
    let set = login.header("set-cookie");
    set.split(';').next().unwrap().to_owned()
}

async fn a_login_session_works_until_logout_and_refuses_cross_site_changes(store: &Store) {
    let base = serve_with_tokens(store, TOKENS, SessionPolicy::default()).await;
    let wrong = log_in(&base, "exr_wrong-token-000000000", "/runs").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("That token is not valid."));
    assert!(wrong.header("set-cookie").is_empty());

    let login = log_in(&base, TOKEN_A, "/runs?status=failed").await;
    assert_eq!(login.status, 303, "{}", login.text);
    assert_eq!(login.header("location"), "/runs?status=failed");
    let set = login.header("set-cookie").to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: no Secure");
    let cookie = session_cookie(&login);
    // Another login gets a fresh id.
    let again = session_cookie(&log_in(&base, TOKEN_A, "/runs").await);
    assert_ne!(cookie, again);
    // Behind a TLS proxy, the cookie is Secure.
    let proxied = send(
        client()
            .post(format!("{base}/login"))
            .header("x-forwarded-proto", "https")
            .form(&[("token", TOKEN_A), ("next", "/runs")]),
    )
    .await;
    assert!(proxied.header("set-cookie").contains("; Secure"));

    let with_cookie = |method: reqwest::Method, path: &str| {
        client()
            .request(method, format!("{base}{path}"))
            .header("cookie", cookie.as_str())
    };
    let page = send(with_cookie(reqwest::Method::GET, "/runs")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(">acme<"));
    let id = run_as(
        &base,
        TOKEN_A,
        "const r = await tools.demo.write({}); return r;",
    )
    .await["executionId"]
        .as_str()
        .unwrap()
        .to_owned();
    // A state change carried by the cookie from another site is refused,
    // by Sec-Fetch-Site or, without it, by Origin.
    let cancel = format!("/executions/{id}/cancel");
    let forged =
        send(with_cookie(reqwest::Method::POST, &cancel).header("sec-fetch-site", "cross-site"))
            .await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    assert_eq!(forged.json()["error"]["code"], "cross_site_request");
    let forged =
        send(with_cookie(reqwest::Method::POST, &cancel).header("origin", "http://evil.test"))
            .await;
    assert_eq!(forged.status, 403);
    let forged = send(
        with_cookie(reqwest::Method::POST, "/api/cancel_run")
            .header("sec-fetch-site", "cross-site")
            .form(&[("id", id.as_str())]),
    )
    .await;
    assert_eq!(forged.status, 403);
    let forged_login = send(
        client()
            .post(format!("{base}/login"))
            .header("sec-fetch-site", "cross-site")
            .form(&[("token", TOKEN_B), ("next", "/runs")]),
    )
    .await;
    assert_eq!(forged_login.status, 403, "a forged login is refused");
    // Reading cross-site is not a change; a bearer request is exempt.
    let read = send(
        with_cookie(reqwest::Method::GET, "/executions").header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(read.status, 200);
    let still = send(as_token(
        TOKEN_A,
        reqwest::Method::GET,
        &format!("{base}/executions/{id}"),
    ))
    .await;
    assert_eq!(
        still.json()["execution"]["status"],
        "waiting_for_interaction"
    );
    // From the page itself it works.
    let answered = send(
        with_cookie(reqwest::Method::POST, "/api/answer_run")
            .header("sec-fetch-site", "same-origin")
            .form(&[("id", id.as_str()), ("action", "accept")]),
    )
    .await;
    assert_eq!(answered.status, 200, "{}", answered.text);

    // Logging out ends the session server-side: the old cookie is refused.
    let logout =
        send(with_cookie(reqwest::Method::POST, "/logout").header("origin", base.as_str())).await;
    assert_eq!(logout.status, 303);
    assert_eq!(logout.header("location"), "/login");
    assert!(logout.header("set-cookie").contains("Max-Age=0"));
    let after = send(with_cookie(reqwest::Method::GET, "/executions")).await;
    assert_eq!(after.status, 401);
    let page = send(with_cookie(reqwest::Method::GET, "/runs")).await;
    assert_eq!(page.status, 303);
}

async fn sessions_end_when_idle(store: &Store) {
    let policy = SessionPolicy {
        idle: Duration::from_millis(300),
        ..SessionPolicy::default()
    };
    let base = serve_with_tokens(store, TOKENS, policy).await;
    let cookie = session_cookie(&log_in(&base, TOKEN_B, "/runs").await);
    let get = || {
        send(
            client()
                .get(format!("{base}/executions"))
                .header("cookie", cookie.as_str()),
        )
    };
    assert_eq!(get().await.status, 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(get().await.status, 401, "idle past the limit");
}

async fn failed_logins_and_tokens_are_limited_and_a_right_token_still_works(store: &Store) {
    let base = serve_with_tokens(store, TOKENS, SessionPolicy::default()).await;
    for attempt in 1..=5 {
        let wrong = log_in(&base, "exr_guess-000000000000000", "/runs").await;
        assert_eq!(wrong.status, 401, "attempt {attempt}");
    }
    let sixth = log_in(&base, "exr_guess-000000000000000", "/runs").await;
    assert_eq!(sixth.status, 429, "{}", sixth.text);
    let retry: u32 = sixth.header("retry-after").parse().unwrap();
    assert!((1..=13).contains(&retry), "{retry}");
    // Wrong bearer tokens draw from the same budget.
    let wrong = send(as_token(
        "exr_guess-000000000000001",
        reqwest::Method::GET,
        &format!("{base}/executions"),
    ))
    .await;
    assert_eq!(wrong.status, 429);
    assert_eq!(wrong.json()["error"]["code"], "too_many_attempts");
    assert!(!wrong.header("retry-after").is_empty());
    // The right token is never slowed.
    let right = log_in(&base, TOKEN_A, "/runs").await;
    assert_eq!(right.status, 303);
    let bearer = send(as_token(
        TOKEN_A,
        reqwest::Method::GET,
        &format!("{base}/executions"),
    ))
    .await;
    assert_eq!(bearer.status, 200);
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("runs_access_{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Without tokens the server trusts its machine, not the web pages its
/// browser opens: a form posted from another site, or a request under a
/// rebound name, is refused; programs are not affected.
async fn an_open_server_refuses_other_sites_pages_and_foreign_names(store: &Store) {
    let base = common::serve(store).await;
    let run = |headers: &[(&'static str, &'static str)]| {
        let mut request = client()
            .post(format!("{base}/executions"))
            .header("content-type", "text/plain")
            .body(r#"{"code": "return 1"}"#);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request)
    };
    assert_eq!(run(&[]).await.status, 200, "a program posts as it likes");
    let same = run(&[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(same.status, 200);
    for forged in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("origin", "http://evil.test")][..],
    ] {
        let refused = run(forged).await;
        assert_eq!(refused.status, 403, "{forged:?}");
        assert_eq!(refused.json()["error"]["code"], "cross_site_request");
    }
    let rebound = send(
        client()
            .get(format!("{base}/executions"))
            .header("host", "evil.test:3000"),
    )
    .await;
    assert_eq!(rebound.status, 403);
    assert_eq!(rebound.json()["error"]["code"], "foreign_host");
    let local = send(
        client()
            .get(format!("{base}/executions"))
            .header("host", "localhost:3000"),
    )
    .await;
    assert_eq!(local.status, 200);
    let probe = send(
        client()
            .get(format!("{base}/healthz"))
            .header("host", "10.0.0.5"),
    )
    .await;
    assert_eq!(probe.status, 200, "probes answer whatever the name");
    let (_, listed) = common::get(&format!("{base}/executions")).await;
    assert_eq!(
        listed["executions"].as_array().unwrap().len(),
        2,
        "only the two allowed posts ran"
    );
}

/// The real binary: a non-loopback address without tokens is refused at
/// start, with what to do about it.
#[tokio::test]
async fn a_non_loopback_address_without_tokens_refuses_to_start() {
    let dir = temp_dir();
    let url = format!("sqlite://{}", dir.join("a.db").display());
    let port = common::process::free_addr()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let addr = format!("0.0.0.0:{port}");
    let mut server =
        common::process::RealServer::start_with_env(&url, &addr, &[], &[("EXECUTOR_TOKENS", "")]);
    let status = server
        .exit_within(Duration::from_secs(10))
        .await
        .expect("it exits");
    assert_eq!(status.code(), Some(2));
    let log = server.log();
    assert!(
        log.contains("refusing to listen on a non-loopback address without tokens"),
        "{log}"
    );
    assert!(log.contains("executor token new"), "{log}");
}

/// The real binary: `token new` prints a token and the config lines; the
/// config alone (hashes) lets that token in; `token list` shows scope,
/// label and hash prefix; and nothing the server logs holds a token or a
/// session id.
#[tokio::test]
async fn a_new_token_opens_the_server_through_the_config_and_never_reaches_the_log() {
    let dir = temp_dir();
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["token", "new", "--scope", "acme", "--label", "ci"])
        .output()
        .unwrap();
    assert!(made.status.success());
    let out = String::from_utf8(made.stdout).unwrap();
    let token = out.lines().next().unwrap().to_owned();
    assert!(token.starts_with("exr_") && token.len() >= 40, "{out}");
    let entry = &out[out.find("[[tokens]]").expect("config lines")..];
    assert!(
        !entry.contains(&token),
        "the config lines hold the hash only"
    );
    let config = dir.join("executor.toml");
    std::fs::write(&config, entry).unwrap();
    let config = config.to_str().unwrap().to_owned();

    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["token", "list", "--config", &config])
        .env_remove("EXECUTOR_TOKENS")
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("acme") && listed.contains("ci"), "{listed}");
    assert!(!listed.contains(&token));

    let url = format!("sqlite://{}", dir.join("a.db").display());
    let addr = common::process::free_addr();
    let server = common::process::RealServer::start_with_env(
        &url,
        &addr,
        &["--config", &config],
        &[("EXECUTOR_TOKENS", "")],
    )
    .ready()
    .await;
    let base = server.base.clone();
    let ok = send(as_token(
        &token,
        reqwest::Method::GET,
        &format!("{base}/executions"),
    ))
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let none = send(client().get(format!("{base}/executions"))).await;
    assert_eq!(none.status, 401);
    let wrong = send(as_token(
        "exr_wrong-wrong-wrong-wrong",
        reqwest::Method::GET,
        &format!("{base}/executions"),
    ))
    .await;
    assert_eq!(wrong.status, 401);
    let login = log_in(&base, &token, "/runs").await;
    assert_eq!(login.status, 303);
    let cookie = session_cookie(&login);
    let session_id = cookie.split_once('=').unwrap().1.to_owned();
    let page = send(
        client()
            .get(format!("{base}/runs"))
            .header("cookie", cookie.as_str()),
    )
    .await;
    assert_eq!(page.status, 200);
    run_as(&base, &token, "return 1").await;
    let log = server.log();
    assert!(log.contains("logged in"), "{log}");
    for secret in [token.as_str(), session_id.as_str(), "exr_wrong-wrong"] {
        assert!(!log.contains(secret), "the log holds a secret:\n{log}");
    }
}
