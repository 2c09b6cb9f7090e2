/// A checkpoint that cannot be written or read: names the file and what is wrong with it
/// (a bad header length, malformed JSON, an unknown dtype, offsets that don't fit, a short
/// file, an I/O failure…). Reading never traps on a corrupt file; it throws this.
public struct CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The checkpoint file, as given.
    public let file: String
    /// What is wrong.
    public let problem: String

    /// An error about `file`.
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    /// "checkpoint file: problem".
    public var description: String { "checkpoint \(file): \(problem)" }
}
