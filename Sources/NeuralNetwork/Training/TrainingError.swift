/// Training stopped because a number stopped being finite (DESIGN §7): names the step and
/// where it was first seen.
public struct TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 0-based global training step.
    public let step: UInt64
    /// "the loss", or "the gradient of 3.weight (layer 3, Linear(150, 25))".
    public let location: String

    /// An error at `step` in `location`.
    public init(step: UInt64, location: String) {
        self.step = step
        self.location = location
    }

    public var description: String {
        "training diverged at step \(step): \(location) is NaN or infinite "
            + "(try a lower --lr; nothing after the last good checkpoint was saved)"
    }
}
