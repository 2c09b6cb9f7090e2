/// What a batch-norm training forward pass keeps for backward: the batch statistics of each
/// channel, as used to normalise (x̂ = (x − mean) · inverseStandardDeviation).
public struct BatchNormSavedStatistics: Sendable {
    /// The batch mean of each channel, rounded to `Float`: shape [C].
    public internal(set) var mean: Tensor
    /// 1 / √(biased batch variance + ε) of each channel, rounded to `Float`: shape [C].
    public internal(set) var inverseStandardDeviation: Tensor

    /// Empty statistics (a placeholder to pass to the `into:` form of
    /// `batchNormForwardTraining`, which fills them).
    public init() {
        mean = Tensor(storage: Self.emptyStorage, shape: [0])
        inverseStandardDeviation = mean
    }

    /// The number of channels the statistics describe.
    public var channels: Int { mean.count }

    private static let emptyStorage: TensorStorage = {
        do { return try TensorStorage(capacity: 0) } catch {
            preconditionFailure("a zero-byte tensor storage could not be allocated: \(error)")
        }
    }()
}
