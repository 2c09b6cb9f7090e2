/// The models `weave train` knows by name (DESIGN §1), all for 1×28×28 images and 10 classes.
public enum ModelPreset: String, CaseIterable, Sendable {
    /// Flatten, Linear(784,48) ReLU Linear(48,24) ReLU Linear(24,10).
    case mlp
    /// `mlp` with Dropout(0.5) after the first hidden layer and Dropout(0.2) after the second.
    case mlpDropout = "mlp-dropout"
    /// `mlp` with BatchNorm1d after each hidden Linear.
    case mlpBN = "mlp-bn"
    /// `mlp-bn` with the dropout of `mlp-dropout`.
    case mlpBNDropout = "mlp-bn-dropout"
    /// Conv2d(1,3,5) ReLU AvgPool2d(2) Conv2d(3,6,3) BatchNorm2d(6) ReLU AvgPool2d(2)
    /// Flatten Linear(150,25) ReLU Linear(25,10).
    case cnnBN = "cnn-bn"
    /// `cnn-bn` with Dropout(0.5) after the hidden Linear(150,25)+ReLU, as in DESIGN §1's
    /// library example (the conv blocks are too narrow, 3 and 6 channels, to drop from).
    case cnnBNDropout = "cnn-bn-dropout"
    /// Conv2d(1,32,5) BatchNorm2d ReLU MaxPool2d(2) Conv2d(32,64,5) BatchNorm2d ReLU
    /// MaxPool2d(2) Flatten Linear(1024,128) ReLU Dropout(0.5) Linear(128,10).
    case lenet

    /// The shape of one input image, [C, H, W].
    public static let imageShape = [1, 28, 28]

    /// A new, uninitialised model of this preset (call `initializeParameters(seed:)`).
    public func makeModel() -> Sequential {
        switch self {
        case .mlp, .mlpDropout, .mlpBN, .mlpBNDropout:
            let normalized = self == .mlpBN || self == .mlpBNDropout
            let dropout = self == .mlpDropout || self == .mlpBNDropout
            return Sequential {
                Flatten()
                Linear(784, 48)
                if normalized { BatchNorm1d(48) }
                ReLU()
                if dropout { Dropout(0.5) }
                Linear(48, 24)
                if normalized { BatchNorm1d(24) }
                ReLU()
                if dropout { Dropout(0.2) }
                Linear(24, 10)
            }
        case .cnnBN, .cnnBNDropout:
            let dropout = self == .cnnBNDropout
            return Sequential {
                Conv2d(1, 3, kernel: 5)
                ReLU()
                AvgPool2d(2)
                Conv2d(3, 6, kernel: 3)
                BatchNorm2d(6)
                ReLU()
                AvgPool2d(2)
                Flatten()
                Linear(150, 25)
                ReLU()
                if dropout { Dropout(0.5) }
                Linear(25, 10)
            }
        case .lenet:
            return Sequential {
                Conv2d(1, 32, kernel: 5)
                BatchNorm2d(32)
                ReLU()
                MaxPool2d(2)
                Conv2d(32, 64, kernel: 5)
                BatchNorm2d(64)
                ReLU()
                MaxPool2d(2)
                Flatten()
                Linear(1024, 128)
                ReLU()
                Dropout(0.5)
                Linear(128, 10)
            }
        }
    }
}
