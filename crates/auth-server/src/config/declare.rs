//! The `settings!` macro: one declaration per setting, from which the
//! [`Config`](super::Config) struct, its defaults, the profile defaults,
//! the mapping onto auth-core's `Settings` and the documentation table all
//! follow.
//!
//! Each entry is a doc line, a `#[setting(...)]` attribute (its section,
//! aliases, and the text shown as its default where a value cannot show
//! it), optional serde attributes, then one of:
//! - `fixed NAME: T = default;` — the same default in every profile;
//! - `optional NAME: T;` — unset by default (`None`);
//! - `profile NAME: T = |p| …;` — unset means the profile's value, read
//!   through the accessor method of the same name;
//! - `core NAME: T => path.in.settings;` — a workflow setting of
//!   auth-core's `Settings`: unset, it keeps the profile's value there;
//!   set, `Config::apply` writes it in, converted by [`Core`] (which also
//!   shows the profile's value in the docs).

use auth_core::ports::Matching;
use auth_core::settings::{CredentialsEnded, EmailVerification, LoginField, SignupFields};
use time::Duration;

/// Where a setting is documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The server's own settings.
    Server,
    /// django-rest-registration's settings, under DRR's names.
    Drr,
    /// Behaviours DRR has no setting for (what `COMPAT=drr` switches).
    Behaviour,
    /// djoser's `DJOSER` settings (prefixed `DJOSER_`) and the Django
    /// settings its dialect reads.
    Djoser,
    /// dj-rest-auth's `REST_AUTH` settings (prefixed `RESTAUTH_`) and the
    /// allauth `ACCOUNT_*` settings (prefixed `ALLAUTH_`) its dialect reads.
    RestAuth,
}

/// A setting's default as the documentation shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// The same in every profile.
    Same(String),
    /// Per profile.
    Profile {
        /// The safe profile's.
        safe: String,
        /// `COMPAT=drr`'s.
        drr: String,
    },
}

/// One declared setting.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Its name, lower case (`AUTH_` + upper case in the environment).
    pub field: &'static str,
    /// Other names it is read under.
    pub aliases: &'static [&'static str],
    /// Where it is documented.
    pub section: Section,
    /// One line of documentation.
    pub doc: &'static str,
    /// Its default.
    pub default: Shown,
}

impl Declared {
    /// The name as written in `auth.toml`.
    pub fn name(&self) -> String {
        self.field.to_ascii_uppercase()
    }
}

/// How a setting's value reads in the documentation.
pub trait Show {
    /// The value, as text.
    fn show(&self) -> String;
}

