import Testing
@testable import NeuralNetwork

@Test("NeuralNetwork links against the runtime")
func neuralNetworkLinks() {
    #expect(Bool(true))
}
