//! `delete-account/` (beyond DRR): the caller deletes their own account.

use auth_core::ports::CredentialKind;
use auth_core::settings::Settings;
use axum::extract::{Request, State};
use axum::response::Response;

use crate::AppState;
use crate::endpoint::{Access, Spec, detail};
use crate::error::ToApiError;
use crate::limits::Action;

fn enabled(settings: &Settings) -> bool {
    settings.delete_account_enabled
}

pub(crate) const DELETE_ACCOUNT: Spec =
    Spec::post("Delete Account", Access::Authenticated, enabled).throttled(Action::Reauthenticate);

pub(crate) async fn delete_account(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&DELETE_ACCOUNT, request, async |state, call| {
            let me = call.me()?;
            state
                .accounts
                .delete_account(me, &call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            let mut response = detail("Account deleted");
            if me.kind == CredentialKind::Session {
                crate::session::end(response.headers_mut(), state.config.secure_cookies);
            }
            Ok(response)
        })
        .await
}
