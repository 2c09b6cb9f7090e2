import ArgumentParser
import Foundation
import CKernels
import Glibc
import Weave

/// `weave bench gemm`: SGEMM GFLOP/s on squares and the MNIST layer shapes, as a share of the
/// FMA peak measured in the same run, beside OpenBLAS (loaded with `dlopen` when installed).
struct GEMMBenchCommand: BenchSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "SGEMM GFLOP/s and % of the measured FMA peak, beside OpenBLAS when installed.")

    @OptionGroup var options: BenchOptions

    @Flag(help: "Also compare the AVX-512 micro-kernels (8x32, 12x32, 14x32) on one thread.")
    var compareKernels = false

    @Flag(help: "Skip OpenBLAS even when it is installed.")
    var noOpenBLAS = false

    @Option(help: "SGEMM path: automatic, packed or small (same bits; for comparison).")
    var path: String = "automatic"

    @Option(help: "Only the shapes whose name contains one of these (comma-separated), e.g. 1024,784.")
    var shapes: String?

    func benchmark(into report: inout BenchReport) throws {
        let counts = try threadSweep(options.threads)
        let isa = KernelISA.current
        // Measured once per report: `weave bench all` runs conv in the same report.
        let peak = report.fmaPeakGFLOPSPerCore ?? FMAPeak.measure(isa: isa)
        report.fmaPeakGFLOPSPerCore = peak
        let openBLAS = noOpenBLAS ? nil : OpenBLAS.load()
        let filters = shapes.map { $0.split(separator: ",").map(String.init) }
        let paths: [String: SGEMMPath] = ["automatic": .automatic, "packed": .packed, "small": .small]
        guard let chosenPath = paths[path] else {
            throw ValidationError("--path must be automatic, packed or small, got \(path)")
        }
        let bench = GEMMBenchmark(quick: options.quick, rounds: options.rounds, peak: peak,
                                  openBLAS: openBLAS, filters: filters, path: chosenPath)
        print("SGEMM, ISA \(isa.rawValue) (\(SGEMMMicroKernel.current.name), "
              + "\(SGEMMMicroKernel.current.blocking)), FMA peak \(formatted(peak)) GFLOP/s per core; "
              + (openBLAS.map { "OpenBLAS \($0.version)" }
                 ?? (noOpenBLAS ? "OpenBLAS skipped (--no-open-blas)" : "OpenBLAS not found (apt-get install libopenblas0)")))
        print("GFLOP/s: median [min–max] of \(bench.repeats) timed batches; % of peak × threads")
        var rows: [[String]] = []
        var scaling = ScalingCollector(benchmark: "gemm", isa: isa.rawValue)
        let pools = counts.map { options.pool(threads: $0) }
        for shape in bench.shapes {
            let results = try bench.run(shape, pools: pools)
            for (pool, result) in zip(pools, results) {
                let threads = pool.threads
                report.figures += result.figures
                scaling.add(.strong, operation: "sgemm \(shape.name)", threads: threads, shape: shape.name,
                            time: result.weave.map { shape.flops / ($0 * 1e9) * 1e3 })
                var row = [shape.name, "\(threads)", cell(result.weave),
                           String(format: "%.0f%%", result.weave.median / (peak * Double(threads)) * 100)]
                if let blas = result.openBLAS {
                    row += [cell(blas), String(format: "%.2f×", result.weave.median / blas.median),
                            String(format: "%.1e", result.maxRelativeDifference)]
                } else {
                    row += ["–", "–", "–"]
                }
                rows.append(row)
            }
        }
        printTable(["shape", "threads", "weave GFLOP/s", "of peak", "OpenBLAS GFLOP/s",
                    "weave/OpenBLAS", "max rel diff"], rows)
        if filters == nil && pools.count > 1 {
            let weak = WeakScalingRuns(pools: pools)
            for base in bench.weakScalingShapes {
                let shapes = weak.runs.map { base.scaledRows(by: $0.factor) }
                let runs = try zip(shapes, weak.runs).map { shape, run in
                    (shape, try bench.operands(shape, pool: pools[0]), run.pool)
                }
                let samples = bench.measureWeave(runs)
                for (shape, (run, sample)) in zip(shapes, zip(weak.runs, samples)) {
                    report.figures.append(BenchFigure(
                        benchmark: "gemm", metric: "weak-scaling GFLOP/s", unit: "GFLOP/s",
                        threads: run.pool.threads, implementation: "weave", shape: shape.name,
                        isa: isa.rawValue, sample: sample,
                        note: run.isReference ? "same-problem reference of \(run.factor) threads" : nil))
                }
                scaling.addWeak(weak, operation: "sgemm \(base.name), m × threads",
                                times: zip(shapes, samples).map { shape, sample in
                                    sample.map { shape.flops / ($0 * 1e9) * 1e3 }
                                }) { base.scaledRows(by: $0).name }
            }
        }
        report.addScaling(scaling)
        try report.recordActivity(of: pools, benchmark: "gemm")
        if compareKernels {
            print("\nMicro-kernels and blockings, 1 thread, GFLOP/s of thread CPU time (same bits):")
            let pool = ThreadPool(threads: 1)
            var kernelRows: [[String]] = []
            var kernels = [SGEMMMicroKernel.avx512x8, .avx512x12, .avx512x14, .avx2x6]
            let base = SGEMMMicroKernel.current
            for (mc, kc, nc) in [(144, 384, 4096), (144, 512, 4096), (288, 256, 4096),
                                 (144, 256, 512), (144, 384, 256), (144, 512, 256), (240, 384, 512)] {
                kernels.append(SGEMMMicroKernel(
                    name: "\(base.name) mc \(mc) kc \(kc) nc \(nc)", isa: base.isa,
                    packed: base.packed, strided: base.strided,
                    blocking: GEMMBlocking(mr: base.blocking.mr, nr: base.blocking.nr, mc: mc,
                                           kc: kc, nc: nc)))
            }
            for kernel in kernels where kernel.isa.isSupported {
                for shape in (filters == nil ? bench.kernelShapes : bench.shapes) {
                    let sample = try bench.measureWeave(shape, pool: pool, kernel: kernel,
                                                        threadCPUTime: true)
                    report.figures.append(BenchFigure(
                        benchmark: "gemm", metric: "GFLOP/s", unit: "GFLOP/s", threads: 1,
                        implementation: "weave \(kernel.name)", shape: shape.name,
                        isa: kernel.isa.rawValue, sample: sample))
                    kernelRows.append([kernel.name, shape.name, cell(sample),
                                       String(format: "%.0f%%", sample.median / peak * 100)])
                }
            }
            // The micro-kernels alone on cache-resident panels (k = KC), and the FMA peak on the
            // same clock, to separate kernel from driver losses.
            let cpuPeak = bench.threadCPUTimePeak(isa: isa)
            kernelRows.append(["FMA peak (thread CPU time)", "–", formatted(cpuPeak), "–"])
            for kernel in [SGEMMMicroKernel.avx512x8, .avx512x12, .avx512x14, .avx2x6]
            where kernel.isa.isSupported {
                let sample = bench.measureMicroKernel(kernel)
                kernelRows.append([kernel.name, "micro-kernel alone", cell(sample),
                                   String(format: "%.0f%%", sample.median / cpuPeak * 100)])
            }
            printTable(["kernel", "shape", "GFLOP/s", "of peak"], kernelRows)
        }
    }
}

