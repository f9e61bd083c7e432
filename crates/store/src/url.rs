//! Keeping database passwords out of logs and errors.

/// `url` with the password (in the user-info part or a `password=` query parameter)
/// replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(password) = url_password(url) {
        out = out.replace(&password, "***");
    }
    redact_query_password(&out)
}

/// Replaces every occurrence of the URL's password in `text` (an error message that might
/// quote it) by `***`.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    match url_password(url) {
        Some(password) => text.replace(&password, "***"),
        None => text.to_owned(),
    }
}

/// The non-empty password of `scheme://user:password@host...`, if any.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // The user-info ends at the LAST '@' of the authority (a raw '@' may appear in passwords).
    let (userinfo, _host) = authority.rsplit_once('@')?;
    let (_user, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_the_userinfo_password() {
        assert_eq!(
            redact_url("postgres://perf:s3cr%40t@db.example:5432/perf"),
            "postgres://perf:***@db.example:5432/perf"
        );
    }

    #[test]
    fn handles_a_raw_at_sign_in_the_password() {
        let redacted = redact_url("postgres://perf:p@ss@db/perf");
        assert!(!redacted.contains("p@ss"), "{redacted}");
        assert!(redacted.ends_with("@db/perf"), "{redacted}");
    }

    #[test]
    fn removes_a_query_password() {
        assert_eq!(
            redact_url("postgres://db/perf?user=x&password=hunter2&sslmode=require"),
            "postgres://db/perf?user=x&password=***&sslmode=require"
        );
    }

    #[test]
    fn leaves_urls_without_password_alone() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres:///perf",
            "nonsense",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn scrub_hides_a_quoted_password() {
        let url = "postgres://u:topsecret@h/d";
        assert_eq!(scrub("bad url u:topsecret@h", url), "bad url u:***@h");
    }
}
