import TensorKernels

/// A mini-batch from a `BatchLoader`: `count` images and their labels, in the epoch's order.
public struct Batch: Sendable {
    /// The images, `[count, 1, 28, 28]` (the split's example shape), normalised.
    public let images: Tensor
    /// The class of each image.
    public let labels: [Int32]
    /// The epoch the batch belongs to.
    public let epoch: Int
    /// The batch's index within the epoch (0 ..< `BatchLoader.stepsPerEpoch`).
    public let step: Int

    /// The number of examples (`batchSize`, or fewer for the last batch of an epoch).
    public var count: Int { labels.count }
}
