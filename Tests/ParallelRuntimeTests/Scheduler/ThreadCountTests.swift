import Testing
@testable import ParallelRuntime

@Suite("Default thread count")
struct ThreadCountTests {
    @Test("WEAVE_NUM_THREADS overrides the default")
    func environmentOverride() throws {
        #expect(try ThreadCount.defaultValue(environment: ["WEAVE_NUM_THREADS": "7"]) == 7)
        #expect(try ThreadCount.defaultValue(environment: ["WEAVE_NUM_THREADS": " 3 "]) == 3)
    }

    @Test("Invalid WEAVE_NUM_THREADS values are errors naming the value",
          arguments: ["0", "-2", "abc", "", "2.5", "100000"])
    func invalidEnvironment(value: String) {
        #expect(throws: ThreadCountError(source: "WEAVE_NUM_THREADS", value: value)) {
            try ThreadCount.defaultValue(environment: ["WEAVE_NUM_THREADS": value])
        }
        let message = ThreadCountError(source: "WEAVE_NUM_THREADS", value: value).description
        #expect(message.contains("WEAVE_NUM_THREADS") && message.contains("\"\(value)\""))
    }

    @Test("Without an override the default is the affinity mask capped by the quota")
    func hardwareDefault() throws {
        let n = try ThreadCount.defaultValue(environment: [:])
        #expect(n >= 1 && n <= ThreadCount.affinityCPUs().count)
    }

    @Test("cgroup v2 cpu.max limits are read on the way to the root, the smallest wins")
    func cgroupV2() {
        let files = [
            "/sys/fs/cgroup/app/job/cpu.max": "250000 100000\n",
            "/sys/fs/cgroup/app/cpu.max": "150000 100000\n",
            "/sys/fs/cgroup/cpu.max": "max 100000\n",
        ]
        let quota = ThreadCount.cgroupCPUQuota(procSelfCgroup: "0::/app/job\n") { files[$0] }
        #expect(quota == 1.5)
        let unlimited = ThreadCount.cgroupCPUQuota(procSelfCgroup: "0::/\n") {
            ["/sys/fs/cgroup/cpu.max": "max 100000"][$0]
        }
        #expect(unlimited == nil)
    }

    @Test("cgroup v1 cfs quota and period are read; -1 means unlimited")
    func cgroupV1() {
        let files = [
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "300000\n",
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
            "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
        ]
        let membership = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n"
        #expect(ThreadCount.cgroupCPUQuota(procSelfCgroup: membership) { files[$0] } == 3)
        #expect(ThreadCount.cgroupCPUQuota(procSelfCgroup: "1:cpu:/\n") { files[$0] } == nil)
    }
}
