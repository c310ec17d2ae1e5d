//! The scope a request runs in. Until access control exists every request is
//! scope `local`; handlers already take the scope from here so that adding
//! tokens changes this one extractor, not the queries.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use app::model::LOCAL_SCOPE;

use super::ApiError;

#[derive(Clone, Debug)]
pub struct Scope(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Scope(LOCAL_SCOPE.to_owned()))
    }
}
