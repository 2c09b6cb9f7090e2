/// Whether a forward pass trains (batch statistics, dropout on, caches kept for backward) or
/// evaluates (running statistics, dropout off, nothing cached).
public enum LayerMode: Sendable, Equatable {
    /// Training: layers cache what `backward` needs.
    case training
    /// Evaluation (inference): deterministic, no caches, no parameter or statistic changes.
    case evaluation
}
