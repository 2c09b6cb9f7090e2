import ParallelRuntime
import TensorKernels

/// Updates parameters from their gradients after each backward pass.
///
/// Updates are elementwise, so they run on the pool in any split and still give the same
/// bits for every thread count.
public protocol Optimizer: AnyObject, CustomStringConvertible {
    /// Applies one update to every parameter from its `gradient`.
    func step(_ parameters: [(name: String, parameter: Parameter)], pool: ThreadPool) throws

    /// The optimiser's state (momentum buffers, moment estimates, step count), named
    /// `optimizer.<parameter name>.<buffer>`, for checkpoints: resuming from it continues the
    /// run bit for bit.
    var stateTensors: [(name: String, tensor: Tensor)] { get }

    /// Restores what `stateTensors` returned; names it doesn't know are ignored.
    /// - Throws: `ModelStateError` for a misshapen tensor.
    func restoreState(_ tensors: [String: Tensor]) throws
}

/// Elements per task of the optimiser updates.
let optimizerTileElements = 16_384
