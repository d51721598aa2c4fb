//! `credentials/` and `credentials/revoke/` (beyond DRR): the caller's live
//! tokens and sessions, and revoking them.

use auth_core::credentials::kind_name;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::endpoint::{Access, Spec, always, detail};
use crate::error::ToApiError;
use crate::limits::Action;

pub(crate) const CREDENTIALS: Spec = Spec {
    name: "Credentials",
    methods: &[Method::GET],
    allow: "GET, HEAD, OPTIONS",
    access: Access::Authenticated,
    enabled: always,
    throttle: None,
    padded: false,
};

/// `[{"id", "kind", "created", "current"}]`, oldest first where the store
/// records issue times.
pub(crate) async fn list(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&CREDENTIALS, request, async |state, call| {
            let me = call.me()?;
            let listed = state.accounts.credentials(me).await?;
            let body: Vec<Value> = listed
                .into_iter()
                .map(|c| {
                    json!({
                        "id": c.info.id,
                        "kind": kind_name(c.info.kind),
                        "created": c.info.created_at.and_then(|t| t.format(&Rfc3339).ok()),
                        "current": c.current,
                    })
                })
                .collect();
            Ok(Json(body).into_response())
        })
        .await
}

pub(crate) const REVOKE: Spec = Spec::post("Revoke Credentials", Access::Authenticated, always)
    .throttled(Action::Reauthenticate);

/// `{"password", "id"}` revokes one; `{"password", "all": true}` every
/// credential but the caller's.
pub(crate) async fn revoke(State(state): State<AppState>, request: Request) -> Response {
    state
        .run(&REVOKE, request, async |state, call| {
            let me = call.me()?;
            let revoked = state
                .accounts
                .revoke_credentials(me, &call.form)
                .await
                .map_err(|e| e.to_api(state.non_field()))?;
            Ok(detail(&match revoked {
                1 => "1 credential revoked".to_owned(),
                n => format!("{n} credentials revoked"),
            }))
        })
        .await
}
