import CFuse3
import FilesystemCore
import QumuloAPI
#if canImport(Glibc)
import Glibc
#endif

// The core's POSIX values as the C structs libfuse replies with.

extension stat {
    init(_ attributes: NodeAttributes) {
        self.init()
        st_ino = ino_t(attributes.inode)
        st_mode = mode_t(attributes.mode)
        st_nlink = nlink_t(attributes.linkCount)
        st_uid = uid_t(attributes.uid)
        st_gid = gid_t(attributes.gid)
        st_rdev = dev_t(attributes.device)
        st_size = off_t(clamping: attributes.size)
        st_blocks = blkcnt_t(clamping: attributes.blocks)
        st_blksize = blksize_t(attributes.blockSize)
        st_atim = timespec(attributes.accessTime)
        st_mtim = timespec(attributes.modificationTime)
        st_ctim = timespec(attributes.changeTime)
    }
}

extension timespec {
    init(_ time: Timestamp) {
        self.init(tv_sec: time_t(time.seconds), tv_nsec: Int(time.nanoseconds))
    }
}

extension fuse_entry_param {
    init(_ entry: Entry) {
        self.init()
        ino = entry.node.rawValue
        generation = entry.generation
        attr = stat(entry.attributes)
        attr_timeout = entry.attributeTimeout
        entry_timeout = entry.entryTimeout
    }
}

extension statvfs {
    init(_ statistics: FilesystemStatistics) {
        self.init()
        f_bsize = UInt(statistics.blockSize)
        f_frsize = UInt(statistics.blockSize)
        f_blocks = fsblkcnt_t(statistics.totalBlocks)
        f_bfree = fsblkcnt_t(statistics.freeBlocks)
        f_bavail = fsblkcnt_t(statistics.availableBlocks)
        f_files = fsfilcnt_t(statistics.totalFiles)
        f_ffree = fsfilcnt_t(statistics.freeFiles)
        f_favail = fsfilcnt_t(statistics.freeFiles)
        f_namemax = UInt(statistics.nameMax)
    }
}

/// What the bridge keeps of a request's `fuse_file_info`: the C struct lives on a libfuse thread's stack and is
/// gone once the callback returns, long before the Task replies.
struct FileInfo: Sendable {
    var flags: Int32
    var handle: UInt64

    init(_ info: UnsafeMutablePointer<fuse_file_info>?) {
        flags = info?.pointee.flags ?? 0
        handle = info?.pointee.fh ?? 0
    }

    /// The file info to reply to `open`/`opendir` with: the request's, plus the handle and cache flags.
    func replying(_ reply: OpenReply) -> fuse_file_info {
        var info = fuse_file_info()
        info.flags = flags
        info.fh = reply.handle
        info.keep_cache = reply.keepCache ? 1 : 0
        info.direct_io = reply.directIO ? 1 : 0
        info.cache_readdir = reply.cacheDirectory ? 1 : 0
        return info
    }
}

extension NodeID {
    init(_ inode: fuse_ino_t) {
        self.init(rawValue: inode)
    }
}

extension AttributeChanges {
    /// The fields of a SETATTR that `toSet` (`FUSE_SET_ATTR_*`) marks.
    init(_ attributes: stat, toSet: Int32) {
        func time(_ set: Int32, now: Int32, _ value: timespec) -> Time? {
            if toSet & now != 0 { return .now }
            guard toSet & set != 0 else { return nil }
            return .at(Timestamp(seconds: Int64(value.tv_sec), nanoseconds: Int32(value.tv_nsec)))
        }
        self.init(
            mode: toSet & FUSE_SET_ATTR_MODE != 0 ? UInt32(attributes.st_mode) & 0o7777 : nil,
            uid: toSet & FUSE_SET_ATTR_UID != 0 ? attributes.st_uid : nil,
            gid: toSet & FUSE_SET_ATTR_GID != 0 ? attributes.st_gid : nil,
            size: toSet & FUSE_SET_ATTR_SIZE != 0 ? UInt64(max(attributes.st_size, 0)) : nil,
            accessTime: time(FUSE_SET_ATTR_ATIME, now: FUSE_SET_ATTR_ATIME_NOW, attributes.st_atim),
            modificationTime: time(FUSE_SET_ATTR_MTIME, now: FUSE_SET_ATTR_MTIME_NOW, attributes.st_mtim))
    }
}
