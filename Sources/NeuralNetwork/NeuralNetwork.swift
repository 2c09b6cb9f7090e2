// NeuralNetwork: Layer, layers, Sequential, losses, optimisers, data, Trainer, checkpoints.
// (Built up by the training issue; see DESIGN §7.)
import TensorKernels
