import TensorKernels

/// Makes `buffer` hold a tensor of `shape`, reusing the one it holds when the shape matches.
///
/// Layers keep their outputs and gradients in such buffers and write them with the kernels'
/// `into:` forms: by the next step every consumer has dropped its reference, so the buffer is
/// uniquely referenced again and is written in place — a steady-state step allocates nothing.
/// Write through `buffer!` directly (`kernel(…, into: &buffer!)`); a local copy would share
/// the storage and force a copy-on-write.
/// - Throws: `AllocationError` when a new tensor cannot be allocated.
func prepareBuffer(_ buffer: inout Tensor?, shape: [Int]) throws {
    if let existing = buffer, existing.shape == shape { return }
    buffer = nil
    buffer = try Tensor(uninitializedShape: shape) { _ in }
}
