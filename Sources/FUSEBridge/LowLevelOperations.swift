import CFuse3
import FilesystemCore
import NIOCore

/// The table of callbacks libfuse calls, one per kernel request.
///
/// Each callback only decodes its C arguments into Swift values (copying what lives on libfuse's stack) and hands
/// them to the session's `BridgeContext`.
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
        ops.setattr = { request, node, attributes, toSet, info in
            let request = FUSERequest(request)
            request.context.setAttributes(request, node: NodeID(node), changes: AttributeChanges(attributes!.pointee, toSet: toSet),
                                          handle: info.map { $0.pointee.fh })
        }
        ops.create = { request, parent, name, mode, info in
            let request = FUSERequest(request)
            request.context.create(request, parent: NodeID(parent), name: String(cString: name!), mode: UInt32(mode),
                                   info: FileInfo(info))
        }
        ops.mknod = { request, parent, name, mode, device in
            let request = FUSERequest(request)
            request.context.makeNode(request, parent: NodeID(parent), name: String(cString: name!), mode: UInt32(mode),
                                     device: UInt64(device))
        }
        ops.mkdir = { request, parent, name, mode in
            let request = FUSERequest(request)
            request.context.makeDirectory(request, parent: NodeID(parent), name: String(cString: name!), mode: UInt32(mode))
        }
        ops.symlink = { request, target, parent, name in
            let request = FUSERequest(request)
            request.context.makeSymlink(request, parent: NodeID(parent), name: String(cString: name!),
                                        target: String(cString: target!))
        }
        ops.link = { request, node, newParent, newName in
            let request = FUSERequest(request)
            request.context.link(request, node: NodeID(node), to: NodeID(newParent), name: String(cString: newName!))
        }
        ops.unlink = { request, parent, name in
            let request = FUSERequest(request)
            request.context.remove(request, String(cString: name!), from: NodeID(parent), directory: false)
        }
        ops.rmdir = { request, parent, name in
            let request = FUSERequest(request)
            request.context.remove(request, String(cString: name!), from: NodeID(parent), directory: true)
        }
        ops.rename = { request, parent, name, newParent, newName, flags in
            let request = FUSERequest(request)
            request.context.rename(request, parent: NodeID(parent), name: String(cString: name!), to: NodeID(newParent),
                                   newName: String(cString: newName!), flags: RenameFlags(rawValue: flags))
        }
        ops.write = { request, node, bytes, size, offset, info in
            let request = FUSERequest(request)
            // Copied out now: the buffer is libfuse's and is reused once this callback returns.
            let data = ByteBuffer(bytes: UnsafeRawBufferPointer(start: bytes, count: size))
            request.context.write(request, node: NodeID(node), handle: FileInfo(info).handle, offset: UInt64(offset), data: data)
        }
        ops.flush = { request, node, info in
            let request = FUSERequest(request)
            request.context.flush(request, node: NodeID(node), handle: FileInfo(info).handle)
        }
        ops.fsync = { request, node, _, info in
            let request = FUSERequest(request)
            request.context.synchronize(request, node: NodeID(node), handle: info.map { $0.pointee.fh })
        }
        ops.fsyncdir = { request, node, _, _ in
            let request = FUSERequest(request)
            request.context.synchronize(request, node: NodeID(node), handle: nil)
        }
        ops.fallocate = { request, node, mode, offset, length, info in
            let request = FUSERequest(request)
            request.context.allocate(request, node: NodeID(node), handle: FileInfo(info).handle, mode: mode,
                                     offset: UInt64(offset), length: UInt64(length))
        }
        ops.copy_file_range = { request, source, sourceOffset, sourceInfo, target, targetOffset, targetInfo, length, _ in
            let request = FUSERequest(request)
            request.context.copyRange(
                request, from: NodeID(source), handle: FileInfo(sourceInfo).handle, offset: UInt64(sourceOffset),
                to: NodeID(target), handle: FileInfo(targetInfo).handle, offset: UInt64(targetOffset), length: UInt64(length))
        }
        ops.setxattr = { request, node, name, value, size, flags in
            let request = FUSERequest(request)
            let bytes = Array(UnsafeRawBufferPointer(start: value, count: size))
            request.context.setExtendedAttribute(request, node: NodeID(node), name: String(cString: name!), value: bytes,
                                                 flags: flags)
        }
        ops.removexattr = { request, node, name in
            let request = FUSERequest(request)
            request.context.removeExtendedAttribute(request, node: NodeID(node), name: String(cString: name!))
        }
        ops.listxattr = { request, node, size in
            let request = FUSERequest(request)
            request.context.extendedAttributeNames(request, node: NodeID(node), size: size)
        }
        return ops
    }
}
