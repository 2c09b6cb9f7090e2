/// The image data sets Weave loads: 28 × 28 grey-scale images in ten classes, stored as the
/// four IDX files of the MNIST distribution.
public enum DatasetKind: String, Sendable, CaseIterable {
    /// Handwritten digits (LeCun et al.). No default directory: pass one (`--data DIR`).
    case mnist
    /// Zalando's clothing images (Xiao et al.), the default; Debian's `dataset-fashion-mnist`
    /// installs it in `/usr/share/datasets/fashion-mnist/`.
    case fashionMNIST = "fashion-mnist"

    /// The name users see.
    public var displayName: String {
        switch self {
        case .mnist: "MNIST"
        case .fashionMNIST: "Fashion-MNIST"
        }
    }

    /// Where the data set is installed when no directory is given, if anywhere.
    public var defaultDirectory: String? {
        switch self {
        case .mnist: nil
        case .fashionMNIST: "/usr/share/datasets/fashion-mnist"
        }
    }

    /// How to get the data set, for error messages.
    public var installationHint: String {
        switch self {
        case .mnist:
            "pass a directory holding the four MNIST IDX files (e.g. `--data DIR`)"
        case .fashionMNIST:
            "run `tools/setup` or `apt-get install dataset-fashion-mnist`, or pass a directory "
                + "holding the four Fashion-MNIST IDX files (`--data DIR`)"
        }
    }

    /// The mean of the training pixels scaled to [0, 1], subtracted in normalisation.
    public var mean: Float {
        switch self {
        case .mnist: 0.1307
        case .fashionMNIST: 0.2860
        }
    }

    /// The standard deviation of the training pixels scaled to [0, 1], divided by in
    /// normalisation.
    public var standardDeviation: Float {
        switch self {
        case .mnist: 0.3081
        case .fashionMNIST: 0.3530
        }
    }

    /// Image height and width in pixels.
    public static let imageSide = 28
    /// The number of classes; labels are in `0 ..< classCount`.
    public static let classCount = 10

    /// The normalised value of a pixel byte: `(pixel / 255 − mean) / standardDeviation`,
    /// in `Float` arithmetic, in that order.
    public func normalized(_ pixel: UInt8) -> Float {
        (Float(pixel) / 255 - mean) / standardDeviation
    }
}
