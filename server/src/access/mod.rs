//! Who a request is, and so which scope it sees (docs/access.md). With no
//! tokens configured every request is scope `local` (the server then binds
//! loopback only). With tokens, every route but the health checks, the
//! login page and the hashed bundle needs a bearer token or a login
//! session; [`authenticate`] decides once per request and hands handlers a
//! [`Principal`], which the one scope extractor (`http::Scope`), the page
//! and its server functions read.

pub mod config;
mod csrf;
mod limit;
pub mod session;
pub mod tokens;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::model::LOCAL_SCOPE;
use app::store::Store;

use crate::http::ApiError;
pub use csrf::refused as csrf_refused;
pub use limit::FailureLimit;
pub use session::{SessionPolicy, Sessions};
use tokens::SecretHash;
pub use tokens::Tokens;

/// How requests are let in.
#[derive(Clone)]
pub struct Access(Arc<Mode>);

#[allow(
    clippy::large_enum_variant,
    reason = "one per server, behind an Arc: the size of Open is never paid twice"
)]
enum Mode {
    /// No tokens: everything is scope `local`.
    Open,
    Protected {
        tokens: Tokens,
        sessions: Sessions,
        failures: FailureLimit,
    },
}

/// Who made a request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub scope: String,
    pub via: Via,
}

#[derive(Clone, Debug)]
pub enum Via {
    /// No tokens are configured.
    Open,
    /// A bearer token, by its label.
    Token { label: String },
    /// A login session, by its id's hash.
    Session { id: SecretHash },
}

impl Access {
    pub fn open() -> Self {
        Self(Arc::new(Mode::Open))
    }

    /// Tokens required; with none, the same as [`Access::open`].
    pub fn with_tokens(tokens: Tokens, store: Store, policy: SessionPolicy) -> Self {
        if tokens.is_empty() {
            return Self::open();
        }
        Self(Arc::new(Mode::Protected {
            tokens,
            sessions: Sessions::new(store, policy),
            failures: FailureLimit::default(),
        }))
    }

    pub fn is_open(&self) -> bool {
        matches!(*self.0, Mode::Open)
    }

    /// The login sessions, when tokens are required.
    pub fn sessions(&self) -> Option<&Sessions> {
        match &*self.0 {
            Mode::Open => None,
            Mode::Protected { sessions, .. } => Some(sessions),
        }
    }

    /// The scope a login with `token` opens, or why not: a wrong token
    /// counts against `client`'s failures (429 past them).
    pub fn check_token(&self, token: &str, client: IpAddr) -> Result<String, Refusal> {
        match &*self.0 {
            Mode::Open => Ok(LOCAL_SCOPE.to_owned()),
            Mode::Protected { tokens, .. } => match tokens.lookup(token) {
                Some(grant) => Ok(grant.scope.clone()),
                None => Err(self.wrong_token(client)),
            },
        }
    }

    /// Periodic upkeep: expired sessions deleted, idle addresses forgotten.
    pub async fn sweep(&self) {
        if let Mode::Protected {
            sessions, failures, ..
        } = &*self.0
        {
            failures.forget_idle();
            match sessions.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
            }
        }
    }

    /// Who a request is, from its method, headers and client address:
    /// `Ok(None)` when it carries no credentials. (Not the request itself:
    /// its body is not `Sync`, and this future must be `Send`.)
    async fn identify(
        &self,
        method: &Method,
        headers: &HeaderMap,
        client: IpAddr,
    ) -> Result<Option<Principal>, Refusal> {
        let Mode::Protected {
            tokens, sessions, ..
        } = &*self.0
        else {
            // Open to its own machine, and so to any page its browser
            // opens: a page elsewhere must not run code here (a form
            // posted across sites), nor reach it under its own name (DNS
            // rebinding: the browser then calls it same-origin).
            if !csrf::loopback_host(headers) {
                return Err(Refusal::ForeignHost);
            }
            if csrf::refused(method, headers) {
                return Err(Refusal::CrossSite);
            }
            return Ok(Some(Principal {
                scope: LOCAL_SCOPE.to_owned(),
                via: Via::Open,
            }));
        };
        if let Some(token) = bearer(headers) {
            return match tokens.lookup(token) {
                Some(grant) => Ok(Some(Principal {
                    scope: grant.scope.clone(),
                    via: Via::Token {
                        label: grant.label.clone(),
                    },
                })),
                None => Err(self.wrong_token(client)),
            };
        }
        let Some(id) = session::cookie_value(headers) else {
            return Ok(None);
        };
        match sessions.find(id).await {
            Ok(Some((id, scope))) => {
                if csrf::refused(method, headers) {
                    return Err(Refusal::CrossSite);
                }
                Ok(Some(Principal {
                    scope,
                    via: Via::Session { id },
                }))
            }
            // An expired or ended session is no session.
            Ok(None) => Ok(None),
            Err(e) => Err(Refusal::Store(e)),
        }
    }

    fn wrong_token(&self, client: IpAddr) -> Refusal {
        match &*self.0 {
            Mode::Protected { failures, .. } => match failures.failed(client) {
                None => Refusal::WrongToken,
                Some(retry_after_secs) => Refusal::TooManyFailures { retry_after_secs },
            },
            Mode::Open => Refusal::WrongToken,
        }
    }
}

/// Why a request is not let in.
#[derive(Debug)]
pub enum Refusal {
    WrongToken,
    TooManyFailures {
        retry_after_secs: u32,
    },
    CrossSite,
    /// An open server asked for under a name that is not its own machine's.
    ForeignHost,
    Store(app::store::StoreError),
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::WrongToken => ApiError::InvalidToken,
            Refusal::TooManyFailures { retry_after_secs } => {
                ApiError::TooManyFailures { retry_after_secs }
            }
            Refusal::CrossSite => ApiError::CrossSite,
            Refusal::ForeignHost => ApiError::ForeignHost,
            Refusal::Store(e) => ApiError::Store(e),
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The client's address (one bucket for all when the server was started
/// without connection info).
pub fn client(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// Routes anyone may reach: probes, the login page, and the bundle (its
/// files are named by content hash and hold nothing of anyone's).
fn public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/login") || path.starts_with("/pkg/")
}

/// Pages a browser navigates to: without credentials they go to the login
/// page rather than answer 401.
fn page(method: &Method, path: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD) && matches!(path, "/" | "/runs")
}

/// The middleware: lets the request in with its [`Principal`], or answers
/// 401 (`WWW-Authenticate: Bearer`), 403 (cross-site), 429 (too many
/// failures), or sends a browser to `/login?next=…`.
pub async fn authenticate(
    State(access): State<Access>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if public(path) {
        return next.run(request).await;
    }
    let who = client(&request);
    let identified = access
        .identify(request.method(), request.headers(), who)
        .await;
    match identified {
        Ok(Some(principal)) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Ok(None) if page(request.method(), path) => {
            let wanted = request
                .uri()
                .path_and_query()
                .map_or("/runs", |pq| pq.as_str());
            let next_param: String = form_urlencoded::byte_serialize(wanted.as_bytes()).collect();
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
        Ok(None) => ApiError::Unauthenticated.into_response(),
        Err(refusal) => {
            if let Refusal::TooManyFailures { .. } | Refusal::WrongToken = refusal {
                tracing::info!(client = %who, path, "refused a wrong bearer token");
            }
            ApiError::from(refusal).into_response()
        }
    }
}
