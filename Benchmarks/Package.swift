// swift-tools-version:6.1
// Regression benchmarks (package-benchmark): Benchmarks/README.md. Not built by CI.
import PackageDescription

let package = Package(
    name: "WeaveBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Weave", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1",
                 traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "BenchmarkTolerances",
            dependencies: [.product(name: "Benchmark", package: "benchmark")],
            path: "Sources/BenchmarkTolerances"
        ),
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                "BenchmarkTolerances",
                .product(name: "Weave", package: "Weave"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SchedulerBenchmarks",
            dependencies: [
                "BenchmarkTolerances",
                .product(name: "Weave", package: "Weave"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SchedulerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "TrainingBenchmarks",
            dependencies: [
                "BenchmarkTolerances",
                .product(name: "Weave", package: "Weave"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TrainingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
