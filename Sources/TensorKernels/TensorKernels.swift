// TensorKernels: Tensor, SGEMM, Conv2d, BatchNorm, pooling, elementwise, softmax-CE, dropout.
// (Built up by the kernel issues; see DESIGN §6.)
import ParallelRuntime
