#if canImport(Glibc)
import Glibc
#endif

/// A data set in memory: its training and test splits, normalised (see `DatasetSplit`).
///
/// ```swift
/// let data = try Dataset.load(.fashionMNIST)             // or .mnist, directory: "DIR"
/// let loader = BatchLoader(data.train.prefix(10_000), batchSize: 64, seed: 7)
/// ```
public struct Dataset: Sendable {
    /// Which data set this is.
    public let kind: DatasetKind
    /// The training split (60,000 images for MNIST and Fashion-MNIST).
    public let train: DatasetSplit
    /// The test split (10,000 images).
    public let test: DatasetSplit

    /// The base names of the four IDX files; each may also carry `.gz`.
    public static let fileNames = (trainImages: "train-images-idx3-ubyte",
                                   trainLabels: "train-labels-idx1-ubyte",
                                   testImages: "t10k-images-idx3-ubyte",
                                   testLabels: "t10k-labels-idx1-ubyte")

    /// A data set from its two splits.
    public init(kind: DatasetKind, train: DatasetSplit, test: DatasetSplit) {
        self.kind = kind
        self.train = train
        self.test = test
    }

    /// Loads `kind` from `directory` (or `kind.defaultDirectory` when nil), which must hold
    /// the four MNIST-layout files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each plain or with `.gz` (the
    /// plain one is used if both exist). Checks 28 × 28 images, labels 0…9 and matching counts.
    /// - Throws: `DataError`: a missing directory or file says how to get the data set; a bad
    ///   file names itself and the byte offset.
    public static func load(_ kind: DatasetKind, directory: String? = nil) throws(DataError) -> Dataset {
        guard let directory = directory ?? kind.defaultDirectory else {
            throw DataError(file: "(no directory)",
                            problem: "\(kind.displayName) has no default location: \(kind.installationHint)")
        }
        guard isDirectory(directory) else {
            throw DataError(file: directory,
                            problem: "\(kind.displayName) not found (no such directory): \(kind.installationHint)")
        }
        func path(_ base: String) throws(DataError) -> String {
            let folder = directory.hasSuffix("/") ? directory : directory + "/"
            for candidate in [folder + base, folder + base + ".gz"] where access(candidate, F_OK) == 0 {
                return candidate
            }
            throw DataError(file: folder + base,
                            problem: "\(kind.displayName) file missing (looked for \(base) and \(base).gz "
                                + "in \(directory)): \(kind.installationHint)")
        }
        let names = fileNames
        let trainImages = try path(names.trainImages), trainLabels = try path(names.trainLabels)
        let testImages = try path(names.testImages), testLabels = try path(names.testLabels)
        let train = try DatasetSplit(imagesFile: trainImages, labelsFile: trainLabels, kind: kind)
        let test = try DatasetSplit(imagesFile: testImages, labelsFile: testLabels, kind: kind)
        return Dataset(kind: kind, train: train, test: test)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }
}