/// One GEMM shape: C (m × n) = op(A) (m × k) · op(B) (k × n).
struct GEMMShape {
    var name: String
    var m: Int, n: Int, k: Int
    var transA = Transpose.none, transB = Transpose.none
    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// The same product with `factor` times as many rows of C (weak scaling: m grows with the
    /// threads, n and k stay).
    func scaledRows(by factor: Int) -> GEMMShape {
        var copy = self
        copy.m = m * factor
        copy.name = "\(copy.m)×\(k)·\(k)×\(n)"
        return copy
    }
}

struct GEMMBenchmark {
    let quick: Bool
    /// `--rounds` (nil: 5 with --quick, 11 otherwise).
    var rounds: Int? = nil
    let peak: Double
    let openBLAS: OpenBLAS?
    var filters: [String]? = nil
    var path = SGEMMPath.automatic

    var repeats: Int { rounds ?? (quick ? 5 : 11) }
    /// Seconds each timed batch lasts at least (calls are batched up to it).
    var batchSeconds: Double { quick ? 0.01 : 0.03 }

    var shapes: [GEMMShape] {
        guard let filters else { return allShapes }
        // "MxNxK" adds that shape; anything else selects the built-in shapes containing it.
        let custom = filters.compactMap { filter -> GEMMShape? in
            let sizes = filter.split(separator: "x").compactMap { Int($0) }
            guard sizes.count == 3, sizes.allSatisfy({ $0 > 0 }) else { return nil }
            return GEMMShape(name: "\(sizes[0])×\(sizes[1])×\(sizes[2])", m: sizes[0], n: sizes[1],
                             k: sizes[2])
        }
        return allShapes.filter { shape in filters.contains { shape.name.contains($0) } } + custom
    }

