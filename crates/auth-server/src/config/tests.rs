// figment::Jail's closure signature is figment's, large error and all.
#![allow(clippy::result_large_err)]

use auth_core::ports::{Matching, RateRule};
use auth_core::settings::LoginField;
use auth_http::{Action, Limits};
use time::Duration;

use super::*;

/// Values to try, as TOML and as environment text, until one loads: each
/// setting takes at least one of them.
const SAMPLES: [(&str, &str); 10] = [
    ("true", "1"),
    ("false", "0"),
    ("\"djoser\"", "djoser"),
    ("7", "7"),
    ("\"x@example.org\"", "x@example.org"),
    ("[\"email\"]", "email"),
    ("{login=\"1/1,1/1\"}", "{login=\"1/1,1/1\"}"),
    ("\"drr\"", "drr"),
    ("\"json\"", "json"),
    (
        "{subject=\"s.txt\",body=\"b.txt\"}",
        "{subject=\"s.txt\",body=\"b.txt\"}",
    ),
];

/// Whether `set` (writing one sample) makes some sample load into a
/// configuration different from the defaults.
fn some_sample_loads(
    jail: &mut figment::Jail,
    mut set: impl FnMut(&mut figment::Jail, (&str, &str)),
) -> bool {
    let defaults = format!("{:?}", Config::default());
    SAMPLES.iter().any(|sample| {
        set(jail, *sample);
        Config::load(None).is_ok_and(|config| format!("{config:?}") != defaults)
    })
}

#[test]
fn every_declared_name_and_alias_is_read_from_the_file_and_from_the_environment() {
    for setting in declarations() {
        let names =
            std::iter::once(setting.name()).chain(setting.aliases.iter().map(|a| (*a).to_owned()));
        for name in names {
            figment::Jail::expect_with(|jail| {
                let from_file = some_sample_loads(jail, |jail, (toml, _)| {
                    jail.create_file("auth.toml", &format!("{name} = {toml}\n"))
                        .unwrap();
                });
                jail.create_file("auth.toml", "")?;
                let from_env = some_sample_loads(jail, |jail, (_, text)| {
                    jail.set_env(format!("AUTH_{name}"), text);
                });
                assert!(from_file, "{name} is not read from auth.toml");
                assert!(from_env, "AUTH_{name} is not read from the environment");
                Ok(())
            });
        }
    }
}

