//! The scope a request runs in: the one extractor every JSON route takes it
//! from, set by the access layer (`crate::access::authenticate`) for the
//! request's token or session. A request the layer did not let in has no
//! scope and is refused, so a route mounted without the layer fails closed.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::ApiError;
use crate::access::Principal;

#[derive(Clone, Debug)]
pub struct Scope(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .map(|p| Scope(p.scope.clone()))
            .ok_or(ApiError::Unauthenticated)
    }
}
