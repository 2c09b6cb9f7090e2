import Testing
import Weave

@Test("The umbrella module re-exports the runtime")
func umbrellaReexportsRuntime() {
    let pool = ThreadPool(threads: 2)
    var total = 0
    pool.parallelFor(0..<1, grain: 1) { total += $0.count }
    #expect(total == 1)
}
