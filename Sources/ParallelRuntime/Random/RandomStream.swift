import CKernels

/// A counter-based stream of random 32-bit words: the word of element `i` at step `t` is a
/// pure function of the stream's key, `t` and `i`, computed in O(1) without generating the
/// words before it. A tile of a parallel loop computes exactly its own elements, so results
/// do not depend on the thread count, the tile size or the order of execution.
///
/// Stream format v1 (also in `README.md`; changing it changes every seeded result):
/// - key: `RandomStream(seed:purpose:)` derives a 64-bit Philox key (`RandomPurpose`);
/// - element `e` at step `t` is word `w = (e mod 64) / 16` of the Philox4x32-10 block with
///   counter `(lo32(b), hi32(b), lo32(t), hi32(t))`, where `b = 16·(e / 64) + (e mod 16)`.
///   A group of 64 elements is 16 consecutive blocks laid out so that word `w` of those
///   blocks is elements `16w … 16w+15`: one 16-lane vector, no transpose.
/// - uniform `Float` in [0, 1): top 24 bits of the word (`Philox4x32.unitFloat`);
/// - normal: Box–Muller on the words of one block, elements with `w` = 0 and 1 (and `w` = 2
///   and 3) form a pair; the even one takes `r cos θ`, the odd one `r sin θ`
///   (`Philox4x32.normalPair`);
/// - Bernoulli: integer compare of the word with `Philox4x32.bernoulliThreshold`.
public struct RandomStream: Sendable, Hashable {
    /// The version of the counter and key layout documented above.
    public static let formatVersion = 1

    /// The Philox generator holding this stream's key.
    public let generator: Philox4x32

    /// The key words (`k[0]`, `k[1]`).
    public var key: SIMD2<UInt32> { generator.key }

    /// The stream for `purpose` under the user's `seed` (key derivation v1, see `RandomPurpose`).
    public init(seed: UInt64, purpose: RandomPurpose) {
        let derivation = Philox4x32(key: seed)
        let index = purpose.index
        let words = derivation.block(SIMD4(purpose.tag, UInt32(truncatingIfNeeded: index),
                                           UInt32(truncatingIfNeeded: index >> 32), 0x5745_4156))
        generator = Philox4x32(key: SIMD2(words[0], words[1]))
    }

    /// The stream with an explicit key (no derivation).
    public init(key: SIMD2<UInt32>) {
        generator = Philox4x32(key: key)
    }

    /// Where element `element` lives: its block index and the word within the block.
    @inlinable
    public static func location(ofElement element: UInt64) -> (block: UInt64, word: Int) {
        ((element >> 6) << 4 | (element & 15), Int((element >> 4) & 3))
    }

    /// The four words of block `block` at `step`.
    @inlinable
    public func block(_ block: UInt64, step: UInt64) -> SIMD4<UInt32> {
        generator.block(low: block, high: step)
    }

    /// The word of element `element` at `step`.
    @inlinable
    public func word(at element: UInt64, step: UInt64) -> UInt32 {
        let (blockIndex, word) = Self.location(ofElement: element)
        return block(blockIndex, step: step)[word]
    }

    /// The uniform `Float` in [0, 1) of element `element` at `step`.
    @inlinable
    public func uniform(at element: UInt64, step: UInt64) -> Float {
        Philox4x32.unitFloat(word(at: element, step: step))
    }

    /// The standard normal value of element `element` at `step` (Box–Muller, see above).
    public func normal(at element: UInt64, step: UInt64) -> Float {
        let (blockIndex, word) = Self.location(ofElement: element)
        let words = block(blockIndex, step: step)
        let first = word & ~1
        let pair = Philox4x32.normalPair(words[first], words[first + 1])
        return word & 1 == 0 ? pair.0 : pair.1
    }

    /// Writes the words of elements `firstElement ..< firstElement + buffer.count` at `step`
    /// to `buffer`, with the fastest kernel this CPU runs (`PhiloxKernels`). Same words as
    /// `word(at:step:)`, whatever the kernel.
    public func fillWords(_ buffer: UnsafeMutableBufferPointer<UInt32>, firstElement: UInt64,
                          step: UInt64) {
        PhiloxKernels.fill(buffer, key: key, step: step, firstElement: firstElement,
                           isa: PhiloxKernels.selectedISA)
    }

    /// Writes uniform `Float`s in [0, 1) of elements `firstElement ..< firstElement + count`
    /// (the same values as `uniform(at:step:)`).
    public func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>, firstElement: UInt64,
                            step: UInt64) {
        // The words are written into the float buffer itself, then converted in place.
        buffer.withMemoryRebound(to: UInt32.self) { words in
            fillWords(words, firstElement: firstElement, step: step)
            for i in words.indices {
                words[i] = Philox4x32.unitFloat(words[i]).bitPattern
            }
        }
    }

    /// Writes standard normal values of elements `firstElement ..< firstElement + count`
    /// (the same values as `normal(at:step:)`). Each Box–Muller pair is computed once when
    /// both of its elements are in the range.
    public func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, firstElement: UInt64,
                           step: UInt64) {
        guard !buffer.isEmpty else { return }
        let end = firstElement + UInt64(buffer.count)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { words in
            var group = firstElement >> 6
            while group << 6 < end {
                let groupStart = group << 6
                fillWords(words, firstElement: groupStart, step: step)
                let lower = max(groupStart, firstElement), upper = min(groupStart + 64, end)
                for element in lower..<upper {
                    let r = Int(element - groupStart)
                    let odd = (r >> 4) & 1 == 1
                    let first = odd ? r - 16 : r
                    let partner = odd ? element - 16 : element + 16
                    // An even element also writes its odd partner, which then skips itself.
                    if odd && partner >= lower { continue }
                    let pair = Philox4x32.normalPair(words[first], words[first + 16])
                    if odd {
                        buffer[Int(element - firstElement)] = pair.1
                    } else {
                        buffer[Int(element - firstElement)] = pair.0
                        if partner < upper { buffer[Int(partner - firstElement)] = pair.1 }
                    }
                }
                group += 1
            }
        }
    }
}
