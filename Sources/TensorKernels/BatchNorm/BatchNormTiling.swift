/// How a batch-norm call on an `[N, C, spatial…]` tensor is cut into tiles. It depends only on
/// the shape (never on the thread count), and so do the results (DESIGN §4).
///
/// The images are cut into `chunks` of `imagesPerChunk`, and the channels into `groups` of
/// `channelsPerGroup`; a tile is one (chunk, group) block, which is contiguous in memory per
/// image, so every pass streams through memory in address order. Statistics are computed per
/// (chunk, channel) — two passes over the block (mean, then Σ(x − mean)²), the second from cache —
/// and the chunks of a channel are combined in chunk order (Chan et al.'s pairwise update for the
/// moments, plain sums for the backward sums).
package struct BatchNormTiling: Sendable, Equatable {
    /// N: images in the batch.
    package let images: Int
    /// C: channels.
    package let channels: Int
    /// H·W (the product of the dimensions after C; 1 for [N, C]).
    package let planeSize: Int
    /// Images per chunk (≥ 1).
    package let imagesPerChunk: Int
    /// Channels per group (≥ 1).
    package let channelsPerGroup: Int

    /// Blocks are cut to hold about this many floats (256 KiB), so that the second pass of the
    /// two-pass statistics reads from cache.
    package static let blockElements = 1 << 16
    /// With small images, blocks are made smaller (down to `minimumBlockElements`) until there
    /// are this many (a shape constant, not the worker count).
    package static let minimumTiles = 16
    /// Blocks are not cut smaller than this to make more tiles.
    package static let minimumBlockElements = 4_096

    /// The tiling for a shape.
    package init(images: Int, channels: Int, planeSize: Int) {
        let imageSize = channels * planeSize
        if imageSize >= Self.blockElements {
            let wanted = max(1, Self.blockElements / max(1, planeSize))
            let groups = (channels + wanted - 1) / wanted
            self.init(images: images, channels: channels, planeSize: planeSize, imagesPerChunk: 1,
                      channelsPerGroup: (channels + groups - 1) / groups)
        } else {
            let upper = max(1, Self.blockElements / max(1, imageSize))
            let lower = (Self.minimumBlockElements + max(1, imageSize) - 1) / max(1, imageSize)
            let wanted = (images + Self.minimumTiles - 1) / Self.minimumTiles
            let perChunk = max(1, min(min(max(wanted, lower), upper), images))
            let chunks = max(1, (images + perChunk - 1) / perChunk)
            self.init(images: images, channels: channels, planeSize: planeSize,
                      imagesPerChunk: max(1, (images + chunks - 1) / chunks),
                      channelsPerGroup: max(1, channels))
        }
    }

    /// A tiling with explicit block sizes (tests use it to check that any tiling is
    /// thread-count independent and agrees with the others to rounding).
    package init(images: Int, channels: Int, planeSize: Int, imagesPerChunk: Int,
                 channelsPerGroup: Int) {
        precondition(imagesPerChunk >= 1 && channelsPerGroup >= 1,
                     "block sizes must be ≥ 1, got \(imagesPerChunk) images × \(channelsPerGroup) channels")
        self.images = images
        self.channels = channels
        self.planeSize = planeSize
        self.imagesPerChunk = imagesPerChunk
        self.channelsPerGroup = channelsPerGroup
        streamsOutput = images * channels * planeSize >= Self.streamingElements
    }

    /// Tensors of at least this many floats (16 MiB, half the L3 of the development machine)
    /// are written with streaming stores.
    package static let streamingElements = 1 << 22

    /// The tiling `BatchNormTiling(images:channels:planeSize:)` picks for `shape` ([N, C, …]).
    package init(shape: [Int]) {
        self.init(images: shape[0], channels: shape[1], planeSize: shape.dropFirst(2).reduce(1, *))
    }

    /// Image chunks: ⌈N / imagesPerChunk⌉ (at least 1).
    package var chunks: Int { max(1, (images + imagesPerChunk - 1) / imagesPerChunk) }
    /// Channel groups: ⌈C / channelsPerGroup⌉.
    package var groups: Int { (channels + channelsPerGroup - 1) / channelsPerGroup }
    /// Tiles: chunks × groups.
    package var tiles: Int { chunks * groups }
    /// Values per channel: N·H·W.
    var valuesPerChannel: Int { images * planeSize }

    /// Tile `tile`'s chunk, first channel, and block (offset of its first element).
    package func block(_ tile: Int) -> (chunk: Int, channel: Int, offset: Int, block: BatchNormBlock) {
        let chunk = tile / groups, group = tile % groups
        let firstImage = chunk * imagesPerChunk, firstChannel = group * channelsPerGroup
        let block = BatchNormBlock(images: max(0, min(imagesPerChunk, images - firstImage)),
                                   channels: min(channelsPerGroup, channels - firstChannel),
                                   plane: planeSize, imageStride: channels * planeSize)
        return (chunk, firstChannel, firstImage * block.imageStride + firstChannel * planeSize, block)
    }

    /// The number of values of one channel in chunk `chunk`.
    func values(inChunk chunk: Int) -> Int {
        max(0, min(imagesPerChunk, images - chunk * imagesPerChunk)) * planeSize
    }

    /// Whether outputs are written with streaming (non-temporal) stores. By default, when the
    /// tensor is far larger than the caches, so that writing it would only evict the input
    /// being read. Never changes a value.
    package var streamsOutput: Bool
}
