/// The weights `SplitChooser` and `PoolWaits` give to stalls they have not seen yet: the
/// values a traced run is replayed with (`OperationReplay`) to choose them, and the pool's
/// (`standard`) otherwise.
///
/// Why values and not constants: these are the figures the chooser's outcome under contention
/// hangs on, and the only honest way to choose them is to replay traced calls through the real
/// chooser with each candidate (sessions 9, 12 and 13 did it with temporary builds). Everything
/// else in the chooser stays a constant. Stored per chooser, they cost a load where a constant
/// was folded; the empty operation did not measurably change (Scheduler/README.md).
package struct SplitTuning: Sendable, Equatable {
    /// Stall-free calls a way's `waitTail` assumes before its first sample (`RecentTimes`);
    /// in `cost(poolWait:)` they count at the pool's figure instead.
    package var waitPrior: UInt64
    /// Calls `waitTail` averages over once it has them.
    package var waitCalls: UInt64
    /// Stall-free split calls `PoolWaits` assumes on top of those it has seen.
    package var poolPrior: Double
    /// Seconds over which `PoolWaits`'s evidence halves.
    package var poolHalfLife: Double

    package init(waitPrior: UInt64, waitCalls: UInt64, poolPrior: Double, poolHalfLife: Double) {
        precondition(waitPrior >= 1 && waitCalls >= waitPrior,
                     "SplitTuning needs 1 ≤ waitPrior ≤ waitCalls, got \(waitPrior) and \(waitCalls)")
        precondition(poolPrior >= 1 && poolHalfLife > 0,
                     "SplitTuning needs poolPrior ≥ 1 and poolHalfLife > 0, got \(poolPrior) and \(poolHalfLife)")
        self.waitPrior = waitPrior
        self.waitCalls = waitCalls
        self.poolPrior = poolPrior
        self.poolHalfLife = poolHalfLife
    }

    /// What every pool uses.
    package static let standard = SplitTuning(waitPrior: 512, waitCalls: 2048, poolPrior: 4096, poolHalfLife: 1)
}
