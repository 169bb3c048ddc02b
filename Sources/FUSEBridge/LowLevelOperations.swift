import CFuse3
import FilesystemCore

/// The table of callbacks libfuse calls, one per kernel request.
///
/// Each callback only decodes its C arguments into Swift values (copying what lives on libfuse's stack) and hands
/// them to the session's `BridgeContext`. Write operations are left unset until the write path exists: libfuse
/// then answers ENOSYS, and with `--read-only` the kernel answers EROFS before asking.
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
        ops.listxattr = { request, node, size in
            let request = FUSERequest(request)
            request.context.extendedAttributeNames(request, node: NodeID(node), size: size)
        }
        return ops
    }
}
