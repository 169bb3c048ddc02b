import Crypto

/// The SHA-256 digest of a certificate's DER bytes, written `AA:BB:...` as `qfuse-sandbox` and `openssl x509
/// -fingerprint -sha256` print it.
public struct CertificateFingerprint: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Parses 32 hex bytes, with or without colons, in either case.
    public init(_ text: String) throws {
        let hex = text.filter { $0 != ":" }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index ..< next], radix: 16), hex.distance(from: index, to: next) == 2 else {
                bytes = []
                break
            }
            bytes.append(byte)
            index = next
        }
        guard bytes.count == SHA256.byteCount else {
            throw QumuloClientError(
                code: .invalidArgument,
                message: "\"\(text)\" is not a SHA-256 certificate fingerprint (32 hex bytes, AA:BB:...)")
        }
        self.bytes = bytes
    }

    /// The fingerprint of a DER-encoded certificate.
    public init(certificateDER: [UInt8]) {
        bytes = Array(SHA256.hash(data: certificateDER))
    }

    public var description: String {
        let digits = Array("0123456789ABCDEF")
        return bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xF)]]) }.joined(separator: ":")
    }
}
