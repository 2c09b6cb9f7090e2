/// Names one operation on one problem size, for `ThreadPool.operation(_:_:)`: calls with equal
/// keys are expected to take about the same time, so their measured times can be compared.
///
/// The name is a string literal, compared by its address (each literal is one constant in the
/// binary); `shape` and the four sizes carry whatever else sets the amount of work (a tensor's
/// shape, a kernel size, transposes). Building a key allocates nothing when `shape` is an
/// existing array, such as a tensor's.
public struct OperationKey: Hashable, Sendable, CustomStringConvertible {
    /// The literal's address: each literal is one constant in the binary, alive for the
    /// whole program.
    private let name: UInt
    private let label: StaticString
    private let shape: [Int]
    private let sizes: (Int, Int, Int, Int)

    public init(_ name: StaticString, shape: [Int] = [], _ a: Int = 0, _ b: Int = 0,
                _ c: Int = 0, _ d: Int = 0) {
        self.name = UInt(bitPattern: name.utf8Start)
        label = name
        self.shape = shape
        sizes = (a, b, c, d)
    }

    public static func == (lhs: OperationKey, rhs: OperationKey) -> Bool {
        lhs.name == rhs.name && lhs.sizes.0 == rhs.sizes.0 && lhs.sizes.1 == rhs.sizes.1
            && lhs.sizes.2 == rhs.sizes.2 && lhs.sizes.3 == rhs.sizes.3 && lhs.shape == rhs.shape
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(sizes.0)
        hasher.combine(sizes.1)
        hasher.combine(sizes.2)
        hasher.combine(sizes.3)
        hasher.combine(shape)
    }

    /// "name [shape] a b c d", for reports (zero sizes left out).
    public var description: String {
        var text = label.description
        if !shape.isEmpty { text += " " + shape.description }
        for size in [sizes.0, sizes.1, sizes.2, sizes.3] where size != 0 { text += " \(size)" }
        return text
    }
}
