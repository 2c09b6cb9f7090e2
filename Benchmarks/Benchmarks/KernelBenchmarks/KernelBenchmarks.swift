import Benchmark
import BenchmarkTolerances
import Weave

/// The kernels `weave bench gemm|conv|batchnorm|dropout|random` measure, at 1 and 2 threads, on
/// shapes of the seed models and one larger shape each: regression checks, not scaling studies
/// (`weave bench` times thread counts by turns and reports speed-ups with intervals).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = Tolerances.configuration(warmupIterations: 10, maxDuration: .seconds(2))

    for threads in [1, 2] {
        let tags = ["threads": "\(threads)"]
        for shape in [GEMMCase(m: 256, n: 256, k: 256), GEMMCase(m: 64, n: 48, k: 784)] {
            Benchmark("sgemm \(shape.name) t\(threads)", configuration: .init(tags: tags)) { benchmark, run in
                for _ in benchmark.scaledIterations { run.multiply() }
            } setup: {
                GEMMRun(shape, pool: ThreadPool(threads: threads))
            }
        }
        for layer in [ConvCase(input: [64, 1, 28, 28], weight: [3, 1, 5, 5], padding: 0),
                      ConvCase(input: [8, 64, 56, 56], weight: [64, 64, 3, 3], padding: 1)] {
            Benchmark("conv2d fwd+bwd \(layer.name) t\(threads)", configuration: .init(tags: tags)) { benchmark, run in
                for _ in benchmark.scaledIterations { try run.forwardBackward() }
            } setup: {
                try ConvRun(layer, pool: ThreadPool(threads: threads))
            }
        }
        for shape in [[64, 6, 10, 10], [32, 64, 56, 56]] {
            Benchmark("batchnorm2d fwd+bwd \(shape) t\(threads)", configuration: .init(tags: tags)) { benchmark, run in
                for _ in benchmark.scaledIterations { try run.forwardBackward() }
            } setup: {
                try BatchNormRun(shape: shape, pool: ThreadPool(threads: threads))
            }
        }
        Benchmark("dropout fwd+bwd 4M t\(threads)", configuration: .init(tags: tags)) { benchmark, run in
            for _ in benchmark.scaledIterations { try run.forwardBackward() }
        } setup: {
            try DropoutRun(count: 1 << 22, pool: ThreadPool(threads: threads))
        }
        Benchmark("philox words 4M t\(threads)", configuration: .init(tags: tags)) { benchmark, run in
            for _ in benchmark.scaledIterations { run.fill() }
        } setup: {
            RandomRun(count: 1 << 22, pool: ThreadPool(threads: threads))
        }
    }
}
