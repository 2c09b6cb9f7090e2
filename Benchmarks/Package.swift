// swift-tools-version:6.1
// Regression benchmarks (package-benchmark). Not built by CI: `cd Benchmarks && swift package benchmark`.
import PackageDescription

let package = Package(
    name: "WeaveBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Weave", path: "../"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1",
                 traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "SchedulerBenchmarks",
            dependencies: [
                .product(name: "Weave", package: "Weave"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/SchedulerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "TrainingBenchmarks",
            dependencies: [
                .product(name: "Weave", package: "Weave"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/TrainingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
