import Synchronization

/// A forked piece of work sitting in (or taken from) a deque: a closure, a completion flag,
/// and the slot that waits for it.
///
/// Jobs of `join` live in the forking slot's job stack and are reused, so a fork allocates
/// nothing in the steady state; the deque holds unretained pointers to them. Jobs of
/// `scope.spawn` are heap objects passed retained through the deque.
package final class Job {
    /// Runs on whichever slot executes the job; receives that slot.
    var body: ((WorkerSlot) -> Void)?
    /// Set (sequentially consistent, see `PoolCore.complete`) once `body` has returned.
    let done = Atomic<Bool>(false)
    /// The slot to wake when the job completes, if it parked waiting for it.
    var owner: Int = 0
    /// Whether the deque holds a +1 reference to this job (scope jobs).
    var retainedByDeque = false

    init() {}

    var isDone: Bool { done.load(ordering: .acquiring) }
}

extension Job: @unchecked Sendable {
    // Safe because: `body`, `owner` and `retainedByDeque` are written by the forker before the
    // job is pushed (the push releases, the steal acquires) and read by the one executor; the
    // forker clears `body` only after observing `done` with acquire, which the executor sets
    // after its last access.
}
