@testable import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

/// An identity layer whose backward pass writes chosen gradients into its parameters: a way to
/// put NaN or ±∞ into gradients while the loss stays finite.
private final class GradientInjector: Layer {
    let parameters: [Parameter]
    /// For each parameter, the non-finite values to write: (element, value).
    private let injected: [[(Int, Float)]]

    init(sizes: [Int], injected: [[(Int, Float)]]) {
        parameters = sizes.enumerated().map { Parameter(name: "p\($0)", role: .weight, shape: [$1]) }
        self.injected = injected
    }

    var description: String { "GradientInjector(\(parameters.map(\.value.count)))" }

    func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] { shape }

    func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor { input }

    func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        for (parameter, values) in zip(parameters, injected) {
            var gradient = try Tensor(zeros: parameter.value.shape)
            for (index, value) in values { gradient[flat: index] = value }
            parameter.gradient = gradient
        }
        return outputGradient
    }
}

@Suite("Gradient finiteness check")
struct GradientFinitenessTests {
    /// Linear(4, 3), then two injectors whose parameters span several scan chunks (16,384
    /// elements each) and hold non-finite values at chunk edges and ends.
    private func trainer(threads: Int, first: [[(Int, Float)]], second: [[(Int, Float)]]) -> Trainer {
        let model = Sequential(layers: [
            Linear(4, 3),
            GradientInjector(sizes: [40_000, 16_384, 3], injected: first),
            GradientInjector(sizes: [5, 70_000], injected: second),
        ])
        return Trainer(model: model, optimizer: SGD(learningRate: 0.1), pool: ThreadPool(threads: threads),
                       seed: 1)
    }

    private func error(threads: Int, first: [[(Int, Float)]], second: [[(Int, Float)]]) throws -> TrainingError? {
        let trainer = trainer(threads: threads, first: first, second: second)
        let images = try Tensor([1, 2, 3, 4, -1, 0.5, 2, 0], shape: [2, 4])
        do {
            try trainer.trainStep(images: images, labels: [0, 2])
            return nil
        } catch let error as TrainingError {
            return error
        }
    }

    @Test("The first non-finite gradient in model order is named, on any thread count",
          arguments: [1, 2, 3, 4, 7])
    func firstInModelOrder(threads: Int) throws {
        // 1.p0 is the first bad parameter, though its one NaN is its last element; 1.p2 and
        // 2.p1 are bad too, in later chunks, which may well finish first.
        let error = try #require(try error(
            threads: threads,
            first: [[(39_999, .nan)], [], [(2, .infinity)]],
            second: [[], [(0, -.infinity), (69_999, .nan)]]))
        #expect(error.step == 0)
        #expect(error.location == "the gradient of 1.p0 (layer 1, GradientInjector([40000, 16384, 3]))")
        #expect(error.description.contains("training diverged at step 0"))
    }

    @Test("A non-finite value on a chunk edge, or in the last element of all, is found",
          arguments: [1, 3])
    func chunkEdges(threads: Int) throws {
        // Concatenated offsets: Linear 15 elements, then 1.p0 at 15, 1.p1 at 40,015, …
        let edge = GradientFinitenessCheck.chunkElements - 15  // the second chunk's first element
        let atEdge = try error(threads: threads, first: [[(edge, .nan)], [], []], second: [[], []])
        #expect(atEdge?.location.hasPrefix("the gradient of 1.p0 ") == true)
        let last = try error(threads: threads, first: [[], [], []], second: [[], [(69_999, .infinity)]])
        #expect(last?.location.hasPrefix("the gradient of 2.p1 ") == true)
        let none = try error(threads: threads, first: [[], [], []], second: [[], []])
        #expect(none == nil)
    }
}
