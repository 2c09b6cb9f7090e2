import Testing
@testable import TensorKernels

/// One convolution problem for the tests: shapes, configuration, and seeded data.
struct Conv2dCase: CustomTestStringConvertible, Sendable {
    let name: String
    let input: [Int]     // [N, C, H, W]
    let weight: [Int]    // [O, C, KH, KW]
    let configuration: Conv2dConfiguration
    let hasBias: Bool

    init(_ name: String, input: [Int], weight: [Int],
         _ configuration: Conv2dConfiguration = Conv2dConfiguration(), bias: Bool = true) {
        self.name = name
        self.input = input
        self.weight = weight
        self.configuration = configuration
        hasBias = bias
    }

    var testDescription: String { name }

    var geometry: Conv2dGeometry {
        // The cases are valid by construction.
        do {
            return try Conv2dGeometry(input: input, weight: weight, configuration: configuration,
                                      operation: "test")
        } catch {
            preconditionFailure("invalid test case \(name): \(error)")
        }
    }

    /// Seeded values in [−1, 1), different per tensor.
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(count)
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
    }

    var x: [Float] { values(input.reduce(1, *), seed: 1) }
    var w: [Float] { values(weight.reduce(1, *), seed: 2) }
    var b: [Float]? { hasBias ? values(weight[0], seed: 3) : nil }
    var dy: [Float] { values(geometry.outputShape.reduce(1, *), seed: 4) }

    func tensors() throws -> (x: Tensor, w: Tensor, b: Tensor?, dy: Tensor) {
        (try Tensor(x, shape: input), try Tensor(w, shape: weight),
         try b.map { try Tensor($0, shape: [weight[0]]) },
         try Tensor(dy, shape: geometry.outputShape))
    }
}

/// The plain double-precision convolution, with Σ|term| per result for error bounds.
enum Conv2dReference {
    /// Calls `body(n, o, oy, ox, c, ky, kx, xIndex)` for every product that contributes.
    static func forEachTerm(_ g: Conv2dGeometry,
                            _ body: (_ yIndex: Int, _ wIndex: Int, _ xIndex: Int) -> Void) {
        for n in 0..<g.batch {
            for o in 0..<g.outputChannels {
                for oy in 0..<g.outputHeight {
                    for ox in 0..<g.outputWidth {
                        let yIndex = ((n * g.outputChannels + o) * g.outputHeight + oy) * g.outputWidth + ox
                        for c in 0..<g.inputChannels {
                            for ky in 0..<g.kernelHeight {
                                let iy = oy * g.strideHeight + ky * g.dilationHeight - g.paddingHeight
                                guard iy >= 0 && iy < g.height else { continue }
                                for kx in 0..<g.kernelWidth {
                                    let ix = ox * g.strideWidth + kx * g.dilationWidth - g.paddingWidth
                                    guard ix >= 0 && ix < g.width else { continue }
                                    let wIndex = ((o * g.inputChannels + c) * g.kernelHeight + ky) * g.kernelWidth + kx
                                    let xIndex = ((n * g.inputChannels + c) * g.height + iy) * g.width + ix
                                    body(yIndex, wIndex, xIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func forward(_ g: Conv2dGeometry, x: [Double], w: [Double], b: [Double]?)
        -> (value: [Double], magnitude: [Double]) {
        let count = g.outputShape.reduce(1, *)
        var y = [Double](repeating: 0, count: count)
        var magnitude = [Double](repeating: 0, count: count)
        if let b {
            for i in 0..<count {
                let o = (i / g.outputPlaneCount) % g.outputChannels
                y[i] = b[o]
                magnitude[i] = abs(b[o])
            }
        }
        forEachTerm(g) { yi, wi, xi in
            y[yi] += w[wi] * x[xi]
            magnitude[yi] += abs(w[wi] * x[xi])
        }
        return (y, magnitude)
    }

    struct Gradients {
        var dx, dxMagnitude, dw, dwMagnitude, db, dbMagnitude: [Double]
    }

    static func backward(_ g: Conv2dGeometry, x: [Double], w: [Double], dy: [Double]) -> Gradients {
        var r = Gradients(dx: .init(repeating: 0, count: x.count),
                          dxMagnitude: .init(repeating: 0, count: x.count),
                          dw: .init(repeating: 0, count: w.count),
                          dwMagnitude: .init(repeating: 0, count: w.count),
                          db: .init(repeating: 0, count: g.outputChannels),
                          dbMagnitude: .init(repeating: 0, count: g.outputChannels))
        forEachTerm(g) { yi, wi, xi in
            r.dx[xi] += dy[yi] * w[wi]
            r.dxMagnitude[xi] += abs(dy[yi] * w[wi])
            r.dw[wi] += dy[yi] * x[xi]
            r.dwMagnitude[wi] += abs(dy[yi] * x[xi])
        }
        for i in 0..<dy.count {
            let o = (i / g.outputPlaneCount) % g.outputChannels
            r.db[o] += dy[i]
            r.dbMagnitude[o] += abs(dy[i])
        }
        return r
    }
}

/// Indices where `actual` differs from `expected` by more than `relative · magnitude + absolute`.
func outOfTolerance(_ actual: [Float], _ expected: [Double], magnitude: [Double],
                    relative: Double = 3e-5, absolute: Double = 1e-6) -> [Int] {
    precondition(actual.count == expected.count, "\(actual.count) values against \(expected.count)")
    return actual.indices.filter {
        !(abs(Double(actual[$0]) - expected[$0]) <= relative * magnitude[$0] + absolute)
    }
}

func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }
func floatBits(_ tensor: Tensor?) -> [UInt32] { tensor?.scalars.map(\.bitPattern) ?? [] }
