import Testing
@testable import FUSEBridge

/// The bridge's pure parts, without a mount.
struct BridgeLogicTests {
    @Test func inFlightRequestsRememberEarlyInterrupts() async {
        var requests = InFlightRequests()
        let first = requests.open()
        let second = requests.open()
        requests.checkInvariants()
        #expect(first != second)
        #expect(first.rawValue >= 1, "0 would travel through libfuse as NULL")

        // Interrupted before its Task existed: cancelled as soon as it is attached.
        #expect(requests.interrupt(first) == nil)
        let task = Task<Void, Never> { try? await Task.sleep(for: .seconds(60)) }
        #expect(requests.attach(task, to: first) == task)
        requests.checkInvariants()

        // Interrupted while running: the Task to cancel is returned.
        let other = Task<Void, Never> {}
        #expect(requests.attach(other, to: second) == nil)
        #expect(requests.interrupt(second) == other)

        // Answered before its Task was attached: attaching again records nothing.
        requests.close(second)
        #expect(requests.attach(other, to: second) == nil)
        #expect(requests.interrupt(second) == nil)
        #expect(requests.count == 1)

        // The loop ended: everything running is handed out for cancelling, and a late request starts cancelled.
        #expect(requests.closeAll() == [task])
        let late = requests.open()
        let lateTask = Task<Void, Never> {}
        #expect(requests.attach(lateTask, to: late) == lateTask)
        requests.close(first)
        requests.close(late)
        #expect(requests.count == 0)
        requests.checkInvariants()
        task.cancel()
    }

    @Test func mountTableParsesMountinfo() {
        let table = MountTable(mountinfo: """
            22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw
            61 22 0:52 / /tmp/with\\040space rw,nosuid,nodev,relatime shared:30 - fuse.qfuse https://host:8000 rw,user_id=0
            62 22 0:53 / /mnt/q rw,nosuid,nodev shared:31 - fuse.qfuse https://a\\054b:8000 rw,user_id=0
            63 22 0:54 / /mnt/q rw,nosuid,nodev shared:32 - fuse.other other rw
            """)
        #expect(table.mounts.count == 4)
        let spaced = table.mount(at: "/tmp/with space")
        #expect(spaced?.minor == 52)
        #expect(spaced?.fileSystemType == "fuse.qfuse")
        #expect(spaced?.source == "https://host:8000")
        #expect(table.mount(at: "/mnt/q")?.minor == 54, "the topmost mount wins")
        #expect(table.mount(at: "/mnt") == nil)
    }

    @Test func mountOptionsEscapeAndImplyDefaultPermissions() {
        var configuration = FUSEConfiguration()
        configuration.fileSystemName = "https://a,b:8000"
        configuration.readOnly = true
        configuration.allowOther = true
        configuration.extraOptions = ["noatime"]
        #expect(configuration.mountOptions
            == "fsname=https://a\\,b:8000,subtype=qfuse,max_read=1048576,ro,allow_other,default_permissions,noatime")
    }

    @Test func probedSystemAttributes() {
        #expect(BridgeContext.isProbedSystemAttribute("security.selinux"))
        #expect(BridgeContext.isProbedSystemAttribute("security.capability"))
        #expect(BridgeContext.isProbedSystemAttribute("system.posix_acl_access"))
        #expect(BridgeContext.isProbedSystemAttribute("system.posix_acl_default"))
        #expect(!BridgeContext.isProbedSystemAttribute("user.color"))
        #expect(!BridgeContext.isProbedSystemAttribute("system.nfs4_acl"))
    }
}
