/// A file's access control list in the v2 form (`/v2/files/{ref}/info/acl`): trustees as identities.
public struct ACL: Codable, Hashable, Sendable {
    public var control: [String]
    public var posixSpecialPermissions: [String]
    public var aces: [Entry]

    public init(control: [String], posixSpecialPermissions: [String], aces: [Entry]) {
        self.control = control
        self.posixSpecialPermissions = posixSpecialPermissions
        self.aces = aces
    }

    enum CodingKeys: String, CodingKey {
        case control, aces
        case posixSpecialPermissions = "posix_special_permissions"
    }

    /// One access control entry: `ALLOWED` or `DENIED` rights for a trustee.
    public struct Entry: Codable, Hashable, Sendable {
        public var type: String
        public var flags: [String]
        public var trustee: Identity
        public var rights: [String]

        public init(type: String, flags: [String], trustee: Identity, rights: [String]) {
            self.type = type
            self.flags = flags
            self.trustee = trustee
            self.rights = rights
        }
    }

    /// An `api_identity`: any subset of these names one user or group.
    public struct Identity: Codable, Hashable, Sendable {
        public var domain: String?
        public var authID: String?
        public var uid: UInt32?
        public var gid: UInt32?
        public var sid: String?
        public var name: String?

        public init(domain: String? = nil, authID: String? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
                    sid: String? = nil, name: String? = nil) {
            self.domain = domain
            self.authID = authID
            self.uid = uid
            self.gid = gid
            self.sid = sid
            self.name = name
        }

        enum CodingKeys: String, CodingKey {
            case domain, uid, gid, sid, name
            case authID = "auth_id"
        }
    }
}

/// The v1 form (`/v1/files/{ref}/info/acl`): trustees as auth ids with typed details, and whether the ACL was
/// generated from the POSIX mode.
public struct ACLv1: Codable, Sendable {
    public var generated: Bool
    public var acl: Body

    public init(generated: Bool, acl: Body) {
        self.generated = generated
        self.acl = acl
    }

    public struct Body: Codable, Sendable {
        public var control: [String]
        public var posixSpecialPermissions: [String]
        public var aces: [Entry]

        public init(control: [String], posixSpecialPermissions: [String], aces: [Entry]) {
            self.control = control
            self.posixSpecialPermissions = posixSpecialPermissions
            self.aces = aces
        }

        enum CodingKeys: String, CodingKey {
            case control, aces
            case posixSpecialPermissions = "posix_special_permissions"
        }
    }

    public struct Entry: Codable, Sendable {
        public var type: String
        public var flags: [String]
        public var trustee: String
        public var trusteeDetails: IdentityDetails
        public var rights: [String]

        public init(type: String, flags: [String], trustee: String, trusteeDetails: IdentityDetails, rights: [String]) {
            self.type = type
            self.flags = flags
            self.trustee = trustee
            self.trusteeDetails = trusteeDetails
            self.rights = rights
        }

        enum CodingKeys: String, CodingKey {
            case type, flags, trustee, rights
            case trusteeDetails = "trustee_details"
        }
    }
}