#[test]
fn the_alias_and_the_name_set_the_same_setting() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTH_MAIL_FROM", "ops@example.org");
        assert_eq!(
            Config::load(None)
                .map_err(|e| e.to_string())?
                .verification_from_email,
            "ops@example.org"
        );
        jail.set_env("AUTH_VERIFICATION_FROM_EMAIL", "other@example.org");
        let err = Config::load(None).expect_err("both set").to_string();
        assert!(
            err.contains("AUTH_VERIFICATION_FROM_EMAIL") && err.contains("twice"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn unknown_keys_stop_loading_and_name_the_closest_known_one() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "AUTH_REGISTER_VERIFICATON_URL",
            "https://front.test/verify/",
        );
        let err = Config::load(None).expect_err("a typo").to_string();
        assert!(
            err.contains("AUTH_REGISTER_VERIFICATON_URL")
                && err.contains("did you mean AUTH_REGISTER_VERIFICATION_URL?"),
            "{err}"
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTH_LOGIN_AUTHENTICATOR", "myapp.auth.find_user");
        let err = Config::load(None)
            .expect_err("a DRR setting naming Python code")
            .to_string();
        assert!(
            err.contains("AUTH_LOGIN_AUTHENTICATOR in the environment cannot carry over")
                && err.contains("USER_LOGIN_FIELDS"),
            "{err}"
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.create_file("auth.toml", "RATE_LIMIT = false\n")?;
        let err = Config::load(None)
            .expect_err("a typo in the file")
            .to_string();
        assert!(
            err.contains("unknown setting RATE_LIMIT in")
                && err.contains("auth.toml")
                && err.contains("did you mean RATE_LIMITS?"),
            "{err}"
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        // Read by the binary itself, not settings.
        jail.set_env("AUTH_LOG", "debug");
        jail.set_env("AUTH_CONFIG", "auth.toml");
        Config::load(None).map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn unset_settings_take_the_profile_defaults_of_auth_core() {
    let drr = Config {
        compat: Compat::Drr,
        ..Config::default()
    };
    assert_eq!(drr.settings().unwrap(), Settings::drr());
    assert_eq!(Config::default().settings().unwrap(), Settings::default());
    assert!(drr.one_token_per_user() && !drr.rate_limits());
    assert_eq!(drr.credential_policy().token_lifetime, None);
    assert_eq!(
        Config::default().credential_policy().token_lifetime,
        Some(Duration::days(30))
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config = Config {
        secret_key: Some("a very secret signing key".into()),
        secret_key_fallbacks: vec!["an older secret signing key".into()],
        ..Config::default()
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("secret signing key"), "{shown}");
}

#[test]
fn rate_limit_rules_override_one_action_and_bad_ones_are_named() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTH_RATE_LIMIT_RULES", "{login=\"5/60,3/2\"}");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        let limits = config.limits().map_err(|e| e.to_string())?;
        let rule = |limit, seconds| RateRule {
            limit,
            window: Duration::seconds(seconds),
        };
        assert_eq!(limits.rules(Action::Login), Some((rule(5, 60), rule(3, 2))));
        assert_eq!(
            limits.rules(Action::Register),
            Limits::default().rules(Action::Register)
        );
        jail.set_env("AUTH_RATE_LIMIT_RULES", "{login=\"5 per minute\"}");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(
            config
                .limits()
                .is_err_and(|e| e.to_string().contains("RATE_LIMIT_RULES"))
        );
        jail.set_env("AUTH_RATE_LIMIT_RULES", "{logon=\"5/60,3/2\"}");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(
            config
                .limits()
                .is_err_and(|e| e.to_string().contains("logon"))
        );
        Ok(())
    });
}

#[test]
fn file_then_environment_override_defaults_with_drr_names() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "auth.toml",
            "BIND = \"127.0.0.1:9000\"\nRESET_PASSWORD_VERIFICATION_ONE_TIME_USE = false\nUSER_LOGIN_FIELDS = [\"email\"]\n",
        )?;
        jail.set_env("AUTH_BIND", "127.0.0.1:9001");
        jail.set_env("AUTH_COMPAT", "drr");
        jail.set_env("AUTH_REGISTER_VERIFICATION_ONE_TIME_USE", "1");
        jail.set_env("AUTH_REGISTER_VERIFICATION_PERIOD", "60");
        jail.set_env("AUTH_SERVER_BIN", "/ignored");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.bind, "127.0.0.1:9001");
        assert_eq!(config.compat, Compat::Drr);
        let settings = config.settings().map_err(|e| e.to_string())?;
        assert!(settings.register.one_time_use);
        assert!(!settings.reset_password.one_time_use);
        assert_eq!(settings.register.verification_period, Duration::seconds(60));
        assert_eq!(settings.login_fields, [LoginField::Email]);
        assert_eq!(settings.matching, Matching::Exact);
        assert!(config.one_token_per_user());
        Ok(())
    });
}

#[test]
fn cookies_are_secure_by_default_beyond_loopback() {
    let at = |bind: &str| {
        Config {
            bind: bind.into(),
            ..Config::default()
        }
        .secure_cookies_effective()
    };
    assert!(!at("127.0.0.1:8000") && !at("localhost:8000") && !at("[::1]:8000"));
    assert!(at("0.0.0.0:8000") && at("10.1.2.3:443") && at("[::]:8000"));
    let forced = Config {
        bind: "0.0.0.0:80".into(),
        secure_cookies: Some(false),
        ..Config::default()
    };
    assert!(!forced.secure_cookies_effective());
}

#[test]
fn bad_values_name_their_setting() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTH_LOGIN_RETRIEVE_TOKEN", "maybe");
        let err = Config::load(None)
            .expect_err("maybe is no boolean")
            .to_string();
        assert!(
            err.contains("LOGIN_RETRIEVE_TOKEN") && err.contains("maybe"),
            "{err}"
        );
        Ok(())
    });
    let config = Config {
        reset_password_verification_period: Some(0),
        ..Config::default()
    };
    let err = config.settings().expect_err("zero period").to_string();
    assert!(
        err.starts_with("RESET_PASSWORD_VERIFICATION_PERIOD"),
        "{err}"
    );
}

