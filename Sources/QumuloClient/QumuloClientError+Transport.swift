import AsyncHTTPClient
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

extension QumuloClientError {
    /// Classifies what AsyncHTTPClient, NIO or BoringSSL threw into one code and one readable line, so callers
    /// never see a raw BoringSSL dump and the retry loop knows what may be tried again.
    init(transportFailure error: any Error) {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                self.init(code: .timeout, message: "no connection within the connect timeout", cause: error)
            case .readTimeout:
                self.init(code: .timeout, message: "the server sent nothing within the read timeout", cause: error)
            case .writeTimeout:
                self.init(code: .timeout, message: "the server took nothing within the write timeout", cause: error)
            case .deadlineExceeded:
                self.init(code: .timeout, message: "no answer within the request timeout", cause: error)
            case .remoteConnectionClosed:
                self.init(code: .connection, message: "the server closed the connection", cause: error)
            default:
                self.init(code: .client, message: "\(error)", cause: error)
            }
        case let error as NIOSSLError:
            if case .uncleanShutdown = error {
                self.init(code: .connection, message: "the server closed the connection without a TLS goodbye", cause: error)
            } else if case .handshakeFailed(let reason) = error, "\(reason)".contains("CERTIFICATE_VERIFY_FAILED") {
                self.init(
                    code: .tls,
                    message: "the server's TLS certificate is not trusted: trust its CA certificate, pin its SHA-256 "
                        + "fingerprint, or turn verification off",
                    cause: error)
            } else if case .noSuchFilesystemObject = error {
                self.init(code: .tls, message: "the CA certificate file does not exist", cause: error)
            } else if case .failedToLoadCertificate = error {
                self.init(code: .tls, message: "the CA certificate file holds no PEM certificate", cause: error)
            } else {
                self.init(code: .tls, message: "TLS failed: \(error)", cause: error)
            }
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            self.init(code: .tls, message: "the server's TLS certificate is for another host name", cause: error)
        case let error as HTTPParserError where error == .invalidEOFState:
            self.init(code: .connection, message: "the connection closed in the middle of an answer", cause: error)
        case let error as NIOConnectionError:
            let reasons = error.connectionErrors.map { "\($0.error)" }
            self.init(code: .connection, message: "cannot connect: \(reasons.first ?? "no address")", cause: error)
        case let error as ChannelError:
            if case .connectTimeout = error {
                self.init(code: .timeout, message: "no connection within the connect timeout", cause: error)
            } else {
                self.init(code: .connection, message: "the connection broke: \(error)", cause: error)
            }
        case let error as IOError:
            self.init(code: .connection, message: "connection failed: \(String(cString: strerror(error.errnoCode)))",
                      cause: error)
        default:
            self.init(code: .client, message: "\(error)", cause: error)
        }
    }
}
