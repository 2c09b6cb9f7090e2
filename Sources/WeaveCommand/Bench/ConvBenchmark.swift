import ArgumentParser
import Foundation
import TensorKernels
import Weave

/// `weave bench conv`: Conv2d forward and forward+backward on the seed CNN's layers and one
/// large layer, per thread count, beside PyTorch's times on this machine.
struct ConvBenchCommand: BenchSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Conv2d forward and forward+backward (dX, dW, db): ms and GFLOP/s.")

    @OptionGroup var options: BenchOptions

    @Flag(help: "Also time each algorithm on both passes, beside the pair chosen for each layer (the choice is by shape).")
    var allAlgorithms = false

    /// One benchmarked layer: shapes, configuration, and PyTorch 2.13's forward+backward time
    /// on the 2-core development machine at 1 and 2 threads (ms), where measured (issue 5).
    struct Layer {
        var name: String
        var input: [Int]
        var weight: [Int]
        var configuration = Conv2dConfiguration()
        var pytorchMilliseconds: [Int: Double] = [:]
    }

    static let layers: [Layer] = [
        Layer(name: "Conv2d(1,3,5) 28×28", input: [64, 1, 28, 28], weight: [3, 1, 5, 5]),
        Layer(name: "Conv2d(1,3,5) 28×28", input: [256, 1, 28, 28], weight: [3, 1, 5, 5],
              pytorchMilliseconds: [1: 22.6, 2: 12.3]),
        Layer(name: "Conv2d(3,6,3) 12×12", input: [64, 3, 12, 12], weight: [6, 3, 3, 3]),
        Layer(name: "Conv2d(3,6,3) 12×12", input: [256, 3, 12, 12], weight: [6, 3, 3, 3],
              pytorchMilliseconds: [1: 3.1, 2: 2.3]),
        Layer(name: "Conv2d(1,32,5) 28×28", input: [64, 1, 28, 28], weight: [32, 1, 5, 5]),
        Layer(name: "Conv2d(32,64,5) 12×12", input: [64, 32, 12, 12], weight: [64, 32, 5, 5]),
        Layer(name: "Conv2d(64,64,3,pad 1) 56×56", input: [32, 64, 56, 56], weight: [64, 64, 3, 3],
              configuration: Conv2dConfiguration(padding: 1)),
    ]

    func benchmark(into report: inout BenchReport) throws {
        let isa = KernelISA.current
        report.fmaPeakGFLOPSPerCore = report.fmaPeakGFLOPSPerCore ?? FMAPeak.measure(isa: isa)
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "conv", isa: isa.rawValue)
        let pools = try options.pools()
        for layer in Self.layers {
            let chosen = try ConvAlgorithms(chosenFor: layer.geometry())
            for algorithms in allAlgorithms ? chosen.withAlternatives : [chosen] {
                let runs = try pools.map { try ConvRun(layer: layer, pool: $0, algorithms: algorithms) }
                let times = try measure(runs, report: &report, rows: &rows)
                guard algorithms == chosen else { continue }
                for (pool, time) in zip(pools, times) {
                    scaling.add(.strong, operation: "\(layer.name) batch \(layer.input[0]) fwd+bwd",
                                threads: pool.threads, shape: "batch \(layer.input[0])", time: time)
                }
            }
        }
        if pools.count > 1 {
            let weak = WeakScalingRuns(pools: pools)
            for base in Self.weakScalingLayers {
                let runs = try weak.runs.map { run in
                    let layer = base.withBatch(Self.weakBatchPerThread * run.factor)
                    return try ConvRun(layer: layer, pool: run.pool,
                                       algorithms: ConvAlgorithms(chosenFor: layer.geometry()))
                }
                // Batches the strong-scaling rows already show are timed again (the runs take
                // turns) but not listed twice.
                let times = try measure(runs, report: &report, rows: &rows, skipListed: true)
                scaling.addWeak(weak, operation: "\(base.name) fwd+bwd, batch 64 × threads",
                                times: times) { "batch \(Self.weakBatchPerThread * $0)" }
            }
        }
        print("Conv2d, ISA \(isa.rawValue), FMA peak \(formatted(report.fmaPeakGFLOPSPerCore ?? 0)) "
              + "GFLOP/s per core: median [min–max]")
        printTable(["layer", "batch", "threads", "algorithm", "fwd ms", "fwd GFLOP/s",
                    "fwd+bwd ms", "fwd+bwd GFLOP/s", "PyTorch fwd+bwd (speedup)"], rows)
        report.addScaling(scaling)
        try report.recordActivity(of: pools, benchmark: "conv")
    }

    /// Images per thread in the weak-scaling runs.
    static let weakBatchPerThread = 64

    /// Weak scaling: the seed network's two layers, at `weakBatchPerThread` × threads images.
    static let weakScalingLayers = [
        Layer(name: "Conv2d(1,3,5) 28×28", input: [weakBatchPerThread, 1, 28, 28], weight: [3, 1, 5, 5]),
        Layer(name: "Conv2d(3,6,3) 12×12", input: [weakBatchPerThread, 3, 12, 12], weight: [6, 3, 3, 3]),
    ]

    /// Times forward and forward+backward of each run, the runs taking turns; appends figures
    /// and table rows (with `skipListed`, not for layers `layers` lists). Returns the
    /// forward+backward times in ms.
    func measure(_ runs: [ConvRun], report: inout BenchReport, rows: inout [[String]],
                 skipListed: Bool = false) throws -> [Sample] {
        let isa = KernelISA.current
        let macs = Double(runs.map(\.geometry.multiplyAdds).max() ?? 0)
        let large = macs > 1e9
        let timing = InterleavedTiming(quick: options.quick,
                                       repeats: options.rounds(quick: large ? 3 : 7, full: large ? 5 : 21))
        var failure: (any Error)?
        // Each timed call is one pool operation (`--splitting`), as a training step is.
        let forward = timing.secondsPerCall(runs.map { run in {
            do {
                try run.pool.operation(OperationKey("bench conv forward", shape: run.x.shape, run.w.count,
                                                    run.y.count, run.algorithms.code)) {
                    try run.forward()
                }
            } catch { failure = error }
        } })
        let both = timing.secondsPerCall(runs.map { run in {
            do {
                try run.pool.operation(OperationKey("bench conv both", shape: run.x.shape, run.w.count,
                                                    run.y.count, run.algorithms.code)) {
                    try run.forward()
                    try run.backward()
                }
            } catch { failure = error }
        } })
        if let failure { throw failure }
        for (index, run) in runs.enumerated() {
            let layer = run.layer, threads = run.pool.threads
            if skipListed && Self.layers.contains(where: { $0.input == layer.input && $0.weight == layer.weight }) {
                continue
            }
            let macs = Double(run.geometry.multiplyAdds)
            let forwardMs = forward[index].map { $0 * 1e3 }
            let bothMs = both[index].map { $0 * 1e3 }
            // Forward: 2 flops per multiply-add; backward: as much again for dX and for dW.
            let forwardGFLOPS = forward[index].map { 2 * macs / $0 / 1e9 }
            let bothGFLOPS = both[index].map { 6 * macs / $0 / 1e9 }
            let shape = "x \(layer.input), w \(layer.weight), \(layer.configuration)"
            let chosen = ConvAlgorithms(chosenFor: run.geometry)
            let label = run.algorithms.label + (run.algorithms == chosen ? "" : " (not chosen)")
            for (metric, sample, unit) in [("forward", forwardMs, "ms"),
                                           ("forward GFLOP/s", forwardGFLOPS, "GFLOP/s"),
                                           ("forward+backward", bothMs, "ms"),
                                           ("forward+backward GFLOP/s", bothGFLOPS, "GFLOP/s")] {
                report.figures.append(BenchFigure(
                    benchmark: "conv", metric: metric, unit: unit, threads: threads,
                    implementation: "weave (\(label))", shape: shape, isa: isa.rawValue,
                    sample: sample))
            }
            var versus = "–"
            if let reference = layer.pytorchMilliseconds[threads] {
                report.figures.append(BenchFigure(
                    benchmark: "conv", metric: "forward+backward", unit: "ms", threads: threads,
                    implementation: "pytorch 2.13 (quoted, issue 5)", shape: shape, isa: nil,
                    sample: Sample([reference]), note: "measured on the development machine, not in this run"))
                versus = String(format: "%.1f ms (%.1f×)", reference, reference / bothMs.median)
            }
            rows.append([layer.name, "\(layer.input[0])", "\(threads)", label,
                         cell(forwardMs), formatted(forwardGFLOPS.median), cell(bothMs),
                         formatted(bothGFLOPS.median), versus])
        }
        return both.map { sample in sample.map { $0 * 1e3 } }
    }
}

