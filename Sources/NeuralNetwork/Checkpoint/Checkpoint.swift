import TensorKernels

/// Named tensors and string metadata, saved in the safetensors format so that PyTorch and
/// NumPy users can read them (`safetensors.numpy.load_file`, or a few lines of `struct`).
///
/// File layout (safetensors, little-endian):
/// ```
/// UInt64 N                   the header length in bytes
/// N bytes of JSON            {"__metadata__": {"key": "value", …},
///                             "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, …}
///                            padded with spaces so that 8 + N is a multiple of 8
/// the data                   each tensor's elements, row-major, at its offsets from here
/// ```
/// Weave writes the tensors in the given order, contiguous, and the metadata keys sorted, so
/// the same checkpoint gives the same bytes. Writing is atomic (`write(to:)`); reading
/// (`read(from:)`) validates everything and throws `CheckpointError` on any inconsistency.
public struct Checkpoint: Sendable {
    /// The largest header accepted when reading: 100 MB, as in the reference implementation.
    public static let maximumHeaderByteCount = 100_000_000

    /// The tensors, in file order; names are unique and not `__metadata__`.
    public var tensors: [(name: String, tensor: Tensor)]
    /// Free-form string metadata (the trainer keeps epoch, step, seed, model and format
    /// version here).
    public var metadata: [String: String]

    /// A checkpoint of `tensors` (in this order) and `metadata`. Names are checked when
    /// writing.
    public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor names, in file order.
    public var names: [String] { tensors.map(\.name) }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> Tensor? {
        tensors.first { $0.name == name }?.tensor
    }
}
