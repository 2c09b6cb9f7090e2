import CPlatform
import Dispatch
import Foundation
import Synchronization
@testable import ParallelRuntime

/// Thread counts every scheduler property is checked at: serial, the machine's two cores,
/// odd, and oversubscribed.
let threadCounts = [1, 2, 3, 4, 7]

/// A fixed array of atomic counters, for counting visits from many threads.
final class AtomicCounters: @unchecked Sendable {
    // Safe because: every element is an Atomic; the buffer is freed in deinit only.
    let count: Int
    private let storage: UnsafeMutablePointer<Atomic<Int>>

    init(_ count: Int) {
        self.count = count
        storage = .allocate(capacity: max(count, 1))
        for i in 0..<count { (storage + i).initialize(to: Atomic(0)) }
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    func increment(_ i: Int) { storage[i].add(1, ordering: .relaxed) }
    func value(_ i: Int) -> Int { storage[i].load(ordering: .relaxed) }
    var values: [Int] { (0..<count).map(value) }
}

/// A reusable spin barrier with a deadline, so a missing participant fails a test instead of
/// hanging it.
final class SpinBarrier: @unchecked Sendable {
    // Safe because: the only state is atomic.
    private let arrived = Atomic<Int>(0)
    let parties: Int

    init(parties: Int) { self.parties = parties }

    /// Returns false if not everyone arrived within `seconds`.
    func arriveAndWait(seconds: Double) -> Bool {
        arrived.add(1, ordering: .acquiringAndReleasing)
        let deadline = weave_monotonic_ns() + Int64(seconds * 1e9)
        while arrived.load(ordering: .acquiring) < parties {
            if weave_monotonic_ns() > deadline { return false }
            weave_cpu_relax()
        }
        return true
    }
}

/// A lock-protected list, for collecting what tasks saw. NSLock (a pthread mutex) rather than
/// `Mutex`: ThreadSanitizer does not see `Mutex`'s futex slow path and reports false races.
final class LockedList<Element>: @unchecked Sendable {
    // Safe because: every access to `storage` holds `lock`.
    private let lock = NSLock()
    private var storage: [Element] = []
    func append(_ e: Element) { lock.withLock { storage.append(e) } }
    var elements: [Element] { lock.withLock { storage } }
}

/// The label of the Dispatch worker queue running the calling thread's item, or "".
func currentDispatchQueueLabel() -> String {
    DispatchQueue.getSpecific(key: PoolCore.workerQueueKey) ?? ""
}
