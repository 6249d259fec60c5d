//! The slot state machine of `proto::slot` over a real futex: the state
//! word in the shared segment, waits with absolute `CLOCK_MONOTONIC`
//! deadlines.

use crate::proto::slot;
use crate::shm::SlotHeader;
use crate::sys::futex;
use crate::sys::time::Deadline;
use std::sync::atomic::AtomicU32;

/// A slot's state word as a futex.
pub(crate) struct SlotFutex<'a>(pub &'a SlotHeader);

impl slot::Futex for SlotFutex<'_> {
    type Deadline = Deadline;

    #[inline]
    fn word(&self) -> &AtomicU32 {
        &self.0.state
    }

    fn wait(&self, expected: u32, deadline: Deadline) -> bool {
        futex::wait(&self.0.state, expected, deadline) != futex::Wait::TimedOut
    }

    fn wake(&self) {
        futex::wake(&self.0.state, 1);
    }

    #[inline]
    fn expired(&self, d: Deadline) -> bool {
        d.expired()
    }

    fn never(&self) -> Deadline {
        Deadline::NEVER
    }

    fn earlier(&self, a: Deadline, b: Deadline) -> Deadline {
        a.min(b)
    }
}
