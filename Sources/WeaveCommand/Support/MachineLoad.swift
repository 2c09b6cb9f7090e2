import CPlatform
import Foundation
import Weave

/// What the CPUs a benchmark may run on did while it ran, from the kernel's per-CPU counters
/// (`/proc/stat`): how much of them this process used, how much the `--contended` busy loop,
/// how much other processes, and how much the hypervisor took (steal). A scaling figure
/// measured while other processes held a CPU is a contended figure whether or not the run
/// asked for it; the load average says so only vaguely (it counts waiting threads, over
/// minutes, on every CPU).
struct MachineLoad: Codable, Sendable, Equatable {
    /// Wall-clock seconds between the two readings.
    var seconds: Double
    /// The CPUs counted: the process's affinity mask.
    var cpus: [Int]
    /// Average number of those CPUs busy (user, nice, system, irq, softirq).
    var busyCPUs: Double
    /// Average CPUs used by this process (getrusage(RUSAGE_SELF)), the busy loop excluded.
    var ownCPUs: Double
    /// Average CPUs used by the `--contended` busy loop (0 without one).
    var competitorCPUs: Double
    /// Busy less this process and the busy loop (never below 0): what other processes took.
    var otherCPUs: Double
    /// Average CPUs the hypervisor ran something else on while this VM wanted them (steal).
    var stealCPUs: Double

    /// Other processes (or steal) above this share of one CPU are worth a warning: 10 % of a CPU
    /// over a run moves 2-thread figures on a 2-CPU machine by several percent.
    static let noticeableCPUs = 0.1

    /// One CPU's cumulative counters, in clock ticks (`sysconf(_SC_CLK_TCK)` per second).
    struct CPUTimes: Equatable, Sendable {
        var busy: UInt64
        var steal: UInt64
    }

    /// A reading: per-CPU counters, this process's CPU seconds, the busy loop's, and the time.
    struct Reading: Sendable {
        var cpus: [Int: CPUTimes]
        var ownSeconds: Double
        var competitorSeconds: Double
        var wallSeconds: Double
    }

    /// The per-CPU lines ("cpu0 …") of `/proc/stat` text: user nice system idle iowait irq
    /// softirq steal … Busy is user + nice + system + irq + softirq (guest time is already
    /// inside user). Lines that do not parse are left out.
    static func parse(procStat text: String) -> [Int: CPUTimes] {
        var result: [Int: CPUTimes] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("cpu") {
            let fields = line.split(separator: " ")
            guard let cpu = Int(fields[0].dropFirst(3)), fields.count >= 9 else { continue }
            let values = fields[1...8].compactMap { UInt64($0) }
            guard values.count == 8 else { continue }
            result[cpu] = CPUTimes(busy: values[0] + values[1] + values[2] + values[5] + values[6],
                                   steal: values[7])
        }
        return result
    }

    /// Reads the counters now; nil where `/proc/stat` cannot be read (not Linux).
    static func read(competitorSeconds: Double = 0) -> Reading? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        let cpus = parse(procStat: text)
        guard !cpus.isEmpty else { return nil }
        return Reading(cpus: cpus, ownSeconds: weave_process_rusage_seconds(),
                       competitorSeconds: competitorSeconds, wallSeconds: now())
    }

    /// The load between two readings over `cpus`, with `ticksPerSecond` clock ticks a second.
    init?(from start: Reading, to end: Reading, cpus: [Int],
          ticksPerSecond: Double = Double(sysconf(Int32(_SC_CLK_TCK)))) {
        let seconds = end.wallSeconds - start.wallSeconds
        guard seconds > 0, ticksPerSecond > 0 else { return nil }
        var busy: UInt64 = 0, steal: UInt64 = 0
        for cpu in cpus {
            guard let before = start.cpus[cpu], let after = end.cpus[cpu] else { return nil }
            busy += after.busy &- before.busy
            steal += after.steal &- before.steal
        }
        self.seconds = seconds
        self.cpus = cpus
        busyCPUs = Double(busy) / ticksPerSecond / seconds
        ownCPUs = max(0, end.ownSeconds - start.ownSeconds) / seconds
        competitorCPUs = max(0, end.competitorSeconds - start.competitorSeconds) / seconds
        otherCPUs = max(0, busyCPUs - ownCPUs - competitorCPUs)
        stealCPUs = Double(steal) / ticksPerSecond / seconds
    }

    /// One line for the end of a run, with a warning when other processes or the hypervisor
    /// took a noticeable share.
    var summary: String {
        var text = "CPUs \(cpus.map(String.init).joined(separator: ",")) over "
            + String(format: "%.1f s, on average: this process %.2f CPUs", seconds, ownCPUs)
        if competitorCPUs > 0 { text += String(format: ", the busy loop %.2f", competitorCPUs) }
        text += String(format: ", other processes %.2f, hypervisor steal %.2f (/proc/stat)", otherCPUs, stealCPUs)
        if otherCPUs >= Self.noticeableCPUs || stealCPUs >= Self.noticeableCPUs {
            text += ". Other work held part of these CPUs: multi-thread figures may be lower than on "
                + "an idle machine; compare figures within this run only"
        }
        return text
    }
}
