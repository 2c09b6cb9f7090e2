/// A dropout probability outside [0, 1] (or NaN), naming it.
public struct DropoutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The probability given.
    public let probability: Float

    public init(probability: Float) {
        self.probability = probability
    }

    public var description: String {
        "dropout probability must be in [0, 1], got \(probability)"
    }
}
