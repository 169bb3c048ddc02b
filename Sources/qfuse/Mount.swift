import ArgumentParser
import CommandLineSupport
import CLinuxIO
import FilesystemCore
import Foundation
import FUSEBridge
import Logging
import QumuloClient
#if canImport(Glibc)
import Glibc
#endif

/// `qfuse mount URL MOUNTPOINT`: checks the cluster, then serves it as a file system until unmounted.
///
/// Without `--foreground` it starts itself again in the background (never `fork` after threads exist), waits for
/// that process to report the mount live or failed, relays the outcome and exits; see ``MountDaemon``.
struct Mount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount a cluster on an empty directory.",
        discussion: """
            Checks the URL, the certificate and the credentials before mounting, then serves in the background \
            (log in $XDG_STATE_HOME/qfuse, see --log-file) until `qfuse unmount MOUNTPOINT`. With --foreground it \
            logs to stderr and unmounts on Ctrl-C or SIGTERM.

            Credentials: --user (password from --password-file, QUMULO_PASSWORD or a prompt), --token-file, \
            QUMULO_TOKEN, or the file `qq login` wrote for this host. The mount keeps no password past its login: \
            its session lasts as long as the server's, unless --password-file lets it log in again.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "An existing, empty directory to mount on.")
    var mountpoint: String

    @Flag(help: "Mount read-only: every change fails with EROFS.")
    var readOnly = false

    @Flag(help: "Stay in the foreground, logging to stderr, until unmounted or interrupted.")
    var foreground = false

    @Option(name: .customShort("o"), help: ArgumentHelp(
        "FUSE mount options, comma-separated: allow_other (adds default_permissions), nonempty, ro, ...",
        valueName: "opt[,opt]"))
    var options: [String] = []

    @Option(help: "Seconds the kernel may trust a name and its attributes.")
    var attrTimeout: Double = 1

    @Option(help: "Bytes of file data to cache, e.g. 512M (default: 1 GiB or an eighth of RAM, whichever is less).")
    var cacheSize: ByteCount?

    @Option(help: "Most bytes read ahead of one sequential reader, e.g. 64M.")
    var readAhead = ByteCount(argument: "64M")!

    @Option(help: """
        Most bytes written and not yet uploaded, across the mount, e.g. 256M; writers wait while it is full. \
        Memory use is about --cache-size plus this.
        """)
    var writeBuffer = ByteCount(argument: "128M")!

    @Option(help: "Where the background process logs (default: $XDG_STATE_HOME/qfuse/<mountpoint>-<hash>.log).")
    var logFile: String?

    /// Set on the background process by the one that started it: report readiness on stdout.
    @Flag(help: .private)
    var daemon = false

    /// Set on the background process when the password comes as the first line of its stdin.
    @Flag(help: .private)
    var passwordOnStdin = false

    func validate() throws {
        guard attrTimeout > 0, attrTimeout <= 86400 else {
            throw ValidationError("--attr-timeout must be above 0 (the kernel would look up every name again) and at most 86400")
        }
    }

    func run() async throws {
        if let logFile, foreground, !daemon { MountDaemon.redirectStandardError(to: logFile) }
        // One line per event: info by default (mount, negotiated settings, unmount, totals), every request with --debug.
        let logger = connection.bootstrapLogging(quietLevel: .info)
        let readiness = Readiness(reportsOnStandardOutput: daemon)
        let plan: MountPlan
        do {
            plan = try MountPlan(self)
        } catch {
            readiness.fail(error)
        }
        guard foreground else {
            await MountDaemon.launch(plan, connection: connection, readiness: readiness)
        }
        await serve(plan, readiness: readiness, logger: logger)
    }

    /// The foreground mount: connect, check, mount, serve, unmount.
    private func serve(_ plan: MountPlan, readiness: Readiness, logger: Logger) async -> Never {
        // File data comes and goes in blocks of several MiB. glibc would raise its mmap threshold after the first
        // few were freed and then keep later ones on the heap, where freed blocks stay resident: RSS would drift
        // past --cache-size. A fixed threshold keeps every block in its own mapping, returned on free. 2 MiB:
        // below the 4 MiB blocks and 8 MiB uploads, above the 1 MiB writes, whose buffers the heap then reuses
        // instead of mapping and zeroing fresh pages for every one (a third of the CPU of a large write).
        _ = clinuxio_set_mmap_threshold(2 << 20)
        let client: QumuloClient
        do {
            var environment = ProcessInfo.processInfo.environment
            if passwordOnStdin { environment["QUMULO_PASSWORD"] = Terminal.readStandardInputLine() }
            // The mount outlives any terminal: it keeps no password past its login (see --password-file).
            client = try connection.makeClient(logger: logger, environment: environment, keepsPassword: false)
        } catch {
            readiness.fail(error)
        }
        // The client holds the password now; the environment would show it in /proc/PID/environ for the mount's
        // whole life (a --foreground mount started with QUMULO_PASSWORD).
        clinuxio_wipe_environment_variable("QUMULO_PASSWORD")
        let filesystem: QumuloFilesystem
        do {
            // Logs in and reads the root's attributes: a bad URL, certificate or password fails here.
            filesystem = try await QumuloFilesystem(client: client, configuration: plan.filesystem, logger: logger)
        } catch {
            try? await client.shutdown()
            readiness.fail(MountCheckError(url: connection.url, cause: error))
        }
        let mount: FUSEMount
        do {
            mount = try await FUSEMount.mount(filesystem, at: plan.mountpoint, configuration: plan.fuse, logger: logger)
        } catch {
            try? await client.shutdown()
            readiness.fail(error)
        }
        readiness.ready()
        let end = await mount.waitUntilUnmounted()
        logTotals(client: client, filesystem: filesystem, logger: logger)
        // Requests still unanswered wait on a server that may never answer, and shutting the client down waits
        // for them: the mount is gone, so the process ends without that.
        if end.unanswered == 0 { try? await client.shutdown() }
        Glibc.exit(end.unanswered == 0 ? 0 : 1)
    }

    /// What the mount cost and what the caches saved, logged once at unmount: requests per operation for
    /// benchmarks and tests, and a leak check of the kernel's lookups.
    private func logTotals(client: QumuloClient, filesystem: QumuloFilesystem, logger: Logger) {
        let metrics = client.metrics
        let cache = filesystem.cacheStatistics
        logger.info("totals", metadata: [
            "client.requests": "\(metrics.requests)", "client.bytes_read": "\(metrics.bytesRead)",
            "client.bytes_written": "\(metrics.bytesWritten)", "client.retries": "\(metrics.retries)",
            "client.errors": "\(metrics.errors)", "client.logins": "\(metrics.logins)",
            "cache.hits": "\(cache.hits)", "cache.misses": "\(cache.misses)", "cache.prefetches": "\(cache.prefetches)",
            "cache.evictions": "\(cache.evictions)", "nodes.held": "\(filesystem.heldLookups.count)",
            "nodes.unbalanced_forgets": "\(filesystem.unbalancedForgets)",
        ])
    }
}

/// A failed check of the cluster before mounting, as one line: `cannot use https://h:8000: <why>`.
struct MountCheckError: Error, CustomStringConvertible {
    var url: String
    var cause: any Error

    var description: String { "cannot use \(url): \(cause)" }
}
