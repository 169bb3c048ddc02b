#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time with nanosecond precision, written as RFC 3339 in UTC: `2024-02-04T19:29:48.136708478Z`.
///
/// Parsing accepts what clients send: any number of fraction digits (or none), `Z` or a numeric offset.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Seconds since the Unix epoch.
    public var seconds: Int64
    /// Nanoseconds within the second, 0 ..< 1_000_000_000.
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int32(spec.tv_nsec))
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// Nanoseconds since the epoch, or nil outside what Int64 holds: 1677-09-21T00:12:43.145224192Z through
    /// 2262-04-11T23:47:16.854775807Z. Times arrive from clients as text, so any year from 0000 to 9999 may come.
    public var exactNanoseconds: Int64? {
        // Before the epoch, borrow a second first: the earliest time's whole seconds alone do not fit.
        let (whole, fraction) = seconds < 0 && nanoseconds > 0
            ? (seconds + 1, Int64(nanoseconds) - 1_000_000_000) : (seconds, Int64(nanoseconds))
        let (scaled, overflowed) = whole.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, carried) = scaled.addingReportingOverflow(fraction)
        return overflowed || carried ? nil : total
    }

    /// Nanoseconds since the epoch, clamped to Int64's range: for callers that only compare or fingerprint times,
    /// where a time beyond 2262 must not trap. Storing a time needs ``exactNanoseconds``.
    public var totalNanoseconds: Int64 {
        exactNanoseconds ?? (seconds < 0 ? .min : .max)
    }

    public init(totalNanoseconds: Int64) {
        let (q, r) = totalNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        self = r < 0 ? Timestamp(seconds: q - 1, nanoseconds: Int32(r + 1_000_000_000))
                     : Timestamp(seconds: q, nanoseconds: Int32(r))
    }

    public var description: String { rfc3339 }

    /// The RFC 3339 form with all nine fraction digits, as Qumulo writes it.
    public var rfc3339: String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
            + ".\(pad(nanoseconds, 9))Z"
    }

    /// Parses RFC 3339; returns nil for anything else.
    public init?(rfc3339 text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int32? {
            guard index + width <= bytes.count else { return nil }
            var value: Int32 = 0
            for byte in bytes[index ..< index + width] {
                guard (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2),
              (1 ... 12).contains(month), (1 ... 31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var nanos: Int32 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[index]) {
                if digits < 9 { nanos = nanos * 10 + Int32(bytes[index] - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 9 {
                for _ in digits ..< 9 { nanos *= 10 }
            }
        }
        var offsetSeconds: Int64 = 0
        if expect("Zz") {
            // UTC
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2),
                  offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offsetSeconds = sign * (Int64(offsetHours) * 3600 + Int64(offsetMinutes) * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let local = Int64(timegm(&parts))
        // timegm rolls February 30 over into March; a date that does not exist is not a time. A leap second
        // rolls over too, legitimately.
        var check = time_t(local)
        var normalized = tm()
        guard gmtime_r(&check, &normalized) != nil,
              second == 60 || (normalized.tm_mday == day && normalized.tm_mon == month - 1)
        else { return nil }
        self.init(seconds: local - offsetSeconds, nanoseconds: nanos)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not an RFC 3339 time")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}
