import NIOCore
import NIOSSL

extension TLSTrust {
    /// The NIOSSL client configuration this trust asks for. A pin turns BoringSSL's checks off and replaces them
    /// with ``pinCheck``, which runs on every new connection before any request (and so any token) is sent on it.
    var tlsConfiguration: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch self {
        case .system:
            break
        case .caCertificate(let path):
            tls.additionalTrustRoots = [.file(path)]
        case .pinned, .insecure:
            tls.certificateVerification = .none
        }
        return tls
    }

    /// For a pinned trust, the check AsyncHTTPClient runs on each connection once its TLS handshake is done:
    /// the leaf certificate's SHA-256 must equal the pin, or the connection fails with a ``QumuloClientError``.
    var pinCheck: (@Sendable (any Channel) -> EventLoopFuture<Void>)? {
        guard case .pinned(let pin) = self else { return nil }
        return { channel in
            channel.eventLoop.submit {
                let handler = try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                guard let certificate = handler.peerCertificate else {
                    throw QumuloClientError(code: .tls, message: "the server presented no certificate to check against the pin")
                }
                let seen = CertificateFingerprint(certificateDER: try certificate.toDERBytes())
                guard seen == pin else {
                    // AsyncHTTPClient does not close a connection whose set-up failed here; nothing may use it.
                    channel.close(promise: nil)
                    throw QumuloClientError(
                        code: .tls,
                        message: "the server's certificate SHA-256 \(seen) does not match the pinned \(pin)")
                }
            }
        }
    }
}
