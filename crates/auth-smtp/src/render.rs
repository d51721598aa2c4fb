//! Templates: the defaults compiled in, overridable file by file from a
//! directory of the same shape.

use std::path::Path;

use auth_core::notification::{Notification, NotificationKind};
use minijinja::{Environment, context};

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One-line subject.
    pub subject: String,
    /// Plain-text body (generated from the HTML one when the template has none).
    pub text: String,
    /// HTML body, if the template has one.
    pub html: Option<String>,
}

/// Why templates could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// An override file exists but cannot be read.
    #[error("cannot read template {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A template does not parse or does not render.
    #[error("template {name}: {source}")]
    Template {
        /// The template name.
        name: String,
        /// minijinja's error.
        source: minijinja::Error,
    },
}

const KINDS: [&str; 10] = [
    "register",
    "reset_password",
    "register_email",
    "register_email_used",
    "register_account_exists",
    "password_changed",
    "email_changed",
    "activated",
    "username_reset",
    "username_changed",
];

/// The compiled-in default of each template file.
fn default_source(name: &str) -> Option<&'static str> {
    macro_rules! defaults {
        ($($file:literal),* $(,)?) => {
            match name {
                $($file => include_str!(concat!("../../../templates/", $file)),)*
                _ => return None,
            }
        };
    }
    Some(defaults!(
        "register/subject.txt",
        "register/body.txt",
        "reset_password/subject.txt",
        "reset_password/body.txt",
        "register_email/subject.txt",
        "register_email/body.txt",
        "register_email_used/subject.txt",
        "register_email_used/body.txt",
        "register_account_exists/subject.txt",
        "register_account_exists/body.txt",
        "password_changed/subject.txt",
        "password_changed/body.txt",
        "email_changed/subject.txt",
        "email_changed/body.txt",
        "activated/subject.txt",
        "activated/body.txt",
        "username_reset/subject.txt",
        "username_reset/body.txt",
        "username_changed/subject.txt",
        "username_changed/body.txt",
    ))
}

/// Every template, parsed once at start (a broken override fails at start,
/// not at the first mail).
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

/// The files of one mail's templates, named by the site (DRR's
/// `*_EMAIL_TEMPLATES`): they replace that mail's defaults entirely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFiles {
    /// The subject's file.
    pub subject: std::path::PathBuf,
    /// The text body's file, if any.
    pub text: Option<std::path::PathBuf>,
    /// The HTML body's file, if any (the text part is made from it when
    /// there is no text body).
    pub html: Option<std::path::PathBuf>,
}

impl MailFiles {
    fn path(&self, file: &str) -> Option<&Path> {
        match file {
            "subject.txt" => Some(&self.subject),
            "body.txt" => self.text.as_deref(),
            _ => self.html.as_deref(),
        }
    }
}

impl Templates {
    /// The defaults, with any file present in `overrides` taking precedence.
    pub fn load(overrides: Option<&Path>) -> Result<Self, RenderError> {
        Self::load_with(overrides, &[])
    }

