//! When a call to the server fails: what the page tells the reader, in
//! words, and the banner that offers to try again (docs/page.md#errors).
//! The last good data stays on screen; the raw error (a transport's or a
//! decoder's text) goes to the browser's console, never onto the page.

use leptos::prelude::*;

use super::PageCtx;

/// Why a call to the server failed, as far as the page can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// The request got no answer: the network is down, or the server is.
    Unreachable,
    /// The server answered with a message of its own: a mistake of the
    /// caller's, a busy engine, or a fault of its own with a trace id.
    Server(String),
    /// The server answered something this page cannot read: an error page
    /// from a proxy, or a server of another version than this page.
    Unreadable,
}

impl Trouble {
    /// Sorts a server function's error, logging its raw text.
    pub fn of(e: &ServerFnError) -> Self {
        leptos::logging::warn!("server call failed: {e}");
        match e {
            ServerFnError::Request(_) => Self::Unreachable,
            ServerFnError::ServerError(message) => Self::Server(message.clone()),
            _ => Self::Unreadable,
        }
    }

    /// The sentence for `what` (such as "Could not load the runs").
    pub fn sentence(&self, what: &str) -> String {
        match self {
            Self::Unreachable => format!("{what}: the server cannot be reached."),
            Self::Server(message) => format!("{what}: {message}."),
            Self::Unreadable => format!(
                "{what}: the server's answer could not be read. If this goes on, reload the page."
            ),
        }
    }
}

/// A failed call, shown in the banner until it is retried, dismissed or
/// the same kind of call succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub call: Call,
    pub trouble: Trouble,
}

/// Which call failed, and so what Retry does again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// The first page of the list, with its counts.
    List,
    /// A later page of the list.
    More,
    /// The open run.
    Run,
    /// A live poll; live mode retries by itself, with backoff.
    Live,
}

impl Call {
    fn what(self) -> &'static str {
        match self {
            Call::List => "Could not load the runs",
            Call::More => "Could not load more runs",
            Call::Run => "Could not load the run",
            Call::Live => "Live updates paused",
        }
    }
}

impl Failure {
    pub fn sentence(&self) -> String {
        let sentence = self.trouble.sentence(self.call.what());
        if self.call == Call::Live {
            format!("{sentence} Retrying…")
        } else {
            sentence
        }
    }
}

impl PageCtx {
    /// Shows `e` in the banner for `call`; answers what it made of `e`.
    pub fn failed(&self, call: Call, e: &ServerFnError) -> Trouble {
        let trouble = Trouble::of(e);
        self.failure.set(Some(Failure {
            call,
            trouble: trouble.clone(),
        }));
        trouble
    }

    /// A call of this kind succeeded: a banner about it goes.
    pub fn succeeded(&self, call: Call) {
        if self
            .failure
            .with_untracked(|f| f.as_ref().is_some_and(|f| f.call == call))
        {
            self.failure.set(None);
        }
    }

    fn retry(&self, call: Call) {
        self.failure.set(None);
        match call {
            Call::List | Call::Run => self.refresh(),
            Call::More => super::list::load_more(*self),
            Call::Live => super::live::poll_now(*self),
        }
    }
}

/// The banner over the page while a call has failed.
#[component]
pub fn Banner() -> impl IntoView {
    let ctx = expect_context::<PageCtx>();
    move || {
        ctx.failure.get().map(|failure| {
            let call = failure.call;
            view! {
                <div class="banner" role="alert">
                    {failure.sentence()}
                    <button class="retry" on:click=move |_| ctx.retry(call)>"Retry"</button>
                    <button
                        class="dismiss"
                        aria-label="Dismiss"
                        on:click=move |_| ctx.failure.set(None)
                    >
                        "×"
                    </button>
                </div>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_failure_reads_as_unreachable_and_hides_the_transport_text() {
        let t = Trouble::of(&ServerFnError::Request("TypeError: Failed to fetch".into()));
        assert_eq!(t, Trouble::Unreachable);
        let s = t.sentence(Call::List.what());
        assert_eq!(s, "Could not load the runs: the server cannot be reached.");
        assert!(!s.contains("TypeError"));
    }

    #[test]
    fn the_servers_own_message_is_kept_and_an_unreadable_answer_is_not_shown() {
        let t = Trouble::of(&ServerFnError::new(
            "listing runs failed: internal error; trace id 0190",
        ));
        assert_eq!(
            t.sentence("Could not load the runs"),
            "Could not load the runs: listing runs failed: internal error; trace id 0190."
        );
        let t = Trouble::of(&ServerFnError::Deserialization(
            "expected value at line 1 column 1".into(),
        ));
        assert_eq!(t, Trouble::Unreadable);
        assert!(!t.sentence("x").contains("line 1"));
    }

    #[test]
    fn a_live_failure_says_it_retries() {
        let f = Failure {
            call: Call::Live,
            trouble: Trouble::Unreachable,
        };
        assert_eq!(
            f.sentence(),
            "Live updates paused: the server cannot be reached. Retrying…"
        );
    }
}
