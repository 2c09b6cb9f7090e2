/// Where the pages of a buffer go.
public enum PlacementPolicy: Sendable, Equatable, CustomStringConvertible {
    /// On one node (numa_tonode_memory: bound there). For per-worker scratch and data one
    /// node's workers use.
    case local(node: Int)
    /// Page by page round-robin over all allowed nodes (numa_interleave_memory). For weights
    /// every worker reads.
    case interleaved
    /// Wherever the first write happens: the pages are first written in parallel by the pool's
    /// workers, tile by tile, with the tiling the compute will use (see
    /// `NUMAAllocator.allocateFirstTouch`).
    case firstTouch

    public var description: String {
        switch self {
        case .local(let node): "local(node \(node))"
        case .interleaved: "interleaved"
        case .firstTouch: "first-touch"
        }
    }
}
