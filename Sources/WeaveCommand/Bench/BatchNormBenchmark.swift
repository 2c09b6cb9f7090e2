import ArgumentParser
import Foundation
import Weave

/// `weave bench batchnorm`: BatchNorm2d training forward and forward+backward in GB/s, beside
/// the copy bandwidth measured in the same run.
struct BatchNormBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchnorm",
        abstract: "BatchNorm2d training forward and forward+backward in GB/s, beside the copy bandwidth.")

    @OptionGroup var options: BenchOptions

    /// The shapes of issue 5: the seed CNN's BN layer at batch 256 and two large ones.
    static let shapes: [[Int]] = [[256, 6, 10, 10], [64, 64, 56, 56], [32, 256, 28, 28]]

    func run() throws {
        try validateEnvironment()
        var report = BenchReport(command: "weave bench batchnorm")
        let repeats = options.quick ? 5 : 15
        var rows: [[String]] = []
        let threadCounts = try threadSweep(options.threads)
        var copies: [Int: Sample] = [:]
        for threads in threadCounts {
            copies[threads] = try copyBandwidth(count: 16 << 20, pool: ThreadPool(threads: threads),
                                                repeats: repeats)
        }
        for shape in Self.shapes {
            let count = shape.reduce(1, *), channels = shape[1]
            let input = try Tensor(normalShape: shape, mean: 0.5, standardDeviation: 2,
                                   stream: RandomStream(seed: 1, purpose: .custom(stream: 5)))
            let outputGradient = try Tensor(normalShape: shape,
                                            stream: RandomStream(seed: 2, purpose: .custom(stream: 5)))
            let gamma = try Tensor(repeating: 1, shape: [channels])
            let beta = try Tensor(zeros: [channels])
            var runningMean = try Tensor(zeros: [channels])
            var runningVariance = try Tensor(repeating: 1, shape: [channels])
            var output = try Tensor(zeros: shape), inputGradient = try Tensor(zeros: shape)
            var gammaGradient = try Tensor(zeros: [channels]), betaGradient = try Tensor(zeros: [channels])
            var saved = BatchNormSavedStatistics()
            // Bytes a kernel must move at least: forward reads x, writes y; backward reads x and
            // dy, writes dx.
            let floatBytes = Double(count * MemoryLayout<Float>.stride)
            for threads in threadCounts {
                let pool = ThreadPool(threads: threads)
                let copy = copies[threads]!
                var failure: (any Error)?
                func forward() {
                    do {
                        try batchNormForwardTraining(input, gamma: gamma, beta: beta,
                                                     runningMean: &runningMean,
                                                     runningVariance: &runningVariance,
                                                     into: &output, saved: &saved, pool: pool)
                    } catch { failure = error }
                }
                let forwardTimes = measure(repeats: repeats, warmup: 2) { forward() }
                let bothTimes = measure(repeats: repeats, warmup: 2) {
                    forward()
                    do {
                        try batchNormBackward(outputGradient, input: input, gamma: gamma, saved: saved,
                                              into: &inputGradient, gammaGradient: &gammaGradient,
                                              betaGradient: &betaGradient, pool: pool)
                    } catch { failure = error }
                }
                if let failure { throw failure }
                let forwardGBs = forwardTimes.map { 2 * floatBytes / $0 / 1e9 }
                let bothGBs = bothTimes.map { 5 * floatBytes / $0 / 1e9 }
                let shapeText = "(\(shape.map(String.init).joined(separator: ",")))"
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
        }
        print("BatchNorm2d training, ISA \(KernelISA.current.rawValue): median [min–max]; "
              + "GB/s counts x+y forward, x+dy+dx backward; copy on 16M floats")
        printTable(["shape", "threads", "fwd ms", "fwd GB/s", "fwd+bwd ms", "fwd+bwd GB/s",
                    "copy GB/s", "of copy (fwd / both)"], rows)
        print("For scale (issue 5, PyTorch 2.13 on this machine, 1 / 2 threads): (32,256,28,28) training "
              + "forward 15.1 / 9.5 ms; (64,64,56,56) forward+backward 86 ms on 1 thread.")
        if let path = options.json { try report.write(to: path); print("wrote \(path)") }
    }
}
