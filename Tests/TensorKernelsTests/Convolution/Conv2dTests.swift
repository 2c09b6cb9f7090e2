import CKernels
import ParallelRuntime
import Testing
@testable import TensorKernels

/// Shapes covering every code path: the seed CNN's layers, stride, padding, dilation, 1×1,
/// per-axis settings, non-square inputs, batch 1, more channels than a forward tile holds, a
/// kernel as large as the padded input, and input rows no output reads.
let conv2dCases: [Conv2dCase] = [
    Conv2dCase("seed Conv2d(1,3,5) on 28×28", input: [2, 1, 28, 28], weight: [3, 1, 5, 5]),
    Conv2dCase("seed Conv2d(3,6,3) on 12×12", input: [3, 3, 12, 12], weight: [6, 3, 3, 3]),
    Conv2dCase("stride 2, padding 1, 9×11", input: [2, 2, 9, 11], weight: [3, 2, 3, 3],
               Conv2dConfiguration(stride: 2, padding: 1)),
    Conv2dCase("dilation 2, padding 2, no bias", input: [1, 2, 10, 9], weight: [2, 2, 3, 3],
               Conv2dConfiguration(padding: 2, dilation: 2), bias: false),
    Conv2dCase("1×1 kernel", input: [2, 5, 6, 7], weight: [4, 5, 1, 1]),
    Conv2dCase("per-axis stride, padding and dilation, 2×4 kernel", input: [1, 2, 8, 13],
               weight: [3, 2, 2, 4],
               Conv2dConfiguration(stride: (1, 3), padding: (0, 2), dilation: (2, 1))),
    Conv2dCase("batch 1, 35 output channels, padding 1", input: [1, 17, 7, 7],
               weight: [35, 17, 3, 3], Conv2dConfiguration(padding: 1)),
    Conv2dCase("kernel as large as the padded input", input: [2, 1, 4, 4], weight: [2, 1, 6, 6],
               Conv2dConfiguration(padding: 1)),
    Conv2dCase("stride 3 leaves input rows unread", input: [2, 2, 10, 10], weight: [2, 2, 2, 2],
               Conv2dConfiguration(stride: 3)),
    Conv2dCase("stride (2, 1), one output row", input: [2, 1, 3, 20], weight: [5, 1, 3, 3],
               Conv2dConfiguration(stride: (2, 1), padding: (0, 0))),
]

/// Shapes for the bit-equality tests: the seed layers at a batch that splits into many tiles,
/// and the strided and many-channel paths.
let conv2dDeterminismCases: [Conv2dCase] = [
    Conv2dCase("seed Conv2d(1,3,5), batch 9", input: [9, 1, 28, 28], weight: [3, 1, 5, 5]),
    Conv2dCase("seed Conv2d(3,6,3), batch 9", input: [9, 3, 12, 12], weight: [6, 3, 3, 3]),
    conv2dCases[2], conv2dCases[5], conv2dCases[6],
]

/// Forward and backward of a case with one algorithm and kernel variant.
func conv2dRun(_ c: Conv2dCase, algorithm: Conv2dAlgorithm, pool: ThreadPool,
               isa: weave_isa = KernelISA.current.cValue)
    throws -> (y: Tensor, dx: Tensor?, dw: Tensor, db: Tensor?) {
    let (x, w, b, dy) = try c.tensors()
    let g = c.geometry
    var y = try Tensor(repeating: .nan, shape: g.outputShape)
    try conv2dForward(x, weight: w, bias: b, configuration: c.configuration, into: &y, pool: pool,
                      algorithm: algorithm, isa: isa)
    var dx: Tensor? = try Tensor(repeating: .nan, shape: g.inputShape)
    var dw = try Tensor(repeating: .nan, shape: g.weightShape)
    var db: Tensor? = c.hasBias ? try Tensor(repeating: .nan, shape: [g.outputChannels]) : nil
    try conv2dBackward(dy, input: x, weight: w, configuration: c.configuration, inputGradient: &dx,
                       weightGradient: &dw, biasGradient: &db, pool: pool,
                       algorithm: algorithm, isa: isa)
    return (y, dx, dw, db)
}

