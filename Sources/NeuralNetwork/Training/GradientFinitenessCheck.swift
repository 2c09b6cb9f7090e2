import ParallelRuntime
import TensorKernels

/// Finds the first parameter, in model order, whose gradient holds a NaN or an infinity, with
/// every gradient scanned on the pool in one pass.
///
/// The gradients are laid end to end (parameter 0's elements, then parameter 1's, …) and that
/// range is cut into chunks of `chunkElements`, so the tiles depend on the model's shapes only
/// (DESIGN §4). Each chunk reports the lowest parameter with a non-finite value inside it, and
/// the chunks' answers are combined by taking the lowest. That is the parameter a serial scan in
/// model order stops at, whatever the thread count and whichever chunk finishes first, so the
/// error names the same parameter on every run.
struct GradientFinitenessCheck {
    /// Elements per task (64 KiB of gradients): the scan is memory-bound, and smaller tasks
    /// would cost more to hand out than to run.
    static let chunkElements = 1 << 14

    private let parameters: [Parameter]
    /// Each gradient's first element and where it ends in the concatenated range, refreshed by
    /// every check (layers may replace a gradient tensor between steps); allocated once, so a
    /// check allocates nothing.
    private var bases: [UnsafePointer<Float>]
    private var ends: [Int]

    /// A check of `parameters`' gradients, reported as indices into `parameters`.
    init(parameters: [Parameter]) {
        self.parameters = parameters
        bases = parameters.map { $0.gradient.unsafeElements }
        ends = Array(repeating: 0, count: parameters.count)
    }

    /// The index of the first parameter whose gradient is not all finite, or nil.
    mutating func firstNonFinite(pool: ThreadPool) -> Int? {
        var total = 0
        for (index, parameter) in parameters.enumerated() {
            bases[index] = parameter.gradient.unsafeElements
            total += parameter.gradient.count
            ends[index] = total
        }
        // The gradients stay alive and unchanged during the scan: `parameters` holds them, and
        // nothing runs on the model meanwhile.
        let first = bases.withUnsafeBufferPointer { bases in
            ends.withUnsafeBufferPointer { ends in
                pool.parallelReduce(0..<total, grain: Self.chunkElements, identity: Int.max) { chunk in
                    Self.firstNonFinite(in: chunk, bases: bases, ends: ends)
                } combine: { min($0, $1) }
            }
        }
        return first == Int.max ? nil : first
    }

    /// The lowest parameter with a non-finite value in `chunk` of the concatenated range, or
    /// `Int.max`.
    private static func firstNonFinite(in chunk: Range<Int>, bases: UnsafeBufferPointer<UnsafePointer<Float>>,
                                       ends: UnsafeBufferPointer<Int>) -> Int {
        var index = 0
        while ends[index] <= chunk.lowerBound { index += 1 }  // the parameter holding the chunk's start
        var start = index == 0 ? 0 : ends[index - 1]
        while index < ends.count && start < chunk.upperBound {
            let lower = max(start, chunk.lowerBound), upper = min(ends[index], chunk.upperBound)
            if containsNonFinite(bases[index] + (lower - start), count: upper - lower) {
                return index
            }
            start = ends[index]
            index += 1
        }
        return Int.max
    }

    /// Whether any of `count` values is NaN or ±∞.
    private static func containsNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        // NaN and ±∞ are the values whose exponent bits are all ones; OR-ing the test over the
        // elements is an integer reduction the compiler vectorises (no early exit to break it).
        var nonFinite: UInt32 = 0
        for i in 0..<count {
            nonFinite |= (values[i].bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
        }
        return nonFinite != 0
    }
}
