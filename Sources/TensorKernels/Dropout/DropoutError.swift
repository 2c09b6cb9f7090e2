/// A dropout probability outside [0, 1] (or NaN), naming it.
public struct DropoutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The probability given.
    public let probability: Float

    /// An error for the probability `probability`.
    public init(probability: Float) {
        self.probability = probability
    }

    /// "dropout probability must be in [0, 1], got p".
    public var description: String {
        "dropout probability must be in [0, 1], got \(probability)"
    }
}
