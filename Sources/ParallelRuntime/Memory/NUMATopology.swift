import CNUMA
import Foundation

/// The machine's NUMA nodes and their CPUs, as libnuma reports them.
///
/// When libnuma reports NUMA unavailable (`numa_available() < 0`, e.g. a kernel without NUMA
/// support) or `WEAVE_NUMA=off` is set, the topology is one node holding every CPU of the
/// affinity mask, and `libnumaActive` is false.
public struct NUMATopology: Sendable, Equatable {
    /// One node: its number and its CPUs, in increasing order.
    public struct Node: Sendable, Equatable {
        public let id: Int
        public let cpus: [Int]
        public init(id: Int, cpus: [Int]) {
            self.id = id
            self.cpus = cpus
        }
    }

    public let nodes: [Node]
    /// Whether libnuma is in use (as opposed to the single-node fallback).
    public let libnumaActive: Bool

    public init(nodes: [Node], libnumaActive: Bool) {
        self.nodes = nodes
        self.libnumaActive = libnumaActive
    }

    /// The topology of this machine, read once.
    public static let system: NUMATopology = read()

    /// Whether libnuma may be used: it says NUMA is available and `WEAVE_NUMA` is not `off`.
    /// Decided once per process (reading the environment builds a dictionary each time).
    public static let libnumaUsable: Bool = {
        if ProcessInfo.processInfo.environment["WEAVE_NUMA"]?.lowercased() == "off" { return false }
        return numa_available() >= 0
    }()

    /// The node of `cpu` (numa_node_of_cpu), or 0 when libnuma is not in use.
    public static func nodeOfCPU(_ cpu: Int) -> Int {
        guard libnumaUsable else { return 0 }
        let node = numa_node_of_cpu(Int32(cpu))
        return node < 0 ? 0 : Int(node)
    }

    /// The node holding `cpu` in this topology, or nil.
    public func node(ofCPU cpu: Int) -> Int? {
        nodes.first { $0.cpus.contains(cpu) }?.id
    }

    private static func read() -> NUMATopology {
        let allowed = Set(ThreadCount.affinityCPUs())
        guard libnumaUsable else {
            return NUMATopology(nodes: [Node(id: 0, cpus: allowed.sorted())], libnumaActive: false)
        }
        let maxNode = Int(numa_max_node())
        let configuredCPUs = Int(numa_num_configured_cpus())
        var nodes: [Node] = []
        for id in 0...max(0, maxNode) {
            var cpus: [Int] = []
            for cpu in 0..<max(configuredCPUs, 1) where numa_node_of_cpu(Int32(cpu)) == Int32(id) {
                if allowed.contains(cpu) { cpus.append(cpu) }
            }
            if !cpus.isEmpty || numa_node_size64(Int32(id), nil) > 0 {
                nodes.append(Node(id: id, cpus: cpus))
            }
        }
        if nodes.isEmpty { nodes = [Node(id: 0, cpus: allowed.sorted())] }
        return NUMATopology(nodes: nodes, libnumaActive: true)
    }
}
