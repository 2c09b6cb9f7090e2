/// The scaling verdict over each host state's rounds (`HostStateSpeedups`): in how many tables
/// each state had enough rounds to judge, in how many of those more threads were slower, and
/// which tables. Worked out once here, printed by `weave bench` and written to the JSON, where
/// `tools/perf-report` reads it (with the boundary and the rounds it was judged with).
struct HostStateVerdict: Codable, Sendable {
    /// A point slower than the base count in either state.
    struct Slower: Codable, Sendable {
        var benchmark: String
        var kind: ScalingTable.Kind
        var operation: String
        var threads: Int
        var split: HostStateSpeedups
    }

    var farRoundTrip = HostStateSpeedups.farRoundTrip
    var judgedRounds = HostStateSpeedups.judgedRounds
    /// Tables with a point above the base count that has `judgedRounds` rounds in the state.
    var nearTables: Int
    var farTables: Int
    /// Of those, tables with such a point slower than the base count in that state.
    var nearSlower: Int
    var farSlower: Int
    var slower: [Slower]

    /// Nil when no table's rounds were split (no round trip read).
    init?(_ scaling: [ScalingTable]) {
        let split = scaling.map { table in
            (table, table.points.filter { !$0.control && $0.threads > table.baseThreads }
                .compactMap { point in point.byHostState.map { (point.threads, $0) } })
        }.filter { !$0.1.isEmpty }
        guard !split.isEmpty else { return nil }
        func count(_ test: (HostStateSpeedups) -> Bool) -> Int {
            split.filter { $0.1.contains { test($0.1) } }.count
        }
        nearTables = count { ($0.near?.rounds ?? 0) >= HostStateSpeedups.judgedRounds }
        farTables = count { ($0.far?.rounds ?? 0) >= HostStateSpeedups.judgedRounds }
        nearSlower = count { $0.slower.near }
        farSlower = count { $0.slower.far }
        slower = split.flatMap { table, points in
            points.filter { $0.1.slower.near || $0.1.slower.far }.map { threads, speedups in
                Slower(benchmark: table.benchmark, kind: table.kind, operation: table.operation,
                       threads: threads, split: speedups)
            }
        }
    }

    var summary: String {
        "By host state (the round trip read after each round; near: below \(Int(farRoundTrip)) ns, far: the "
            + "rest; a state counts in a table with \(judgedRounds) rounds or more): slower in "
            + "\(nearSlower) of \(nearTables) tables on near rounds, in \(farSlower) of \(farTables) on far rounds"
            + slower.map { entry in
                "\n  \(entry.benchmark) \(entry.kind.rawValue): \(entry.operation): \(entry.threads) threads "
                    + entry.split.cell
            }.joined()
    }
}
