extension RandomStream {
    /// Reads one step of a stream in element order: element 0, 1, 2, … For sequential
    /// consumers whose number of draws is not known in advance (rejection sampling, shuffles).
    /// Words are generated 64 at a time.
    ///
    /// Also a `RandomNumberGenerator` (`next()` = two words, the first in the low half), but the
    /// standard library's algorithms on top of it (`Int.random(in:using:)`, `shuffle(using:)`)
    /// are not guaranteed stable across Swift versions; Weave's own use `nextWord()` and
    /// `nextBelow(_:)`, whose results are part of stream format v1.
    public struct Cursor: RandomNumberGenerator, Sendable {
        /// The stream read.
        public let stream: RandomStream
        /// The step read.
        public let step: UInt64
        /// The element the next word comes from.
        public private(set) var element: UInt64
        private var words: [UInt32]

        /// A cursor at `element` of `stream` at `step`.
        public init(stream: RandomStream, step: UInt64, element: UInt64 = 0) {
            self.stream = stream
            self.step = step
            self.element = element
            words = []
        }

        /// The next word.
        public mutating func nextWord() -> UInt32 {
            let offset = Int(element & 63)
            if offset == 0 || words.isEmpty {
                if words.isEmpty { words = Array(repeating: 0, count: 64) }
                let groupStart = element & ~63
                let stream = stream, step = step
                words.withUnsafeMutableBufferPointer {
                    stream.fillWords($0, firstElement: groupStart, step: step)
                }
            }
            element += 1
            return words[offset]
        }

        /// Two words: the first is the low half.
        public mutating func next() -> UInt64 {
            let low = UInt64(nextWord())
            return low | UInt64(nextWord()) << 32
        }

        /// A uniform integer in `0 ..< bound` without bias (Lemire's multiply-shift with
        /// rejection, "Fast random integer generation in an interval", 2019), from 32-bit words.
        /// - Precondition: `1 ≤ bound ≤ 2³²`.
        public mutating func nextBelow(_ bound: UInt64) -> UInt64 {
            precondition(bound >= 1 && bound <= 1 << 32, "nextBelow needs 1 ≤ bound ≤ 2³², got \(bound)")
            var product = UInt64(nextWord()) * bound
            var low = product & 0xFFFF_FFFF
            if low < bound {
                let threshold = ((1 << 32) - bound) % bound
                while low < threshold {
                    product = UInt64(nextWord()) * bound
                    low = product & 0xFFFF_FFFF
                }
            }
            return product >> 32
        }
    }
}