macro_rules! show_display {
    ($($ty:ty),*) => {$(
        impl Show for $ty {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
show_display!(u32, u64, i64, usize);

impl Show for bool {
    fn show(&self) -> String {
        if *self { "on" } else { "off" }.into()
    }
}

impl Show for String {
    fn show(&self) -> String {
        if self.is_empty() {
            "—".into()
        } else {
            format!("`{self}`")
        }
    }
}

impl Show for Vec<String> {
    fn show(&self) -> String {
        self.join(",").show()
    }
}

/// A config value that stands for a field of auth-core's `Settings`.
pub trait Core<T>: Sized {
    /// The value the profile's `Settings` hold, as configured.
    fn from_core(value: &T) -> Self;
    /// The `Settings` value, or why this one means nothing.
    fn to_core(self) -> Result<T, String>;
}

impl<T: Clone> Core<T> for T {
    fn from_core(value: &T) -> Self {
        value.clone()
    }
    fn to_core(self) -> Result<T, String> {
        Ok(self)
    }
}

/// Periods are whole seconds, and positive.
impl Core<Duration> for i64 {
    fn from_core(value: &Duration) -> Self {
        value.whole_seconds()
    }
    fn to_core(self) -> Result<Duration, String> {
        if self <= 0 {
            return Err(format!("must be a positive number of seconds, not {self}"));
        }
        Ok(Duration::seconds(self))
    }
}

impl Core<Matching> for bool {
    fn from_core(value: &Matching) -> Self {
        *value == Matching::CaseInsensitive
    }
    fn to_core(self) -> Result<Matching, String> {
        Ok(if self {
            Matching::CaseInsensitive
        } else {
            Matching::Exact
        })
    }
}

const ENDS: [(&str, CredentialsEnded); 3] = [
    ("sessions", CredentialsEnded::Sessions),
    ("all_but_caller", CredentialsEnded::AllButCaller),
    ("all", CredentialsEnded::All),
];

impl Core<CredentialsEnded> for String {
    fn from_core(value: &CredentialsEnded) -> Self {
        ENDS.iter()
            .find(|(_, ends)| ends == value)
            .map_or("", |(name, _)| name)
            .into()
    }
    fn to_core(self) -> Result<CredentialsEnded, String> {
        ENDS.iter()
            .find(|(name, _)| *name == self)
            .map(|(_, ends)| *ends)
            .ok_or_else(|| format!("{self:?} is not one of sessions, all_but_caller, all"))
    }
}

const LOGIN_FIELDS: [(&str, LoginField); 2] = [
    ("username", LoginField::Username),
    ("email", LoginField::Email),
];

impl Core<Vec<LoginField>> for Vec<String> {
    fn from_core(value: &Vec<LoginField>) -> Self {
        value
            .iter()
            .filter_map(|f| LOGIN_FIELDS.iter().find(|(_, k)| k == f))
            .map(|(name, _)| (*name).to_owned())
            .collect()
    }
    fn to_core(self) -> Result<Vec<LoginField>, String> {
        if self.is_empty() {
            return Err("at least one field is required".into());
        }
        self.iter()
            .map(|name| {
                LOGIN_FIELDS
                    .iter()
                    .find(|(known, _)| known == name)
                    .map(|(_, field)| *field)
                    .ok_or_else(|| format!("unknown field {name:?} (username, email)"))
            })
            .collect()
    }
}

impl Core<EmailVerification> for String {
    fn from_core(value: &EmailVerification) -> Self {
        value.name().to_owned()
    }
    fn to_core(self) -> Result<EmailVerification, String> {
        EmailVerification::ALL
            .into_iter()
            .find(|mode| mode.name() == self)
            .ok_or_else(|| format!("{self:?} is not one of mandatory, optional, none"))
    }
}

/// allauth's list, `*` marking a required field.
impl Core<SignupFields> for Vec<String> {
    fn from_core(value: &SignupFields) -> Self {
        let email = if value.email_required {
            "email*"
        } else {
            "email"
        };
        let mut fields = vec![email, "username*", "password1*"];
        if value.password2 {
            fields.push("password2*");
        }
        fields.into_iter().map(str::to_owned).collect()
    }
    fn to_core(self) -> Result<SignupFields, String> {
        let has = |name: &str| self.iter().any(|f| f == name);
        for needed in ["username*", "password1*"] {
            if !has(needed) {
                return Err(format!(
                    "{needed} is required here (accounts have a username and a password)"
                ));
            }
        }
        if let Some(other) = self.iter().find(|f| {
            ![
                "email",
                "email*",
                "username*",
                "password1*",
                "password2",
                "password2*",
            ]
            .contains(&f.as_str())
        }) {
            return Err(format!(
                "unknown field {other:?} (email, username, password1, password2; `*` marks required)"
            ));
        }
        Ok(SignupFields {
            email_required: has("email*"),
            password2: has("password2*") || has("password2"),
        })
    }
}

/// Declares every setting once; see the module documentation.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        #[setting($section:ident $(, alias = $alias:literal)* $(, shown = $shown:literal)?)]
        $(#[serde($($serde:tt)*)])*
        $kind:ident $field:ident : $ty:ty $(= $default:expr)? $(=> $($path:ident).+)?;
    )*) => {
        /// Everything the server reads, as configured. Unset, a workflow
        /// setting keeps its profile's value in [`Config::settings`], and
        /// any other profile-dependent one reads it through the accessor
        /// of the same name (see `docs/configuration.md`).
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE", default)]
        pub struct Config {
            $(
                $(#[doc = $doc])+
                $(#[serde($($serde)*)])*
                $(#[serde(alias = $alias)])*
                pub $field: settings!(@type $kind $ty),
            )*
        }

        impl Default for Config {
            fn default() -> Self {
                Self { $( $field: settings!(@default $kind $($default)?), )* }
            }
        }

        impl Config {
            $( settings!(@accessor $kind $field $ty $(, $default)? $(=> $($path).+)?); )*

            /// Writes every configured workflow setting into `s`, the
            /// profile's `Settings`.
            pub(crate) fn apply(&self, s: &mut auth_core::settings::Settings) -> Result<(), ConfigError> {
                $( settings!(@apply self s $kind $field $(=> $($path).+)?); )*
                Ok(())
            }
        }

        /// Every setting, in declaration order.
        pub fn declarations() -> Vec<Declared> {
            vec![$(
                Declared {
                    field: stringify!($field),
                    aliases: &[$($alias),*],
                    section: Section::$section,
                    doc: concat!($($doc),+),
                    default: settings!(@shown $kind $field $ty $(; shown $shown)? $(, $default)? $(=> $($path).+)?),
                },
            )*]
        }
    };

    (@type fixed $ty:ty) => { $ty };
    (@type $other:ident $ty:ty) => { Option<$ty> };

    (@default fixed $default:expr) => { $default };
    (@default $other:ident $($default:expr)?) => { None };

    (@accessor profile $field:ident $ty:ty, $default:expr) => {
        #[doc = concat!("`", stringify!($field), "`, or the profile's value when unset.")]
        pub fn $field(&self) -> $ty {
            let default: fn(&Profile) -> $ty = $default;
            self.$field.clone().unwrap_or_else(|| default(&Profile::of(self.compat)))
        }
    };
    (@accessor $kind:ident $field:ident $ty:ty $(, $default:expr)? $(=> $($path:ident).+)?) => {};

    (@apply $self:ident $s:ident core $field:ident => $($path:ident).+) => {
        if let Some(value) = $self.$field.clone() {
            $s.$($path).+ = Core::to_core(value).map_err(|message| ConfigError::Invalid {
                key: stringify!($field).to_ascii_uppercase(),
                message,
            })?;
        }
    };
    (@apply $self:ident $s:ident $kind:ident $field:ident) => {};

    (@shown $kind:ident $field:ident $ty:ty; shown $shown:literal $($rest:tt)*) => {
        Shown::Same($shown.into())
    };
    (@shown fixed $field:ident $ty:ty, $default:expr) => {
        Shown::Same(Show::show(&{ let value: $ty = $default; value }))
    };
    (@shown optional $field:ident $ty:ty) => { Shown::Same("—".into()) };
    (@shown profile $field:ident $ty:ty, $default:expr) => {{
        let default: fn(&Profile) -> $ty = $default;
        Shown::per_profile(|p| Show::show(&default(p)))
    }};
    (@shown core $field:ident $ty:ty => $($path:ident).+) => {
        Shown::per_profile(|p| {
            let value: $ty = Core::from_core(&p.settings.$($path).+);
            Show::show(&value)
        })
    };
}
pub(crate) use settings;

impl Shown {
    /// The default of each profile, collapsed when they agree.
    pub(crate) fn per_profile(show: impl Fn(&super::Profile) -> String) -> Self {
        let safe = show(&super::Profile::of(super::Compat::Safe));
        let drr = show(&super::Profile::of(super::Compat::Drr));
        if safe == drr {
            Self::Same(safe)
        } else {
            Self::Profile { safe, drr }
        }
    }
}
