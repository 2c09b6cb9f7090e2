import ParallelRuntime
import TensorKernels

/// Runs training steps and evaluations of a model: forward, loss, backward, finiteness check,
/// optimiser update.
///
/// Everything a step computes is a function of the model's state, the batch, the seed and the
/// global step counter, so the same seed and data give the same bits on any thread count,
/// and a run resumed from a checkpoint (which stores `step`) continues bit for bit.
public final class Trainer {
    /// The model being trained.
    public let model: Sequential
    /// The optimiser.
    public let optimizer: any Optimizer
    /// The pool every kernel runs on.
    public let pool: ThreadPool
    /// The user's seed (dropout masks derive from it).
    public let seed: UInt64
    /// Training steps done so far, over all epochs (the next step's index).
    public var step: UInt64
    private let namedParameters: [(name: String, parameter: Parameter)]
    private let owners: [String]
    private let loss = SoftmaxCrossEntropyLoss()
    private var finiteness: GradientFinitenessCheck

    /// A trainer of `model` with `optimizer`, starting at global step `step`.
    public init(model: Sequential, optimizer: any Optimizer, pool: ThreadPool, seed: UInt64,
                step: UInt64 = 0) {
        self.model = model
        self.optimizer = optimizer
        self.pool = pool
        self.seed = seed
        self.step = step
        namedParameters = model.namedParameters
        finiteness = GradientFinitenessCheck(parameters: namedParameters.map(\.parameter))
        owners = model.layers.enumerated().flatMap { index, layer in
            layer.parameters.map { _ in "layer \(index), \(layer)" }
        }
    }

    /// One step on a batch: returns the batch's mean loss.
    /// - Throws: `TrainingError` if the loss or a gradient is NaN or infinite (the parameters
    ///   are left as they were before the step); `ShapeError` for a batch the model can't take.
    ///
    /// The step is one `ThreadPool.operation`: the pool runs it split or on the calling thread
    /// alone, whichever has been faster for this model and batch shape lately. Deciding per
    /// step, not per kernel, matters: the kernels of a step hand their data to each other, and
    /// a kernel timed alone looked slower split after inline neighbours had left its input in
    /// the caller's cache (BatchNorm (64,6,10,10) forward and backward each chose inline when
    /// splitting both was 1.3× faster). The bits are the same either way.
    @discardableResult
    public func trainStep(images: Tensor, labels: [Int32]) throws -> Float {
        try pool.operation(OperationKey("Trainer.trainStep", shape: images.shape, identity)) {
            try trainStepOnPool(images: images, labels: labels)
        }
    }

    /// This trainer, as a number for operation keys (two trainers on one pool time apart).
    private var identity: Int { Int(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    private func trainStepOnPool(images: Tensor, labels: [Int32]) throws -> Float {
        let context = ForwardContext(mode: .training, pool: pool, seed: seed, step: step)
        let logits = try model.forward(images, context: context)
        let (value, gradient) = try loss.compute(logits: logits, labels: labels, pool: pool)
        guard value.isFinite else { throw TrainingError(step: step, location: "the loss") }
        try model.backward(gradient, pool: pool)
        if let index = finiteness.firstNonFinite(pool: pool) {
            throw TrainingError(step: step,
                                location: "the gradient of \(namedParameters[index].name) (\(owners[index]))")
        }
        try optimizer.step(namedParameters, pool: pool)
        step += 1
        return value
    }

    /// The mean loss and the accuracy (fraction of argmax predictions equal to the label) of
    /// the model in evaluation mode on `images` [N, …] and `labels`, in batches of `batchSize`.
    /// The per-batch sums are combined in batch order.
    public func evaluate(images: Tensor, labels: [Int32], batchSize: Int) throws -> (loss: Double, accuracy: Double) {
        let count = labels.count
        precondition(batchSize > 0, "evaluation batch size must be positive, got \(batchSize)")
        guard count > 0 else { return (0, 0) }
        guard images.shape.first == count else {
            throw ShapeError(operation: "Trainer.evaluate", expected: [count] + images.shape.dropFirst(),
                             actual: images.shape, detail: "\(count) labels")
        }
        let perImage = images.count / count
        var lossSum = 0.0
        var correct = 0
        var start = 0
        while start < count {
            let size = min(batchSize, count - start)
            let batch = try Tensor(uninitializedShape: [size] + images.shape.dropFirst()) { out in
                images.withUnsafeBufferPointer { all in
                    _ = out.initialize(from: all[(start * perImage)..<((start + size) * perImage)])
                }
            }
            let batchLabels = Array(labels[start..<(start + size)])
            let (value, predictions) = try pool.operation(
                OperationKey("Trainer.evaluate", shape: batch.shape, identity)
            ) {
                let context = ForwardContext(mode: .evaluation, pool: pool, seed: seed, step: step)
                let logits = try model.forward(batch, context: context)
                let (value, _) = try loss.compute(logits: logits, labels: batchLabels, pool: pool)
                return (value, try rowArgmax(logits, pool: pool))
            }
            lossSum += Double(value) * Double(size)
            for (prediction, label) in zip(predictions, batchLabels) where prediction == Int(label) {
                correct += 1
            }
            start += size
        }
        return (lossSum / Double(count), Double(correct) / Double(count))
    }
}
