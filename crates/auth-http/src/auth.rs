//! Who is calling: `Authorization: Token|Bearer <key>` first, then the
//! session cookie — DRF's `TokenAuthentication`, `SessionAuthentication` —
//! with simplejwt's `Bearer` after the token (djoser) or before it
//! (dj-rest-auth's JWT mode).

use auth_core::flows::{AuthenticateError, Authenticated};
use auth_core::ports::{AuthToken, CredentialKind};
use axum::http::{HeaderMap, Method, header};

use crate::error::{ApiError, ToApiError};
use crate::session;
use crate::{AppState, Dialect};

/// The caller of a request, or `None` for an anonymous one. A bad token
/// header is a 401 even on open endpoints and wins over a session cookie;
/// a session-authenticated unsafe request must pass the CSRF checks.
pub(crate) async fn caller(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<Authenticated>, ApiError> {
    // dj-rest-auth's JWT mode tries simplejwt's header, then its access
    // cookie, before DRF's token.
    let restauth = &state.accounts.settings().restauth;
    if state.config.dialect == Dialect::RestAuth && restauth.use_jwt {
        if let Some(jwt) = bearer_header(headers)? {
            return bearer_caller(state, &jwt).await.map(Some);
        }
        if let Some(jwt) = crate::jwt_cookies::access(headers, restauth) {
            let caller = bearer_caller(state, jwt).await?;
            if restauth.jwt_auth_cookie_use_csrf && !is_safe(method) {
                session::check_csrf(headers).map_err(ApiError::Forbidden)?;
            }
            return Ok(Some(caller));
        }
    }
    if let Some(key) = token_header(headers, state.config.dialect)? {
        let caller = state
            .accounts
            .authenticate(AuthToken::new(key), CredentialKind::Token)
            .await
            .map_err(|e| e.to_api(false))?;
        return Ok(Some(caller));
    }
    if state.config.dialect == Dialect::Djoser
        && let Some(jwt) = bearer_header(headers)?
    {
        return bearer_caller(state, &jwt).await.map(Some);
    }
    let Some(session) = session::cookie(
        headers,
        session::session_cookie(state.config.secure_cookies),
    )
    .filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let caller = match state
        .accounts
        .authenticate(AuthToken::new(session), CredentialKind::Session)
        .await
    {
        Ok(caller) => caller,
        // An unknown or expired session cookie makes the request anonymous, as in Django.
        Err(AuthenticateError::InvalidToken | AuthenticateError::UserInactive) => return Ok(None),
        Err(other) => return Err(other.to_api(false)),
    };
    if !is_safe(method) {
        session::check_origin(headers, &state.config.trusted_origins)
            .map_err(ApiError::Forbidden)?;
        session::check_csrf(headers).map_err(ApiError::Forbidden)?;
    }
    Ok(Some(caller))
}

/// Django's safe methods, which need no CSRF check.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The caller a simplejwt access token names.
async fn bearer_caller(state: &AppState, jwt: &str) -> Result<Authenticated, ApiError> {
    state
        .accounts
        .authenticate_bearer(jwt)
        .await
        .map_err(|e| e.to_api(false))
}

/// The key of a `Token` (or, in DRR's dialect, `Bearer`) authorization
/// header, with DRF's errors for malformed ones; `None` when another scheme
/// or no header. djoser's `Bearer` is simplejwt's, not a DRF token.
fn token_header(headers: &HeaderMap, dialect: Dialect) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    // Read on every authenticated request: split without collecting.
    let mut parts = value
        .as_bytes()
        .split(u8::is_ascii_whitespace)
        .filter(|p| !p.is_empty());
    let Some(keyword) = parts.next() else {
        return Ok(None);
    };
    let bearer = dialect == Dialect::Drr && keyword.eq_ignore_ascii_case(b"bearer");
    if !(keyword.eq_ignore_ascii_case(b"token") || bearer) {
        return Ok(None);
    }
    match (parts.next(), parts.next()) {
        (None, _) => Err(ApiError::Unauthenticated(
            "Invalid token header. No credentials provided.",
        )),
        (Some(key), None) => std::str::from_utf8(key)
            .map(|k| Some(k.to_owned()))
            .map_err(|_| {
                ApiError::Unauthenticated(
                    "Invalid token header. Token string should not contain invalid characters.",
                )
            }),
        (Some(_), Some(_)) => Err(ApiError::Unauthenticated(
            "Invalid token header. Token string should not contain spaces.",
        )),
    }
}

/// The token of an `Authorization: Bearer <jwt>` header, as simplejwt's
/// `JWTAuthentication` reads it (exactly `Bearer`, then one value).
fn bearer_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let mut parts = value
        .as_bytes()
        .split(|b| *b == b' ')
        .filter(|p| !p.is_empty());
    if parts.next() != Some(b"Bearer".as_slice()) {
        return Ok(None);
    }
    match (parts.next(), parts.next()) {
        (Some(token), None) => Ok(Some(String::from_utf8_lossy(token).into_owned())),
        _ => Err(ApiError::Jwt {
            detail: "Authorization header must contain two space-delimited values",
            code: Some("bad_authorization_header"),
            messages: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            axum::http::HeaderValue::from_bytes(value).unwrap(),
        );
        headers
    }

    fn token_header_drr(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
        token_header(headers, Dialect::Drr)
    }

    #[test]
    fn djoser_leaves_bearer_to_simplejwt() {
        assert_eq!(
            token_header(&header(b"Bearer abc"), Dialect::Djoser).unwrap(),
            None
        );
        assert_eq!(
            token_header(&header(b"Token abc"), Dialect::Djoser).unwrap(),
            Some("abc".into())
        );
    }

    #[test]
    fn token_header_follows_drf() {
        assert_eq!(
            token_header_drr(&header(b"Token abc")).unwrap(),
            Some("abc".into())
        );
        assert_eq!(
            token_header_drr(&header(b"token abc")).unwrap(),
            Some("abc".into())
        );
        assert_eq!(
            token_header_drr(&header(b"Bearer abc")).unwrap(),
            Some("abc".into())
        );
        assert_eq!(token_header_drr(&header(b"Basic abc")).unwrap(), None);
        assert!(
            matches!(token_header_drr(&header(b"Token")), Err(ApiError::Unauthenticated(m)) if m.contains("No credentials"))
        );
        assert!(
            matches!(token_header_drr(&header(b"Token a b")), Err(ApiError::Unauthenticated(m)) if m.contains("spaces"))
        );
        assert!(
            matches!(token_header_drr(&header(b"Token \xff\xfe")), Err(ApiError::Unauthenticated(m)) if m.contains("invalid characters"))
        );
        assert_eq!(token_header_drr(&HeaderMap::new()).unwrap(), None);
    }
}
