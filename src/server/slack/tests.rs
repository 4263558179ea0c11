//! Signature checks against Slack's documented example, and the slash-command form.

use chrono::TimeZone;

use super::*;

// The worked example on docs.slack.dev/authentication/verifying-requests-from-slack, byte for
// byte (the token is `xyzz0WbapA4vBCDEFasx0q6G`; any other body gives another signature).
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TIMESTAMP: &str = "1531420618";
const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).unwrap()
}

fn check(signature: &str, body: &str, now: i64) -> Result<(), SignatureError> {
    verify(&Secret::new(SECRET), TIMESTAMP, signature, body.as_bytes(), at(now))
}

#[test]
fn slacks_documented_example_verifies() {
    assert_eq!(check(SIGNATURE, BODY, 1531420618), Ok(()));
}

#[test]
fn the_window_is_five_minutes_either_way() {
    assert_eq!(check(SIGNATURE, BODY, 1531420618 + 300), Ok(()));
    assert_eq!(check(SIGNATURE, BODY, 1531420618 - 300), Ok(()));
    assert_eq!(check(SIGNATURE, BODY, 1531420618 + 301), Err(SignatureError::Stale));
    assert_eq!(check(SIGNATURE, BODY, 1531420618 - 301), Err(SignatureError::Stale));
}

#[test]
fn a_tampered_body_or_signature_or_wrong_secret_is_refused() {
    let tampered = BODY.replace("text=", "text=status");
    assert_eq!(check(SIGNATURE, &tampered, 1531420618), Err(SignatureError::Mismatch));
    let flipped = SIGNATURE.replace("a2114d", "a2114e");
    assert_eq!(check(&flipped, BODY, 1531420618), Err(SignatureError::Mismatch));
    let other =
        verify(&Secret::new("other"), TIMESTAMP, SIGNATURE, BODY.as_bytes(), at(1531420618));
    assert_eq!(other, Err(SignatureError::Mismatch));
}

#[test]
fn malformed_signatures_and_timestamps_are_refused() {
    assert_eq!(check("a2114d57", BODY, 1531420618), Err(SignatureError::Malformed));
    assert_eq!(check("v0=not-hex", BODY, 1531420618), Err(SignatureError::Malformed));
    assert_eq!(check("v1=a2114d57", BODY, 1531420618), Err(SignatureError::Malformed));
    let bad_time = verify(&Secret::new(SECRET), "soon", SIGNATURE, BODY.as_bytes(), at(0));
    assert_eq!(bad_time, Err(SignatureError::BadTimestamp));
}

#[test]
fn the_slash_command_form_is_read() {
    let slash = SlashRequest::from_form(BODY.as_bytes()).unwrap();
    assert_eq!(
        slash,
        SlashRequest::Command(SlashCommand {
            command: "/webhook-collect".into(),
            text: String::new(),
            user_id: "U2CERLKJA".into(),
            channel_id: "G8PSS9T3V".into(),
            response_url: Some(
                "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
                    .into()
            ),
            trigger_id: Some("398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c".into()),
        })
    );
    let typed = SlashRequest::from_form(b"command=%2Fkushim&text=control+ac-01&user_id=U1");
    let Ok(SlashRequest::Command(typed)) = typed else { panic!("{typed:?}") };
    assert_eq!(typed.text, "control ac-01");
    assert_eq!(SlashRequest::from_form(b"ssl_check=1&token=abc"), Ok(SlashRequest::SslCheck));
}

#[test]
fn a_form_without_its_fields_or_not_utf8_is_malformed() {
    assert_eq!(
        SlashRequest::from_form(b"text=status&user_id=U1"),
        Err(FormError::MissingField("command"))
    );
    assert_eq!(
        SlashRequest::from_form(b"{\"json\":true}"),
        Err(FormError::MissingField("command"))
    );
    assert_eq!(SlashRequest::from_form(b"command=\xff"), Err(FormError::NotUtf8));
}
