import TensorKernels

/// Remembers a layer's last input shape and the output shape computed for it, so a steady-state
/// step (same batch shape every time) builds no new shape arrays: returning the cached array
/// retains it, while computing one allocates.
struct ShapeCache {
    private var input: [Int] = []
    private var output: [Int] = []

    /// The output shape for `shape`, from the cache when `shape` is the last one seen.
    mutating func outputShape(for shape: [Int],
                              _ compute: ([Int]) throws(ShapeError) -> [Int]) throws(ShapeError) -> [Int] {
        if shape == input && !output.isEmpty { return output }
        let result = try compute(shape)
        input = shape
        output = result
        return result
    }
}
