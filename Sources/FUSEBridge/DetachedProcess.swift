import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A process that outlives the one that started it: how `qfuse mount` serves in the background without `fork`
/// (forking a process that runs threads leaves locks held by threads the child does not have).
///
/// The child runs in a session of its own (no controlling terminal, so neither the terminal's hangup nor its
/// Ctrl-C reach it), with no signal blocked and every signal at its default action whatever the starting thread
/// had, stdin on /dev/null unless the caller hands it a pipe, stdout and stderr where the caller says, and nothing
/// else of the parent's open.
public struct DetachedProcess: Sendable {
    public let pid: pid_t

    /// Starts `executable` with `arguments` (the first is the child's argv[0]).
    public init(
        _ executable: String, arguments: [String], environment: [String: String],
        standardInput: Int32? = nil, standardOutput: Int32, standardError: Int32
    ) throws(FUSEMountError) {
        let (pid, error) = spawnDetached(executable, arguments: arguments, environment: environment,
                                         standardInput: standardInput ?? -1, standardOutput: standardOutput,
                                         standardError: standardError)
        guard error == 0 else {
            throw FUSEMountError(.mount, "cannot start \(executable)", errno: .init(rawValue: error))
        }
        self.pid = pid
    }

    /// The exit status once the process has ended (reaping it), nil while it runs. A death by signal reads as
    /// 128 + the signal, as shells report it.
    public func exitStatus() -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Waits up to `timeout` for the exit status.
    public func exitStatus(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus() { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exitStatus()
    }
}
