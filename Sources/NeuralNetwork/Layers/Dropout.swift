import ParallelRuntime
import TensorKernels

/// Inverted dropout (DESIGN §6): in training each element is kept with probability 1 − p and
/// scaled by 1 / (1 − p); in evaluation it is the identity.
///
/// The mask of layer L at training step t is drawn from
/// `RandomStream(seed: seed, purpose: .dropout(layer: L))` at step t, element i deciding
/// element i: the same bits for any thread count, and a resumed run draws the same masks.
public final class Dropout: Layer {
    /// The probability p of dropping an element.
    public let probability: Float
    private var mask = DropoutMask()
    private var output: Tensor?
    private var inputGradient: Tensor?
    private var hasMask = false

    /// A dropout layer dropping with probability `probability`.
    /// - Precondition: 0 ≤ p ≤ 1.
    public init(_ probability: Float) {
        precondition(probability >= 0 && probability <= 1,
                     "Dropout probability must be in [0, 1], got \(probability)")
        self.probability = probability
    }

    public var description: String { "Dropout(p=\(probability))" }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] { shape }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        guard context.mode == .training, probability > 0 else { return input }
        let stream = RandomStream(seed: context.seed, purpose: .dropout(layer: context.layerIndex))
        try prepareBuffer(&output, shape: input.shape)
        try dropoutForward(input, into: &output!, mask: &mask, probability: probability,
                           stream: stream, step: context.step, pool: context.pool)
        hasMask = true
        return output!
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard probability > 0 else { return context.needsInputGradient ? outputGradient : nil }
        guard hasMask else { throw LayerError.noForwardPass(layer: description) }
        guard context.needsInputGradient else { return nil }
        try prepareBuffer(&inputGradient, shape: outputGradient.shape)
        try dropoutBackward(outputGradient, mask: mask, into: &inputGradient!, pool: context.pool)
        return inputGradient!
    }
}
