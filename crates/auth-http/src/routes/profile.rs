//! `profile/`: GET/HEAD read, PUT/POST full update, PATCH partial update.

use auth_core::flows::ProfileUpdate;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use super::profile_body;
use crate::AppState;
use crate::endpoint::{Access, Spec, always};
use crate::error::ToApiError;

pub(crate) const PROFILE: Spec = Spec {
    name: "Profile",
    methods: &[Method::GET, Method::POST, Method::PUT, Method::PATCH],
    allow: "GET, POST, PUT, PATCH, HEAD, OPTIONS",
    access: Access::Authenticated,
    enabled: always,
    throttle: None,
    padded: false,
};

pub(crate) async fn profile(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&PROFILE, request, async |state, call| {
            let me = call.me()?;
            let fields = &state.accounts.settings().user_fields;
            let mode = match call.method {
                Method::GET | Method::HEAD => {
                    return Ok(Json(profile_body(&me.user, fields)).into_response());
                }
                Method::PATCH => ProfileUpdate::Partial,
                _ => ProfileUpdate::Full,
            };
            let user = state
                .accounts
                .update_profile(me, &call.form, mode)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            Ok(Json(profile_body(&user, fields)).into_response())
        })
        .await
}
