//! The harness's memory allocator: mimalloc, returning freed memory to the
//! system soon.
//!
//! A run allocates and frees a few dozen small records per event (each
//! firing's line and contact read, the results lifted back, the report and
//! outbox entries), which mimalloc does for less CPU than the
//! system allocator (the README's Performance has the figures). Only the
//! harness's binary sets it: the embeddable `action-host` leaves the
//! allocator to its platform.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in `mimalloc.h` (the same place in mimalloc 2 and
/// 3), which `libmimalloc-sys` does not name.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system after 50 ms, not after mimalloc's
/// default second, and in small pages: a run's peak memory stays that of
/// its bounded window, not of its bursts. Over 100,000 firings batched, in
/// interleaved runs: 165–175 MiB at peak with mimalloc's defaults, 130–137
/// MiB with the delay at 0, and 115–118 MiB with transparent huge pages off
/// too (mimalloc asks for huge pages on its regions, and each one taken
/// again after a purge is 2 MiB for the kernel to zero). At 0, though, each
/// batch's buffers (its records, its request body) went back to the system
/// between batches and were faulted in again: 50 ms keeps them, for 125–130
/// MiB, in 4.0–4.4 s of CPU against 4.3–5.1 s at 0.
pub fn configure() {
    // SAFETY: sets a number in mimalloc's option table; called once, first
    // thing in `main`, before any other thread runs.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 50) };
    // A kernel without the switch refuses it, and huge pages stay on.
    // SAFETY: a process-wide flag of the kernel's; no memory is touched.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0)
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_is_the_option_set() {
        // mimalloc 3's default purge delay, 1,000 ms, is no other option's
        // default: the number is that option. Once configured, 50.
        // SAFETY: reads and sets numbers in mimalloc's option table.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(super::PURGE_DELAY), 1000);
            super::configure();
            assert_eq!(libmimalloc_sys::mi_option_get(super::PURGE_DELAY), 50);
        }
    }
}
