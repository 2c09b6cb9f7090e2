// NeuralNetwork: Layer, layers, Sequential, losses, optimisers, data, Trainer, checkpoints.
import CZlib
import TensorKernels

/// The version of the zlib library linked for gzip data sets (shown by `weave info`).
public var zlibVersionString: String { String(cString: zlibVersion()) }
