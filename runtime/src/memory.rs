//! Giving back memory the runtime no longer needs, where it stays resident for long: the
//! foreground `run` (and `exec`) process waits beside the container for the container's
//! whole life, one per service. The wait (foreground.rs) calls [`release_for_wait`] once the
//! process has run for 200 ms: a short-lived container (`run` of a one-shot command) never
//! pays for faulting the pages back in for its delete.
//!
//! Where a waiting `run`'s pages were (measured, static build, hardened bundle): ~3.3 MiB of
//! the binary's text and ~0.6 MiB of its read-only data, mapped in by the start path (the
//! kernel maps up to 64 KiB around every faulting page of a cached file, so scattered code
//! costs whole neighbourhoods); ~0.3 MiB of heap, freed but kept by malloc; ~90 KiB of stack
//! touched by the deepest call chain of create. None of it is used by the wait, which needs
//! a few KiB of code.
//!
//! - Text and read-only data are clean file pages: `MADV_DONTNEED` unmaps them from this
//!   process only (they stay in the page cache, shared); whatever runs next faults its own
//!   pages back. Never applied to a writable mapping, whose private changes would be lost:
//!   the range ends at `etext`, before the relro and data segments.
//! - The heap: `malloc_trim(0)` returns freed memory (the top of the heap and whole free
//!   pages inside it).
//! - The stack below the current frame is unused: dropped, it reads as zero pages again if
//!   a later call goes that deep. Only on the main thread, and only a range well inside the
//!   gap the kernel keeps below its stack.
//!
//! Every step is an optimisation: a failure leaves the memory where it was and is not an
//! error.

extern "C" {
    /// Start of the ELF header, mapped at the start of the first (read-only) segment;
    /// defined by GNU ld and lld.
    static __ehdr_start: u8;
    /// End of the text segment; defined by GNU ld and lld.
    static etext: u8;
    fn malloc_trim(pad: libc::size_t) -> libc::c_int;
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory arguments.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

fn dontneed(start: usize, end: usize) {
    if end > start {
        // SAFETY: the callers pass ranges of clean, read-only file mappings or of unused
        // stack below the live frames; MADV_DONTNEED there only drops pages that fault back
        // in unchanged (file pages) or as zeros (unused stack).
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Unmaps the binary's read-only data and text from this process (see the module doc).
pub fn drop_text() {
    let page = page_size();
    // Only the addresses of the linker-defined symbols are taken, never their contents.
    let (start, end) = (std::ptr::addr_of!(__ehdr_start) as usize, std::ptr::addr_of!(etext) as usize);
    // The whole pages from the header to the end of text: the read-only segment before
    // text and text itself (the partial last page stays).
    dontneed(start.next_multiple_of(page), end / page * page);
}

/// Gives freed heap memory back to the kernel.
pub fn trim_heap() {
    // SAFETY: malloc_trim only works on the allocator's own free lists.
    unsafe { malloc_trim(0) };
}

/// Drops the stack pages below the current frame (more than `keep` bytes below it). Only
/// on the main thread, whose stack has the kernel's gap below it: another thread's stack
/// may have any mapping right below (the runtime has no threads; a test harness does).
#[inline(never)]
pub fn drop_unused_stack(keep: usize) {
    // SAFETY: getpid and gettid have no arguments.
    if unsafe { libc::getpid() != libc::gettid() } {
        return;
    }
    let page = page_size();
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    // 256 KiB below: far less than the gap the kernel keeps free below a growing stack
    // (at least 128 MiB before the mmap area, or nothing at all with an unlimited stack).
    let top = sp.saturating_sub(keep) / page * page;
    dontneed(top.saturating_sub(256 * 1024), top);
}

/// Once a wait turns out to be long: everything above.
pub fn release_for_wait() {
    trim_heap();
    drop_unused_stack(16 * 1024);
    drop_text();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_data_survive_the_release() {
        let v: Vec<u64> = (0..100_000).collect();
        let s = format!("{}", v.iter().sum::<u64>());
        release_for_wait();
        // Text and read-only data fault back in; heap and live stack are untouched.
        assert_eq!(s, "4999950000");
        assert_eq!(v.iter().sum::<u64>(), 4_999_950_000);
        assert_eq!(format!("{:?}", Some("x")), "Some(\"x\")");
    }
}
