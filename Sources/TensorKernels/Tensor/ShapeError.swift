/// Shapes that do not fit together at a public entry point (DESIGN §7, CONVENTIONS "Errors"):
/// names the operation and both shapes.
public struct ShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The function or layer that was called.
    public let operation: String
    /// The shape it needed.
    public let expected: [Int]
    /// The shape it was given.
    public let actual: [Int]
    /// Why they don't fit, when more than "not equal" (e.g. "element count").
    public let detail: String?

    /// An error for `operation`, which needed `expected` and got `actual`.
    public init(operation: String, expected: [Int], actual: [Int], detail: String? = nil) {
        self.operation = operation
        self.expected = expected
        self.actual = actual
        self.detail = detail
    }

    /// "operation: expected shape [...], got [...] (detail)".
    public var description: String {
        let reason = detail.map { " (\($0))" } ?? ""
        return "\(operation): expected shape \(expected), got \(actual)\(reason)"
    }
}

extension ShapeError {
    /// Validates a shape (every dimension ≥ 0, element count representable) and returns its
    /// element count.
    package static func elementCount(of shape: [Int], operation: String) throws(ShapeError) -> Int {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else {
                throw ShapeError(operation: operation, expected: shape.map { max($0, 0) },
                                 actual: shape, detail: "negative dimension")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw ShapeError(operation: operation, expected: [Int.max], actual: shape,
                                 detail: "element count overflows")
            }
            count = product
        }
        return count
    }

    /// Throws unless `actual == expected`.
    package static func check(_ actual: [Int], equals expected: [Int],
                      operation: String) throws(ShapeError) {
        guard actual == expected else {
            throw ShapeError(operation: operation, expected: expected, actual: actual)
        }
    }
}
