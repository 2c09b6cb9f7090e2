import Foundation
import ParallelRuntime
import Testing
@testable import TensorKernels

/// Softmax cross-entropy in `Double` from the definition (log-sum-exp with the max subtracted).
func referenceCrossEntropy(_ z: [Double], labels: [Int32], classes: Int) -> (loss: Double, gradient: [Double]) {
    let rows = labels.count
    var loss = 0.0
    var gradient = [Double](repeating: 0, count: z.count)
    for i in 0..<rows {
        let row = Array(z[(i * classes)..<((i + 1) * classes)])
        let m = row.max()!
        let sum = row.reduce(0) { $0 + Foundation.exp($1 - m) }
        loss += Foundation.log(sum) + m - row[Int(labels[i])]
        for j in 0..<classes {
            gradient[i * classes + j] = (Foundation.exp(row[j] - m) / sum - (j == Int(labels[i]) ? 1 : 0)) / Double(rows)
        }
    }
    return (loss / Double(rows), gradient)
}

func randomLabels(_ count: Int, classes: Int, seed: UInt64) -> [Int32] {
    let stream = RandomStream(seed: seed, purpose: .custom(stream: 4))
    return (0..<count).map { Int32(min(Int(stream.uniform(at: UInt64($0), step: 0) * Float(classes)), classes - 1)) }
}

@Suite("SoftmaxCrossEntropy")
struct SoftmaxCrossEntropyTests {
    @Test("Loss and gradient match a double-precision reference",
          arguments: [(64, 10), (3, 1), (17, 1000), (1000, 7)] as [(Int, Int)])
    func matchesReference(rows: Int, classes: Int) throws {
        let pool = ThreadPool(threads: 2)
        let logits = try randomTensor([rows, classes], seed: 41, standardDeviation: 5)
        let labels = randomLabels(rows, classes: classes, seed: 42)
        let (loss, gradient) = try softmaxCrossEntropy(logits: logits, labels: labels, pool: pool)
        let reference = referenceCrossEntropy(logits.scalars.doubles, labels: labels, classes: classes)
        #expect(abs(Double(loss) - reference.loss) < 1e-5 * max(1, abs(reference.loss)))
        #expect(maximumDifference(gradient.scalars, reference.gradient) < 1e-6 / Double(rows) + 1e-9)
    }

    @Test("The gradient matches finite differences of the double-precision loss")
    func gradientCheck() throws {
        let pool = ThreadPool(threads: 2)
        let logits = try randomTensor([5, 6], seed: 43, standardDeviation: 2)
        let labels: [Int32] = [0, 5, 2, 2, 3]
        let (_, gradient) = try softmaxCrossEntropy(logits: logits, labels: labels, pool: pool)
        let numeric = numericGradient(logits.scalars.doubles) {
            referenceCrossEntropy($0, labels: labels, classes: 6).loss
        }
        #expect(maximumDifference(gradient.scalars, numeric) < 1e-6)
    }

    @Test("Huge logits stay finite (log-sum-exp)")
    func stability() throws {
        let pool = ThreadPool(threads: 1)
        let logits = try Tensor([1000, -1000, 0, 88, 89, 90, -1e30, 1e30, 0], shape: [3, 3])
        let (loss, gradient) = try softmaxCrossEntropy(logits: logits, labels: [1, 0, 1], pool: pool)
        #expect(loss.isFinite && gradient.scalars.allSatisfy(\.isFinite))
        let reference = referenceCrossEntropy(logits.scalars.doubles, labels: [1, 0, 1], classes: 3)
        #expect(abs(Double(loss) - reference.loss) < 1e-5 * abs(reference.loss))
    }

    @Test("Loss and gradient are the same bits for every thread count", arguments: kernelThreadCounts)
    func threadCounts(threads: Int) throws {
        let rows = 3000, classes = 10  // several tiles of rows
        let logits = try randomTensor([rows, classes], seed: 44, standardDeviation: 3)
        let labels = randomLabels(rows, classes: classes, seed: 45)
        let (loss, gradient) = try softmaxCrossEntropy(logits: logits, labels: labels,
                                                       pool: ThreadPool(threads: threads))
        let (serialLoss, serialGradient) = try softmaxCrossEntropy(logits: logits, labels: labels,
                                                                   pool: ThreadPool(threads: 1))
        #expect(loss.bitPattern == serialLoss.bitPattern)
        #expect(bitPatterns(gradient) == bitPatterns(serialGradient))
        #expect(try rowArgmax(logits, pool: ThreadPool(threads: threads))
                == rowArgmax(logits, pool: ThreadPool(threads: 1)))
    }

    @Test("Row argmax picks the largest logit, the first on ties")
    func argmax() throws {
        let pool = ThreadPool(threads: 2)
        let logits = try Tensor([1, 3, 3, 0, 5, -1, 2, 2, 2, -4, -3, -9], shape: [4, 3])
        #expect(try rowArgmax(logits, pool: pool) == [1, 1, 0, 1])
        var reused: [Int32] = [7]
        try rowArgmax(logits, into: &reused, pool: pool)
        #expect(reused == [1, 1, 0, 1])
    }

    @Test("Labels out of range or of the wrong count throw, naming the values")
    func badLabels() throws {
        let pool = ThreadPool(threads: 1)
        let logits = try Tensor(zeros: [3, 4])
        #expect {
            _ = try softmaxCrossEntropy(logits: logits, labels: [0, 4, 1], pool: pool)
        } throws: { error in
            (error as? LabelError) == LabelError(row: 1, label: 4, classCount: 4)
                && "\(error)".contains("label 4 of row 1")
        }
        #expect(throws: LabelError(row: 2, label: -1, classCount: 4)) {
            _ = try softmaxCrossEntropy(logits: logits, labels: [0, 1, -1], pool: pool)
        }
        #expect(throws: LabelError.self) {
            _ = try softmaxCrossEntropy(logits: logits, labels: [0, 1], pool: pool)
        }
        #expect(throws: ShapeError.self) {
            _ = try softmaxCrossEntropy(logits: try Tensor(zeros: [12]), labels: [0], pool: pool)
        }
        var wrong = try Tensor(zeros: [4, 3])
        #expect {
            _ = try softmaxCrossEntropy(logits: logits, labels: [0, 1, 2], into: &wrong, pool: pool)
        } throws: { error in
            "\(error)".contains("[3, 4]") && "\(error)".contains("[4, 3]")
        }
    }
}
