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
/// having watched the worker's CPU time over the end of its spin, it narrows the mask of a
/// worker that did not run to its own CPU, which moves a queued thread at once, and parks.
/// Measured in C on this machine (a 500 µs tile on a CPU shared with a busy loop, the waiter
/// parking on a futex): mean 1.97 ms → 0.58 ms, 90th percentile 4.6 → 0.60 ms; a 100 µs tile,
/// 1.05 → 0.18 ms; without the busy loop no worker was pulled and times were unchanged.
extension PoolCore {
    /// How long before its park a joiner starts watching the CPU time of busy workers (the end
    /// of its spin, which goes on meanwhile: it still looks for work), and the least CPU time
    /// a running worker shows in that window (a quarter of it): one that ran less is not
    /// running. A watch shorter than half of this (a pool that spins less) pulls nobody.
    static let pullWatchNanoseconds: Int64 = 20_000

    /// Starts a watch: records the CPU time of each worker that is busy (running a job someone
    /// may wait for) and awake, and returns whether there is any. Pinned workers are never
    /// pulled (their CPU was asked for), nor is the caller's thread (not the pool's to move).
    func startPullWatch(_ slot: WorkerSlot) -> Bool {
        guard threads > 1 && creatorCPUs != nil else { return false }
        var watched = false
        for peer in slots.dropFirst() where peer !== slot {
            var clock: Int64 = -1
            if peer.pinnedCPU == nil && peer.isBusyAndAwake && !peer.pulled.load(ordering: .relaxed)
                && peer.threadID.load(ordering: .acquiring) != 0 {
                clock = weave_cpu_clock_ns(peer.cpuClock.load(ordering: .relaxed))
            }
            slot.watchedClocks[peer.index] = clock
            if clock >= 0 { watched = true }
        }
        return watched
    }

    /// Ends the watch `startPullWatch` began `elapsed` ns ago, as the joiner is about to park:
    /// pulls onto its CPU each watched worker still busy and awake that ran less than a
    /// quarter of that time.
    func pullStalledWorkers(_ slot: WorkerSlot, watchedFor elapsed: Int64) {
        guard elapsed >= Self.pullWatchNanoseconds / 2 else { return }
        let here = weave_current_cpu()
        // Workers run on their creator's CPUs: a caller outside them pulls nobody.
        guard here >= 0, creatorCPUs?.contains(here) == true else { return }
        var cpu = here
        for peer in slots.dropFirst() where peer !== slot {
            let before = slot.watchedClocks[peer.index]
            guard before >= 0 else { continue }
            let ran = weave_cpu_clock_ns(peer.cpuClock.load(ordering: .relaxed)) - before
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
