import QumuloAPI

extension SetAttributesRequest {
    /// This change followed by `later`: every field `later` sets wins.
    func merging(_ later: SetAttributesRequest) -> SetAttributesRequest {
        var merged = self
        merged.mode = later.mode ?? mode
        merged.ownerDetails = later.ownerDetails ?? ownerDetails
        merged.groupDetails = later.groupDetails ?? groupDetails
        merged.size = later.size ?? size
        merged.accessTime = later.accessTime ?? accessTime
        merged.modificationTime = later.modificationTime ?? modificationTime
        return merged
    }

    /// Whether the change sets nothing.
    var isEmpty: Bool { self == SetAttributesRequest() }
}

extension FileAttributes {
    /// The attributes as they will be once `change` is made.
    mutating func apply(_ change: SetAttributesRequest) {
        if let mode = change.mode { self.mode = mode }
        if let owner = change.ownerDetails { ownerDetails = owner }
        if let group = change.groupDetails { groupDetails = group }
        if let size = change.size { self.size = size }
        if let time = change.accessTime { accessTime = time }
        if let time = change.modificationTime { modificationTime = time }
    }
}
