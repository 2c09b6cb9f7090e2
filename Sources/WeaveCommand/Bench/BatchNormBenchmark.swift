import ArgumentParser
import Foundation
import Weave

/// `weave bench batchnorm`: BatchNorm2d training forward and forward+backward in GB/s, beside
/// the copy bandwidth measured in the same run.
struct BatchNormBenchCommand: BenchSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "batchnorm",
        abstract: "BatchNorm2d training forward and forward+backward in GB/s, beside the copy bandwidth.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Only these shapes, comma-separated, each N×C×H×W written with x (e.g. 128x6x10x10); no weak scaling.")
    var shapes: String?

    func validate() throws { _ = try selectedShapes() }

    /// The `--shapes`, or the built-in shapes.
    func selectedShapes() throws -> [[Int]] {
        guard let shapes else { return Self.shapes }
        return try shapes.split(separator: ",").map { text in
            let sizes = text.split(separator: "x").compactMap { Int($0) }
            guard sizes.count >= 2, sizes.count == text.split(separator: "x").count,
                  sizes.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--shapes: \(text) is not N×C[×H×W…] with positive sizes written like 128x6x10x10")
            }
            return sizes
        }
    }

    /// The shapes of issue 5: the seed CNN's BN layer at batch 256 and two large ones.
    static let shapes: [[Int]] = [[256, 6, 10, 10], [64, 64, 56, 56], [32, 256, 28, 28]]

    func benchmark(into report: inout BenchReport) throws {
        let pools = try options.pools()
        // By thread count: a weak scaling reference runs on the base pool.
        let copies = Dictionary(zip(pools.map(\.threads), try report.copyBandwidth(pools: pools, options: options)),
                                uniquingKeysWith: { first, _ in first })
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "batchnorm", isa: KernelISA.current.rawValue)
        for shape in try selectedShapes() {
            let times = try measure(pools.map { (shape, $0) }, copies: copies, report: &report,
                                    rows: &rows)
            for (pool, time) in zip(pools, times) {
                scaling.add(.strong, operation: "BatchNorm2d \(Self.text(shape)) fwd+bwd",
                            threads: pool.threads, shape: Self.text(shape), time: time)
            }
        }
        if pools.count > 1 && shapes == nil {
            let weak = WeakScalingRuns(pools: pools)
            for base in Self.weakScalingShapes {
                func grown(_ factor: Int) -> [Int] { [base[0] * factor] + base.dropFirst() }
                let runs = weak.runs.map { (grown($0.factor), $0.pool) }
                let times = try measure(runs, copies: copies, report: &report, rows: &rows)
                scaling.addWeak(weak, operation: "BatchNorm2d \(Self.text(base)) × threads fwd+bwd",
                                times: times) { Self.text(grown($0)) }
            }
        }
        print("BatchNorm2d training, ISA \(KernelISA.current.rawValue): median [min–max]; "
              + "GB/s counts x+y forward, x+dy+dx backward; copy on 16M floats")
        printTable(["shape", "threads", "fwd ms", "fwd GB/s", "fwd+bwd ms", "fwd+bwd GB/s",
                    "copy GB/s", "of copy (fwd / both)"], rows)
        report.addScaling(scaling)
        try report.recordActivity(of: pools, benchmark: "batchnorm")
        print("For scale (issue 5, PyTorch 2.13 on this machine, 1 / 2 threads): (32,256,28,28) training "
              + "forward 15.1 / 9.5 ms; (64,64,56,56) forward+backward 86 ms on 1 thread.")
    }

    /// Weak scaling: the seed network's BN layer and a large one, batch × threads.
    static let weakScalingShapes: [[Int]] = [[64, 6, 10, 10], [16, 64, 56, 56]]

    /// "(N,C,H,W)".
    static func text(_ shape: [Int]) -> String { "(\(shape.map(String.init).joined(separator: ",")))" }

    /// Times training forward and forward+backward of each run (a shape on a pool), the runs
    /// taking turns; appends figures and table rows. Returns the forward+backward times in ms.
    func measure(_ runs: [(shape: [Int], pool: ThreadPool)], copies: [Int: Sample],
                 report: inout BenchReport, rows: inout [[String]]) throws -> [Sample] {
        let states = try runs.map { try BatchNormRun(shape: $0.shape, pool: $0.pool) }
        var failure: (any Error)?
        let timing = InterleavedTiming(quick: options.quick, repeats: options.rounds(quick: 5, full: 15))
        // Each timed call is one pool operation (`--splitting`), as a training step is.
        let forwardTimes = timing.secondsPerCall(states.map { state in {
            do {
                try state.pool.operation(OperationKey("bench batchnorm forward", shape: state.input.shape)) {
                    try state.forward()
                }
            } catch { failure = error }
        } })
        let bothTimes = timing.secondsPerCall(states.map { state in {
            do {
                try state.pool.operation(OperationKey("bench batchnorm both", shape: state.input.shape)) {
                    try state.forward()
                    try state.backward()
                }
            } catch { failure = error }
        } })
        if let failure { throw failure }
        for (index, run) in runs.enumerated() {
            let threads = run.pool.threads, copy = copies[threads]!
            let forwardTimes = forwardTimes[index], bothTimes = bothTimes[index]
            // Bytes a kernel must move at least: forward reads x, writes y; backward reads x and
            // dy, writes dx.
            let floatBytes = Double(run.shape.reduce(1, *) * MemoryLayout<Float>.stride)
            let forwardGBs = forwardTimes.map { 2 * floatBytes / $0 / 1e9 }
            let bothGBs = bothTimes.map { 5 * floatBytes / $0 / 1e9 }
            let shapeText = Self.text(run.shape)
            for (metric, sample, unit) in [("training forward", forwardTimes.map { $0 * 1e3 }, "ms"),
                                           ("training forward GB/s", forwardGBs, "GB/s"),
                                           ("forward+backward", bothTimes.map { $0 * 1e3 }, "ms"),
                                           ("forward+backward GB/s", bothGBs, "GB/s"),
                                           ("copy bandwidth", copy, "GB/s")] {
                report.figures.append(BenchFigure(
                    benchmark: "batchnorm", metric: metric, unit: unit, threads: threads,
                    implementation: "weave", shape: shapeText, isa: KernelISA.current.rawValue,
                    sample: sample))
            }
            rows.append([shapeText, "\(threads)", cell(forwardTimes.map { $0 * 1e3 }), cell(forwardGBs),
                         cell(bothTimes.map { $0 * 1e3 }), cell(bothGBs), cell(copy),
                         String(format: "%.0f%% / %.0f%%", forwardGBs.median / copy.median * 100,
                                bothGBs.median / copy.median * 100)])
        }
        return bothTimes.map { sample in sample.map { $0 * 1e3 } }
    }
}

