//! Rate limits by key (a station's uploads, sign-in attempts for a name, failed sign-ins from
//! an address): a token bucket per key, refilled continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

/// Keys beyond which buckets that have refilled are forgotten: the names tried at sign-in are
/// the caller's to choose, and must not grow the map for ever.
const MAX_KEYS: usize = 10_000;

#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Self { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from the key's bucket, or says how long until one is free.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        let per_second = f64::from(self.limit.per_minute.max(1)) / 60.0;
        let burst = f64::from(self.limit.burst.max(1));
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_KEYS {
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }

    /// Returns a token taken from the key's bucket (for limits on failures: taken before the
    /// attempt, given back when it succeeds).
    pub fn give_back(&self, key: &str) {
        let burst = f64::from(self.limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((tokens, _)) = buckets.get_mut(key) {
            *tokens = (*tokens + 1.0).min(burst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_with_the_wait() {
        let limiter = Limiter::new(RateLimit { per_minute: 60, burst: 3 });
        for _ in 0..3 {
            assert!(limiter.take("GATE-1").is_ok());
        }
        let wait = limiter.take("GATE-1").unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.take("GATE-2").is_ok(), "stations have their own buckets");
    }

    #[test]
    fn tokens_given_back_are_taken_again() {
        let limiter = Limiter::new(RateLimit { per_minute: 1, burst: 2 });
        for _ in 0..5 {
            limiter.take("10.0.0.7").unwrap();
            limiter.give_back("10.0.0.7");
        }
        limiter.take("10.0.0.7").unwrap();
        limiter.take("10.0.0.7").unwrap();
        assert!(limiter.take("10.0.0.7").is_err());
        limiter.give_back("10.0.0.7");
        limiter.give_back("10.0.0.7");
        limiter.give_back("10.0.0.7");
        limiter.take("10.0.0.7").unwrap();
        limiter.take("10.0.0.7").unwrap();
        assert!(limiter.take("10.0.0.7").is_err(), "never more than the burst");
    }

    #[test]
    fn buckets_that_refilled_are_forgotten_when_there_are_many() {
        let limiter = Limiter::new(RateLimit { per_minute: 60, burst: 2 });
        limiter.take("busy").unwrap();
        limiter.take("busy").unwrap();
        for n in 0..MAX_KEYS {
            limiter.take(&format!("name-{n}")).unwrap();
        }
        // Every bucket but the empty one is still short of its burst: none is dropped yet.
        assert!(limiter.buckets.lock().unwrap().len() > MAX_KEYS);
        std::thread::sleep(Duration::from_millis(1100));
        limiter.take("one more").unwrap();
        let buckets = limiter.buckets.lock().unwrap();
        assert!(buckets.len() < 10, "{} kept", buckets.len());
        assert!(buckets.contains_key("busy"), "an emptied bucket is remembered until it refills");
    }
}
