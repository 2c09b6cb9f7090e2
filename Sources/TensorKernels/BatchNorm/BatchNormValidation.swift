/// Shape checks shared by the batch-norm entry points.
enum BatchNormValidation {
    /// Checks that `input` is [N, C, spatial…] and that every per-channel tensor has shape [C].
    /// Each entry point calls it once, before anything reads `input.shape[1]` (the tiling
    /// included).
    @inline(__always)
    static func check(_ input: Tensor, perChannel first: (name: String, tensor: Tensor),
                      _ second: (name: String, tensor: Tensor)? = nil,
                      _ third: (name: String, tensor: Tensor)? = nil,
                      _ fourth: (name: String, tensor: Tensor)? = nil,
                      operation: String) throws(ShapeError) {
        guard input.rank >= 2 else {
            throw ShapeError(operation: operation, expected: [-1, -1], actual: input.shape,
                             detail: "input must be [N, C] or [N, C, H, W] (−1: any size)")
        }
        let channels = input.shape[1]
        // Separate arguments, not an array, and no `[channels]` built for the comparison: a
        // steady-state training step allocates nothing here.
        func checkOne(_ entry: (name: String, tensor: Tensor)?) throws(ShapeError) {
            guard let (name, tensor) = entry, tensor.rank != 1 || tensor.shape[0] != channels else { return }
            throw ShapeError(operation: operation, expected: [channels], actual: tensor.shape,
                             detail: "\(name) must have one value per channel of input \(input.shape)")
        }
        try checkOne(first)
        try checkOne(second)
        try checkOne(third)
        try checkOne(fourth)
    }

    /// Traps unless `tiling` was made for `input`'s shape (the forms that take a tiling are for
    /// tests; a tiling of another shape would read and write out of bounds). Inputs of rank < 2
    /// are left to `check`, which throws for them.
    static func checkTiling(_ tiling: BatchNormTiling, fits input: Tensor) {
        precondition(input.rank < 2 || (tiling.images == input.shape[0] && tiling.channels == input.shape[1]
                                        && tiling.planeSize == input.shape.dropFirst(2).reduce(1, *)),
                     "tiling for \(tiling.images)×\(tiling.channels)×\(tiling.planeSize) used on \(input.shape)")
    }

    /// Checks that a tensor written by an `into:` form has the shape the call produces.
    static func checkOutput(_ output: Tensor, _ expected: [Int], name: String,
                            operation: String) throws(ShapeError) {
        guard output.shape == expected else {
            throw ShapeError(operation: operation, expected: expected, actual: output.shape,
                             detail: "\(name) must have the input's shape")
        }
    }
}
