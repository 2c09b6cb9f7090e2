import TensorKernels

/// One stage of a model (DESIGN §7).
///
/// `forward` in `.training` mode caches what `backward` needs; `backward` takes the gradient
/// of the loss with respect to the output, writes the gradients of the layer's parameters
/// (`Parameter.gradient`, overwritten, not accumulated) and returns the gradient with respect
/// to the input (or `nil` when the context says nobody needs it). Layers are classes: they own
/// their parameters, caches and reusable buffers, so a steady-state step allocates nothing.
///
/// Every result depends only on the inputs, the parameters and the context's seed and step —
/// never on the thread count.
public protocol Layer: AnyObject, CustomStringConvertible {
    /// The shape this layer produces for an input of `shape` (batch dimension first).
    /// - Throws: `ShapeError` naming the shape it needs and the one it got.
    func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int]

    /// Computes the output for `input`.
    /// - Throws: `ShapeError` for an input this layer cannot take; `AllocationError`.
    func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor

    /// Propagates `outputGradient` (shaped like the last training-mode output) back.
    /// - Throws: `ShapeError` if the gradient's shape is not the output's, or if no
    ///   training-mode forward pass preceded it (reported as `LayerError.noForwardPass`).
    func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor?

    /// The trainable parameters, in a fixed order (the model's parameter order follows it).
    var parameters: [Parameter] { get }

    /// Non-trainable state saved in checkpoints and hashed by `weave repro` (BatchNorm's
    /// running statistics), with PyTorch's names.
    var stateTensors: [(name: String, tensor: Tensor)] { get }

    /// Restores state written by `stateTensors` (from a checkpoint).
    /// - Throws: `ShapeError` if a tensor's shape is not the layer's.
    func restoreState(name: String, tensor: Tensor) throws
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var stateTensors: [(name: String, tensor: Tensor)] { [] }
    public func restoreState(name: String, tensor: Tensor) throws {
        throw LayerError.unknownState(layer: description, name: name)
    }
}

/// Misuse of a layer that the caller can fix.
public enum LayerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `backward` was called without a training-mode `forward` before it.
    case noForwardPass(layer: String)
    /// A checkpoint names state this layer does not have.
    case unknownState(layer: String, name: String)
    /// A constructor argument out of range (e.g. a zero feature count).
    case invalidArgument(layer: String, reason: String)

    public var description: String {
        switch self {
        case .noForwardPass(let layer):
            "\(layer): backward called without a training-mode forward pass before it"
        case .unknownState(let layer, let name):
            "\(layer): no state named '\(name)'"
        case .invalidArgument(let layer, let reason):
            "\(layer): \(reason)"
        }
    }
}

/// A layer that normalises its input (BatchNorm): initialisation looks through it to decide
/// whether the previous layer feeds a ReLU.
public protocol NormalizationLayer: Layer {}
