/// What a stream of random numbers is for. With the user's seed it determines the stream's
/// key (`RandomStream(seed:purpose:)`), so the streams of different purposes and indices are
/// independent, and adding a layer or a parameter never shifts the numbers of another.
///
/// Key derivation, stream format v1 (see `README.md`): the key of `(seed, purpose)` is words 0
/// and 1 of Philox4x32-10 under key `(lo32(seed), hi32(seed))` applied to the counter
/// `(tag, lo32(index), hi32(index), 0x5745_4156)` — `tag` and `index` below; the last word is
/// "WEAV" in ASCII. What the `step` of each purpose means is listed with it.
public enum RandomPurpose: Sendable, Hashable {
    /// Initial values of parameter tensor `parameter` (its position in the model's parameter
    /// list). Tag 1, index `parameter`; step 0 (re-initialisation may use later steps).
    case weightInitialization(parameter: Int)
    /// The order of the training set. Tag 2, index `dataset` (0 for the training set);
    /// step = epoch, so each epoch has its own permutation.
    case dataShuffling(dataset: Int = 0)
    /// Dropout masks of layer `layer` (its position in the model). Tag 3, index `layer`;
    /// step = training step, element = flat index in the layer's input.
    case dropout(layer: Int)
    /// Anything else (tests, data augmentation, user code). Tag 4, index `stream`.
    case custom(stream: Int)

    /// The tag word of the derivation (stable: part of stream format v1).
    public var tag: UInt32 {
        switch self {
        case .weightInitialization: 1
        case .dataShuffling: 2
        case .dropout: 3
        case .custom: 4
        }
    }

    /// The index of the derivation (stable: part of stream format v1).
    public var index: UInt64 {
        switch self {
        case .weightInitialization(let parameter): UInt64(bitPattern: Int64(parameter))
        case .dataShuffling(let dataset): UInt64(bitPattern: Int64(dataset))
        case .dropout(let layer): UInt64(bitPattern: Int64(layer))
        case .custom(let stream): UInt64(bitPattern: Int64(stream))
        }
    }
}
