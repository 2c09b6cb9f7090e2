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

    @Flag(help: "Also time the algorithm not chosen for each layer (the choice is by shape).")
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
        Layer(name: "Conv2d(64,64,3,pad 1) 56×56", input: [32, 64, 56, 56], weight: [64, 64, 3, 3],
              configuration: Conv2dConfiguration(padding: 1)),
    ]

    func benchmark(into report: inout BenchReport) throws {
        let isa = KernelISA.current
        report.fmaPeakGFLOPSPerCore = report.fmaPeakGFLOPSPerCore ?? FMAPeak.measure(isa: isa)
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "conv", isa: isa.rawValue)
        let counts = try threadSweep(options.threads)
        for threads in counts {
            let pool = ThreadPool(threads: threads)
            // Weak scaling: the seed layers at 64 images per thread (`layers` has batch 64 and 256).
            let weak = counts.count > 1 && threads > 1 ? Self.weakScalingLayers(threads: threads) : []
            for layer in Self.layers + weak {
                let geometry = try Conv2dGeometry(input: layer.input, weight: layer.weight,
                                                  configuration: layer.configuration,
                                                  operation: "weave bench conv")
                let preferred = Conv2dAlgorithm.preferred(for: geometry)
                for algorithm in allAlgorithms ? Conv2dAlgorithm.allCases : [preferred] {
                    let time = try measureLayer(layer, geometry: geometry, algorithm: algorithm,
                                                preferred: preferred, threads: threads, pool: pool,
                                                report: &report, rows: &rows)
                    guard algorithm == preferred else { continue }
                    let shape = "batch \(layer.input[0])"
                    if !weak.contains(where: { $0.input == layer.input }) {
                        scaling.add(.strong, operation: "\(layer.name) batch \(layer.input[0]) fwd+bwd",
                                    threads: threads, shape: shape, time: time)
                    }
                    if layer.input[0] == Self.weakBatchPerThread * threads {
                        scaling.add(.weak, operation: "\(layer.name) fwd+bwd, batch 64 × threads",
                                    threads: threads, shape: shape, time: time)
                    }
                }
            }
        }
        print("Conv2d, ISA \(isa.rawValue), FMA peak \(formatted(report.fmaPeakGFLOPSPerCore ?? 0)) "
              + "GFLOP/s per core: median [min–max]")
        printTable(["threads", "layer", "batch", "algorithm", "fwd ms", "fwd GFLOP/s",
                    "fwd+bwd ms", "fwd+bwd GFLOP/s", "PyTorch fwd+bwd (speedup)"], rows)
        report.addScaling(scaling)
    }

    /// Images per thread in the weak-scaling runs.
    static let weakBatchPerThread = 64

    /// The seed network's two layers at `weakBatchPerThread` × `threads` images, where
    /// `layers` does not hold that batch already.
    static func weakScalingLayers(threads: Int) -> [Layer] {
        let all = [Layer(name: "Conv2d(1,3,5) 28×28", input: [weakBatchPerThread * threads, 1, 28, 28],
               weight: [3, 1, 5, 5]),
         Layer(name: "Conv2d(3,6,3) 12×12", input: [weakBatchPerThread * threads, 3, 12, 12],
               weight: [6, 3, 3, 3])]
        return all.filter { layer in !layers.contains { $0.input == layer.input } }
    }

    /// Times forward and forward+backward of one layer with one algorithm; appends figures and
    /// a table row. Returns the forward+backward time in ms.
    @discardableResult
    func measureLayer(_ layer: Layer, geometry: Conv2dGeometry, algorithm: Conv2dAlgorithm,
                      preferred: Conv2dAlgorithm, threads: Int, pool: ThreadPool,
                      report: inout BenchReport, rows: inout [[String]]) throws -> Sample {
        let isa = KernelISA.current
        let macs = Double(geometry.multiplyAdds)
        let large = macs > 1e9
        let repeats = options.quick ? (large ? 3 : 7) : (large ? 5 : 21)
        let x = try Tensor(uniformShape: layer.input, lowerBound: -1,
                           stream: RandomStream(seed: 1, purpose: .custom(stream: 1)))
        let w = try Tensor(uniformShape: layer.weight, lowerBound: -1,
                           stream: RandomStream(seed: 1, purpose: .custom(stream: 2)))
        let b = try Tensor(zeros: [geometry.outputChannels])
        let dy = try Tensor(uniformShape: geometry.outputShape, lowerBound: -1,
                            stream: RandomStream(seed: 1, purpose: .custom(stream: 3)))
        var y = try Tensor(zeros: geometry.outputShape)
        var dx: Tensor? = try Tensor(zeros: geometry.inputShape)
        var dw = try Tensor(zeros: geometry.weightShape)
        var db: Tensor? = try Tensor(zeros: [geometry.outputChannels])
        var failure: (any Error)?
        let forward = measure(repeats: repeats, warmup: 2) {
            do {
                try conv2dForward(x, weight: w, bias: b, configuration: layer.configuration,
                                  into: &y, pool: pool, algorithm: algorithm,
                                  isa: isa.cValue)
            } catch { failure = error }
        }
        let both = measure(repeats: repeats, warmup: 2) {
            do {
                try conv2dForward(x, weight: w, bias: b, configuration: layer.configuration,
                                  into: &y, pool: pool, algorithm: algorithm,
                                  isa: isa.cValue)
                try conv2dBackward(dy, input: x, weight: w,
                                   configuration: layer.configuration, inputGradient: &dx,
                                   weightGradient: &dw, biasGradient: &db, pool: pool,
                                   algorithm: algorithm, isa: isa.cValue)
            } catch { failure = error }
        }
        if let failure { throw failure }
        let forwardMs = forward.map { $0 * 1e3 }
        let bothMs = both.map { $0 * 1e3 }
        // Forward: 2 flops per multiply-add; backward: as much again for dX and for dW.
        let forwardGFLOPS = forward.map { 2 * macs / $0 / 1e9 }
        let bothGFLOPS = both.map { 6 * macs / $0 / 1e9 }
        let shape = "x \(layer.input), w \(layer.weight), \(layer.configuration)"
        let label = algorithm.rawValue + (algorithm == preferred ? "" : " (not chosen)")
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
        rows.append(["\(threads)", layer.name, "\(layer.input[0])", label,
                     cell(forwardMs), formatted(forwardGFLOPS.median), cell(bothMs),
                     formatted(bothGFLOPS.median), versus])
        return bothMs
    }
}
