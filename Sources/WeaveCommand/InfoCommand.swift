import ArgumentParser
import Foundation
import Weave

/// `weave info`: what Weave sees of this machine and what it will use.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "CPU features, kernel variant, threads, NUMA nodes and the measured FMA peak.")

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        try validateEnvironment()
        let machine = Machine.current()
        let threads = try ThreadCount.defaultValue()
        let environment = ProcessInfo.processInfo.environment
        let threadSource: String
        if environment["WEAVE_NUM_THREADS"] != nil {
            threadSource = "WEAVE_NUM_THREADS"
        } else if let quota = machine.cgroupCPUQuota, Int(quota.rounded(.up)) < machine.affinityCPUs.count {
            threadSource = "cgroup CPU quota \(quota)"
        } else {
            threadSource = "affinity mask"
        }
        var peaks: [String: Double] = [:]
        for isa in KernelISA.allCases where isa.isSupported {
            peaks[isa.rawValue] = FMAPeak.measure(isa: isa)
        }
        if json {
            struct Info: Codable {
                var machine: Machine
                var threads: Int
                var threadSource: String
                var fmaPeakGFLOPSPerCore: [String: Double]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(Info(machine: machine, threads: threads,
                                               threadSource: threadSource, fmaPeakGFLOPSPerCore: peaks))
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let quota = machine.cgroupCPUQuota.map { String(format: "%.2f CPUs", $0) } ?? "none"
        print("CPU         \(machine.cpuModel)")
        print("            \(machine.logicalCPUs) logical CPUs; affinity \(ranges(machine.affinityCPUs)); cgroup quota \(quota)")
        print("Features    \(machine.features.joined(separator: " "))")
        let forced = environment["WEAVE_ISA"].map { " (forced by WEAVE_ISA=\($0))" } ?? ""
        print("Kernels     \(machine.kernelISA)\(forced); supported: "
              + KernelISA.allCases.filter(\.isSupported).map(\.rawValue).joined(separator: ", "))
        print("Threads     \(threads) (from \(threadSource))")
        if machine.libnumaActive {
            print("NUMA        libnuma active, \(machine.numaNodes.count) node(s)")
        } else {
            let why = environment["WEAVE_NUMA"]?.lowercased() == "off"
                ? "WEAVE_NUMA=off" : "numa_available() < 0"
            print("NUMA        libnuma not in use (\(why)): one node, plain aligned allocation")
        }
        for (node, cpus) in machine.numaNodes.enumerated() {
            print("            node \(node): CPUs \(ranges(cpus))")
        }
        if machine.libnumaActive {
            let limit = NUMAAllocator.system.cacheByteLimit >> 20
            let source = environment["WEAVE_MAPPING_CACHE_MB"].map { "WEAVE_MAPPING_CACHE_MB=\($0)" } ?? "default"
            print("Memory      released mappings kept for reuse: up to \(limit) MiB (\(source))")
        }
        let peakText = KernelISA.allCases.reversed().compactMap { isa in
            peaks[isa.rawValue].map { String(format: "%@ %.1f", isa.rawValue, $0) }
        }.joined(separator: ", ")
        print("FMA peak    \(peakText) GFLOP/s per core (best of 3 × 50 ms)")
    }
}

/// [0, 1, 2, 5] → "0-2,5".
func ranges(_ values: [Int]) -> String {
    var parts: [String] = []
    var i = 0
    while i < values.count {
        var j = i
        while j + 1 < values.count && values[j + 1] == values[j] + 1 { j += 1 }
        parts.append(i == j ? "\(values[i])" : "\(values[i])-\(values[j])")
        i = j + 1
    }
    return parts.isEmpty ? "none" : parts.joined(separator: ",")
}
