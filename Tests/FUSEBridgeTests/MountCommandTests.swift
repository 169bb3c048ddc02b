import Foundation
import FUSEBridge
import Logging
import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `qfuse mount` and `qfuse unmount` against a real sandbox: checks before mounting, the background
/// process, and the foreground process's exit signals.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct MountCommandTests {
    static let password = "bridge-test-password"

    /// `qfuse`, built next to the test bundle.
    static var qfuse: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("qfuse").path
    }

    /// The logs of background mounts go here rather than into the home directory.
    static let stateDirectory = temporaryDirectory("qfuse-state")

    static func environment(password: String = MountCommandTests.password) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(
            ["QUMULO_PASSWORD": password, "XDG_STATE_HOME": stateDirectory.path]) { $1 }
    }

    @Test func refusesBeforeMountingWithOneLine() async throws {
        try await withSandbox { sandbox, mountpoint in
            let cases: [(name: String, arguments: [String], password: String, expected: String)] = [
                ("bad URL", ["https://127.0.0.1:1"], Self.password, "Connection refused"),
                ("untrusted certificate", [sandbox.url], Self.password, "not trusted"),
                ("wrong password", [sandbox.url, "--ca-cert", sandbox.certificatePath], "wrong", "401"),
            ]
            for foreground in [false, true] {
                for check in cases {
                    var arguments = ["mount"] + check.arguments + [mountpoint, "--user", "admin"]
                    if foreground { arguments.append("--foreground") }
                    let run = try RunningTool(Self.qfuse, arguments, environment: Self.environment(password: check.password))
                    let result = try #require(await run.wait(timeout: .seconds(60)))
                    let lines = result.error.split(separator: "\n")
                    #expect(result.status != 0, "\(check.name)")
                    #expect(lines.count == 1, "\(check.name): \(result.error)")
                    #expect(lines.first?.hasPrefix("qfuse: ") == true, "\(check.name): \(result.error)")
                    #expect(result.error.contains(check.expected), "\(check.name): \(result.error)")
                    #expect(MountTable.current().mount(at: mountpoint) == nil, "\(check.name) mounted anyway")
                }
            }
            let notEmpty = try RunningTool(Self.qfuse, ["mount", sandbox.url, "/tmp", "--user", "admin"],
                                           environment: Self.environment())
            let refused = try #require(await notEmpty.wait(timeout: .seconds(30)))
            #expect(refused.status != 0)
            #expect(refused.error.contains("is not empty"), "\(refused)")
        }
    }

    @Test func sigtermUnmountsAForegroundMount() async throws {
        try await withSandbox { sandbox, mountpoint in
            try await sandbox.putFile("greeting.txt", "hello from the sandbox\n")
            let daemon = try RunningTool(Self.qfuse, [
                "mount", sandbox.url, mountpoint, "--user", "admin", "--ca-cert", sandbox.certificatePath, "--foreground",
            ], environment: Self.environment())
            try await waitUntilMounted(mountpoint, while: daemon)
            let cat = try RunningTool("cat", [mountpoint + "/greeting.txt"])
            #expect(try #require(await cat.wait(timeout: .seconds(30))).text == "hello from the sandbox\n")

            kill(daemon.pid, SIGTERM)
            let ended = try #require(await daemon.wait(timeout: .seconds(20)))
            #expect(!ended.timedOut)
            #expect(ended.status == 0, "\(ended)")
            #expect(ended.error.contains("unmounted"), "\(ended.error)")
            #expect(MountTable.current().mount(at: mountpoint) == nil)
        }
    }

    @Test func backgroundMountServesUntilUnmounted() async throws {
        try await withSandbox { sandbox, mountpoint in
            try await sandbox.putFile("greeting.txt", "hello from the sandbox\n")
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("qfuse-\(UUID()).log").path
            defer { try? FileManager.default.removeItem(atPath: log) }
            let start = ContinuousClock.now
            let mount = try RunningTool(Self.qfuse, [
                "mount", sandbox.url, mountpoint, "--user", "admin", "--ca-cert", sandbox.certificatePath,
                "--log-file", log, "--read-only",
            ], environment: Self.environment())
            let mounted = try #require(await mount.wait(timeout: .seconds(60)))
            #expect(mounted.status == 0, "\(mounted)")
            #expect(ContinuousClock.now - start < .seconds(30))
            // Returned only once the mount is live.
            let entry = try #require(MountTable.current().mount(at: mountpoint))
            #expect(entry.fileSystemType == "fuse.qfuse")
            #expect(entry.source == sandbox.url)

            let cat = try RunningTool("cat", [mountpoint + "/greeting.txt"])
            #expect(try #require(await cat.wait(timeout: .seconds(30))).text == "hello from the sandbox\n")
            let touch = try RunningTool("touch", [mountpoint + "/new"])
            #expect(try #require(await touch.wait(timeout: .seconds(30))).error.contains("Read-only"))

            let unmount = try RunningTool(Self.qfuse, ["unmount", mountpoint])
            let unmounted = try #require(await unmount.wait(timeout: .seconds(30)))
            #expect(unmounted.status == 0, "\(unmounted)")
            #expect(MountTable.current().mount(at: mountpoint) == nil)
            let deadline = ContinuousClock.now + .seconds(20)
            var text = ""
            while ContinuousClock.now < deadline {
                text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if text.contains("fuse.end=unmounted") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(text.contains("mounted"))
            #expect(text.contains("fuse.end=unmounted"), "the background process logged its end: \(text)")

            let again = try RunningTool(Self.qfuse, ["unmount", mountpoint])
            let notMounted = try #require(await again.wait(timeout: .seconds(30)))
            #expect(notMounted.status != 0)
            #expect(notMounted.error.contains("is not mounted"))
        }
    }

    /// A sandbox and an empty mountpoint; whatever happens, nothing stays mounted or running.
    private func withSandbox(_ body: (SandboxProcess, String) async throws -> Void) async throws {
        let root = temporaryDirectory("qfuse-mount-sandbox")
        let mountpoint = temporaryDirectory("qfuse-mountpoint")
        try FileManager.default.createDirectory(at: mountpoint, withIntermediateDirectories: true)
        let sandbox = try await SandboxProcess.start(root: root, password: Self.password)
        defer {
            sandbox.kill()
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: Self.stateDirectory)
        }
        do {
            try await body(sandbox, mountpoint.path)
        } catch {
            await cleanUp(mountpoint.path)
            throw error
        }
        await cleanUp(mountpoint.path)
    }

    /// Unmounts what a failed test left mounted, then removes the mountpoint.
    private func cleanUp(_ mountpoint: String) async {
        if MountTable.current().mount(at: mountpoint) != nil {
            Issue.record("\(mountpoint) was still mounted at the end of the test")
            _ = try? await Fusermount.unmount(mountpoint, lazilyIfBusy: true)
        }
        if MountTable.current().mount(at: mountpoint) == nil { try? FileManager.default.removeItem(atPath: mountpoint) }
    }

    private func waitUntilMounted(_ mountpoint: String, while process: RunningTool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while MountTable.current().mount(at: mountpoint) == nil {
            if process.hasExited {
                let result = await process.wait(timeout: .seconds(1))
                throw TestSupportError("qfuse mount exited before mounting: \(result?.error ?? "")")
            }
            guard ContinuousClock.now < deadline else { throw TestSupportError("\(mountpoint) never got mounted") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension SandboxProcess {
    /// Writes a file at the root through the REST API.
    func putFile(_ name: String, _ text: String) async throws {
        var configuration = QumuloClientConfiguration(endpoint: try Endpoint(url: url))
        configuration.trust = .caCertificate(path: certificatePath)
        let client = QumuloClient(configuration: configuration,
                                  credentials: .password(username: "admin", password: MountCommandTests.password),
                                  logger: Logger(label: "qfuse-test-client"))
        do {
            _ = try await client.createFile(in: .path("/"), name: name)
            _ = try await client.replace(.path("/" + name), with: ByteBuffer(string: text))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
