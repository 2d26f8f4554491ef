//! CPU priority of background work. With a spare core it changes nothing; when webhooks and
//! moderation want more CPU than there is, the scheduler gives the webhook receiver about nine
//! parts in ten, so deliveries keep being acknowledged within milliseconds (Meta disables
//! subscriptions that answer slowly) and the inbox absorbs the burst, which the pipeline works
//! off as soon as there is room. The background never starves: it keeps about a tenth of a
//! busy core.

/// How much lower background threads run (a `nice` increment).
pub const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread to background priority (Linux: `nice` is per thread).
pub fn lower_current_thread() {
    // `who` 0: on Linux, PRIO_PROCESS with 0 is the calling thread only.
    lower_thread(0);
}

/// Lowers the thread `tid` of this process to background priority. Best effort: a system
/// that refuses keeps the priority as it was.
pub fn lower_thread(tid: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: getpriority/setpriority on a thread id of this process; no memory is shared.
    unsafe {
        let now = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, now + BACKGROUND_NICE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = tid;
}
