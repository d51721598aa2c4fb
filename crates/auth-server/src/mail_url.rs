//! `AUTH_MAIL_URL`: where mail goes.

use std::path::PathBuf;
use std::time::Duration;

use auth_smtp::{SmtpConfig, SmtpSecurity};

/// A parsed mail destination.
#[derive(Debug, Clone)]
pub enum MailTarget {
    /// Print to standard output.
    Console,
    /// One `.eml` file per message in a folder.
    Dir(PathBuf),
    /// An SMTP server.
    Smtp(SmtpConfig),
}

/// Parses `console`, `dir:PATH`, `smtp://[user:pass@]host[:port]`,
/// `smtp+starttls://…` and `smtps://…`.
pub fn parse(url: &str) -> Result<MailTarget, String> {
    if url == "console" {
        return Ok(MailTarget::Console);
    }
    if let Some(path) = url.strip_prefix("dir:") {
        if path.is_empty() {
            return Err("dir: needs a folder, as in dir:/var/mail/auth".into());
        }
        return Ok(MailTarget::Dir(PathBuf::from(path)));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not console, dir:PATH or an smtp:// URL"))?;
    let (security, default_port) = match scheme {
        "smtp" => (SmtpSecurity::None, 25),
        "smtp+starttls" => (SmtpSecurity::StartTls, 587),
        "smtps" => (SmtpSecurity::Tls, 465),
        other => {
            return Err(format!(
                "unknown mail scheme {other:?} (smtp, smtp+starttls, smtps)"
            ));
        }
    };
    let rest = rest.trim_end_matches('/');
    let (credentials, host_port) = match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            (Some((decode(user), decode(password))), host)
        }
        None => (None, rest),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .map_err(|_| format!("bad port {port:?} in the mail URL"))?,
        ),
        None => (host_port, default_port),
    };
    if host.is_empty() {
        return Err("the mail URL has no host".into());
    }
    Ok(MailTarget::Smtp(SmtpConfig {
        host: host.to_owned(),
        port,
        security,
        credentials,
        timeout: Duration::from_secs(10),
    }))
}

/// Percent-decoding for user names and passwords with reserved characters.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert!(matches!(parse("console"), Ok(MailTarget::Console)));
        assert!(
            matches!(parse("dir:/tmp/mail"), Ok(MailTarget::Dir(p)) if p == std::path::Path::new("/tmp/mail"))
        );
        let Ok(MailTarget::Smtp(c)) = parse("smtp://127.0.0.1:2525") else {
            panic!()
        };
        assert_eq!(
            (c.host.as_str(), c.port, c.security, c.credentials),
            ("127.0.0.1", 2525, SmtpSecurity::None, None)
        );
        let Ok(MailTarget::Smtp(c)) = parse("smtps://ann:p%40ss@mail.example") else {
            panic!()
        };
        assert_eq!((c.port, c.security), (465, SmtpSecurity::Tls));
        assert_eq!(c.credentials, Some(("ann".into(), "p@ss".into())));
        let Ok(MailTarget::Smtp(c)) = parse("smtp+starttls://mail.example") else {
            panic!()
        };
        assert_eq!((c.port, c.security), (587, SmtpSecurity::StartTls));
    }

    #[test]
    fn refuses_nonsense_with_a_reason() {
        for bad in ["", "dir:", "http://x", "smtp://", "smtp://host:port"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