    var allShapes: [GEMMShape] {
        let sides = quick ? [64, 128, 256, 512, 1024] : [64, 128, 256, 512, 1024, 2048, 4096]
        return sides.map { GEMMShape(name: "\($0)³", m: $0, n: $0, k: $0) } + [
            GEMMShape(name: "256×784·784×48", m: 256, n: 48, k: 784),
            GEMMShape(name: "256×784·(48×784)ᵀ", m: 256, n: 48, k: 784, transB: .transposed),
            GEMMShape(name: "(256×48)ᵀ·256×784", m: 48, n: 784, k: 256, transA: .transposed),
            GEMMShape(name: "256×48·48×784", m: 256, n: 784, k: 48),
            GEMMShape(name: "256×48·48×24", m: 256, n: 24, k: 48),
            GEMMShape(name: "256×48·(24×48)ᵀ", m: 256, n: 24, k: 48, transB: .transposed),
            GEMMShape(name: "64×784·784×48", m: 64, n: 48, k: 784),
            GEMMShape(name: "64×784·(48×784)ᵀ", m: 64, n: 48, k: 784, transB: .transposed),
            GEMMShape(name: "(64×48)ᵀ·64×784", m: 48, n: 784, k: 64, transA: .transposed),
            GEMMShape(name: "64×48·48×784", m: 64, n: 784, k: 48),
        ]
    }

    /// Weak scaling: these shapes with m × threads rows (a square, and the first MNIST layer
    /// at 64 images per thread).
    var weakScalingShapes: [GEMMShape] {
        [GEMMShape(name: "512×512·512×512", m: 512, n: 512, k: 512),
         GEMMShape(name: "64×784·784×48", m: 64, n: 48, k: 784)]
    }

    var kernelShapes: [GEMMShape] {
        [GEMMShape(name: "512³", m: 512, n: 512, k: 512),
         GEMMShape(name: "1024³", m: 1024, n: 1024, k: 1024),
         GEMMShape(name: "256×784·784×48", m: 256, n: 48, k: 784)]
    }

    /// A product's operands; C is written by every call (runs take turns, never overlap).
    final class Operands {
        let a: Tensor, b: Tensor
        var c: Tensor
        let lda: Int, ldb: Int

        init(a: Tensor, b: Tensor, c: Tensor, lda: Int, ldb: Int) {
            self.a = a
            self.b = b
            self.c = c
            self.lda = lda
            self.ldb = ldb
        }
    }

    func operands(_ shape: GEMMShape, pool: ThreadPool) throws -> Operands {
        let aShape = shape.transA == .none ? [shape.m, shape.k] : [shape.k, shape.m]
        let bShape = shape.transB == .none ? [shape.k, shape.n] : [shape.n, shape.k]
        let a = try Tensor(uniformShape: aShape, lowerBound: -1, upperBound: 1,
                           stream: RandomStream(seed: 1, purpose: .custom(stream: 1)), pool: pool)
        let b = try Tensor(uniformShape: bShape, lowerBound: -1, upperBound: 1,
                           stream: RandomStream(seed: 1, purpose: .custom(stream: 2)), pool: pool)
        return Operands(a: a, b: b, c: try Tensor(zeros: [shape.m, shape.n]),
                        lda: max(1, aShape[1]), ldb: max(1, bShape[1]))
    }

