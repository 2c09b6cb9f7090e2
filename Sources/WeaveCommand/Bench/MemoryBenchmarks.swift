import ArgumentParser
import Foundation
import Glibc
import Weave

/// The STREAM-style copy bandwidth of `pool` on `count` floats (read + write bytes per second),
/// measured in the same run as the figures quoted against it.
func copyBandwidth(count: Int, pool: ThreadPool, repeats: Int) throws -> Sample {
    let source = try Tensor(repeating: 1, shape: [count])
    var destination = try Tensor(zeros: [count])
    let bytes = Double(2 * count * MemoryLayout<Float>.stride)
    return source.withUnsafeBufferPointer { src in
        destination.withUnsafeMutableBufferPointer { dst in
            let s = src.baseAddress!, d = dst.baseAddress!
            return measure(repeats: repeats, warmup: 2) {
                pool.parallelFor(0..<count, grain: dropoutTileElements) { tile in
                    memcpy(d + tile.lowerBound, s + tile.lowerBound, tile.count * MemoryLayout<Float>.stride)
                }
            }.map { bytes / $0 / 1e9 }
        }
    }
}

/// `weave bench random`: Philox words per second written to memory, per thread count.
struct RandomBenchCommand: BenchSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "random",
        abstract: "Counter-based random bits (Philox4x32-10) in GB/s, beside the copy bandwidth.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Words per run.")
    var count = 16 << 20

    func benchmark(into report: inout BenchReport) throws {
        guard count > 0 else { throw ValidationError("--count must be positive, got \(count)") }
        let repeats = options.quick ? 5 : 15
        let stream = RandomStream(seed: 7, purpose: .custom(stream: 0))
        var words = [UInt32](repeating: 0, count: count)
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "random", isa: KernelISA.current.rawValue)
        for threads in try threadSweep(options.threads) {
            let pool = ThreadPool(threads: threads)
            let copy = try copyBandwidth(count: count, pool: pool, repeats: repeats)
            report.recordCopyBandwidth(copy, threads: threads)
            var step: UInt64 = 0
            let randomTimes = words.withUnsafeMutableBufferPointer { buffer in
                measure(repeats: repeats, warmup: 2) {
                    step += 1
                    pool.parallelFor(0..<count, grain: dropoutTileElements) { tile in
                        stream.fillWords(UnsafeMutableBufferPointer(rebasing: buffer[tile]),
                                         firstElement: UInt64(tile.lowerBound), step: step)
                    }
                }
            }
            let random = randomTimes.map { Double(count * 4) / $0 / 1e9 }
            scaling.add(.strong, operation: "Philox words", threads: threads, shape: "\(count)",
                        time: randomTimes.map { $0 * 1e3 })
            for (metric, sample) in [("copy bandwidth", copy), ("random words written", random)] {
                report.figures.append(BenchFigure(
                    benchmark: "random", metric: metric, unit: "GB/s", threads: threads,
                    implementation: "weave", shape: "\(count)", isa: KernelISA.current.rawValue,
                    sample: sample))
            }
            rows.append(["\(threads)", cell(random), cell(copy),
                         String(format: "%.0f%%", random.median / copy.median * 100)])
        }
        print("Random bits, \(count) words, ISA \(KernelISA.current.rawValue): median [min–max]")
        printTable(["threads", "random GB/s", "copy GB/s", "random / copy"], rows)
        report.addScaling(scaling)
    }
}

/// `weave bench dropout`: inverted dropout forward and forward+backward in GB/s.
struct DropoutBenchCommand: BenchSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "dropout",
        abstract: "Dropout forward and forward+backward in GB/s, beside the copy bandwidth.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Elements of the tensor.")
    var count = 16 << 20

    @Option(help: "Drop probability.")
    var probability: Float = 0.5

    func benchmark(into report: inout BenchReport) throws {
        guard count > 0 else { throw ValidationError("--count must be positive, got \(count)") }
        guard probability >= 0 && probability <= 1 else {
            throw ValidationError("--probability must be in [0, 1], got \(probability)")
        }
        let repeats = options.quick ? 5 : 15
        let stream = RandomStream(seed: 7, purpose: .dropout(layer: 0))
        let input = try Tensor(uniformShape: [count], stream: RandomStream(seed: 1, purpose: .custom(stream: 1)))
        let gradient = try Tensor(repeating: 1, shape: [count])
        var output = try Tensor(zeros: [count])
        var inputGradient = try Tensor(zeros: [count])
        var mask = DropoutMask()
        // Bytes moved: forward reads x and writes y (+ 1 bit per element of mask); backward reads
        // dy and the mask and writes dx.
        let floatBytes = Double(count * MemoryLayout<Float>.stride)
        let maskBytes = Double(count) / 8
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "dropout", isa: KernelISA.current.rawValue)
        for threads in try threadSweep(options.threads) {
            let pool = ThreadPool(threads: threads)
            let copy = try copyBandwidth(count: count, pool: pool, repeats: repeats)
            report.recordCopyBandwidth(copy, threads: threads)
            var step: UInt64 = 0
            var failure: (any Error)?
            let forward = measure(repeats: repeats, warmup: 2) {
                step += 1
                do {
                    try dropoutForward(input, into: &output, mask: &mask, probability: probability,
                                       stream: stream, step: step, pool: pool)
                } catch { failure = error }
            }
            let both = measure(repeats: repeats, warmup: 2) {
                step += 1
                do {
                    try dropoutForward(input, into: &output, mask: &mask, probability: probability,
                                       stream: stream, step: step, pool: pool)
                    try dropoutBackward(gradient, mask: mask, into: &inputGradient, pool: pool)
                } catch { failure = error }
            }
            if let failure { throw failure }
            let forwardGBs = forward.map { (2 * floatBytes + maskBytes) / $0 / 1e9 }
            let bothGBs = both.map { (4 * floatBytes + 2 * maskBytes) / $0 / 1e9 }
            scaling.add(.strong, operation: "Dropout(p=\(probability)) fwd+bwd", threads: threads,
                        shape: "\(count)", time: both.map { $0 * 1e3 })
            for (metric, sample, unit) in [("forward", forward.map { $0 * 1e3 }, "ms"),
                                           ("forward GB/s", forwardGBs, "GB/s"),
                                           ("forward+backward", both.map { $0 * 1e3 }, "ms"),
                                           ("forward+backward GB/s", bothGBs, "GB/s"),
                                           ("copy bandwidth", copy, "GB/s")] {
                report.figures.append(BenchFigure(
                    benchmark: "dropout", metric: metric, unit: unit, threads: threads,
                    implementation: "weave", shape: "\(count), p=\(probability)",
                    isa: KernelISA.current.rawValue, sample: sample))
            }
            rows.append(["\(threads)", cell(forward.map { $0 * 1e3 }), cell(forwardGBs),
                         cell(both.map { $0 * 1e3 }), cell(bothGBs), cell(copy),
                         String(format: "%.0f%% / %.0f%%", forwardGBs.median / copy.median * 100,
                                bothGBs.median / copy.median * 100)])
        }
        print("Dropout(p=\(probability)) on \(count) floats, ISA \(KernelISA.current.rawValue): median [min–max]")
        printTable(["threads", "fwd ms", "fwd GB/s", "fwd+bwd ms", "fwd+bwd GB/s", "copy GB/s",
                    "of copy (fwd / both)"], rows)
        report.addScaling(scaling)
    }
}

/// "median [min–max]" for a table cell.
func cell(_ sample: Sample) -> String {
    "\(formatted(sample.median)) [\(formatted(sample.min))–\(formatted(sample.max))]"
}
