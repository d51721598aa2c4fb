use super::*;
use serde_json::json;

fn form(value: serde_json::Value) -> Form {
    Form::from_json(&value).unwrap()
}

#[test]
fn text_is_stripped_and_numbers_become_text() {
    let f = form(json!({"a": "  x ", "n": 42}));
    assert_eq!(required_text(&f, "a").unwrap(), "x");
    assert_eq!(required_text(&f, "n").unwrap(), "42");
}

#[test]
fn text_errors_follow_drf() {
    let f = form(json!({"null": null, "blank": "   ", "list": [1], "bool": true}));
    assert_eq!(required_text(&f, "missing").unwrap_err().code, "required");
    assert_eq!(required_text(&f, "null").unwrap_err().code, "null");
    assert_eq!(required_text(&f, "blank").unwrap_err().code, "blank");
    assert_eq!(
        required_text(&f, "list").unwrap_err().message,
        "Not a valid string."
    );
    assert_eq!(required_text(&f, "bool").unwrap_err().code, "invalid");
    let long = Form::new().text("t", "abcd");
    assert_eq!(
        read_text(&long, "t", TextRule::REQUIRED.max(3))
            .unwrap_err()
            .code,
        "max_length"
    );
}

#[test]
fn text_is_stripped_of_what_python_counts_as_whitespace() {
    let f = form(json!({"sep": "\u{1c}\u{1f} ann \u{3000}", "blank": "\u{1d}\u{85}"}));
    assert_eq!(required_text(&f, "sep").unwrap(), "ann");
    assert_eq!(required_text(&f, "blank").unwrap_err().code, "blank");
}

#[test]
fn null_characters_are_refused_as_drf_refuses_them() {
    let f = form(json!({"login": "ann\u{0}", "ok": "ann"}));
    assert_eq!(
        required_text(&f, "login").unwrap_err().code,
        "null_characters_not_allowed"
    );
    assert_eq!(required_text(&f, "ok").unwrap(), "ann");
}

#[test]
fn integers_read_like_python_int() {
    for (raw, want) in [
        (json!(1700000000), Some(1_700_000_000)),
        (json!("01700000000"), Some(1_700_000_000)),
        (json!(" +12 "), Some(12)),
        (json!("1_000"), Some(1000)),
        (json!("12.000"), Some(12)),
        (json!(12.0), Some(12)),
        (json!("-5"), Some(-5)),
        (json!("12.5"), None),
        (json!("abc"), None),
        (json!("1__0"), None),
        (json!(""), None),
        (json!(true), None),
    ] {
        let f = form(json!({ "t": raw.clone() }));
        assert_eq!(read_integer(&f, "t").ok(), want, "{raw}");
    }
    let f = Form::new().text("t", "1".repeat(1001));
    assert_eq!(
        read_integer(&f, "t").unwrap_err().message,
        "String value too large."
    );
}

#[test]
fn booleans_read_like_drf() {
    for (raw, want) in [
        (json!(true), Some(true)),
        (json!("YES"), Some(true)),
        (json!("off"), Some(false)),
        (json!(1), Some(true)),
        (json!(0), Some(false)),
        (json!("maybe"), None),
        (json!(2), None),
    ] {
        assert_eq!(
            read_bool(&form(json!({ "b": raw.clone() })), "b").ok(),
            want,
            "{raw}"
        );
    }
    assert_eq!(read_bool(&Form::new(), "b"), Ok(false));
    assert_eq!(
        read_bool(&form(json!({"b": null})), "b").unwrap_err().code,
        "null"
    );
}

#[test]
fn non_object_bodies_are_refused_with_drf_messages() {
    assert_eq!(Form::from_json(&json!(null)), Err(FormError::NoData));
    assert_eq!(
        Form::from_json(&json!([1])).unwrap_err().to_string(),
        "Invalid data. Expected a dictionary, but got list."
    );
    assert_eq!(
        Form::from_json(&json!("s")),
        Err(FormError::NotAnObject("str"))
    );
}

#[test]
fn form_pairs_keep_the_last_value() {
    let f = Form::from_pairs([("login", "a"), ("login", "b")]);
    assert_eq!(required_text(&f, "login").unwrap(), "b");
}