    /// [`load`](Self::load), with the mails of `kind` (`register`,
    /// `reset_password`, `register_email`) read from the files `named`
    /// gives instead, relative to `overrides` when not absolute.
    pub fn load_with(
        overrides: Option<&Path>,
        named: &[(&str, MailFiles)],
    ) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        for kind in KINDS {
            let files = named.iter().find(|(k, _)| *k == kind).map(|(_, f)| f);
            for file in ["subject.txt", "body.txt", "body.html"] {
                let name = format!("{kind}/{file}");
                if let Some(files) = files {
                    let Some(path) = files.path(file) else {
                        continue;
                    };
                    let path = overrides.map_or_else(|| path.to_owned(), |dir| dir.join(path));
                    let source =
                        std::fs::read_to_string(&path).map_err(|source| RenderError::Read {
                            path: path.display().to_string(),
                            source,
                        })?;
                    env.add_template_owned(name.clone(), source)
                        .map_err(|source| RenderError::Template { name, source })?;
                    continue;
                }
                let source = match overrides.map(|dir| dir.join(kind).join(file)) {
                    Some(path) if path.is_file() => {
                        std::fs::read_to_string(&path).map_err(|source| RenderError::Read {
                            path: path.display().to_string(),
                            source,
                        })?
                    }
                    _ => match default_source(&name) {
                        Some(source) => source.to_owned(),
                        None => continue,
                    },
                };
                env.add_template_owned(name.clone(), source)
                    .map_err(|source| RenderError::Template { name, source })?;
            }
        }
        Ok(Self { env })
    }

    /// Renders `notification` with its kind's templates.
    pub fn render(&self, notification: &Notification) -> Result<Rendered, RenderError> {
        let kind = notification.kind.name();
        let (email, url) = match &notification.kind {
            NotificationKind::RegisterVerification { link }
            | NotificationKind::ResetPassword { link }
            | NotificationKind::UsernameReset { link } => {
                (notification.to.as_str(), Some(link.url.as_str()))
            }
            NotificationKind::RegisterEmailVerification { email, link } => {
                (email.as_str(), Some(link.url.as_str()))
            }
            NotificationKind::EmailAlreadyUsed { email }
            | NotificationKind::AccountExists { email }
            | NotificationKind::EmailChanged { email } => (email.as_str(), None),
            NotificationKind::PasswordChanged
            | NotificationKind::Activated
            | NotificationKind::UsernameChanged => (notification.to.as_str(), None),
        };
        let ctx = context! {
            user => minijinja::value::Serde(&notification.user),
            email => email,
            verification_url => url,
        };
        let render = |file: &str| -> Result<Option<String>, RenderError> {
            let name = format!("{kind}/{file}");
            match self.env.get_template(&name) {
                Ok(template) => template
                    .render(&ctx)
                    .map(Some)
                    .map_err(|source| RenderError::Template { name, source }),
                Err(_) => Ok(None),
            }
        };
        let subject = render("subject.txt")?.unwrap_or_default();
        // A subject is one line: header injection is impossible by construction.
        let subject = subject
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_owned();
        let html = render("body.html")?.filter(|h| !h.trim().is_empty());
        let text = match (render("body.txt")?.filter(|t| !t.trim().is_empty()), &html) {
            (Some(text), _) => text,
            (None, Some(html)) => html_to_text(html),
            (None, None) => String::new(),
        };
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// A plain-text rendering of an HTML body that keeps every link's URL.
fn html_to_text(html: &str) -> String {
    html2text::from_read(html.as_bytes(), 78).unwrap_or_else(|_| html.to_owned())
}

#[cfg(test)]
mod tests {
    use auth_core::domain::UserId;
    use auth_core::notification::{Recipient, VerificationLink};

    use super::*;

    fn register_mail() -> Notification {
        Notification {
            to: "ann@example.org".into(),
            user: Recipient {
                id: UserId::new(7),
                username: "ann".into(),
                first_name: String::new(),
                last_name: String::new(),
            },
            kind: NotificationKind::RegisterVerification {
                link: VerificationLink::new(
                    "https://front.example/verify/",
                    vec![
                        ("user_id".into(), "7".into()),
                        ("signature".into(), "s".into()),
                    ],
                ),
            },
        }
    }

    #[test]
    fn default_templates_render_the_link_alone_on_a_line() {
        let rendered = Templates::load(None)
            .unwrap()
            .render(&register_mail())
            .unwrap();
        assert_eq!(rendered.subject, "Please verify your account");
        assert!(
            rendered
                .text
                .lines()
                .any(|l| l == "https://front.example/verify/?user_id=7&signature=s"),
            "{}",
            rendered.text
        );
        assert!(rendered.html.is_none());
    }

    #[test]
    fn an_override_directory_replaces_single_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("register")).unwrap();
        std::fs::write(
            dir.path().join("register/subject.txt"),
            "Welcome, {{ user.username }}!",
        )
        .unwrap();
        let rendered = Templates::load(Some(dir.path()))
            .unwrap()
            .render(&register_mail())
            .unwrap();
        assert_eq!(rendered.subject, "Welcome, ann!");
        assert!(
            rendered.text.contains("verify your account"),
            "the default body should remain"
        );
    }

    #[test]
    fn html_only_template_gets_a_text_part_that_keeps_urls() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("register")).unwrap();
        std::fs::write(dir.path().join("register/body.txt"), "").unwrap();
        std::fs::write(
            dir.path().join("register/body.html"),
            "<p>Hi {{ user.username }}, <a href=\"{{ verification_url }}\">verify here</a>.</p>",
        )
        .unwrap();
        let rendered = Templates::load(Some(dir.path()))
            .unwrap()
            .render(&register_mail())
            .unwrap();
        // The HTML is auto-escaped by minijinja; the text part must carry the plain URL.
        assert!(rendered.html.as_deref().unwrap().contains("verify here"));
        assert!(
            rendered
                .text
                .contains("https://front.example/verify/?user_id=7&signature=s"),
            "{}",
            rendered.text
        );
    }

    #[test]
    fn a_broken_override_fails_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("reset_password")).unwrap();
        std::fs::write(dir.path().join("reset_password/body.txt"), "{{ unclosed").unwrap();
        assert!(matches!(
            Templates::load(Some(dir.path())),
            Err(RenderError::Template { .. })
        ));
    }

    #[test]
    fn every_notice_renders_a_subject_and_a_body_naming_the_user() {
        let templates = Templates::load(None).unwrap();
        let notices = [
            (
                NotificationKind::AccountExists {
                    email: "ann@example.org".into(),
                },
                "already",
            ),
            (NotificationKind::PasswordChanged, "password"),
            (
                NotificationKind::EmailChanged {
                    email: "new@example.org".into(),
                },
                "new@example.org",
            ),
            (
                NotificationKind::EmailAlreadyUsed {
                    email: "ann@example.org".into(),
                },
                "ann@example.org",
            ),
        ];
        for (kind, expected) in notices {
            let name = kind.name();
            let mail = Notification {
                kind,
                ..register_mail()
            };
            let rendered = templates.render(&mail).unwrap();
            assert!(!rendered.subject.is_empty(), "{name}");
            assert!(rendered.text.contains("ann"), "{name}: {}", rendered.text);
            assert!(
                rendered.text.contains(expected),
                "{name}: {}",
                rendered.text
            );
            assert!(
                !rendered.text.contains("https://"),
                "{name} carries no link"
            );
        }
    }
}
