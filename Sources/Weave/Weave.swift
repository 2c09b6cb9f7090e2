// The umbrella module: `import Weave` gives the whole public API.
@_exported import NeuralNetwork
@_exported import ParallelRuntime
@_exported import TensorKernels
