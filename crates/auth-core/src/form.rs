//! Request fields read by Django REST framework's rules (drr-api.md §1.3),
//! and the validation errors they produce.
//!
//! Workflows take a [`Form`] so that one place decides what "required",
//! "blank", "null" and "not a valid string" mean, whatever the transport
//! (JSON, form-encoded, or a direct call from a custom stack).

use std::collections::BTreeMap;

use crate::domain::{Email, EmailError};

/// A field value as the client sent it, before any rule is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// JSON `null`.
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON number, in its source text (`42`, `1.0`, `-3e2`).
    Number(String),
    /// A string (JSON string, or any form-encoded value).
    Text(String),
    /// A JSON array.
    List,
    /// A JSON object.
    Object,
}

/// The submitted fields by name. A name that is absent was not sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form(BTreeMap<String, RawValue>);

/// Why a request body is not a form at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The body is JSON `null`.
    #[error("No data provided")]
    NoData,
    /// The body is JSON but not an object.
    #[error("Invalid data. Expected a dictionary, but got {0}.")]
    NotAnObject(&'static str),
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text field (builder style, for direct callers and tests).
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_owned(), RawValue::Text(value.into()));
        self
    }

    /// Adds a field with any raw value.
    pub fn with(mut self, name: &str, value: RawValue) -> Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    /// The raw value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.0.get(name)
    }

    /// Whether no field was sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a parsed JSON body the way DRF does: an object becomes a form;
    /// `null` and non-objects are refused with DRF's messages.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, FormError> {
        use serde_json::Value;
        let object = match value {
            Value::Object(object) => object,
            Value::Null => return Err(FormError::NoData),
            Value::Array(_) => return Err(FormError::NotAnObject("list")),
            Value::String(_) => return Err(FormError::NotAnObject("str")),
            Value::Bool(_) => return Err(FormError::NotAnObject("bool")),
            Value::Number(n) if n.is_f64() => return Err(FormError::NotAnObject("float")),
            Value::Number(_) => return Err(FormError::NotAnObject("int")),
        };
        let fields = object
            .iter()
            .map(|(name, value)| {
                let raw = match value {
                    Value::Null => RawValue::Null,
                    Value::Bool(b) => RawValue::Bool(*b),
                    Value::Number(n) => RawValue::Number(n.to_string()),
                    Value::String(s) => RawValue::Text(s.clone()),
                    Value::Array(_) => RawValue::List,
                    Value::Object(_) => RawValue::Object,
                };
                (name.clone(), raw)
            })
            .collect();
        Ok(Self(fields))
    }

    /// A form from decoded `application/x-www-form-urlencoded` (or multipart
    /// text) pairs; a repeated name keeps its last value, as Django's
    /// `QueryDict` does for single-valued fields.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), RawValue::Text(v.into())))
                .collect(),
        )
    }
}

/// One field-level message with its stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// DRF / Django code: `required`, `null`, `blank`, `invalid`,
    /// `max_length`, `unique`, `password_too_short`, …
    pub code: &'static str,
    /// English message as DRF words it.
    pub message: String,
}

impl FieldError {
    /// A message with its code.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn required() -> Self {
        Self::new("required", "This field is required.")
    }
}

/// Every validation message of one request, by field.
///
/// `non_field` is `Some` when object-level validation ran, which DRR shows
/// as a `non_field_errors` key (empty on register and reset-password).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    /// Messages per field name.
    pub fields: BTreeMap<&'static str, Vec<FieldError>>,
    /// Object-level messages, when the object-level stage reported.
    pub non_field: Option<Vec<FieldError>>,
}

impl ValidationErrors {
    /// Adds a message to `field`.
    pub fn add(&mut self, field: &'static str, error: FieldError) {
        self.fields.entry(field).or_default().push(error);
    }

    /// Whether there is no message.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.non_field.as_ref().is_none_or(Vec::is_empty)
    }

    /// Keeps the value of a field reader, or records its error.
    pub(crate) fn take<T>(
        &mut self,
        field: &'static str,
        read: Result<T, FieldError>,
    ) -> Option<T> {
        match read {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error);
                None
            }
        }
    }

    /// `Err(self)` when anything was recorded.
    pub(crate) fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// A single-field error set.
    pub fn single(field: &'static str, error: FieldError) -> Self {
        let mut errors = Self::default();
        errors.add(field, error);
        errors
    }

    /// An object-level error set (`non_field_errors`).
    pub fn object(code: &'static str, message: &str) -> Self {
        Self {
            non_field: Some(vec![FieldError::new(code, message)]),
            ..Self::default()
        }
    }
}

/// How a text field is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRule {
    pub required: bool,
    pub allow_blank: bool,
    pub max_length: Option<usize>,
}

impl TextRule {
    pub const REQUIRED: Self = Self {
        required: true,
        allow_blank: false,
        max_length: None,
    };
    pub const OPTIONAL_BLANK: Self = Self {
        required: false,
        allow_blank: true,
        max_length: None,
    };

    pub const fn max(self, n: usize) -> Self {
        Self {
            max_length: Some(n),
            ..self
        }
    }
}

/// DRF `CharField`: strings and numbers become text, stripped of
/// surrounding whitespace. `Ok(None)` means absent and not required.
/// `text` without the surrounding whitespace Python's `str.strip()` removes
/// (as DRF's CharField does): Unicode's White_Space and the separators
/// U+001C to U+001F, which Python counts as whitespace too.
pub(crate) fn strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

