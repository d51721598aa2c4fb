//! The pages' templates: compiled in from `templates/pages/`, each file
//! overridable by one of the same name in the configured folder (the one
//! that overrides the mail templates, under `pages/`).

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

/// Why the page templates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    /// An override could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A template does not parse.
    #[error("template {name}: {source}")]
    Template {
        /// Its name.
        name: String,
        /// minijinja's error.
        source: minijinja::Error,
    },
}

macro_rules! files {
    ($($file:literal),* $(,)?) => {
        /// Every page template and its compiled-in default.
        const FILES: &[(&str, &str)] = &[
            $(($file, include_str!(concat!("../../../../templates/pages/", $file))),)*
        ];
    };
}

files!(
    "base.html",
    "_field.html",
    "home.html",
    "register.html",
    "login.html",
    "logout.html",
    "forgot_password.html",
    "reset_password.html",
    "confirm_link.html",
    "change_password.html",
);

/// The parsed page templates (a broken override fails at start).
#[derive(Debug)]
pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    /// The defaults, with any file in `overrides/pages/` taking precedence.
    pub fn load(overrides: Option<&Path>) -> Result<Self, PagesError> {
        let mut env = Environment::new();
        for (file, default) in FILES {
            let source = match overrides.map(|dir| dir.join("pages").join(file)) {
                Some(path) if path.is_file() => {
                    std::fs::read_to_string(&path).map_err(|source| PagesError::Read {
                        path: path.display().to_string(),
                        source,
                    })?
                }
                _ => (*default).to_owned(),
            };
            let name = format!("pages/{file}");
            env.add_template_owned(name.clone(), source)
                .map_err(|source| PagesError::Template { name, source })?;
        }
        Ok(Self { env })
    }

    /// `file` rendered with `context`; a template that fails to render
    /// (an override using a missing value in a strict way) is an error.
    pub(crate) fn render(
        &self,
        file: &str,
        context: impl Serialize,
    ) -> Result<String, minijinja::Error> {
        self.env
            .get_template(&format!("pages/{file}"))?
            .render(minijinja::value::Serde(context))
    }
}
