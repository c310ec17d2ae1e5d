//! What kind of failure an error is. The kind alone decides what a caller is
//! told, on the JSON API and the page's server functions alike: the message
//! of a caller's mistake, a retry hint when the server is busy, and only a
//! trace id when the fault is ours (the details go to the log).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong; the message says how.
    BadRequest,
    /// The request carries no valid credentials.
    Unauthenticated,
    /// The credentials are fine, the request is not allowed (cross-site).
    Forbidden,
    /// No such thing in the caller's scope.
    NotFound,
    /// The thing is not in a state that allows the request.
    Conflict,
    /// The server cannot take it now; retry after this many seconds.
    Unavailable { retry_after_secs: u32 },
    /// Too many failed attempts from this client; retry after this many
    /// seconds.
    TooManyFailures { retry_after_secs: u32 },
    /// Our fault (the database, the sandbox pool, a bug).
    Internal,
}

impl ErrorKind {
    /// Whether the error's own message may reach the caller.
    pub fn shows_message(self) -> bool {
        self != Self::Internal
    }

    /// Seconds a caller should wait before trying again, if it should.
    pub fn retry_after_secs(self) -> Option<u32> {
        match self {
            Self::Unavailable { retry_after_secs } | Self::TooManyFailures { retry_after_secs } => {
                Some(retry_after_secs)
            }
            _ => None,
        }
    }
}
