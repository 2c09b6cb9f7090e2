/// Decides, call by call, whether one operation runs split across the pool or inline on the
/// calling thread alone, from the measured times of its recent calls both ways.
///
/// Why measure instead of a fixed cut-off (PyTorch splits at 32K elements): whether splitting
/// pays depends on things a size cannot see. On this project's 2-vCPU machines the host moves
/// the vCPUs every few seconds between one L3 and two, and the cache-line round trip between
/// them goes from ~120 to ~480 ns; a BatchNorm (64,6,10,10) forward+backward then takes 15 or
/// 30 µs on 2 threads against 22 µs on one. Another process holding a core does the same.
///
/// Policy:
/// - The first call is a warm-up (split, not timed). Then `trialLength` calls split and
///   `trialLength` inline.
/// - After that every call takes the way with the lower median of its last `window` times
///   (the other way must be `margin` faster to take over). The other way is tried again for
///   `trialLength` calls in a row, once every `interval` calls: an interval that keeps those
///   trials near `explorationBudget` of the time (a way twice as slow is tried every 400
///   calls), but at least `shortestInterval`: two ways within noise of each other would
///   otherwise be tried every few calls, and each switch between ways costs a call of its own.
/// - A call made the other way from the call before it is not timed. Switching has a cost
///   of its own that neither steady state pays: after a run of inline calls the workers have
///   parked (a futex wake-up, tens of µs in a VM) and the data sits in the caller's cache;
///   after split calls, half of it sits in other caches. Timing the switch made splitting
///   look slower than it is in a run of split calls.
///
/// Results never depend on the way: the tiles are the same.
struct SplitChooser {
    enum Way: Sendable { case split, inline }

    static let window = 5
    static let minimumSamples = 3
    static let trialLength = 4
    static let explorationBudget = 0.01
    static let shortestInterval = 64
    static let margin = 0.03
    static let longestInterval = 4096

    private var split = RecentTimes()
    private var inline = RecentTimes()
    private var previous: Way?
    /// The way calls take outside trials (nil until learning is over).
    private var current: Way?
    private var trialCallsLeft = 0
    private var callsSinceTrial = 0

    /// The way for the next call.
    mutating func choose() -> Way {
        guard let previous else { return .split }
        if split.count < Self.minimumSamples || inline.count < Self.minimumSamples {
            // Learning: stay with a way until it has its samples, then take the other.
            let previousCount = previous == .split ? split.count : inline.count
            if previousCount < Self.minimumSamples { return previous }
            return previous == .split ? .inline : .split
        }
        let splitTime = split.median, inlineTime = inline.median
        // Hysteresis: the other way must be `margin` faster to take over, so two ways within
        // noise of each other do not trade places (each switch costs a call; see `record`).
        var best = current ?? (splitTime <= inlineTime ? .split : .inline)
        let bestTime = best == .split ? splitTime : inlineTime
        let otherTime = best == .split ? inlineTime : splitTime
        if Double(otherTime) * (1 + Self.margin) < Double(bestTime) {
            best = best == .split ? .inline : .split
            // A trial that won is over: its way is now the steady one.
            trialCallsLeft = 0
            callsSinceTrial = 0
        }
        current = best
        let other: Way = best == .split ? .inline : .split
        if trialCallsLeft > 0 {
            trialCallsLeft -= 1
            return other
        }
        callsSinceTrial += 1
        let (fast, slow) = best == .split ? (splitTime, inlineTime) : (inlineTime, splitTime)
        if callsSinceTrial >= Self.interval(best: fast, other: max(fast, slow)) {
            callsSinceTrial = 0
            trialCallsLeft = Self.trialLength - 1
            return other
        }
        return best
    }

    /// Records how long a call made the given way took, in any unit that is the same for
    /// every call (`weave_ticks`); ignored for the warm-up and for a call that switched ways.
    mutating func record(_ way: Way, ticks: UInt64) {
        defer { previous = way }
        guard previous == way else { return }
        switch way {
        case .split: split.add(ticks)
        case .inline: inline.add(ticks)
        }
    }

    /// Calls between trials of the slower way: a trial costs `trialLength · (other − best)`
    /// more than the best way, so one every `trialLength · (other − best) / (budget · best)`
    /// calls costs `budget` of the time.
    static func interval(best: UInt64, other: UInt64) -> Int {
        let excess = Double(trialLength) * Double(other - best)
            / (explorationBudget * Double(max(best, 1)))
        return Int(min(max(excess, Double(shortestInterval)), Double(longestInterval)))
    }

    /// The median of the recorded times of each way (nil before it has any).
    var medians: (split: UInt64?, inline: UInt64?) {
        (split.count > 0 ? split.median : nil, inline.count > 0 ? inline.median : nil)
    }
}

/// The last `SplitChooser.window` times of one way, in a fixed-size ring (no allocation).
struct RecentTimes {
    private var times: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    private var next = 0
    private(set) var count = 0

    /// The median of the times held (the upper one of an even count), kept up to date by
    /// `add`: `choose` reads it on every call. 0 before the first time.
    private(set) var median: UInt64 = 0

    mutating func add(_ time: UInt64) {
        withUnsafeMutableBytes(of: &times) { $0.storeBytes(of: time, toByteOffset: next * 8, as: UInt64.self) }
        next = (next + 1) % SplitChooser.window
        count = min(count + 1, SplitChooser.window)
        median = computeMedian()
    }

    private func computeMedian() -> UInt64 {
        // Insertion sort of at most five values, in a local copy of the ring.
        var sorted = times
        return withUnsafeMutableBytes(of: &sorted) { raw in
            let values = raw.bindMemory(to: UInt64.self)
            for i in 1..<max(count, 1) {
                let value = values[i]
                var j = i
                while j > 0 && values[j - 1] > value {
                    values[j] = values[j - 1]
                    j -= 1
                }
                values[j] = value
            }
            return values[count / 2]
        }
    }
}
