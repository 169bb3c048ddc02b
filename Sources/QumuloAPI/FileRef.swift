/// How a `/v1/files/{ref}` segment names a file: by id, or by absolute path.
public enum FileRef: Hashable, Sendable, CustomStringConvertible {
    case id(String)
    case path(String)

    /// Reads a segment as it arrives in a request, still percent-encoded: after decoding, a leading `/` makes it a
    /// path, anything else an id. Nil if the encoding is malformed.
    public init?(encodedSegment: some StringProtocol) {
        guard let decoded = PercentEncoding.decode(encodedSegment) else { return nil }
        self = decoded.hasPrefix("/") ? .path(decoded) : .id(decoded)
    }

    /// The segment as it goes into a URL: `/` and every other reserved byte percent-encoded, as the SDK does.
    public var encodedSegment: String {
        switch self {
        case .id(let id): PercentEncoding.encode(id)
        case .path(let path): PercentEncoding.encode(path)
        }
    }

    public var description: String {
        switch self {
        case .id(let id): id
        case .path(let path): path
        }
    }
}

/// Percent-encoding of one URL path segment or query value, keeping only RFC 3986 unreserved bytes as they are
/// (Python's `quote(s, safe="")`, which the SDK uses).
public enum PercentEncoding {
    public static func encode(_ text: some StringProtocol) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "a") ... UInt8(ascii: "z"),
                 UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; nil for a truncated or non-hex escape or bytes that are not UTF-8.
    /// `+` stays a plus: in a path segment it is not a space.
    public static func decode(_ text: some StringProtocol) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: "%")) else { return String(text) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = 0
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
