import ArgumentParser
import Foundation
import Testing
import Weave
@testable import WeaveCommand

@Suite("weave trace-replay and reading traces back")
struct TraceReplayCommandTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("weave-trace-\(UUID().uuidString).csv").path
    }

    /// Writes `contents` to a new temporary file and returns its path.
    static func file(_ contents: String) throws -> String {
        let path = temporaryPath()
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func call(_ key: Int, _ split: Bool, ticks: UInt64, waited: UInt64 = 0, started: UInt64) -> OperationTrace.Call {
        OperationTrace.Call(key: key, split: split, timedByChooser: split, ticks: ticks, waitedTicks: waited,
                            startedTicks: started)
    }

    @Test("What --trace-operations writes reads back: pools in order, keys, ways, times in ns, dropped counts")
    func roundTrip() throws {
        let first = OperationTrace(keys: ["a, \"b\"", "c"],
                                   calls: [Self.call(0, true, ticks: 3_000, waited: 1_500, started: 5_000),
                                           Self.call(1, false, ticks: 4_250, started: 9_000),
                                           Self.call(0, true, ticks: 2_000, started: 14_000)],
                                   dropped: 3, ticksPerSecond: 1e9)
        let second = OperationTrace(keys: ["c"], calls: [Self.call(0, false, ticks: 1_000, started: 0)],
                                    dropped: 0, ticksPerSecond: 1e9)
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try OperationTraceFile.create(at: path)
        try OperationTraceFile.append(first, benchmark: "gemm", threads: 2, to: path)
        // The same benchmark and thread count again (an A/A control's second pool).
        try OperationTraceFile.append(second, benchmark: "gemm", threads: 2, to: path)
        let pools = try OperationTraceFile.read(at: path)
        #expect(pools.map(\.benchmark) == ["gemm", "gemm"] && pools.map(\.threads) == [2, 2])
        var expected = first
        // Starts are counted from the first call's.
        for index in expected.calls.indices { expected.calls[index].startedTicks -= 5_000 }
        #expect(pools[0].trace.keys == expected.keys && pools[0].trace.calls == expected.calls)
        #expect(pools[0].trace.dropped == 3 && pools[0].trace.ticksPerSecond == 1e9)
        #expect(pools[1].trace.keys == ["c"] && pools[1].trace.calls == second.calls)
    }

    @Test("A file that is not a trace, or a damaged one, is refused with its line", arguments: [
        ("benchmark,threads\n", "is not a --trace-operations file"),
        ("\"gemm\",2,\"k\",0,split,1,3.0,0.0\n", "line 2: 8 fields, not 9"),
        ("\"gemm\",2,\"k\",0,sideways,1,3.0,0.0,0.0\n", "line 2: way \"sideways\""),
        ("\"gemm\",2,\"k\",0,split,1,-3.0,0.0,0.0\n", "line 2: time \"-3.0\""),
        ("\"gemm\",2,\"k\",0,split,1,3.0,0.0,0.0\n\"gemm\",2,\"k\",2,split,1,3.0,0.0,9.0\n", "line 3: call 2 follows call 0"),
        ("\"gemm\",2,\"k\",5,split,1,3.0,0.0,0.0\n", "line 2: a pool's first call is numbered 5"),
        ("\"gemm\",2,\"k,0,split,1,3.0,0.0,0.0\n", "a quote is not closed"),
        ("\"gemm\",x,\"k\",0,split,1,3.0,0.0,0.0\n", "line 2: threads \"x\""),
    ])
    func damagedFiles(contents: String, message: String) throws {
        let text = contents.hasPrefix("benchmark,threads\n") ? contents : OperationTraceFile.header + "\n" + contents
        let path = try Self.file(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ValidationError.self) { try OperationTraceFile.read(at: path) }
        let description = error.map { String(describing: $0) } ?? ""
        #expect(description.contains(message), "\(description)")
    }

    @Test("trace-replay replays every combination of the values listed, and refuses bad ones")
    func command() throws {
        // Split on 4 calls in 50, 40 % faster.
        let calls = (0..<200).map { (index: Int) -> OperationTrace.Call in
            let split = index % 50 < 4
            return Self.call(0, split, ticks: split ? 6_000 : 10_000, started: UInt64(index) * 20_000)
        }
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try OperationTraceFile.create(at: path)
        try OperationTraceFile.append(OperationTrace(keys: ["k"], calls: calls, dropped: 0, ticksPerSecond: 1e9),
                                      benchmark: "b", threads: 2, to: path)
        let command = try TraceReplayCommand.parse([path, "--wait-prior", "64,512", "--pool-prior", "1024,4096,16384"])
        #expect(command.tunings.count == 6)
        #expect(Set(command.tunings.map(\.waitPrior)) == [64, 512])
        try command.run()
        for bad in [["--wait-prior", "0"], ["--wait-prior", "4096", "--wait-calls", "1024"], ["--pool-prior", "0.5"],
                    ["--pool-half-life", "0"], ["--min-calls", "0"], ["--wait-prior", "12,x"]] {
            #expect(throws: (any Error).self) { try TraceReplayCommand.parse([path] + bad) }
        }
        let empty = try Self.file(OperationTraceFile.header + "\n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: (any Error).self) { try TraceReplayCommand.parse([empty]).run() }
        #expect(throws: (any Error).self) { try TraceReplayCommand.parse(["/nonexistent/trace.csv"]).run() }
    }
}
