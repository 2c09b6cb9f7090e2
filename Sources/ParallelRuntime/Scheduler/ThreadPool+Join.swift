extension ThreadPool {
    /// Runs `a` and `b`, potentially in parallel, and returns both results. `a` runs on the
    /// calling thread; `b` is offered to other threads and run here if nobody took it.
    ///
    /// Inlinable, so the results' types are known where it is called: compiled once for any
    /// `A` and `B`, a join looked up their metadata on every call (58 ns per join on one
    /// thread, most of it in `swift_getGenericMetadata`, by `perf`).
    @inlinable
    public func join<A, B>(_ a: () -> A, _ b: () -> B) -> (A, B) {
        var resultA: A?
        var resultB: B?
        joinSides({ resultA = a() }, { resultB = b() })
        return (resultA.unsafelyUnwrapped, resultB.unsafelyUnwrapped)
    }

    /// The throwing form: if either closure throws, the first error is rethrown once both
    /// have returned (the other one still runs to completion).
    @inlinable
    public func join<A, B>(_ a: () throws -> A, _ b: () throws -> B) throws -> (A, B) {
        let (ra, rb) = join({ Result { try a() } }, { Result { try b() } })
        return (try ra.get(), try rb.get())
    }

    /// `join` for sides that store their own results: one compiled body for every `join`.
    @usableFromInline
    func joinSides(_ a: () -> Void, _ b: () -> Void) {
        if threads == 1 {
            a()
            b()
            return
        }
        core.withSlot { slot in
            core.join(slot, { _ in a() }, { _ in b() })
        }
    }
}