/// Forward and backward of a case, every output as bits.
func conv2dBits(_ c: Conv2dCase, algorithm: Conv2dAlgorithm, pool: ThreadPool,
                isa: weave_isa = KernelISA.current.cValue) throws -> [[UInt32]] {
    let r = try conv2dRun(c, algorithm: algorithm, pool: pool, isa: isa)
    return [floatBits(r.y), floatBits(r.dx), floatBits(r.dw), floatBits(r.db)]
}

@Suite("Conv2d")
struct Conv2dTests {
    @Test("The output shape follows PyTorch's formula")
    func outputShapes() throws {
        #expect(try Conv2dConfiguration().outputShape(input: [64, 1, 28, 28], weight: [3, 1, 5, 5])
                == [64, 3, 24, 24])
        #expect(try Conv2dConfiguration(padding: 1).outputShape(input: [32, 64, 56, 56],
                                                                 weight: [64, 64, 3, 3])
                == [32, 64, 56, 56])
        // ⌊(9 + 2 − 3) / 2⌋ + 1 = 5 and ⌊(11 + 2 − 3) / 2⌋ + 1 = 6
        #expect(try Conv2dConfiguration(stride: 2, padding: 1).outputShape(input: [1, 2, 9, 11],
                                                                           weight: [3, 2, 3, 3])
                == [1, 3, 5, 6])
        // dilation 2: span 5; ⌊(10 + 4 − 5) / 1⌋ + 1 = 10
        #expect(try Conv2dConfiguration(padding: 2, dilation: 2).outputShape(
            input: [1, 1, 10, 10], weight: [1, 1, 3, 3]) == [1, 1, 10, 10])
        #expect(try Conv2dConfiguration(stride: 3).outputShape(input: [0, 2, 10, 10],
                                                               weight: [2, 2, 2, 2])
                == [0, 2, 3, 3])
    }

    @Test("The public forward pass matches a double-precision reference", arguments: conv2dCases)
    func publicForwardMatchesReference(c: Conv2dCase) throws {
        let pool = ThreadPool(threads: 2)
        let (x, w, b, _) = try c.tensors()
        let y = try conv2dForward(x, weight: w, bias: b, configuration: c.configuration, pool: pool)
        #expect(y.shape == c.geometry.outputShape)
        let reference = Conv2dReference.forward(c.geometry, x: doubles(c.x), w: doubles(c.w),
                                                b: c.b.map(doubles))
        #expect(outOfTolerance(y.scalars, reference.value, magnitude: reference.magnitude) == [])
    }

    @Test("Forward matches a double-precision reference with every algorithm",
          arguments: conv2dCases, Conv2dAlgorithm.allCases)
    func forwardMatchesReference(c: Conv2dCase, algorithm: Conv2dAlgorithm) throws {
        let y = try conv2dRun(c, algorithm: algorithm, pool: ThreadPool(threads: 2)).y
        let reference = Conv2dReference.forward(c.geometry, x: doubles(c.x), w: doubles(c.w),
                                                b: c.b.map(doubles))
        #expect(outOfTolerance(y.scalars, reference.value, magnitude: reference.magnitude) == [])
    }

    @Test("Backward matches a double-precision reference with every algorithm",
          arguments: conv2dCases, Conv2dAlgorithm.allCases)
    func backwardMatchesReference(c: Conv2dCase, algorithm: Conv2dAlgorithm) throws {
        let (x, w, _, _) = try c.tensors()
        let run = try conv2dRun(c, algorithm: algorithm, pool: ThreadPool(threads: 2))
        let gradients = Conv2dGradients(input: run.dx, weight: run.dw, bias: run.db)
        let reference = Conv2dReference.backward(c.geometry, x: doubles(c.x), w: doubles(c.w),
                                                 dy: doubles(c.dy))
        let dx = try #require(gradients.input)
        #expect(dx.shape == x.shape)
        #expect(gradients.weight.shape == w.shape)
        #expect(outOfTolerance(dx.scalars, reference.dx, magnitude: reference.dxMagnitude) == [])
        #expect(outOfTolerance(gradients.weight.scalars, reference.dw,
                               magnitude: reference.dwMagnitude) == [])
        if c.hasBias {
            let db = try #require(gradients.bias)
            #expect(outOfTolerance(db.scalars, reference.db, magnitude: reference.dbMagnitude) == [])
        } else {
            #expect(gradients.bias == nil)
        }
    }

    @Test("Every gradient agrees with central finite differences of the forward pass",
          arguments: [conv2dCases[2], conv2dCases[3], conv2dCases[5], conv2dCases[8]],
          Conv2dAlgorithm.allCases)
    func finiteDifferences(c: Conv2dCase, algorithm: Conv2dAlgorithm) throws {
        // L = Σ dy · conv(x, w, b), evaluated in double precision; the kernel's float gradients
        // must match ∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h for every element of x, w and b.
        let run = try conv2dRun(c, algorithm: algorithm, pool: ThreadPool(threads: 3))
        let gradients = Conv2dGradients(input: run.dx, weight: run.dw, bias: run.db)
        let g = c.geometry
        let upstream = doubles(c.dy)
        let xs = doubles(c.x), ws = doubles(c.w), bs = c.b.map(doubles)
        func loss(x: [Double], w: [Double], b: [Double]?) -> Double {
            zip(Conv2dReference.forward(g, x: x, w: w, b: b).value, upstream)
                .reduce(0) { $0 + $1.0 * $1.1 }
        }
        let h = 1e-3
        func check(_ count: Int, _ kernel: [Float], _ label: String,
                   _ lossAt: (_ index: Int, _ delta: Double) -> Double) {
            var worst = 0.0
            for i in 0..<count {
                let numeric = (lossAt(i, h) - lossAt(i, -h)) / (2 * h)
                worst = max(worst, abs(numeric - Double(kernel[i])) / max(1, abs(numeric)))
            }
            #expect(worst < 1e-4, "\(label): worst relative difference \(worst)")
        }
        check(xs.count, try #require(gradients.input).scalars, "input") { i, d in
            var x = xs
            x[i] += d
            return loss(x: x, w: ws, b: bs)
        }
        check(ws.count, gradients.weight.scalars, "weight") { i, d in
            var w = ws
            w[i] += d
            return loss(x: xs, w: w, b: bs)
        }
        if let bs {
            check(bs.count, try #require(gradients.bias).scalars, "bias") { i, d in
                var b = bs
                b[i] += d
                return loss(x: xs, w: ws, b: b)
            }
        }
    }

    @Test("Forward and backward are the same bits for every thread count",
          arguments: [1, 2, 3, 4, 7])
    func threadCountIndependence(threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let serial = ThreadPool(threads: 1)
        for c in conv2dDeterminismCases {
            for algorithm in Conv2dAlgorithm.allCases {
                #expect(try conv2dBits(c, algorithm: algorithm, pool: pool)
                        == conv2dBits(c, algorithm: algorithm, pool: serial),
                        "\(c.name), \(algorithm)")
            }
        }
    }

    @Test("Every kernel variant gives the same bits",
          arguments: [WEAVE_ISA_PORTABLE, WEAVE_ISA_AVX2, WEAVE_ISA_AVX512]
              .filter { weave_cpu_supports($0) != 0 }.map(\.rawValue))
    func kernelVariants(isaValue: UInt32) throws {
        let isa = weave_isa(rawValue: isaValue)
        let pool = ThreadPool(threads: 2)
        for c in conv2dDeterminismCases + [conv2dCases[3], conv2dCases[4], conv2dCases[7]] {
            for algorithm in Conv2dAlgorithm.allCases {
                #expect(try conv2dBits(c, algorithm: algorithm, pool: pool, isa: isa)
                        == conv2dBits(c, algorithm: algorithm, pool: pool, isa: WEAVE_ISA_PORTABLE),
                        "\(c.name), \(algorithm)")
            }
        }
    }

    @Test("Both algorithms give the same forward bits", arguments: conv2dCases)
    func algorithmsAgreeOnForward(c: Conv2dCase) throws {
        let pool = ThreadPool(threads: 2)
        let direct = try conv2dRun(c, algorithm: .direct, pool: pool).y
        let gemm = try conv2dRun(c, algorithm: .im2colGEMM, pool: pool).y
        #expect(floatBits(direct) == floatBits(gemm))
    }

    @Test("The into forms overwrite stale values and never write through a shared copy")
    func intoFormsOverwrite() throws {
        let pool = ThreadPool(threads: 2)
        let c = conv2dCases[1]
        let (x, w, b, dy) = try c.tensors()
        let g = c.geometry
        let expected = try conv2dForward(x, weight: w, bias: b, pool: pool)
        var output = try Tensor(repeating: .nan, shape: g.outputShape)
        let alias = output
        try conv2dForward(x, weight: w, bias: b, into: &output, pool: pool)
        #expect(floatBits(output) == floatBits(expected))
        #expect(alias.scalars.allSatisfy { $0.isNaN })

        let fresh = try conv2dBackward(dy, input: x, weight: w, pool: pool)
        var dx: Tensor? = try Tensor(repeating: .nan, shape: g.inputShape)
        var dw = try Tensor(repeating: .nan, shape: g.weightShape)
        var db: Tensor? = try Tensor(repeating: .nan, shape: [g.outputChannels])
        let sharedWeight = dw
        // Twice: the second call must overwrite, not accumulate.
        for _ in 0..<2 {
            try conv2dBackward(dy, input: x, weight: w, inputGradient: &dx, weightGradient: &dw,
                               biasGradient: &db, pool: pool)
        }
        #expect(floatBits(dx) == floatBits(fresh.input))
        #expect(floatBits(dw) == floatBits(fresh.weight))
        #expect(floatBits(db) == floatBits(fresh.bias))
        #expect(sharedWeight.scalars.allSatisfy { $0.isNaN })

        // A nil input gradient is skipped; the parameter gradients are unchanged.
        var none: Tensor? = nil
        var noBias: Tensor? = nil
        try conv2dBackward(dy, input: x, weight: w, inputGradient: &none, weightGradient: &dw,
                           biasGradient: &noBias, pool: pool)
        #expect(none == nil && noBias == nil)
        #expect(floatBits(dw) == floatBits(fresh.weight))
    }

    @Test("An empty batch gives an empty output and zero parameter gradients")
    func emptyBatch() throws {
        let pool = ThreadPool(threads: 2)
        let x = try Tensor(zeros: [0, 2, 5, 5])
        let w = try Tensor(repeating: 1, shape: [3, 2, 3, 3])
        let y = try conv2dForward(x, weight: w, pool: pool)
        #expect(y.shape == [0, 3, 3, 3])
        let gradients = try conv2dBackward(y, input: x, weight: w, pool: pool)
        #expect(gradients.input?.shape == [0, 2, 5, 5])
        #expect(gradients.weight.scalars.allSatisfy { $0 == 0 })
        #expect(gradients.bias?.scalars == [0, 0, 0])
    }

    @Test("Each bad input is reported in the same words by every entry point")
    func shapeErrorMessages() throws {
        let pool = ThreadPool(threads: 1)
        let x = try Tensor(zeros: [2, 3, 8, 8])
        let w = try Tensor(zeros: [4, 3, 3, 3])
        let dy = try Tensor(zeros: [2, 4, 6, 6])
        func expectMessage(_ message: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) {
            #expect(sourceLocation: sourceLocation) { try body() } throws: { error in
                (error as? ShapeError)?.description == message
            }
        }
        expectMessage("conv2dForward: expected shape [4, 3, 3, 3], got [4, 2, 3, 3] "
                      + "(weight has 2 input channels, the input has 3)") {
            _ = try conv2dForward(x, weight: Tensor(zeros: [4, 2, 3, 3]), pool: pool)
        }
        expectMessage("conv2dForward: expected shape [-1, -1, -1, -1], got [3, 8, 8] (input must be [N, C, H, W])") {
            _ = try conv2dForward(Tensor(zeros: [3, 8, 8]), weight: w, pool: pool)
        }
        expectMessage("conv2dForward: expected shape [1, 1], got [0, 0] (stride must be ≥ 1)") {
            var output = try Tensor(zeros: [2, 4, 6, 6])
            try conv2dForward(x, weight: w, configuration: Conv2dConfiguration(stride: 0), into: &output,
                              pool: pool)
        }
        expectMessage("conv2dForward (bias): expected shape [4], got [3]") {
            _ = try conv2dForward(x, weight: w, bias: Tensor(zeros: [3]), pool: pool)
        }
        expectMessage("conv2dForward(into:): expected shape [2, 4, 6, 6], got [2, 4, 6, 7]") {
            var output = try Tensor(zeros: [2, 4, 6, 7])
            try conv2dForward(x, weight: w, into: &output, pool: pool)
        }
        expectMessage("conv2dBackward: expected shape [0, 0], got [-1, -1] (padding must be ≥ 0)") {
            _ = try conv2dBackward(dy, input: x, weight: w, configuration: Conv2dConfiguration(padding: -1),
                                   pool: pool)
        }
        expectMessage("conv2dBackward (output gradient): expected shape [2, 4, 6, 6], got [2, 4, 6, 5]") {
            _ = try conv2dBackward(Tensor(zeros: [2, 4, 6, 5]), input: x, weight: w, pool: pool)
        }
        var dx: Tensor? = try Tensor(zeros: [2, 3, 8, 7]), dw = w, db: Tensor? = nil
        expectMessage("conv2dBackward (input gradient): expected shape [2, 3, 8, 8], got [2, 3, 8, 7]") {
            try conv2dBackward(dy, input: x, weight: w, inputGradient: &dx, weightGradient: &dw,
                               biasGradient: &db, pool: pool)
        }
        var noInput: Tensor? = nil, wrongWeight = try Tensor(zeros: [4, 3, 3, 2])
        expectMessage("conv2dBackward (weight gradient): expected shape [4, 3, 3, 3], got [4, 3, 3, 2]") {
            var wrongBias: Tensor? = try Tensor(zeros: [5])
            try conv2dBackward(dy, input: x, weight: w, inputGradient: &noInput,
                               weightGradient: &wrongWeight, biasGradient: &wrongBias, pool: pool)
        }
        expectMessage("conv2dBackward (bias gradient): expected shape [4], got [5]") {
            var wrongBias: Tensor? = try Tensor(zeros: [5])
            try conv2dBackward(dy, input: x, weight: w, inputGradient: &noInput, weightGradient: &dw,
                               biasGradient: &wrongBias, pool: pool)
        }
        // The forms with an explicit algorithm check the same things.
        for algorithm in Conv2dAlgorithm.allCases {
            expectMessage("conv2dForward: expected shape [9, 9], got [8, 8] "
                          + "(dilated kernel 9×9 is larger than the padded input 8×8)") {
                var output = try Tensor(zeros: [2, 4, 6, 6])
                try conv2dForward(x, weight: Tensor(zeros: [4, 3, 9, 9]), bias: nil,
                                  configuration: Conv2dConfiguration(), into: &output, pool: pool,
                                  algorithm: algorithm, isa: KernelISA.current.cValue)
            }
            expectMessage("conv2dBackward (bias gradient): expected shape [4], got [5]") {
                var wrongBias: Tensor? = try Tensor(zeros: [5])
                try conv2dBackward(dy, input: x, weight: w, configuration: Conv2dConfiguration(),
                                   inputGradient: &noInput, weightGradient: &dw, biasGradient: &wrongBias,
                                   pool: pool, algorithm: algorithm, isa: KernelISA.current.cValue)
            }
        }
    }

    @Test("A shape error leaves the caller's optional gradients in place")
    func shapeErrorKeepsGradients() throws {
        let pool = ThreadPool(threads: 1)
        let x = try Tensor(zeros: [2, 3, 8, 8]), w = try Tensor(zeros: [4, 3, 3, 3])
        let dy = try Tensor(zeros: [2, 4, 6, 6])
        var dx: Tensor? = try Tensor(zeros: [2, 3, 8, 8]), dw = w
        var wrongBias: Tensor? = try Tensor(zeros: [5])
        #expect(throws: ShapeError.self) {
            try conv2dBackward(dy, input: x, weight: w, inputGradient: &dx, weightGradient: &dw,
                               biasGradient: &wrongBias, pool: pool)
        }
        #expect(wrongBias?.shape == [5] && dx?.shape == [2, 3, 8, 8])
        var wrongInput: Tensor? = try Tensor(zeros: [2, 3, 8, 7])
        var bias: Tensor? = try Tensor(zeros: [4])
        #expect(throws: ShapeError.self) {
            try conv2dBackward(dy, input: x, weight: w, inputGradient: &wrongInput, weightGradient: &dw,
                               biasGradient: &bias, pool: pool)
        }
        #expect(wrongInput?.shape == [2, 3, 8, 7] && bias?.shape == [4])
    }

    @Test("The into forms reuse every gradient buffer they are given, optional ones included")
    func intoFormsReuseBuffers() throws {
        let pool = ThreadPool(threads: 2)
        let c = conv2dCases[1]
        let (x, w, b, dy) = try c.tensors()
        let g = c.geometry
        var y = try Tensor(zeros: g.outputShape)
        var dx: Tensor? = try Tensor(zeros: g.inputShape)
        var dw = try Tensor(zeros: g.weightShape)
        var db: Tensor? = try Tensor(zeros: [g.outputChannels])
        func step() throws {
            try conv2dForward(x, weight: w, bias: b, into: &y, pool: pool)
            try conv2dBackward(dy, input: x, weight: w, inputGradient: &dx, weightGradient: &dw,
                               biasGradient: &db, pool: pool)
        }
        func addresses() -> [UnsafePointer<Float>?] {
            [y, dx!, dw, db!].map { $0.withUnsafeBufferPointer { $0.baseAddress } }
        }
        let before = addresses()
        try step()
        try step()
        #expect(addresses() == before)
    }

    @Test("Shapes that do not fit throw ShapeError naming them")
    func badShapes() throws {
        let pool = ThreadPool(threads: 1)
        let x = try Tensor(zeros: [2, 3, 8, 8])
        let w = try Tensor(zeros: [4, 3, 3, 3])
        // Channel count mismatch.
        #expect(throws: ShapeError.self) {
            try conv2dForward(x, weight: Tensor(zeros: [4, 2, 3, 3]), pool: pool)
        }
        do {
            _ = try conv2dForward(x, weight: Tensor(zeros: [4, 2, 3, 3]), pool: pool)
        } catch let error as ShapeError {
            #expect(error.actual == [4, 2, 3, 3])
            #expect(error.description.contains("2 input channels"))
        }
        // Kernel larger than the padded input (9 > 8, and 11 > 10 with padding 1).
        #expect(throws: ShapeError.self) {
            try conv2dForward(x, weight: Tensor(zeros: [4, 3, 9, 9]), pool: pool)
        }
        #expect(throws: ShapeError.self) {
            try conv2dForward(x, weight: w, configuration: Conv2dConfiguration(padding: 1, dilation: 5),
                              pool: pool)
        }
        // Zero or negative stride, zero dilation, negative padding.
        for configuration in [Conv2dConfiguration(stride: 0), Conv2dConfiguration(stride: -1),
                              Conv2dConfiguration(stride: (1, 0), padding: (0, 0)),
                              Conv2dConfiguration(dilation: 0), Conv2dConfiguration(padding: -1)] {
            #expect(throws: ShapeError.self, "\(configuration)") {
                try conv2dForward(x, weight: w, configuration: configuration, pool: pool)
            }
            #expect(throws: ShapeError.self, "\(configuration)") {
                try conv2dBackward(Tensor(zeros: [2, 4, 6, 6]), input: x, weight: w,
                                   configuration: configuration, pool: pool)
            }
        }
        // Wrong ranks, bias, output and gradient shapes.
        #expect(throws: ShapeError.self) {
            try conv2dForward(Tensor(zeros: [3, 8, 8]), weight: w, pool: pool)
        }
        #expect(throws: ShapeError.self) {
            try conv2dForward(x, weight: Tensor(zeros: [4, 3, 3]), pool: pool)
        }
        #expect(throws: ShapeError.self) {
            try conv2dForward(x, weight: w, bias: Tensor(zeros: [3]), pool: pool)
        }
        var output = try Tensor(zeros: [2, 4, 6, 7])
        #expect(throws: ShapeError.self) {
            try conv2dForward(x, weight: w, into: &output, pool: pool)
        }
        #expect(throws: ShapeError.self) {
            try conv2dBackward(Tensor(zeros: [2, 4, 6, 5]), input: x, weight: w, pool: pool)
        }
        var dx: Tensor? = try Tensor(zeros: [2, 3, 8, 7])
        var dw = try Tensor(zeros: [4, 3, 3, 3])
        var db: Tensor? = nil
        #expect(throws: ShapeError.self) {
            try conv2dBackward(Tensor(zeros: [2, 4, 6, 6]), input: x, weight: w, inputGradient: &dx,
                               weightGradient: &dw, biasGradient: &db, pool: pool)
        }
    }
}
