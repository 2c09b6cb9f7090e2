import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file's bytes front to back, inflating it on the fly when it is gzip (it starts with
/// the magic bytes 1f 8b), so callers see one byte stream either way and memory stays bounded
/// by one input chunk plus what they read into.
///
/// Gzip is inflated with zlib's `inflateInit2_` (window bits 15 + 32: gzip or zlib header,
/// detected) and `inflate`; several gzip members in a row are one stream (as `gunzip` reads
/// them). Anything after the last member that is not another member is a corrupt stream. A
/// stream that ends inside a member is truncated. Errors are `DataError`s naming the file and
/// the offset in the decompressed stream. Not thread-safe: one reader, one thread.
final class FileByteReader {
    /// The file, as given.
    let path: String
    /// Whether the file is gzip and reads are inflated.
    let isGzip: Bool
    /// Bytes delivered so far: the offset of the next byte in the (decompressed) stream.
    private(set) var position = 0

    private static let chunkByteCount = 1 << 16
    private let descriptor: Int32
    private let chunk: UnsafeMutableRawBufferPointer
    /// Raw mode: the bytes of `chunk` not yet delivered.
    private var pending: Range<Int> = 0..<0
    /// File bytes read so far (compressed bytes when gzip).
    private var fileBytesRead = 0
    private var endOfFile = false
    /// Gzip: zlib's state; at a fixed address, as zlib requires.
    private let stream: UnsafeMutablePointer<z_stream>?
    /// Gzip: the last `inflate` ended a member; more input starts a new one.
    private var memberEnded = false

    /// Opens `path` and detects gzip from its first two bytes.
    /// - Throws: `DataError` if the file cannot be opened or read, or zlib cannot start.
    init(path: String) throws(DataError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let number = errno
            let reason = number == ENOENT ? "no such file" : Self.systemMessage(number)
            throw DataError(file: path, problem: "cannot open: \(reason)")
        }
        self.descriptor = descriptor
        chunk = .allocate(byteCount: Self.chunkByteCount, alignment: 64)
        var isGzip = false
        var stream: UnsafeMutablePointer<z_stream>?
        do throws(DataError) {
            let first = try Self.readFile(descriptor, into: chunk, path: path)
            fileBytesRead = first
            endOfFile = first == 0
            pending = 0..<first
            isGzip = first >= 2 && chunk[0] == 0x1f && chunk[1] == 0x8b
            if isGzip {
                let state = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
                state.initialize(to: z_stream())
                let status = inflateInit2_(state, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
                guard status == Z_OK else {
                    state.deallocate()
                    throw DataError(file: path, problem: "zlib inflateInit2_ failed with status \(status)")
                }
                state.pointee.next_in = chunk.baseAddress!.assumingMemoryBound(to: Bytef.self)
                state.pointee.avail_in = uInt(first)
                stream = state
            }
        } catch {
            chunk.deallocate()
            close(descriptor)
            throw error
        }
        self.isGzip = isGzip
        self.stream = stream
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
        }
        chunk.deallocate()
        close(descriptor)
    }

    /// Fills `buffer` from the stream and returns how many bytes it wrote: all of them unless
    /// the stream ended first.
    /// - Throws: `DataError` for a read failure or a corrupt or truncated gzip stream, with the
    ///   decompressed offset at which it happened.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        let count = isGzip ? try inflate(into: buffer) : try copyRaw(into: buffer)
        position += count
        return count
    }

    // MARK: Raw files

    private func copyRaw(into buffer: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        var filled = min(pending.count, buffer.count)
        if filled > 0 {
            buffer.baseAddress!.copyMemory(from: chunk.baseAddress! + pending.lowerBound, byteCount: filled)
            pending = (pending.lowerBound + filled)..<pending.upperBound
        }
        // Past the first chunk, read straight into the caller's buffer.
        while filled < buffer.count && !endOfFile {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
            let got = try Self.readFile(descriptor, into: rest, path: path)
            fileBytesRead += got
            if got == 0 { endOfFile = true }
            filled += got
        }
        return filled
    }

    // MARK: Gzip files

    private func inflate(into buffer: UnsafeMutableRawBufferPointer) throws(DataError) -> Int {
        guard let stream, buffer.count > 0 else { return 0 }
        var filled = 0
        while filled < buffer.count {
            if stream.pointee.avail_in == 0 && !endOfFile {
                let got = try Self.readFile(descriptor, into: chunk, path: path)
                fileBytesRead += got
                endOfFile = got == 0
                stream.pointee.next_in = chunk.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = uInt(got)
            }
            if stream.pointee.avail_in == 0 {
                if memberEnded { break }  // the clean end of the last member
                throw DataError(file: path, offset: position + filled, offsetIsAfterDecompression: true,
                                problem: "truncated gzip stream: the file ends inside a gzip member "
                                    + "(\(fileBytesRead) compressed bytes)")
            }
            if memberEnded {
                // Another gzip member follows (multi-member gzip): start it afresh.
                inflateReset(stream)
                memberEnded = false
            }
            let room = min(buffer.count - filled, Int(UInt32.max))
            stream.pointee.next_out = (buffer.baseAddress! + filled).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            filled += room - Int(stream.pointee.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                memberEnded = true
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                let compressed = fileBytesRead - Int(stream.pointee.avail_in)
                throw DataError(file: path, offset: position + filled, offsetIsAfterDecompression: true,
                                problem: "corrupt gzip stream (zlib: \(message); near compressed byte "
                                    + "\(compressed))")
            }
        }
        return filled
    }

    // MARK: System calls

    /// One `read(2)` into `buffer`, retried on EINTR; 0 at the end of the file.
    private static func readFile(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer,
                                 path: String) throws(DataError) -> Int {
        while true {
            let got = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if got >= 0 { return got }
            let number = errno
            if number != EINTR {
                throw DataError(file: path, problem: "cannot read: \(systemMessage(number))")
            }
        }
    }

    static func systemMessage(_ number: Int32) -> String {
        "\(String(cString: strerror(number))) (errno \(number))"
    }
}
