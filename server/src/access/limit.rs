//! Failed logins and failed bearer tokens, limited per client address: a
//! small burst, then 429 with `Retry-After` until the bucket refills. Only
//! failures draw from it, so a right token is never slowed, even from an
//! address that is being refused.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failures allowed at once from one address.
pub const BURST: u32 = 5;
/// After the burst, one more failure may be tried this often.
const REFILL_EVERY: Duration = Duration::from_secs(12);

pub struct FailureLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl Default for FailureLimit {
    fn default() -> Self {
        let burst = NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(REFILL_EVERY)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }
}

impl FailureLimit {
    /// Counts a failure from `client`: `None` while within the limit, else
    /// the seconds until another try is allowed.
    pub fn failed(&self, client: IpAddr) -> Option<u32> {
        match self.limiter.check_key(&client) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Some(u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX))
            }
        }
    }

    /// Forgets addresses whose buckets are full again (bounds the memory an
    /// address spray can take).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_passes_then_each_address_is_limited_alone() {
        let limit = FailureLimit::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..BURST {
            assert_eq!(limit.failed(a), None);
        }
        let wait = limit.failed(a).expect("limited after the burst");
        assert!((1..=13).contains(&wait), "{wait}");
        assert_eq!(limit.failed(b), None);
    }
}
