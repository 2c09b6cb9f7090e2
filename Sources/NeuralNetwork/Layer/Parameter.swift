import TensorKernels

/// A trainable tensor of a layer and its gradient.
///
/// A `final class`, so that a layer, the optimiser and a checkpoint all see the same values
/// without copying; the `Tensor`s inside are replaced or written in place by their owner.
public final class Parameter {
    /// What the parameter is, which decides its initialisation and whether weight decay
    /// applies to it.
    public enum Role: Sendable, Equatable {
        /// A weight matrix or kernel: He or Xavier initialisation, L2 weight decay applies.
        case weight
        /// An additive bias: zeros, no weight decay.
        case bias
        /// A normalisation scale γ: ones, no weight decay.
        case normalizationScale
        /// A normalisation shift β: zeros, no weight decay.
        case normalizationShift
    }

    /// The name within its layer, PyTorch's spelling (`weight`, `bias`).
    public let name: String
    /// What the parameter is.
    public let role: Role
    /// Inputs feeding one output unit (for initialisation): `in` for Linear, C·KH·KW for Conv2d.
    public let fanIn: Int
    /// Outputs fed by one input unit: `out` for Linear, O·KH·KW for Conv2d.
    public let fanOut: Int
    /// The current value.
    public var value: Tensor
    /// The gradient of the loss with respect to `value` from the last backward pass; written
    /// (not accumulated) by each backward.
    public var gradient: Tensor

    /// A parameter of `shape` holding `initialValue` everywhere, with a zero gradient.
    ///
    /// Layers create their parameters in non-throwing initialisers (so models read like
    /// DESIGN §1); parameters are small, and failing to allocate one traps with its size.
    /// - Precondition: every dimension of `shape` is positive.
    public init(name: String, role: Role, shape: [Int], initialValue: Float = 0,
                fanIn: Int = 0, fanOut: Int = 0) {
        precondition(shape.allSatisfy { $0 > 0 }, "parameter '\(name)' needs positive dimensions, got \(shape)")
        self.name = name
        self.role = role
        self.fanIn = fanIn
        self.fanOut = fanOut
        do {
            value = try Tensor(repeating: initialValue, shape: shape)
            gradient = try Tensor(zeros: shape)
        } catch {
            preconditionFailure("cannot allocate parameter '\(name)' of shape \(shape): \(error)")
        }
    }

    /// Whether L2 weight decay applies: weights only, never biases or normalisation
    /// parameters (the convention of most training recipes; stated in `SGD`'s docs).
    public var decays: Bool { role == .weight }
}
