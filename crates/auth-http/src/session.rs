//! Django-style session and CSRF cookies.
//!
//! The session cookie (`sessionid`, or `__Host-sessionid` with secure
//! cookies, which browsers then bind to this exact origin over HTTPS) holds
//! a session credential of the token manager. The CSRF cookie (`csrftoken`) holds a random secret that unsafe
//! session-authenticated requests must echo in `X-CSRFToken`, either as is
//! (32 characters) or masked the way Django masks it (64 characters).

use std::time::Duration;

use auth_core::ports::AuthToken;
use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

const SESSION_COOKIE: &str = "sessionid";
const SECURE_SESSION_COOKIE: &str = "__Host-sessionid";
pub(crate) const CSRF_COOKIE: &str = "csrftoken";
const CSRF_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const CSRF_SECRET_LEN: usize = 32;
const CSRF_MAX_AGE: Duration = Duration::from_secs(31_449_600); // Django: one year

/// The session cookie's name: `__Host-` prefixed when cookies are `Secure`
/// (the prefix requires it). JavaScript never reads this HttpOnly cookie,
/// so its name is ours to choose.
pub(crate) fn session_cookie(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// A cookie's value from the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

fn set_cookie(headers: &mut HeaderMap, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Sets the session cookie and a fresh CSRF secret (Django rotates both at login).
pub(crate) fn start(headers: &mut HeaderMap, session: &AuthToken, max_age: Duration, secure: bool) {
    let name = session_cookie(secure);
    let attribute = secure_attribute(secure);
    set_cookie(
        headers,
        format!(
            "{name}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{attribute}",
            session.expose(),
            max_age.as_secs()
        ),
    );
    issue_csrf(headers, secure);
}

fn secure_attribute(secure: bool) -> &'static str {
    if secure { "; Secure" } else { "" }
}

/// Sets a fresh CSRF secret, for credentials in cookies that unsafe
/// requests must prove they were not forged with (sessions, and
/// dj-rest-auth's JWT cookie under `JWT_AUTH_COOKIE_USE_CSRF`).
pub(crate) fn issue_csrf(headers: &mut HeaderMap, secure: bool) {
    let secure = secure_attribute(secure);
    set_cookie(
        headers,
        format!(
            "{CSRF_COOKIE}={}; SameSite=Lax; Path=/; Max-Age={}{secure}",
            new_csrf_secret(),
            CSRF_MAX_AGE.as_secs()
        ),
    );
}

/// Deletes the session cookie.
pub(crate) fn end(headers: &mut HeaderMap, secure: bool) {
    let name = session_cookie(secure);
    let secure = if secure { "; Secure" } else { "" };
    set_cookie(
        headers,
        format!(
            "{name}=\"\"; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{secure}"
        ),
    );
}

pub(crate) fn new_csrf_secret() -> String {
    let mut bytes = [0u8; CSRF_SECRET_LEN];
    rand::fill(&mut bytes[..]);
    bytes
        .iter()
        .map(|b| char::from(CSRF_CHARS[usize::from(*b) % CSRF_CHARS.len()]))
        .collect()
}

/// Django's `_unmask_cipher_token`: a 64-character token is a mask followed
/// by the secret shifted by it; a 32-character token is the secret itself.
fn unmask(token: &str) -> Option<Vec<u8>> {
    let index = |c: u8| CSRF_CHARS.iter().position(|x| *x == c);
    let bytes = token.as_bytes();
    if !bytes.iter().all(|b| index(*b).is_some()) {
        return None;
    }
    match bytes.len() {
        CSRF_SECRET_LEN => Some(bytes.to_vec()),
        64 => {
            let (mask, cipher) = bytes.split_at(CSRF_SECRET_LEN);
            cipher
                .iter()
                .zip(mask)
                .map(|(c, m)| {
                    let (c, m) = (index(*c)?, index(*m)?);
                    Some(CSRF_CHARS[(c + CSRF_CHARS.len() - m) % CSRF_CHARS.len()])
                })
                .collect()
        }
        _ => None,
    }
}

/// Checks `X-CSRFToken` against the CSRF cookie, with Django's messages.
pub(crate) fn check_csrf(headers: &HeaderMap) -> Result<(), String> {
    let Some(secret) = cookie(headers, CSRF_COOKIE).and_then(unmask) else {
        return Err("CSRF Failed: CSRF cookie not set.".into());
    };
    let Some(sent) = headers.get("x-csrftoken").and_then(|v| v.to_str().ok()) else {
        return Err("CSRF Failed: CSRF token missing.".into());
    };
    if sent.len() != CSRF_SECRET_LEN && sent.len() != 64 {
        return Err(
            "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."
                .into(),
        );
    }
    match unmask(sent) {
        Some(sent) if bool::from(sent.ct_eq(&secret)) => Ok(()),
        Some(_) => {
            Err("CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect.".into())
        }
        None => Err(
            "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has invalid characters."
                .into(),
        ),
    }
}

/// Django's origin check: an `Origin` header must name this host or a
/// trusted origin.
pub(crate) fn check_origin(headers: &HeaderMap, trusted: &[String]) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host);
    if own || trusted.iter().any(|t| t == origin) {
        Ok(())
    } else {
        Err(format!(
            "CSRF Failed: Origin checking failed - {origin} does not match any trusted origins."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_unmask_to_the_secret() {
        let secret = "abcdefghijklmnopqrstuvwxyzABCDEF";
        // Mask of all 'b' (index 1) shifts each character by one.
        let mask = "b".repeat(32);
        let cipher: String = secret
            .bytes()
            .map(|c| {
                let i = CSRF_CHARS.iter().position(|x| *x == c).unwrap();
                char::from(CSRF_CHARS[(i + 1) % 62])
            })
            .collect();
        assert_eq!(
            unmask(&format!("{mask}{cipher}")).unwrap(),
            secret.as_bytes()
        );
        assert_eq!(unmask(secret).unwrap(), secret.as_bytes());
        assert!(unmask("short").is_none());
    }

    #[test]
    fn csrf_check_wants_the_cookie_secret_in_the_header() {
        let secret = new_csrf_secret();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("csrftoken={secret}; sessionid=x").parse().unwrap(),
        );
        assert_eq!(
            check_csrf(&headers),
            Err("CSRF Failed: CSRF token missing.".into())
        );
        headers.insert("x-csrftoken", "A".repeat(32).parse().unwrap());
        assert!(check_csrf(&headers).unwrap_err().contains("incorrect"));
        headers.insert("x-csrftoken", secret.parse().unwrap());
        assert_eq!(check_csrf(&headers), Ok(()));
    }

    #[test]
    fn foreign_origins_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "api.example".parse().unwrap());
        assert!(check_origin(&headers, &[]).is_ok());
        headers.insert(header::ORIGIN, "https://api.example".parse().unwrap());
        assert!(check_origin(&headers, &[]).is_ok());
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(check_origin(&headers, &[]).is_err());
        assert!(check_origin(&headers, &["https://evil.example".into()]).is_ok());
    }
}
