// swift-tools-version:6.1
// Regression benchmarks (package-benchmark): Benchmarks/README.md. Not built by CI.
import PackageDescription

/// A suite: an executable of benchmarks on Weave's public API, with the shared tolerances.
func suite(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "BenchmarkTolerances",
            .product(name: "Weave", package: "Weave"),
            .product(name: "Benchmark", package: "benchmark"),
        ],
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

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
        suite("KernelBenchmarks"),
        suite("SchedulerBenchmarks"),
        suite("TrainingBenchmarks"),
    ],
    swiftLanguageModes: [.v6]
)