    /// Times batches of `call` (each batch long enough to measure), GFLOP/s per batch.
    /// With `threadCPUTime` the clock is the calling thread's CPU time (only meaningful on one
    /// thread, where sgemm runs entirely on the caller): time slices lost to other processes
    /// on a shared machine then do not count.
    func gflops(_ shape: GEMMShape, threadCPUTime: Bool = false, _ call: () -> Void) -> Sample {
        let clock = threadCPUTime ? GEMMBenchmark.threadSeconds : now
        call()
        var calls = 1
        while true {
            let start = clock()
            for _ in 0..<calls { call() }
            let elapsed = clock() - start
            if elapsed >= batchSeconds / 2 { break }
            calls *= 2
        }
        var values: [Double] = []
        for _ in 0..<repeats {
            let start = clock()
            for _ in 0..<calls { call() }
            values.append(shape.flops * Double(calls) / (clock() - start) / 1e9)
        }
        return Sample(values)
    }

    /// The FMA peak of one thread on the thread-CPU-time clock (best of `repeats`).
    func threadCPUTimePeak(isa: KernelISA) -> Double {
        var sink: Float = 0
        var best = 0.0
        for _ in 0..<repeats {
            let start = GEMMBenchmark.threadSeconds()
            let flops = weave_fma_peak_run(isa.cValue, 2_000_000, &sink)
            best = max(best, flops / (GEMMBenchmark.threadSeconds() - start) / 1e9)
        }
        return best
    }

    /// One micro-kernel called over and over on the same packed panels (k = KC, full tile,
    /// β = 1), on the thread-CPU-time clock.
    func measureMicroKernel(_ kernel: SGEMMMicroKernel) -> Sample {
        let (mr, nr, kc) = (kernel.blocking.mr, kernel.blocking.nr, kernel.blocking.kc)
        var a = [Float](repeating: 0.5, count: mr * kc)
        var b = [Float](repeating: 0.25, count: nr * kc)
        var c = [Float](repeating: 0, count: mr * nr)
        let shape = GEMMShape(name: "", m: mr, n: nr, k: kc)
        return a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeMutableBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    gflops(shape, threadCPUTime: true) {
                        for _ in 0..<100 {
                            kernel.packed(Int64(kc), a.baseAddress, b.baseAddress, c.baseAddress,
                                          Int64(nr), Int64(mr), Int64(nr), 1)
                        }
                    }.map { $0 * 100 }
                }
            }
        }
    }

    /// CPU time of the calling thread, in seconds.
    static func threadSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// GFLOP/s of one kernel on one thread (`--compare-kernels`), optionally on the thread's
    /// CPU-time clock.
    func measureWeave(_ shape: GEMMShape, pool: ThreadPool, kernel: SGEMMMicroKernel,
                      threadCPUTime: Bool) throws -> Sample {
        let o = try operands(shape, pool: pool)
        return gflops(shape, threadCPUTime: threadCPUTime) {
            multiply(shape, o, pool: pool, kernel: kernel)
        }
    }

    /// GFLOP/s of each run (a shape, its operands and a pool), the runs taking turns.
    func measureWeave(_ runs: [(shape: GEMMShape, operands: Operands, pool: ThreadPool)]) -> [Sample] {
        var timing = InterleavedTiming(quick: quick, repeats: repeats, warmupCalls: 1)
        timing.groupSeconds = batchSeconds
        let seconds = timing.secondsPerCall(runs.map { run in {
            multiply(run.shape, run.operands, pool: run.pool, kernel: .current)
        } })
        return zip(runs, seconds).map { run, sample in sample.map { run.shape.flops / $0 / 1e9 } }
    }

    /// C = op(A)·op(B) through weave's sgemm on the benchmark's path.
    /// One pool operation (`--splitting`), as a training step is.
    func multiply(_ shape: GEMMShape, _ o: Operands, pool: ThreadPool, kernel: SGEMMMicroKernel) {
        let transposes = (shape.transA == .transposed ? 1 : 0) | (shape.transB == .transposed ? 2 : 0)
        pool.operation(OperationKey("bench sgemm", shape.m, shape.n, shape.k, transposes)) {
            multiplyOnPool(shape, o, pool: pool, kernel: kernel)
        }
    }

    private func multiplyOnPool(_ shape: GEMMShape, _ o: Operands, pool: ThreadPool, kernel: SGEMMMicroKernel) {
        o.a.withUnsafeBufferPointer { a in
            o.b.withUnsafeBufferPointer { b in
                o.c.withUnsafeMutableBufferPointer { c in
                    sgemm(transA: shape.transA, transB: shape.transB, m: shape.m, n: shape.n,
                          k: shape.k, alpha: 1, a: a.baseAddress!, lda: o.lda,
                          b: b.baseAddress!, ldb: o.ldb, beta: 0, c: c.baseAddress!,
                          ldc: shape.n, pool: pool, kernel: kernel, path: path)
                }
            }
        }
    }

    struct Result {
        var weave: Sample
        var openBLAS: Sample?
        var maxRelativeDifference: Double
        var figures: [BenchFigure]
    }

    /// One shape on every pool: weave's thread counts taking turns, then OpenBLAS at each
    /// thread count on the same operands.
    func run(_ shape: GEMMShape, pools: [ThreadPool]) throws -> [Result] {
        let isa = KernelISA.current.rawValue
        let o = try operands(shape, pool: pools[0])
        let weave = measureWeave(pools.map { (shape, o, $0) })
        // weave's product, to show both libraries compute the same (the bits are the same on
        // every pool).
        let ours = o.c
        return zip(pools, weave).map { pool, weave in
            let threads = pool.threads
            var figures = [BenchFigure(benchmark: "gemm", metric: "GFLOP/s", unit: "GFLOP/s",
                                       threads: threads, implementation: "weave", shape: shape.name,
                                       isa: isa, sample: weave,
                                       note: String(format: "%.1f%% of %.1f GFLOP/s × %d threads",
                                                    weave.median / (peak * Double(threads)) * 100,
                                                    peak, threads))]
            guard let openBLAS else {
                return Result(weave: weave, openBLAS: nil, maxRelativeDifference: 0, figures: figures)
            }
            openBLAS.setThreads(threads)
            var theirs = o.c
            let blasSample = o.a.withUnsafeBufferPointer { a in
                o.b.withUnsafeBufferPointer { b in
                    theirs.withUnsafeMutableBufferPointer { c in
                        gflops(shape) {
                            openBLAS.sgemm(shape, a.baseAddress!, o.lda, b.baseAddress!, o.ldb,
                                           c.baseAddress!)
                        }
                    }
                }
            }
            let difference = zip(ours.scalars, theirs.scalars).reduce(0.0) { worst, pair in
                let scale = max(1, abs(Double(pair.1)))
                return max(worst, abs(Double(pair.0) - Double(pair.1)) / scale)
            }
            figures.append(BenchFigure(benchmark: "gemm", metric: "GFLOP/s", unit: "GFLOP/s",
                                       threads: threads, implementation: "OpenBLAS \(openBLAS.version)",
                                       shape: shape.name, sample: blasSample))
            return Result(weave: weave, openBLAS: blasSample, maxRelativeDifference: difference,
                          figures: figures)
        }
    }
}

