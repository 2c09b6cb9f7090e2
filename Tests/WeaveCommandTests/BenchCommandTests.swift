import Foundation
import Testing
import Weave
@testable import WeaveCommand

@Suite("weave bench, end to end")
struct BenchCommandTests {
    /// Runs `weave bench` with `arguments` and `--json` to a temporary file; returns the JSON.
    static func run<Command: BenchSubcommand>(_ type: Command.Type, _ arguments: [String]) throws -> [String: Any] {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("weave-bench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var command = try type.parseAsRoot(arguments + ["--json", path])
        try command.run()
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                            as? [String: Any])
    }

    @Test("A sweep of 7 rounds with an A/A control writes paired speed-ups, their intervals, every value and the machine load")
    func quickSweepJSON() throws {
        let json = try Self.run(BatchNormBenchCommand.self, ["--threads", "1,1,2", "--quick", "--rounds", "7",
                                                             "--shapes", "16x6x10x10"])
        let scaling = try #require(json["scaling"] as? [[String: Any]])
        #expect(scaling.count == 1)
        let points = try #require(scaling.first?["points"] as? [[String: Any]])
        #expect(points.map { $0["threads"] as? Int } == [1, 1, 2])
        for point in points {
            // Seven rounds: the interval is [min, max] of the ratios, at 1 − 2/2⁷.
            let interval = try #require(point["speedupInterval"] as? [String: Double])
            #expect(interval["confidence"] == 1 - 2.0 / 128)
            let speedup = try #require(point["speedup"] as? Double)
            #expect(interval["low"]! <= speedup && speedup <= interval["high"]!)
            let values = try #require((point["time"] as? [String: Any])?["values"] as? [Double])
            #expect(values.count == 7 && values.allSatisfy { $0 > 0 })
        }
        // The round trip after each of the 7 rounds, when there are two CPUs to read it on.
        let roundTrip = scaling.first?["roundTrip"] as? [String: Any]
        if CoreToCoreLatency.defaultCPUs() != nil {
            let readings = try #require(roundTrip?["values"] as? [Double])
            #expect(readings.count == 7 && readings.allSatisfy { $0 > 1 && $0 < 1e6 })
            // The 2-thread point's rounds, split by those readings, are all 7 rounds.
            let split = try #require(points.last?["byHostState"] as? [String: Any])
            let rounds = ["near", "far"].compactMap { (split[$0] as? [String: Any])?["rounds"] as? Int }
            #expect(rounds.reduce(0, +) == 7)
            let verdict = try #require(json["hostStateVerdict"] as? [String: Any])
            #expect(verdict["farRoundTrip"] as? Double == 200)
        } else {
            #expect(roundTrip == nil)
        }
        let control = try #require(json["aaControl"] as? [String: Any])
        #expect(control["intervals"] as? Int == 1)
        let load = try #require(json["machineLoad"] as? [String: Any])
        #expect(load["cpus"] as? [Int] == ThreadCount.affinityCPUs())
        #expect((load["ownCPUs"] as? Double ?? 0) > 0)
    }

    @Test("Weak scaling times the base count on the grown problem too, and the JSON pairs it with the point")
    func weakSameProblemJSON() throws {
        let json = try Self.run(TrainStepBenchCommand.self, ["--threads", "1,1,2", "--quick", "--rounds", "5",
                                                             "--models", "mlp", "--batch", "8", "--weak-batch", "8"])
        let scaling = try #require(json["scaling"] as? [[String: Any]])
        let weak = try #require(scaling.first { $0["kind"] as? String == "weak" })
        let points = try #require(weak["points"] as? [[String: Any]])
        #expect(points.map { $0["shape"] as? String } == ["batch 8", "batch 8", "batch 16"])
        #expect(points.prefix(2).allSatisfy { $0["sameProblem"] == nil })
        let same = try #require(points[2]["sameProblem"] as? [String: Any])
        let values = try #require((same["baseTime"] as? [String: Any])?["values"] as? [Double])
        #expect(values.count == 5 && values.allSatisfy { $0 > 0 })
        let speedup = try #require(same["speedup"] as? Double)
        let interval = try #require(same["speedupInterval"] as? [String: Double])
        #expect(interval["low"]! <= speedup && speedup <= interval["high"]!)
        #expect((same["costGrowth"] as? Double ?? 0) > 0)
        #expect(weak["slowerOnSameProblemBeyondNoise"] is [Int])
        // The reference is a figure too: 1 thread, batch 16 (no strong run has that batch).
        let figures = try #require(json["figures"] as? [[String: Any]])
        #expect(figures.contains { $0["threads"] as? Int == 1 && $0["shape"] as? String == "mlp, batch 16" })
    }

