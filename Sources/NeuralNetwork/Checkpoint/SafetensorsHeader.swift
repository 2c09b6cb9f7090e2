import Foundation

/// One tensor's entry in a safetensors header.
struct SafetensorsEntry: Equatable, Sendable {
    /// The tensor's name (a key of the header object).
    var name: String
    /// Its element type.
    var dataType: SafetensorsDataType
    /// Its dimensions, outermost first.
    var shape: [Int]
    /// Where its bytes are, relative to the start of the data section.
    var dataOffsets: Range<Int>
}

/// The JSON header of a safetensors file: the entries and the `__metadata__` object.
/// Encodes deterministically (entries in order, metadata keys sorted) and decodes with full
/// validation against the size of the data section.
struct SafetensorsHeader: Sendable {
    /// The key that holds the metadata instead of a tensor.
    static let metadataKey = "__metadata__"

    /// The tensor entries, in data order.
    var entries: [SafetensorsEntry]
    /// The string metadata.
    var metadata: [String: String]

    /// The header JSON as UTF-8, padded with spaces so that 8 + its length is a multiple of 8.
    func encoded() -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(Self.quoted($0)):\(Self.quoted(metadata[$0]!))" }
            fields.append("\(Self.quoted(Self.metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append("\(Self.quoted(entry.name)):{\"dtype\":\"\(entry.dataType.rawValue)\","
                          + "\"shape\":[\(shape)],\"data_offsets\":[\(entry.dataOffsets.lowerBound),"
                          + "\(entry.dataOffsets.upperBound)]}")
        }
        var bytes = Array("{\(fields.joined(separator: ","))}".utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        return bytes
    }

    /// A JSON string literal for `text`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// Parses and validates `json`: a JSON object whose `__metadata__` maps strings to
    /// strings and whose other members are entries with a known dtype, non-negative shape,
    /// and `data_offsets` [begin, end] whose span is the shape's byte size; together the
    /// entries must tile `0 ..< dataByteCount` exactly (sorted, contiguous, no overlap or gap).
    /// - Throws: `CheckpointError` naming `file`, the tensor and the problem.
    static func decode(_ json: [UInt8], dataByteCount: Int, file: String) throws(CheckpointError) -> SafetensorsHeader {
        func failure(_ problem: String) -> CheckpointError { CheckpointError(file: file, problem: problem) }
        guard json.first == UInt8(ascii: "{") else {
            throw failure("the header does not start with '{' (not a safetensors file?)")
        }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(json))
        } catch let error as DecodingError {
            throw failure("malformed header JSON: \(Self.summary(of: error))")
        } catch {
            throw failure("malformed header JSON: \(error)")
        }
        var entries: [SafetensorsEntry] = []
        for (name, entry) in raw.entries {
            guard let dataType = SafetensorsDataType(rawValue: entry.dtype) else {
                throw failure("tensor '\(name)' has unknown dtype '\(entry.dtype)'")
            }
            var byteCount = dataType.byteWidth
            for size in entry.shape {
                guard size >= 0 else {
                    throw failure("tensor '\(name)' has a negative dimension in shape \(entry.shape)")
                }
                let (product, overflow) = byteCount.multipliedReportingOverflow(by: size)
                guard !overflow else {
                    throw failure("tensor '\(name)' of shape \(entry.shape) is too large")
                }
                byteCount = product
            }
            guard entry.dataOffsets.count == 2 else {
                throw failure("tensor '\(name)' has data_offsets \(entry.dataOffsets), not [begin, end]")
            }
            let (begin, end) = (entry.dataOffsets[0], entry.dataOffsets[1])
            guard begin >= 0, begin <= end else {
                throw failure("tensor '\(name)' has data_offsets [\(begin), \(end)], not 0 ≤ begin ≤ end")
            }
            guard end <= dataByteCount else {
                throw failure("tensor '\(name)' has data_offsets [\(begin), \(end)] past the end of the "
                              + "\(dataByteCount)-byte data section")
            }
            guard end - begin == byteCount else {
                throw failure("tensor '\(name)' spans \(end - begin) bytes, but \(dataType.rawValue) "
                              + "shape \(entry.shape) needs \(byteCount)")
            }
            entries.append(SafetensorsEntry(name: name, dataType: dataType, shape: entry.shape,
                                            dataOffsets: begin..<end))
        }
        entries.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
            < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }
        var expected = 0
        for entry in entries {
            guard entry.dataOffsets.lowerBound == expected else {
                let what = entry.dataOffsets.lowerBound < expected ? "overlaps the tensor before it"
                    : "leaves a gap of \(entry.dataOffsets.lowerBound - expected) bytes before it"
                throw failure("tensor '\(entry.name)' at data_offsets [\(entry.dataOffsets.lowerBound), "
                              + "\(entry.dataOffsets.upperBound)] \(what)")
            }
            expected = entry.dataOffsets.upperBound
        }
        guard expected == dataByteCount else {
            throw failure("the tensors cover \(expected) bytes of the \(dataByteCount)-byte data section")
        }
        return SafetensorsHeader(entries: entries, metadata: raw.metadata ?? [:])
    }

    private static func summary(of error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            context = c
        @unknown default:
            return "\(error)"
        }
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "at \(path): \(context.debugDescription)"
    }
}

/// The header as JSON gives it, before validation.
private struct RawHeader: Decodable {
    var entries: [(String, RawEntry)] = []
    var metadata: [String: String]?

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == SafetensorsHeader.metadataKey {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
            }
        }
    }
}

/// One tensor entry as JSON gives it.
private struct RawEntry: Decodable {
    var dtype: String
    var shape: [Int]
    var dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}
