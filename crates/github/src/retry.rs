//! When and how long to wait before retrying a GitHub API call.
//!
//! GitHub asks clients to honour `Retry-After` (secondary rate limits, 429 and some 403s) and,
//! when the primary limit is spent (`x-ratelimit-remaining: 0`), to wait for
//! `x-ratelimit-reset`. Server errors are retried with exponential backoff. A 403 without
//! those headers is a real permission refusal and is not retried.

use std::time::Duration;

use http::HeaderMap;

/// How hard to try before giving up on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff when GitHub gives no hint; doubled on each retry.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever GitHub asks.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff for `attempt` (0 for the first retry), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before retrying a response with `status` and `headers`, or `None` when the
    /// response must not be retried. `now_unix` is the current time in Unix seconds.
    pub fn delay_for(
        &self,
        attempt: u32,
        status: u16,
        headers: &HeaderMap,
        now_unix: u64,
    ) -> Option<Duration> {
        let retry_after = header_u64(headers, "retry-after").map(Duration::from_secs);
        let reset_wait = match (
            header_u64(headers, "x-ratelimit-remaining"),
            header_u64(headers, "x-ratelimit-reset"),
        ) {
            // One second beyond the reset, since the clocks may differ slightly.
            (Some(0), Some(reset)) => Some(Duration::from_secs(
                reset.saturating_sub(now_unix).saturating_add(1),
            )),
            _ => None,
        };
        let wait = match status {
            429 => retry_after.or(reset_wait).or(Some(self.backoff(attempt))),
            403 => retry_after.or(reset_wait),
            500 | 502 | 503 | 504 => retry_after.or(Some(self.backoff(attempt))),
            _ => None,
        }?;
        Some(wait.min(self.max_delay))
    }
}

/// True for statuses that mean "too many requests" rather than "no".
pub(crate) fn is_rate_limit(status: u16, headers: &HeaderMap) -> bool {
    status == 429
        || (status == 403
            && (headers.contains_key("retry-after")
                || header_u64(headers, "x-ratelimit-remaining") == Some(0)))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(
            policy().delay_for(0, 429, &h, 0),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            policy().delay_for(0, 403, &h, 0),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            policy().delay_for(0, 503, &h, 0),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn spent_primary_limit_waits_for_the_reset() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1010"),
        ]);
        assert_eq!(
            policy().delay_for(0, 403, &h, 1000),
            Some(Duration::from_secs(11))
        );
        assert_eq!(
            policy().delay_for(0, 429, &h, 1000),
            Some(Duration::from_secs(11))
        );
        // A reset already past still waits a moment.
        assert_eq!(
            policy().delay_for(0, 403, &h, 2000),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn waits_are_capped() {
        let h = headers(&[("retry-after", "3600")]);
        assert_eq!(
            policy().delay_for(0, 429, &h, 0),
            Some(Duration::from_secs(30))
        );
        assert_eq!(policy().backoff(40), Duration::from_secs(30));
    }

    #[test]
    fn plain_forbidden_and_client_errors_are_not_retried() {
        let none = HeaderMap::new();
        assert_eq!(policy().delay_for(0, 403, &none, 0), None);
        let h = headers(&[("x-ratelimit-remaining", "12"), ("x-ratelimit-reset", "5")]);
        assert_eq!(policy().delay_for(0, 403, &h, 0), None);
        for status in [400, 401, 404, 409, 422] {
            assert_eq!(policy().delay_for(0, status, &none, 0), None, "{status}");
        }
        assert!(!is_rate_limit(403, &none));
        assert!(is_rate_limit(429, &none));
    }

    #[test]
    fn server_errors_back_off_exponentially() {
        let none = HeaderMap::new();
        assert_eq!(
            policy().delay_for(0, 502, &none, 0),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            policy().delay_for(1, 502, &none, 0),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            policy().delay_for(2, 500, &none, 0),
            Some(Duration::from_millis(400))
        );
        assert_eq!(
            policy().delay_for(0, 429, &none, 0),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn garbage_headers_fall_back_to_backoff() {
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(
            policy().delay_for(0, 429, &h, 0),
            Some(Duration::from_millis(100))
        );
    }
}
