/// Every call `ThreadPool.operation(_:_:)` chose a way for, in order: which key, which way,
/// how long it took and how long its caller waited for other threads. For scaling studies that
/// need more than the summaries (`operationSummaries()`): a median per key hides the calls
/// that stalled, and a split/inline ratio near 1 says nothing about how noisy either way was.
///
/// Recorded from `ThreadPool.traceOperations(capacity:)` on; calls beyond the capacity are
/// counted, not kept. Tracing times every call (the chooser still learns only from the calls it
/// would have timed anyway, so its choices do not change), which costs two clock reads per
/// call. Calls that do not choose are not traced: those nested in the pool's own tasks, and
/// every call on a pool of one thread or with `.always` splitting.
public struct OperationTrace: Sendable {
    public struct Call: Sendable, Equatable {
        /// Index into `keys`.
        public var key: Int
        public var split: Bool
        /// Whether the chooser learned from this call's time (it times a sample of steady calls).
        public var timedByChooser: Bool
        /// The call's time in `weave_ticks` (the TSC on x86; see `ticksPerSecond`).
        public var ticks: UInt64
        /// How long the calling thread waited for other threads during the call (split calls).
        public var waitedTicks: UInt64
        /// When the call started, in `weave_ticks`: the time between calls, which the pool's
        /// memory of waits fades with (`PoolWaits`), is part of what a replay needs.
        public var startedTicks: UInt64

        public init(key: Int, split: Bool, timedByChooser: Bool, ticks: UInt64, waitedTicks: UInt64,
                    startedTicks: UInt64 = 0) {
            self.key = key
            self.split = split
            self.timedByChooser = timedByChooser
            self.ticks = ticks
            self.waitedTicks = waitedTicks
            self.startedTicks = startedTicks
        }
    }

    /// Each key's description ("name [shape] sizes"), in order of first use.
    public var keys: [String]
    public var calls: [Call]
    /// Calls made after the trace was full, or after the key table was reset (more than
    /// `SplitDecisions.capacity` keys): counted, not recorded.
    public var dropped: Int
    /// `weave_ticks` per second, measured once per process.
    public var ticksPerSecond: Double

    public init(keys: [String], calls: [Call], dropped: Int, ticksPerSecond: Double) {
        self.keys = keys
        self.calls = calls
        self.dropped = dropped
        self.ticksPerSecond = ticksPerSecond
    }
}

/// The trace's storage, owned by `SplitDecisions` and touched only under the caller lock.
struct OperationTraceBuffer {
    private(set) var calls: [OperationTrace.Call] = []
    let capacity: Int
    private(set) var dropped = 0
    /// Record index → trace key index, for the keys seen since tracing began.
    private var keyIndices: [Int: Int] = [:]
    private(set) var keys: [String] = []
    /// Set when the key table is reset: record indices no longer name the same keys.
    private var closed = false

    init(capacity: Int) {
        self.capacity = capacity
        calls.reserveCapacity(capacity)
    }

    mutating func add(record: Int, key: @autoclosure () -> String, split: Bool, timedByChooser: Bool,
                      started: UInt64, ticks: UInt64, waited: UInt64) {
        guard !closed, calls.count < capacity else {
            dropped += 1
            return
        }
        let index: Int
        if let known = keyIndices[record] {
            index = known
        } else {
            index = keys.count
            keys.append(key())
            keyIndices[record] = index
        }
        calls.append(OperationTrace.Call(key: index, split: split, timedByChooser: timedByChooser,
                                         ticks: ticks, waitedTicks: waited, startedTicks: started))
    }

    /// The key table was reset: later calls are counted as dropped.
    mutating func close() { closed = true }

    func trace() -> OperationTrace {
        OperationTrace(keys: keys, calls: calls, dropped: dropped, ticksPerSecond: TickRate.perSecond)
    }
}

extension ThreadPool {
    /// Starts recording every call of `operation(_:_:)` that chooses a way, up to `capacity`
    /// calls (`OperationTrace`); a trace already running starts again. Call it from outside
    /// the pool.
    public func traceOperations(capacity: Int) {
        precondition(capacity > 0, "traceOperations(capacity:) needs a positive capacity, got \(capacity)")
        core.withSlot { _ in decisions.startTrace(capacity: capacity) }
    }

    /// What has been traced since `traceOperations(capacity:)` (empty if tracing never
    /// started). Call it from outside the pool.
    public func operationTrace() -> OperationTrace {
        core.withSlot { _ in decisions.currentTrace() }
    }
}
