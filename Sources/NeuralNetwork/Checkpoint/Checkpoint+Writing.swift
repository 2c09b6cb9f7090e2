import TensorKernels

extension Checkpoint {
    /// Saves the checkpoint to `path` in the safetensors format, atomically and durably: a
    /// temporary file beside `path` is written, `fsync`ed and renamed over it, and the
    /// directory is `fsync`ed, so a crash leaves the old file or the new one, never a mix.
    /// Tensors are `F32`, little-endian, in the given order; the bytes depend only on the
    /// tensors and metadata.
    /// - Throws: `CheckpointError` for a duplicate name, the reserved name `__metadata__`, or
    ///   a failed system call (with its reason).
    public func write(to path: String) throws(CheckpointError) {
        try CheckpointFile.writeAtomically(encoded(path: path), to: path)
    }

    /// The file's bytes; `path` only names the file in errors.
    func encoded(path: String) throws(CheckpointError) -> [UInt8] {
        var seen = Set<String>()
        var entries: [SafetensorsEntry] = []
        var offset = 0
        for (name, tensor) in tensors {
            guard name != SafetensorsHeader.metadataKey else {
                throw CheckpointError(file: path, problem: "'\(name)' is reserved and cannot name a tensor")
            }
            guard seen.insert(name).inserted else {
                throw CheckpointError(file: path, problem: "two tensors are named '\(name)'")
            }
            let byteCount = tensor.count * MemoryLayout<Float>.size
            entries.append(SafetensorsEntry(name: name, dataType: .float32, shape: tensor.shape,
                                            dataOffsets: offset..<offset + byteCount))
            offset += byteCount
        }
        let header = SafetensorsHeader(entries: entries, metadata: metadata).encoded()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        bytes += header
        for (_, tensor) in tensors {
            tensor.withUnsafeBufferPointer { elements in
                #if _endian(little)
                bytes += UnsafeRawBufferPointer(elements)
                #else
                for element in elements {
                    withUnsafeBytes(of: element.bitPattern.littleEndian) { bytes += $0 }
                }
                #endif
            }
        }
        return bytes
    }
}
