import ParallelRuntime

/// What a layer's forward pass needs besides its input: the mode, the pool to run on, and
/// the coordinates that make its randomness a pure function (DESIGN §4).
public struct ForwardContext {
    /// Training or evaluation.
    public var mode: LayerMode
    /// The pool every kernel of the pass runs on.
    public var pool: ThreadPool
    /// The user's seed; layers derive their own streams from it (e.g. dropout masks).
    public var seed: UInt64
    /// The training step (0-based, counted across epochs): dropout draws mask t at step t.
    public var step: UInt64
    /// The position of the layer in its model, set by `Sequential` before each layer runs;
    /// dropout uses it to pick its stream (`RandomPurpose.dropout(layer:)`).
    public var layerIndex: Int

    /// A context for a pass in `mode` on `pool`.
    public init(mode: LayerMode, pool: ThreadPool, seed: UInt64 = 0, step: UInt64 = 0,
                layerIndex: Int = 0) {
        self.mode = mode
        self.pool = pool
        self.seed = seed
        self.step = step
        self.layerIndex = layerIndex
    }
}
