import Foundation
import Synchronization

/// A work-stealing thread pool: N threads cooperate on fork-join work, the calling thread
/// included.
///
/// `threads` is the number of threads that execute tasks at once: the caller plus
/// `threads − 1` persistent workers. Each worker's run loop is a long-running item on its
/// own serial Dispatch queue. Every worker owns a Chase–Lev deque; idle workers steal from
/// random victims, spin briefly, then park on a futex so an idle pool costs no CPU.
///
/// All entry points are synchronous: they return when all the work they started is done.
/// Calls from inside a task run on the same workers (no new threads, no deadlock).
/// Calls from several outside threads at once are served one at a time.
///
/// Work is cut into tiles that depend only on the problem (`grain`, `tile`), never on the
/// thread count; stealing changes who runs a tile, not which tiles exist. `parallelReduce`
/// combines per-tile results in tile order, so its result is bit-identical for any `threads`.
///
/// Closures are not required to be `Sendable` (like `DispatchQueue.concurrentPerform`):
/// they run concurrently, and the caller is responsible for them touching disjoint data.
public final class ThreadPool {
    /// Where workers run.
    public enum Pinning: Sendable, Equatable {
        /// Wherever the kernel schedules them.
        case none
        /// Worker i on the i-th CPU of the affinity mask (round-robin).
        case cores
        /// Worker i on `cpus[i % cpus.count]`.
        case cpus([Int])
    }

    /// Threads executing tasks at once, the caller included.
    public let threads: Int
    /// Whether `operation(_:_:)` may run small operations on the caller alone.
    public let splitting: Splitting
    let core: PoolCore
    let decisions = SplitDecisions()

    /// Creates a pool of `threads` threads (the caller plus `threads − 1` workers).
    ///
    /// - Parameters:
    ///   - threads: 1 ... `ThreadCount.maximum`; more threads than CPUs is allowed.
    ///   - pinning: optional CPU affinity for the workers.
    ///   - spinMicroseconds: how long an idle thread spins before parking.
    ///   - splitting: `.whenFaster` (the default) lets `operation(_:_:)` run an operation on the
    ///     caller alone while that measures faster; `.always` always splits; `.never` runs
    ///     every operation on the caller alone (a control for scaling studies).
    public init(threads: Int, pinning: Pinning = .none, spinMicroseconds: Int = 50,
                splitting: Splitting = .whenFaster) {
        precondition(threads >= 1 && threads <= ThreadCount.maximum,
                     "ThreadPool(threads:) needs 1...\(ThreadCount.maximum) threads, got \(threads)")
        precondition(spinMicroseconds >= 0, "spinMicroseconds must be ≥ 0, got \(spinMicroseconds)")
        self.threads = threads
        self.splitting = splitting
        let cpus: [Int]?
        switch pinning {
        case .none: cpus = nil
        case .cores: cpus = ThreadCount.affinityCPUs()
        case .cpus(let list):
            precondition(!list.isEmpty && list.allSatisfy { $0 >= 0 },
                         "ThreadPool pinning needs non-negative CPU numbers, got \(list)")
            cpus = list
        }
        core = PoolCore(threads: threads, pinCPUs: cpus,
                        spinNanoseconds: Int64(spinMicroseconds) * 1000)
    }

    /// Creates a pool with the default thread count (`ThreadCount.defaultValue()`: the
    /// affinity mask capped by the cgroup quota, or `WEAVE_NUM_THREADS`).
    public convenience init(pinning: Pinning = .none,
                            splitting: Splitting = .whenFaster) throws(ThreadCountError) {
        self.init(threads: try ThreadCount.defaultValue(), pinning: pinning, splitting: splitting)
    }

    deinit {
        core.shutdown()
    }

    /// The CPU each worker is pinned to (nil when not pinned); index 0 is the caller.
    public var workerCPUs: [Int?] { core.slots.map { $0.pinnedCPU } }

    /// The NUMA node of each pinned worker (-1 when not pinned or unknown); index 0 is the caller.
    public var workerNUMANodes: [Int] { core.slots.map { $0.numaNode } }

    /// Counters since the pool started, per slot (index 0 is the caller's slot).
    public struct Statistics: Sendable, Equatable {
        /// Jobs taken from a deque and executed (forks that were not run inline).
        public var executed: [Int]
        /// Jobs stolen from another slot's deque.
        public var steals: [Int]
        /// Times the slot's thread went to sleep on its futex.
        public var parks: [Int]
        /// Times the slot's thread dozed because a busy peer shared its CPU.
        public var dozes: [Int]
        /// Times the slot's thread (a worker) moved itself off a CPU a busy peer was on, to
        /// another CPU of its affinity mask (Scheduler/README.md, "Co-location").
        public var moves: [Int]
        /// Times the slot's thread, waiting for work a worker had taken, found that worker
        /// not running (preempted on a busy CPU) and pulled it onto its own CPU
        /// (Scheduler/README.md, "Pulling a preempted worker").
        public var pulls: [Int]
    }

    /// A snapshot of the counters (relaxed reads; exact once the pool is quiet).
    public var statistics: Statistics {
        Statistics(
            executed: core.slots.map { $0.executedCount.load(ordering: .relaxed) },
            steals: core.slots.map { $0.stealCount.load(ordering: .relaxed) },
            parks: core.slots.map { $0.parkCount.load(ordering: .relaxed) },
            dozes: core.slots.map { $0.dozeCount.load(ordering: .relaxed) },
            moves: core.slots.map { $0.moveCount.load(ordering: .relaxed) },
            pulls: core.slots.map { $0.pullCount.load(ordering: .relaxed) })
    }

    /// The index of the calling thread's slot in this pool (0 for the caller, 1... for
    /// workers), or nil when called from a thread that is not inside this pool.
    public var currentSlot: Int? {
        core.ownSlot()?.index
    }
}

extension ThreadPool: @unchecked Sendable {
    // Safe because: `threads` is immutable and `core` is thread-safe (PoolCore.swift).
}
