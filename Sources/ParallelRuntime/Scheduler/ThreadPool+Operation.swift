import CPlatform

extension ThreadPool {
    /// Whether `operation(_:_:)` may run an operation on the calling thread alone.
    public enum Splitting: Sendable, Equatable {
        /// Always split work across the pool (for scaling studies and for tests of the
        /// parallel paths).
        case always
        /// Split an operation only while splitting measures faster than running it on the
        /// caller alone (`SplitChooser`): small operations, or a pool whose other threads share
        /// a busy CPU, run on one thread. The default.
        case whenFaster
        /// Run every operation on the calling thread alone, through the same per-call path as
        /// `.whenFaster` (caller lock, slot 0, the key's record) but without choosing or timing.
        /// A control for scaling studies: `.whenFaster` against `.never` is what the choices
        /// gain or lose; `.never` against a pool of one thread is the per-call overhead.
        case never
        /// Run each key's calls split and inline in turn, `alternatingRun` calls each way,
        /// without choosing. Not for speed: a trace of such a run (`traceOperations`) has
        /// thousands of calls of each way for every key, so a replay (`weave trace-replay`)
        /// prices either way on the calls it measured, not on the few trial calls of a way the
        /// chooser avoided (whose rare stalls a replay would otherwise never see). It has a
        /// bias of its own: with a worker on a busy CPU, a split call here waited 2–18× less
        /// than in the chooser's runs (a worker parked through every other run competes less).
        case alternating
    }

    /// Calls each way in a row with `.alternating` splitting: long enough that the calls which
    /// switch (a parked worker woken, data in the other cache) are few, short enough that both
    /// ways see every phase of the host.
    public static let alternatingRun = 64

    /// Runs one operation — typically a training step, or any run of kernels that hand data to
    /// each other — either split across the pool as usual or with every `parallelFor`, `join`
    /// and `spawn` inside it run inline on the calling thread, whichever has been faster for
    /// `key` lately (see `SplitChooser`). The tiles, and so the result, are the same either way.
    ///
    /// Wrap a whole sequence, not each kernel: kernels timed one by one each looked slower
    /// split next to inline neighbours (Scheduler/README.md, "Operations").
    ///
    /// Only calls from outside the pool choose; a call nested in a task of this pool (a GEMM
    /// inside a convolution's tile) just runs `body`, as does every call on a pool of one
    /// thread or with `splitting == .always`. With `splitting == .never` every call from
    /// outside runs inline.
    @inlinable
    public func operation<R>(_ key: OperationKey, _ body: () throws -> R) rethrows -> R {
        // Inlined into the caller, so the generic body call is specialized: the choosing and
        // timing around it are two plain calls (an unspecialized generic closure cost tens of
        // ns in metadata lookups per call).
        guard beginOperation(key) else { return try body() }
        let result: R
        do {
            result = try body()
        } catch {
            endOperation(completed: false)
            throw error
        }
        endOperation(completed: true)
        return result
    }

    /// For a call from outside the pool on a pool that chooses: takes slot 0 (under the caller
    /// lock), chooses the way for `key`, starts the clock and returns true. Otherwise returns
    /// false and `body` just runs.
    @usableFromInline
    func beginOperation(_ key: OperationKey) -> Bool {
        if threads == 1 || splitting == .always || core.isOwnThread() { return false }
        let previous = core.enterAsCaller()
        let way = decisions.begin(key, restoringAfterwards: previous, splitting: splitting, core: core)
        core.callerSlot.runsInline = way == .inline
        // A split call counts how long the caller waits for other threads (`SplitChooser`).
        core.callerSlot.measuresWaits = way == .split
        core.callerSlot.waitedTicks = 0
        core.callerSlot.hadWorkToShare = false
        decisions.startClock()
        return true
    }

    /// Ends the call `beginOperation` began: records its time (if it is one to time and did
    /// not throw) and gives slot 0 back.
    @usableFromInline
    func endOperation(completed: Bool) {
        let previous = decisions.end(completed: completed, waited: core.callerSlot.waitedTicks,
                                     shared: core.callerSlot.hadWorkToShare)
        core.callerSlot.runsInline = false
        core.callerSlot.measuresWaits = false
        core.leaveAsCaller(restoring: previous)
    }

    /// Calls of one operation key before `operation(_:_:)` has timed both ways, confirmed its
    /// choice and settled on one: a benchmark warms up with at least this many calls. That is
    /// 24: the warm-up and learning (2·4), the steady calls up to the confirmation trial (it
    /// starts on the 8th after learning), the trial's other 7 calls and the call back.
    public static var operationLearningCalls: Int {
        2 * (SplitChooser.minimumSamples + 1) + SplitChooser.confirmationInterval + SplitChooser.trialLength
    }

    /// How many operations ran split and how many inline, since the pool started.
    public var operationCounts: (split: Int, inline: Int) {
        (decisions.splitCount.load(ordering: .relaxed), decisions.inlineCount.load(ordering: .relaxed))
    }

    /// Per operation key: calls made each way and the recent cost of each, for reports
    /// that explain a scaling figure. Call it from outside the pool: it waits for any operation
    /// running from outside (the table is guarded by the caller lock).
    public func operationSummaries() -> [OperationSummary] {
        core.withSlot { _ in decisions.summaries() }
    }
}

/// What `ThreadPool.operation(_:_:)` did for one key.
public struct OperationSummary: Sendable, Codable, Equatable {
    /// The key's description ("name [shape] sizes").
    public var key: String
    public var callsSplit: Int
    public var callsInline: Int
    /// Calls made the other way from the call before (each trial of the slower way makes two).
    public var switches: Int
    /// What a call each way costs lately (the median of its last few times plus its tail of
    /// stalls; `SplitChooser`), in `weave_ticks` (the TSC on x86): compare them with each
    /// other only. Nil for a way not yet timed.
    public var splitTicks: UInt64?
    public var inlineTicks: UInt64?
    /// The median of the last few calls made the other way from the call before.
    public var switchedTicks: UInt64?
    /// Whether the key's calls have never had work to share (no fork or spawn, no
    /// `parallelFor` of two tiles or more): they run inline without choosing or timing, and the
    /// costs above are nil.
    public var serial: Bool

    /// Split time over inline time (below 1: splitting is faster), nil until both are timed.
    public var splitOverInline: Double? {
        guard let split = splitTicks, let inline = inlineTicks, inline > 0 else { return nil }
        return Double(split) / Double(inline)
    }

    /// A call that switched ways over the faster way's time, nil until both are timed.
    public var switchedOverBest: Double? {
        guard let switched = switchedTicks, let split = splitTicks, let inline = inlineTicks,
              min(split, inline) > 0 else { return nil }
        return Double(switched) / Double(min(split, inline))
    }
}
