import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// What `qfuse-sandbox` needs to serve: where the store lives, where to listen, the admin password and the
/// certificate to present.
public struct SandboxConfiguration: Sendable {
    public var root: URL
    public var host: String
    /// 0 picks a free port; the ready callback says which.
    public var port: Int
    public var password: String
    /// PEM certificate chain and key; both nil for the self-signed pair under `root/tls`.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// How long a session token stays valid: 10 hours, as on a cluster. Tests shorten it to exercise re-login.
    public var sessionLifetime: Duration
    /// How often expired and deleted snapshots are reclaimed; deleted ones show `in_delete` until then.
    public var reclaimInterval: Duration
    /// Most bytes of file data the store may hold, so clients can meet a full cluster: a write beyond it fails with
    /// 507 `fs_no_space_error` and `GET /v1/file-system` reports it. Nil for no limit but the disk's.
    public var capacity: Int64?
    /// A test fault: answers to writes (data, punch-hole, copy-chunk, attributes) are held for a while after the
    /// write is applied, so they can come back out of order. Nil, the default, answers at once.
    public var writeAnswerDelay: AnswerDelay?
    /// A connection that brings no complete request part for this long is closed: a keep-alive connection between
    /// requests, and one whose TLS handshake or request head is still unfinished (bytes trickled into a head do
    /// not count, only the whole head). 75 s outlasts the 60 s a qfuse mount keeps an unused connection, so it is
    /// the client that closes an idle connection, never the server under a request the client just sent.
    public var idleTimeout: Duration
    /// Most connections one client address may hold open; more are closed as they arrive, so that one client
    /// cannot take the file descriptors every other needs. 256 is 16 qfuse mounts' worth of connection pools.
    public var maxConnectionsPerAddress: Int

    public init(root: URL, host: String = "127.0.0.1", port: Int = 8000, password: String,
                tlsCertificate: String? = nil, tlsKey: String? = nil, sessionLifetime: Duration = .seconds(10 * 3600),
                reclaimInterval: Duration = .seconds(1), capacity: Int64? = nil, writeAnswerDelay: AnswerDelay? = nil,
                idleTimeout: Duration = .seconds(75), maxConnectionsPerAddress: Int = 256) {
        self.idleTimeout = idleTimeout
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.sessionLifetime = sessionLifetime
        self.reclaimInterval = reclaimInterval
        self.capacity = capacity
        self.writeAnswerDelay = writeAnswerDelay
        self.root = root
        self.host = host
        self.port = port
        self.password = password
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
    }
}

/// The local Qumulo-compatible server: the files and session API over HTTPS on a persistent store.
public struct Sandbox: Sendable {
    /// The certificate's SHA-256 fingerprint, to pin or to compare with what a client sees.
    public let fingerprint: String
    /// Whether this start created the self-signed certificate.
    public let createdCertificate: Bool
    private let services: ServiceGroup

    /// Opens the store and prepares the server; `onReady` runs once it accepts connections, with the bound port.
    public init(
        configuration: SandboxConfiguration, logger: Logger, handleSignals: Bool,
        onReady: @escaping @Sendable (Int) async -> Void
    ) throws {
        // The store first: it creates the root, owner-only, before anything else goes in.
        let store = try Store(
            root: configuration.root, capacity: configuration.capacity, sessionLifetime: configuration.sessionLifetime,
            logger: logger)
        if try store.adoptPassword(configuration.password) {
            logger.info("the password changed: every session ended")
        }
        let identity: TLSIdentity
        switch (configuration.tlsCertificate, configuration.tlsKey) {
        case let (certificate?, key?): identity = try TLSIdentity(certificate: certificate, key: key)
        case (nil, nil): identity = try .selfSigned(in: configuration.root.appendingPathComponent("tls"))
        default: throw SandboxStartupError("--tls-cert and --tls-key go together")
        }
        fingerprint = identity.fingerprint
        createdCertificate = identity.created
        let router = Router(context: SandboxRequestContext.self)
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: AuthMiddleware(store: store))
        SandboxRoutes(
            store: store, credentials: Credentials(password: configuration.password),
            writeAnswerDelay: configuration.writeAnswerDelay.map(AnswerDelayer.init)
        ).register(on: router)
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.certificateChain.map { .certificate($0) },
            privateKey: .privateKey(identity.privateKey))
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ContinueHandler()], idleTimeout: TimeAmount(configuration.idleTimeout))
        let census = ConnectionCensus(limitPerAddress: configuration.maxConnectionsPerAddress)
        let server = HTTPServerBuilder { responder in
            AddressLimitedChannel(
                base: try TLSChannel(HTTP1Channel(responder: responder, configuration: http1), tlsConfiguration: tls),
                census: census)
        }
        let application = Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                availableConnectionsDelegate: MaximumAvailableConnections(Self.connectionLimit(), logger: logger)),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
        services = ServiceGroup(configuration: .init(
            services: [application, SnapshotReaper(store: store, interval: configuration.reclaimInterval, logger: logger)],
            gracefulShutdownSignals: handleSignals ? [.sigint, .sigterm] : [], logger: logger))
    }

    /// Descriptors kept back from connections for the store: SQLite's pool, the blobs being read, spool files.
    static let descriptorsForTheStore = 64

    /// Connections the process can hold open without running out of descriptors. Past this the server leaves new
    /// connections waiting in the listen backlog: accepting them would fail with EMFILE again and again, a busy
    /// loop that starves the connections already open.
    static func connectionLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max
        else { return 1 << 20 }
        return max(16, Int(clamping: limit.rlim_cur) - descriptorsForTheStore)
    }

    /// Serves until ``shutdown()``, or with `handleSignals` until SIGINT or SIGTERM; requests in flight finish first.
    public func run() async throws {
        try await services.run()
    }

    /// Stops accepting connections and lets the requests in flight finish.
    public func shutdown() async {
        await services.triggerGracefulShutdown()
    }
}
