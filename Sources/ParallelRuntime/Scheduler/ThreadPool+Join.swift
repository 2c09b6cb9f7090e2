extension ThreadPool {
    /// Runs `a` and `b`, potentially in parallel, and returns both results. `a` runs on the
    /// calling thread; `b` is offered to other threads and run here if nobody took it.
    public func join<A, B>(_ a: () -> A, _ b: () -> B) -> (A, B) {
        if threads == 1 { return (a(), b()) }
        var resultA: A?
        var resultB: B?
        core.withSlot { slot in
            core.join(slot, { _ in resultA = a() }, { _ in resultB = b() })
        }
        return (resultA.unsafelyUnwrapped, resultB.unsafelyUnwrapped)
    }

    /// The throwing form: if either closure throws, the first error is rethrown once both
    /// have returned (the other one still runs to completion).
    public func join<A, B>(_ a: () throws -> A, _ b: () throws -> B) throws -> (A, B) {
        let (ra, rb) = join({ Result { try a() } }, { Result { try b() } })
        return (try ra.get(), try rb.get())
    }
}
