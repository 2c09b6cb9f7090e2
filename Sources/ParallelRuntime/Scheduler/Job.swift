import Synchronization

/// The work of a forked job as a plain C function of a context pointer and the executing
/// slot (an unretained `WorkerSlot`): storing one allocates and retains nothing.
package typealias JobFunction = @convention(c) (
    _ context: UnsafeMutableRawPointer, _ slot: UnsafeMutableRawPointer) -> Void

/// A forked piece of work sitting in (or taken from) a deque: a function and its context (or a
/// closure), a completion flag, and the slot that waits for it.
///
/// Jobs of a fork (`PoolCore.fork`) live in the forking slot's job stack and are reused; their
/// work is a `JobFunction` with a context on the forker's stack, so a fork allocates nothing.
/// Storing a closure instead cost one malloc per fork (measured: ~35 per mlp-bn training step
/// on 2 threads), for the closure context or a reabstraction thunk's. The deque holds
/// unretained pointers to them. Jobs of `scope.spawn` are heap objects holding a closure,
/// passed retained through the deque.
package final class Job {
    /// The work of a fork: called with `context` and the executing slot.
    var function: JobFunction?
    var context: UnsafeMutableRawPointer?
    /// The work of a scope task (when `function` is nil); receives the executing slot.
    var body: (WorkerSlot) -> Void = Job.noBody

    /// The body of a job whose work is a `function`; never called.
    static func noBody(_: WorkerSlot) {}
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
    // Safe because: `function`, `context`, `body`, `owner` and `retainedByDeque` are written by
    // the forker before the job is pushed (the push releases, the steal acquires) and read by
    // the one executor; the forker reuses the job only after observing `done` with acquire,
    // which the executor sets after its last access.
}
