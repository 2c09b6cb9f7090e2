// swift-tools-version:6.1
// Weave: fast, reproducible neural-network training on CPUs.
// No `unsafeFlags` anywhere: the library products must stay usable by version (DESIGN §2).
import PackageDescription

let package = Package(
    name: "Weave",
    products: [
        .library(name: "Weave", targets: ["Weave"]),
        .library(name: "ParallelRuntime", targets: ["ParallelRuntime"]),
        .library(name: "TensorKernels", targets: ["TensorKernels"]),
        .library(name: "NeuralNetwork", targets: ["NeuralNetwork"]),
        .executable(name: "weave", targets: ["WeaveCommand"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // libnuma: headers and the linker name come from the `libnuma-dev` package.
        .systemLibrary(
            name: "CNUMA",
            providers: [.apt(["libnuma-dev"])]
        ),
        // zlib: gunzip for the IDX data sets; from `zlib1g-dev`.
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Tiny shim for what `import Glibc` cannot reach (_GNU_SOURCE calls, futex); see its header.
        .target(name: "CPlatform"),
        // Innermost compute-bound loops, one variant per ISA, selected at run time.
        .target(name: "CKernels"),
        .target(
            name: "ParallelRuntime",
            dependencies: ["CNUMA", "CPlatform", "CKernels"],
            exclude: ["README.md", "Scheduler/README.md", "Random/README.md"]
        ),
        .target(
            name: "TensorKernels",
            dependencies: ["ParallelRuntime", "CKernels", "CPlatform"],
            exclude: ["README.md"]
        ),
        .target(
            name: "NeuralNetwork",
            dependencies: ["TensorKernels", "ParallelRuntime", "CZlib"],
            exclude: ["README.md", "Data/README.md", "Checkpoint/README.md"]
        ),
        .target(name: "Weave", dependencies: ["NeuralNetwork", "TensorKernels", "ParallelRuntime"]),
        .executableTarget(
            name: "WeaveCommand",
            dependencies: [
                "Weave", "ParallelRuntime", "CKernels", "CPlatform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels"]),
        .testTarget(name: "ParallelRuntimeTests", dependencies: ["ParallelRuntime", "CPlatform"]),
        .testTarget(name: "TensorKernelsTests", dependencies: ["TensorKernels"]),
        .testTarget(name: "NeuralNetworkTests", dependencies: ["NeuralNetwork"]),
        .testTarget(name: "WeaveCommandTests", dependencies: ["WeaveCommand"]),
        .testTarget(name: "WeaveTests", dependencies: ["Weave"]),
    ],
    swiftLanguageModes: [.v6]
)