extension ConvBenchCommand.Layer {
    func geometry() throws -> Conv2dGeometry {
        try Conv2dGeometry(input: input, weight: weight, configuration: configuration,
                           operation: "weave bench conv")
    }

    /// The same layer on `batch` images (no PyTorch reference: none was measured).
    func withBatch(_ batch: Int) -> Self {
        var copy = self
        copy.input[0] = batch
        copy.pytorchMilliseconds = [:]
        return copy
    }
}

/// The algorithms of one benchmarked forward and backward pass.
struct ConvAlgorithms: Equatable {
    var forward: Conv2dAlgorithm
    var backward: Conv2dAlgorithm

    /// The pair `conv2dForward` and `conv2dBackward` choose for `geometry`.
    init(chosenFor geometry: Conv2dGeometry) {
        forward = Conv2dAlgorithm.preferredForward(for: geometry)
        backward = Conv2dAlgorithm.preferredBackward(for: geometry)
    }

    init(_ algorithm: Conv2dAlgorithm) {
        forward = algorithm
        backward = algorithm
    }

    /// This pair, then each algorithm for both passes that this pair is not.
    var withAlternatives: [ConvAlgorithms] {
        [self] + Conv2dAlgorithm.allCases.map(ConvAlgorithms.init).filter { $0 != self }
    }

