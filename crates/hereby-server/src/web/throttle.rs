//! The sign-in throttle: a delay that grows with each failure, kept per account *and* client
//! address, and per client address over all accounts.
//!
//! A lockout per account lets anyone lock a named person out (the Incident Commander, in the
//! middle of an incident) by failing on purpose; one per address locks out everyone behind
//! a reverse proxy. Here failures slow down only the address they come from: a few free
//! failures for an account from one address, then a wait that doubles with each further
//! failure (one second, two, four … at most five minutes); an address that fails across many
//! accounts (password spraying) is slowed the same way after more free failures. The account
//! owner signing in from elsewhere is never held up by someone else's failures. Behind a
//! reverse proxy, the client address is read from `X-Forwarded-For` for trusted proxies only
//! (`hereby serve --trusted-proxy`). Per server node: a cluster of N nodes allows N times as
//! many attempts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed sign-ins for one account from one address before the wait starts.
const FREE_PER_ACCOUNT: u32 = 3;
/// Failed sign-ins from one address, over all accounts, before the wait starts.
const FREE_PER_ADDRESS: u32 = 20;
/// The longest wait.
const LONGEST: Duration = Duration::from_secs(5 * 60);
/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old ones are swept.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Counts failed sign-ins and says how long the next attempt must wait.
#[derive(Debug, Clone, Default)]
pub(crate) struct Throttle(Arc<Mutex<HashMap<Key, Failures>>>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// An account (lower-cased) from an address (`None` when the server does not know it).
    Account(String, Option<IpAddr>),
    Address(IpAddr),
}

impl Throttle {
    /// How long an attempt to sign in to `account` from `address` must still wait, if at all.
    pub(crate) fn wait(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        let failures = self.0.lock().ok()?;
        let remaining = |key: &Key, free: u32| {
            failures.get(key).and_then(|failed| {
                let delay = delay(failed.count, free);
                let waited = now.saturating_duration_since(failed.last);
                (waited < delay).then(|| delay - waited)
            })
        };
        let account = remaining(
            &Key::Account(account.to_lowercase(), address),
            FREE_PER_ACCOUNT,
        );
        let address = address.and_then(|ip| remaining(&Key::Address(ip), FREE_PER_ADDRESS));
        account.into_iter().chain(address).max()
    }

    /// Records a failed attempt.
    pub(crate) fn fail(&self, account: &str, address: Option<IpAddr>, now: Instant) {
        let Ok(mut failures) = self.0.lock() else {
            return;
        };
        if failures.len() > SWEEP_AT {
            failures.retain(|_, failed| now.saturating_duration_since(failed.last) < FORGET_AFTER);
        }
        let keys = [
            Some(Key::Account(account.to_lowercase(), address)),
            address.map(Key::Address),
        ];
        for key in keys.into_iter().flatten() {
            let failed = failures.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.saturating_duration_since(failed.last) >= FORGET_AFTER {
                failed.count = 0;
            }
            failed.count += 1;
            failed.last = now;
        }
    }

    /// A successful sign-in clears the account's failures from that address (the address's
    /// own count stays: one good password does not excuse spraying).
    pub(crate) fn succeeded(&self, account: &str, address: Option<IpAddr>) {
        if let Ok(mut failures) = self.0.lock() {
            failures.remove(&Key::Account(account.to_lowercase(), address));
        }
    }
}

/// The wait after `count` failures of which `free` cost nothing: one second after the first
/// paid one, doubling, at most [`LONGEST`].
fn delay(count: u32, free: u32) -> Duration {
    match count.checked_sub(free) {
        None => Duration::ZERO,
        Some(paid) => Duration::from_secs(1u64 << paid.min(16)).min(LONGEST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> Option<IpAddr> {
        Some(raw.parse().unwrap())
    }

    #[test]
    fn the_wait_grows_with_each_failure_and_is_capped() {
        assert_eq!(delay(2, 3), Duration::ZERO);
        assert_eq!(delay(3, 3), Duration::from_secs(1));
        assert_eq!(delay(4, 3), Duration::from_secs(2));
        assert_eq!(delay(8, 3), Duration::from_secs(32));
        assert_eq!(delay(12, 3), LONGEST);
        assert_eq!(delay(u32::MAX, 3), LONGEST);
    }

    #[test]
    fn failures_slow_down_only_the_address_they_come_from() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let attacker = ip("203.0.113.9");
        for n in 0..3 {
            assert_eq!(throttle.wait("sam", attacker, t0), None, "free failure {n}");
            throttle.fail("sam", attacker, t0);
        }
        assert_eq!(
            throttle.wait("SAM", attacker, t0),
            Some(Duration::from_secs(1))
        );
        // After waiting, one more failure doubles the wait.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(throttle.wait("sam", attacker, t1), None);
        throttle.fail("sam", attacker, t1);
        assert_eq!(
            throttle.wait("sam", attacker, t1),
            Some(Duration::from_secs(2))
        );
        // The account's owner, elsewhere, is not held up; nor is another account.
        assert_eq!(throttle.wait("sam", ip("198.51.100.7"), t1), None);
        assert_eq!(throttle.wait("nina", attacker, t1), None);
    }

    #[test]
    fn spraying_many_accounts_from_one_address_is_slowed_too() {
        let throttle = Throttle::default();
        let now = Instant::now();
        let sprayer = ip("203.0.113.10");
        for n in 0..20 {
            throttle.fail(&format!("user{n}"), sprayer, now);
        }
        assert_eq!(
            throttle.wait("someone-else", sprayer, now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(throttle.wait("someone-else", ip("203.0.113.11"), now), None);
    }

    #[test]
    fn success_clears_the_account_and_failures_are_forgotten() {
        let throttle = Throttle::default();
        let now = Instant::now();
        let home = ip("192.0.2.1");
        for _ in 0..5 {
            throttle.fail("sam", home, now);
        }
        assert!(throttle.wait("sam", home, now).is_some());
        throttle.succeeded("sam", home);
        assert_eq!(throttle.wait("sam", home, now), None);
        for _ in 0..5 {
            throttle.fail("nina", home, now);
        }
        let later = now + FORGET_AFTER;
        throttle.fail("nina", home, later);
        assert_eq!(throttle.wait("nina", home, later), None, "counted afresh");
    }
}
