//! Keeps every CPU out of its halt state while the load section runs: one
//! `SCHED_IDLE` thread per CPU, pinned there, spinning. The scheduler runs
//! such a thread only when nothing else wants the CPU and preempts it as
//! soon as anything does, so it takes no time from the peers; what it
//! removes is the wake-up of a halted CPU, which in a virtual machine is an
//! exit to the host and costs tens to hundreds of microseconds, far more
//! than any transport's own cost. Real-time systems are set up the same way
//! (`idle=poll`, or `/dev/cpu_dma_latency` where there is a cpuidle
//! driver). Without it the idle runs would measure the host, not the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The spinners; dropping this stops them.
#[derive(Debug)]
pub struct Awake {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Awake {
    /// Starts a spinner on each of `cpus`.
    pub fn start(cpus: &[usize]) -> Awake {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = cpus
            .iter()
            .map(|&cpu| {
                let stop = stop.clone();
                std::thread::spawn(move || spin(cpu, &stop))
            })
            .collect();
        Awake { stop, threads }
    }
}

impl Drop for Awake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Spins on `cpu` at `SCHED_IDLE` until told to stop; a thread that cannot
/// be pinned or lowered ends at once rather than compete with the peers.
fn spin(cpu: usize, stop: &AtomicBool) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    if rustix::thread::sched_setaffinity(None, &set).is_err()
        || baton::set_thread_priority(baton::Policy::Idle, 0).is_err()
    {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn spinners_stop_when_dropped() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let awake = Awake::start(&[0]);
            assert_eq!(awake.threads.len(), 1);
            drop(awake);
            done.send(()).unwrap();
        });
        // A spinner that ignored the stop word would keep the drop joining.
        finished.recv_timeout(Duration::from_secs(30)).expect("the spinners did not stop");
    }
}
