import CPlatform
import Synchronization

/// Pulling a preempted worker onto the CPU of the thread waiting for it (Scheduler/README.md,
/// "Pulling a preempted worker").
///
/// Why: with another process busy on a worker's CPU, the kernel runs the worker half the time,
/// in slices of a few ms. A joiner waiting for the tile that worker holds then waits out the
/// busy process's slice, 0.9–4 ms measured here, while its own CPU idles: the stalls that made
/// split calls of small ops lose under contention (`SplitChooser`, `PoolWaits`). The kernel does
/// not move the worker to the idle CPU in that time (it counts as cache-hot), so the joiner does:
/// it narrows the worker's mask to its own CPU, which moves a queued thread at once, and parks.
/// Measured in C on this machine (a 500 µs tile on a CPU shared with a busy loop, the waiter
/// parking on a futex): mean 1.97 ms → 0.58 ms, 90th percentile 4.6 → 0.60 ms; a 100 µs tile,
/// 1.05 → 0.18 ms; without the busy loop no worker was pulled and times were unchanged.
extension PoolCore {
    /// How long a joiner watches a worker's CPU time before pulling it, and the least CPU time
    /// a running worker shows in that window (a quarter of it): one that ran less is not
    /// running.
    static let pullWatchNanoseconds: Int64 = 20_000

    /// Pulls onto the calling thread's CPU each worker that is busy (running a job someone may
    /// wait for) but did not run over the last `pullWatchNanoseconds`. Called by a joiner (its
    /// `done` condition not yet met) just before it parks; returns early if `done` comes true
    /// while it watches. Pinned workers are never pulled (their CPU was asked for), nor is the
    /// caller's thread (not the pool's to move), nor a worker last seen on this CPU.
    func pullStalledWorkers(_ slot: WorkerSlot, until done: () -> Bool) {
        guard threads > 1 && creatorCPUs != nil else { return }
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: threads) { before in
            var watched = 0
            for peer in slots.dropFirst() where peer !== slot {
                before[peer.index] = -1
                guard peer.pinnedCPU == nil && peer.isBusyAndAwake && !peer.pulled.load(ordering: .relaxed),
                      peer.threadID.load(ordering: .acquiring) != 0 else { continue }
                before[peer.index] = weave_cpu_clock_ns(peer.cpuClock.load(ordering: .relaxed))
                if before[peer.index] >= 0 { watched += 1 }
            }
            guard watched > 0 else { return }
            let start = weave_monotonic_ns()
            var now = start
            while now - start < Self.pullWatchNanoseconds {
                if done() { return }
                for _ in 0..<4 { weave_cpu_relax() }
                now = weave_monotonic_ns()
            }
            let elapsed = now - start
            let here = weave_current_cpu()
            guard here >= 0 else { return }
            var cpu = here
            for peer in slots.dropFirst() where peer !== slot && before[peer.index] >= 0 {
                let ran = weave_cpu_clock_ns(peer.cpuClock.load(ordering: .relaxed)) - before[peer.index]
                // Still busy and awake: a worker that finished and parked is not waited for.
                // One last seen on this CPU gets the CPU when this thread parks; narrowing its
                // mask to this CPU would only keep it from a free one.
                guard ran >= 0 && ran < elapsed / 4 && peer.isBusyAndAwake,
                      peer.cpu.load(ordering: .relaxed) != here else { continue }
                let tid = peer.threadID.load(ordering: .acquiring)
                guard tid != 0 && weave_set_thread_affinity(tid, &cpu, 1) == 0 else { continue }
                peer.pulled.store(true, ordering: .relaxed)
                slot.bump(slot.pullCount)
            }
        }
    }

    /// A pulled worker's own mask back (its creator's): the kernel leaves it where it is, and
    /// the move off a shared CPU ("Co-location") takes it on from there, at once. A pull does
    /// not count as the kernel putting the worker back: with the move's back-off still running
    /// (it doubles when a worker must move again soon), a worker pulled every few ms dozed
    /// beside the joiner for up to a second instead of running half the time on its own CPU.
    func takeMaskBack(_ slot: WorkerSlot) {
        slot.pulled.store(false, ordering: .relaxed)
        slot.nextMoveNanoseconds = 0
        slot.moveBackoffNanoseconds = Self.firstMoveBackoffNanoseconds
        slot.lastMoveNanoseconds = 0
        guard let cpus = creatorCPUs else { return }
        _ = cpus.withUnsafeBufferPointer { weave_set_affinity($0.baseAddress, Int32($0.count)) }
    }
}
