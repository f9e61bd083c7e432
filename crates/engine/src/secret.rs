//! Secret scrubbing: whatever a repository command prints passes through a [`Scrubber`] before
//! it reaches a log line, an error message, a job page or a PR body.

use secrecy::{ExposeSecret, SecretString};

/// The replacement for every occurrence of a registered secret.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not registered: redacting every `"a"` or `"1"` would destroy
/// the output while protecting nothing (a real token or key is far longer).
pub const MIN_SECRET_LEN: usize = 6;

/// Replaces registered secret values (tokens, keys, webhook secrets) in text with `[redacted]`.
///
/// The values are held as [`SecretString`], so printing a `Scrubber` with `{:?}` shows no secret.
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Scrubber {
    pub fn new() -> Scrubber {
        Scrubber::default()
    }

    /// Registers a secret value. A PEM key is registered whole and line by line, so that a key
    /// printed with other line breaks (or one line of it) is still caught. Values shorter than
    /// [`MIN_SECRET_LEN`] are ignored.
    pub fn add(&mut self, secret: &str) {
        let mut push = |value: &str| {
            let value = value.trim();
            if value.len() >= MIN_SECRET_LEN
                && !value.starts_with("-----")
                && !self.secrets.iter().any(|s| s.expose_secret() == value)
            {
                self.secrets.push(SecretString::from(value.to_string()));
            }
        };
        push(secret);
        if secret.trim().contains('\n') {
            for line in secret.lines() {
                push(line);
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        self.secrets
            .sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
    }

    /// Registers a secret held as a [`SecretString`] (a token, a webhook secret, a key).
    pub fn add_secret(&mut self, secret: &SecretString) {
        self.add(secret.expose_secret());
    }

    /// Builder form of [`Scrubber::add`].
    pub fn with(mut self, secret: &str) -> Scrubber {
        self.add(secret);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Returns `text` with every registered secret replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            let value = secret.expose_secret();
            if out.contains(value) {
                out = out.replace(value, REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence() {
        let s = Scrubber::new().with("ghs_abcdefghijklmnop");
        assert_eq!(
            s.scrub("token ghs_abcdefghijklmnop and again ghs_abcdefghijklmnop."),
            "token [redacted] and again [redacted]."
        );
    }

    #[test]
    fn longer_secret_wins_over_its_prefix() {
        let s = Scrubber::new().with("secret1").with("secret1-extended");
        assert_eq!(
            s.scrub("x secret1-extended y secret1"),
            "x [redacted] y [redacted]"
        );
    }

    #[test]
    fn pem_lines_are_caught_one_by_one() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAline1xyz\nQWERTYUIOPasdf1234\n-----END RSA PRIVATE KEY-----\n";
        let s = Scrubber::new().with(key);
        let leaked = "oops: QWERTYUIOPasdf1234";
        assert_eq!(s.scrub(leaked), "oops: [redacted]");
        assert!(!s.scrub(key).contains("MIIEpAIBAAKCAQEAline1xyz"));
        // The armour lines are public and stay.
        assert!(s.scrub(key).contains("BEGIN RSA PRIVATE KEY"));
    }

    #[test]
    fn short_values_are_ignored_and_debug_hides_values() {
        let s = Scrubber::new().with("ab").with("hunter22");
        assert_eq!(s.scrub("ab hunter22"), "ab [redacted]");
        assert!(!format!("{s:?}").contains("hunter22"));
    }
}
