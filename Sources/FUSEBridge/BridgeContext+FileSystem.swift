import FilesystemCore
import SystemPackage

// STATFS, GETXATTR and LISTXATTR.
extension BridgeContext {
    func statistics(_ request: FUSERequest, node: NodeID) {
        start(request, "statfs") { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await filesystem.statistics(node) }) {
            case .success(let statistics): reply.statistics(statistics)
            case .failure(let error): reply.error(error)
            }
        }
    }

    /// `security.*` and `system.posix_acl_*` get ENODATA at once, without the core: `ls -l` and every file
    /// manager probe them on each file, and the cluster has nothing to say. Not ENOSYS, which design.md
    /// suggested: the kernel remembers ENOSYS for getxattr as a whole and would stop asking for `user.*` too,
    /// which are the file's user metadata.
    func extendedAttribute(_ request: FUSERequest, node: NodeID, name: String, size: Int) {
        if Self.isProbedSystemAttribute(name) {
            answer(request, "getxattr") { $0.error(.noData) }
            return
        }
        start(request, "getxattr") { filesystem, reply in
            let value = await outcome { () async throws(FilesystemError) in
                try await filesystem.extendedAttribute(node, name: name)
            }
            switch value {
            case .success(let bytes): reply.extendedAttribute(bytes, size: size)
            case .failure(let error): reply.error(error)
            }
        }
    }

    func extendedAttributeNames(_ request: FUSERequest, node: NodeID, size: Int) {
        start(request, "listxattr") { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await filesystem.extendedAttributeNames(node) }) {
            case .success(let names): reply.extendedAttribute(names.flatMap { Array($0.utf8) + [0] }, size: size)
            case .failure(let error): reply.error(error)
            }
        }
    }

    /// The attribute families the kernel and tools ask about on their own, not the user.
    static func isProbedSystemAttribute(_ name: String) -> Bool {
        name.hasPrefix("security.") || name.hasPrefix("system.posix_acl_")
    }
}
