//! `login/` and `logout/`.

use auth_core::ports::CredentialKind;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use super::login_body;
use crate::AppState;
use crate::endpoint::{Access, Spec, always, detail};
use crate::error::ToApiError;
use crate::limits::Action;

pub(crate) const LOGIN: Spec = Spec::post("Login", Access::Open, always).throttled(Action::Login);

pub(crate) async fn login(State(state): State<AppState>, request: Request) -> Response {
    let attempt = request.method() == Method::POST;
    let response = state
        .run(&LOGIN, request, async |state, call| {
            let credentials = state
                .accounts
                .login(&call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            let mut response = ().into_response();
            let body = login_body(
                state,
                "Login successful",
                &credentials,
                response.headers_mut(),
            );
            Ok((response.into_parts().0, Json(body)).into_response())
        })
        .await;
    if let (true, Some(metrics)) = (attempt, &state.config.metrics) {
        metrics.login(response.status());
    }
    response
}

pub(crate) const LOGOUT: Spec = Spec::post("Logout", Access::Authenticated, always);

pub(crate) async fn logout(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&LOGOUT, request, async |state, call| {
            let me = call.me()?;
            state
                .accounts
                .logout(me, &call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            let mut response = detail("Logout successful");
            if me.kind == CredentialKind::Session {
                crate::session::end(response.headers_mut(), state.config.secure_cookies);
            }
            Ok(response)
        })
        .await
}
