import CFuse3
import FilesystemCore

/// The table of callbacks libfuse calls, one per kernel request.
///
/// Each callback only decodes its C arguments into Swift values (copying what lives on libfuse's stack) and hands
/// them to the session's `BridgeContext`. Until the write path exists, every changing operation is refused by
/// the core: EROFS inside snapshots and on read-only mounts, ENOSYS elsewhere.
enum LowLevelOperations {
    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, connection in
            guard let userdata, let connection else { return }
            Unmanaged<BridgeContext>.fromOpaque(userdata).takeUnretainedValue().negotiate(&connection.pointee)
        }
        ops.lookup = { request, parent, name in
            let request = FUSERequest(request)
            request.context.lookup(request, parent: NodeID(parent), name: String(cString: name!))
        }
        ops.forget = { request, node, lookups in
            let request = FUSERequest(request)
            request.context.forget(CollectionOfOne((NodeID(node), lookups)))
            request.replyNone()
        }
        ops.forget_multi = { request, count, forgets in
            let request = FUSERequest(request)
            let batch = UnsafeBufferPointer(start: forgets, count: count)
            request.context.forget(batch.lazy.map { (NodeID($0.ino), $0.nlookup) })
            request.replyNone()
        }
        ops.getattr = { request, node, _ in
            let request = FUSERequest(request)
            request.context.attributes(request, node: NodeID(node))
        }
        ops.readlink = { request, node in
            let request = FUSERequest(request)
            request.context.readLink(request, node: NodeID(node))
        }
        ops.open = { request, node, info in
            let request = FUSERequest(request)
            request.context.open(request, node: NodeID(node), info: FileInfo(info))
        }
        ops.read = { request, node, size, offset, info in
            let request = FUSERequest(request)
            request.context.read(request, node: NodeID(node), handle: FileInfo(info).handle,
                                 offset: UInt64(offset), size: size)
        }
        ops.release = { request, node, info in
            let request = FUSERequest(request)
            request.context.release(request, node: NodeID(node), handle: FileInfo(info).handle)
        }
        ops.opendir = { request, node, info in
            let request = FUSERequest(request)
            request.context.openDirectory(request, node: NodeID(node), info: FileInfo(info))
        }
        ops.readdir = { request, node, size, offset, info in
            let request = FUSERequest(request)
            request.context.readDirectory(request, node: NodeID(node), handle: FileInfo(info).handle, size: size,
                                          offset: UInt64(bitPattern: Int64(offset)), plus: false)
        }
        ops.readdirplus = { request, node, size, offset, info in
            let request = FUSERequest(request)
            request.context.readDirectory(request, node: NodeID(node), handle: FileInfo(info).handle, size: size,
                                          offset: UInt64(bitPattern: Int64(offset)), plus: true)
        }
        ops.releasedir = { request, node, info in
            let request = FUSERequest(request)
            request.context.releaseDirectory(request, node: NodeID(node), handle: FileInfo(info).handle)
        }
        ops.statfs = { request, node in
            let request = FUSERequest(request)
            request.context.statistics(request, node: NodeID(node))
        }
        ops.getxattr = { request, node, name, size in
            let request = FUSERequest(request)
            request.context.extendedAttribute(request, node: NodeID(node), name: String(cString: name!), size: size)
        }
        ops.setattr = { request, node, _, _, _ in
            LowLevelOperations.refuse(request, "setattr", [node])
        }
        ops.mknod = { request, parent, _, _, _ in
            LowLevelOperations.refuse(request, "mknod", [parent])
        }
        ops.mkdir = { request, parent, _, _ in
            LowLevelOperations.refuse(request, "mkdir", [parent])
        }
        ops.unlink = { request, parent, _ in
            LowLevelOperations.refuse(request, "unlink", [parent])
        }
        ops.rmdir = { request, parent, _ in
            LowLevelOperations.refuse(request, "rmdir", [parent])
        }
        ops.symlink = { request, _, parent, _ in
            LowLevelOperations.refuse(request, "symlink", [parent])
        }
        ops.rename = { request, parent, _, newParent, _, _ in
            LowLevelOperations.refuse(request, "rename", [parent, newParent])
        }
        ops.link = { request, node, newParent, _ in
            LowLevelOperations.refuse(request, "link", [node, newParent])
        }
        ops.create = { request, parent, _, _, _ in
            LowLevelOperations.refuse(request, "create", [parent])
        }
        ops.setxattr = { request, node, _, _, _, _ in
            LowLevelOperations.refuse(request, "setxattr", [node])
        }
        ops.removexattr = { request, node, _ in
            LowLevelOperations.refuse(request, "removexattr", [node])
        }
        ops.listxattr = { request, node, size in
            let request = FUSERequest(request)
            request.context.extendedAttributeNames(request, node: NodeID(node), size: size)
        }
        return ops
    }

    /// Answers a changing operation with the core's refusal.
    private static func refuse(_ request: fuse_req_t?, _ operation: StaticString, _ nodes: [fuse_ino_t]) {
        let request = FUSERequest(request)
        let error = request.context.filesystem.refuseChange(nodes.map { NodeID($0) })
        request.context.answer(request, operation) { $0.error(error) }
    }
}
