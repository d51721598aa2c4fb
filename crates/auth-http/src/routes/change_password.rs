//! `change-password/`.

use auth_core::ports::CredentialKind;
use axum::extract::{Request, State};
use axum::response::Response;

use crate::AppState;
use crate::endpoint::{Access, Spec, always, detail};
use crate::error::ToApiError;
use crate::limits::Action;

pub(crate) const CHANGE_PASSWORD: Spec =
    Spec::post("Change Password", Access::Authenticated, always).throttled(Action::Reauthenticate);

pub(crate) async fn change_password(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&CHANGE_PASSWORD, request, async |state, call| {
            let me = call.me()?;
            let changed = state
                .accounts
                .change_password(me, &call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            let mut response = detail("Password changed successfully");
            if changed.caller_logged_out && me.kind == CredentialKind::Session {
                crate::session::end(response.headers_mut(), state.config.secure_cookies);
            }
            Ok(response)
        })
        .await
}
