import FilesystemCore
import Foundation
import FUSEBridge
import Logging
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real mount of a `FilesystemOperations` in this process, on a fresh directory, driven by real tools in
/// other processes. Always unmounted at the end, escalating as libfuse's own tests do: `fusermount3 -u`,
/// then `-uz` if busy, then aborting the connection if the session still does not end.
struct TestMount {
    let mount: FUSEMount
    let filesystem: any FilesystemOperations

    var path: String { mount.mountpoint.path }

    func path(_ relative: String) -> String { path + "/" + relative }

    /// Mounts, runs `body`, unmounts, whether `body` threw or not.
    static func with<Result>(
        _ filesystem: any FilesystemOperations, configuration: FUSEConfiguration = FUSEConfiguration(),
        _ body: (TestMount) async throws -> Result
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qfuse-bridge-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "qfuse-test")
        logger.logLevel = .warning
        let mount = try await FUSEMount.mount(
            filesystem, at: try Mountpoint(validating: directory.path), configuration: configuration, logger: logger)
        let testMount = TestMount(mount: mount, filesystem: filesystem)
        let result: Result
        do {
            result = try await body(testMount)
        } catch {
            await testMount.unmount()
            throw error
        }
        await testMount.unmount()
        return result
    }

    /// Runs a tool to completion; a tool stuck past `timeout` even after SIGKILL means a request stuck in the
    /// kernel, so the connection is aborted to free it.
    func run(_ tool: String, _ arguments: String..., timeout: Duration = .seconds(30)) async throws -> ToolResult {
        try await run(tool, arguments, timeout: timeout)
    }

    func run(_ tool: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> ToolResult {
        let running = try RunningTool(tool, arguments)
        if let result = await running.wait(timeout: timeout) { return result }
        abortConnection()
        return await running.wait(timeout: .seconds(10)) ?? ToolResult(status: -1, output: Data(), error: "stuck", timedOut: true)
    }

    /// Ends the session: unmount (lazily if busy), wait, abort if it still hangs.
    func unmount() async {
        let unmounted = try? await Fusermount.unmount(path, lazilyIfBusy: true)
        if unmounted == nil { Issue.record("fusermount3 could not unmount \(path)") }
        if await waitForEnd(timeout: .seconds(20)) { return }
        Issue.record("session at \(path) did not end after unmount; aborting the connection")
        abortConnection()
        if !(await waitForEnd(timeout: .seconds(20))) { Issue.record("session at \(path) did not end even after abort") }
    }

    private func waitForEnd(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !mount.hasEnded {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let end = await mount.waitUntilUnmounted()
        #expect(end.unanswered == 0, "requests left unanswered at unmount")
        return true
    }

    /// `echo 1 > /sys/fs/fuse/connections/<minor>/abort`, mounting fusectl first if needed.
    func abortConnection() {
        guard let minor = mount.device?.minor else { return }
        let control = "/sys/fs/fuse/connections"
        if !FileManager.default.fileExists(atPath: "\(control)/\(minor)") {
            _ = Glibc.mount("none", control, "fusectl", 0, nil)
        }
        try? Data("1\n".utf8).write(to: URL(fileURLWithPath: "\(control)/\(minor)/abort"))
    }
}
