import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientTLSTests {
    @Test func aTrustedCAPasses() async throws {
        try await withClient(trust: { .caCertificate(path: $0.certificatePath) }) { client, _ in
            let user = try await client.whoAmI()
            #expect(user.name == "admin")
        }
    }

    @Test func anUnknownCertificateFailsWithOneClearLine() async throws {
        try await withClient(trust: { _ in .system }) { client, server in
            let error = await #expect(throws: QumuloClientError.self) { _ = try await client.whoAmI() }
            #expect(error?.code == .tls)
            let line = error?.description ?? ""
            #expect(line.contains("certificate is not trusted") && !line.contains("\n"))
            // The fingerprint it saw, to check and pin rather than turn verification off.
            #expect(line.contains("the server presents SHA-256 \(server.fingerprint)"))
            #expect(!line.contains("BoringSSL") && !line.contains("sslError"))
            // A refused certificate is not retried: it will not get any better.
            #expect(client.metrics.retries == 0)
        }
    }

    @Test func insecurePasses() async throws {
        try await withClient(trust: { _ in .insecure }) { client, _ in
            let user = try await client.whoAmI()
            #expect(user.name == "admin")
        }
    }

    @Test func aMatchingPinPasses() async throws {
        try await withClient(trust: { .pinned(try! CertificateFingerprint($0.fingerprint)) }) { client, server in
            let user = try await client.whoAmI()
            let lowercase = try CertificateFingerprint(server.fingerprint.lowercased())
            #expect(user.name == "admin" && lowercase.description == server.fingerprint)
        }
    }

    @Test func aMismatchingPinFailsBeforeAnyTokenIsSent() async throws {
        let wrong = try CertificateFingerprint(String(repeating: "AB:", count: 31) + "AB")
        try await withClient(trust: { _ in .pinned(wrong) }) { client, server in
            let error = await #expect(throws: QumuloClientError.self) { _ = try await client.whoAmI() }
            #expect(error?.code == .tls)
            #expect(error?.description.contains("does not match the pinned \(wrong)") == true)
            #expect(error?.description.contains(server.fingerprint) == true)
        }
    }

    @Test func fingerprintsAndURLsParseStrictly() throws {
        #expect(throws: QumuloClientError.self) { try CertificateFingerprint("AB:CD") }
        #expect(throws: QumuloClientError.self) { try CertificateFingerprint(String(repeating: "ZZ", count: 32)) }
        #expect(try Endpoint(url: "https://Cluster.example").port == 8000)
        #expect(try Endpoint(url: "https://10.0.0.1:9000/") == Endpoint(host: "10.0.0.1", port: 9000))
        #expect(try Endpoint(url: "https://[::1]:8443").baseURL == "https://[::1]:8443")
        #expect(throws: QumuloClientError.self) { try Endpoint(url: "http://cluster:8000") }
        #expect(throws: QumuloClientError.self) { try Endpoint(url: "https://cluster:8000/v1") }
        #expect(throws: QumuloClientError.self) { try Endpoint(url: "https://cluster:99999") }
    }
}
