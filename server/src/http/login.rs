//! The page's login: `GET /login` is a form with a token field (no
//! JavaScript needed), `POST /login` checks the token and starts a session
//! (a fresh id every time), `POST /logout` ends it server-side. Pages only:
//! programs send `Authorization: Bearer` instead.

use axum::extract::{FromRequest, RawForm, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::access::session::cookie_value;
use crate::access::{self, Access, Principal, Refusal, Via};
use crate::state::AppState;

/// Where a login goes when it was not sent from a page.
const HOME: &str = "/runs";

/// `next` if it is a path on this site, else the runs page: a login must
/// never send the browser to another site.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p,
        _ => HOME,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The login page, with `refused` said above the form.
fn page(state: &AppState, next: &str, refused: Option<&str>) -> Html<String> {
    let css = format!("/pkg/{}.css", state.leptos_options.output_name);
    let refused = refused.map_or_else(String::new, |r| {
        format!(r#"<p class="refused" role="alert">{}</p>"#, escape(r))
    });
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Runs</title><link rel="stylesheet" href="{css}"></head>
<body><form class="login" method="post" action="/login">
<h1>Runs</h1>
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}">
{refused}<button type="submit">Log in</button>
</form></body></html>"#,
        css = escape(&css),
        next = escape(next),
    ))
}

fn query_next(request: &Request) -> Option<String> {
    form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
}

pub async fn form(State(state): State<AppState>, request: Request) -> Response {
    let next = query_next(&request);
    let next = local_path(next.as_deref());
    if state.access.is_open() {
        return Redirect::to(next).into_response();
    }
    page(&state, next, None).into_response()
}

pub async fn log_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let client = access::client(&request);
    let method = request.method().clone();
    let Ok(RawForm(body)) = RawForm::from_request(request, &state).await else {
        return (StatusCode::BAD_REQUEST, "the login form could not be read").into_response();
    };
    let field = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let next = field("next");
    let next = local_path(next.as_deref()).to_owned();
    // A forged login (into the attacker's scope) is refused like any other
    // cross-site state change.
    if access::csrf_refused(&method, &headers) {
        return (
            StatusCode::FORBIDDEN,
            page(
                &state,
                &next,
                Some("This form must be sent from this site."),
            ),
        )
            .into_response();
    }
    let access: &Access = &state.access;
    let Some(sessions) = access.sessions() else {
        return Redirect::to(&next).into_response();
    };
    let token = field("token").unwrap_or_default();
    match access.check_token(token.trim(), client) {
        Ok(scope) => {
            // A fresh id at every login; the one the browser held ends.
            if let Some(old) = cookie_value(&headers) {
                if let Ok(Some((old, _))) = sessions.find(old).await {
                    let _ = sessions.end(&old).await;
                }
            }
            match sessions.start(&scope).await {
                Ok(id) => {
                    tracing::info!(%scope, %client, "logged in");
                    let mut response = Redirect::to(&next).into_response();
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, sessions.set_cookie(&id, &headers));
                    response
                }
                Err(e) => {
                    let trace_id = uuid::Uuid::now_v7().to_string();
                    tracing::error!(%trace_id, error = %e, "could not start a session");
                    let said = format!("Could not log in: internal error; trace id {trace_id}");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        page(&state, &next, Some(&said)),
                    )
                        .into_response()
                }
            }
        }
        Err(Refusal::TooManyFailures { retry_after_secs }) => {
            tracing::info!(%client, "login refused: too many failed attempts");
            let said = format!("Too many failed attempts; try again in {retry_after_secs} s.");
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                page(&state, &next, Some(&said)),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(_) => {
            tracing::info!(%client, "login refused: wrong token");
            (
                StatusCode::UNAUTHORIZED,
                page(&state, &next, Some("That token is not valid.")),
            )
                .into_response()
        }
    }
}

/// Ends the request's session (the access layer has checked it and that
/// the request came from this site) and clears its cookie.
pub async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let principal = request.extensions().get::<Principal>().cloned();
    let Some(sessions) = state.access.sessions() else {
        return Redirect::to(HOME).into_response();
    };
    if let Some(Principal {
        via: Via::Session { id },
        scope,
    }) = principal
    {
        if let Err(e) = sessions.end(&id).await {
            return crate::http::ApiError::Store(e).into_response();
        }
        tracing::info!(%scope, "logged out");
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, sessions.clear_cookie(&headers));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            local_path(Some("/runs?status=failed")),
            "/runs?status=failed"
        );
        for away in ["//evil.test/x", "https://evil.test", "/\\evil.test", "runs"] {
            assert_eq!(local_path(Some(away)), HOME, "{away}");
        }
        assert_eq!(local_path(None), HOME);
        assert_eq!(escape("\"><script>"), "&quot;&gt;&lt;script&gt;");
    }
}
