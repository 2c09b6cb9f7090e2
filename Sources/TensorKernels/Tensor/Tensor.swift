import ParallelRuntime

/// An n-dimensional array of `Float`, row-major (the last dimension is contiguous); images
/// are NCHW, as in PyTorch.
///
/// Storage rules (DESIGN §5):
/// - the elements live in a `TensorStorage`: a `final class` owning one raw, 64-byte aligned
///   buffer (2 MiB aligned with transparent huge pages when ≥ 2 MiB), never a Swift `Array`;
/// - `Tensor` has value semantics: copies share the storage, and the first write through a
///   copy whose storage is shared copies it first (explicit copy-on-write with
///   `isKnownUniquelyReferenced`), so a write never shows through another copy;
/// - elements are reached only inside `withUnsafeBufferPointer` /
///   `withUnsafeMutableBufferPointer`; the pointers must not escape the closure;
/// - nothing is zero-filled unless asked (`Tensor(zeros:)`).
public struct Tensor: Sendable {
    /// The dimensions, outermost first.
    public private(set) var shape: [Int]
    /// The number of elements: the product of `shape` (1 for a scalar shape `[]`).
    public let count: Int
    package private(set) var storage: TensorStorage

    /// A tensor over existing storage; `storage.capacity` must be at least `count(shape)`.
    package init(storage: TensorStorage, shape: [Int]) {
        let count = shape.reduce(1, *)
        precondition(storage.capacity >= count,
                     "storage of \(storage.capacity) elements cannot hold shape \(shape)")
        self.storage = storage
        self.shape = shape
        self.count = count
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Calls `body` with the elements (row-major, `count` of them, 64-byte aligned).
    /// The pointer is valid only inside `body`.
    public func withUnsafeBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Calls `body` with the elements for writing, first copying the storage if another tensor
    /// shares it. The pointer is valid only inside `body`.
    ///
    /// If that copy cannot be allocated this traps, naming the size; call `makeUnique()`
    /// first to get a thrown `AllocationError` instead.
    public mutating func withUnsafeMutableBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        do {
            try makeUnique()
        } catch {
            preconditionFailure("copy-on-write of a tensor of shape \(shape) failed: \(error)")
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Makes this tensor the sole owner of its storage, copying it if it is shared.
    /// - Throws: `AllocationError` if the copy cannot be allocated.
    public mutating func makeUnique() throws(AllocationError) {
        if !isKnownUniquelyReferenced(&storage) {
            storage = try storage.copy()
        }
    }

    /// Whether this tensor and `other` share storage (a copy not yet written to).
    public func sharesStorage(with other: Tensor) -> Bool {
        storage === other.storage
    }

    /// The elements, copied into an array (for tests and printing).
    public var scalars: [Float] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// The element at flat (row-major) index `index`.
    /// - Precondition: `0 ≤ index < count`.
    public subscript(flat index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
            return storage.pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
            withUnsafeMutableBufferPointer { $0[index] = newValue }
        }
    }

    /// The same elements under another shape with the same element count (shares storage).
    /// - Throws: `ShapeError` naming both shapes if the counts differ or a dimension is negative.
    public func reshaped(_ newShape: [Int]) throws(ShapeError) -> Tensor {
        let newCount = try ShapeError.elementCount(of: newShape, operation: "Tensor.reshaped")
        guard newCount == count else {
            throw ShapeError(operation: "Tensor.reshaped", expected: shape, actual: newShape,
                             detail: "\(count) elements cannot take shape \(newShape) of \(newCount)")
        }
        return Tensor(storage: storage, shape: newShape)
    }
}

extension Tensor: Equatable {
    /// Equal shapes and equal elements (`==` on `Float`, so NaN is unequal to itself).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        return lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) }
        }
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape and the first elements.
    public var description: String {
        let preview = withUnsafeBufferPointer { $0.prefix(8).map { "\($0)" } }
        return "Tensor(shape: \(shape), [\(preview.joined(separator: ", "))\(count > 8 ? ", …" : "")])"
    }
}
