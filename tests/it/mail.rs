//! Mail delivery as the running server does it: the outbox, its retries,
//! and the directory mailer.

use std::time::Duration;

use crate::harness::*;

#[tokio::test]
async fn registration_succeeds_while_smtp_refuses_and_the_mail_arrives_once_it_recovers() {
    // A 1 s first retry keeps the test short; the default 30 s policy is
    // pinned by auth-core's retry_delay_doubles_up_to_the_cap.
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| c.mail_retry_delay = 1).await;
    app.sink.set_refusing(true);
    let user = app.unverified().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.sink.to(&user.email).is_empty());
    app.sink.set_refusing(false);
    let mails = app
        .sink
        .wait_for(&user.email, 1, Duration::from_secs(15))
        .await;
    assert_eq!(
        mails.len(),
        1,
        "the queued mail was not delivered after SMTP recovered"
    );
}

#[tokio::test]
async fn dir_mail_url_writes_one_eml_file_per_mail() {
    let mail_dir = tempfile::tempdir().unwrap();
    let path = mail_dir.path().to_owned();
    let app = TestApp::spawn(auth_server::Compat::Drr, move |c| {
        c.mail_url = format!("dir:{}", path.display())
    })
    .await;
    let user = app.unverified().await;
    let mut found = None;
    for _ in 0..200 {
        let files: Vec<_> = std::fs::read_dir(mail_dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .collect();
        if let Some(file) = files
            .iter()
            .find(|f| f.path().extension().is_some_and(|e| e == "eml"))
        {
            found = Some(std::fs::read_to_string(file.path()).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mail = found.expect("no .eml file written");
    assert!(mail.contains(&format!("To: {}", user.email)), "{mail}");
    assert!(
        mail.contains(&format!("{VERIFY_URL}?user_id={}&timestamp=", user.id)),
        "{mail}"
    );
}
