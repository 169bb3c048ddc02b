import ArgumentParser
import Foundation
import FUSEBridge

/// `qfuse unmount MOUNTPOINT`: ends a mount made by `qfuse mount`; its background process then exits.
struct Unmount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unmount a qfuse mount.",
        discussion: """
            Unmounts with fusermount3. If files are still open on the mount, it is detached instead: gone from \
            the directory tree at once, and fully unmounted when the last of them is closed.
            """)

    @Argument(help: "The directory the cluster is mounted on.")
    var mountpoint: String

    func run() async throws {
        // Only the parent is resolved: resolving the mountpoint itself would ask the daemon for the root's
        // attributes, which hangs when the daemon is stopped and waits out the retries when the server is gone.
        let absolute = URL(fileURLWithPath: mountpoint).standardizedFileURL
        let parent = absolute.deletingLastPathComponent().path
        let resolvedParent = realpath(parent, nil).map { path in defer { free(path) }; return String(cString: path) }
        let candidates = [absolute.path] + [resolvedParent.map { ($0 == "/" ? "" : $0) + "/" + absolute.lastPathComponent }]
            .compactMap { $0 }
        let table = MountTable.current()
        guard let mounted = candidates.lazy.compactMap({ table.mount(at: $0) }).first else {
            Qfuse.fail(MountPlanError("\(mountpoint) is not mounted"))
        }
        guard mounted.fileSystemType.hasPrefix("fuse") else {
            Qfuse.fail(MountPlanError("\(mountpoint) is a \(mounted.fileSystemType) mount, not qfuse's"))
        }
        // Writes reach the server when their file is closed, and the kernel unmounts only once nothing is open:
        // there is nothing left to flush here.
        do {
            switch try await Fusermount.unmount(mounted.mountPoint, lazilyIfBusy: true) {
            case .unmounted:
                break
            case .detached:
                FileHandle.standardError.write(Data(
                    "qfuse: \(mountpoint) is busy; detached it, it unmounts fully when the last open file is closed\n".utf8))
            }
        } catch {
            Qfuse.fail(error)
        }
    }
}
