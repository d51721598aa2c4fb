//! What a mail is about: link data and recipient facts, never rendered text.
//! An adapter (templates + SMTP) turns a [`Notification`] into a message.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{User, UserId};

/// One message to one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Recipient address.
    pub to: String,
    /// The user the message concerns, for templates.
    pub user: Recipient,
    /// Why the message is sent.
    pub kind: NotificationKind,
}

/// The user fields a template may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Primary key.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
}

impl From<&User> for Recipient {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            username: user.username.as_str().to_owned(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
        }
    }
}

/// The reason for a message; each has its own templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotificationKind {
    /// Confirm a new account (`templates/register/`).
    RegisterVerification {
        /// The link to follow.
        link: VerificationLink,
    },
    /// Reset a forgotten password (`templates/reset_password/`).
    ResetPassword {
        /// The link to follow.
        link: VerificationLink,
    },
    /// Confirm a new address (`templates/register_email/`).
    RegisterEmailVerification {
        /// The address to confirm (also the recipient).
        email: String,
        /// The link to follow.
        link: VerificationLink,
    },
    /// Someone asked to move an account to an address another account
    /// already owns; sent to that address, with no link
    /// (`templates/register_email_used/`).
    EmailAlreadyUsed {
        /// The address asked for.
        email: String,
    },
    /// Someone registered with an address that already has an account; sent
    /// to that address instead of a field error, so the answer does not
    /// reveal the account (`templates/register_account_exists/`).
    AccountExists {
        /// The address registered with (also the recipient).
        email: String,
    },
    /// The account's password was changed or reset
    /// (`templates/password_changed/`).
    PasswordChanged,
    /// The account's address was changed; sent to the old address
    /// (`templates/email_changed/`).
    EmailChanged {
        /// The new address.
        email: String,
    },
    /// The account is active: created without activation, or just
    /// activated (djoser's confirmation mail, `templates/activated/`).
    Activated,
    /// Choose a new username (djoser's username reset,
    /// `templates/username_reset/`).
    UsernameReset {
        /// The link to follow.
        link: VerificationLink,
    },
    /// The account's username was changed (`templates/username_changed/`).
    UsernameChanged,
}

impl NotificationKind {
    /// The template folder name, stable for adapters and operators.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RegisterVerification { .. } => "register",
            Self::ResetPassword { .. } => "reset_password",
            Self::RegisterEmailVerification { .. } => "register_email",
            Self::EmailAlreadyUsed { .. } => "register_email_used",
            Self::AccountExists { .. } => "register_account_exists",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged { .. } => "email_changed",
            Self::Activated => "activated",
            Self::UsernameReset { .. } => "username_reset",
            Self::UsernameChanged => "username_changed",
        }
    }
}

/// A signed link: its query parameters in DRR's order and the full URL.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationLink {
    /// Base URL + `?` + the form-urlencoded parameters.
    pub url: String,
    /// `user_id`, [`email`], `timestamp`, `signature`, in that order.
    pub params: Vec<(String, String)>,
}

impl VerificationLink {
    /// Builds the link from a base URL and its parameters. A base that
    /// already has a query string gets `&` (DRR would add a second `?`).
    pub fn new(base_url: &str, params: Vec<(String, String)>) -> Self {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        let separator = if base_url.contains('?') { '&' } else { '?' };
        Self {
            url: format!("{base_url}{separator}{query}"),
            params,
        }
    }

    /// A link made from a template with `{name}` placeholders, filled in
    /// from `params` (djoser's `activate/{uid}/{token}`, on a base URL).
    pub fn templated(template: &str, params: Vec<(String, String)>) -> Self {
        let url = params
            .iter()
            .fold(template.to_owned(), |url, (name, value)| {
                url.replace(&format!("{{{name}}}"), value)
            });
        Self { url, params }
    }

    /// The value of one parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for VerificationLink {
    // The signature (or token) is a bearer secret: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| {
                if k == "signature" || k == "token" {
                    format!("{k}=***")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        write!(f, "VerificationLink({})", shown.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("user_id", "42"),
            ("email", "a+b@x.org"),
            ("timestamp", "1700000000"),
            ("signature", "SiG"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    }

    #[test]
    fn url_is_form_urlencoded_in_parameter_order() {
        let link = VerificationLink::new("https://front.example/verify/", params());
        assert_eq!(
            link.url,
            "https://front.example/verify/?user_id=42&email=a%2Bb%40x.org&timestamp=1700000000&signature=SiG"
        );
        assert_eq!(link.param("email"), Some("a+b@x.org"));
    }

    #[test]
    fn base_with_query_gets_an_ampersand() {
        let link = VerificationLink::new("https://front.example/v?lang=en", params());
        assert!(
            link.url
                .starts_with("https://front.example/v?lang=en&user_id=42"),
            "{}",
            link.url
        );
    }

    #[test]
    fn templated_links_fill_their_placeholders_in_any_order() {
        let params = vec![
            ("uid".to_owned(), "MQ".to_owned()),
            ("token".to_owned(), "dixmo0-88f7".to_owned()),
        ];
        let link =
            VerificationLink::templated("https://front.example/#/welcome/{token}/{uid}", params);
        assert_eq!(link.url, "https://front.example/#/welcome/dixmo0-88f7/MQ");
        assert_eq!(link.param("uid"), Some("MQ"));
        assert!(!format!("{link:?}").contains("dixmo0"), "{link:?}");
    }

    #[test]
    fn debug_hides_the_signature() {
        let shown = format!("{:?}", VerificationLink::new("https://x/", params()));
        assert!(
            !shown.contains("SiG") && shown.contains("user_id=42"),
            "{shown}"
        );
    }
}
