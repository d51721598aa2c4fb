//! Request bodies read as DRF's parsers read them: JSON, form-encoded and
//! multipart; anything else with a body is 415.

use auth_core::form::Form;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};

use crate::error::ApiError;

/// Reads the whole body (at most `limit` bytes).
pub(crate) async fn read_bytes(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::PayloadTooLarge
        } else {
            ApiError::Parse(format!("could not read the request body: {error}"))
        }
    })
}

/// The submitted fields of a request.
pub(crate) async fn parse(headers: &HeaderMap, bytes: Bytes) -> Result<Form, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_owned();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type.is_empty() {
        // DRF: no content type means no data, whatever the body holds.
        return Ok(Form::new());
    }
    match media_type.as_str() {
        "application/json" => {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Form::new());
            }
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| ApiError::Parse(e.to_string()))?;
            Ok(Form::from_json(&value)?)
        }
        "application/x-www-form-urlencoded" => Ok(Form::from_pairs(
            form_urlencoded::parse(&bytes).into_owned(),
        )),
        "multipart/form-data" => multipart(&content_type, bytes).await,
        _ if bytes.is_empty() => Ok(Form::new()),
        _ => Err(ApiError::UnsupportedMediaType(content_type)),
    }
}

async fn multipart(content_type: &str, bytes: Bytes) -> Result<Form, ApiError> {
    let invalid = |e: multer::Error| ApiError::Parse(format!("Multipart form parse error - {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(invalid)?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(bytes) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut pairs = Vec::new();
    while let Some(field) = parts.next_field().await.map_err(invalid)? {
        // File uploads carry no account field: skip them.
        if field.file_name().is_some() {
            continue;
        }
        let name = field.name().unwrap_or_default().to_owned();
        let value = field.text().await.map_err(invalid)?;
        pairs.push((name, value));
    }
    Ok(Form::from_pairs(pairs))
}
