import ParallelRuntime
import TensorKernels

/// Batch normalisation over the channel dimension (DESIGN §6), shared by `BatchNorm1d` and
/// `BatchNorm2d`: training normalises with the batch's mean and biased variance and updates
/// the running statistics (momentum 0.1, unbiased running variance, PyTorch's conventions);
/// evaluation uses the running statistics. γ starts at 1, β at 0; neither takes weight decay.
public class BatchNormBase: NormalizationLayer {
    /// Channels C.
    public let features: Int
    /// Added to the variance before the square root.
    public let epsilon: Float
    /// The weight of the new batch in the running statistics.
    public let momentum: Float
    /// γ, [C].
    public let weight: Parameter
    /// β, [C].
    public let bias: Parameter
    /// Running mean, [C] (starts at 0).
    public private(set) var runningMean: Tensor
    /// Running variance, [C] (starts at 1).
    public private(set) var runningVariance: Tensor
    /// Training-mode forward passes so far (PyTorch's `num_batches_tracked`).
    public private(set) var batchesTracked: Int = 0

    private let name: String
    private let ranks: Set<Int>
    private var input: Tensor?
    private var saved = BatchNormSavedStatistics()
    private var output: Tensor?
    private var inputGradient: Tensor?

    init(name: String, features: Int, epsilon: Float, momentum: Float, ranks: Set<Int>) {
        precondition(features > 0, "\(name) needs a positive feature count, got \(features)")
        precondition(epsilon > 0, "\(name) epsilon must be positive, got \(epsilon)")
        precondition(momentum >= 0 && momentum <= 1, "\(name) momentum must be in [0, 1], got \(momentum)")
        self.name = name
        self.features = features
        self.epsilon = epsilon
        self.momentum = momentum
        self.ranks = ranks
        weight = Parameter(name: "weight", role: .normalizationScale, shape: [features], initialValue: 1)
        bias = Parameter(name: "bias", role: .normalizationShift, shape: [features])
        do {
            runningMean = try Tensor(zeros: [features])
            runningVariance = try Tensor(repeating: 1, shape: [features])
        } catch {
            preconditionFailure("cannot allocate \(name) statistics: \(error)")
        }
    }

    public var description: String { "\(name)(\(features))" }

    public var parameters: [Parameter] { [weight, bias] }

    public var stateTensors: [(name: String, tensor: Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVariance)]
    }

    public func restoreState(name: String, tensor: Tensor) throws {
        try ShapeError.check(tensor.shape, equals: [features], operation: "\(description).\(name)")
        switch name {
        case "running_mean": runningMean = tensor
        case "running_var": runningVariance = tensor
        default: throw LayerError.unknownState(layer: description, name: name)
        }
    }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] {
        guard ranks.contains(shape.count), shape[1] == features else {
            var expected = shape
            if expected.count >= 2 { expected[1] = features }
            throw ShapeError(operation: description, expected: expected, actual: shape,
                             detail: "\(name) takes rank \(ranks.sorted().map(String.init).joined(separator: " or ")) with \(features) channels")
        }
        return shape
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        _ = try outputShape(forInput: input.shape)
        try prepareBuffer(&output, shape: input.shape)
        switch context.mode {
        case .training:
            try batchNormForwardTraining(input, gamma: weight.value, beta: bias.value,
                                         runningMean: &runningMean, runningVariance: &runningVariance,
                                         momentum: momentum, epsilon: epsilon, into: &output!,
                                         saved: &saved, pool: context.pool)
            batchesTracked += 1
            self.input = input
        case .evaluation:
            try batchNormForwardInference(input, gamma: weight.value, beta: bias.value,
                                          runningMean: runningMean, runningVariance: runningVariance,
                                          epsilon: epsilon, into: &output!, pool: context.pool)
            self.input = nil
        }
        return output!
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard let input else { throw LayerError.noForwardPass(layer: description) }
        self.input = nil
        try prepareBuffer(&inputGradient, shape: input.shape)
        // dx is part of the fused per-channel pass, so it is computed even for a first layer.
        try batchNormBackward(outputGradient, input: input, gamma: weight.value, saved: saved,
                              into: &inputGradient!, gammaGradient: &weight.gradient,
                              betaGradient: &bias.gradient, pool: context.pool)
        return context.needsInputGradient ? inputGradient! : nil
    }
}

/// BatchNorm over [N, C] (or [N, C, L]) inputs: statistics per feature over the batch.
public final class BatchNorm1d: BatchNormBase {
    /// A layer normalising `features` features.
    public init(_ features: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        super.init(name: "BatchNorm1d", features: features, epsilon: epsilon, momentum: momentum,
                   ranks: [2, 3])
    }
}

/// BatchNorm over [N, C, H, W] inputs: statistics per channel over N·H·W.
public final class BatchNorm2d: BatchNormBase {
    /// A layer normalising `channels` channels.
    public init(_ channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        super.init(name: "BatchNorm2d", features: channels, epsilon: epsilon, momentum: momentum,
                   ranks: [4])
    }
}
