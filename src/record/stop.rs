//! Stopping a recording between fetches: a flag that Ctrl-C sets and that
//! waits can be woken by.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A stop request shared between the recording loop and the signal handler.
#[derive(Debug, Default)]
pub struct Stop {
    requested: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    pub fn new() -> Arc<Self> {
        Arc::new(Stop::default())
    }

    /// Requests a stop and wakes every waiting thread.
    pub fn request(&self) {
        *self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    pub fn is_requested(&self) -> bool {
        *self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps for `duration` or until a stop is requested. Returns true when
    /// a stop was requested.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut requested = self
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if *requested {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            requested = self
                .wake
                .wait_timeout(requested, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Exit status after a second Ctrl-C: 128 + SIGINT, as shells report it.
pub const ABORT_EXIT_STATUS: i32 = 130;

/// Installs the SIGINT handler: the first Ctrl-C requests a stop after the
/// current fetch, the second ends the process at once. Files already saved
/// and the manifest stay consistent either way, because both are written to
/// a temporary file and renamed into place.
pub fn install_ctrlc(stop: Arc<Stop>) -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(move || {
        if stop.is_requested() {
            eprintln!("pprof-chain: interrupted again; aborting");
            std::process::exit(ABORT_EXIT_STATUS);
        }
        eprintln!("pprof-chain: stopping after the current snapshot; press Ctrl-C again to abort");
        stop.request();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_returns_early_on_request() {
        let stop = Stop::new();
        let waker = Arc::clone(&stop);
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            waker.request();
        });
        assert!(stop.sleep(Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(10));
        thread.join().expect("waker thread");
    }

    #[test]
    fn sleep_runs_full_time_without_request() {
        let stop = Stop::new();
        let started = Instant::now();
        assert!(!stop.sleep(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
