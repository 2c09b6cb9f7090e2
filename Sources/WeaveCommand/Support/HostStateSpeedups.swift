/// One scaling point's per-round speed-ups, split by the host state each round met: the rounds
/// whose cache-line round trip read below `farRoundTrip` ("near": both CPUs behind one L3 or
/// in one socket) and the rest ("far").
///
/// Why: on the development VM the host moved the two vCPUs between one L3 (~60–120 ns) and two
/// (~300–590 ns) every few seconds, often inside one table. Small ops gain on 2 threads in
/// the first state and can only break even in the second (a contended sweep: SGEMM 256³ 1.38×
/// over 6 near rounds, 0.99× over 5 far ones; cnn-bn batch 64 1.38× against 1.04×). A table's
/// median mixes the two in whatever proportion the host chose; the split says which state a
/// loss belongs to.
struct HostStateSpeedups: Codable, Sendable, Equatable {
    /// The rounds of one state: how many, their median ratio and its interval (nil below 2
    /// rounds).
    struct Part: Codable, Sendable, Equatable {
        var rounds: Int
        var speedup: Double
        var interval: MedianInterval?
    }

    var near: Part?
    var far: Part?

    /// The round trip (ns) from which a round counts as far: between the two clusters measured
    /// here, and between same-socket (~50–120 ns) and cross-socket (~200–300 ns and up)
    /// figures of bare-metal x86 servers.
    static let farRoundTrip = 200.0

    /// Parts with fewer rounds than this are shown but not judged (a median of one or two
    /// rounds is a sample, not a figure).
    static let judgedRounds = 3

    /// Splits `ratios` (one per round, in round order) by `roundTrips` (one per round); nil
    /// when the counts differ.
    init?(ratios: [Double], roundTrips: [Double]) {
        guard !ratios.isEmpty, ratios.count == roundTrips.count else { return nil }
        func part(_ values: [Double]) -> Part? {
            values.isEmpty ? nil : Part(rounds: values.count, speedup: Sample(values).median,
                                        interval: MedianInterval(values))
        }
        let pairs = zip(ratios, roundTrips)
        near = part(pairs.filter { $0.1 < Self.farRoundTrip }.map(\.0))
        far = part(pairs.filter { $0.1 >= Self.farRoundTrip }.map(\.0))
    }

    /// The parts with enough rounds to judge whose median is below 1.
    var slower: (near: Bool, far: Bool) {
        func isSlower(_ part: Part?) -> Bool {
            guard let part, part.rounds >= Self.judgedRounds else { return false }
            return part.speedup < 1
        }
        return (isSlower(near), isSlower(far))
    }

    /// "1.38× (15) · 1.04× (6)": near, then far, each with its rounds ("–" for none).
    var cell: String {
        func text(_ part: Part?) -> String {
            part.map { "\(intervalBound($0.speedup))× (\($0.rounds))" } ?? "–"
        }
        return "\(text(near)) · \(text(far))"
    }
}
