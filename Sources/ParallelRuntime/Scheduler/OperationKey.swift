/// Names one operation on one problem size, for `ThreadPool.operation(_:_:)`: calls with equal
/// keys are expected to take about the same time, so their measured times can be compared.
///
/// The name is a string literal, compared by its address (each literal is one constant in the
/// binary); `shape` and the four sizes carry whatever else sets the amount of work (a tensor's
/// shape, a kernel size, transposes). Building a key allocates nothing when `shape` is an
/// existing array, such as a tensor's.
public struct OperationKey: Hashable, Sendable {
    /// The literal's address: each literal is one constant in the binary, alive for the
    /// whole program.
    private let name: UInt
    private let shape: [Int]
    private let sizes: (Int, Int, Int, Int)

    public init(_ name: StaticString, shape: [Int] = [], _ a: Int = 0, _ b: Int = 0,
                _ c: Int = 0, _ d: Int = 0) {
        self.name = UInt(bitPattern: name.utf8Start)
        self.shape = shape
        sizes = (a, b, c, d)
    }

    public static func == (lhs: OperationKey, rhs: OperationKey) -> Bool {
        lhs.name == rhs.name && lhs.sizes == rhs.sizes && lhs.shape == rhs.shape
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(sizes.0)
        hasher.combine(sizes.1)
        hasher.combine(sizes.2)
        hasher.combine(sizes.3)
        hasher.combine(shape)
    }
}
