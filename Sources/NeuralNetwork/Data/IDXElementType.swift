/// The element type code of an IDX file (the third byte of its magic number), as defined by
/// the MNIST format. Elements are stored big-endian.
public enum IDXElementType: UInt8, Sendable, CaseIterable {
    /// 0x08: unsigned byte — what MNIST and Fashion-MNIST use.
    case unsignedByte = 0x08
    /// 0x09: signed byte.
    case signedByte = 0x09
    /// 0x0B: 16-bit signed integer.
    case int16 = 0x0B
    /// 0x0C: 32-bit signed integer.
    case int32 = 0x0C
    /// 0x0D: 32-bit IEEE float.
    case float32 = 0x0D
    /// 0x0E: 64-bit IEEE float.
    case float64 = 0x0E

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .unsignedByte, .signedByte: 1
        case .int16: 2
        case .int32, .float32: 4
        case .float64: 8
        }
    }
}
