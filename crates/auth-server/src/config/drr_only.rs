//! django-rest-registration settings that cannot carry over: each names
//! Python code (a class or a callable) or a Django mechanism this server
//! does not have. A DRR settings block that sets one is refused, with a
//! sentence saying what to do instead, rather than silently ignored.

/// Each setting and what to do instead.
const ADVICE: &[(&str, &str)] = &[
    (
        "REGISTER_SERIALIZER_CLASS",
        "register takes DRR's default fields; choose which are shown with USER_HIDDEN_FIELDS / USER_PUBLIC_FIELDS",
    ),
    (
        "REGISTER_OUTPUT_SERIALIZER_CLASS",
        "the 201 body is the profile; choose its fields with USER_HIDDEN_FIELDS / USER_PUBLIC_FIELDS",
    ),
    (
        "PROFILE_SERIALIZER_CLASS",
        "choose the profile's fields with USER_HIDDEN_FIELDS, USER_PUBLIC_FIELDS and USER_EDITABLE_FIELDS",
    ),
    (
        "LOGIN_SERIALIZER_CLASS",
        "login takes `login` and `password`; choose what `login` matches with USER_LOGIN_FIELDS",
    ),
    (
        "LOGIN_AUTHENTICATOR",
        "login matches USER_LOGIN_FIELDS in order; set that instead",
    ),
    (
        "AUTH_TOKEN_MANAGER_CLASS",
        "tokens are this server's own (TOKEN_PER_LOGIN, TOKEN_LIFETIME, REDIS_URL); DRF tokens move with `import-django`",
    ),
    (
        "LOGIN_DEFAULT_SESSION_AUTHENTICATION_BACKEND",
        "sessions are this server's own; remove it",
    ),
    (
        "SEND_RESET_PASSWORD_LINK_SERIALIZER_CLASS",
        "use SEND_RESET_PASSWORD_LINK_SERIALIZER_USE_EMAIL to take `email` instead of `login`",
    ),
    (
        "SEND_RESET_PASSWORD_LINK_USER_FINDER",
        "the user is found through USER_LOGIN_FIELDS; set that instead",
    ),
    (
        "REGISTER_EMAIL_SERIALIZER_CLASS",
        "register-email takes `email` (and `password` with REGISTER_EMAIL_REQUIRES_PASSWORD)",
    ),
    (
        "REGISTER_VERIFICATION_EMAIL_SENDER",
        "mail goes through MAIL_URL and the templates in TEMPLATES_DIR",
    ),
    (
        "RESET_PASSWORD_VERIFICATION_EMAIL_SENDER",
        "mail goes through MAIL_URL and the templates in TEMPLATES_DIR",
    ),
    (
        "REGISTER_EMAIL_VERIFICATION_EMAIL_SENDER",
        "mail goes through MAIL_URL and the templates in TEMPLATES_DIR",
    ),
    (
        "VERIFICATION_URL_BUILDER",
        "links are the *_VERIFICATION_URL base plus DRR's query parameters; a custom URL shape needs the front end to redirect",
    ),
    (
        "VERIFICATION_TEMPLATE_CONTEXT_BUILDER",
        "templates see `user`, `email` and `verification_url`; put fixed text in the templates themselves",
    ),
    (
        "VERIFICATION_TEMPLATE_RENDERER",
        "templates are rendered by minijinja (Jinja syntax, close to Django's); override files in TEMPLATES_DIR",
    ),
    (
        "VERIFICATION_TEMPLATES_SELECTOR",
        "each mail has its own files in TEMPLATES_DIR (`register/`, `reset_password/`, `register_email/`)",
    ),
    (
        "VERIFICATION_EMAIL_HTML_TO_TEXT_CONVERTER",
        "give a `body.txt` beside `body.html` in TEMPLATES_DIR",
    ),
    (
        "SUCCESS_RESPONSE_BUILDER",
        "success bodies are DRR's default `{\"detail\": …}`; remove it",
    ),
    (
        "NOT_AUTHENTICATED_PERMISSION_CLASSES",
        "the open endpoints are open to all, with RATE_LIMITS per client and account; remove it",
    ),
    (
        "USER_LOGIN_FIELDS_UNIQUE_CHECK_ENABLED",
        "login fields are always unique here (the database enforces it); remove it",
    ),
];

/// What to do instead of setting `key` (upper case), if it is one of DRR's
/// settings that cannot carry over.
pub(super) fn advice(key: &str) -> Option<&'static str> {
    ADVICE
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, advice)| *advice)
}

/// Every such setting and what to do instead, for the migration guide's test.
#[cfg(test)]
pub(super) fn all() -> &'static [(&'static str, &'static str)] {
    ADVICE
}
