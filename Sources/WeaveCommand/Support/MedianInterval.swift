/// A distribution-free confidence interval for the median of whatever distribution some
/// independent values were drawn from: [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎] of the n sorted values.
///
/// The median lies below x₍ₖ₎ only if fewer than k of the n values fall below it, which happens
/// with probability P(Binomial(n, ½) ≤ k − 1); so the interval holds the median with
/// probability 1 − 2·P(Binomial(n, ½) ≤ k − 1), whatever the distribution's shape. Benchmark
/// times on a shared machine are skewed and have outliers, which is why no normal
/// approximation is used.
///
/// k is the largest that still gives `level`. With few values that cannot be reached (n ≤ 5
/// at 95 %): k = 1, the interval is [min, max], and `confidence` says what it is (93.75 % for 5).
struct MedianInterval: Codable, Sendable, Equatable {
    var low: Double
    var high: Double
    /// The probability that an interval built this way holds the median.
    var confidence: Double

    /// The interval of `values`, or nil for fewer than 2 values.
    init?(_ values: [Double], level: Double = 0.95) {
        let n = values.count
        guard n >= 2 else { return nil }
        let k = Self.rank(count: n, level: level)
        let sorted = values.sorted()
        low = sorted[k - 1]
        high = sorted[n - k]
        confidence = Self.confidence(count: n, rank: k)
    }

    /// The largest k ≥ 1 whose interval [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎] has at least `level` confidence
    /// (1 when none has).
    static func rank(count n: Int, level: Double) -> Int {
        var k = 1
        while k + 1 <= (n + 1) / 2 && confidence(count: n, rank: k + 1) >= level { k += 1 }
        return k
    }

    /// 1 − 2·P(Binomial(n, ½) ≤ k − 1).
    static func confidence(count n: Int, rank k: Int) -> Double {
        precondition(n >= 1 && k >= 1 && k <= n, "an order statistic needs 1 ≤ k ≤ n, got k \(k), n \(n)")
        // P(Binomial(n, ½) = i) by the recurrence C(n, i + 1) = C(n, i)·(n − i)/(i + 1).
        var term = 1.0
        for _ in 0..<n { term *= 0.5 }
        var tail = 0.0
        for i in 0..<k {
            tail += term
            term *= Double(n - i) / Double(i + 1)
        }
        return max(0, 1 - 2 * tail)
    }

    /// Whether the whole interval is below `bound`.
    func isBelow(_ bound: Double) -> Bool { high < bound }

    /// Whether the interval holds `value`.
    func contains(_ value: Double) -> Bool { low <= value && value <= high }
}
