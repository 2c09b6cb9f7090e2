/// The window of a 2-D pooling layer: kernel size, stride and zero padding per dimension
/// (PyTorch's `MaxPool2d`/`AvgPool2d` arguments, with `ceil_mode=False` and dilation 1).
public struct Pool2dWindow: Sendable, Equatable, CustomStringConvertible {
    /// Kernel height and width.
    public var kernelHeight: Int, kernelWidth: Int
    /// Vertical and horizontal step between windows.
    public var strideHeight: Int, strideWidth: Int
    /// Implicit padding on each side (top and bottom, left and right).
    public var paddingHeight: Int, paddingWidth: Int

    /// A square window: `kernel × kernel`, stride `stride` (default: the kernel, as in
    /// PyTorch), padding `padding` on every side.
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.init(kernelHeight: kernel, kernelWidth: kernel, strideHeight: stride ?? kernel,
                  strideWidth: stride ?? kernel, paddingHeight: padding, paddingWidth: padding)
    }

    /// A window with every size given.
    public init(kernelHeight: Int, kernelWidth: Int, strideHeight: Int, strideWidth: Int,
                paddingHeight: Int = 0, paddingWidth: Int = 0) {
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.paddingHeight = paddingHeight
        self.paddingWidth = paddingWidth
    }

    /// "kernel 2×2, stride 2×2, padding 0×0".
    public var description: String {
        "kernel \(kernelHeight)×\(kernelWidth), stride \(strideHeight)×\(strideWidth), "
            + "padding \(paddingHeight)×\(paddingWidth)"
    }

    /// The output shape for an input of `inputShape` ([N, C, H, W]):
    /// [N, C, ⌊(H + 2·pad − kernel)/stride⌋ + 1, ⌊(W + 2·pad − kernel)/stride⌋ + 1].
    /// - Throws: `ShapeError` naming the input shape if it is not rank 4, if a kernel or stride
    ///   is < 1 or a padding < 0 or more than half the kernel (PyTorch's limit, which also
    ///   guarantees that every window holds at least one input element), or if the kernel is
    ///   larger than the padded input.
    public func outputShape(forInput inputShape: [Int]) throws(ShapeError) -> [Int] {
        try geometry(forInput: inputShape, operation: "Pool2dWindow.outputShape").outputShape
    }

    /// Validates the window against an input shape and returns the pooling geometry.
    func geometry(forInput shape: [Int], operation: String) throws(ShapeError) -> Pool2dGeometry {
        guard shape.count == 4 else {
            throw ShapeError(operation: operation, expected: [-1, -1, -1, -1], actual: shape,
                             detail: "input must be [N, C, H, W] (−1: any size)")
        }
        guard kernelHeight >= 1, kernelWidth >= 1, strideHeight >= 1, strideWidth >= 1,
              paddingHeight >= 0, paddingWidth >= 0,
              paddingHeight <= kernelHeight / 2, paddingWidth <= kernelWidth / 2 else {
            throw ShapeError(operation: operation, expected: shape, actual: shape,
                             detail: "invalid window \(self): kernel and stride must be ≥ 1, "
                                 + "padding between 0 and half the kernel")
        }
        let paddedHeight = shape[2] + 2 * paddingHeight, paddedWidth = shape[3] + 2 * paddingWidth
        guard shape.allSatisfy({ $0 >= 0 }),
              kernelHeight <= paddedHeight, kernelWidth <= paddedWidth else {
            throw ShapeError(operation: operation,
                             expected: [shape[0], shape[1], kernelHeight - 2 * paddingHeight,
                                        kernelWidth - 2 * paddingWidth],
                             actual: shape,
                             detail: "\(self) is larger than the padded input "
                                 + "\(paddedHeight)×\(paddedWidth)")
        }
        return Pool2dGeometry(
            images: shape[0], channels: shape[1], height: shape[2], width: shape[3],
            outputHeight: (paddedHeight - kernelHeight) / strideHeight + 1,
            outputWidth: (paddedWidth - kernelWidth) / strideWidth + 1, window: self)
    }
}

/// A validated pooling problem: sizes of the input and output planes.
struct Pool2dGeometry {
    let images: Int, channels: Int, height: Int, width: Int
    let outputHeight: Int, outputWidth: Int
    let window: Pool2dWindow

    var inputShape: [Int] { [images, channels, height, width] }
    var outputShape: [Int] { [images, channels, outputHeight, outputWidth] }

    /// Throws unless `shape` is the output shape; compares without building an array, so a
    /// steady-state step allocates nothing (the error text is built only when it throws).
    func checkOutputShape(_ shape: [Int], operation: @autoclosure () -> String) throws(ShapeError) {
        guard shape.count == 4, shape[0] == images, shape[1] == channels,
              shape[2] == outputHeight, shape[3] == outputWidth else {
            throw ShapeError(operation: operation(), expected: outputShape, actual: shape)
        }
    }
    var planes: Int { images * channels }
    var inputPlane: Int { height * width }
    var outputPlane: Int { outputHeight * outputWidth }

    /// Planes per tile: about 16K input elements (fixed by the shape).
    var planesPerTile: Int { Self.planesPerTile(inputPlane: inputPlane) }

    /// Planes per tile: about 16k input elements, at least one plane.
    static func planesPerTile(inputPlane: Int) -> Int { max(1, 16_384 / max(1, inputPlane)) }

    /// The input rows (or columns) covered by output row (column) `o`, clipped to the input:
    /// window start `o·stride − pad`, length `kernel`.
    @inline(__always)
    func rows(_ o: Int) -> Range<Int> {
        let start = o * window.strideHeight - window.paddingHeight
        return max(start, 0)..<min(start + window.kernelHeight, height)
    }

    @inline(__always)
    func columns(_ o: Int) -> Range<Int> {
        let start = o * window.strideWidth - window.paddingWidth
        return max(start, 0)..<min(start + window.kernelWidth, width)
    }
}
