//! Tool sources (docs/sources.md): OpenAPI documents and MCP servers become
//! tools under their name. Configured in the config file (every scope, or
//! one) and per scope through the API or the CLI (stored in the database).
//! A source that fails to load is listed with its error and has no tools;
//! it never takes the others or the server down.

pub mod config;
pub mod mcp;
pub mod openapi;
pub mod secrets;
pub mod spec;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use app::engine::tools::{
    Invocation, LocalFuture, Policy, Registry, SourceInfo, ToolDescriptor, ToolError, ToolSource,
};
use app::store::{now_ms, Store};

use secrets::Secrets;
use spec::{ConfigSource, SourceSpec};

/// How long one source may take to load before it is listed as failed.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// What every source's calls use: the server's runtime (calls are made
/// there, not on a sandbox thread), one HTTP client, the secrets.
#[derive(Clone)]
pub struct Context {
    pub runtime: tokio::runtime::Handle,
    pub http: reqwest::Client,
    pub secrets: Arc<Secrets>,
}

/// Where a source was configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The config file: changed there, not through the API.
    Config,
    /// The API or the CLI, stored in the database for its scope.
    Api,
    /// The server itself (the demo fixtures of `--demo-tools`).
    Server,
}

/// A source as `GET /sources` shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceView {
    pub name: String,
    pub kind: String,
    #[schema(value_type = String)]
    pub origin: Origin,
    /// `loaded` or `failed`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub tool_count: usize,
    /// The document's title or the server's name, once loaded.
    pub title: String,
    /// The configuration as given (secrets only as references; an inline
    /// document left out).
    #[schema(value_type = Object)]
    pub spec: Value,
    pub loaded_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Invalid(String),
    #[error("no source named '{0}'")]
    NotFound(String),
    #[error("the source '{0}' is the server's (its config file or its own); change it there")]
    Configured(String),
    #[error("stdio sources (command) are off on this server; its operator can allow them with --allow-stdio-sources, or configure the source in the config file")]
    StdioOff,
    #[error(transparent)]
    Store(#[from] app::store::StoreError),
}

struct Loaded {
    spec: SourceSpec,
    origin: Origin,
    info: SourceInfo,
    tool_count: usize,
    loaded_at: i64,
    /// The stored row's `updated_at` it was loaded from (API sources), so
    /// a change made through another server is noticed.
    version: i64,
}

/// `None`: every scope's.
type Key = (Option<String>, String);

pub struct Sources {
    registry: Arc<Registry>,
    store: Store,
    context: Context,
    stdio_allowed: bool,
    loaded: Mutex<BTreeMap<Key, Loaded>>,
}

/// A source that did not load: listed with its error, no tools.
struct Failed(SourceInfo);

impl ToolSource for Failed {
    fn info(&self) -> SourceInfo {
        self.0.clone()
    }
    fn tools(&self) -> Vec<ToolDescriptor> {
        Vec::new()
    }
    fn invoke(&self, call: Invocation) -> LocalFuture<Result<Value, ToolError>> {
        Box::pin(std::future::ready(Err(app::engine::tools::unknown_tool(
            &call.path,
        ))))
    }
}

