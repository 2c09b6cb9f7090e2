import CPlatform
import Synchronization

/// One participant of a pool: a background worker, or (slot 0) the external thread that is
/// currently calling into the pool. Owns a deque, a park word and a stack of reusable jobs.
package final class WorkerSlot {
    /// Park-word states (see Scheduler/README.md, "Sleeping and waking").
    enum ParkState {
        static let awake: UInt32 = 0
        static let parked: UInt32 = 1
        /// Woken for new work; the waker handed over a spinner token.
        static let wokenWithToken: UInt32 = 2
        /// Woken because a job it waits for completed, or for shutdown.
        static let wokenPlain: UInt32 = 3
        /// Sleeping with a timeout because a busy peer shares its CPU ("Co-location" in
        /// Scheduler/README.md): not counted in `sleepers`, so forks never wake it; completion
        /// and shutdown do.
        static let dozing: UInt32 = 4
    }

    package let index: Int
    let deque = WorkStealingDeque()
    /// The leaf of tiles this slot's thread is running, open to thieves (`SharedLeaf`).
    let leaf = SharedLeaf()
    let parkWord = FutexWord(ParkState.awake)
    /// Reusable jobs for `join`, indexed by fork depth. Touched only by the slot's thread.
    private var jobStack: [Job] = []
    private var depth = 0
    /// xorshift64 state for victim selection. Touched only by the slot's thread.
    private var randomState: UInt64

    /// The CPU this slot's thread last ran on, as it last saw it (-1 before it first looks).
    /// Written only by the slot's thread; read by peers checking whether they share its CPU.
    let cpu = Atomic<Int32>(-1)
    /// Whether the slot's thread is doing work others wait for: the caller's slot always (its
    /// thread runs user code between pool calls), a worker while it executes a job it found
    /// idle. A peer on the same CPU must not spin or steal while this is set.
    let busy: Atomic<Bool>

    /// The CPU this worker is pinned to, when pinning was requested.
    package internal(set) var pinnedCPU: Int?
    /// The NUMA node of `pinnedCPU` (or of the CPU it first ran on), -1 when unknown.
    package internal(set) var numaNode: Int = -1

    /// Set while `ThreadPool.operation` runs an operation inline: every `parallelFor`, `join`
    /// and `spawn` on this slot then runs on its own thread. Touched only by the slot's thread.
    var runsInline = false

    /// Set while `ThreadPool.operation` runs a call split: `PoolCore.runUntil` then adds to
    /// `waitedTicks` the time this slot's thread spends waiting for other threads (spinning,
    /// dozing or parked, not running work it found meanwhile). Touched only by the slot's
    /// thread.
    var measuresWaits = false
    /// `weave_ticks` spent waiting for other threads while `measuresWaits` was set (since the
    /// split call began, which zeroes it): how much of a slow split call was a stall of another
    /// thread (`SplitChooser`). Touched only by the slot's thread.
    var waitedTicks: UInt64 = 0

    /// Set when this slot's thread forks or spawns work another thread could take, or, in an
    /// operation run inline, would have (a `parallelFor` of two tiles or more, a `join`, a
    /// `spawn`). `ThreadPool.operation` clears it when a call begins and reads it when the call
    /// ends: a key whose calls never have work to share runs without choosing or timing
    /// (`SplitDecisions`, "serial keys"). Touched only by the slot's thread.
    var hadWorkToShare = false

    /// Node-local scratch, created on first use by the slot's thread.
    private var scratchArena: ScratchArena?

    /// This slot's scratch arena. Touched only by the slot's thread.
    var scratch: ScratchArena {
        if let scratchArena { return scratchArena }
        let arena = ScratchArena(pinnedCPU: pinnedCPU)
        scratchArena = arena
        return arena
    }

    // Statistics: written by the slot's thread (relaxed), read by anyone.
    let executedCount = Atomic<Int>(0)
    let stealCount = Atomic<Int>(0)
    let parkCount = Atomic<Int>(0)
    let dozeCount = Atomic<Int>(0)
    let moveCount = Atomic<Int>(0)
    let pullCount = Atomic<Int>(0)

    /// A worker thread's kernel id and CPU-time clock (0 and -1 until it starts; the caller's
    /// slot never sets them): a joiner reads the clock to tell whether the worker is running,
    /// and narrows its mask to pull it over (`PoolCore.pullStalledWorkers`).
    let threadID = Atomic<Int64>(0)
    let cpuClock = Atomic<Int32>(-1)
    /// Set by a joiner that pulled this worker onto its CPU; the worker takes its own mask back
    /// when it next looks for work.
    let pulled = Atomic<Bool>(false)
    /// Each peer's CPU time when this slot's thread, spinning before a park, began to watch
    /// it (-1: not watched), indexed by slot (`PoolCore.startPullWatch`). Touched only by the
    /// slot's thread.
    let watchedClocks: UnsafeMutablePointer<Int64>

    /// When this worker may next move off a CPU it shares with a busy peer, the back-off
    /// between such moves, and when it last moved (`PoolCore.moveOffSharedCPU`). Touched only
    /// by the slot's thread.
    var nextMoveNanoseconds: Int64 = 0
    var moveBackoffNanoseconds: Int64 = PoolCore.firstMoveBackoffNanoseconds
    var lastMoveNanoseconds: Int64 = 0

    init(index: Int, threads: Int) {
        self.index = index
        busy = Atomic(index == 0)
        randomState = 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)
        watchedClocks = .allocate(capacity: threads)
        watchedClocks.initialize(repeating: -1, count: threads)
    }

    deinit {
        parkWord.deallocate()
        watchedClocks.deallocate()
    }

    /// A job from the stack for a fork at the current depth.
    func pushJob() -> Job {
        if depth == jobStack.count { jobStack.append(Job()) }
        let job = jobStack[depth]
        depth += 1
        return job
    }

    /// Returns the job taken by the matching `pushJob`.
    func popJob() {
        depth -= 1
    }

    /// Records the CPU the calling thread (this slot's) runs on now, and returns it.
    @inline(__always)
    @discardableResult
    func publishCPU() -> Int32 {
        let now = weave_current_cpu()
        if cpu.load(ordering: .relaxed) != now { cpu.store(now, ordering: .relaxed) }
        return now
    }

    /// Whether this slot's thread is awake (not parked or dozing): only then can it be using
    /// its CPU.
    @inline(__always)
    var isAwake: Bool {
        let state = parkWord.atomic.pointee.load(ordering: .relaxed)
        return state != ParkState.parked && state != ParkState.dozing
    }

    /// Whether this slot's thread is awake and doing work others wait for (`busy`): a peer on
    /// its CPU must not spin or steal there (`PoolCore.sharesCPUWithBusyPeer`), and a worker
    /// moving off that CPU avoids it (`PoolCore.moveOffSharedCPU`).
    var isBusyAndAwake: Bool { busy.load(ordering: .relaxed) && isAwake }

    /// A pseudo-random number below `bound` (xorshift64; quality is irrelevant here).
    func nextRandom(below bound: Int) -> Int {
        var x = randomState
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        randomState = x
        return Int(x % UInt64(bound))
    }

    @inline(__always)
    func bump(_ counter: borrowing Atomic<Int>) {
        counter.store(counter.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}

extension WorkerSlot: @unchecked Sendable {
    // Safe because: the deque and park word are thread-safe; `jobStack`, `depth`,
    // `randomState` and the pin fields are touched only by the thread holding the slot (a
    // worker for its whole life; slot 0 by one external caller at a time, under the pool's
    // caller lock, which orders successive holders).
}
