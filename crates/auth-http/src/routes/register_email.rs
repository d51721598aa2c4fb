//! `register-email/` and `verify-email/`.

use axum::extract::{Request, State};
use axum::response::Response;

use crate::AppState;
use crate::endpoint::{Access, Spec, always, detail};
use crate::error::ToApiError;
use crate::limits::Action;

pub(crate) const REGISTER_EMAIL: Spec = Spec::post("Register Email", Access::Authenticated, always)
    .throttled(Action::RegisterEmail)
    .padded();

pub(crate) async fn register_email(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&REGISTER_EMAIL, request, async |state, call| {
            let me = call.me()?;
            state
                .accounts
                .register_email(me, &call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            Ok(detail("Register email link email sent"))
        })
        .await
}

pub(crate) const VERIFY_EMAIL: Spec = Spec::post("Verify Email", Access::Open, |s| {
    s.register_email.verification_enabled
})
.throttled(Action::Verify);

pub(crate) async fn verify_email(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&VERIFY_EMAIL, request, async |state, call| {
            state
                .accounts
                .verify_email(&call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            Ok(detail("Email verified successfully"))
        })
        .await
}
