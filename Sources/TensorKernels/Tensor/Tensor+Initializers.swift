import ParallelRuntime

extension Tensor {
    /// Elements per tile when random initialisers run on a pool. The values do not depend on
    /// it: element i is always element i of the stream.
    static let randomTileElements = 16_384

    /// A tensor whose elements `body` must initialise: it receives the uninitialised buffer
    /// (`count` elements, 64-byte aligned) and must write every element.
    /// - Throws: `ShapeError` for a negative dimension, `AllocationError`, or what `body` throws.
    ///
    /// `placement` says where the pages go on a multi-node machine (DESIGN §5): `.firstTouch`
    /// (the default) puts each page on the node of the thread that first writes it;
    /// `.interleaved` spreads weights every worker reads; `.local(node:)` pins them.
    public init(uninitializedShape shape: [Int], placement: PlacementPolicy = .firstTouch,
                initializingWith body: (UnsafeMutableBufferPointer<Float>) throws -> Void) throws {
        let count = try ShapeError.elementCount(of: shape, operation: "Tensor(uninitializedShape:)")
        let storage = try TensorStorage(capacity: count, placement: placement)
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
        self.init(storage: storage, shape: shape)
    }

    /// A tensor of `shape` with every element `value`.
    /// - Throws: `ShapeError` for a negative dimension, `AllocationError`.
    public init(repeating value: Float, shape: [Int]) throws {
        try self.init(uninitializedShape: shape) { $0.initialize(repeating: value) }
    }

    /// A tensor of `shape` filled with zeros.
    /// - Throws: `ShapeError` for a negative dimension, `AllocationError`.
    public init(zeros shape: [Int]) throws {
        try self.init(repeating: 0, shape: shape)
    }

    /// A tensor of `shape` holding `scalars` in row-major order.
    /// - Throws: `ShapeError` naming the shape and `[scalars.count]` if the counts differ.
    public init(_ scalars: [Float], shape: [Int]) throws {
        let count = try ShapeError.elementCount(of: shape, operation: "Tensor(_:shape:)")
        guard count == scalars.count else {
            throw ShapeError(operation: "Tensor(_:shape:)", expected: shape, actual: [scalars.count],
                             detail: "\(scalars.count) scalars for \(count) elements")
        }
        try self.init(uninitializedShape: shape) { buffer in
            _ = buffer.initialize(from: scalars)
        }
    }

    /// A tensor of uniform values in `lowerBound ..< upperBound`: element i is
    /// `lowerBound + (upperBound − lowerBound) · u`, `u = stream.uniform(at: i, step: step)`
    /// (rounding may reach `upperBound` for some ranges). Runs on `pool` in fixed tiles when
    /// given; the values are the same with or without a pool, for any thread count.
    /// - Throws: `ShapeError` for a negative dimension, `AllocationError`.
    public init(uniformShape shape: [Int], lowerBound: Float = 0, upperBound: Float = 1,
                stream: RandomStream, step: UInt64 = 0, pool: ThreadPool? = nil) throws {
        let width = upperBound - lowerBound
        try self.init(uninitializedShape: shape) { buffer in
            Tensor.forEachRandomTile(buffer.count, pool: pool) { tile in
                let part = UnsafeMutableBufferPointer(rebasing: buffer[tile])
                stream.fillUniform(part, firstElement: UInt64(tile.lowerBound), step: step)
                if lowerBound != 0 || upperBound != 1 {
                    for i in part.indices { part[i] = lowerBound + width * part[i] }
                }
            }
        }
    }

    /// A tensor of normal values: element i is `mean + standardDeviation · n`,
    /// `n = stream.normal(at: i, step: step)` (Box–Muller on Philox; e.g. He initialisation is
    /// `standardDeviation = √(2 / fanIn)`). Runs on `pool` in fixed tiles when given; the
    /// values are the same with or without a pool, for any thread count.
    /// - Throws: `ShapeError` for a negative dimension, `AllocationError`.
    public init(normalShape shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                stream: RandomStream, step: UInt64 = 0, pool: ThreadPool? = nil) throws {
        try self.init(uninitializedShape: shape) { buffer in
            Tensor.forEachRandomTile(buffer.count, pool: pool) { tile in
                let part = UnsafeMutableBufferPointer(rebasing: buffer[tile])
                stream.fillNormal(part, firstElement: UInt64(tile.lowerBound), step: step)
                if mean != 0 || standardDeviation != 1 {
                    for i in part.indices { part[i] = mean + standardDeviation * part[i] }
                }
            }
        }
    }

    private static func forEachRandomTile(_ count: Int, pool: ThreadPool?,
                                          _ body: (Range<Int>) -> Void) {
        if let pool {
            pool.parallelFor(0..<count, grain: randomTileElements, body)
        } else {
            var start = 0
            while start < count {
                body(start..<min(start + randomTileElements, count))
                start += randomTileElements
            }
        }
    }
}
