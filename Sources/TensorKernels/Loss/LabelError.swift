/// A class label outside `0 ..< classCount`, or a label count that does not match the batch,
/// naming the values.
public struct LabelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The row (example) whose label is wrong, or −1 for a count mismatch.
    public let row: Int
    /// The label given (or the number of labels, for a count mismatch).
    public let label: Int
    /// The number of classes K (or the batch size, for a count mismatch).
    public let classCount: Int

    /// An error for row `row`, label `label`, with `classCount` classes.
    public init(row: Int, label: Int, classCount: Int) {
        self.row = row
        self.label = label
        self.classCount = classCount
    }

    /// "label 12 of row 3 is outside 0..<10" or "10 labels for a batch of 64".
    public var description: String {
        row < 0 ? "\(label) labels for a batch of \(classCount)"
            : "label \(label) of row \(row) is outside 0..<\(classCount)"
    }
}
