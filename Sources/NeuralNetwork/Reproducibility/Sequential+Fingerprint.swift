import TensorKernels

extension Sequential {
    /// SHA-256 of every parameter and state tensor, in model order: each tensor contributes
    /// its name, its shape and its elements' bit patterns (little-endian). Two models have the
    /// same fingerprint exactly when they hold the same bits; `weave repro` compares it across
    /// thread counts.
    public func fingerprint() -> String {
        var hash = SHA256()
        let entries = namedParameters.map { (name: $0.name, tensor: $0.parameter.value) } + namedStateTensors
        for (name, tensor) in entries {
            hash.update(Array(name.utf8) + [0])
            var shape = tensor.shape.map { UInt64($0).littleEndian }
            shape.withUnsafeMutableBytes { hash.update(UnsafeRawBufferPointer($0)) }
            tensor.withUnsafeBufferPointer { hash.update(UnsafeRawBufferPointer($0)) }
        }
        return hash.hexDigest()
    }
}
