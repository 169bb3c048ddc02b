import AsyncHTTPClient
import NIOCore
import NIOSSL
import Synchronization

extension QumuloClient {
    /// The SHA-256 fingerprint of the certificate `endpoint` presents, read with verification off. No request is
    /// sent on that connection, so no token can leak to whoever answers.
    ///
    /// This is how a refused certificate is reported usefully: the user can compare the fingerprint with the
    /// cluster's and pin it, instead of reaching for "insecure".
    public static func presentedCertificate(at endpoint: Endpoint, timeout: Duration) async throws -> CertificateFingerprint {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, timeout: .init(connect: TimeAmount(timeout), read: TimeAmount(timeout)))
        configuration.connectionPool.retryConnectionEstablishment = false
        let seen = SeenCertificate()
        configuration.http1_1ConnectionDebugInitializer = { channel in
            channel.eventLoop.submit {
                let handler = try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                let der = try handler.peerCertificate?.toDERBytes()
                seen.fingerprint.withLock { $0 = der.map(CertificateFingerprint.init(certificateDER:)) }
                // Close and fail the connection: its only purpose was the handshake.
                channel.close(promise: nil)
                throw CancellationError()
            }
        }
        configuration.http2ConnectionDebugInitializer = configuration.http1_1ConnectionDebugInitializer
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        _ = try? await client.execute(HTTPClientRequest(url: endpoint.baseURL + "/v1/version"), timeout: TimeAmount(timeout))
        try? await client.shutdown()
        guard let fingerprint = seen.fingerprint.withLock({ $0 }) else {
            throw QumuloClientError(code: .tls, message: "\(endpoint) presented no certificate")
        }
        return fingerprint
    }
}

/// Carries the fingerprint out of the event loop that saw it.
private final class SeenCertificate: Sendable {
    let fingerprint = Mutex<CertificateFingerprint?>(nil)
}
