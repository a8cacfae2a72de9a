//! When to try again after a transient failure: exponential backoff with jitter, capped, or the
//! delay the service asked for with `Retry-After`.

use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failure; it doubles with each further one.
    pub initial: Duration,
    /// No delay is longer, not even one the service asked for.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { initial: Duration::from_secs(1), max: Duration::from_secs(60) }
    }
}

/// Consecutive failures and the delay they call for.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    failures: u32,
}

impl Backoff {
    pub fn new(policy: RetryPolicy) -> Self {
        Self { policy, failures: 0 }
    }

    /// Records one more failure and returns how long to wait before the next attempt. The
    /// exponential delay is jittered into its upper half, so that stations cut off together do
    /// not come back in lockstep, yet never retry at once.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let doubled = self.policy.initial.saturating_mul(1 << self.failures.min(20));
        self.failures = self.failures.saturating_add(1);
        match retry_after {
            Some(asked) => asked.min(self.policy.max),
            None => doubled.min(self.policy.max).mul_f64(0.5 + rand::random_range(0.0..=0.5)),
        }
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A `Retry-After` header value: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(SystemTime::from(at).duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(RetryPolicy { initial: Duration::from_secs(1), max: Duration::from_secs(60) });
        for (failure, full) in [1u64, 2, 4, 8, 16, 32, 60, 60, 60].into_iter().enumerate() {
            let delay = backoff.next_delay(None);
            let full = Duration::from_secs(full);
            assert!(delay >= full / 2 && delay <= full, "failure {failure}: {delay:?} outside {full:?}/2..={full:?}");
        }
        backoff.reset();
        assert!(backoff.next_delay(None) <= Duration::from_secs(1));
    }

    #[test]
    fn the_service_asked_delay_is_honoured_within_the_cap() {
        let mut backoff = Backoff::new(RetryPolicy::default());
        assert_eq!(backoff.next_delay(Some(Duration::from_secs(5))), Duration::from_secs(5));
        assert_eq!(backoff.next_delay(Some(Duration::from_secs(3600))), Duration::from_secs(60));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470); // 2015-10-21T07:27:50Z
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO), "a date passed");
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
