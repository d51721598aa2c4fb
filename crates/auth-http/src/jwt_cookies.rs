//! dj-rest-auth's JWT cookies (`JWT_AUTH_COOKIE`, `JWT_AUTH_REFRESH_COOKIE`):
//! the access and refresh tokens set on login and refresh, read back by
//! authentication and `token/refresh/`, deleted on logout.

use auth_core::settings::RestAuthSettings;
use auth_core::signing::jwt::JwtSigner;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use crate::session;

fn same_site(settings: &RestAuthSettings) -> SameSite {
    match settings.jwt_auth_samesite.as_str() {
        "Strict" => SameSite::Strict,
        "None" => SameSite::None,
        _ => SameSite::Lax,
    }
}

/// One JWT cookie, with dj-rest-auth's attributes; `None` value: deleted.
fn put(
    headers: &mut HeaderMap,
    settings: &RestAuthSettings,
    name: &str,
    path: &str,
    value: Option<(&str, time::Duration)>,
) {
    let mut cookie = Cookie::build((name.to_owned(), value.map_or("", |(v, _)| v).to_owned()))
        .path(path.to_owned())
        .http_only(settings.jwt_auth_httponly)
        .secure(settings.jwt_auth_secure)
        .same_site(same_site(settings))
        .max_age(value.map_or(time::Duration::ZERO, |(_, age)| age));
    if !settings.jwt_auth_cookie_domain.is_empty() {
        cookie = cookie.domain(settings.jwt_auth_cookie_domain.clone());
    }
    if let Ok(value) = HeaderValue::from_str(&cookie.build().to_string()) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Sets the access cookie, when one is configured.
pub(crate) fn set_access(headers: &mut HeaderMap, settings: &RestAuthSettings, access: &str) {
    if !settings.jwt_auth_cookie.is_empty() {
        let value = Some((access, JwtSigner::ACCESS_LIFETIME));
        put(headers, settings, &settings.jwt_auth_cookie, "/", value);
    }
}

/// Sets the refresh cookie, when one is configured.
pub(crate) fn set_refresh(headers: &mut HeaderMap, settings: &RestAuthSettings, refresh: &str) {
    if !settings.jwt_auth_refresh_cookie.is_empty() {
        let value = Some((refresh, JwtSigner::REFRESH_LIFETIME));
        let path = &settings.jwt_auth_refresh_cookie_path;
        put(
            headers,
            settings,
            &settings.jwt_auth_refresh_cookie,
            path,
            value,
        );
    }
}

/// Deletes both cookies (logout).
pub(crate) fn unset(headers: &mut HeaderMap, settings: &RestAuthSettings) {
    if !settings.jwt_auth_cookie.is_empty() {
        put(headers, settings, &settings.jwt_auth_cookie, "/", None);
    }
    if !settings.jwt_auth_refresh_cookie.is_empty() {
        let path = &settings.jwt_auth_refresh_cookie_path;
        put(
            headers,
            settings,
            &settings.jwt_auth_refresh_cookie,
            path,
            None,
        );
    }
}

/// The access token of the request's access cookie.
pub(crate) fn access<'a>(headers: &'a HeaderMap, settings: &RestAuthSettings) -> Option<&'a str> {
    read(headers, &settings.jwt_auth_cookie)
}

/// The refresh token of the request's refresh cookie.
pub(crate) fn refresh<'a>(headers: &'a HeaderMap, settings: &RestAuthSettings) -> Option<&'a str> {
    read(headers, &settings.jwt_auth_refresh_cookie)
}

fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    session::cookie(headers, name).filter(|value| !value.is_empty())
}
