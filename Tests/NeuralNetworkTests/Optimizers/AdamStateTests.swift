import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

/// Adam's checkpointed state: what `stateTensors` holds, how `restoreState` merges into it,
/// and what a misshapen restored moment does.
@Suite("Adam state")
struct AdamStateTests {
    private let pool = ThreadPool(threads: 1)

    private func parameter(_ name: String, _ role: Parameter.Role, values: [Float]) throws -> Parameter {
        let p = Parameter(name: name, role: role, shape: [values.count])
        p.value = try Tensor(values, shape: [values.count])
        p.gradient = try Tensor(values.map { 0.5 - $0 * 0.25 }, shape: [values.count])
        return p
    }

    /// Names, shapes and bits of every state tensor, in the order `stateTensors` gives them.
    private func snapshot(_ adam: Adam) -> [String] {
        adam.stateTensors.map { "\($0.name) \($0.tensor.shape) \($0.tensor.scalars.map(\.bitPattern))" }
    }

    private func dictionary(_ adam: Adam) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: adam.stateTensors.map { ($0.name, $0.tensor) })
    }

    @Test("The state lists each parameter's two moments by name, sorted, then the β powers")
    func stateLayout() throws {
        let w = try parameter("w", .weight, values: [1, -2, 3]), b = try parameter("b", .bias, values: [0.5])
        let adam = Adam(learningRate: 0.01, weightDecay: 0.1)
        #expect(adam.stateTensors.map(\.name) == ["optimizer.adam_powers"])
        try adam.step([("w", w), ("b", b)], pool: pool)
        try adam.step([("w", w), ("b", b)], pool: pool)
        #expect(adam.stateTensors.map(\.name) == [
            "optimizer.b.exp_avg", "optimizer.b.exp_avg_sq", "optimizer.w.exp_avg", "optimizer.w.exp_avg_sq",
            "optimizer.adam_powers",
        ])
        let powers = try #require(adam.stateTensors.last?.tensor.scalars)
        #expect(powers == [0.9 * 0.9, 0.999 * 0.999, 2])
    }

    @Test("Saved and restored, Adam continues bit for bit, and its state matches")
    func roundTrip() throws {
        let a = try parameter("w", .weight, values: [1, -2, 3]), c = try parameter("b", .bias, values: [0.5, 4])
        let first = Adam(learningRate: 0.01, weightDecay: 0.1)
        for _ in 0..<3 { try first.step([("w", a), ("b", c)], pool: pool) }
        let second = Adam(learningRate: 0.01, weightDecay: 0.1)
        try second.restoreState(dictionary(first))
        #expect(snapshot(second) == snapshot(first))
        let a2 = try parameter("w", .weight, values: [1]), c2 = try parameter("b", .bias, values: [1])
        a2.value = a.value
        c2.value = c.value
        a2.gradient = a.gradient
        c2.gradient = c.gradient
        for _ in 0..<2 {
            try first.step([("w", a), ("b", c)], pool: pool)
            try second.step([("w", a2), ("b", c2)], pool: pool)
        }
        #expect(a.value.scalars.map(\.bitPattern) == a2.value.scalars.map(\.bitPattern))
        #expect(c.value.scalars.map(\.bitPattern) == c2.value.scalars.map(\.bitPattern))
        #expect(snapshot(second) == snapshot(first))
    }

    @Test("Restoring overrides the named moments only, keeps the others and unknown ones")
    func restoreMerges() throws {
        let w = try parameter("w", .weight, values: [1, 2]), b = try parameter("b", .bias, values: [3])
        let adam = Adam(learningRate: 0.01)
        try adam.step([("w", w), ("b", b)], pool: pool)
        let before = dictionary(adam)
        let replacement = try Tensor([7, 8], shape: [2])
        try adam.restoreState(["optimizer.w.exp_avg": replacement,
                               "optimizer.orphan.exp_avg_sq": try Tensor([9], shape: [1]),
                               "model.weight": try Tensor([1], shape: [1])])
        let after = dictionary(adam)
        #expect(after.keys.sorted() == (Array(before.keys) + ["optimizer.orphan.exp_avg_sq"]).sorted())
        #expect(after["optimizer.w.exp_avg"]?.scalars == [7, 8])
        #expect(after["optimizer.w.exp_avg_sq"] == before["optimizer.w.exp_avg_sq"])
        #expect(after["optimizer.b.exp_avg"] == before["optimizer.b.exp_avg"])
        #expect(after["optimizer.adam_powers"] == before["optimizer.adam_powers"])
        // The restored moment is the one the next step starts from; the orphan stays as it is.
        try adam.step([("w", w), ("b", b)], pool: pool)
        let next = dictionary(adam)
        #expect(next["optimizer.w.exp_avg"]?.scalars[0] == 0.9 * 7 + 0.1 * w.gradient.scalars[0])
        #expect(next["optimizer.orphan.exp_avg_sq"]?.scalars == [9])
    }

    @Test("A restored moment of the wrong shape fails every step, and stays in the state as restored")
    func mismatchedMoment() throws {
        let w = try parameter("w", .weight, values: [1, 2, 3]), b = try parameter("b", .bias, values: [3])
        let adam = Adam(learningRate: 0.01)
        try adam.restoreState(["optimizer.w.exp_avg_sq": try Tensor([0.5, 0.5], shape: [2]),
                               "optimizer.adam_powers": try Tensor([0.9, 0.999, 1], shape: [3])])
        for _ in 0..<2 {
            #expect(throws: ModelStateError.shapeMismatch(name: "optimizer.w.exp_avg_sq", expected: [3], actual: [2])) {
                try adam.step([("b", b), ("w", w)], pool: pool)
            }
        }
        // b, before w, was updated each time; w was not; the powers advanced on each attempt.
        #expect(b.value.scalars != [3])
        #expect(w.value.scalars == [1, 2, 3])
        let state = dictionary(adam)
        #expect(state.keys.sorted() == ["optimizer.adam_powers", "optimizer.b.exp_avg", "optimizer.b.exp_avg_sq",
                                        "optimizer.w.exp_avg", "optimizer.w.exp_avg_sq"])
        #expect(state["optimizer.w.exp_avg"]?.scalars == [0, 0, 0])
        #expect(state["optimizer.w.exp_avg_sq"]?.scalars == [0.5, 0.5])
        #expect(state["optimizer.adam_powers"]?.scalars[2] == 3)
        // The first moment is checked first.
        let other = Adam(learningRate: 0.01)
        try other.restoreState(["optimizer.w.exp_avg": try Tensor([1], shape: [1]),
                                "optimizer.w.exp_avg_sq": try Tensor([1], shape: [1])])
        #expect(throws: ModelStateError.shapeMismatch(name: "optimizer.w.exp_avg", expected: [3], actual: [1])) {
            try other.step([("w", w)], pool: pool)
        }
    }

    @Test("Misshapen β powers are a ModelStateError, after the moments were taken")
    func mismatchedPowers() throws {
        let adam = Adam(learningRate: 0.01)
        #expect(throws: ModelStateError.shapeMismatch(name: "optimizer.adam_powers", expected: [3], actual: [2])) {
            try adam.restoreState(["optimizer.w.exp_avg": try Tensor([1], shape: [1]),
                                   "optimizer.adam_powers": try Tensor([1, 2], shape: [2])])
        }
        #expect(adam.stateTensors.map(\.name) == ["optimizer.w.exp_avg", "optimizer.adam_powers"])
        #expect(adam.stateTensors.last?.tensor.scalars == [1, 1, 0])
    }

    @Test("After the first step, Adam updates its moments in place")
    func momentsStayInPlace() throws {
        let w = try parameter("w", .weight, values: Array(repeating: 1, count: 100))
        let adam = Adam(learningRate: 0.01)
        try adam.step([("w", w)], pool: pool)
        // Addresses only: holding the tensors would make the moments shared.
        func addresses() -> [UnsafePointer<Float>?] {
            adam.stateTensors.map { $0.tensor.withUnsafeBufferPointer { $0.baseAddress } }.dropLast()
        }
        let before = addresses()
        for _ in 0..<3 { try adam.step([("w", w)], pool: pool) }
        #expect(addresses() == before)
    }
}
