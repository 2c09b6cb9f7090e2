import ArgumentParser
import CPlatform
import Foundation
import Synchronization
import Weave

/// `weave numa-check` (hidden): checks real page placement on a machine with two or more
/// NUMA nodes; `tools/numa-vm-test` runs it inside a 2-node QEMU guest. Prints one line per
/// check and exits 1 if any fails (2 if the machine has a single node).
struct NUMACheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "numa-check",
        abstract: "Check NUMA page placement on a multi-node machine (used by tools/numa-vm-test).",
        shouldDisplay: false)

    func run() throws {
        let topology = NUMATopology.system
        print("numa-check: libnuma active: \(topology.libnumaActive); nodes: "
              + topology.nodes.map { "\($0.id): CPUs \($0.cpus)" }.joined(separator: "; "))
        guard topology.libnumaActive, topology.nodes.count >= 2,
              let node0 = topology.nodes.first(where: { $0.id == 0 && !$0.cpus.isEmpty }),
              let node1 = topology.nodes.first(where: { $0.id == 1 && !$0.cpus.isEmpty }) else {
            print("numa-check: needs two NUMA nodes with CPUs; this machine has \(topology.nodes.count)")
            throw ExitCode(2)
        }
        var failures = 0
        func report(_ name: String, _ passed: Bool, _ detail: String) {
            print("numa-check: \(passed ? "PASS" : "FAIL") \(name): \(detail)")
            if !passed { failures += 1 }
        }
        let allocator = NUMAAllocator.system
        let page = PagePlacement.pageSize

        // .local(1): every page on node 1 once written (8 MiB: also exercises 2 MiB alignment).
        do {
            let bytes = 8 << 20
            let buffer = try allocator.allocate(byteCount: bytes, policy: .local(node: 1))
            buffer.pointer.initialize(repeating: 1, count: bytes)
            let nodes = PagePlacement.nodes(of: buffer.pointer, byteCount: bytes) ?? []
            let onOne = nodes.filter { $0 == 1 }.count
            report(".local(1)", !nodes.isEmpty && onOne == nodes.count,
                   "\(onOne) of \(nodes.count) pages on node 1")
        }

        // .interleaved: pages alternate between the nodes.
        do {
            let pages = 64
            let buffer = try allocator.allocate(byteCount: pages * page, policy: .interleaved)
            buffer.pointer.initialize(repeating: 1, count: pages * page)
            let nodes = PagePlacement.nodes(of: buffer.pointer, byteCount: pages * page) ?? []
            let alternating = nodes.count == pages && zip(nodes, nodes.dropFirst()).allSatisfy { $0 != $1 }
            let histogram = Dictionary(grouping: nodes, by: { $0 }).mapValues(\.count)
            report(".interleaved", alternating && Set(nodes) == [0, 1],
                   "nodes of the first pages \(nodes.prefix(8).map(String.init).joined(separator: ",")); counts \(histogram.sorted { $0.key < $1.key })")
        }

        // .firstTouch on a pool whose worker is pinned to node 1's CPU: two tiles that each wait
        // until both have started, so the caller (pinned to node 0) and the worker (pinned to
        // node 1) write one each; each tile's pages must land on its writer's node.
        do {
            _ = weave_pin_current_thread(Int32(node0.cpus[0]))
            let pool = ThreadPool(threads: 2, pinning: .cpus([node0.cpus[0], node1.cpus[0]]))
            // Tiles of 2 MiB: the buffer is backed by transparent huge pages, and a huge page
            // lands whole on the node of whoever touches it first.
            let tileBytes = AlignedAllocation.hugePageSize
            let tilePages = tileBytes / page
            let buffer = try allocator.allocate(byteCount: 2 * tileBytes, policy: .firstTouch)
            let base = buffer.pointer
            let started = Atomic<Int>(0)
            let writers = UnsafeMutableBufferPointer<(slot: Int, cpu: Int, node: Int)>.allocate(capacity: 2)
            defer { writers.deallocate() }
            pool.parallelFor(0..<2, grain: 1) { range in
                let tile = range.lowerBound
                started.add(1, ordering: .acquiringAndReleasing)
                let deadline = weave_monotonic_ns() + 10_000_000_000
                while started.load(ordering: .acquiring) < 2 && weave_monotonic_ns() < deadline {
                    weave_cpu_relax()
                }
                let cpu = Int(weave_current_cpu())
                writers[tile] = (pool.currentSlot ?? -1, cpu, NUMATopology.nodeOfCPU(cpu))
                (base + tile * tileBytes).initialize(repeating: 1, count: tileBytes)
            }
            let nodes = PagePlacement.nodes(of: base, byteCount: 2 * tileBytes) ?? []
            var details: [String] = []
            var placed = 0
            for tile in 0..<2 {
                let pagesOfTile = nodes.dropFirst(tile * tilePages).prefix(tilePages)
                let onWriterNode = pagesOfTile.filter { Int($0) == writers[tile].node }.count
                if onWriterNode == tilePages { placed += 1 }
                details.append("tile \(tile) by slot \(writers[tile].slot) on CPU \(writers[tile].cpu) "
                               + "(node \(writers[tile].node)): \(onWriterNode)/\(tilePages) pages there")
            }
            let workerOnNode1 = (0..<2).contains { writers[$0].slot == 1 && writers[$0].node == 1 }
            report(".firstTouch", placed == 2 && workerOnNode1, details.joined(separator: "; "))
        }
        if failures > 0 { throw ExitCode(1) }
        print("numa-check: all placement checks passed")
    }
}