#[test]
fn drr_user_field_settings_resolve_and_bad_ones_say_what_to_do() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTH_USER_HIDDEN_FIELDS", "first_name,is_staff,groups");
        jail.set_env("AUTH_USER_EDITABLE_FIELDS", "last_name");
        let settings = Config::load(None)
            .map_err(|e| e.to_string())?
            .settings()
            .map_err(|e| e.to_string())?;
        let fields = &settings.user_fields;
        use auth_core::settings::UserField;
        assert!(!fields.shows(UserField::FirstName));
        assert!(fields.shows(UserField::LastLogin) && fields.shows(UserField::DateJoined));
        assert!(fields.edits(UserField::LastName) && !fields.edits(UserField::Username));
        Ok(())
    });
    for (key, value, says) in [
        (
            "AUTH_USER_PUBLIC_FIELDS",
            "phone",
            "USER_PUBLIC_FIELDS: \"phone\" is not a user field here",
        ),
        (
            "AUTH_USER_VERIFICATION_ID_FIELD",
            "username",
            "USER_VERIFICATION_ID_FIELD: \"username\" cannot carry over",
        ),
        (
            "AUTH_USER_VERIFICATION_FLAG_FIELD",
            "is_verified",
            "USER_VERIFICATION_FLAG_FIELD",
        ),
    ] {
        figment::Jail::expect_with(|jail| {
            jail.set_env(key, value);
            let err = Config::load(None)
                .map_err(|e| e.to_string())?
                .settings()
                .expect_err("refused")
                .to_string();
            assert!(err.contains(says), "{err}");
            Ok(())
        });
    }
}

#[test]
fn drr_mail_template_dicts_name_each_mails_files() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "auth.toml",
            "REGISTER_VERIFICATION_EMAIL_TEMPLATES = {subject = \"mail/s.txt\", body = \"mail/b.html\", is_html = true}\n\
             RESET_PASSWORD_VERIFICATION_EMAIL_TEMPLATES = {subject = \"r/s.txt\", text_body = \"r/b.txt\", html_body = \"r/b.html\"}\n",
        )?;
        let files = Config::load(None)
            .map_err(|e| e.to_string())?
            .mail_files()
            .map_err(|e| e.to_string())?;
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, "register");
        assert_eq!(files[0].1.text, None);
        assert_eq!(
            files[0].1.html.as_deref(),
            Some(std::path::Path::new("mail/b.html"))
        );
        assert_eq!(
            files[1].1.text.as_deref(),
            Some(std::path::Path::new("r/b.txt"))
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "auth.toml",
            "REGISTER_EMAIL_VERIFICATION_EMAIL_TEMPLATES = {subject = \"s.txt\"}\n",
        )?;
        let err = Config::load(None)
            .map_err(|e| e.to_string())?
            .mail_files()
            .expect_err("no body")
            .to_string();
        assert!(err.contains("needs `body`"), "{err}");
        Ok(())
    });
}

#[test]
fn the_migration_guide_says_what_becomes_of_every_drr_setting() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/migrating-from-drr.md"),
    )
    .unwrap();
    let ours = declarations()
        .into_iter()
        .filter(|d| d.section == Section::Drr)
        .map(|d| d.name());
    let refused = super::drr_only::all()
        .iter()
        .map(|(name, _)| (*name).to_owned());
    let mut missing: Vec<String> = ours
        .chain(refused)
        .filter(|name| !guide.contains(&format!("| `{name}` |")))
        .collect();
    // DRR's two sender settings are server settings here, with their names.
    for name in ["VERIFICATION_FROM_EMAIL", "VERIFICATION_REPLY_TO_EMAIL"] {
        if !guide.contains(&format!("| `{name}` |")) {
            missing.push(name.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/migrating-from-drr.md lacks rows for {missing:?}"
    );
}

#[test]
fn every_unknown_key_of_every_source_is_reported_at_once() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("auth.toml", "bnd = \"x\"\nmail_ulr = \"console\"\n")?;
        jail.set_env("AUTH_LOGIN_RETRIVE_TOKEN", "1");
        let errors = Config::load(None).expect_err("three typos").each();
        let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        for (typo, hint) in [
            ("bnd", "BIND"),
            ("mail_ulr", "MAIL_URL"),
            ("AUTH_LOGIN_RETRIVE_TOKEN", "AUTH_LOGIN_RETRIEVE_TOKEN"),
        ] {
            assert!(
                texts
                    .iter()
                    .any(|t| t.contains(typo) && t.contains(&format!("did you mean {hint}?"))),
                "{typo}: {texts:?}"
            );
        }
        Ok(())
    });
}

