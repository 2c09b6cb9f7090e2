import Testing
import Weave
@testable import WeaveCommand

@Suite("Machine load from /proc/stat")
struct MachineLoadTests {
    static let sample = """
        cpu  4196155 2694 412155 3065932 25466 0 3767 6978 0 0
        cpu0 1868754 1039 216163 1759894 3839 0 610 3737 0 0
        cpu1 2327401 1655 195991 1306037 21627 7 3156 3241 0 0
        intr 1234 5 6
        cpuX 1 2 3
        ctxt 99
        """

    @Test("Per-CPU lines parse to busy (user nice system irq softirq) and steal; the rest is skipped")
    func parses() {
        let cpus = MachineLoad.parse(procStat: Self.sample)
        #expect(cpus.keys.sorted() == [0, 1])
        #expect(cpus[0] == MachineLoad.CPUTimes(busy: 1868754 + 1039 + 216163 + 0 + 610, steal: 3737))
        #expect(cpus[1] == MachineLoad.CPUTimes(busy: 2327401 + 1655 + 195991 + 7 + 3156, steal: 3241))
    }

    @Test("Between two readings: busy CPUs, less this process and the busy loop, is other work")
    func between() throws {
        func reading(_ busy0: UInt64, _ busy1: UInt64, steal: UInt64, own: Double, competitor: Double,
                     at wall: Double) -> MachineLoad.Reading {
            MachineLoad.Reading(cpus: [0: .init(busy: busy0, steal: steal), 1: .init(busy: busy1, steal: 0),
                                       2: .init(busy: 0, steal: 0)],
                                ownSeconds: own, competitorSeconds: competitor, wallSeconds: wall)
        }
        // 10 s at 100 ticks/s: CPU 0 busy 900 ticks, CPU 1 busy 1000, 50 ticks stolen on CPU 0.
        let start = reading(1000, 5000, steal: 10, own: 3, competitor: 0, at: 100)
        let end = reading(1900, 6000, steal: 60, own: 11, competitor: 9.5, at: 110)
        let load = try #require(MachineLoad(from: start, to: end, cpus: [0, 1], ticksPerSecond: 100))
        #expect(abs(load.busyCPUs - 1.9) < 1e-12)
        #expect(abs(load.ownCPUs - 0.8) < 1e-12)
        #expect(abs(load.competitorCPUs - 0.95) < 1e-12)
        #expect(abs(load.otherCPUs - 0.15) < 1e-12)
        #expect(abs(load.stealCPUs - 0.05) < 1e-12)
        #expect(load.summary.contains("other processes 0.15"))
        #expect(load.summary.contains("compare figures within this run only"))
        // A CPU missing from a reading, or no time between them, gives no figure.
        #expect(MachineLoad(from: start, to: end, cpus: [0, 3], ticksPerSecond: 100) == nil)
        #expect(MachineLoad(from: start, to: start, cpus: [0], ticksPerSecond: 100) == nil)
        // Accounting that overshoots (own time also counts ticks not yet in /proc/stat) is
        // clamped at 0, and a quiet run has no warning.
        let quiet = try #require(MachineLoad(from: start, to: reading(1500, 5000, steal: 10, own: 9, competitor: 0, at: 110),
                                             cpus: [0, 1], ticksPerSecond: 100))
        #expect(quiet.otherCPUs == 0)
        #expect(!quiet.summary.contains("compare figures"))
    }

    @Test("The live counters cover the affinity mask and only grow")
    func live() throws {
        let start = try #require(MachineLoad.read())
        var sink = 0.0
        for i in 0..<2_000_000 { sink += Double(i).squareRoot() }
        let end = try #require(MachineLoad.read())
        #expect(sink > 0)
        for cpu in ThreadCount.affinityCPUs() {
            let before = try #require(start.cpus[cpu]), after = try #require(end.cpus[cpu])
            #expect(after.busy >= before.busy && after.steal >= before.steal)
        }
        let load = try #require(MachineLoad(from: start, to: end, cpus: ThreadCount.affinityCPUs()))
        #expect(load.ownCPUs > 0 && load.otherCPUs >= 0)
    }
}
