//! Database URLs in messages: never show a password.

/// Replaces the password of a `scheme://user:password@host/...` URL with `***`, and any
/// `password=` query parameter likewise, so the URL can be printed in errors and logs.
pub fn redact_url(url: &str) -> String {
    let mut redacted = match url.split_once("://") {
        Some((scheme, rest)) => {
            // The authority ends at the first '/', '?' or '#'; only there can a password sit.
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
                    None => url.to_owned(),
                },
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    };
    if let Some(start) = redacted.find("password=") {
        let value_start = start + "password=".len();
        let value_end = redacted[value_start..]
            .find('&')
            .map_or(redacted.len(), |end| value_start + end);
        redacted.replace_range(value_start..value_end, "***");
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive() {
        assert_eq!(
            redact_url("postgres://hereby:s3cr:et@db.example:5432/hereby"),
            "postgres://hereby:***@db.example:5432/hereby"
        );
        assert_eq!(
            redact_url("postgres://db/hereby?user=x&password=hunter2&sslmode=require"),
            "postgres://db/hereby?user=x&password=***&sslmode=require"
        );
        assert_eq!(redact_url("sqlite://hereby.db"), "sqlite://hereby.db");
        assert_eq!(
            redact_url("postgres://user@host/db"),
            "postgres://user@host/db"
        );
    }
}