/// One benchmarked BatchNorm2d: its tensors (each run its own) and its pool.
private final class BatchNormRun {
    let pool: ThreadPool
    let input: Tensor, outputGradient: Tensor, gamma: Tensor, beta: Tensor
    var runningMean: Tensor, runningVariance: Tensor
    var output: Tensor, inputGradient: Tensor, gammaGradient: Tensor, betaGradient: Tensor
    var saved = BatchNormSavedStatistics()

    init(shape: [Int], pool: ThreadPool) throws {
        let channels = shape[1]
        self.pool = pool
        input = try Tensor(normalShape: shape, mean: 0.5, standardDeviation: 2,
                           stream: RandomStream(seed: 1, purpose: .custom(stream: 5)))
        outputGradient = try Tensor(normalShape: shape,
                                    stream: RandomStream(seed: 2, purpose: .custom(stream: 5)))
        gamma = try Tensor(repeating: 1, shape: [channels])
        beta = try Tensor(zeros: [channels])
        runningMean = try Tensor(zeros: [channels])
        runningVariance = try Tensor(repeating: 1, shape: [channels])
        output = try Tensor(zeros: shape)
        inputGradient = try Tensor(zeros: shape)
        gammaGradient = try Tensor(zeros: [channels])
        betaGradient = try Tensor(zeros: [channels])
    }

    func forward() throws {
        try batchNormForwardTraining(input, gamma: gamma, beta: beta, runningMean: &runningMean,
                                     runningVariance: &runningVariance, into: &output,
                                     saved: &saved, pool: pool)
    }

    func backward() throws {
        try batchNormBackward(outputGradient, input: input, gamma: gamma, saved: saved,
                              into: &inputGradient, gammaGradient: &gammaGradient,
                              betaGradient: &betaGradient, pool: pool)
    }
}
