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
    }

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
    /// thread or with `splitting == .always`.
    public func operation<R>(_ key: OperationKey, _ body: () throws -> R) rethrows -> R {
        if threads == 1 || splitting == .always || currentSlot != nil {
            return try body()
        }
        return try core.withSlot { slot in
            let record = decisions.record(for: key)
            let way = record.chooser.choose()
            decisions.count(way)
            slot.runsInline = way == .inline
            defer { slot.runsInline = false }
            let start = weave_ticks()
            let result = try body()
            record.chooser.record(way, ticks: weave_ticks() &- start)
            return result
        }
    }

    /// Calls of one operation key before `operation(_:_:)` has timed both ways and settled on
    /// one: a benchmark warms up with at least this many calls.
    public static var operationLearningCalls: Int { 1 + 2 * SplitChooser.trialLength }

    /// How many operations ran split and how many inline, since the pool started.
    public var operationCounts: (split: Int, inline: Int) {
        (decisions.splitCount.load(ordering: .relaxed), decisions.inlineCount.load(ordering: .relaxed))
    }
}
