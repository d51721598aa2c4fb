//! `send-reset-password-link/` and `reset-password/`.

use axum::extract::{Request, State};
use axum::response::Response;

use crate::AppState;
use crate::endpoint::{Access, Spec, detail};
use crate::error::ToApiError;
use crate::limits::Action;

pub(crate) const SEND_LINK: Spec = Spec::post("Send Reset Password Link", Access::Open, |s| {
    s.reset_password.enabled
})
.throttled(Action::SendResetLink)
.padded();

pub(crate) async fn send_link(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&SEND_LINK, request, async |state, call| {
            state
                .accounts
                .send_reset_password_link(&call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            // DRR words it by the setting, not by whether a user was found.
            Ok(detail(
                if state
                    .accounts
                    .settings()
                    .reset_password
                    .fail_when_user_not_found
                {
                    "Reset link sent"
                } else {
                    "Reset link sent if the user exists in database"
                },
            ))
        })
        .await
}

pub(crate) const RESET: Spec =
    Spec::post("Reset Password", Access::Open, |s| s.reset_password.enabled)
        .throttled(Action::ResetPassword);

pub(crate) async fn reset(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&RESET, request, async |state, call| {
            state
                .accounts
                .reset_password(&call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            Ok(detail("Reset password successful"))
        })
        .await
}
