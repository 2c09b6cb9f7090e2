import Synchronization

/// A fork-join region with any number of spawned tasks; see `ThreadPool.scope`.
public final class ParallelScope {
    private let core: PoolCore
    private let ownerSlot: Int
    /// Spawned tasks not yet finished.
    private let pending = Atomic<Int>(0)
    private let failure = FirstError()

    init(core: PoolCore, ownerSlot: Int) {
        self.core = core
        self.ownerSlot = ownerSlot
    }

    /// Starts `task` on the pool. It may run on any thread of the pool, before or after this
    /// call returns, and always before the enclosing `scope` returns. Call `spawn` from the
    /// scope's body or from a task of the same scope.
    ///
    /// - Precondition: called on a thread of the pool that runs the scope.
    public func spawn(_ task: @escaping () throws -> Void) {
        guard let slot = core.ownSlot() else {
            preconditionFailure("ParallelScope.spawn called from a thread outside the scope's pool")
        }
        slot.hadWorkToShare = true
        if slot.runsInline {
            // Inside an operation run inline: the task runs now, on this thread.
            run(task)
            return
        }
        let job = Job()
        job.owner = ownerSlot
        job.retainedByDeque = true
        job.body = { [self] _ in
            run(task)
            // Sequentially consistent: pairs with the owner's park (see PoolCore.complete).
            pending.subtract(1, ordering: .sequentiallyConsistent)
        }
        pending.add(1, ordering: .sequentiallyConsistent)
        slot.deque.push(Unmanaged.passRetained(job).toOpaque())
        core.announceWork()
    }

    /// Runs `task` unless a task of the scope has already failed; records its error.
    private func run(_ task: () throws -> Void) {
        if !failure.hasError {
            do { try task() } catch { failure.record(error) }
        }
    }

    func waitForAll(_ slot: WorkerSlot) {
        core.runUntil(slot) { pending.load(ordering: .acquiring) == 0 }
    }

    func rethrow() throws { try failure.rethrow() }
}

extension ParallelScope: @unchecked Sendable {
    // Safe because: `pending` is atomic, `failure` is thread-safe, the rest is immutable.
}

extension ThreadPool {
    /// Runs `body`, which may `spawn` tasks on the returned scope; returns when `body` and every
    /// spawned task (including tasks spawned by tasks) have finished. The first error thrown by
    /// `body` or a task is rethrown.
    public func scope<R>(_ body: (ParallelScope) throws -> R) throws -> R {
        try core.withSlot { slot in
            let scope = ParallelScope(core: core, ownerSlot: slot.index)
            let result = Result { try body(scope) }
            scope.waitForAll(slot)
            try scope.rethrow()
            return try result.get()
        }
    }
}
