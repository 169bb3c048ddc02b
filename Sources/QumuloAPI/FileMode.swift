/// Permission and special bits (`07777`), written as a four-digit octal string such as `"0644"`.
///
/// The object type is never part of it: Qumulo sends the type separately, in ``FileType``.
public struct FileMode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue & 0o7777
    }

    /// Parses an octal string; nil if it is not octal or has bits outside `07777`.
    public init?(octal: String) {
        guard !octal.isEmpty, octal.count <= 6, let value = UInt32(octal, radix: 8), value <= 0o7777 else { return nil }
        rawValue = value
    }

    public var octal: String {
        let digits = String(rawValue, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    public var description: String { octal }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let mode = FileMode(octal: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not an octal mode")
        }
        self = mode
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(octal)
    }
}
