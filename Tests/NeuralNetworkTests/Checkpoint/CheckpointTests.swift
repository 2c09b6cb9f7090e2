import Foundation
import Testing
import TensorKernels
@testable import NeuralNetwork

/// Checkpoint test data.
enum CheckpointFixture {
    /// Awkward values whose bits must survive: NaN payloads (quiet and signalling), −0,
    /// infinities, a subnormal, the extremes.
    static let awkward: [Float] = [
        Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFF80_0001), Float(bitPattern: 0x7F80_0001),
        -0.0, 0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1.5,
        .ulpOfOne, 3.14159,
    ]

    static func checkpoint() throws -> Checkpoint {
        Checkpoint(
            tensors: [
                ("layers.0.weight", try Tensor(awkward, shape: [3, 4])),
                ("layers.0.bias", try Tensor([1, 2, 3], shape: [3])),
                ("step-scale", try Tensor([0.5], shape: [])),
                ("bn.running_mean", try Tensor((0..<16).map { Float($0) / 7 }, shape: [1, 4, 2, 2])),
                ("empty", try Tensor([], shape: [2, 0])),
            ],
            metadata: ["epoch": "3", "step": "937", "seed": "18446744073709551615",
                       "model": "cnn-bn \"quoted\" \\ back\nslash ünïcødé \u{1}", "format": "weave-checkpoint-1"])
    }

    /// A file made by hand: the header length (given, or the JSON's), the JSON, then `data`.
    static func craft(json: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        let header = Array(json.utf8)
        let length = headerLength ?? UInt64(header.count)
        return withUnsafeBytes(of: length.littleEndian) { Array($0) } + header + data
    }
}

@Suite("Checkpoints")
struct CheckpointTests {
    func bits(_ tensor: Tensor?) -> [UInt32]? { tensor?.scalars.map(\.bitPattern) }

