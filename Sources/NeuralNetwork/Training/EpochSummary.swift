/// What one epoch of training measured.
public struct EpochSummary: Sendable {
    /// The 0-based epoch.
    public var epoch: Int
    /// Steps in the epoch.
    public var steps: Int
    /// The global step counter after the epoch.
    public var globalStep: UInt64
    /// The mean of the per-step training losses (combined in step order).
    public var trainLoss: Double
    /// The test set's mean loss and accuracy in evaluation mode.
    public var testLoss: Double
    public var testAccuracy: Double
    /// Training images per second (training steps only, excluding evaluation).
    public var imagesPerSecond: Double
    /// Wall time of the epoch's training steps, and of the evaluation.
    public var trainSeconds: Double
    public var evaluationSeconds: Double
}

/// Progress within an epoch, for progress bars.
public struct StepProgress: Sendable {
    public var epoch: Int
    public var step: Int
    public var stepsInEpoch: Int
    public var loss: Float
    public var imagesPerSecond: Double
    public var elapsedSeconds: Double
}
