import Foundation
import Testing
@testable import FUSEBridge
#if canImport(Glibc)
import Glibc
#endif

/// Errors, interrupts and the extended attributes the bridge answers by itself.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FaultTests {
    @Test func ioErrorsReachTheTool() async throws {
        try await TestMount.with(MemoryFilesystem(bigDirectorySize: 0)) { mount in
            let read = try await mount.run("cat", mount.path("faulty"))
            #expect(read.status != 0)
            #expect(read.error.contains("Input/output error"), "\(read)")

            let lookup = try await mount.run("stat", mount.path("broken"))
            #expect(lookup.status != 0)
            #expect(lookup.error.contains("Input/output error"), "\(lookup)")
        }
    }

    /// Ctrl-C of a reader blocked in a request that never ends: the kernel sends INTERRUPT, the bridge cancels the
    /// Task, the core's read throws, and the reply (EINTR) lets the reader die.
    @Test func interruptCancelsTheRequest() async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: 0)
        try await TestMount.with(filesystem) { mount in
            let reader = try RunningTool("cat", [mount.path("stuck")])
            let deadline = ContinuousClock.now + .seconds(10)
            while filesystem.snapshot.stuckReadsStarted == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(filesystem.snapshot.stuckReadsStarted == 1)
            try await Task.sleep(for: .milliseconds(100))
            #expect(!reader.hasExited, "the reader waits in the request")
            kill(reader.pid, SIGINT)
            let result = await reader.wait(timeout: .seconds(10))
            if result == nil { mount.abortConnection() }
            let ended = try #require(result, "the reader is still stuck after SIGINT and SIGKILL")
            #expect(!ended.timedOut, "SIGINT alone ended the reader")
            #expect(filesystem.snapshot.stuckReadsCancelled == 1)
        }
    }

    @Test func securityAttributesNeverReachTheCore() async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: 0)
        try await TestMount.with(filesystem) { mount in
            let path = mount.path("tagged")
            let (acl, selinux, user) = await onOSThread { () -> (Int32, Int32, Int32) in
                let acl = XattrCalls.get(path, "system.posix_acl_access", nil, 0) < 0 ? errno : 0
                let selinux = XattrCalls.get(path, "security.selinux", nil, 0) < 0 ? errno : 0
                let user = XattrCalls.get(path, "user.color", nil, 0) < 0 ? errno : 0
                return (acl, selinux, user)
            }
            // The kernel reads ACLs itself and reports a failed read as "no ACL".
            #expect(acl == ENODATA)
            // The bridge answers "no such attribute" at once...
            #expect(selinux == ENODATA)
            // ...and getxattr stays on for the user metadata.
            #expect(user == 0)
            let asked = filesystem.snapshot.extendedAttributeNamesAsked
            #expect(asked == ["user.color"], "the core was asked for \(asked)")
        }
    }

    @Test func userAttributesAreServed() async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: 0)
        try await TestMount.with(filesystem) { mount in
            let path = mount.path("tagged")
            let (size, value, tooSmall, missing) = await onOSThread { () -> (Int, String, Int32, Int32) in
                let size = XattrCalls.get(path, "user.color", nil, 0)
                var buffer = [UInt8](repeating: 0, count: 64)
                let read = XattrCalls.get(path, "user.color", &buffer, buffer.count)
                let value = read < 0 ? "" : String(decoding: buffer[..<read], as: UTF8.self)
                var small = [UInt8](repeating: 0, count: 2)
                let tooSmall = XattrCalls.get(path, "user.color", &small, small.count) < 0 ? errno : 0
                let missing = XattrCalls.get(path, "user.other", nil, 0) < 0 ? errno : 0
                return (size, value, tooSmall, missing)
            }
            #expect(size == 4)
            #expect(value == "blue")
            #expect(tooSmall == ERANGE)
            #expect(missing == ENODATA)

            let (listSize, names) = await onOSThread { () -> (Int, [String]) in
                let size = XattrCalls.list(path, nil, 0)
                var buffer = [CChar](repeating: 0, count: 256)
                let read = XattrCalls.list(path, &buffer, buffer.count)
                let names = read <= 0 ? [] : buffer[..<read].split(separator: 0).map {
                    String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                return (size, names)
            }
            #expect(listSize == "user.color".utf8.count + 1)
            #expect(names == ["user.color"])
        }
    }
}

/// `getxattr` and `listxattr`, which Swift's Glibc module does not export (it leaves out <sys/xattr.h>), looked
/// up in the C library and called with the C calling convention.
enum XattrCalls {
    typealias Get = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    typealias List = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> Int

    static func get(_ path: String, _ name: String, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int {
        let call = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getxattr"), to: Get.self)
        return call(path, name, value, size)
    }

    static func list(_ path: String, _ names: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
        let call = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "listxattr"), to: List.self)
        return call(path, names, size)
    }
}
