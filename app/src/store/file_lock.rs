//! One writing process per SQLite file. Runs live in the process that
//! executes them and a server fails the unfinished runs it finds at start,
//! so a second server on the same file would fail the first one's live runs.
//! An OS lock on a file beside the database (`executor.db.lock`) keeps the
//! second one out; the file names its holder so the refusal can say who.
//! PostgreSQL is not locked here: recovery at start still assumes one
//! server per database there too (coordination of many servers is a later
//! step), which the operations guide says.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use super::db::Dialect;

/// Held for as long as the process writes the database; dropping it (or
/// the process dying, also by SIGKILL) releases the lock.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{database} is in use by another executor ({holder}); only one process may write a \
         SQLite file at a time. Stop that one first, or give this one another file"
    )]
    Held { database: String, holder: String },
    #[error("could not lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl DatabaseLock {
    /// Locks the SQLite file `database_url` names for this process, writing
    /// `holder` (who we are, for the message a second process prints).
    /// `None` for PostgreSQL and in-memory databases.
    pub fn acquire(database_url: &str, holder: &str) -> Result<Option<Self>, LockError> {
        let Some(database) = sqlite_file(database_url) else {
            return Ok(None);
        };
        let mut name = database.clone().into_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    database: database.display().to_string(),
                    holder: if holder.is_empty() {
                        "no details".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "pid {}, {holder}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Some(Self { _file: file, path }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The file a `sqlite:` URL names; `None` for other databases and memory.
fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    if Dialect::of_url(database_url) != Some(Dialect::Sqlite)
        || database_url.contains(":memory:")
        || database_url.contains("mode=memory")
    {
        return None;
    }
    let options = SqliteConnectOptions::from_str(database_url).ok()?;
    let file = options.get_filename();
    let name = file.to_string_lossy();
    if name.is_empty() {
        return None;
    }
    Some(file.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_naming_the_holder() {
        let dir = std::env::temp_dir().join(format!("runs_lock_{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("runs.db").display());
        let first = DatabaseLock::acquire(&url, "serving 127.0.0.1:3000").expect("first lock");
        assert!(first.is_some());
        let second = DatabaseLock::acquire(&url, "serving 127.0.0.1:3001").unwrap_err();
        let message = second.to_string();
        assert!(message.contains("runs.db"), "{message}");
        assert!(message.contains("serving 127.0.0.1:3000"), "{message}");
        assert!(
            message.contains(&std::process::id().to_string()),
            "{message}"
        );
        drop(first);
        assert!(DatabaseLock::acquire(&url, "again")
            .expect("free")
            .is_some());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn postgres_and_memory_need_no_lock() {
        for url in ["postgres://x@y/z", "sqlite::memory:", "sqlite://:memory:"] {
            assert!(
                DatabaseLock::acquire(url, "x").expect(url).is_none(),
                "{url}"
            );
        }
    }
}
