import AsyncHTTPClient
import Logging
import NIOCore
import Synchronization

/// An async client of a Qumulo cluster's REST API: the one place where qfuse speaks HTTP.
///
/// Design:
/// - One async method per REST operation, typed with the `QumuloAPI` models; nothing above this layer sees JSON,
///   URLs or status codes, only values and ``QumuloClientError``.
/// - One AsyncHTTPClient pool per client, sized by ``QumuloClientConfiguration/maxConnections`` so several ranged
///   reads run at once; keep-alive, and HTTP/2 when the server offers it in ALPN.
/// - Every attempt is bounded (connect, read idle, total). Idempotent requests are retried after connection errors,
///   timeouts and 502/503/504 with full-jitter backoff inside a total budget; a range read resumes where the broken
///   attempt stopped. Creates, renames, unlinks and other requests that could apply twice are sent once.
/// - A password session is renewed once on a 401, shared by every request that saw it expire.
/// - Data reads copy the body once, straight into the caller's buffer; writes take a `ByteBuffer` so a retry can
///   send the same bytes again.
///
/// Thread safety: all methods may be called concurrently from any task. Call ``shutdown()`` before dropping it.
public final class QumuloClient: Sendable {
    public let configuration: QumuloClientConfiguration
    let http: HTTPClient
    let logger: Logger
    let session: SessionTokens
    /// Guards the counters only; held for an increment, never across I/O.
    let counters = Mutex(ClientMetrics())
    /// Set by the first answer of any kind. Until then a refused or silent connection is reported at once rather
    /// than retried for the whole budget: it is far more often a wrong URL than a server restarting.
    let reachedServer = Atomic(false)

    /// Everything counted so far, as one consistent snapshot.
    public var metrics: ClientMetrics { counters.withLock { $0 } }

    func count(_ update: (inout ClientMetrics) -> Void) {
        counters.withLock { update(&$0) }
    }

    /// Set when a request spent its whole retry budget failing to reach the server; cleared by any answer. While
    /// set, requests are tried once: everything queued behind a dead server fails in one attempt instead of each
    /// waiting out a budget of its own (a `close` after a lost upload, an unmount).
    let lostServer = Atomic(false)

    var hasReachedServer: Bool {
        get { reachedServer.load(ordering: .relaxed) }
        set { reachedServer.store(newValue, ordering: .relaxed) }
    }

    /// Builds the pool; connects lazily, on the first request. A password is checked on the first request too
    /// (``whoAmI()`` checks it at once).
    public init(configuration: QumuloClientConfiguration, credentials: Credentials, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.session = SessionTokens(credentials: credentials, keepsPassword: configuration.keepsPassword)
        var http = HTTPClient.Configuration(
            tlsConfiguration: configuration.trust.tlsConfiguration,
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(configuration.timeouts.connect),
                           read: TimeAmount(configuration.timeouts.readIdle)),
            connectionPool: .init(idleTimeout: TimeAmount(configuration.idleConnectionTimeout),
                                  concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnections),
            ignoreUncleanSSLShutdown: false)
        http.httpVersion = .automatic
        // Our own retries classify each failure and back off with jitter; the pool's silent reconnect loop would
        // hide a refused certificate behind a timeout, so a failed connect fails its requests at once.
        http.connectionPool.retryConnectionEstablishment = false
        if let pinCheck = configuration.trust.pinCheck {
            http.http1_1ConnectionDebugInitializer = pinCheck
            http.http2ConnectionDebugInitializer = pinCheck
        }
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        if configuration.trust == .insecure {
            logger.warning("TLS certificate verification is off: any server can pose as the cluster and receive the token",
                           metadata: ["http.endpoint": "\(configuration.endpoint)"])
        }
    }

    /// Closes every connection. Requests still running fail.
    public func shutdown() async throws {
        try await http.shutdown()
    }
}
