import TensorKernels

extension Checkpoint {
    /// Loads a safetensors file, checking everything before trusting it: the file holds the
    /// 8-byte header length; that length is at most `maximumHeaderByteCount` and fits in the
    /// file; the header is a JSON object of entries and string metadata; every dtype is known,
    /// every shape non-negative and its byte size equals its `data_offsets` span; the offsets
    /// tile the data section exactly (in bounds, contiguous, no overlap, no gap, nothing
    /// after). Tensors must be `F32` (what Weave writes). They come back in data order.
    /// - Throws: `CheckpointError` naming `path` and the first problem; never traps on a
    ///   corrupt file.
    public static func read(from path: String) throws(CheckpointError) -> Checkpoint {
        let bytes = try CheckpointFile.readAll(path)
        guard bytes.count >= 8 else {
            throw CheckpointError(file: path, problem: "the file has \(bytes.count) bytes, fewer than "
                                    + "the 8 of the header length (truncated or empty)")
        }
        let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maximumHeaderByteCount) else {
            throw CheckpointError(file: path, problem: "header length \(length) exceeds the limit of "
                                    + "\(maximumHeaderByteCount) bytes (corrupt or not a safetensors file)")
        }
        let headerLength = Int(length)
        guard headerLength <= bytes.count - 8 else {
            throw CheckpointError(file: path, problem: "header length \(headerLength) runs past the end "
                                    + "of the \(bytes.count)-byte file (truncated?)")
        }
        let dataStart = 8 + headerLength
        let header = try SafetensorsHeader.decode(Array(bytes[8..<dataStart]),
                                                  dataByteCount: bytes.count - dataStart, file: path)
        var tensors: [(name: String, tensor: Tensor)] = []
        for entry in header.entries {
            guard entry.dataType == .float32 else {
                throw CheckpointError(file: path, problem: "tensor '\(entry.name)' has dtype "
                                        + "\(entry.dataType.rawValue); Weave reads F32 tensors only")
            }
            let tensor: Tensor
            do {
                tensor = try Tensor(uninitializedShape: entry.shape) { elements in
                    bytes.withUnsafeBytes { file in
                        let source = UnsafeRawBufferPointer(rebasing: file[(dataStart + entry.dataOffsets.lowerBound)...]
                            .prefix(entry.dataOffsets.count))
                        #if _endian(little)
                        UnsafeMutableRawBufferPointer(elements).copyMemory(from: source)
                        #else
                        for i in elements.indices {
                            elements[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(
                                fromByteOffset: 4 * i, as: UInt32.self)))
                        }
                        #endif
                    }
                }
            } catch {
                throw CheckpointError(file: path, problem: "cannot allocate tensor '\(entry.name)' of shape "
                                        + "\(entry.shape): \(error)")
            }
            tensors.append((entry.name, tensor))
        }
        return Checkpoint(tensors: tensors, metadata: header.metadata)
    }
}
