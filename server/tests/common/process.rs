//! The real `executor` binary as a child process, for fault tests: started
//! on a database URL and a free port, stopped with a real signal, and killed
//! with SIGKILL when the guard drops, so a failing test never leaves a live
//! server behind.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

pub struct RealServer {
    child: Option<Child>,
    pub base: String,
    pub addr: String,
    stderr_path: std::path::PathBuf,
}

/// A loopback port nobody listens on right now.
pub fn free_addr() -> String {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    probe.local_addr().expect("probe address").to_string()
}

impl RealServer {
    /// Starts `executor serve` with the demo tools on `database_url`.
    pub fn start(database_url: &str, addr: &str, extra: &[&str]) -> Self {
        Self::start_with_env(database_url, addr, extra, &[])
    }

    /// [`RealServer::start`] with extra environment variables.
    pub fn start_with_env(
        database_url: &str,
        addr: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let stderr_path =
            std::env::temp_dir().join(format!("runs_server_{}.log", uuid::Uuid::now_v7().simple()));
        let stderr = std::fs::File::create(&stderr_path).expect("server log file");
        let child = Command::new(env!("CARGO_BIN_EXE_executor"))
            .args(["serve", "--addr", addr, "--database-url", database_url])
            .arg("--demo-tools")
            .args(extra)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the executor binary");
        Self {
            child: Some(child),
            base: format!("http://{addr}"),
            addr: addr.to_owned(),
            stderr_path,
        }
    }

    /// Waits until `/healthz` answers; panics (with the server's log) if the
    /// process exits or does not answer within 15 s.
    pub async fn ready(mut self) -> Self {
        for _ in 0..750 {
            if reqwest::get(format!("{}/healthz", self.base)).await.is_ok() {
                return self;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("server exited with {status}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not start:\n{}", self.log());
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGKILL, as a crash or the OOM killer would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`TERM`, `INT`) with the real `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Some(status);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}
