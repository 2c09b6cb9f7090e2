import ParallelRuntime
import TensorKernels

/// Softmax cross-entropy over classes, averaged over the batch (PyTorch's
/// `nn.CrossEntropyLoss()`), fused and log-sum-exp stable; keeps its gradient buffer so a
/// steady-state step allocates nothing.
public final class SoftmaxCrossEntropyLoss {
    private var gradient: Tensor?

    /// A loss.
    public init() {}

    /// The mean loss of `logits` [N, K] against `labels` (N values in 0..<K), and the gradient
    /// with respect to the logits, (softmax − one-hot) / N.
    /// - Throws: `ShapeError` for logits that are not [N, K]; `LabelError` for a label out of
    ///   range or a label count other than N.
    public func compute(logits: Tensor, labels: [Int32],
                        pool: ThreadPool) throws -> (loss: Float, gradient: Tensor) {
        try prepareBuffer(&gradient, shape: logits.shape)
        let loss = try softmaxCrossEntropy(logits: logits, labels: labels, into: &gradient!, pool: pool)
        return (loss, gradient!)
    }
}
