extension ThreadPool {
    /// Reduces `range` deterministically: `partial` maps each tile `[lo+k·grain, …)` to a value,
    /// tiles run in parallel, and the values are combined on the calling thread in tile order,
    /// `combine(combine(combine(identity, p0), p1), p2)…`. The tiles depend only on `range` and
    /// `grain`, so the result is bit-identical for every thread count, even for floating point.
    ///
    /// - Precondition: `grain ≥ 1`.
    public func parallelReduce<T>(_ range: Range<Int>, grain: Int, identity: T,
                                  _ partial: (Range<Int>) -> T,
                                  combine: (T, T) -> T) -> T {
        precondition(grain >= 1, "parallelReduce grain must be ≥ 1, got \(grain)")
        let count = tileCount(range.count, grain)
        if count == 0 { return identity }
        let lower = range.lowerBound, upper = range.upperBound
        return withUnsafeTemporaryAllocation(of: T.self, capacity: count) { partials in
            let base = partials.baseAddress.unsafelyUnwrapped
            forEachTile(count) { t in
                let start = lower + t * grain
                (base + t).initialize(to: partial(start..<min(start + grain, upper)))
            }
            var result = identity
            for t in 0..<count {
                result = combine(result, (base + t).move())
            }
            return result
        }
    }
}