#[test]
fn the_rest_auth_dialect_reads_the_suites_variables_and_takes_allauths_defaults() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTH_API", "rest-auth");
        jail.set_env("AUTH_COMPAT", "drr");
        jail.set_env("AUTH_RESTAUTH_USE_JWT", "1");
        jail.set_env("AUTH_ALLAUTH_EMAIL_VERIFICATION", "mandatory");
        jail.set_env("AUTH_ALLAUTH_LOGIN_METHODS", "username,email");
        jail.set_env("AUTH_ALLAUTH_RATE_LIMITS", "0");
        jail.set_env(
            "AUTH_FRONTEND_CONFIRM_EMAIL_URL",
            "https://f.example/c/{key}/",
        );
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.api, Api::RestAuth);
        let settings = config.settings().map_err(|e| e.to_string())?;
        let restauth = &settings.restauth;
        assert!(restauth.use_jwt && restauth.session_login && restauth.jwt_auth_httponly);
        assert_eq!(
            restauth.email_verification,
            auth_core::settings::EmailVerification::Mandatory
        );
        assert_eq!(
            restauth.login_methods,
            [LoginField::Username, LoginField::Email]
        );
        assert_eq!(restauth.confirm_email_url, "https://f.example/c/{key}/");
        assert!(restauth.signup_fields.email_required && restauth.signup_fields.password2);
        // allauth compares identifiers ignoring case, even under COMPAT=drr.
        assert_eq!(settings.matching, Matching::CaseInsensitive);
        assert!(config.one_token_per_user() && !config.rate_limits_effective());
        jail.set_env("AUTH_ALLAUTH_RATE_LIMITS", "1");
        assert!(
            Config::load(None)
                .map_err(|e| e.to_string())?
                .rate_limits_effective()
        );

        jail.set_env("AUTH_ALLAUTH_EMAIL_VERIFICATION", "sometimes");
        let error = Config::load(None)
            .and_then(|c| c.settings())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ALLAUTH_EMAIL_VERIFICATION") && error.contains("mandatory"),
            "{error}"
        );
        jail.set_env("AUTH_ALLAUTH_EMAIL_VERIFICATION", "none");
        jail.set_env("AUTH_ALLAUTH_SIGNUP_FIELDS", "email,password1*");
        let error = Config::load(None)
            .and_then(|c| c.settings())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ALLAUTH_SIGNUP_FIELDS") && error.contains("username*"),
            "{error}"
        );
        jail.set_env("AUTH_ALLAUTH_SIGNUP_FIELDS", "email,username*,password1*");
        let fields = Config::load(None)
            .and_then(|c| c.settings())
            .map_err(|e| e.to_string())?
            .restauth
            .signup_fields;
        assert!(!fields.email_required && !fields.password2);
        jail.set_env(
            "AUTH_ALLAUTH_SIGNUP_FIELDS",
            "email*,username*,password1*,password2*",
        );
        jail.set_env(
            "AUTH_FRONTEND_CONFIRM_EMAIL_URL",
            "https://f.example/confirm/",
        );
        let error = Config::load(None)
            .and_then(|c| c.settings())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("FRONTEND_CONFIRM_EMAIL_URL") && error.contains("{key}"),
            "{error}"
        );
        jail.set_env(
            "AUTH_FRONTEND_CONFIRM_EMAIL_URL",
            "https://f.example/c/{key}/",
        );
        jail.set_env("AUTH_ALLAUTH_EMAIL_CONFIRMATION_HMAC", "0");
        let error = Config::load(None)
            .and_then(|c| c.settings())
            .unwrap_err()
            .to_string();
        assert!(error.contains("ALLAUTH_EMAIL_CONFIRMATION_HMAC"), "{error}");
        Ok(())
    });
}

#[test]
fn the_djoser_and_dj_rest_auth_guides_say_where_every_setting_of_theirs_went() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    for (section, guide) in [
        (Section::Djoser, "migrating-from-djoser.md"),
        (Section::RestAuth, "migrating-from-dj-rest-auth.md"),
    ] {
        let text = std::fs::read_to_string(docs.join(guide)).unwrap();
        let missing: Vec<String> = declarations()
            .into_iter()
            .filter(|d| d.section == section)
            .map(|d| d.name())
            // Django's own settings and the two link templates are set in step 1.
            .filter(|name| {
                !text.contains(&format!("`{name}`")) && !text.contains(&format!("AUTH_{name}"))
            })
            .collect();
        assert!(missing.is_empty(), "docs/{guide} does not name {missing:?}");
    }
}
