import ParallelRuntime

/// What a dropout forward pass kept: one bit per element (bit r of word j is element
/// 64j + r, 1 = kept), plus the probability and scale, so that backward needs no random
/// numbers and no `Float` mask. 16M elements take 2 MiB.
public struct DropoutMask: Sendable {
    /// How the forward pass treated the elements.
    public enum Kind: Sendable, Equatable {
        /// Every element passed unchanged (evaluation, or p = 0): backward is the identity.
        case identity
        /// Every element dropped (p = 1): backward gives zeros.
        case dropAll
        /// Kept elements scaled by `scale`, the others dropped, as the bits say.
        case bits
    }

    /// How the forward pass treated the elements.
    public private(set) var kind: Kind
    /// The shape of the forward input.
    public private(set) var shape: [Int]
    /// The number of elements.
    public private(set) var count: Int
    /// The drop probability p.
    public private(set) var probability: Float
    /// The factor applied to kept elements: `1 / (1 − p)` in `Float` (1 for `identity`, 0 for
    /// `dropAll`).
    public private(set) var scale: Float
    /// The bit words (`.bits` only); replaced only when too small or shared with a copy of
    /// this mask.
    package private(set) var storage: NUMABuffer<UInt64>?

    /// An empty identity mask (a placeholder to pass to `dropoutForward(_:into:mask:…)`).
    public init() {
        kind = .identity
        shape = [0]
        count = 0
        probability = 0
        scale = 1
        storage = nil
    }

    /// Whether element `index` was kept.
    /// - Precondition: `0 ≤ index < count`.
    public func isKept(_ index: Int) -> Bool {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        switch kind {
        case .identity: return true
        case .dropAll: return false
        case .bits:
            guard let storage else { return false }
            return (storage.pointer[index >> 6] >> UInt64(index & 63)) & 1 == 1
        }
    }

    /// How many elements were kept.
    public var keptCount: Int {
        switch kind {
        case .identity: return count
        case .dropAll: return 0
        case .bits:
            guard let storage else { return 0 }
            var total = 0
            for j in 0..<Self.wordCount(count) { total += storage.pointer[j].nonzeroBitCount }
            return total
        }
    }

    static func wordCount(_ count: Int) -> Int { (count + 63) / 64 }

    /// Records a non-bit mask.
    mutating func set(kind: Kind, shape: [Int], count: Int, probability: Float, scale: Float) {
        self.kind = kind
        self.shape = shape
        self.count = count
        self.probability = probability
        self.scale = scale
    }

    /// Readies bit storage for `count` elements, reusing the current buffer when it is large
    /// enough and not shared with another mask. Returns the words to fill.
    mutating func prepareBits(shape: [Int], count: Int, probability: Float,
                              scale: Float) throws(AllocationError) -> UnsafeMutablePointer<UInt64> {
        let words = Self.wordCount(count)
        if storage == nil || !isKnownUniquelyReferenced(&storage!) || storage!.capacity < words {
            // First touch: the forward pass writes the words tile by tile on the pool, and
            // backward reads them with the same tiles.
            storage = try NUMAAllocator.system.allocate(capacity: words, of: UInt64.self, policy: .firstTouch)
        }
        set(kind: .bits, shape: shape, count: count, probability: probability, scale: scale)
        return storage!.pointer
    }
}