    @Test("Tensors and metadata round-trip bit for bit, NaN payloads and −0 included")
    func roundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/model.safetensors"
        let original = try CheckpointFixture.checkpoint()
        try original.write(to: path)
        let loaded = try Checkpoint.read(from: path)
        #expect(loaded.names == original.names)
        #expect(loaded.metadata == original.metadata)
        for (name, tensor) in original.tensors {
            #expect(loaded[name]?.shape == tensor.shape)
            #expect(bits(loaded[name]) == bits(tensor), "tensor \(name)")
        }
        #expect(loaded["missing"] == nil)
    }

    @Test("The file is safetensors: little-endian length, JSON padded to 8, contiguous data")
    func layout() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/layout.safetensors"
        try Checkpoint(tensors: [("a", try Tensor([1, 2], shape: [2])), ("b", try Tensor([-0.0], shape: [1, 1]))],
                       metadata: ["k": "v"]).write(to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect((8 + length) % 8 == 0)
        #expect(bytes.count == 8 + length + 12)
        let json = try #require(JSONSerialization.jsonObject(with: Data(bytes[8..<8 + length])) as? [String: Any])
        #expect((json["__metadata__"] as? [String: String]) == ["k": "v"])
        let b = try #require(json["b"] as? [String: Any])
        #expect(b["dtype"] as? String == "F32")
        #expect(b["shape"] as? [Int] == [1, 1])
        #expect(b["data_offsets"] as? [Int] == [8, 12])
        #expect(Array(bytes[(8 + length)...]) == [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0, 0x80])
    }

    @Test("The same checkpoint writes the same bytes")
    func deterministicBytes() throws {
        let checkpoint = try CheckpointFixture.checkpoint()
        #expect(try checkpoint.encoded(path: "a") == checkpoint.encoded(path: "b"))
    }

    @Test("Writing replaces an existing file and leaves no temporary file")
    func replacesAtomically() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/ckpt.safetensors"
        try directory.write(Array("old contents".utf8), to: "ckpt.safetensors")
        try CheckpointFixture.checkpoint().write(to: path)
        try Checkpoint(tensors: [("only", try Tensor([7], shape: [1]))]).write(to: path)
        let loaded = try Checkpoint.read(from: path)
        #expect(loaded.names == ["only"])
        #expect(loaded.metadata.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["ckpt.safetensors"])
    }

    @Test("Duplicate or reserved names are refused and nothing is written",
          arguments: [["w", "w"], ["w", "__metadata__"]])
    func badNames(names: [String]) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/bad.safetensors"
        let tensors = try names.map { ($0, try Tensor([1], shape: [1])) }
        let error = #expect(throws: CheckpointError.self) {
            try Checkpoint(tensors: tensors).write(to: path)
        }
        #expect(error?.file == path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("Writing into a missing directory is an error")
    func missingDirectory() throws {
        let error = #expect(throws: CheckpointError.self) {
            try CheckpointFixture.checkpoint().write(to: "/nonexistent/weave/model.safetensors")
        }
        #expect(error?.problem.contains("temporary file") == true)
    }

    @Test("Reading a missing file is an error naming it")
    func missingFile() {
        let error = #expect(throws: CheckpointError.self) {
            try Checkpoint.read(from: "/nonexistent/weave/model.safetensors")
        }
        #expect(error?.description == "checkpoint /nonexistent/weave/model.safetensors: no such file")
    }

    static let corruptions: [(String, [UInt8], String)] = {
        let craft = CheckpointFixture.craft
        let eight = [UInt8](repeating: 0, count: 8)
        let entry = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        return [
            ("empty file", [], "fewer than the 8"),
            ("short file", [1, 2, 3, 4, 5], "fewer than the 8"),
            ("huge header length", craft(entry, eight, UInt64.max), "exceeds the limit"),
            ("header length over the limit", craft(entry, eight, 100_000_001), "exceeds the limit"),
            ("header length past the end", craft(entry, eight, 4096), "runs past the end"),
            ("not JSON", craft("{this is not json}", [], nil), "malformed header JSON"),
            ("not an object", craft("[1, 2]", [], nil), "does not start with '{'"),
            ("metadata not strings", craft(#"{"__metadata__":{"epoch":3}}"#, [], nil), "malformed header JSON"),
            ("entry missing a field", craft(#"{"w":{"dtype":"F32","shape":[2]}}"#, eight, nil), "malformed"),
            ("fractional offset", craft(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}"#, eight, nil),
             "malformed"),
            ("unknown dtype", craft(#"{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, eight, nil),
             "unknown dtype 'F33'"),
            ("negative dimension", craft(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, eight, nil),
             "negative dimension"),
            ("overflowing shape", craft(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#,
                                        eight, nil), "too large"),
            ("span not the shape's size", craft(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, eight, nil),
             "needs 12"),
            ("three offsets", craft(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#, eight, nil),
             "not [begin, end]"),
            ("reversed offsets", craft(#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, eight, nil),
             "not 0 ≤ begin ≤ end"),
            ("offsets past the data", craft(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, eight, nil),
             "past the end"),
            ("truncated data", craft(entry, [0, 0, 0, 0], nil), "past the end"),
            ("trailing bytes", craft(entry, eight + [9], nil), "cover 8 bytes of the 9-byte"),
            ("gap", craft(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
                          + #""b":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}"#, eight, nil), "gap of 4"),
            ("overlap", craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                              + #""b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, eight, nil), "overlaps"),
            ("I64 tensor", craft(#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, eight, nil),
             "F32 tensors only"),
        ]
    }()

    @Test("A corrupt file is a CheckpointError naming the file and the problem",
          arguments: corruptions.indices)
    func corruptFile(index: Int) throws {
        let (what, bytes, expected) = Self.corruptions[index]
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(bytes, to: "corrupt.safetensors")
        let error = #expect(throws: CheckpointError.self, "\(what)") { try Checkpoint.read(from: path) }
        #expect(error?.file == path)
        #expect(error?.problem.contains(expected) == true, "\(what): \(String(describing: error))")
    }

    @Test("Every truncation and every single-byte corruption of the header is handled")
    func exhaustiveDamage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = try Checkpoint(tensors: [("w", try Tensor([1, 2, 3], shape: [3]))],
                                   metadata: ["epoch": "1"]).encoded(path: "x")
        for length in 0..<bytes.count {
            let path = try directory.write(Array(bytes.prefix(length)), to: "cut")
            #expect(throws: CheckpointError.self, "length \(length)") { try Checkpoint.read(from: path) }
        }
        let headerEnd = bytes.count - 12
        for index in 0..<headerEnd {
            var damaged = bytes
            damaged[index] ^= 0xA5
            let path = try directory.write(damaged, to: "damaged")
            _ = try? Checkpoint.read(from: path)  // any outcome but a crash
        }
    }

    @Test("Python with NumPy reads the file as written",
          .enabled(if: PythonNumPy.isAvailable, "python3 with numpy not found"))
    func readableByNumPy() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/numpy.safetensors"
        let checkpoint = try CheckpointFixture.checkpoint()
        try checkpoint.write(to: path)
        let script = """
        import json, struct, sys
        import numpy as np
        raw = open(sys.argv[1], 'rb').read()
        (n,) = struct.unpack('<Q', raw[:8])
        header = json.loads(raw[8:8 + n])
        meta = header.pop('__metadata__')
        data = raw[8 + n:]
        for name, e in header.items():
            b, end = e['data_offsets']
            a = np.frombuffer(data[b:end], dtype='<f4').reshape(e['shape'])
            print(name, e['dtype'], list(a.shape), ','.join('%08x' % v for v in a.reshape(-1).view('<u4')))
        print('meta', json.dumps(meta, sort_keys=True))
        """
        let output = try PythonNumPy.run(script, arguments: [path])
        let expected = checkpoint.tensors.map { name, tensor in
            "\(name) F32 \(tensor.shape) " + tensor.scalars.map { String(format: "%08x", $0.bitPattern) }
                .joined(separator: ",")
        }.sorted()
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.filter { !$0.hasPrefix("meta ") }.sorted() == expected)
        let metaLine = try #require(lines.first { $0.hasPrefix("meta ") })
        let decoded = try JSONSerialization.jsonObject(with: Data(metaLine.dropFirst(5).utf8)) as? [String: String]
        #expect(decoded == checkpoint.metadata)
    }
}

/// Runs `python3` when it and NumPy are installed (an optional cross-check, never required).
enum PythonNumPy {
    static let isAvailable: Bool = (try? run("import numpy", arguments: [])) != nil

    /// Runs `script` with `arguments` and returns its standard output; throws if it fails.
    static func run(_ script: String, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CheckpointError(file: "python3", problem: "exit status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