    var label: String {
        forward == backward ? forward.rawValue
            : "\(forward.rawValue) forward, \(backward.rawValue) backward"
    }

    /// Distinguishes the pairs' pool-operation keys.
    var code: Int {
        (Conv2dAlgorithm.allCases.firstIndex(of: forward) ?? 0) * Conv2dAlgorithm.allCases.count
            + (Conv2dAlgorithm.allCases.firstIndex(of: backward) ?? 0) + 1
    }
}

/// One benchmarked Conv2d: its tensors (each run its own), pool and algorithms.
final class ConvRun {
    let layer: ConvBenchCommand.Layer
    let geometry: Conv2dGeometry
    let pool: ThreadPool
    let algorithms: ConvAlgorithms
    let x: Tensor, w: Tensor, b: Tensor, dy: Tensor
    var y: Tensor, dx: Tensor?, dw: Tensor, db: Tensor?

    init(layer: ConvBenchCommand.Layer, pool: ThreadPool, algorithms: ConvAlgorithms) throws {
        self.layer = layer
        geometry = try layer.geometry()
        self.pool = pool
        self.algorithms = algorithms
        x = try Tensor(uniformShape: layer.input, lowerBound: -1,
                       stream: RandomStream(seed: 1, purpose: .custom(stream: 1)))
        w = try Tensor(uniformShape: layer.weight, lowerBound: -1,
                       stream: RandomStream(seed: 1, purpose: .custom(stream: 2)))
        b = try Tensor(zeros: [geometry.outputChannels])
        dy = try Tensor(uniformShape: geometry.outputShape, lowerBound: -1,
                        stream: RandomStream(seed: 1, purpose: .custom(stream: 3)))
        y = try Tensor(zeros: geometry.outputShape)
        dx = try Tensor(zeros: geometry.inputShape)
        dw = try Tensor(zeros: geometry.weightShape)
        db = try Tensor(zeros: [geometry.outputChannels])
    }

    func forward() throws {
        try conv2dForward(x, weight: w, bias: b, configuration: layer.configuration, into: &y,
                          pool: pool, algorithm: algorithms.forward, isa: KernelISA.current.cValue)
    }

    func backward() throws {
        try conv2dBackward(dy, input: x, weight: w, configuration: layer.configuration,
                           inputGradient: &dx, weightGradient: &dw, biasGradient: &db, pool: pool,
                           algorithm: algorithms.backward, isa: KernelISA.current.cValue)
    }
}
