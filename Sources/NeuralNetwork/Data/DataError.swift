/// A data set that cannot be used: a missing directory or file, or an IDX file that is
/// truncated, corrupt, oversized or not what the data set needs. Names the file and, when the
/// problem is inside it, the byte offset — in the decompressed stream for a gzip file
/// (`offsetIsAfterDecompression`), since that is where the IDX structure lives.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (or directory) at fault, as given.
    public let file: String
    /// The byte offset of the problem within the file's IDX content, when there is one.
    public let offset: Int?
    /// Whether `offset` counts bytes of the decompressed stream (the file is gzip).
    public let offsetIsAfterDecompression: Bool
    /// What is wrong, and for a missing data set how to get it.
    public let problem: String

    /// An error about `file`; `offset` is where in its IDX content the problem is, if anywhere.
    public init(file: String, offset: Int? = nil, offsetIsAfterDecompression: Bool = false,
                problem: String) {
        self.file = file
        self.offset = offset
        self.offsetIsAfterDecompression = offsetIsAfterDecompression
        self.problem = problem
    }

    /// "file: problem (at byte N after decompression)".
    public var description: String {
        guard let offset else { return "\(file): \(problem)" }
        let stream = offsetIsAfterDecompression ? " after decompression" : ""
        return "\(file): \(problem) (at byte \(offset)\(stream))"
    }
}
