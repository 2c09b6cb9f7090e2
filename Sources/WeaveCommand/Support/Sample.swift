import CPlatform
import Weave

/// Repeated measurements of one figure: the median is quoted, min and max show the spread.
struct Sample: Codable, Sendable {
    var median: Double
    var min: Double
    var max: Double
    var count: Int
    /// Every measurement, in the order taken. Samples timed by `measureInterleaved` take their
    /// values round by round, so value r of one run and value r of another were measured back
    /// to back: `ScalingTable` pairs them.
    var values: [Double]
    /// The cache-line round trips (ns, `CoreToCoreLatency.quickReading`) read after each round
    /// of the `measureInterleaved` call that timed this sample, in round order; nil for other
    /// samples. Every sample of one call carries the same readings: they describe the host
    /// state the call met, which `ScalingTable` reports (`roundTrip`). Not encoded: the table
    /// records them once.
    var roundTrips: [Double]?

    private enum CodingKeys: String, CodingKey {
        case median, min, max, count, values
    }

    init(_ values: [Double]) {
        precondition(!values.isEmpty, "a sample needs at least one value")
        let sorted = values.sorted()
        let n = sorted.count
        median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        min = sorted[0]
        max = sorted[n - 1]
        count = n
        self.values = values
    }

    /// The same sample with every value transformed by a monotonic function (increasing, like
    /// time per item, or decreasing, like bytes per second from seconds).
    func map(_ f: (Double) -> Double) -> Sample {
        var copy = self
        copy.median = f(median)
        copy.min = Swift.min(f(min), f(max))
        copy.max = Swift.max(f(min), f(max))
        copy.values = values.map(f)
        return copy
    }
}

/// Monotonic time in seconds.
@inline(__always)
func now() -> Double { Double(weave_monotonic_ns()) * 1e-9 }

/// Times `body` `repeats` times after `warmup` untimed runs; seconds per run.
func measure(repeats: Int, warmup: Int = 1, _ body: () -> Void) -> Sample {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    times.reserveCapacity(repeats)
    for _ in 0..<repeats {
        let start = now()
        body()
        times.append(now() - start)
    }
    return Sample(times)
}

/// Times each of `bodies` `repeats` times, taking turns (each round runs every body once),
/// after `warmup` untimed rounds; seconds per run, one sample per body, value r of each
/// sample from round r.
///
/// Taking turns is what makes ratios between the bodies honest on a shared machine: load
/// from other processes drifts over seconds, and measuring one body after the other would
/// charge that drift to whichever ran during it. Each round runs the bodies in its own order
/// (a shuffle from a fixed seed, so runs repeat), so that no body always runs first after the
/// previous round or always right after the same neighbour (whose caches or parked workers it
/// would inherit every time).
///
/// With `roundTripCPUs`, the cache-line round trip between those CPUs is read after each round
/// (outside the timed bodies) and attached to every sample (`Sample.roundTrips`): a VM's host
/// moves the vCPUs every few seconds, and what more threads gain on small work moves with it.
func measureInterleaved(repeats: Int, warmup: Int = 1, roundTripCPUs: (Int, Int)? = nil,
                        _ bodies: [() -> Void]) -> [Sample] {
    for _ in 0..<warmup { for body in bodies { body() } }
    var times = [[Double]](repeating: [], count: bodies.count)
    var roundTrips: [Double] = []
    var order = RandomStream.Cursor(stream: RandomStream(seed: 0, purpose: .custom(stream: 0)), step: 0)
    for _ in 0..<repeats {
        var turns = Array(bodies.indices)
        for i in stride(from: turns.count - 1, to: 0, by: -1) {
            turns.swapAt(i, Int(order.nextBelow(UInt64(i + 1))))
        }
        for index in turns {
            let start = now()
            bodies[index]()
            times[index].append(now() - start)
        }
        if let roundTripCPUs, let reading = CoreToCoreLatency.quickReading(between: roundTripCPUs) {
            roundTrips.append(reading)
        }
    }
    return times.map { values in
        var sample = Sample(values)
        sample.roundTrips = roundTrips.isEmpty ? nil : roundTrips
        return sample
    }
}

/// How a benchmark times one body per run (normally one run per thread count): after warm-up
/// the runs take turns group by group (`measureInterleaved`), a group being the same number of
/// calls for every run, lasting at least `groupSeconds` on the first run. Quoted figures are
/// seconds per call.
///
/// Every op benchmark measures its thread counts this way, not one after the other: the
/// ratios between thread counts are what scaling tables quote, and load from other processes
/// drifts over seconds.
struct InterleavedTiming {
    var warmupCalls: Int
    var groupSeconds: Double
    var repeats: Int
    /// Where the round trip is read between rounds (`measureInterleaved`): the first two CPUs
    /// of the affinity mask, nil with fewer.
    var roundTripCPUs = CoreToCoreLatency.defaultCPUs()

    /// At least `ThreadPool.operationLearningCalls` warm-up calls: a timed call is a pool
    /// operation, and its first calls try both ways (split and inline) on purpose.
    init(quick: Bool, repeats: Int, warmupCalls: Int = 2) {
        self.warmupCalls = max(warmupCalls, ThreadPool.operationLearningCalls)
        groupSeconds = quick ? 0.01 : 0.02
        self.repeats = repeats
    }

    /// Seconds per call of each body.
    func secondsPerCall(_ bodies: [() -> Void]) -> [Sample] {
        precondition(!bodies.isEmpty, "nothing to time")
        for body in bodies { for _ in 0..<warmupCalls { body() } }
        var calls = 1
        while calls < 1 << 12 {
            let start = now()
            for _ in 0..<calls { bodies[0]() }
            if now() - start >= groupSeconds { break }
            calls *= 2
        }
        let groups: [() -> Void] = bodies.map { body in { for _ in 0..<calls { body() } } }
        return measureInterleaved(repeats: repeats, warmup: 0, roundTripCPUs: roundTripCPUs, groups).map { sample in
            sample.map { $0 / Double(calls) }
        }
    }
}
