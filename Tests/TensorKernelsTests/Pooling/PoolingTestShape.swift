@testable import TensorKernels

/// What every pooling reference of the tests is built from: an NCHW input shape and a window,
/// and the output size by PyTorch's formula (floor mode).
protocol PoolingTestShape {
    var shape: [Int] { get }
    var window: Pool2dWindow { get }
}

extension PoolingTestShape {
    var outputHeight: Int { (shape[2] + 2 * window.paddingHeight - window.kernelHeight) / window.strideHeight + 1 }
    var outputWidth: Int { (shape[3] + 2 * window.paddingWidth - window.kernelWidth) / window.strideWidth + 1 }
}