    @Test("--trace-operations writes a row per call of every pool of 2 threads, as many as the pool counted")
    func traceOperations() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("weave-trace-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json = try Self.run(BatchNormBenchCommand.self, ["--threads", "1,2", "--quick", "--rounds", "3",
                                                             "--shapes", "16x6x10x10", "--trace-operations", path])
        #expect(json["operationTrace"] as? String == path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == OperationTraceFile.header)
        let rows = try lines.dropFirst().map(OperationTraceFile.fields)
        #expect(!rows.isEmpty && rows.allSatisfy { $0.count == 9 && $0[0] == "batchnorm" && $0[1] == "2" })
        #expect(rows.enumerated().allSatisfy { Int($1[3]) == $0 })
        #expect(rows.allSatisfy { ($0[4] == "split" || $0[4] == "inline") && (Double($0[6]) ?? 0) > 0 })
        // Calls start after the one before has ended.
        let starts = rows.map { Double($0[8]) ?? -1 }, ends = rows.map { (Double($0[8]) ?? 0) + (Double($0[6]) ?? 0) }
        #expect(starts.first == 0 && zip(ends, starts.dropFirst()).allSatisfy { $0 <= $1 + 0.002 })
        let activity = try #require((json["poolActivity"] as? [[String: Any]])?.first)
        #expect(rows.count == (activity["operationsSplit"] as? Int ?? -1) + (activity["operationsInline"] as? Int ?? -1))
        #expect(Set(rows.map { $0[2] }) == ["bench batchnorm forward [16, 6, 10, 10]",
                                            "bench batchnorm both [16, 6, 10, 10]"])
    }

    @Test("A full trace says how many calls it dropped")
    func traceRows() throws {
        let trace = OperationTrace(keys: ["k \"q\""], calls: [.init(key: 0, split: true, timedByChooser: false,
                                                                    ticks: 3_000, waitedTicks: 1_500,
                                                                    startedTicks: 10_000),
                                                              .init(key: 0, split: false, timedByChooser: true,
                                                                    ticks: 4_000, waitedTicks: 0,
                                                                    startedTicks: 15_000)],
                                   dropped: 7, ticksPerSecond: 1e9)
        let rows = OperationTraceFile.rows(trace, benchmark: "b", threads: 2)
        #expect(rows == ["\"b\",2,\"k \"\"q\"\"\",0,split,0,3.000,1.500,0.000",
                         "\"b\",2,\"k \"\"q\"\"\",1,inline,1,4.000,0.000,5.000",
                         "\"b\",2,\"\",7,dropped,,,,"])
        #expect(try OperationTraceFile.fields(rows[0]) == ["b", "2", "k \"q\"", "0", "split", "0", "3.000", "1.500", "0.000"])
    }

    @Test("--splitting takes never, always, when-faster and alternating, and nothing else")
    func splittingValues() throws {
        #expect(try BatchNormBenchCommand.parse(["--splitting", "never"]).options.pool(threads: 2).splitting == .never)
        #expect(try BatchNormBenchCommand.parse(["--splitting", "alternating"]).options.pool(threads: 2).splitting
                == .alternating)
        #expect(try BatchNormBenchCommand.parse(["--splitting", "always"]).options.pool(threads: 2).splitting == .always)
        #expect(try BatchNormBenchCommand.parse([]).options.pool(threads: 2).splitting == .whenFaster)
        #expect(throws: (any Error).self) { try BatchNormBenchCommand.parse(["--splitting", "sometimes"]) }
    }

    @Test("--rounds needs two rounds or more; weave bench all hands --splitting and --rounds on")
    func roundsAndAll() throws {
        #expect(throws: (any Error).self) { try BatchNormBenchCommand.parse(["--rounds", "1"]) }
        let options = try BatchNormBenchCommand.parse(["--rounds", "9", "--quick"]).options
        #expect(options.rounds(quick: 5, full: 15) == 9)
        #expect(try BatchNormBenchCommand.parse(["--quick"]).options.rounds(quick: 5, full: 15) == 5)
        #expect(try BatchNormBenchCommand.parse([]).options.rounds(quick: 5, full: 15) == 15)
        let all = try AllBenchCommand.parse(["--threads", "1,2", "--quick", "--splitting", "never", "--rounds", "9"])
        #expect(all.subcommandArguments == ["--threads", "1,2", "--quick", "--splitting", "never", "--rounds", "9"])
        for (_, type) in AllBenchCommand.benchmarks {
            let command = try type.parse(all.subcommandArguments)
            #expect(command.options.splitting == .never && command.options.rounds == 9)
        }
    }
}
