import QumuloAPI

extension ACL {
    /// The names `api_files_acl_v2` in Qumulo's openapi.json allows, field by field: an ACL is stored as it
    /// arrives and read back verbatim, so a name outside these would come back as if the cluster knew it.
    private static let controls: Set = ["PRESENT", "DEFAULTED", "TRUSTED", "AUTO_INHERIT", "PROTECTED", "ACL_CONTROLS_ALL"]
    private static let specialPermissions: Set = ["STICKY_BIT", "SET_GID", "SET_UID"]
    private static let types: Set = ["ALLOWED", "DENIED"]
    private static let flags: Set = [
        "OBJECT_INHERIT", "CONTAINER_INHERIT", "NO_PROPAGATE_INHERIT", "INHERIT_ONLY", "INHERITED", "ACE_FLAGS_ALL",
    ]
    private static let rights: Set = [
        "READ", "READ_EA", "READ_ATTR", "READ_ACL", "WRITE_EA", "WRITE_ATTR", "WRITE_ACL", "CHANGE_OWNER", "WRITE_GROUP",
        "DELETE", "EXECUTE", "MODIFY", "EXTEND", "ADD_FILE", "ADD_SUBDIR", "DELETE_CHILD", "SYNCHRONIZE",
        "ACCESS_RIGHTS_ALL",
    ]
    private static let domains: Set = [
        "LOCAL", "API_NULL_DOMAIN", "WORLD", "POSIX_USER", "POSIX_GROUP", "ACTIVE_DIRECTORY", "API_INVALID_DOMAIN",
        "API_RESERVED_DOMAIN", "API_INTERNAL_DOMAIN", "API_OPERATOR_DOMAIN", "API_CREATOR_DOMAIN",
    ]

    /// Refuses (400) the first name that is not in its field's enumeration.
    func validate() throws {
        func check(_ values: some Sequence<String>, in allowed: Set<String>, _ field: String) throws {
            if let unknown = values.first(where: { !allowed.contains($0) }) {
                throw SandboxError.invalidRequest("\(field): \"\(unknown)\" is not one of \(allowed.sorted())")
            }
        }
        try check(control, in: Self.controls, "control")
        try check(posixSpecialPermissions, in: Self.specialPermissions, "posix_special_permissions")
        for (index, entry) in aces.enumerated() {
            try check([entry.type], in: Self.types, "aces.\(index).type")
            try check(entry.flags, in: Self.flags, "aces.\(index).flags")
            try check(entry.rights, in: Self.rights, "aces.\(index).rights")
            try check(entry.trustee.domain.map { [$0] } ?? [], in: Self.domains, "aces.\(index).trustee.domain")
        }
    }
}
