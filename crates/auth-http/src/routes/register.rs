//! `register/`, `verify-registration/`, and our `resend-verification/`.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{login_body, profile_body, public_profile};
use crate::AppState;
use crate::endpoint::{Access, Spec, detail};
use crate::error::ToApiError;
use crate::limits::Action;

pub(crate) const REGISTER: Spec = Spec::post("Register", Access::Open, |s| s.register.enabled)
    .throttled(Action::Register)
    .padded();

pub(crate) async fn register(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&REGISTER, request, async |state, call| {
            let registration = state
                .accounts
                .register(&call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            let fields = &state.accounts.settings().user_fields;
            Ok(match registration.created() {
                // DRR's answer, id included, when a taken address is an error anyway.
                Some(user) if !hides_taken_addresses(state.accounts.settings()) => {
                    (StatusCode::CREATED, Json(profile_body(user, fields))).into_response()
                }
                // No id: a pretended registration has none to show, and the
                // answers must not differ.
                _ => (
                    StatusCode::CREATED,
                    Json(public_profile(&registration.profile(), fields)),
                )
                    .into_response(),
            })
        })
        .await
}

/// Whether a taken address gets a new account's answer (see
/// `RegisterSettings::fail_when_email_taken`).
pub(crate) fn hides_taken_addresses(settings: &auth_core::settings::Settings) -> bool {
    !settings.register.fail_when_email_taken && settings.register.verification_enabled
}

pub(crate) const VERIFY_REGISTRATION: Spec = Spec::post("Verify Registration", Access::Open, |s| {
    s.register.verification_enabled
})
.throttled(Action::Verify);

pub(crate) async fn verify_registration(
    State(state): State<AppState>,
    request: Request,
) -> Response {
    state
        .run(&VERIFY_REGISTRATION, request, async |state, call| {
            let verified = state
                .accounts
                .verify_registration(&call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            let message = "User verified successfully";
            let Some(login) = verified.login else {
                return Ok(detail(message));
            };
            let mut response = ().into_response();
            let body = login_body(state, message, &login, response.headers_mut());
            Ok((response.into_parts().0, Json(body)).into_response())
        })
        .await
}

pub(crate) const RESEND_VERIFICATION: Spec = Spec::post("Resend Verification", Access::Open, |s| {
    s.register.verification_enabled
})
.throttled(Action::Resend)
.padded();

/// Beyond DRR: mails a new registration link to an unverified account.
pub(crate) async fn resend_verification(
    State(state): State<AppState>,
    request: Request,
) -> Response {
    state
        .run(&RESEND_VERIFICATION, request, async |state, call| {
            state
                .accounts
                .resend_verification(&call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            Ok(detail(
                "Verification link sent if the account exists and is not verified",
            ))
        })
        .await
}
