import Foundation
import Testing
@testable import WeaveCommand

@Suite("Median confidence intervals")
struct MedianIntervalTests {
    @Test("Coverage is 1 − 2·P(Binomial(n, ½) ≤ k − 1): known values")
    func knownCoverage() {
        #expect(MedianInterval.confidence(count: 5, rank: 1) == 1 - 2.0 / 32)
        #expect(MedianInterval.confidence(count: 2, rank: 1) == 0.5)
        // n = 15, k = 4: 1 − 2·(1 + 15 + 105 + 455)/32768.
        #expect(abs(MedianInterval.confidence(count: 15, rank: 4) - (1 - 2 * 576.0 / 32768)) < 1e-15)
        #expect(MedianInterval.confidence(count: 15, rank: 5) < 0.95)
    }

    @Test("The rank is the largest reaching the level, 1 when none does", arguments: [
        (2, 1), (5, 1), (6, 1), (8, 1), (9, 2), (15, 4), (21, 6),
    ])
    func ranks(count: Int, rank: Int) {
        #expect(MedianInterval.rank(count: count, level: 0.95) == rank)
        if rank > 1 {
            #expect(MedianInterval.confidence(count: count, rank: rank) >= 0.95)
        }
        if rank + 1 <= (count + 1) / 2 {
            #expect(MedianInterval.confidence(count: count, rank: rank + 1) < 0.95)
        }
    }

    @Test("The interval is the k-th smallest and k-th largest value, whatever the input order")
    func orderStatistics() {
        let values: [Double] = [9, 1, 14, 3, 7, 12, 5, 11, 2, 15, 4, 13, 8, 6, 10]
        let interval = MedianInterval(values)
        #expect(interval?.low == 4 && interval?.high == 12)
        #expect(interval?.contains(8) == true && interval?.contains(12.5) == false)
        #expect(interval?.isBelow(12.5) == true && interval?.isBelow(12) == false)
        #expect(MedianInterval([3]) == nil)
        #expect(MedianInterval([2, 1])?.low == 1 && MedianInterval([2, 1])?.high == 2)
    }

    @Test("Over many samples of a skewed distribution the interval holds the median as often as it says")
    func coverageBySimulation() {
        // Exponential times (median ln 2) from a fixed linear congruential sequence.
        var state: UInt64 = 12345
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        let median = 0.6931471805599453
        for n in [5, 15] {
            var held = 0, trials = 4000
            var confidence = 0.0
            for _ in 0..<trials {
                let values = (0..<n).map { _ in -Foundation.log(1 - uniform()) }
                let interval = MedianInterval(values)!
                confidence = interval.confidence
                if interval.contains(median) { held += 1 }
            }
            // Binomial standard error at 4000 trials is under 0.4 %.
            #expect(abs(Double(held) / Double(trials) - confidence) < 0.015, "n = \(n): held \(held) of \(trials)")
        }
    }
}
