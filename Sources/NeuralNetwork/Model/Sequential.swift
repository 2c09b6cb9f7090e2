import ParallelRuntime
import TensorKernels

/// Layers applied one after the other (PyTorch's `nn.Sequential`).
///
/// Layer i's parameters are named `"i.weight"`, `"i.bias"`, its state `"i.running_mean"`, …
/// (PyTorch's `state_dict` keys), which is how checkpoints and `weave repro` name them.
public final class Sequential: CustomStringConvertible {
    /// The layers, in order.
    public let layers: [any Layer]

    /// A model of the layers listed in `build`.
    public init(@LayerBuilder _ build: () -> [any Layer]) {
        layers = build()
    }

    /// A model of `layers`.
    public init(layers: [any Layer]) {
        self.layers = layers
    }

    /// One line per layer.
    public var description: String {
        "Sequential(\n" + layers.enumerated().map { "  (\($0)): \($1)" }.joined(separator: "\n") + "\n)"
    }

    /// Every parameter with its model-level name, layer by layer.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        layers.enumerated().flatMap { index, layer in
            layer.parameters.map { (name: "\(index).\($0.name)", parameter: $0) }
        }
    }

    /// Every parameter, in the order of `namedParameters`.
    public var parameters: [Parameter] { namedParameters.map(\.parameter) }

    /// The number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Every state tensor (BatchNorm running statistics) with its model-level name.
    public var namedStateTensors: [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { index, layer in
            layer.stateTensors.map { (name: "\(index).\($0.name)", tensor: $0.tensor) }
        }
    }

    /// Checks that the layers chain for inputs of `inputShape` (batch dimension first) and
    /// returns the model's output shape. Call it before training: a mismatch is found at once,
    /// not after the first epoch's data has loaded.
    /// - Throws: `ShapeError` whose operation names the layer index and the layer, with the
    ///   shape that layer needs and the one it would get.
    @discardableResult
    public func validate(inputShape: [Int]) throws(ShapeError) -> [Int] {
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            do {
                shape = try layer.outputShape(forInput: shape)
            } catch {
                throw error.inLayer(index, layer)
            }
        }
        return shape
    }

    /// Runs every layer on `input`. In `.training` mode each layer caches what `backward`
    /// needs. The context's `layerIndex` is set per layer.
    /// - Throws: `ShapeError` naming the failing layer; what a layer throws.
    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        var x = input
        var layerContext = context
        for (index, layer) in layers.enumerated() {
            layerContext.layerIndex = index
            do {
                x = try layer.forward(x, context: layerContext)
            } catch let error as ShapeError {
                throw error.inLayer(index, layer)
            }
        }
        return x
    }

    /// Propagates the gradient of the loss with respect to the model's output through every
    /// layer, last first, writing every parameter's gradient. The first layer's input
    /// gradient is not computed.
    public func backward(_ outputGradient: Tensor, pool: ThreadPool) throws {
        var gradient = outputGradient
        for index in layers.indices.reversed() {
            let context = BackwardContext(pool: pool, needsInputGradient: index > 0)
            guard let next = try layers[index].backward(gradient, context: context) else { break }
            gradient = next
        }
    }

    /// Restores parameters and state from `tensors` keyed by the model-level names (other
    /// entries, such as optimiser state, are ignored).
    /// - Throws: `ModelStateError` naming a missing or misshapen tensor.
    public func load(_ tensors: [String: Tensor]) throws {
        for (name, parameter) in namedParameters {
            guard let tensor = tensors[name] else { throw ModelStateError.missing(name: name) }
            guard tensor.shape == parameter.value.shape else {
                throw ModelStateError.shapeMismatch(name: name, expected: parameter.value.shape,
                                                    actual: tensor.shape)
            }
            parameter.value = tensor
        }
        for (index, layer) in layers.enumerated() {
            for state in layer.stateTensors {
                let name = "\(index).\(state.name)"
                guard let tensor = tensors[name] else { throw ModelStateError.missing(name: name) }
                guard tensor.shape == state.tensor.shape else {
                    throw ModelStateError.shapeMismatch(name: name, expected: state.tensor.shape,
                                                        actual: tensor.shape)
                }
                try layer.restoreState(name: state.name, tensor: tensor)
            }
        }
    }
}

extension ShapeError {
    /// The same error, its operation naming the model's layer `index` and the layer.
    func inLayer(_ index: Int, _ layer: any Layer) -> ShapeError {
        ShapeError(operation: "layer \(index) (\(layer))", expected: expected, actual: actual,
                   detail: detail)
    }
}

/// A saved model state that does not fit the model.
public enum ModelStateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model has a tensor the saved state lacks.
    case missing(name: String)
    /// A saved tensor's shape differs from the model's.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .missing(let name):
            "saved state has no tensor '\(name)' (was it saved from a different model?)"
        case .shapeMismatch(let name, let expected, let actual):
            "tensor '\(name)' has shape \(actual) but the model needs \(expected)"
        }
    }
}
