import Testing
@testable import NeuralNetwork

@Suite("IDX files")
struct IDXFileTests {
    static let payload = IDXBytes.pattern(count: 3 * 4 * 5)
    static let valid = IDXBytes.file(dimensions: [3, 4, 5], payload: payload)

    /// Writes `bytes` (gzipped when `compressed`) and reads them back, expecting a `DataError`.
    func readError(_ bytes: [UInt8], compressed: Bool,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> (DataError?, String) {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(compressed ? IDXBytes.gzip(bytes) : bytes,
                                       to: compressed ? "data.gz" : "data")
        let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) {
            try IDXFile(contentsOf: path)
        }
        if let error {
            #expect(error.file == path, sourceLocation: sourceLocation)
            #expect(error.offsetIsAfterDecompression == compressed, sourceLocation: sourceLocation)
        }
        return (error, path)
    }

    @Test("A raw or gzip file reads back its type, dimensions and payload", arguments: [false, true])
    func roundTrip(compressed: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = Self.valid
        let path = try directory.write(compressed ? IDXBytes.gzip(bytes) : bytes, to: "images")
        let file = try IDXFile(contentsOf: path)
        #expect(file.elementType == .unsignedByte)
        #expect(file.dimensions == [3, 4, 5])
        #expect(file.count == 60)
        #expect(file.payloadOffset == 16)
        #expect(file.payload == Self.payload)
        #expect(file.wasCompressed == compressed)
    }

