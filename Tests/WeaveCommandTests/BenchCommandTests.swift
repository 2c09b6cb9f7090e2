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

    @Test("--splitting takes never, always and when-faster, and nothing else")
    func splittingValues() throws {
        #expect(try BatchNormBenchCommand.parse(["--splitting", "never"]).options.pool(threads: 2).splitting == .never)
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