/// OpenBLAS's `cblas_sgemm`, loaded at run time with `dlopen("libopenblas.so.0")` — never a
/// build dependency.
struct OpenBLAS {
    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias Config = @convention(c) () -> UnsafePointer<CChar>?

    let sgemmFunction: SGEMM
    let setThreadsFunction: SetThreads?
    let version: String

    /// The library, or nil when it is not installed.
    static func load() -> OpenBLAS? {
        guard let handle = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL),
              let symbol = dlsym(handle, "cblas_sgemm") else { return nil }
        let setThreads = dlsym(handle, "openblas_set_num_threads")
            .map { unsafeBitCast($0, to: SetThreads.self) }
        let config = dlsym(handle, "openblas_get_config").map { unsafeBitCast($0, to: Config.self) }
        let version = config.flatMap { $0() }.map { String(cString: $0) } ?? "libopenblas.so.0"
        return OpenBLAS(sgemmFunction: unsafeBitCast(symbol, to: SGEMM.self),
                        setThreadsFunction: setThreads,
                        version: version.split(separator: " ").prefix(2).joined(separator: " "))
    }

    func setThreads(_ threads: Int) { setThreadsFunction?(Int32(threads)) }

    /// Row-major C = op(A)·op(B) with cblas_sgemm (CblasRowMajor 101, NoTrans 111, Trans 112).
    func sgemm(_ shape: GEMMShape, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>,
               _ ldb: Int, _ c: UnsafeMutablePointer<Float>) {
        sgemmFunction(101, shape.transA == .none ? 111 : 112, shape.transB == .none ? 111 : 112,
                      Int32(shape.m), Int32(shape.n), Int32(shape.k), 1, a, Int32(lda), b,
                      Int32(ldb), 0, c, Int32(max(1, shape.n)))
    }
}
