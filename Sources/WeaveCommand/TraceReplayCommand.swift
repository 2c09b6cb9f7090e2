import ArgumentParser
import Foundation
import ParallelRuntime

/// `weave trace-replay FILE…`: replays the calls of `--trace-operations` files through the
/// pool's chooser with other weights for stalls not yet seen (`OperationReplay`), to compare
/// them on the same calls.
struct TraceReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace-replay",
        abstract: "Replays --trace-operations files through the split chooser with other weights.",
        discussion: """
            Each replayed call is priced with a traced call of the way the replay chose (see \
            Sources/ParallelRuntime/Scheduler/OperationReplay.swift). Figures are a key's calls \
            over the same calls all made the way that was better on average ("/ best"): the \
            geometric mean over keys, the sum over keys ("weighted": what a run's time shows) \
            and the worst key. A way the trace took on few calls of a key is priced on those \
            few, which may miss its rare stalls: keys with fewer than 200 traced calls of a way \
            are counted as "thin". Traces of --splitting alternating price both ways of every \
            key, but under contention they under-price split's waits. Where the way chosen \
            changes the stalls (a worker on a busy CPU), check a replay's verdict in the \
            benchmark (Sources/ParallelRuntime/Scheduler/README.md). Every combination of the \
            listed values is replayed, on every file; "all pools" sums up every key of every file.
            """)

    @Argument(help: "CSV files written by weave bench --trace-operations.")
    var files: [String]

    @Option(help: "Stall-free calls a key's wait tail assumes before its own evidence.")
    var waitPrior = CommaSeparated<UInt64>([SplitTuning.standard.waitPrior])

    @Option(help: "Calls a key's wait tail averages over.")
    var waitCalls = CommaSeparated<UInt64>([SplitTuning.standard.waitCalls])

    @Option(help: "Stall-free calls the pool-wide wait figure assumes.")
    var poolPrior = CommaSeparated<Double>([SplitTuning.standard.poolPrior])

    @Option(help: "Seconds over which the pool-wide wait figure halves.")
    var poolHalfLife = CommaSeparated<Double>([SplitTuning.standard.poolHalfLife])

    @Option(help: "Replays per trace and tuning, each drawing every call a call further on; figures are their mean.")
    var offsets = 8

    @Option(help: "Leave out keys with fewer calls than this.")
    var minCalls = 100

    @Flag(help: "Print every key's figures, not only each pool's.")
    var keys = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one trace file") }
        guard waitPrior.values.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--wait-prior must be at least 1") }
        for calls in waitCalls.values where waitPrior.values.contains(where: { $0 > calls }) {
            throw ValidationError("--wait-calls \(calls) is below a --wait-prior; the tail cannot average over fewer calls than it assumes")
        }
        guard poolPrior.values.allSatisfy({ $0 >= 1 && $0.isFinite }) else {
            throw ValidationError("--pool-prior must be at least 1")
        }
        guard poolHalfLife.values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ValidationError("--pool-half-life must be a positive number of seconds")
        }
        guard offsets >= 1 else { throw ValidationError("--offsets must be at least 1") }
        guard minCalls >= 1 else { throw ValidationError("--min-calls must be at least 1") }
    }

    var tunings: [SplitTuning] {
        waitPrior.values.flatMap { prior in
            waitCalls.values.flatMap { calls in
                poolPrior.values.flatMap { poolPrior in
                    poolHalfLife.values.map { halfLife in
                        SplitTuning(waitPrior: prior, waitCalls: calls, poolPrior: poolPrior, poolHalfLife: halfLife)
                    }
                }
            }
        }
    }

    static func label(_ tuning: SplitTuning) -> String {
        "wait prior \(tuning.waitPrior), wait calls \(tuning.waitCalls), pool prior \(Int(tuning.poolPrior)), "
            + "pool half-life \(tuning.poolHalfLife) s"
    }

    func run() throws {
        let pools = try files.flatMap { file in
            let pools = try OperationTraceFile.read(at: file)
            guard pools.contains(where: { !$0.trace.calls.isEmpty }) else {
                throw ValidationError("\(file) has no traced calls")
            }
            return pools.map { (file, $0) }
        }
        var overall: [(SplitTuning, TraceReplayFigures)] = []
        for tuning in tunings {
            print(Self.label(tuning))
            var all: [OperationReplay.KeyResult] = []
            for (file, pool) in pools {
                let results = OperationReplay.run(pool.trace, tuning: tuning, offsets: offsets)
                    .filter { $0.calls >= minCalls }
                guard !results.isEmpty else { continue }
                all += results
                let figures = TraceReplayFigures(results)
                let name = files.count > 1 ? "\((file as NSString).lastPathComponent): " : ""
                print("  \(name)\(pool.benchmark), \(pool.threads) threads: \(figures.description)")
                if keys {
                    for result in results {
                        print(String(format: "    %@: %d calls, split traced %d replayed %d; / best traced %.3f replayed %.3f%@",
                                     result.key, result.calls, result.tracedSplit, result.replayedSplit,
                                     result.tracedOverBest, result.replayedOverBest,
                                     result.unpriced > 0 ? " (\(result.unpriced) unpriced)" : ""))
                    }
                }
            }
            overall.append((tuning, TraceReplayFigures(all)))
        }
        if overall.count > 1 || pools.count > 1 {
            print("all pools:")
            for (tuning, figures) in overall {
                print("  \(Self.label(tuning)): \(figures.description)")
            }
        }
    }
}

/// A set of keys' replays summed up: traced and replayed calls over the best fixed way's.
struct TraceReplayFigures {
    var keys: Int
    var tracedGeometricMean: Double
    var replayedGeometricMean: Double
    var tracedWeighted: Double
    var replayedWeighted: Double
    var worst: OperationReplay.KeyResult?
    /// Keys with fewer than `thinCalls` traced calls of one way.
    var thin: Int
    static let thinCalls = 200

    init(_ results: [OperationReplay.KeyResult]) {
        keys = results.count
        thin = results.filter { min($0.tracedSplit, $0.calls - $0.tracedSplit) < Self.thinCalls }.count
        func geometricMean(_ ratio: (OperationReplay.KeyResult) -> Double) -> Double {
            results.isEmpty ? 1 : exp(results.reduce(0) { $0 + log(ratio($1)) } / Double(results.count))
        }
        tracedGeometricMean = geometricMean(\.tracedOverBest)
        replayedGeometricMean = geometricMean(\.replayedOverBest)
        let best = results.reduce(0) { $0 + $1.bestFixedTicks }
        tracedWeighted = best > 0 ? results.reduce(0) { $0 + $1.tracedTicks } / best : 1
        replayedWeighted = best > 0 ? results.reduce(0) { $0 + $1.replayedTicks } / best : 1
        worst = results.max { $0.replayedOverBest < $1.replayedOverBest }
    }

    var description: String {
        var text = String(format: "%d keys (%d thin); / best: traced %.3f (weighted %.3f), replayed %.3f (weighted %.3f)",
                          keys, thin, tracedGeometricMean, tracedWeighted, replayedGeometricMean, replayedWeighted)
        if let worst {
            text += String(format: "; worst %.3f, %@", worst.replayedOverBest, worst.key)
        }
        return text
    }
}
