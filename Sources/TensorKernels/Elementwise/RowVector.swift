import ParallelRuntime

/// Columns per tile of the row-vector kernels: tiles depend on the width only.
let rowVectorTileColumns = 1024

/// Adds `vector` (shape [C]) to every row of `matrix` (shape [N, C]) in place: a Linear
/// layer's bias. Each element is one `Float` addition, so the result does not depend on the
/// thread count.
/// - Throws: `ShapeError` naming both shapes if `matrix` is not [N, C].
public func addRowVector(_ vector: Tensor, to matrix: inout Tensor, pool: ThreadPool) throws {
    let columns = vector.count
    guard vector.rank == 1, matrix.rank == 2, matrix.shape[1] == columns else {
        throw ShapeError(operation: "addRowVector", expected: [matrix.shape.first ?? -1, columns],
                         actual: matrix.shape, detail: "vector of shape \(vector.shape)")
    }
    let rows = matrix.shape[0]
    vector.withUnsafeBufferPointer { v in
        matrix.withUnsafeMutableBufferPointer { m in
            guard let v = v.baseAddress, let m = m.baseAddress else { return }
            // Rows in tiles of about 64 KiB: enough work per task to pay for the fork.
            let rowsPerTile = max(1, 16_384 / max(columns, 1))
            pool.parallelFor(0..<rows, grain: rowsPerTile) { tile in
                for row in tile {
                    let line = m + row * columns
                    for column in 0..<columns { line[column] += v[column] }
                }
            }
        }
    }
}

/// Writes the sum of each column of `matrix` ([N, C]) to `sums` ([C]): a Linear layer's bias
/// gradient. Column j is summed in row order 0, 1, …, N−1 in `Float`, whoever runs it, so
/// the result does not depend on the thread count. `sums` is reused when not shared.
/// - Throws: `ShapeError` naming both shapes if `matrix` is not rank 2 or `sums` is not [C].
public func columnSums(_ matrix: Tensor, into sums: inout Tensor, pool: ThreadPool) throws {
    guard matrix.rank == 2 else {
        throw ShapeError(operation: "columnSums", expected: [-1, -1], actual: matrix.shape,
                         detail: "needs a matrix")
    }
    let (rows, columns) = (matrix.shape[0], matrix.shape[1])
    guard sums.rank == 1, sums.shape[0] == columns else {
        throw ShapeError(operation: "columnSums", expected: [columns], actual: sums.shape)
    }
    matrix.withUnsafeBufferPointer { m in
        sums.withUnsafeMutableBufferPointer { s in
            guard let m = m.baseAddress, let s = s.baseAddress else { return }
            pool.parallelFor(0..<columns, grain: rowVectorTileColumns) { tile in
                for column in tile { s[column] = 0 }
                for row in 0..<rows {
                    let line = m + row * columns
                    for column in tile { s[column] += line[column] }
                }
            }
        }
    }
}
