import FilesystemCore
import SystemPackage

// OPENDIR, READDIR, READDIRPLUS and RELEASEDIR.
extension BridgeContext {
    func openDirectory(_ request: FUSERequest, node: NodeID, info: FileInfo) {
        start(request, "opendir") { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await filesystem.openDirectory(node) }) {
            case .success(let opened): reply.open(opened, opened: info)
            case .failure(let error): reply.error(error)
            }
        }
    }

    /// Fills one kernel buffer of `size` bytes from cookie `offset` on. The core is asked for as many entries as
    /// could possibly fit; the ones that do not are simply asked for again by the next request, from the cookie
    /// of the last one that did.
    func readDirectory(_ request: FUSERequest, node: NodeID, handle: UInt64, size: Int, offset: UInt64, plus: Bool) {
        start(request, plus ? "readdirplus" : "readdir") { filesystem, reply in
            var buffer = DirectoryBuffer(capacity: size, plus: plus)
            let limit = buffer.maximumEntries
            let listed = await outcome { () async throws(FilesystemError) in
                try await filesystem.readDirectory(node, handle: handle, offset: offset, limit: limit, plus: plus)
            }
            switch listed {
            case .success(let entries):
                for entry in entries {
                    guard buffer.append(entry, request: request) else { break }
                }
                if buffer.count == 0, !entries.isEmpty {
                    // Not even one entry fits: an empty reply would read as the end of the directory.
                    reply.error(.invalidArgument)
                } else {
                    reply.directory(buffer)
                }
            case .failure(let error):
                reply.error(error)
            }
        }
    }

    /// Synchronous in the contract: dropping a listing snapshot is bookkeeping, not I/O.
    func releaseDirectory(_ request: FUSERequest, node: NodeID, handle: UInt64) {
        filesystem.releaseDirectory(node, handle: handle)
        answer(request, "releasedir") { $0.success() }
    }
}
