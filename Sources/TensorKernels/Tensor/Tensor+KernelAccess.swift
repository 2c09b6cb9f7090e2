import ParallelRuntime

extension Tensor {
    /// The first element, for reading inside this module's kernels. Valid while `self` (or a
    /// copy sharing its storage) is alive; keep it alive with `withExtendedLifetime` around
    /// the kernel.
    package var unsafeElements: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Makes the storage unique (copying a shared one) and returns the first element for
    /// writing. Valid until `self` is next copied or mutated; keep `self` alive meanwhile.
    /// - Throws: `AllocationError` if the copy cannot be allocated.
    package mutating func uniqueElements() throws(AllocationError) -> UnsafeMutablePointer<Float> {
        try makeUnique()
        return storage.pointer
    }

    /// Makes `self` a tensor of `shape` that this module may overwrite: keeps the storage when
    /// the shape already matches (copying it first if shared), allocates otherwise (the `into:`
    /// forms use it for small outputs such as per-channel statistics and gradients).
    /// - Throws: `ShapeError` for a negative dimension, `AllocationError`.
    mutating func prepareOutput(shape: [Int]) throws -> UnsafeMutablePointer<Float> {
        if self.shape != shape {
            self = try Tensor(uninitializedShape: shape) { _ in }
        }
        return try uniqueElements()
    }

    /// `prepareOutput(shape: [count])` without building the array when the shape already
    /// matches: per-channel outputs are prepared every training step, which allocates nothing.
    mutating func prepareVectorOutput(count: Int) throws -> UnsafeMutablePointer<Float> {
        if rank != 1 || shape[0] != count {
            self = try Tensor(uninitializedShape: [count]) { _ in }
        }
        return try uniqueElements()
    }
}

extension Optional where Wrapped == Tensor {
    /// `Tensor.unsafeElements` of the tensor, or nil when there is none (an optional bias).
    /// The same lifetime rule applies.
    package var unsafeElements: UnsafePointer<Float>? { self?.unsafeElements }

    /// `Tensor.uniqueElements()` of the tensor, or nil when there is none (a gradient the caller
    /// did not ask for). The tensor is made unique where it lies, inside the optional: unwrapping
    /// it into a local first would hold a second reference and force a copy every call.
    /// - Throws: `AllocationError` if the copy cannot be allocated.
    package mutating func uniqueElements() throws(AllocationError) -> UnsafeMutablePointer<Float>? {
        try self?.uniqueElements()
    }
}
