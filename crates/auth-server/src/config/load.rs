//! Reading the sources: compiled defaults, then a TOML file, then `AUTH_*`
//! variables. A key no setting declares stops loading with the closest
//! known name; an alias reads as its setting.

use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use super::{Config, declarations};

/// `AUTH_*` variables that are not settings: read by the binary itself.
const NOT_SETTINGS: [&str; 3] = ["CONFIG", "LOG", "SERVER_BIN"];

/// A configuration that cannot be used, with where the bad value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value has the wrong type or shape (figment names its source).
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    /// A key no setting has.
    #[error("unknown setting {key} in {source_name}{}", suggestion.as_ref().map(|s| format!("; did you mean {s}?")).unwrap_or_default())]
    Unknown {
        /// The key as written.
        key: String,
        /// The file or the environment.
        source_name: String,
        /// The closest known key, as it would be written there.
        suggestion: Option<String>,
    },
    /// One of DRR's settings that names Python code, which cannot run here.
    #[error("{key} in {source_name} cannot carry over from django-rest-registration: {advice}")]
    NotHere {
        /// The key as written.
        key: String,
        /// The file or the environment.
        source_name: String,
        /// What to do instead.
        advice: &'static str,
    },
    /// A setting given twice in one source, under its name and an alias.
    #[error("{key} is given twice in {source_name}, under its name and an alias")]
    Twice {
        /// The setting.
        key: String,
        /// The file or the environment.
        source_name: String,
    },
    /// Several of the errors above, every one a source has.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<ConfigError>),
    /// A value parses but means nothing.
    #[error("{key}: {message}")]
    Invalid {
        /// The setting.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// A source whose keys are checked against the declarations and whose
/// aliases are renamed to their settings; its metadata (and so figment's
/// naming of bad values) stays the source's own.
struct Checked<P> {
    inner: P,
    data: Map<Profile, Dict>,
}

impl<P: Provider> Checked<P> {
    /// Checks `inner`'s keys; `prefix` is how they are written there
    /// (`AUTH_` in the environment), for messages.
    fn new(inner: P, prefix: &'static str) -> Result<Self, ConfigError> {
        let source_name = match inner.metadata().source {
            Some(source) => source.to_string(),
            None => "the environment".to_owned(),
        };
        let mut data = inner.data().map_err(Box::new)?;
        let declared = declarations();
        // Every bad key, not only the first: a misspelt file is fixed in one go.
        let mut errors = Vec::new();
        for dict in data.values_mut() {
            let mut renamed = Dict::new();
            for (key, value) in std::mem::take(dict) {
                let upper = key.to_ascii_uppercase();
                let Some(setting) = declared
                    .iter()
                    .find(|d| d.name() == upper || d.aliases.contains(&upper.as_str()))
                else {
                    errors.push(match super::drr_only::advice(&upper) {
                        Some(advice) => ConfigError::NotHere {
                            key: format!("{prefix}{key}"),
                            source_name: source_name.clone(),
                            advice,
                        },
                        None => ConfigError::Unknown {
                            key: format!("{prefix}{key}"),
                            source_name: source_name.clone(),
                            suggestion: closest(&upper).map(|name| format!("{prefix}{name}")),
                        },
                    });
                    continue;
                };
                if renamed.insert(setting.name(), value).is_some() {
                    errors.push(ConfigError::Twice {
                        key: format!("{prefix}{}", setting.name()),
                        source_name: source_name.clone(),
                    });
                }
            }
            *dict = renamed;
        }
        match errors.len() {
            0 => Ok(Self { inner, data }),
            1 => Err(errors.remove(0)),
            _ => Err(ConfigError::Several(errors)),
        }
    }
}

impl<P: Provider> Provider for Checked<P> {
    fn metadata(&self) -> Metadata {
        self.inner.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(self.data.clone())
    }
}

/// The declared name (or alias) nearest to `key`, if any is near at all.
fn closest(key: &str) -> Option<String> {
    declarations()
        .iter()
        .flat_map(|d| std::iter::once(d.name()).chain(d.aliases.iter().map(|a| (*a).to_owned())))
        .map(|name| (strsim::damerau_levenshtein(key, &name), name))
        .filter(|(distance, name)| *distance <= (name.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

impl Config {
    /// Loads defaults, then `file` (if given, or `auth.toml` if present), then
    /// `AUTH_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let file = match file {
            Some(path) => Toml::file_exact(path),
            None => Toml::file("auth.toml"),
        };
        // `lowercase(false)` must come last: `ignore` resets it.
        let env = Env::prefixed("AUTH_")
            .ignore(&NOT_SETTINGS)
            .lowercase(false);
        // Both sources' bad keys together.
        let (file, env) = match (Checked::new(file, ""), Checked::new(env, "AUTH_")) {
            (Ok(file), Ok(env)) => (file, env),
            (Err(error), Ok(_)) | (Ok(_), Err(error)) => return Err(error),
            (Err(first), Err(second)) => {
                return Err(ConfigError::Several(
                    [first, second]
                        .into_iter()
                        .flat_map(ConfigError::each)
                        .collect(),
                ));
            }
        };
        Figment::new()
            .merge(file)
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }
}

impl ConfigError {
    /// The errors this one holds: itself, or each of several.
    pub fn each(self) -> Vec<ConfigError> {
        match self {
            Self::Several(errors) => errors,
            other => vec![other],
        }
    }
}

/// A value written as a TOML boolean, a number (`1`/`0`) or a word
/// (`true`, `yes`, `on`, …), as environment variables usually are.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flexible {
    Bool(bool),
    Int(i64),
    Text(String),
}

fn to_bool<E: serde::de::Error>(value: Flexible) -> Result<bool, E> {
    let refuse =
        |shown: String| E::custom(format!("expected a boolean (1/0, true/false), got {shown}"));
    match value {
        Flexible::Bool(b) => Ok(b),
        Flexible::Int(1) => Ok(true),
        Flexible::Int(0) => Ok(false),
        Flexible::Int(n) => Err(refuse(n.to_string())),
        Flexible::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(refuse(format!("{other:?}"))),
        },
    }
}

pub(super) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Option::<Flexible>::deserialize(d)?.map(to_bool).transpose()
}

pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    to_bool(Flexible::deserialize(d)?)
}

/// A list written as a TOML array or as comma-separated text.
#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrText {
    List(Vec<String>),
    Text(String),
}

fn to_list(value: ListOrText) -> Vec<String> {
    match value {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

pub(super) fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<ListOrText>::deserialize(d)?.map(to_list))
}

pub(super) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(to_list(ListOrText::deserialize(d)?))
}

pub(super) fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
}

pub(super) fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(list(d)?.into_iter().map(SecretString::from).collect())
}
