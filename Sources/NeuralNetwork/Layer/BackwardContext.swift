import ParallelRuntime

/// What a layer's backward pass needs besides the gradient of its output.
public struct BackwardContext {
    /// The pool every kernel of the pass runs on.
    public var pool: ThreadPool
    /// Whether the caller needs the gradient with respect to the layer's input. The first
    /// layer of a model skips it (for a convolution, that is most of the backward work).
    public var needsInputGradient: Bool

    /// A context for a backward pass on `pool`.
    public init(pool: ThreadPool, needsInputGradient: Bool = true) {
        self.pool = pool
        self.needsInputGradient = needsInputGradient
    }
}
