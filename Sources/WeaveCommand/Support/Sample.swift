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
