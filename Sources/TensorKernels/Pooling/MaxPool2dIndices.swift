import ParallelRuntime

/// Where each max-pooling output came from: for output element (n, c, i, j), the flat index
/// h·W + w of the chosen input element within its (n, c) plane (PyTorch's convention), as
/// `Int32`, in the output's row-major order. Backward needs nothing else.
public struct MaxPool2dIndices: Sendable {
    /// The shape of the forward input, [N, C, H, W].
    public private(set) var inputShape: [Int]
    /// The shape of the forward output, [N, C, OH, OW].
    public private(set) var outputShape: [Int]
    /// The number of indices (output elements).
    public private(set) var count: Int
    /// The indices; replaced only when too small or shared with a copy of these indices.
    var storage: NUMABuffer<Int32>?

    /// Empty indices (a placeholder to pass to the `into:` form of `maxPool2dForward`).
    public init() {
        inputShape = [0, 0, 0, 0]
        outputShape = [0, 0, 0, 0]
        count = 0
        storage = nil
    }

    /// The index for output element `index` (flat, row-major).
    /// - Precondition: `0 ≤ index < count`.
    public subscript(index: Int) -> Int32 {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return storage!.pointer[index]
    }

    /// All indices, copied into an array (for tests and inspection).
    public var scalars: [Int32] {
        guard let storage else { return [] }
        return Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Readies storage for a forward pass, reusing the buffer when it is large enough and not
    /// shared with another copy.
    mutating func prepare(inputShape: [Int], outputShape: [Int]) throws(AllocationError)
        -> UnsafeMutablePointer<Int32> {
        let count = outputShape.reduce(1, *)  // four elements, no allocation
        if storage == nil || !isKnownUniquelyReferenced(&storage!) || storage!.capacity < count {
            // First touch: the forward pass writes the indices plane by plane on the pool, and
            // backward reads them with the same tiles.
            storage = try NUMAAllocator.system.allocate(capacity: count, of: Int32.self, policy: .firstTouch)
        }
        self.inputShape = inputShape
        self.outputShape = outputShape
        self.count = count
        return storage!.pointer
    }
}
