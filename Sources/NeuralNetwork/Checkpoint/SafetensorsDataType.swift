/// The element types (`dtype`) of the safetensors format. Weave writes and loads `F32`; the
/// others are known so that a file using them is validated and refused by name.
public enum SafetensorsDataType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case uint8 = "U8", int8 = "I8", float8E4M3 = "F8_E4M3", float8E5M2 = "F8_E5M2"
    case uint16 = "U16", int16 = "I16", float16 = "F16", bfloat16 = "BF16"
    case uint32 = "U32", int32 = "I32", float32 = "F32"
    case uint64 = "U64", int64 = "I64", float64 = "F64"

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E4M3, .float8E5M2: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        }
    }
}
