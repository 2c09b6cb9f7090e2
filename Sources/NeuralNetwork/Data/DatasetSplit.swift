import TensorKernels

/// One part of a data set (training or test): normalised images and their labels.
///
/// `images` is one contiguous `[count, 1, 28, 28]` tensor (NCHW), each pixel
/// `DatasetKind.normalized(_:)` of its byte; `labels[i]` is the class of image i, in 0…9.
public struct DatasetSplit: Sendable {
    /// The images, `[count, 1, 28, 28]`, normalised.
    public let images: Tensor
    /// The class of each image, in `0 ..< DatasetKind.classCount`.
    public let labels: [Int32]
    /// The data set the images come from (it fixes the normalisation).
    public let kind: DatasetKind

    /// The number of examples.
    public var count: Int { labels.count }

    /// The shape of one example: `[1, 28, 28]`.
    public var exampleShape: [Int] { Array(images.shape.dropFirst()) }

    /// A split from already normalised `images` (`[n, …]`) and `n` labels.
    /// - Precondition: `images.shape.first == labels.count`.
    public init(images: Tensor, labels: [Int32], kind: DatasetKind) {
        precondition(images.rank >= 1 && images.shape[0] == labels.count,
                     "images of shape \(images.shape) do not match \(labels.count) labels")
        self.images = images
        self.labels = labels
        self.kind = kind
    }

    /// Loads a split from an IDX image file (`[n, 28, 28]` unsigned bytes) and an IDX label
    /// file (`[n]` unsigned bytes, each 0…9), raw or gzip, and normalises the images for `kind`.
    /// - Throws: `DataError` naming the file at fault: unreadable or malformed IDX, the wrong
    ///   type or shape, a label out of range (with its offset), or counts that differ.
    public init(imagesFile: String, labelsFile: String, kind: DatasetKind) throws(DataError) {
        let side = DatasetKind.imageSide
        let imageFile = try IDXFile(contentsOf: imagesFile)
        guard imageFile.elementType == .unsignedByte, imageFile.dimensions.count == 3,
              imageFile.dimensions[1] == side, imageFile.dimensions[2] == side else {
            throw DataError(file: imagesFile, offset: 2, offsetIsAfterDecompression: imageFile.wasCompressed,
                            problem: "expected images of unsigned bytes with dimensions [n, \(side), "
                                + "\(side)], found \(imageFile.elementType) with dimensions "
                                + "\(imageFile.dimensions)")
        }
        let labelFile = try IDXFile(contentsOf: labelsFile)
        guard labelFile.elementType == .unsignedByte, labelFile.dimensions.count == 1 else {
            throw DataError(file: labelsFile, offset: 2, offsetIsAfterDecompression: labelFile.wasCompressed,
                            problem: "expected labels of unsigned bytes with dimensions [n], found "
                                + "\(labelFile.elementType) with dimensions \(labelFile.dimensions)")
        }
        let count = imageFile.dimensions[0]
        guard labelFile.dimensions[0] == count else {
            throw DataError(file: labelsFile, offset: 4, offsetIsAfterDecompression: labelFile.wasCompressed,
                            problem: "\(labelFile.dimensions[0]) labels for the \(count) images of "
                                + "\(imagesFile)")
        }
        if let bad = labelFile.payload.firstIndex(where: { Int($0) >= DatasetKind.classCount }) {
            throw DataError(file: labelsFile, offset: labelFile.payloadOffset + bad,
                            offsetIsAfterDecompression: labelFile.wasCompressed,
                            problem: "label \(labelFile.payload[bad]) of example \(bad) is outside "
                                + "0...\(DatasetKind.classCount - 1)")
        }
        let table = (0...255).map { kind.normalized(UInt8($0)) }
        let images: Tensor
        do {
            images = try Tensor(uninitializedShape: [count, 1, side, side]) { buffer in
                imageFile.payload.withUnsafeBufferPointer { pixels in
                    table.withUnsafeBufferPointer { table in
                        for i in 0..<pixels.count { buffer[i] = table[Int(pixels[i])] }
                    }
                }
            }
        } catch {
            throw DataError(file: imagesFile, problem: "cannot allocate \(count) normalised images: \(error)")
        }
        self.init(images: images, labels: labelFile.payload.map { Int32($0) }, kind: kind)
    }

    /// The first `maximumCount` examples (all of them if there are fewer), sharing this
    /// split's storage — no copy. For fast runs, e.g. 10,000 training images.
    /// - Precondition: `maximumCount ≥ 0`.
    public func prefix(_ maximumCount: Int) -> DatasetSplit {
        precondition(maximumCount >= 0, "prefix length must be ≥ 0, got \(maximumCount)")
        let kept = min(maximumCount, count)
        let shape = [kept] + exampleShape
        return DatasetSplit(images: Tensor(storage: images.storage, shape: shape),
                            labels: Array(labels.prefix(kept)), kind: kind)
    }
}
