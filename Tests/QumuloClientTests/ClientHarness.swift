import Foundation
import Logging
import QumuloAPI
import QumuloClient
import SandboxTestSupport

/// A logger that keeps quiet in test output unless something is wrong.
let quietLogger: Logger = {
    var logger = Logger(label: "qfuse-client-test")
    logger.logLevel = .warning
    return logger
}()

/// Short limits, so failure tests finish in seconds.
func testConfiguration(_ url: String, trust: TLSTrust) throws -> QumuloClientConfiguration {
    var configuration = QumuloClientConfiguration(endpoint: try Endpoint(url: url))
    configuration.trust = trust
    configuration.timeouts.connect = .seconds(2)
    configuration.timeouts.readIdle = .seconds(5)
    configuration.timeouts.request = .seconds(60)
    configuration.retry.budget = .seconds(20)
    return configuration
}

/// Runs `body` with a fresh in-process sandbox and a client that trusts its certificate and logs in as admin;
/// both are torn down pass or fail.
func withClient(
    sessionLifetime: Duration = .seconds(10 * 3600),
    credentials: Credentials = .password(username: "admin", password: InProcessSandbox.password),
    trust: ((InProcessSandbox) -> TLSTrust)? = nil,
    keepsPassword: Bool = true,
    logger: Logger = quietLogger,
    _ body: (QumuloClient, InProcessSandbox) async throws -> Void
) async throws {
    let server = try await InProcessSandbox.start(sessionLifetime: sessionLifetime)
    let client: QumuloClient
    do {
        let chosen = trust?(server) ?? .caCertificate(path: server.certificatePath)
        var configuration = try testConfiguration(server.url, trust: chosen)
        configuration.keepsPassword = keepsPassword
        client = QumuloClient(configuration: configuration, credentials: credentials, logger: logger)
    } catch {
        try await server.destroy()
        throw error
    }
    do {
        try await body(client, server)
    } catch {
        try? await client.shutdown()
        try await server.destroy()
        throw error
    }
    try await client.shutdown()
    try await server.destroy()
}

/// `count` bytes whose every mebibyte is distinct and cheap to make: the same pseudo-random mebibyte with its
/// index stamped at its start, so a block read from the wrong offset shows.
func stampedData(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let mebibyte = 1 << 20
    let base = pattern(min(count, mebibyte))
    var offset = 0
    var index: UInt32 = 0
    while offset < count {
        let length = min(mebibyte, count - offset)
        bytes.replaceSubrange(offset ..< offset + length, with: base[0 ..< length])
        withUnsafeBytes(of: index.littleEndian) { stamp in
            for (i, byte) in stamp.enumerated() where offset + i < count { bytes[offset + i] = byte }
        }
        offset += length
        index += 1
    }
    return bytes
}
