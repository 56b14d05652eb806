import Foundation

/// `strata check`: every rule of DESIGN.md over a resolved fleet, before any build.
/// Findings from loading (cycles, missing files, syntax errors) come first-class with the
/// rules' own; the result is sorted by file and line.
public enum Checker {
    /// All findings for `fleet`, sorted by file, line, rule.
    public static func check(_ fleet: Fleet) -> [Finding] {
        var context = CheckContext(fleet: fleet)
        var findings = fleet.findings
        findings += context.undefinedArgs()
        findings += context.explicitParents()
        findings += context.duplicateTags()
        findings += context.portCollisions()
        findings += context.contextSources()
        findings += context.leafWarnings()
        findings += context.baseWarnings()
        findings += context.urlWarnings()
        findings += context.secretWarnings()
        var seen = Set<String>()
        return findings
            .filter { seen.insert("\($0.file):\($0.line):\($0.rule):\($0.message)").inserted }
            .sorted { ($0.file, $0.line, $0.rule, $0.message) < ($1.file, $1.line, $1.rule, $1.message) }
    }
}

/// What the rules share: the fleet, images by name, and which images are leaves.
struct CheckContext {
    let fleet: Fleet
    /// First node of each image (rules about an image's Dockerfile look at one of its builds).
    let firstNode: [String: BuildNode]
    let nodesByImage: [String: [BuildNode]]
    /// Images no other image is built on: services, which run, so root/healthcheck/port rules
    /// apply to them and not to the bases they inherit from.
    let leafImages: Set<String>
    var contextCache: [String: ContextListing] = [:]

    init(fleet: Fleet) {
        self.fleet = fleet
        var first: [String: BuildNode] = [:]
        var byImage: [String: [BuildNode]] = [:]
        for node in fleet.nodes {
            if first[node.image] == nil { first[node.image] = node }
            byImage[node.image, default: []].append(node)
        }
        firstNode = first
        nodesByImage = byImage
        var parentsImages = Set<String>()
        for node in fleet.nodes {
            for parent in node.parents {
                if let image = fleet.node(named: parent.node)?.image { parentsImages.insert(image) }
            }
        }
        leafImages = Set(fleet.manifest.images.map(\.name)).subtracting(parentsImages)
    }

    /// The images whose Dockerfile parsed, with it.
    var parsedImages: [(image: ImageSpec, dockerfile: Dockerfile, node: BuildNode)] {
        fleet.manifest.images.compactMap { image in
            guard let node = firstNode[image.name], let dockerfile = fleet.dockerfiles[node.dockerfilePath] else { return nil }
            return (image, dockerfile, node)
        }
    }

    /// The stage a build ends with: the target, or the last one.
    static func finalStage(_ dockerfile: Dockerfile, target: String?) -> Stage? {
        if let target { return dockerfile.stages.first { $0.name == target.lowercased() } }
        return dockerfile.stages.last
    }

    /// The stages a node's build runs (all of them when the target is unknown).
    static func stages(_ dockerfile: Dockerfile, node: BuildNode) -> [Stage] {
        node.stages(in: dockerfile).map { dockerfile.stages[$0] }
    }
}
