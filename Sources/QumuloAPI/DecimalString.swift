/// A 64-bit integer carried as a JSON decimal string, as Qumulo sends every value that can exceed 2^53.
///
/// Decoding also accepts a JSON number, because hand-written requests (and some older endpoints) send one.
@propertyWrapper
public struct DecimalString<Value: FixedWidthInteger & Codable & Sendable>: Codable, Hashable, Sendable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Value(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\"\(text)\" is not a decimal \(Value.self)")
            }
            wrappedValue = value
        } else {
            wrappedValue = try container.decode(Value.self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(wrappedValue))
    }
}

/// The optional form of ``DecimalString``: absent or null decodes to nil, nil is left out when encoding.
@propertyWrapper
public struct OptionalDecimalString<Value: FixedWidthInteger & Codable & Sendable>: Codable, Hashable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            wrappedValue = nil
        } else {
            wrappedValue = try DecimalString<Value>(from: decoder).wrappedValue
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue {
            try container.encode(String(wrappedValue))
        } else {
            try container.encodeNil()
        }
    }
}

extension KeyedDecodingContainer {
    /// Lets an absent key decode to nil instead of failing.
    public func decode<Value>(
        _ type: OptionalDecimalString<Value>.Type, forKey key: Key
    ) throws -> OptionalDecimalString<Value> {
        try decodeIfPresent(type, forKey: key) ?? OptionalDecimalString(wrappedValue: nil)
    }
}

extension KeyedEncodingContainer {
    /// Leaves a nil value out of the object rather than writing null.
    public mutating func encode<Value>(_ value: OptionalDecimalString<Value>, forKey key: Key) throws {
        if value.wrappedValue != nil {
            try encodeIfPresent(value, forKey: key)
        }
    }
}
