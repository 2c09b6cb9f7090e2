import ArgumentParser
import Foundation
import Weave

/// `--trace-operations FILE`: every traced pool operation as a CSV row (`OperationTrace`), the
/// pools of each benchmark appended as the benchmark ends.
enum OperationTraceFile {
    static let header = "benchmark,threads,key,call,way,timed_by_chooser,microseconds,waited_microseconds"

    /// Creates (or empties) the file and writes the header.
    static func create(at path: String) throws {
        do {
            try (header + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("--trace-operations: cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The rows of one pool's trace: the call's number in the trace, its way, and its times in
    /// µs. A trace that filled up says so in a last row per pool (way "dropped", the count in
    /// `call`).
    static func rows(_ trace: OperationTrace, benchmark: String, threads: Int) -> [String] {
        let perMicrosecond = trace.ticksPerSecond / 1e6
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var rows = trace.calls.enumerated().map { index, call in
            [quoted(benchmark), "\(threads)", quoted(trace.keys[call.key]), "\(index)",
             call.split ? "split" : "inline", call.timedByChooser ? "1" : "0",
             String(format: "%.3f", Double(call.ticks) / perMicrosecond),
             String(format: "%.3f", Double(call.waitedTicks) / perMicrosecond)].joined(separator: ",")
        }
        if trace.dropped > 0 {
            rows.append([quoted(benchmark), "\(threads)", "\"\"", "\(trace.dropped)", "dropped", "", "", ""]
                .joined(separator: ","))
        }
        return rows
    }

    static func append(_ trace: OperationTrace, benchmark: String, threads: Int, to path: String) throws {
        let lines = rows(trace, benchmark: benchmark, threads: threads)
        guard !lines.isEmpty else { return }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("--trace-operations: cannot append to \(path)")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