impl Sources {
    pub fn new(
        registry: Arc<Registry>,
        store: Store,
        secrets: Arc<Secrets>,
        stdio_allowed: bool,
    ) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("executor/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            registry,
            store,
            context: Context {
                runtime: tokio::runtime::Handle::current(),
                http,
                secrets,
            },
            stdio_allowed,
            loaded: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn secrets(&self) -> &Arc<Secrets> {
        &self.context.secrets
    }

    /// Loads the config file's sources and every scope's stored ones, all
    /// at once; each failure is logged and listed.
    pub async fn start(self: &Arc<Self>, config: Vec<ConfigSource>, policies: Vec<Policy>) {
        self.registry.set_policies(policies);
        let mut all: Vec<(Option<String>, SourceSpec, Origin, i64)> = config
            .into_iter()
            .map(|c| (c.scope, c.spec, Origin::Config, 0))
            .collect();
        match self.store.all_sources().await {
            Ok(rows) => {
                for row in rows {
                    match serde_json::from_str::<SourceSpec>(&row.spec_json) {
                        Ok(spec) => {
                            all.push((Some(row.scope_id), spec, Origin::Api, row.updated_at))
                        }
                        Err(e) => {
                            tracing::error!(scope = %row.scope_id, source = %row.name, error = %e, "a stored source does not read")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the stored sources"),
        }
        let loads = all.into_iter().map(|(scope, spec, origin, version)| {
            let this = self.clone();
            async move {
                this.load(scope, spec, origin, version).await;
            }
        });
        futures_util::future::join_all(loads).await;
    }

    /// Loads (or reloads) one source and registers it, failed or not.
    async fn load(
        self: &Arc<Self>,
        scope: Option<String>,
        spec: SourceSpec,
        origin: Origin,
        version: i64,
    ) -> SourceInfo {
        let loaded =
            tokio::time::timeout(LOAD_TIMEOUT, self.open(scope.as_deref(), &spec, origin)).await;
        let source: Arc<dyn ToolSource> = match loaded {
            Ok(Ok(source)) => source,
            Ok(Err(error)) => Arc::new(self.failed(&spec, error)),
            Err(_) => Arc::new(self.failed(
                &spec,
                format!("did not load within {} s", LOAD_TIMEOUT.as_secs()),
            )),
        };
        let info = source.info();
        if let Some(error) = &info.error {
            tracing::warn!(source = %info.id, %error, "a tool source failed to load");
        }
        let registered = match &scope {
            Some(scope) => self.registry.register_in(scope, source),
            None => self.registry.replace(source),
        };
        let tool_count = registered.unwrap_or_else(|e| {
            tracing::error!(source = spec.name(), error = %e, "a tool source could not be registered");
            0
        });
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                (scope, spec.name().to_owned()),
                Loaded {
                    spec,
                    origin,
                    info: info.clone(),
                    tool_count,
                    loaded_at: now_ms(),
                    version,
                },
            );
        info
    }

    fn failed(&self, spec: &SourceSpec, error: String) -> Failed {
        Failed(SourceInfo {
            id: spec.name().to_owned(),
            name: spec.name().to_owned(),
            kind: spec.kind().to_owned(),
            error: Some(error),
        })
    }

    async fn open(
        self: &Arc<Self>,
        scope: Option<&str>,
        spec: &SourceSpec,
        origin: Origin,
    ) -> Result<Arc<dyn ToolSource>, String> {
        // A stored source is held to this server's rules whenever it is
        // loaded (stdio allowed or not); the config file's were checked
        // when the file was read.
        if origin == Origin::Api {
            spec.check(false, self.stdio_allowed)?;
        }
        match spec {
            SourceSpec::Openapi(s) => Ok(Arc::new(
                openapi::OpenApiSource::load(s, self.context.clone()).await?,
            )),
            SourceSpec::Mcp(s) => {
                // Its tools change under it (`list_changed`, a reconnect):
                // the registry and the list learn the new ones.
                let weak = Arc::downgrade(self);
                let key: Key = (scope.map(str::to_owned), s.name.clone());
                let on_change: mcp::OnChange = Arc::new(move || {
                    if let Some(this) = weak.upgrade() {
                        this.tools_changed(&key);
                    }
                });
                let secret_scope = scope.unwrap_or(app::model::LOCAL_SCOPE);
                mcp::McpSource::connect(s, secret_scope, self.context.clone(), on_change).await
            }
        }
    }

    /// A source's tools changed: the registry's catalog and the count follow.
    fn tools_changed(&self, key: &Key) {
        let Some(count) = self.registry.recatalog(key.0.as_deref(), &key.1) else {
            return;
        };
        if let Some(l) = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(key)
        {
            l.tool_count = count;
        }
    }

    /// The sources a scope sees: every scope's and its own, and those the
    /// server registered itself, by name.
    pub fn list(&self, scope: &str) -> Vec<SourceView> {
        let mut views: Vec<SourceView> = {
            let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            loaded
                .iter()
                .filter(|((s, _), _)| s.as_deref().is_none_or(|s| s == scope))
                .map(|(_, l)| view(l))
                .collect()
        };
        for (info, tools) in self.registry.sources(scope) {
            if info.kind != "builtin" && !views.iter().any(|v| v.name == info.id) {
                views.push(SourceView {
                    name: info.id.clone(),
                    kind: info.kind,
                    origin: Origin::Server,
                    state: "loaded".into(),
                    error: None,
                    tool_count: tools,
                    title: info.name,
                    spec: serde_json::json!({ "name": info.id }),
                    loaded_at: 0,
                });
            }
        }
        views.sort_by(|a, b| a.name.cmp(&b.name));
        views
    }

    pub fn get(&self, scope: &str, name: &str) -> Option<SourceView> {
        self.list(scope).into_iter().find(|v| v.name == name)
    }

    /// Adds (or replaces) a scope's source: checked, loaded, stored. A
    /// source that fails to load is kept, listed with its error.
    pub async fn add(
        self: &Arc<Self>,
        scope: &str,
        spec: SourceSpec,
    ) -> Result<SourceView, SourceError> {
        if matches!(&spec, SourceSpec::Mcp(m) if m.command.is_some()) && !self.stdio_allowed {
            return Err(SourceError::StdioOff);
        }
        spec.check(false, self.stdio_allowed)
            .map_err(SourceError::Invalid)?;
        if self.origin(scope, spec.name()) == Some(Origin::Config) {
            return Err(SourceError::Configured(spec.name().to_owned()));
        }
        let json = serde_json::to_string(&spec).map_err(|e| SourceError::Invalid(e.to_string()))?;
        let version = now_ms();
        self.store
            .put_source(scope, spec.name(), &json, version)
            .await?;
        let name = spec.name().to_owned();
        self.load(Some(scope.to_owned()), spec, Origin::Api, version)
            .await;
        self.get(scope, &name).ok_or(SourceError::NotFound(name))
    }

    pub async fn remove(&self, scope: &str, name: &str) -> Result<(), SourceError> {
        match self.origin(scope, name) {
            None => return Err(SourceError::NotFound(name.to_owned())),
            Some(Origin::Config | Origin::Server) => {
                return Err(SourceError::Configured(name.to_owned()))
            }
            Some(Origin::Api) => {}
        }
        self.store.delete_source(scope, name).await?;
        self.registry.remove_in(scope, name);
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(Some(scope.to_owned()), name.to_owned()));
        Ok(())
    }

    /// Follows what other servers on the same database changed: stored
    /// sources added or changed since this one loaded them are loaded, and
    /// removed ones dropped. Cheap when nothing changed (names and times).
    pub async fn sync(self: &Arc<Self>) -> Result<(), SourceError> {
        let stored = self.store.source_versions().await?;
        let (stale, gone) = {
            let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            let stale: Vec<(String, String)> = stored
                .iter()
                .filter(|(scope, name, version)| {
                    loaded
                        .get(&(Some(scope.clone()), name.clone()))
                        .is_none_or(|l| l.origin == Origin::Api && l.version < *version)
                })
                .map(|(scope, name, _)| (scope.clone(), name.clone()))
                .collect();
            let gone: Vec<(String, String)> = loaded
                .iter()
                .filter(|(_, l)| l.origin == Origin::Api)
                .filter_map(|((scope, name), _)| Some((scope.clone()?, name.clone())))
                .filter(|(scope, name)| !stored.iter().any(|(s, n, _)| s == scope && n == name))
                .collect();
            (stale, gone)
        };
        for (scope, name) in gone {
            self.registry.remove_in(&scope, &name);
            self.loaded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(Some(scope), name));
        }
        for (scope, name) in stale {
            let Some(row) = self.store.source(&scope, &name).await? else {
                continue;
            };
            match serde_json::from_str::<SourceSpec>(&row.spec_json) {
                Ok(spec) => {
                    tracing::info!(%scope, source = %name, "loading a source another server added or changed");
                    self.load(Some(scope), spec, Origin::Api, row.updated_at)
                        .await;
                }
                Err(e) => {
                    tracing::error!(%scope, source = %name, error = %e, "a stored source does not read")
                }
            }
        }
        Ok(())
    }

    /// Loads a source again (a changed document, a server back up).
    pub async fn refresh(
        self: &Arc<Self>,
        scope: &str,
        name: &str,
    ) -> Result<SourceView, SourceError> {
        let found = {
            let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            [Some(scope.to_owned()), None].into_iter().find_map(|s| {
                loaded
                    .get(&(s.clone(), name.to_owned()))
                    .map(|l| (s, l.spec.clone(), l.origin, l.version))
            })
        };
        let Some((key_scope, spec, origin, version)) = found else {
            return Err(SourceError::NotFound(name.to_owned()));
        };
        self.load(key_scope, spec, origin, version).await;
        self.get(scope, name)
            .ok_or(SourceError::NotFound(name.to_owned()))
    }

    fn origin(&self, scope: &str, name: &str) -> Option<Origin> {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded
            .get(&(Some(scope.to_owned()), name.to_owned()))
            .or_else(|| loaded.get(&(None, name.to_owned())))
            .map(|l| l.origin)
            .or_else(|| {
                let registered = self.registry.sources(scope);
                registered
                    .iter()
                    .any(|(info, _)| info.id == name && info.kind != "builtin")
                    .then_some(Origin::Server)
            })
    }
}

fn view(l: &Loaded) -> SourceView {
    let mut spec = serde_json::to_value(&l.spec).unwrap_or_default();
    if let Some(doc) = spec.get_mut("document") {
        // The text can be megabytes; its size says enough.
        *doc = Value::String(format!("({} bytes)", doc.as_str().map_or(0, str::len)));
    }
    SourceView {
        name: l.spec.name().to_owned(),
        kind: l.spec.kind().to_owned(),
        origin: l.origin,
        state: if l.info.error.is_some() {
            "failed"
        } else {
            "loaded"
        }
        .to_owned(),
        error: l.info.error.clone(),
        tool_count: l.tool_count,
        title: l.info.name.clone(),
        spec,
        loaded_at: l.loaded_at,
    }
}
