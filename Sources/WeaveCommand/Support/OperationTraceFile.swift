import ArgumentParser
import Foundation
import Weave

/// `--trace-operations FILE`: every traced pool operation as a CSV row (`OperationTrace`), the
/// pools of each benchmark appended as the benchmark ends.
enum OperationTraceFile {
    static let header =
        "benchmark,threads,key,call,way,timed_by_chooser,microseconds,waited_microseconds,started_microseconds"

    /// Creates (or empties) the file and writes the header.
    static func create(at path: String) throws {
        do {
            try (header + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("--trace-operations: cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The rows of one pool's trace: the call's number in the trace, its way, and its times in
    /// µs, its start counted from the first call's. A trace that filled up says so in a last row per pool (way "dropped", the count in
    /// `call`).
    static func rows(_ trace: OperationTrace, benchmark: String, threads: Int) -> [String] {
        let perMicrosecond = trace.ticksPerSecond / 1e6
        let origin = trace.calls.first?.startedTicks ?? 0
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var rows = trace.calls.enumerated().map { index, call in
            [quoted(benchmark), "\(threads)", quoted(trace.keys[call.key]), "\(index)",
             call.split ? "split" : "inline", call.timedByChooser ? "1" : "0",
             String(format: "%.3f", Double(call.ticks) / perMicrosecond),
             String(format: "%.3f", Double(call.waitedTicks) / perMicrosecond),
             String(format: "%.3f", Double(call.startedTicks &- origin) / perMicrosecond)].joined(separator: ",")
        }
        if trace.dropped > 0 {
            rows.append([quoted(benchmark), "\(threads)", "\"\"", "\(trace.dropped)", "dropped", "", "", "", ""]
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

extension OperationTraceFile {
    /// One pool's trace as read back from a file.
    struct Pool {
        var benchmark: String
        var threads: Int
        var trace: OperationTrace
    }

    /// The traces in a file `rows` wrote, one per pool in file order; a pool's rows are
    /// consecutive and number their calls from 0. Times come back in nanoseconds.
    static func read(at path: String) throws -> [Pool] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the trace \(path)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let first = lines.next(), String(first) == header else {
            throw ValidationError("\(path) is not a --trace-operations file: its first line is not \"\(header)\"")
        }
        var pools: [Pool] = []
        var keyIndices: [String: Int] = [:]
        var number = 1
        while let line = lines.next() {
            number += 1
            func invalid(_ why: String) -> ValidationError { ValidationError("\(path), line \(number): \(why)") }
            let fields = try Self.fields(String(line))
            guard fields.count == 9 else { throw invalid("\(fields.count) fields, not 9") }
            guard let threads = Int(fields[1]), threads > 0 else { throw invalid("threads \"\(fields[1])\"") }
            guard let call = Int(fields[3]), call >= 0 else { throw invalid("call \"\(fields[3])\"") }
            if fields[4] == "dropped" {
                guard let last = pools.indices.last, pools[last].benchmark == fields[0] else {
                    throw invalid("a dropped count outside a pool's rows")
                }
                pools[last].trace.dropped += call
                continue
            }
            guard fields[4] == "split" || fields[4] == "inline" else { throw invalid("way \"\(fields[4])\"") }
            func nanoseconds(_ field: String) throws -> UInt64 {
                guard let value = Double(field), value >= 0, value < 1e12 else { throw invalid("time \"\(field)\"") }
                return UInt64((value * 1000).rounded())
            }
            let ticks = try nanoseconds(fields[6]), waited = try nanoseconds(fields[7])
            let started = try nanoseconds(fields[8])
            if call == 0 || pools.last?.benchmark != fields[0] || pools.last?.threads != threads {
                guard call == 0 else { throw invalid("a pool's first call is numbered \(call), not 0") }
                pools.append(Pool(benchmark: fields[0], threads: threads,
                                  trace: OperationTrace(keys: [], calls: [], dropped: 0, ticksPerSecond: 1e9)))
                keyIndices = [:]
            }
            let last = pools.count - 1
            guard call == pools[last].trace.calls.count else {
                throw invalid("call \(call) follows call \(pools[last].trace.calls.count - 1)")
            }
            let key: Int
            if let known = keyIndices[fields[2]] {
                key = known
            } else {
                key = pools[last].trace.keys.count
                pools[last].trace.keys.append(fields[2])
                keyIndices[fields[2]] = key
            }
            pools[last].trace.calls.append(OperationTrace.Call(
                key: key, split: fields[4] == "split", timedByChooser: fields[5] == "1",
                ticks: ticks, waitedTicks: waited, startedTicks: started))
        }
        return pools
    }

    /// One CSV line's fields, quotes removed ("" inside quotes is a quote).
    static func fields(_ line: String) throws -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var characters = Array(line)[...]
        while let character = characters.popFirst() {
            switch character {
            case "\"" where quoted && characters.first == "\"":
                field.append("\"")
                characters.removeFirst()
            case "\"":
                quoted.toggle()
            case "," where !quoted:
                fields.append(field)
                field = ""
            default:
                field.append(character)
            }
        }
        guard !quoted else { throw ValidationError("a quote is not closed in: \(line)") }
        return fields + [field]
    }
}
