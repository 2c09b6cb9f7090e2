import CPlatform

/// Repeated measurements of one figure: the median is quoted, min and max show the spread.
struct Sample: Codable, Sendable {
    var median: Double
    var min: Double
    var max: Double
    var count: Int

    init(_ values: [Double]) {
        precondition(!values.isEmpty, "a sample needs at least one value")
        let sorted = values.sorted()
        let n = sorted.count
        median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        min = sorted[0]
        max = sorted[n - 1]
        count = n
    }

    /// The same sample with every value transformed by a monotonic function (increasing, like
    /// time per item, or decreasing, like bytes per second from seconds).
    func map(_ f: (Double) -> Double) -> Sample {
        var copy = self
        copy.median = f(median)
        copy.min = Swift.min(f(min), f(max))
        copy.max = Swift.max(f(min), f(max))
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

/// Times each of `bodies` `repeats` times, taking turns (round r runs body 0, 1, … once each),
/// after `warmup` untimed rounds; seconds per run, one sample per body.
///
/// Taking turns is what makes ratios between the bodies honest on a shared machine: load
/// from other processes drifts over seconds, and measuring one body after the other would
/// charge that drift to whichever ran during it.
func measureInterleaved(repeats: Int, warmup: Int = 1, _ bodies: [() -> Void]) -> [Sample] {
    for _ in 0..<warmup { for body in bodies { body() } }
    var times = [[Double]](repeating: [], count: bodies.count)
    for _ in 0..<repeats {
        for (index, body) in bodies.enumerated() {
            let start = now()
            body()
            times[index].append(now() - start)
        }
    }
    return times.map(Sample.init)
}
