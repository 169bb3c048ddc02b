import Foundation
import NIOHTTP1
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientRetryTests {
    static let stats = #"{"block_size_bytes": 4096, "total_size_bytes": "100", "free_size_bytes": "50", "snapshot_size_bytes": "0"}"#
    static let unavailable = #"{"error_class": "http_service_unavailable_error", "description": "try later"}"#

    /// Runs `body` against a scripted server that presents a sandbox-made certificate the client trusts.
    func withScriptedServer(
        retryBudget: Duration = .seconds(20),
        answer: @escaping @Sendable (String, Int) -> ScriptedServer.Answer,
        _ body: (QumuloClient, ScriptedServer) async throws -> Void
    ) async throws {
        let identity = try await InProcessSandbox.start()
        try await identity.stop()
        defer { try? FileManager.default.removeItem(at: identity.root) }
        let server = try await ScriptedServer(
            certificate: identity.certificatePath, key: identity.root.appendingPathComponent("tls/key.pem").path,
            answer: answer)
        var configuration = try testConfiguration("https://127.0.0.1:\(server.port)", trust: .caCertificate(path: identity.certificatePath))
        configuration.retry.initialBackoff = .milliseconds(10)
        configuration.retry.maxBackoff = .milliseconds(100)
        configuration.retry.budget = retryBudget
        let client = QumuloClient(configuration: configuration, credentials: .bearerToken("1:t"), logger: quietLogger)
        do {
            try await body(client, server)
        } catch {
            try? await client.shutdown()
            try? await server.stop()
            throw error
        }
        try await client.shutdown()
        try await server.stop()
    }

    @Test func idempotentRequestsRetryAfter503() async throws {
        try await withScriptedServer(answer: { _, index in
            index < 2 ? (.serviceUnavailable, Self.unavailable) : (.ok, Self.stats)
        }) { client, server in
            let stats = try await client.fileSystemStats()
            #expect(stats.freeSizeBytes == 50)
            #expect(server.requests.count == 3 && client.metrics.retries == 2 && client.metrics.errors == 0)
        }
    }

    @Test func requestsThatCouldApplyTwiceAreSentOnce() async throws {
        try await withScriptedServer(answer: { _, _ in (.serviceUnavailable, Self.unavailable) }) { client, server in
            let error = await #expect(throws: QumuloClientError.self) {
                _ = try await client.createFile(in: .path("/"), name: "f")
            }
            #expect(error?.status == 503 && error?.errorClass == "http_service_unavailable_error" && error?.attempts == 1)
            await #expect(throws: QumuloClientError.self) { _ = try await client.rename("/a", to: .path("/"), name: "b") }
            await #expect(throws: QumuloClientError.self) { try await client.unlink("f", from: .path("/")) }
            #expect(server.requests.count == 3 && client.metrics.retries == 0)
        }
    }

    @Test func aPersistent503GivesUpWhenTheBudgetIsSpent() async throws {
        try await withScriptedServer(retryBudget: .seconds(1), answer: { _, _ in (.serviceUnavailable, Self.unavailable) }) { client, _ in
            let started = ContinuousClock.now
            let error = await #expect(throws: QumuloClientError.self) { _ = try await client.fileSystemStats() }
            #expect(started.duration(to: .now) < .seconds(10))
            #expect(error?.status == 503 && (error?.attempts ?? 0) > 1)
            #expect(error?.description.contains("after \(error?.attempts ?? 0) attempts") == true)
        }
    }

    @Test func aForeignNextPageIsRefusedBeforeTheTokenTravels() async throws {
        let page = #"{"path": "/", "id": "2", "child_count": 0, "files": [], "paging": {"next": "https://elsewhere.example/v1/files/2/entries/?after=x", "prev": ""}}"#
        try await withScriptedServer(answer: { _, _ in (.ok, page) }) { client, server in
            var entries = client.entries(of: .path("/")).makeAsyncIterator()
            let error = await #expect(throws: QumuloClientError.self) { _ = try await entries.next() }
            #expect(error?.code == .invalidResponse && server.requests.count == 1)
        }
    }
}
