import ArgumentParser
import Weave

/// A comma-separated list of thread counts, e.g. `--threads 1,2,4`.
struct ThreadList: ExpressibleByArgument, Sendable {
    var counts: [Int]

    init?(argument: String) {
        var counts: [Int] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let n = try? ThreadCount.parse(String(part), source: "--threads") else { return nil }
            counts.append(n)
        }
        guard !counts.isEmpty else { return nil }
        self.counts = counts
    }

    init(counts: [Int]) { self.counts = counts }

    static var defaultValueDescription: String { "1 and the default thread count" }
}
