/// The contents of an IDX file (the MNIST format), raw or gzip-compressed:
///
/// ```
/// 0x00 0x00 <type> <rank>          magic number; type is an `IDXElementType` code
/// <rank> × UInt32 big-endian       dimension sizes, outermost first
/// product(sizes) × width bytes     the elements, row-major, big-endian
/// ```
///
/// Reading checks everything and never traps on a bad file: the magic, the type code, the
/// rank (1 … `maximumRank`), that every dimension is non-zero, that the payload size neither
/// overflows nor exceeds a limit, and that the payload has exactly that many bytes — no fewer,
/// no more. A gzip file is inflated in a stream straight into the payload. Any problem is a
/// `DataError` naming the file and the byte offset (after decompression, for gzip).
public struct IDXFile: Sendable {
    /// The largest rank accepted.
    public static let maximumRank = 8
    /// The default limit on the payload size: 1 GiB (MNIST's largest file is 47 MB).
    public static let defaultMaximumPayloadByteCount = 1 << 30

    /// The element type from the magic number.
    public let elementType: IDXElementType
    /// The dimension sizes, outermost first; none is zero.
    public let dimensions: [Int]
    /// The elements exactly as stored (big-endian for types wider than a byte).
    public let payload: [UInt8]
    /// Whether the file was gzip-compressed.
    public let wasCompressed: Bool

    /// The number of elements: the product of `dimensions`.
    public var count: Int { dimensions.reduce(1, *) }

    /// The byte offset of the payload in the (decompressed) file: 4 + 4 · rank.
    public var payloadOffset: Int { 4 + 4 * dimensions.count }

    /// Reads and checks the IDX file at `path` (gzip detected by its magic bytes 1f 8b).
    /// - Parameter maximumPayloadByteCount: refuse a payload larger than this (before reading
    ///   it), so a corrupt header cannot ask for unbounded memory.
    /// - Throws: `DataError` naming `path` and the offset of the first problem.
    public init(contentsOf path: String,
                maximumPayloadByteCount: Int = IDXFile.defaultMaximumPayloadByteCount) throws(DataError) {
        let reader = try FileByteReader(path: path)
        let compressed = reader.isGzip
        func failure(_ offset: Int, _ problem: String) -> DataError {
            DataError(file: path, offset: offset, offsetIsAfterDecompression: compressed, problem: problem)
        }

        let magic = try Self.read(reader, count: 4)
        let magicCount = magic.count
        guard magicCount > 0 else {
            throw failure(0, compressed ? "no data after decompression" : "empty file")
        }
        guard magicCount == 4 else {
            throw failure(magicCount, "truncated header: \(magicCount) of the 4 magic-number bytes")
        }
        guard magic[0] == 0, magic[1] == 0 else {
            throw failure(0, "bad magic number \(Self.hex(magic)): an IDX file starts with 0x00 0x00")
        }
        guard let elementType = IDXElementType(rawValue: magic[2]) else {
            throw failure(2, "unknown element type code \(Self.hex([magic[2]])) "
                            + "(IDX types are 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)")
        }
        let rank = Int(magic[3])
        guard (1...Self.maximumRank).contains(rank) else {
            throw failure(3, "rank \(rank) is outside 1...\(Self.maximumRank)")
        }

        let sizeBytes = try Self.read(reader, count: 4 * rank)
        let sizeCount = sizeBytes.count
        guard sizeCount == 4 * rank else {
            throw failure(4 + sizeCount, "truncated header: \(sizeCount) of the \(4 * rank) bytes "
                            + "of \(rank) dimension sizes")
        }
        var dimensions: [Int] = []
        var byteCount = elementType.byteWidth
        for axis in 0..<rank {
            let size = sizeBytes[4 * axis..<4 * axis + 4].reduce(0) { $0 << 8 | Int($1) }
            guard size > 0 else {
                throw failure(4 + 4 * axis, "dimension \(axis) has size 0")
            }
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: size)
            guard !overflow, product <= maximumPayloadByteCount else {
                throw failure(4 + 4 * axis, "dimensions \(dimensions + [size])… need more than the "
                                + "\(maximumPayloadByteCount)-byte limit on the payload")
            }
            byteCount = product
            dimensions.append(size)
        }

        let headerByteCount = 4 + 4 * rank
        let payload = try Self.read(reader, count: byteCount)
        guard payload.count == byteCount else {
            throw failure(headerByteCount + payload.count,
                          "truncated payload: \(payload.count) of the \(byteCount) bytes that "
                            + "dimensions \(dimensions) of \(elementType) need")
        }
        guard try Self.read(reader, count: 1).isEmpty else {
            throw failure(headerByteCount + byteCount,
                          "trailing data after the \(byteCount)-byte payload of dimensions \(dimensions)")
        }

        self.elementType = elementType
        self.dimensions = dimensions
        self.payload = payload
        self.wasCompressed = compressed
    }

    /// Up to `count` bytes from `reader` (fewer only at the end of the stream).
    private static func read(_ reader: FileByteReader, count: Int) throws(DataError) -> [UInt8] {
        var failure: DataError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(DataError) {
                initialized = try reader.read(into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return "0x" + (digits.count == 1 ? "0" + digits : digits)
        }.joined(separator: " ")
    }
}
