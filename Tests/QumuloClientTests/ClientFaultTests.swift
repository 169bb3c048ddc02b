import Foundation
import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientFaultTests {
    /// A 256 MiB read through a server that is SIGKILLed a quarter of the way in and started again on the same
    /// port and store: the retries carry the read through, and every byte is right.
    @Test(.timeLimit(.minutes(3))) func aReadSurvivesTheServerBeingKilledAndRestarted() async throws {
        let root = temporaryDirectory("qfuse-restart-test")
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try await SandboxProcess.start(root: root, password: InProcessSandbox.password)
        defer { first.kill() }
        let size = 256 << 20
        let data = stampedData(size)
        let client = QumuloClient(
            configuration: try testConfiguration(first.url, trust: .caCertificate(path: first.certificatePath)),
            credentials: .password(username: "admin", password: InProcessSandbox.password), logger: quietLogger)
        var restarted: Task<SandboxProcess, any Error>?
        do {
            let file = try await client.createFile(in: .path("/"), name: "big")
            let chunk = 32 << 20
            for offset in stride(from: 0, to: size, by: chunk) {
                _ = try await client.write(.id(file.id), offset: UInt64(offset), ByteBuffer(bytes: data[offset ..< offset + chunk]))
            }
            var position = 0
            var matches = true
            try await client.readSequentially(.id(file.id), size: UInt64(size), blockSize: 8 << 20, inFlight: 4) { block in
                matches = matches && block.withUnsafeReadableBytes { received in
                    data.withUnsafeBytes { expected in
                        memcmp(received.baseAddress!, expected.baseAddress! + position, received.count) == 0
                    }
                }
                position += block.readableBytes
                if restarted == nil, position >= size / 4 {
                    first.kill()
                    // Down for a moment, so the reads in flight and the next ones all meet a dead server.
                    restarted = Task {
                        try await Task.sleep(for: .milliseconds(500))
                        return try await SandboxProcess.start(root: root, port: first.port, password: InProcessSandbox.password)
                    }
                }
            }
            #expect(position == size && matches)
            #expect(restarted != nil)
            #expect(client.metrics.retries > 0)
            #expect(client.metrics.errors == 0)
        } catch {
            try? await client.shutdown()
            (try? await restarted?.value)?.kill()
            throw error
        }
        try await client.shutdown()
        try await restarted?.value.kill()
    }

    /// A server that accepts and never answers: the read fails with a timeout instead of hanging. A server never
    /// reached is not retried, so that takes one connect timeout.
    @Test(.timeLimit(.minutes(1))) func aReadFromADeadServerFailsWithinTheTimeout() async throws {
        let dead = try await DeadServer.start()
        var configuration = try testConfiguration("https://127.0.0.1:\(dead.port)", trust: .insecure)
        configuration.timeouts.connect = .milliseconds(500)
        configuration.timeouts.readIdle = .milliseconds(500)
        let client = QumuloClient(configuration: configuration, credentials: .bearerToken("1:token"), logger: quietLogger)
        let started = ContinuousClock.now
        let error = await #expect(throws: QumuloClientError.self) {
            _ = try await client.read(.id("3"), offset: 0, length: 1 << 20)
        }
        let elapsed = started.duration(to: .now)
        #expect(error?.code == .timeout && error?.attempts == 1)
        #expect(elapsed < .seconds(3))
        try await client.shutdown()
        try await dead.stop()
    }

    /// A server that answered once and then went away for good: retried, and given up once the budget is spent;
    /// the requests after that fail at their first attempt.
    @Test(.timeLimit(.minutes(1))) func aServerGoneForGoodIsRetriedOnlyWithinTheBudget() async throws {
        let server = try await InProcessSandbox.start()
        defer { try? FileManager.default.removeItem(at: server.root) }
        var configuration = try testConfiguration(server.url, trust: .caCertificate(path: server.certificatePath))
        configuration.retry.budget = .seconds(1)
        let client = QumuloClient(
            configuration: configuration,
            credentials: .password(username: "admin", password: InProcessSandbox.password), logger: quietLogger)
        do {
            _ = try await client.whoAmI()
            try await server.stop()
            let started = ContinuousClock.now
            let error = await #expect(throws: QumuloClientError.self) { _ = try await client.fileSystemStats() }
            #expect(error?.code == .connection && (error?.attempts ?? 0) > 1)
            #expect(started.duration(to: .now) < .seconds(3))
            // Known lost now: the next request is tried once, not for a budget of its own.
            let next = await #expect(throws: QumuloClientError.self) { _ = try await client.attributes(of: .path("/")) }
            #expect(next?.code == .connection && next?.attempts == 1)
        } catch {
            try? await client.shutdown()
            try? await server.stop()
            throw error
        }
        try await client.shutdown()
    }
}
