import Synchronization

/// The pool's `SplitChooser` for each operation key, and counts of the ways chosen.
///
/// The table is touched only by the thread holding slot 0 (under the pool's caller lock):
/// `ThreadPool.operation` consults it from outside callers only; calls nested inside the pool
/// just run.
final class SplitDecisions {
    /// A chooser in a box, so one dictionary lookup gives a reference to mutate after the call.
    final class Record {
        var chooser = SplitChooser()
    }

    /// Keys beyond this many are dropped all at once (a program that keeps changing shapes
    /// must not grow the table without bound; it only re-learns).
    static let capacity = 512

    private var records: [OperationKey: Record] = [:]

    // Written by the slot-0 thread (relaxed), read by anyone for statistics.
    let splitCount = Atomic<Int>(0)
    let inlineCount = Atomic<Int>(0)

    /// The record for `key`, created on first use. Caller-lock holder only.
    func record(for key: OperationKey) -> Record {
        // A training loop repeats one key: comparing it with the last one is cheaper than
        // hashing it (the shape array is usually the same buffer).
        if let last, last.key == key { return last.record }
        let record = lookUp(key)
        last = (key, record)
        return record
    }

    /// The last key looked up and its record.
    private var last: (key: OperationKey, record: Record)?

    private func lookUp(_ key: OperationKey) -> Record {
        if let record = records[key] { return record }
        if records.count >= Self.capacity { records.removeAll(keepingCapacity: true) }
        let record = Record()
        records[key] = record
        return record
    }

    func count(_ way: SplitChooser.Way) {
        switch way {
        case .split: splitCount.store(splitCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        case .inline: inlineCount.store(inlineCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        }
    }
}

extension SplitDecisions: @unchecked Sendable {
    // Safe because: `records` (and the records in it) are touched only by the thread holding
    // the pool's caller lock, whose unlock/lock orders successive holders; the counters are
    // atomics.
}
