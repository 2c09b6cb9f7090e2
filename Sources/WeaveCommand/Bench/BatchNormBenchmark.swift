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

    /// The shapes of issue 5: the seed CNN's BN layer at batch 256 and two large ones.
    static let shapes: [[Int]] = [[256, 6, 10, 10], [64, 64, 56, 56], [32, 256, 28, 28]]

    func benchmark(into report: inout BenchReport) throws {
        let repeats = options.quick ? 5 : 15
        var rows: [[String]] = []
        let threadCounts = try threadSweep(options.threads)
        var copies: [Int: Sample] = [:]
        for threads in threadCounts {
            copies[threads] = try copyBandwidth(count: 16 << 20, pool: ThreadPool(threads: threads),
                                                repeats: repeats)
            report.recordCopyBandwidth(copies[threads]!, threads: threads)
        }
        var scaling = ScalingCollector(benchmark: "batchnorm", isa: KernelISA.current.rawValue)
        for shape in Self.shapes {
            for threads in threadCounts {
                let time = try measureShape(shape, threads: threads, copy: copies[threads]!,
                                            repeats: repeats, report: &report, rows: &rows)
                scaling.add(.strong, operation: "BatchNorm2d \(Self.text(shape)) fwd+bwd",
                            threads: threads, shape: Self.text(shape), time: time)
            }
        }
        if threadCounts.count > 1 {
            for base in Self.weakScalingShapes {
                for threads in threadCounts {
                    let shape = [base[0] * threads] + base.dropFirst()
                    let time = try measureShape(shape, threads: threads, copy: copies[threads]!,
                                                repeats: repeats, report: &report, rows: &rows)
                    scaling.add(.weak, operation: "BatchNorm2d \(Self.text(base)) × threads fwd+bwd",
                                threads: threads, shape: Self.text(shape), time: time)
                }
            }
        }
        print("BatchNorm2d training, ISA \(KernelISA.current.rawValue): median [min–max]; "
              + "GB/s counts x+y forward, x+dy+dx backward; copy on 16M floats")
        printTable(["shape", "threads", "fwd ms", "fwd GB/s", "fwd+bwd ms", "fwd+bwd GB/s",
                    "copy GB/s", "of copy (fwd / both)"], rows)
        report.addScaling(scaling)
        print("For scale (issue 5, PyTorch 2.13 on this machine, 1 / 2 threads): (32,256,28,28) training "
              + "forward 15.1 / 9.5 ms; (64,64,56,56) forward+backward 86 ms on 1 thread.")
    }

    /// Weak scaling: the seed network's BN layer and a large one, batch × threads.
    static let weakScalingShapes: [[Int]] = [[64, 6, 10, 10], [16, 64, 56, 56]]

    /// "(N,C,H,W)".
    static func text(_ shape: [Int]) -> String { "(\(shape.map(String.init).joined(separator: ",")))" }

    /// Times training forward and forward+backward on `shape` with a pool of `threads`; appends
    /// figures and a table row. Returns the forward+backward time in ms.
    func measureShape(_ shape: [Int], threads: Int, copy: Sample, repeats: Int,
                      report: inout BenchReport, rows: inout [[String]]) throws -> Sample {
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
        let pool = ThreadPool(threads: threads)
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
        let shapeText = Self.text(shape)
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
        return bothTimes.map { $0 * 1e3 }
    }
}
