/// What placement decisions need to know about the machine: its NUMA nodes and their CPUs.
/// `NUMATopology.system` is the real one; tests inject fake multi-node topologies.
public protocol NUMATopologyProviding: Sendable {
    var nodes: [NUMATopology.Node] { get }
    /// Whether libnuma is in use (placement calls are made) or the one-node fallback.
    var libnumaActive: Bool { get }
}

extension NUMATopology: NUMATopologyProviding {}

extension NUMATopologyProviding {
    /// The node of `cpu`, or the first node when the CPU is not listed.
    public func nodeOfCPU(_ cpu: Int) -> Int {
        nodes.first { $0.cpus.contains(cpu) }?.id ?? nodes.first?.id ?? 0
    }

    /// The node each page of an interleaved buffer lands on (round-robin over the nodes, as
    /// the kernel's MPOL_INTERLEAVE does for page offsets from the start of the mapping).
    public func interleavedNode(ofPage page: Int) -> Int {
        guard !nodes.isEmpty else { return 0 }
        return nodes[page % nodes.count].id
    }

    /// The node a worker's node-local scratch belongs on: the node of its pinned CPU, or of the
    /// CPU it runs on when not pinned.
    public func scratchNode(pinnedCPU: Int?, currentCPU: Int) -> Int {
        nodeOfCPU(pinnedCPU ?? currentCPU)
    }
}
