import Foundation
import Weave

/// What a figure was measured on; printed by `weave info` and stored with every JSON report.
struct Machine: Codable, Sendable {
    var cpuModel: String
    var logicalCPUs: Int
    var affinityCPUs: [Int]
    var cgroupCPUQuota: Double?
    var features: [String]
    var kernelISA: String
    var numaNodes: [[Int]]
    var libnumaActive: Bool

    static let checkedFeatures = [
        "sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw", "avx512vl",
        "avx512vnni", "avx512bf16",
    ]

    static func current() -> Machine {
        let topology = NUMATopology.system
        return Machine(
            cpuModel: cpuModelName(),
            logicalCPUs: ProcessInfo.processInfo.processorCount,
            affinityCPUs: ThreadCount.affinityCPUs(),
            cgroupCPUQuota: ThreadCount.cgroupCPUQuota(),
            features: checkedFeatures.filter { cpuHasFeature($0) },
            kernelISA: KernelISA.current.rawValue,
            numaNodes: topology.nodes.map(\.cpus),
            libnumaActive: topology.libnumaActive)
    }

    /// "model name" from /proc/cpuinfo (x86), else "unknown".
    static func cpuModelName() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            return "unknown"
        }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }
}
