extension RandomStream {
    /// A uniformly random permutation of `0 ..< count`: the Fisher–Yates shuffle driven by a
    /// `Cursor` at element 0 of `step` (for data, `RandomPurpose.dataShuffling` with
    /// step = epoch). For i = count − 1 down to 1, swap positions i and `nextBelow(i + 1)`.
    /// The result is part of stream format v1: the same on every machine and thread count.
    /// - Precondition: `0 ≤ count ≤ 2³²`.
    public func permutation(count: Int, step: UInt64) -> [Int] {
        precondition(count >= 0 && UInt64(count) <= 1 << 32,
                     "permutation count must be in 0...2³², got \(count)")
        var order = Array(0..<count)
        var cursor = Cursor(stream: self, step: step)
        var i = count - 1
        while i > 0 {
            let j = Int(cursor.nextBelow(UInt64(i + 1)))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
