import ArgumentParser
import Foundation
import FUSEBridge

/// `qfuse unmount MOUNTPOINT`: ends a mount made by `qfuse mount`; its background process then exits.
struct Unmount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unmount a qfuse mount.",
        discussion: """
            Unmounts with fusermount3. If files are still open on the mount, or the unmount does not finish \
            within half a second, it is detached instead: gone from the directory tree at once, and fully \
            unmounted when the last of them is closed.
            """)

    @Argument(help: "The directory the cluster is mounted on.")
    var mountpoint: String

    func run() async throws {
        // Nothing touches the mountpoint itself: a stat of it asks the daemon for the root's attributes, which
        // never returns while the daemon is stopped and waits out the retries while its server is gone. Only the
        // parent is resolved, and the path is put together as a string: URL(fileURLWithPath:) stats its path to
        // learn whether it is a directory.
        let absolute = Self.absolute(mountpoint)
        let name = absolute.split(separator: "/").last.map(String.init) ?? ""
        let parent = "/" + absolute.split(separator: "/").dropLast().joined(separator: "/")
        let resolvedParent = realpath(parent, nil).map { path in defer { free(path) }; return String(cString: path) }
        let candidates = [absolute] + [resolvedParent.map { ($0 == "/" ? "" : $0) + "/" + name }].compactMap { $0 }
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

    /// `path` made absolute against the working directory, with `.`, `..` and repeated slashes taken out as
    /// text, without looking at the file system.
    static func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var components: [Substring] = []
        for component in joined.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }
}
