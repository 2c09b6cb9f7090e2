import CPlatform
import Synchronization

/// The pool's `SplitChooser` for each operation key, the operation in flight, and counts of
/// the ways chosen.
///
/// The table is touched only by the thread holding slot 0 (under the pool's caller lock):
/// `ThreadPool.operation` consults it from outside callers only; calls nested inside the pool
/// just run.
///
/// Records are values in an array, found through a dictionary of indices and a one-entry
/// cache: `operation` runs around every training step and every timed benchmark call, and
/// class records cost a retain and a release per call on top of the ~50 ns the rest takes.
final class SplitDecisions {
    /// One key's chooser and how its calls went.
    struct Record {
        let key: OperationKey
        var chooser = SplitChooser()
        /// Calls made each way, and calls made the other way from the call before.
        var callsSplit = 0
        var callsInline = 0
        var switches = 0
        private var previous: SplitChooser.Way?

        init(key: OperationKey) { self.key = key }

        mutating func count(_ way: SplitChooser.Way) {
            if way == .split { callsSplit &+= 1 } else { callsInline &+= 1 }
            if let previous, previous != way { switches &+= 1 }
            previous = way
        }
    }

    /// Keys beyond this many are dropped all at once (a program that keeps changing shapes
    /// must not grow the table without bound; it only re-learns).
    static let capacity = 512

    private var indices: [OperationKey: Int] = [:]
    private var records: [Record] = []
    /// The last key looked up, and its index: a training loop repeats one key, and comparing
    /// it with the last one is cheaper than hashing it (the shape is usually the same buffer).
    private var lastKey = OperationKey("")
    private var lastIndex = -1

    // The operation in flight: its record and way, when its clock started, and the caller's
    // current slot to restore when it ends.
    private var running = -1
    private var runningWay = SplitChooser.Way.split
    private var started: UInt64 = 0
    private var callerPreviousSlot: UnsafeMutableRawPointer?

    // Written by the slot-0 thread (relaxed), read by anyone for statistics.
    let splitCount = Atomic<Int>(0)
    let inlineCount = Atomic<Int>(0)

    /// The index of `key`'s record, created on first use.
    func index(of key: OperationKey) -> Int {
        if lastIndex >= 0 && lastKey == key { return lastIndex }
        let index: Int
        if let known = indices[key] {
            index = known
        } else {
            if records.count >= Self.capacity {
                records.removeAll(keepingCapacity: true)
                indices.removeAll(keepingCapacity: true)
            }
            index = records.count
            records.append(Record(key: key))
            indices[key] = index
        }
        lastKey = key
        lastIndex = index
        return index
    }

    /// Chooses the way of a call of `key` and counts it; `previousSlot` is handed back by `end`.
    func begin(_ key: OperationKey, restoringAfterwards previousSlot: UnsafeMutableRawPointer?) -> SplitChooser.Way {
        let index = index(of: key)
        let way = records[index].chooser.choose()
        records[index].count(way)
        switch way {
        case .split: splitCount.store(splitCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        case .inline: inlineCount.store(inlineCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        }
        running = index
        runningWay = way
        callerPreviousSlot = previousSlot
        return way
    }

    /// Starts the clock of the call `begin` chose (the last thing before its body).
    @inline(__always)
    func startClock() { started = weave_ticks() }

    /// Records the time of the call in flight (when `timed`) and returns the slot to restore.
    func end(at ticks: UInt64, timed: Bool) -> UnsafeMutableRawPointer? {
        if timed { records[running].chooser.record(runningWay, ticks: ticks &- started) }
        running = -1
        return callerPreviousSlot
    }

    /// Every key's counts and recent medians, sorted by key.
    func summaries() -> [OperationSummary] {
        records.map { record in
            let costs = record.chooser.costs
            return OperationSummary(key: record.key.description, callsSplit: record.callsSplit,
                                    callsInline: record.callsInline, switches: record.switches,
                                    splitTicks: costs.split, inlineTicks: costs.inline,
                                    switchedTicks: costs.switched)
        }.sorted { $0.key < $1.key }
    }
}

extension SplitDecisions: @unchecked Sendable {
    // Safe because: everything but the counters is touched only by the thread holding the
    // pool's caller lock, whose unlock/lock orders successive holders; the counters are
    // atomics.
}
