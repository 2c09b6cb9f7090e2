/// The hyper-parameters of a 2-D convolution (PyTorch's `Conv2d` arguments other than the
/// channel counts and kernel size, which come from the weight's shape): stride, zero padding
/// and dilation, each per axis (height, width). Groups are not supported (always 1).
public struct Conv2dConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Step between output positions along the height, in input rows (≥ 1).
    public var strideHeight: Int
    /// Step between output positions along the width, in input columns (≥ 1).
    public var strideWidth: Int
    /// Zero rows added above and below the input (≥ 0).
    public var paddingHeight: Int
    /// Zero columns added left and right of the input (≥ 0).
    public var paddingWidth: Int
    /// Spacing between kernel rows, in input rows (≥ 1; 1 is a dense kernel).
    public var dilationHeight: Int
    /// Spacing between kernel columns, in input columns (≥ 1).
    public var dilationWidth: Int

    /// The same stride, padding and dilation along both axes (PyTorch's integer arguments).
    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        self.init(stride: (stride, stride), padding: (padding, padding),
                  dilation: (dilation, dilation))
    }

    /// Per-axis stride, padding and dilation (PyTorch's tuple arguments).
    public init(stride: (height: Int, width: Int), padding: (height: Int, width: Int),
                dilation: (height: Int, width: Int) = (1, 1)) {
        strideHeight = stride.height
        strideWidth = stride.width
        paddingHeight = padding.height
        paddingWidth = padding.width
        dilationHeight = dilation.height
        dilationWidth = dilation.width
    }

    /// "stride (h, w), padding (h, w), dilation (h, w)".
    public var description: String {
        "stride (\(strideHeight), \(strideWidth)), padding (\(paddingHeight), \(paddingWidth)), "
            + "dilation (\(dilationHeight), \(dilationWidth))"
    }

    /// The output shape `[N, O, OH, OW]` of a convolution of `input` `[N, C, H, W]` with
    /// `weight` `[O, C, KH, KW]`, as PyTorch computes it:
    /// `OH = ⌊(H + 2·padding − dilation·(KH − 1) − 1) / stride⌋ + 1` (likewise OW).
    ///
    /// - Throws: `ShapeError` if a shape is not rank 4, the channel counts differ, a kernel
    ///   dimension is < 1, the stride or dilation is < 1, the padding is < 0, or the dilated
    ///   kernel is larger than the padded input.
    public func outputShape(input: [Int], weight: [Int]) throws(ShapeError) -> [Int] {
        try Conv2dGeometry(input: input, weight: weight, configuration: self,
                           operation: "Conv2dConfiguration.outputShape").outputShape
    }
}