    @Test("A multi-member gzip file reads as one stream")
    func multiMemberGzip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = IDXBytes.file(dimensions: [200, 50], payload: IDXBytes.pattern(count: 10_000))
        let members = IDXBytes.gzip(Array(bytes[..<7])) + IDXBytes.gzip(Array(bytes[7..<5000]))
            + IDXBytes.gzip(Array(bytes[5000...]))
        let file = try IDXFile(contentsOf: directory.write(members, to: "multi.gz"))
        #expect(file.dimensions == [200, 50])
        #expect(file.payload == IDXBytes.pattern(count: 10_000))
    }

    @Test("A large gzip file inflates in many chunks")
    func largeGzip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let payload = IDXBytes.pattern(count: 300_000, modulus: 7)
        let bytes = IDXBytes.file(dimensions: [300, 1000], payload: payload)
        let file = try IDXFile(contentsOf: directory.write(IDXBytes.gzip(bytes), to: "large.gz"))
        #expect(file.payload == payload)
    }

    @Test("Wider element types read with their byte width")
    func wideElements() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let payload = IDXBytes.pattern(count: 24)
        let file = try IDXFile(contentsOf: directory.write(
            IDXBytes.file(type: 0x0C, dimensions: [2, 3], payload: payload), to: "ints"))
        #expect(file.elementType == .int32)
        #expect(file.payload == payload)
    }

    @Test("An empty file is an error at byte 0")
    func emptyFile() throws {
        let (error, _) = try readError([], compressed: false)
        #expect(error?.offset == 0)
        #expect(error?.description.contains("empty file") == true)
    }

    @Test("An empty gzip stream is an error at byte 0 after decompression")
    func emptyGzipStream() throws {
        let (error, _) = try readError([], compressed: true)
        #expect(error?.offset == 0)
        #expect(error?.description.contains("after decompression") == true)
    }

    @Test("A header cut inside the magic number names the byte it stops at", arguments: [false, true])
    func truncatedMagic(compressed: Bool) throws {
        let (error, _) = try readError([0, 0, 8], compressed: compressed)
        #expect(error?.offset == 3)
        #expect(error?.problem.contains("truncated header") == true)
    }

    @Test("A header cut inside the dimension sizes names the byte it stops at", arguments: [false, true])
    func truncatedSizes(compressed: Bool) throws {
        let (error, _) = try readError(Array(Self.valid.prefix(9)), compressed: compressed)
        #expect(error?.offset == 9)
        #expect(error?.problem.contains("truncated header") == true)
    }

    @Test("A payload cut short names the byte it stops at", arguments: [false, true])
    func truncatedPayload(compressed: Bool) throws {
        let (error, _) = try readError(Array(Self.valid.dropLast(7)), compressed: compressed)
        #expect(error?.offset == 16 + 53)
        #expect(error?.problem.contains("truncated payload: 53 of the 60 bytes") == true)
    }

    @Test("Bytes after the payload are an error at the payload's end", arguments: [false, true])
    func trailingGarbage(compressed: Bool) throws {
        let (error, _) = try readError(Self.valid + [0x42], compressed: compressed)
        #expect(error?.offset == 76)
        #expect(error?.problem.contains("trailing data") == true)
    }

    @Test("A magic number not starting with 0x00 0x00 is an error at byte 0", arguments: [false, true])
    func badMagic(compressed: Bool) throws {
        var bytes = Self.valid
        bytes[1] = 0x08
        let (error, _) = try readError(bytes, compressed: compressed)
        #expect(error?.offset == 0)
        #expect(error?.problem.contains("bad magic number 0x00 0x08 0x08 0x03") == true)
    }

    @Test("An unknown element type code is an error at byte 2", arguments: [false, true])
    func unknownType(compressed: Bool) throws {
        var bytes = Self.valid
        bytes[2] = 0x0A
        let (error, _) = try readError(bytes, compressed: compressed)
        #expect(error?.offset == 2)
        #expect(error?.problem.contains("unknown element type code 0x0A") == true)
    }

    @Test("A rank of 0 or above the limit is an error at byte 3", arguments: [0, 9, 255])
    func badRank(rank: Int) throws {
        var bytes = Self.valid
        bytes[3] = UInt8(rank)
        let (error, _) = try readError(bytes, compressed: false)
        #expect(error?.offset == 3)
        #expect(error?.problem.contains("rank \(rank)") == true)
    }

    @Test("A dimension of size 0 is an error at its size field")
    func zeroDimension() throws {
        let (error, _) = try readError(IDXBytes.file(dimensions: [3, 0, 5], payload: []), compressed: false)
        #expect(error?.offset == 8)
        #expect(error?.problem.contains("dimension 1 has size 0") == true)
    }

    @Test("Sizes whose product overflows or passes the limit are refused before reading",
          arguments: [([UInt32.max, UInt32.max, UInt32.max], 4), ([65_536, 65_536], 8),
                      ([1 << 20, 1 << 20, 1 << 20, 1 << 20], 8)])
    func oversizedPayload(dimensions: [UInt32], offset: Int) throws {
        let (error, _) = try readError(IDXBytes.file(dimensions: dimensions, payload: [1, 2, 3]),
                                       compressed: false)
        #expect(error?.offset == offset)
        #expect(error?.problem.contains("limit on the payload") == true)
    }

    @Test("The payload limit can be lowered")
    func lowerLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(Self.valid, to: "small")
        let error = #expect(throws: DataError.self) {
            try IDXFile(contentsOf: path, maximumPayloadByteCount: 59)
        }
        #expect(error?.offset == 12)
    }

    @Test("A corrupted gzip stream is an error, not a crash")
    func corruptGzip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var compressed = IDXBytes.gzip(IDXBytes.file(dimensions: [100, 100],
                                                     payload: IDXBytes.pattern(count: 10_000)))
        for index in stride(from: compressed.count / 2, to: compressed.count / 2 + 8, by: 1) {
            compressed[index] ^= 0x5A
        }
        let path = try directory.write(compressed, to: "corrupt.gz")
        let error = #expect(throws: DataError.self) { try IDXFile(contentsOf: path) }
        #expect(error?.file == path)
        #expect(error?.offsetIsAfterDecompression == true)
        #expect(error?.problem.contains("corrupt gzip stream") == true)
    }

    @Test("A gzip file cut short is a truncated stream")
    func truncatedGzip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let compressed = IDXBytes.gzip(Self.valid)
        let path = try directory.write(Array(compressed.dropLast(5)), to: "cut.gz")
        let error = #expect(throws: DataError.self) { try IDXFile(contentsOf: path) }
        #expect(error?.offsetIsAfterDecompression == true)
        #expect(error?.problem.contains("truncated gzip stream") == true)
    }

    @Test("Garbage after the last gzip member is a corrupt stream")
    func garbageAfterGzipMember() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(IDXBytes.gzip(Self.valid) + [0x13, 0x37, 0x00, 0xFF], to: "tail.gz")
        let error = #expect(throws: DataError.self) { try IDXFile(contentsOf: path) }
        #expect(error?.offset == 76)
        #expect(error?.problem.contains("corrupt gzip stream") == true)
    }

    @Test("A missing file is an error naming it")
    func missingFile() {
        let error = #expect(throws: DataError.self) {
            try IDXFile(contentsOf: "/nonexistent/weave/idx")
        }
        #expect(error?.file == "/nonexistent/weave/idx")
        #expect(error?.offset == nil)
        #expect(error?.description == "/nonexistent/weave/idx: cannot open: no such file")
    }
}
