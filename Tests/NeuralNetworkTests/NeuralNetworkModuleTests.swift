import NeuralNetwork
import Testing

@Test("The NeuralNetwork module links zlib")
func neuralNetworkLinksZlib() {
    #expect(!zlibVersionString.isEmpty)
}
