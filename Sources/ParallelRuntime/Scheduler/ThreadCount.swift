import CPlatform
import Foundation

/// A thread-count setting that cannot be honoured, with the value that was given.
public struct ThreadCountError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let value: String
    public var description: String {
        "invalid thread count \(value.debugDescription) from \(source): expected a whole number "
            + "from 1 to \(ThreadCount.maximum)"
    }
}

/// How many threads a pool uses by default: the CPUs this process may run on (its affinity
/// mask), capped by the cgroup CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`), unless
/// `WEAVE_NUM_THREADS` says otherwise.
public enum ThreadCount {
    /// The largest pool accepted: far above any machine, low enough to catch typos.
    public static let maximum = 4096

    /// The default thread count; throws when `WEAVE_NUM_THREADS` is set to something invalid.
    public static func defaultValue(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ThreadCountError) -> Int {
        if let text = environment["WEAVE_NUM_THREADS"] {
            return try parse(text, source: "WEAVE_NUM_THREADS")
        }
        return hardwareLimit()
    }

    /// Parses a user-supplied thread count (an environment variable or a flag).
    public static func parse(_ text: String, source: String) throws(ThreadCountError) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let n = Int(trimmed), n >= 1, n <= maximum else {
            throw ThreadCountError(source: source, value: text)
        }
        return n
    }

    /// CPUs in the affinity mask, capped by the cgroup quota (rounded up), at least 1.
    public static func hardwareLimit() -> Int {
        var n = affinityCPUs().count
        if let quota = cgroupCPUQuota() {
            n = min(n, max(1, Int(quota.rounded(.up))))
        }
        return max(1, n)
    }

    /// The CPU numbers in the calling thread's affinity mask (sched_getaffinity(0); a thread
    /// starts with its creator's, so this is the process's unless a thread narrowed its own).
    public static func affinityCPUs() -> [Int] {
        var buffer = [Int32](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBufferPointer {
            weave_affinity_cpus($0.baseAddress, Int32($0.count))
        }
        guard n > 0 else { return [0] }
        return buffer.prefix(min(Int(n), buffer.count)).map(Int.init)
    }

    /// The CPU quota of this process's cgroup in CPUs (e.g. 1.5), or nil when unlimited.
    public static func cgroupCPUQuota() -> Double? {
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
        else { return nil }
        return cgroupCPUQuota(procSelfCgroup: membership) {
            try? String(contentsOfFile: $0, encoding: .utf8)
        }
    }

    /// The quota given `/proc/self/cgroup` and a file reader: the smallest limit found on the
    /// path from this process's cgroup up to the root, in v2 (`cpu.max`) or v1
    /// (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) hierarchies. Exposed for tests.
    public static func cgroupCPUQuota(
        procSelfCgroup: String, root: String = "/sys/fs/cgroup", readFile: (String) -> String?
    ) -> Double? {
        var limits: [Double] = []
        for line in procSelfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let controllers = fields[1].split(separator: ",")
            let path = String(fields[2])
            if fields[0] == "0" && controllers.isEmpty {
                // cgroup v2 (unified): <root>/<path>/cpu.max = "max 100000" or "150000 100000".
                for dir in ancestors(of: path) {
                    if let text = readFile("\(root)\(dir)cpu.max") ?? readFile("\(root)/unified\(dir)cpu.max"),
                       let limit = parseCPUMax(text) {
                        limits.append(limit)
                    }
                }
            } else if controllers.contains("cpu") {
                // cgroup v1: the cpu controller may be mounted as cpu or cpu,cpuacct.
                for mount in ["\(root)/cpu", "\(root)/cpu,cpuacct", "\(root)/cpuacct,cpu"] {
                    for dir in ancestors(of: path) {
                        guard let quotaText = readFile("\(mount)\(dir)cpu.cfs_quota_us"),
                              let periodText = readFile("\(mount)\(dir)cpu.cfs_period_us"),
                              let quota = Double(quotaText.trimmingCharacters(in: .whitespacesAndNewlines)),
                              let period = Double(periodText.trimmingCharacters(in: .whitespacesAndNewlines)),
                              quota > 0, period > 0
                        else { continue }
                        limits.append(quota / period)
                    }
                }
            }
        }
        return limits.min()
    }

    /// Parses cgroup v2 `cpu.max`: "max PERIOD" (nil) or "QUOTA PERIOD".
    static func parseCPUMax(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count >= 2, parts[0] != "max",
              let quota = Double(parts[0]), let period = Double(parts[1]), quota > 0, period > 0
        else { return nil }
        return quota / period
    }

    /// "/a/b" → ["/a/b/", "/a/", "/"]; every cgroup on the way to the root can limit us.
    static func ancestors(of path: String) -> [String] {
        var components = path.split(separator: "/").map(String.init)
        var result: [String] = []
        while true {
            result.append("/" + components.map { $0 + "/" }.joined())
            if components.isEmpty { break }
            components.removeLast()
        }
        return result
    }
}
