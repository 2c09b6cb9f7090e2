/// Every size a convolution kernel needs, derived once from validated shapes: the problem
/// (N, C, H, W, O, KH, KW, stride, padding, dilation, OH, OW) and the layouts of the direct
/// algorithm (see `DirectConv2d`).
package struct Conv2dGeometry: Sendable, Hashable {
    package let batch, inputChannels, height, width: Int
    package let outputChannels, kernelHeight, kernelWidth: Int
    package let strideHeight, strideWidth, paddingHeight, paddingWidth: Int
    package let dilationHeight, dilationWidth: Int
    package let outputHeight, outputWidth: Int

    /// Validates the shapes and configuration (see `Conv2dConfiguration.outputShape`).
    package init(input: [Int], weight: [Int], configuration c: Conv2dConfiguration,
                 operation: String) throws(ShapeError) {
        guard input.count == 4, input.allSatisfy({ $0 >= 0 }) else {
            throw ShapeError(operation: operation, expected: [-1, -1, -1, -1], actual: input,
                             detail: "input must be [N, C, H, W]")
        }
        guard weight.count == 4, weight.allSatisfy({ $0 >= 0 }) else {
            throw ShapeError(operation: operation, expected: [-1, input[1], -1, -1], actual: weight,
                             detail: "weight must be [O, C, KH, KW]")
        }
        guard weight[1] == input[1] else {
            throw ShapeError(operation: operation, expected: [weight[0], input[1], weight[2], weight[3]],
                             actual: weight,
                             detail: "weight has \(weight[1]) input channels, the input has \(input[1])")
        }
        guard weight[2] >= 1, weight[3] >= 1 else {
            throw ShapeError(operation: operation, expected: [weight[0], weight[1], 1, 1],
                             actual: weight, detail: "kernel dimensions must be ≥ 1")
        }
        guard c.strideHeight >= 1, c.strideWidth >= 1 else {
            throw ShapeError(operation: operation, expected: [1, 1],
                             actual: [c.strideHeight, c.strideWidth], detail: "stride must be ≥ 1")
        }
        guard c.dilationHeight >= 1, c.dilationWidth >= 1 else {
            throw ShapeError(operation: operation, expected: [1, 1],
                             actual: [c.dilationHeight, c.dilationWidth],
                             detail: "dilation must be ≥ 1")
        }
        guard c.paddingHeight >= 0, c.paddingWidth >= 0 else {
            throw ShapeError(operation: operation, expected: [0, 0],
                             actual: [c.paddingHeight, c.paddingWidth], detail: "padding must be ≥ 0")
        }
        let spanHeight = c.dilationHeight * (weight[2] - 1) + 1
        let spanWidth = c.dilationWidth * (weight[3] - 1) + 1
        let paddedHeight = input[2] + 2 * c.paddingHeight
        let paddedWidth = input[3] + 2 * c.paddingWidth
        guard spanHeight <= paddedHeight, spanWidth <= paddedWidth else {
            throw ShapeError(operation: operation, expected: [spanHeight, spanWidth],
                             actual: [paddedHeight, paddedWidth],
                             detail: "dilated kernel \(spanHeight)×\(spanWidth) is larger than the "
                                 + "padded input \(paddedHeight)×\(paddedWidth)")
        }
        batch = input[0]
        inputChannels = input[1]
        height = input[2]
        width = input[3]
        outputChannels = weight[0]
        kernelHeight = weight[2]
        kernelWidth = weight[3]
        strideHeight = c.strideHeight
        strideWidth = c.strideWidth
        paddingHeight = c.paddingHeight
        paddingWidth = c.paddingWidth
        dilationHeight = c.dilationHeight
        dilationWidth = c.dilationWidth
        outputHeight = (paddedHeight - spanHeight) / strideHeight + 1
        outputWidth = (paddedWidth - spanWidth) / strideWidth + 1
    }

    package var inputShape: [Int] { [batch, inputChannels, height, width] }
    package var weightShape: [Int] { [outputChannels, inputChannels, kernelHeight, kernelWidth] }
    package var outputShape: [Int] { [batch, outputChannels, outputHeight, outputWidth] }

    /// Elements of one input image (C·H·W) and of one output image (O·OH·OW).
    package var inputImageCount: Int { inputChannels * height * width }
    package var outputImageCount: Int { outputChannels * outputPlaneCount }
    package var outputPlaneCount: Int { outputHeight * outputWidth }
    /// Taps per output channel: C·KH·KW (the GEMM's K).
    package var taps: Int { inputChannels * kernelHeight * kernelWidth }
    /// Weight elements, O·C·KH·KW.
    package var weightCount: Int { outputChannels * taps }
    /// Multiply-adds of one forward pass: N·O·OH·OW·C·KH·KW.
    package var multiplyAdds: Int { batch * outputImageCount * taps }

    package var paddedHeight: Int { height + 2 * paddingHeight }
    package var paddedWidth: Int { width + 2 * paddingWidth }
}

extension Conv2dGeometry {
    /// Throws unless `shape` is exactly `dimensions`; builds nothing unless it throws, so a
    /// steady-state call allocates nothing here.
    package static func check(_ shape: [Int], is dimensions: (Int, Int, Int, Int),
                              operation: @autoclosure () -> String) throws(ShapeError) {
        guard shape.count == 4, shape[0] == dimensions.0, shape[1] == dimensions.1,
              shape[2] == dimensions.2, shape[3] == dimensions.3 else {
            throw ShapeError(operation: operation(),
                             expected: [dimensions.0, dimensions.1, dimensions.2, dimensions.3],
                             actual: shape)
        }
    }

    /// Throws unless `shape` is `[length]`.
    package static func check(_ shape: [Int], isVectorOf length: Int,
                              operation: @autoclosure () -> String) throws(ShapeError) {
        guard shape.count == 1, shape[0] == length else {
            throw ShapeError(operation: operation(), expected: [length], actual: shape)
        }
    }

    /// (N, O, OH, OW).
    package var outputDimensions: (Int, Int, Int, Int) {
        (batch, outputChannels, outputHeight, outputWidth)
    }
    /// (N, C, H, W).
    package var inputDimensions: (Int, Int, Int, Int) { (batch, inputChannels, height, width) }
    /// (O, C, KH, KW).
    package var weightDimensions: (Int, Int, Int, Int) {
        (outputChannels, inputChannels, kernelHeight, kernelWidth)
    }
}
