/// How a batch-norm call on an `[N, C, spatial…]` tensor is cut into tiles. It depends only on
/// the shape (never on the thread count), and so do the results (DESIGN §4).
///
/// Each channel's `N·H·W` values are split into `chunksPerChannel` chunks of
/// `imagesPerChunk` whole images. With one chunk per channel, a tile is a group of
/// `channelsPerTile` channels, and statistics, normalisation and backward run per channel while
/// its slice is in cache. With several (few channels, or channels too large for the cache), a
/// tile is one (channel, chunk) pair: each chunk's moments are computed by two passes, and the
/// chunks of a channel are combined in chunk order (Chan et al.'s pairwise update).
package struct BatchNormTiling: Sendable, Equatable {
    /// N: images in the batch.
    package let images: Int
    /// C: channels.
    package let channels: Int
    /// H·W (the product of the dimensions after C; 1 for [N, C]).
    package let planeSize: Int
    /// Images per chunk (≥ 1).
    package let imagesPerChunk: Int
    /// Chunks per channel: ⌈N / imagesPerChunk⌉.
    package let chunksPerChannel: Int
    /// Channels per tile when `chunksPerChannel == 1`.
    package let channelsPerTile: Int

    /// With fewer channels than this, channels are split into chunks so that the work still
    /// spreads over the workers (a shape constant, not the worker count).
    package static let minimumTiles = 16
    /// Chunks are never cut smaller than this many elements to make more tiles.
    package static let minimumChunkElements = 4_096
    /// Chunks are cut so that none is larger than this (1 MiB of floats): each chunk is read
    /// twice by the two-pass moments, the second time from cache.
    package static let maximumChunkElements = 1 << 18
    /// Channels are grouped into tiles of at least this many elements.
    package static let minimumTileElements = 8_192

    /// The tiling for a shape: chunks only when channels are few or too large.
    package init(images: Int, channels: Int, planeSize: Int) {
        let perChannel = images * planeSize
        var chunks = 1
        if channels > 0 && channels < Self.minimumTiles {
            let forParallelism = (Self.minimumTiles + channels - 1) / channels
            chunks = min(forParallelism, max(1, perChannel / Self.minimumChunkElements))
        }
        chunks = max(chunks, (perChannel + Self.maximumChunkElements - 1) / Self.maximumChunkElements)
        chunks = max(1, min(chunks, images))
        self.init(images: images, channels: channels, planeSize: planeSize,
                  imagesPerChunk: max(1, (images + chunks - 1) / chunks))
    }

    /// A tiling with an explicit chunk size (tests use it to exercise both paths).
    package init(images: Int, channels: Int, planeSize: Int, imagesPerChunk: Int) {
        precondition(imagesPerChunk >= 1, "imagesPerChunk must be ≥ 1, got \(imagesPerChunk)")
        self.images = images
        self.channels = channels
        self.planeSize = planeSize
        self.imagesPerChunk = imagesPerChunk
        chunksPerChannel = images == 0 ? 1 : (images + imagesPerChunk - 1) / imagesPerChunk
        let perChannel = max(1, images * planeSize)
        channelsPerTile = max(1, Self.minimumTileElements / perChannel)
    }

    /// The tiling `BatchNormTiling(images:channels:planeSize:)` picks for `shape` ([N, C, …]).
    package init(shape: [Int]) {
        self.init(images: shape[0], channels: shape[1], planeSize: shape.dropFirst(2).reduce(1, *))
    }

    /// Values per channel: N·H·W.
    var valuesPerChannel: Int { images * planeSize }

    /// Whether a channel is one chunk (the fused per-channel path).
    var isFused: Bool { chunksPerChannel == 1 }

    /// The slice of channel `channel`, chunk `chunk` and its first element's offset.
    func slice(channel: Int, chunk: Int) -> (offset: Int, slice: BatchNormSlice) {
        let first = chunk * imagesPerChunk
        let count = min(imagesPerChunk, images - first)
        let stride = channels * planeSize
        return (first * stride + channel * planeSize,
                BatchNormSlice(segments: count, length: planeSize, stride: stride))
    }

    /// Whether normalised outputs are written with streaming stores: when the tensor is far
    /// larger than the caches, so that writing it would only evict the input being read.
    var streamsOutput: Bool { images * channels * planeSize >= 1 << 23 }
}
