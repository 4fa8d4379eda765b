//! The one setting of the C allocator that matters for these processes.
//!
//! Every page crosses a balancer and a webui as buffers of tens of KiB,
//! allocated and freed thousands of times a second. glibc's malloc hands
//! the free memory at the top of a heap back to the kernel as soon as more
//! than 128 KiB of it is free (`M_TRIM_THRESHOLD`), so under load the same
//! pages were returned and faulted in again, zeroed by the kernel each time:
//! page faults and their clearing were several per cent of the balancer's
//! CPU, and of the webui's. Keeping up to [`TRIM_THRESHOLD`] free before
//! trimming took about a tenth off both (scripts/bench_page.sh, issue 9).
//!
//! Memory stays bounded: what is kept was in use a moment before, so a
//! process's resident size never passes its own peak. An operator's
//! `GLIBC_TUNABLES` that sets the trim threshold wins.

/// Free bytes a heap may keep at its top before giving them back.
pub const TRIM_THRESHOLD: usize = 64 << 20;

/// Sets the trim threshold, unless `GLIBC_TUNABLES` sets it. Call once, first thing in `main`.
pub fn keep_freed_memory() {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if tunables.contains("malloc.trim_threshold") {
        return;
    }
    // SAFETY: mallopt only changes the allocator's parameters; called before
    // any thread of ours starts.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int);
    }
}
