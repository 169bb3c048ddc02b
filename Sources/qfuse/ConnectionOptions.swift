import ArgumentParser
import Foundation
import Logging
import QumuloClient

/// The options every command that talks to a cluster shares (`cat` now, `mount` next): where, as whom, and how
/// to trust the certificate. Secrets never come from the command line, where `ps` shows them to every user.
struct ConnectionOptions: ParsableArguments {
    @Argument(help: "The cluster: https://host[:port] (port 8000 by default).")
    var url: String

    @Option(help: "User to log in as; the password comes from --password-file, QUMULO_PASSWORD or a prompt.")
    var user: String?

    @Option(help: "File whose first line is the password of --user, read at every login (how a mount renews its session).")
    var passwordFile: String?

    @Option(help: "File holding a bearer token (a qq credentials file or the bare token).")
    var tokenFile: String?

    @Option(name: .customLong("ca-cert"), help: "PEM certificate to trust in addition to the system's roots.")
    var caCert: String?

    @Option(help: "Trust only a server whose certificate has this SHA-256 fingerprint (AA:BB:...).")
    var pin: String?

    @Flag(help: "Do not verify the server's certificate at all (prefer --pin).")
    var insecure = false

    @Flag(help: "Log every request with its status, size and latency.")
    var debug = false

    /// 30 s rather than the client library's 60: a program reading from a lost server gets its I/O error while
    /// a person is still watching, and the kernel may ask again once before giving up.
    @Option(help: "Seconds a request keeps retrying an unreachable or failing server before it fails with an I/O error.")
    var timeout: Double = 30

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be above 0 and at most 3600") }
        let trusts = [caCert != nil, pin != nil, insecure].filter { $0 }.count
        guard trusts <= 1 else { throw ValidationError("--ca-cert, --pin and --insecure exclude each other") }
        if user != nil, tokenFile != nil { throw ValidationError("--user and --token-file exclude each other") }
        if passwordFile != nil, user == nil { throw ValidationError("--password-file needs --user") }
        if let caCert, !FileManager.default.isReadableFile(atPath: caCert) {
            throw ValidationError("--ca-cert \(caCert) is not a readable file")
        }
    }

    /// Sends log lines to stderr: `quietLevel` and above always (warnings for one-shot commands), every request
    /// with --debug.
    func bootstrapLogging(quietLevel: Logger.Level = .warning) -> Logger {
        let level: Logger.Level = debug ? .debug : quietLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "qfuse")
        logger.logLevel = level
        return logger
    }

    /// How long one request may keep retrying a server that does not answer before it fails.
    var retryBudget: Duration { .milliseconds(Int64(timeout * 1000)) }

    /// The client these options describe, with credentials found as ``Credentials/resolve`` explains in
    /// `environment`.
    func makeClient(
        logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment, keepsPassword: Bool = true
    ) throws -> QumuloClient {
        let endpoint = try Endpoint(url: url)
        var configuration = QumuloClientConfiguration(endpoint: endpoint)
        if let caCert { configuration.trust = .caCertificate(path: caCert) }
        if let pin { configuration.trust = .pinned(try CertificateFingerprint(pin)) }
        if insecure { configuration.trust = .insecure }
        configuration.retry.budget = retryBudget
        configuration.keepsPassword = keepsPassword
        let credentials = try Credentials.resolve(
            for: endpoint, username: user, passwordFile: passwordFile, tokenFile: tokenFile, environment: environment,
            promptPassword: Terminal.readPassword)
        return QumuloClient(configuration: configuration, credentials: credentials, logger: logger)
    }
}
