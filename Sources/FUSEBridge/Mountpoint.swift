import Foundation
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A directory checked to be mountable: it exists, is a directory, is not already a mount, and is empty
/// unless mounting over its contents was asked for. Checked before mounting, never touched after.
public struct Mountpoint: Sendable, CustomStringConvertible {
    /// Absolute, with symlinks resolved: the form /proc/self/mountinfo shows.
    public let path: String

    public init(validating path: String, allowNonEmpty: Bool = false) throws(FUSEMountError) {
        // realpath alone succeeds on a dead mount; access reaches the mount's root and fails with ENOTCONN.
        guard access(path, F_OK) == 0, let resolved = realpath(path, nil) else {
            let error = Errno(rawValue: errno)
            switch error {
            case .socketNotConnected:
                throw FUSEMountError(.mountpoint, "\(path) is a dead FUSE mount: run qfuse unmount \(path) first",
                                     errno: error)
            case .noSuchFileOrDirectory:
                throw FUSEMountError(.mountpoint, "mountpoint \(path) does not exist")
            default:
                throw FUSEMountError(.mountpoint, "cannot use mountpoint \(path)", errno: error)
            }
        }
        defer { free(resolved) }
        self.path = String(cString: resolved)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: self.path, isDirectory: &isDirectory) else {
            throw FUSEMountError(.mountpoint, "mountpoint \(path) does not exist")
        }
        guard isDirectory.boolValue else {
            throw FUSEMountError(.mountpoint, "mountpoint \(path) is not a directory")
        }
        if let mounted = MountTable.current().mount(at: self.path), mounted.fileSystemType.hasPrefix("fuse") {
            throw FUSEMountError(.mountpoint, "\(path) is already mounted (\(mounted.fileSystemType) from \(mounted.source))")
        }
        if !allowNonEmpty {
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: self.path)
            } catch {
                throw FUSEMountError(.mountpoint, "cannot list mountpoint \(path)")
            }
            guard entries.isEmpty else {
                throw FUSEMountError(.mountpoint,
                                     "mountpoint \(path) is not empty (-o nonempty mounts over its contents)")
            }
        }
    }

    public var description: String { path }
}
