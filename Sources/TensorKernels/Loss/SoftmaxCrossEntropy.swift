import ParallelRuntime

/// Rows per tile of the softmax cross-entropy: about 8K logits (fixed by the shape).
func softmaxRowsPerTile(classCount: Int) -> Int { max(1, 8_192 / max(1, classCount)) }

/// Softmax cross-entropy, fused and numerically stable, with its gradient (mean over the batch).
///
/// For logits [N, K] and labels yᵢ ∈ 0..<K: with mᵢ = maxⱼ zᵢⱼ, eᵢⱼ = exp(zᵢⱼ − mᵢ) (our
/// `DeterministicMath.exp`) and Sᵢ = Σⱼ eᵢⱼ (in `Double`, in j order), the row loss is
/// `ℓᵢ = log Sᵢ + mᵢ − zᵢ,yᵢ` and the result is `(Σᵢ ℓᵢ) / N` (row losses summed in `Double`,
/// within fixed tiles of rows and then over the tiles in order). Writes
/// `dLogits = (softmax(z) − onehot(y)) / N`. Bit-identical for every thread count.
///
/// - Returns: the mean loss and dLogits ([N, K]).
/// - Throws: `ShapeError` naming the shape if `logits` is not [N, K] with K ≥ 1; `LabelError`
///   naming the row and value for a label outside 0..<K, or when there are not N labels;
///   `AllocationError`.
public func softmaxCrossEntropy(logits: Tensor, labels: [Int32],
                                pool: ThreadPool) throws -> (loss: Float, logitsGradient: Tensor) {
    var gradient = try Tensor(uninitializedShape: logits.shape) { _ in }
    let loss = try softmaxCrossEntropy(logits: logits, labels: labels, into: &gradient, pool: pool)
    return (loss, gradient)
}

/// Softmax cross-entropy into an existing gradient tensor of the logits' shape (reused when
/// not shared).
///
/// - Returns: the mean loss.
/// - Throws: as the allocating form, and `ShapeError` naming both shapes if `logitsGradient`'s
///   shape differs from `logits`'.
public func softmaxCrossEntropy(logits: Tensor, labels: [Int32], into logitsGradient: inout Tensor,
                                pool: ThreadPool) throws -> Float {
    try labels.withUnsafeBufferPointer { buffer in
        try softmaxCrossEntropy(logits: logits, labels: buffer, into: &logitsGradient, pool: pool)
    }
}

/// Softmax cross-entropy with the labels in a buffer (e.g. a batch of a data set's labels),
/// into an existing gradient tensor. As `softmaxCrossEntropy(logits:labels:into:pool:)`.
public func softmaxCrossEntropy(logits: Tensor, labels: UnsafeBufferPointer<Int32>,
                                into logitsGradient: inout Tensor, pool: ThreadPool) throws -> Float {
    let operation = "softmaxCrossEntropy"
    let (rows, classes) = try checkLogits(logits, operation: operation)
    try checkLabels(labels, rows: rows, classes: classes)
    try ShapeError.check(logitsGradient.shape, equals: logits.shape, operation: operation + "(into:)")
    guard rows > 0 else { return .nan }  // the mean of nothing, as PyTorch returns
    let dz = try logitsGradient.uniqueElements()
    let z = logits.unsafeElements
    let label = labels.baseAddress!
    let inverseRows = 1 / Float(rows)
    let total = withExtendedLifetime(logits) {
        pool.parallelReduce(0..<rows, grain: softmaxRowsPerTile(classCount: classes),
                            identity: 0.0, { tile in
            var tileLoss = 0.0
            for i in tile {
                let row = z + i * classes, out = dz + i * classes
                var maximum = row[0]
                for j in 1..<classes where row[j] > maximum || row[j].isNaN {
                    maximum = row[j]
                    if maximum.isNaN { break }
                }
                var sum = 0.0
                for j in 0..<classes {
                    let e = DeterministicMath.exp(row[j] - maximum)
                    out[j] = e
                    sum += Double(e)
                }
                let scale = Float(1 / sum) * inverseRows
                for j in 0..<classes { out[j] *= scale }
                let y = Int(label[i])
                out[y] -= inverseRows
                tileLoss += Double(DeterministicMath.log(Float(sum))) + Double(maximum) - Double(row[y])
            }
            return tileLoss
        }, combine: +)
    }
    return Float(total / Double(rows))
}

/// The index of the largest logit in each row of [N, K] (ties: the first; a NaN counts as
/// largest, the first NaN wins), e.g. for accuracy. Runs on `pool` over fixed tiles of rows.
///
/// - Throws: `ShapeError` naming the shape if `logits` is not [N, K] with K ≥ 1.
public func rowArgmax(_ logits: Tensor, pool: ThreadPool) throws -> [Int32] {
    var result = [Int32](repeating: 0, count: logits.shape.first ?? 0)
    try rowArgmax(logits, into: &result, pool: pool)
    return result
}

/// The index of the largest logit in each row, into an existing array (resized to N; no
/// allocation when its capacity suffices).
///
/// - Throws: `ShapeError` naming the shape if `logits` is not [N, K] with K ≥ 1.
public func rowArgmax(_ logits: Tensor, into result: inout [Int32], pool: ThreadPool) throws {
    let (rows, classes) = try checkLogits(logits, operation: "rowArgmax")
    if result.count != rows {
        result.removeAll(keepingCapacity: true)
        result.append(contentsOf: repeatElement(0, count: rows))
    }
    let z = logits.unsafeElements
    withExtendedLifetime(logits) {
        result.withUnsafeMutableBufferPointer { out in
            pool.parallelFor(0..<rows, grain: softmaxRowsPerTile(classCount: classes)) { tile in
                for i in tile {
                    let row = z + i * classes
                    var best = 0
                    for j in 1..<classes where !row[best].isNaN && (row[j] > row[best] || row[j].isNaN) {
                        best = j
                    }
                    out[i] = Int32(best)
                }
            }
        }
    }
}

/// Checks that `logits` is [N, K] with K ≥ 1 and K < 2³¹; returns (N, K).
private func checkLogits(_ logits: Tensor, operation: String) throws(ShapeError) -> (Int, Int) {
    guard logits.rank == 2, logits.shape[1] >= 1, logits.shape[1] <= Int(Int32.max) else {
        throw ShapeError(operation: operation, expected: [logits.shape.first ?? -1, -1],
                         actual: logits.shape,
                         detail: "logits must be [N, K] with K ≥ 1 classes (−1: any size)")
    }
    return (logits.shape[0], logits.shape[1])
}

/// Checks that there are `rows` labels, each in 0..<classes.
private func checkLabels(_ labels: UnsafeBufferPointer<Int32>, rows: Int,
                         classes: Int) throws(LabelError) {
    guard labels.count == rows else {
        throw LabelError(row: -1, label: labels.count, classCount: rows)
    }
    for i in 0..<rows where labels[i] < 0 || Int(labels[i]) >= classes {
        throw LabelError(row: i, label: Int(labels[i]), classCount: classes)
    }
}
