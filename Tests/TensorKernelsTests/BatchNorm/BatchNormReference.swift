/// Batch normalisation in `Double`, written straight from the definitions, for the tests.
struct BatchNormReference {
    let shape: [Int]
    var images: Int { shape[0] }
    var channels: Int { shape[1] }
    var plane: Int { shape.dropFirst(2).reduce(1, *) }

    func index(_ n: Int, _ c: Int, _ p: Int) -> Int { (n * channels + c) * plane + p }

    /// Per-channel mean and biased variance.
    func statistics(_ x: [Double]) -> (mean: [Double], variance: [Double]) {
        let count = Double(images * plane)
        var mean = [Double](repeating: 0, count: channels)
        var variance = mean
        for c in 0..<channels {
            var sum = 0.0
            for n in 0..<images { for p in 0..<plane { sum += x[index(n, c, p)] } }
            mean[c] = sum / count
            var squares = 0.0
            for n in 0..<images {
                for p in 0..<plane { let d = x[index(n, c, p)] - mean[c]; squares += d * d }
            }
            variance[c] = squares / count
        }
        return (mean, variance)
    }

    /// The training-mode output.
    func forward(_ x: [Double], gamma: [Double], beta: [Double], epsilon: Double = 1e-5) -> [Double] {
        let (mean, variance) = statistics(x)
        var y = x
        for n in 0..<images {
            for c in 0..<channels {
                let s = 1 / (variance[c] + epsilon).squareRoot()
                for p in 0..<plane {
                    let i = index(n, c, p)
                    y[i] = (x[i] - mean[c]) * s * gamma[c] + beta[c]
                }
            }
        }
        return y
    }

    /// The evaluation-mode output.
    func inference(_ x: [Double], gamma: [Double], beta: [Double], mean: [Double],
                   variance: [Double], epsilon: Double = 1e-5) -> [Double] {
        var y = x
        for n in 0..<images {
            for c in 0..<channels {
                for p in 0..<plane {
                    let i = index(n, c, p)
                    y[i] = (x[i] - mean[c]) / (variance[c] + epsilon).squareRoot() * gamma[c] + beta[c]
                }
            }
        }
        return y
    }
}

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}

/// Σ y·w, the scalar whose gradient with respect to the inputs is the backward pass with dy = w.
func weightedSum(_ y: [Double], _ w: [Double]) -> Double {
    zip(y, w).reduce(0) { $0 + $1.0 * $1.1 }
}
