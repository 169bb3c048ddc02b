import SystemPackage

/// A mount that could not be made or ended badly: what kind, a one-line message fit for a terminal, and the
/// errno behind it when there is one.
public struct FUSEMountError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String

        /// libfuse refused the mount options.
        public static let options = Code(name: "options")
        /// The mountpoint is missing, not a directory, not empty, or already a mount.
        public static let mountpoint = Code(name: "mountpoint")
        /// The mount system call (or fusermount3) failed.
        public static let mount = Code(name: "mount")
        /// The session ended before the kernel's INIT.
        public static let session = Code(name: "session")
        /// Unmounting failed.
        public static let unmount = Code(name: "unmount")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var errno: Errno?

    public init(_ code: Code, _ message: String, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String {
        errno.map { "\(message): \($0)" } ?? message
    }
}
