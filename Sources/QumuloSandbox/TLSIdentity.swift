import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The server's certificate and key, loaded from files or made once as a self-signed pair under the root.
struct TLSIdentity {
    var certificateChain: [NIOSSLCertificate]
    var privateKey: NIOSSLPrivateKey
    /// SHA-256 of the leaf certificate's DER form, as `AA:BB:...`: what a client pins.
    var fingerprint: String
    /// Whether this run created the self-signed pair.
    var created: Bool

    /// Loads `certificate` and `key` (PEM).
    init(certificate: String, key: String) throws {
        certificateChain = try NIOSSLCertificate.fromPEMFile(certificate)
        guard let leaf = certificateChain.first else {
            throw SandboxStartupError("\(certificate) holds no certificate")
        }
        privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        fingerprint = Self.fingerprint(ofDER: try leaf.toDERBytes())
        created = false
    }

    /// Loads the self-signed pair in `directory`, creating it first if it does not exist.
    /// It names `127.0.0.1`, `::1` and `localhost`, so clients that verify hostnames accept it once trusted.
    static func selfSigned(in directory: URL) throws -> TLSIdentity {
        let certificatePath = directory.appendingPathComponent("cert.pem").path
        let keyPath = directory.appendingPathComponent("key.pem").path
        var created = false
        if !FileManager.default.fileExists(atPath: certificatePath) || !FileManager.default.fileExists(atPath: keyPath) {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let (certificate, key) = try makeSelfSigned()
            // The key is written first; the certificate marks a complete pair. Both are the owner's alone, as
            // everything in the store is.
            try write(key, to: keyPath, mode: 0o600)
            try write(certificate, to: certificatePath, mode: 0o600)
            created = true
        }
        var identity = try TLSIdentity(certificate: certificatePath, key: keyPath)
        identity.created = created
        return identity
    }

    private static func makeSelfSigned() throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("qfuse")
            CommonName("qfuse-sandbox")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                // Its own trust anchor: BoringSSL and OpenSSL accept a self-signed leaf as a root only if it may
                // sign certificates, so `--ca-cert cert.pem` works in clients that verify.
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                KeyUsage(digitalSignature: true, keyCertSign: true)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([
                    .dnsName("localhost"),
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
                ])
            },
            issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    private static func write(_ text: String, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(
            atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        else { throw SandboxStartupError("cannot write \(path)") }
    }

    static func fingerprint(ofDER der: [UInt8]) -> String {
        SHA256.hash(data: der).map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}

/// A reason the sandbox cannot start, for a one-line message.
struct SandboxStartupError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