pub(crate) fn read_text(
    form: &Form,
    name: &str,
    rule: TextRule,
) -> Result<Option<String>, FieldError> {
    let text = match form.get(name) {
        None if rule.required => return Err(FieldError::required()),
        None => return Ok(None),
        Some(RawValue::Null) => return Err(FieldError::new("null", "This field may not be null.")),
        Some(RawValue::Text(s)) => strip(s).to_owned(),
        Some(RawValue::Number(n)) => n.clone(),
        Some(RawValue::Bool(_) | RawValue::List | RawValue::Object) => {
            return Err(FieldError::new("invalid", "Not a valid string."));
        }
    };
    if text.is_empty() && !rule.allow_blank {
        return Err(FieldError::new("blank", "This field may not be blank."));
    }
    if let Some(max) = rule.max_length
        && text.chars().count() > max
    {
        return Err(max_length(max));
    }
    // DRF's ProhibitNullCharactersValidator, on every CharField: no store
    // keeps a NUL in text (PostgreSQL refuses it outright).
    if text.contains('\0') {
        return Err(FieldError::new(
            "null_characters_not_allowed",
            "Null characters are not allowed.",
        ));
    }
    Ok(Some(text))
}

/// A required text field.
pub(crate) fn required_text(form: &Form, name: &str) -> Result<String, FieldError> {
    read_text(form, name, TextRule::REQUIRED).and_then(|t| t.ok_or_else(FieldError::required))
}

/// A required text field of at most `max` characters.
pub(crate) fn required_text_max(form: &Form, name: &str, max: usize) -> Result<String, FieldError> {
    read_text(form, name, TextRule::REQUIRED.max(max))
        .and_then(|t| t.ok_or_else(FieldError::required))
}

pub(crate) fn max_length(max: usize) -> FieldError {
    FieldError::new(
        "max_length",
        format!("Ensure this field has no more than {max} characters."),
    )
}

/// DRF `IntegerField` (required): integers, integral floats, and strings
/// Python's `int()` accepts once a trailing `.0…` is removed.
pub(crate) fn read_integer(form: &Form, name: &str) -> Result<i64, FieldError> {
    let invalid = || FieldError::new("invalid", "A valid integer is required.");
    let text = match form.get(name) {
        None => return Err(FieldError::required()),
        Some(RawValue::Null) => return Err(FieldError::new("null", "This field may not be null.")),
        Some(RawValue::Text(s)) => s.as_str(),
        Some(RawValue::Number(n)) => n.as_str(),
        Some(_) => return Err(invalid()),
    };
    if text.chars().count() > 1000 {
        return Err(FieldError::new(
            "max_string_length",
            "String value too large.",
        ));
    }
    parse_python_int(text).ok_or_else(invalid)
}

fn parse_python_int(text: &str) -> Option<i64> {
    let text = strip(text);
    // DRF strips a fractional part made only of zeros ("12.000" → "12").
    let text = match text.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int,
        Some(_) => {
            // JSON numbers like 1e3 are floats in Python: integral ones pass.
            let value: f64 = text.parse().ok()?;
            return (value.fract() == 0.0 && value.abs() < 9.2e18).then_some(value as i64);
        }
        None => text,
    };
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    // Python allows single underscores between digits.
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if !clean.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = clean.parse().ok()?;
    Some(if negative { -value } else { value })
}

/// DRF `BooleanField` (optional, default false).
/// The words DRF's `BooleanField` reads as true, in any case.
pub const TRUE_WORDS: [&str; 6] = ["t", "y", "yes", "true", "on", "1"];
/// The words DRF's `BooleanField` reads as false, in any case.
pub const FALSE_WORDS: [&str; 6] = ["f", "n", "no", "false", "off", "0"];

pub(crate) fn read_bool(form: &Form, name: &str) -> Result<bool, FieldError> {
    let invalid = || FieldError::new("invalid", "Must be a valid boolean.");
    match form.get(name) {
        None => Ok(false),
        Some(RawValue::Null) => Err(FieldError::new("null", "This field may not be null.")),
        Some(RawValue::Bool(b)) => Ok(*b),
        Some(RawValue::Number(n)) => match n.as_str() {
            "1" | "1.0" => Ok(true),
            "0" | "0.0" => Ok(false),
            _ => Err(invalid()),
        },
        Some(RawValue::Text(s)) => {
            let lower = s.to_lowercase();
            if TRUE_WORDS.contains(&lower.as_str()) {
                Ok(true)
            } else if FALSE_WORDS.contains(&lower.as_str()) {
                Ok(false)
            } else {
                Err(invalid())
            }
        }
        Some(_) => Err(invalid()),
    }
}

/// DRF `EmailField` (required).
pub(crate) fn read_email(form: &Form, name: &str) -> Result<Email, FieldError> {
    let text = required_text(form, name)?;
    Email::parse(&text).map_err(email_error)
}

pub(crate) fn email_error(error: EmailError) -> FieldError {
    match error {
        EmailError::Invalid => FieldError::new("invalid", error.to_string()),
        EmailError::TooLong { max } => max_length(max),
    }
}

#[cfg(test)]
mod tests;
