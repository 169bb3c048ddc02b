import Foundation
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientSessionTests {
    @Test func anExpiredSessionIsRenewedOnceForEveryoneWaiting() async throws {
        // The sandbox counts expiry in whole seconds, so 2 s leaves a fresh session at least one.
        try await withClient(sessionLifetime: .seconds(2)) { client, _ in
            _ = try await client.whoAmI()
            #expect(client.metrics.logins == 1)
            try await Task.sleep(for: .milliseconds(2200))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0 ..< 8 { group.addTask { _ = try await client.attributes(of: .path("/")) } }
                try await group.waitForAll()
            }
            #expect(client.metrics.logins == 2)
            #expect(client.metrics.errors == 0)
        }
    }

    @Test func aPasswordNotKeptServesOneLoginOnly() async throws {
        try await withClient(sessionLifetime: .seconds(2), keepsPassword: false) { client, _ in
            _ = try await client.whoAmI()
            try await Task.sleep(for: .milliseconds(2200))
            let error = await #expect(throws: QumuloClientError.self) { _ = try await client.attributes(of: .path("/")) }
            #expect(error?.code == .authentication)
            #expect(client.metrics.logins == 1)
        }
    }

    @Test func aPasswordFileIsReadAtEveryLogin() async throws {
        let directory = temporaryDirectory("qfuse-password-file-test")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("password")
        try Data((InProcessSandbox.password + "\n").utf8).write(to: file)
        let credentials = Credentials.passwordFile(username: "admin", path: file.path)
        try await withClient(sessionLifetime: .seconds(2), credentials: credentials, keepsPassword: false) { client, _ in
            _ = try await client.whoAmI()
            try await Task.sleep(for: .milliseconds(2200))
            _ = try await client.attributes(of: .path("/"))
            #expect(client.metrics.logins == 2)
        }
        #expect(!"\(credentials)".contains(InProcessSandbox.password))
    }

    @Test func aRefusedTokenFailsWithoutShowingIt() async throws {
        let secret = "1:not-a-real-token-but-secret"
        try await withClient(credentials: .bearerToken(secret)) { client, _ in
            let error = await #expect(throws: QumuloClientError.self) { _ = try await client.whoAmI() }
            #expect(error?.code == .authentication && error?.status == 401)
            #expect(error?.description.contains(secret) == false)
            #expect(client.metrics.logins == 0)
        }
        #expect(!"\(Credentials.bearerToken(secret))".contains(secret))
        #expect(!"\(Credentials.password(username: "u", password: secret))".contains(secret))
    }

    @Test func aWrongPasswordIsAnAuthenticationError() async throws {
        try await withClient(credentials: .password(username: "admin", password: "wrong")) { client, _ in
            let error = await #expect(throws: QumuloClientError.self) { _ = try await client.whoAmI() }
            #expect(error?.code == .authentication && error?.path == "/v1/session/login")
            #expect(error?.description.contains("wrong") == false)
        }
    }

    @Test func credentialsAreFoundWhereUsersKeepThem() throws {
        let home = temporaryDirectory("qfuse-credentials-test")
        defer { try? FileManager.default.removeItem(at: home) }
        let endpoint = Endpoint(host: "Cluster.Example", port: 8443)
        let qqFile = home.appendingPathComponent(".config/qumulo/credentials/cluster.example_8443")
        try FileManager.default.createDirectory(at: qqFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        var environment = ["HOME": home.path]
        func token(_ credentials: Credentials) -> String? {
            if case .bearerToken(let token) = credentials { token } else { nil }
        }

        #expect(throws: QumuloClientError.self) { try Credentials.resolve(for: endpoint, environment: environment) }
        try Data(#"{"bearer_token": "1:legacy", "version": 1}"#.utf8).write(to: home.appendingPathComponent(".qfsd_cred"))
        #expect(token(try Credentials.resolve(for: endpoint, environment: environment)) == "1:legacy")
        try Data(#"{"bearer_token": "1:qq", "version": 1}"#.utf8).write(to: qqFile)
        #expect(token(try Credentials.resolve(for: endpoint, environment: environment)) == "1:qq")
        environment["XDG_CONFIG_HOME"] = home.appendingPathComponent("elsewhere").path
        #expect(token(try Credentials.resolve(for: endpoint, environment: environment)) == "1:legacy")
        environment["QUMULO_TOKEN"] = "access-v1:env\n"
        #expect(token(try Credentials.resolve(for: endpoint, environment: environment)) == "access-v1:env")
        let tokenFile = home.appendingPathComponent("token")
        try Data("access-v1:file\n".utf8).write(to: tokenFile)
        #expect(token(try Credentials.resolve(for: endpoint, tokenFile: tokenFile.path, environment: environment)) == "access-v1:file")
        try Data(#"{"bearer_token": "1:x", "version": 2}"#.utf8).write(to: tokenFile)
        #expect(throws: QumuloClientError.self) {
            try Credentials.resolve(for: endpoint, tokenFile: tokenFile.path, environment: environment)
        }

        environment["QUMULO_PASSWORD"] = "from-env"
        guard case .password("jane", "from-env") = try Credentials.resolve(for: endpoint, username: "jane", environment: environment)
        else { Issue.record("QUMULO_PASSWORD was not used"); return }
        environment["QUMULO_PASSWORD"] = nil
        guard case .password("jane", "typed") = try Credentials.resolve(
            for: endpoint, username: "jane", environment: environment, promptPassword: { _ in "typed" })
        else { Issue.record("the prompt was not used"); return }
        #expect(throws: QumuloClientError.self) {
            try Credentials.resolve(for: endpoint, username: "jane", environment: environment)
        }
    }
}
