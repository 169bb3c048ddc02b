import Logging
import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientObservabilityTests {
    @Test func oneDebugLinePerRequestAndCountersThatAddUp() async throws {
        let capture = LogCapture()
        try await withClient(logger: capture.logger) { client, _ in
            let file = try await client.createFile(in: .path("/"), name: "f")
            _ = try await client.replace(.id(file.id), with: ByteBuffer(bytes: pattern(5000)))
            _ = try await client.read(.id(file.id), offset: 0, length: 5000)
            _ = try? await client.attributes(of: .path("/missing"))

            let requests = capture.recorded.filter { $0.message == "request" }
            // login, create, replace, read, the failed lookup
            #expect(requests.count == 5 && requests.allSatisfy { $0.level == .debug })
            for line in requests {
                for key in ["http.method", "http.path", "http.status", "http.bytes_in", "http.bytes_out", "http.latency_ms"] {
                    #expect(line.metadata[key] != nil, "\(key) missing from \(line.metadata)")
                }
            }
            let read = try #require(requests.first { $0.metadata["http.method"] == "GET" && "\($0.metadata["http.path"]!)".contains("/data") })
            #expect(read.metadata["http.status"] == "200" && read.metadata["http.bytes_in"] == "5000")
            #expect(requests.last?.metadata["http.status"] == "404")

            let everything = capture.recorded.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            #expect(!everything.contains(InProcessSandbox.password) && !everything.contains("Bearer"))

            let metrics = client.metrics
            #expect(metrics.requests == 5 && metrics.logins == 1 && metrics.errors == 1 && metrics.retries == 0)
            #expect(metrics.bytesWritten >= 5000 && metrics.bytesRead >= 5000)
        }
    }
}
