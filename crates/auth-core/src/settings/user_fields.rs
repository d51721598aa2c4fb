//! Which user fields the API shows and lets users write: DRR's
//! `USER_HIDDEN_FIELDS`, `USER_PUBLIC_FIELDS` and `USER_EDITABLE_FIELDS`
//! over the fields this server's users have.

/// A field of a user as the API can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserField {
    /// `id`, the primary key (read-only).
    Id,
    /// `username`.
    Username,
    /// `first_name`.
    FirstName,
    /// `last_name`.
    LastName,
    /// `email` (changed through `register-email/` only).
    Email,
    /// `last_login` (read-only).
    LastLogin,
    /// `is_active`: verified and not disabled (read-only here, although
    /// DRR would let a profile write it if it were shown).
    IsActive,
    /// `date_joined` (read-only).
    DateJoined,
}

/// Fields of Django's user model this server's users do not have; DRR's
/// default hides them, and hiding them here means nothing.
const ABSENT: [&str; 5] = [
    "password",
    "is_staff",
    "is_superuser",
    "groups",
    "user_permissions",
];

/// DRR's `USER_HIDDEN_FIELDS` default.
pub const DEFAULT_HIDDEN: [&str; 7] = [
    "last_login",
    "is_active",
    "is_staff",
    "is_superuser",
    "user_permissions",
    "groups",
    "date_joined",
];

impl UserField {
    /// Every field, in Django's model order.
    pub const ALL: [Self; 8] = [
        Self::Id,
        Self::LastLogin,
        Self::Username,
        Self::FirstName,
        Self::LastName,
        Self::Email,
        Self::IsActive,
        Self::DateJoined,
    ];

    /// Its name in the API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Username => "username",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Email => "email",
            Self::LastLogin => "last_login",
            Self::IsActive => "is_active",
            Self::DateJoined => "date_joined",
        }
    }

    /// The field named `name` (`pk` is the id, as in Django).
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "pk" {
            return Some(Self::Id);
        }
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether a profile update may ever write it.
    fn writable(self) -> bool {
        matches!(self, Self::Username | Self::FirstName | Self::LastName)
    }
}

/// The fields shown (profile, register answer) and the ones a profile
/// update writes; a hidden name field is also ignored on register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFields {
    shown: Vec<UserField>,
    editable: Vec<UserField>,
}

impl Default for UserFields {
    /// DRR's defaults: `id`, `username`, `first_name`, `last_name`,
    /// `email` shown; the three names writable.
    fn default() -> Self {
        let shown = vec![
            UserField::Id,
            UserField::Username,
            UserField::FirstName,
            UserField::LastName,
            UserField::Email,
        ];
        let editable = vec![
            UserField::Username,
            UserField::FirstName,
            UserField::LastName,
        ];
        Self { shown, editable }
    }
}

impl UserFields {
    /// DRR's rules: shown = every field minus `hidden` (or exactly
    /// `public` plus `email` when given); editable = the shown writable
    /// fields, only those in `editable` when given. A name that is no
    /// field of ours is an error, except, in `hidden`, Django's own fields
    /// we do not have.
    pub fn resolve(
        hidden: &[String],
        public: Option<&[String]>,
        editable: Option<&[String]>,
    ) -> Result<Self, String> {
        let field = |setting: &str, name: &String| {
            UserField::from_name(name).ok_or_else(|| {
                format!(
                    "{setting}: {name:?} is not a user field here (they are: {})",
                    UserField::ALL.map(UserField::name).join(", ")
                )
            })
        };
        let fields = |setting: &str, names: &[String]| {
            names
                .iter()
                .map(|name| field(setting, name))
                .collect::<Result<Vec<_>, _>>()
        };
        let hide = fields(
            "USER_HIDDEN_FIELDS",
            &hidden
                .iter()
                .filter(|name| !ABSENT.contains(&name.as_str()))
                .cloned()
                .collect::<Vec<_>>(),
        )?;
        let listed = match public {
            Some(public) => {
                let mut listed = fields("USER_PUBLIC_FIELDS", public)?;
                listed.push(UserField::Email);
                Some(listed)
            }
            None => None,
        };
        let shown: Vec<UserField> = UserField::ALL
            .into_iter()
            .filter(|f| match &listed {
                Some(listed) => listed.contains(f),
                None => !hide.contains(f),
            })
            .collect();
        let allowed = editable
            .map(|names| fields("USER_EDITABLE_FIELDS", names))
            .transpose()?;
        let editable = shown
            .iter()
            .copied()
            .filter(|f| f.writable() && allowed.as_ref().is_none_or(|a| a.contains(f)))
            .collect();
        Ok(Self { shown, editable })
    }

    /// Whether `field` is shown.
    pub fn shows(&self, field: UserField) -> bool {
        self.shown.contains(&field)
    }

    /// Whether a profile update writes `field`.
    pub fn edits(&self, field: UserField) -> bool {
        self.editable.contains(&field)
    }

    /// The shown fields, in model order.
    pub fn shown(&self) -> &[UserField] {
        &self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn drr_defaults_show_the_five_fields_and_write_the_names() {
        let fields = UserFields::default();
        assert_eq!(
            fields,
            UserFields::resolve(&names(&DEFAULT_HIDDEN), None, None).unwrap()
        );
        assert_eq!(
            fields.shown().iter().map(|f| f.name()).collect::<Vec<_>>(),
            ["id", "username", "first_name", "last_name", "email"]
        );
        for f in [
            UserField::Username,
            UserField::FirstName,
            UserField::LastName,
        ] {
            assert!(fields.edits(f));
        }
        assert!(!fields.edits(UserField::Email) && !fields.edits(UserField::Id));
    }

    #[test]
    fn hidden_public_and_editable_follow_drr_rules() {
        let fields = UserFields::resolve(&names(&["first_name", "groups"]), None, None).unwrap();
        assert!(!fields.shows(UserField::FirstName) && !fields.edits(UserField::FirstName));
        assert!(
            fields.shows(UserField::LastLogin),
            "no longer hidden, so shown"
        );
        assert!(!fields.edits(UserField::LastLogin), "but never written");

        let public = names(&["id", "username"]);
        let fields = UserFields::resolve(&[], Some(&public), None).unwrap();
        assert_eq!(
            fields.shown().iter().map(|f| f.name()).collect::<Vec<_>>(),
            ["id", "username", "email"]
        );

        let editable = names(&["last_name"]);
        let fields = UserFields::resolve(&names(&DEFAULT_HIDDEN), None, Some(&editable)).unwrap();
        assert!(fields.edits(UserField::LastName) && !fields.edits(UserField::Username));
        assert!(fields.shows(UserField::Username));
    }

    #[test]
    fn a_name_that_is_no_field_is_refused_with_the_list() {
        let error = UserFields::resolve(&[], Some(&names(&["phone"])), None).unwrap_err();
        assert!(error.contains("USER_PUBLIC_FIELDS: \"phone\""), "{error}");
        assert!(error.contains("first_name"), "{error}");
        assert!(UserFields::resolve(&names(&["phone"]), None, None).is_err());
    }
}
