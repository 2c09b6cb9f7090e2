import ParallelRuntime
import Testing
@testable import TensorKernels

@Suite("Conv2d algorithm choice")
struct Conv2dAlgorithmTests {
    static func geometry(_ input: [Int], _ weight: [Int], padding: Int = 0) throws -> Conv2dGeometry {
        try Conv2dGeometry(input: input, weight: weight,
                           configuration: Conv2dConfiguration(padding: padding), operation: "test")
    }

    @Test("Direct's backward work over the true work, worked out by hand")
    func directBackwardWork() throws {
        // LeNet's Conv2d(32,64,5) on 12×12: wide rows 92 positions for 64 outputs; the input
        // gradient's correlation 188 positions over 64·25 taps per input channel:
        // (92·64·800 + 188·32·1600) / (2·64·64·800) = 14 336 000 / 6 553 600.
        let lenet = try Self.geometry([64, 32, 12, 12], [64, 32, 5, 5])
        #expect(Conv2dAlgorithm.directBackwardWork(for: lenet) == 2.1875)
        // Conv2d(64,64,3, pad 1) on 56×56: (3246·64·576 + 3478·64·576) / (2·3136·64·576).
        let large = try Self.geometry([32, 64, 56, 56], [64, 64, 3, 3], padding: 1)
        #expect(abs(Conv2dAlgorithm.directBackwardWork(for: large) - 6724.0 / 6272.0) < 1e-12)
    }

    @Test("Backward: im2col where direct wastes half again and GEMM has rows; forward: direct")
    func choices() throws {
        let cases: [(input: [Int], weight: [Int], padding: Int, backward: Conv2dAlgorithm)] = [
            ([64, 1, 28, 28], [3, 1, 5, 5], 0, .direct),      // seed: 3 output channels
            ([64, 3, 12, 12], [6, 3, 3, 3], 0, .direct),      // seed: 6 output channels
            ([64, 1, 28, 28], [32, 1, 5, 5], 0, .direct),     // LeNet's first: work 1.36
            ([64, 32, 12, 12], [64, 32, 5, 5], 0, .im2colGEMM),
            ([32, 64, 56, 56], [64, 64, 3, 3], 1, .direct),
            ([1, 1, 12, 12], [64, 1, 3, 3], 0, .direct),      // 9 taps: dX's GEMM too short
        ]
        for c in cases {
            let g = try Self.geometry(c.input, c.weight, padding: c.padding)
            #expect(Conv2dAlgorithm.preferredBackward(for: g) == c.backward, "\(c.input) \(c.weight)")
            #expect(Conv2dAlgorithm.preferredForward(for: g) == .direct)
        }
    }

    @Test("The public backward pass runs the chosen algorithm")
    func publicBackwardUsesTheChoice() throws {
        let c = Conv2dCase("16 output channels, 5×5 on 8×8", input: [2, 4, 8, 8], weight: [16, 4, 5, 5])
        try #require(Conv2dAlgorithm.preferredBackward(for: c.geometry) == .im2colGEMM)
        let pool = ThreadPool(threads: 2)
        let (x, w, _, dy) = try c.tensors()
        let gradients = try conv2dBackward(dy, input: x, weight: w, pool: pool)
        let im2col = try conv2dRun(c, algorithm: .im2colGEMM, pool: pool)
        let direct = try conv2dRun(c, algorithm: .direct, pool: pool)
        let public_ = [floatBits(gradients.input), floatBits(gradients.weight), floatBits(gradients.bias)]
        #expect(public_ == [floatBits(im2col.dx), floatBits(im2col.dw), floatBits(im2col.db)])
        // The two algorithms differ in these bits, so the check above can tell them apart.
        #expect(public_ != [floatBits(direct.dx), floatBits(direct.dw), floatBits(direct.db)])
    }
}
