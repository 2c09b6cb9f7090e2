import ArgumentParser
import Foundation
import Glibc
import Weave

extension BenchReport {
    /// The STREAM-style copy bandwidth (read + write bytes per second) on 16M floats of each
    /// pool, measured in this run: the yardstick for the memory-bound benchmarks. Measured once
    /// per report for each thread count (`weave bench all` runs several such benchmarks), the
    /// thread counts taking turns.
    mutating func copyBandwidth(pools: [ThreadPool], options: BenchOptions) throws -> [Sample] {
        let missing = pools.filter { copyBandwidthGBPerSecond["\($0.threads)"] == nil }
        if !missing.isEmpty {
            let count = 16 << 20
            let source = try Tensor(repeating: 1, shape: [count])
            var destination = try Tensor(zeros: [count])
            let bytes = Double(2 * count * MemoryLayout<Float>.stride)
            let timing = InterleavedTiming(quick: options.quick, repeats: options.rounds(quick: 5, full: 15))
            let seconds = source.withUnsafeBufferPointer { src in
                destination.withUnsafeMutableBufferPointer { dst in
                    let s = src.baseAddress!, d = dst.baseAddress!
                    return timing.secondsPerCall(missing.map { pool in {
                        pool.parallelFor(0..<count, grain: dropoutTileElements) { tile in
                            memcpy(d + tile.lowerBound, s + tile.lowerBound,
                                   tile.count * MemoryLayout<Float>.stride)
                        }
                    } })
                }
            }
            for (pool, sample) in zip(missing, seconds) {
                copyBandwidthGBPerSecond["\(pool.threads)"] = sample.map { bytes / $0 / 1e9 }
            }
        }
        return pools.map { copyBandwidthGBPerSecond["\($0.threads)"]! }
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
        let repeats = options.rounds(quick: 5, full: 15)
        let stream = RandomStream(seed: 7, purpose: .custom(stream: 0))
        let buffer = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: count)
        buffer.initialize(repeating: 0)
        defer { buffer.deallocate() }
        let pools = try options.pools()
        let copies = try report.copyBandwidth(pools: pools, options: options)
        var step: UInt64 = 0
        let timing = InterleavedTiming(quick: options.quick, repeats: repeats)
        let randomTimes = timing.secondsPerCall(pools.map { pool in {
            step += 1
            pool.parallelFor(0..<count, grain: dropoutTileElements) { tile in
                stream.fillWords(UnsafeMutableBufferPointer(rebasing: buffer[tile]),
                                 firstElement: UInt64(tile.lowerBound), step: step)
            }
        } })
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "random", isa: KernelISA.current.rawValue)
        for (pool, (copy, times)) in zip(pools, zip(copies, randomTimes)) {
            let threads = pool.threads
            let random = times.map { Double(count * 4) / $0 / 1e9 }
            scaling.add(.strong, operation: "Philox words", threads: threads, shape: "\(count)",
                        time: times.map { $0 * 1e3 })
            for (metric, sample) in [("copy bandwidth", copy), ("random words written", random)] {
                report.figures.append(BenchFigure(
                    benchmark: "random", metric: metric, unit: "GB/s", threads: threads,
                    implementation: "weave", shape: "\(count)", isa: KernelISA.current.rawValue,
                    sample: sample))
            }
            rows.append(["\(threads)", cell(random), cell(copy),
                         String(format: "%.0f%%", random.median / copy.median * 100)])
        }
        print("Random bits, \(count) words, ISA \(KernelISA.current.rawValue): median [min–max]; "
              + "copy on 16M floats")
        printTable(["threads", "random GB/s", "copy GB/s", "random / copy"], rows)
        report.addScaling(scaling)
        try report.recordActivity(of: pools, benchmark: "random")
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
        let repeats = options.rounds(quick: 5, full: 15)
        let stream = RandomStream(seed: 7, purpose: .dropout(layer: 0))
        let input = try Tensor(uniformShape: [count], stream: RandomStream(seed: 1, purpose: .custom(stream: 1)))
        let gradient = try Tensor(repeating: 1, shape: [count])
        let pools = try options.pools()
        let copies = try report.copyBandwidth(pools: pools, options: options)
        // One output and mask per pool: a run's state never depends on another's.
        let runs = try pools.map { pool in
            DropoutRun(pool: pool, output: try Tensor(zeros: [count]),
                       inputGradient: try Tensor(zeros: [count]))
        }
        var failure: (any Error)?
        let timing = InterleavedTiming(quick: options.quick, repeats: repeats)
        let forwardTimes = timing.secondsPerCall(runs.map { run in {
            do { try run.forward(input, probability: probability, stream: stream) } catch { failure = error }
        } })
        let bothTimes = timing.secondsPerCall(runs.map { run in {
            do {
                try run.forward(input, probability: probability, stream: stream)
                try run.backward(gradient)
            } catch { failure = error }
        } })
        if let failure { throw failure }
        // Bytes moved: forward reads x and writes y (+ 1 bit per element of mask); backward reads
        // dy and the mask and writes dx.
        let floatBytes = Double(count * MemoryLayout<Float>.stride)
        let maskBytes = Double(count) / 8
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "dropout", isa: KernelISA.current.rawValue)
        for (index, pool) in pools.enumerated() {
            let threads = pool.threads, copy = copies[index]
            let forward = forwardTimes[index], both = bothTimes[index]
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
        print("Dropout(p=\(probability)) on \(count) floats, ISA \(KernelISA.current.rawValue): "
              + "median [min–max]; copy on 16M floats")
        printTable(["threads", "fwd ms", "fwd GB/s", "fwd+bwd ms", "fwd+bwd GB/s", "copy GB/s",
                    "of copy (fwd / both)"], rows)
        report.addScaling(scaling)
        try report.recordActivity(of: pools, benchmark: "dropout")
    }
}

/// One pool's dropout state: its own output, mask, gradient and step counter.
private final class DropoutRun {
    let pool: ThreadPool
    var output: Tensor
    var inputGradient: Tensor
    var mask = DropoutMask()
    var step: UInt64 = 0

    init(pool: ThreadPool, output: Tensor, inputGradient: Tensor) {
        self.pool = pool
        self.output = output
        self.inputGradient = inputGradient
    }

    func forward(_ input: Tensor, probability: Float, stream: RandomStream) throws {
        step += 1
        try dropoutForward(input, into: &output, mask: &mask, probability: probability,
                           stream: stream, step: step, pool: pool)
    }

    func backward(_ gradient: Tensor) throws {
        try dropoutBackward(gradient, mask: mask, into: &inputGradient, pool: pool)
    }
}

/// "median [min–max]" for a table cell.
func cell(_ sample: Sample) -> String {
    "\(formatted(sample.median)) [\(formatted(sample.min))–\(formatted(sample.max))]"
}
