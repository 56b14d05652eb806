#!/usr/bin/env python3
"""Writes a synthetic, deterministic strata fleet for benchmarks and correctness checks.

    genfleet.py --images N --files F --variants K [--seed S] [--variant-share P] OUT_DIR

The fleet has the shape of the demo fleet (images/strata.yaml), scaled up:

    base-os (FROM strata-busybox:1) -> base-python -> base-utils -> base-cpu -> cpu families -> services
                                                       base-utils -> base-gpu -> gpu families -> services
                                                                     (base-gpu and below: one node per machine)

- bases and families are declared under `images:`; services are found by one `discover:`
  glob per family (`services/<family>/*/Dockerfile`), the gpu ones with `variants: [machine]`;
  two services are declared explicitly (own Dockerfile name, `target:`, `args:`), as model-ops
  is in the demo;
- every ARG has a value (a default, `defaults.args`, a variant's args or an image's args), so
  `strata check` reports no error; services set a non-root USER, a HEALTHCHECK and a port of
  their own, external bases are pinned: no warning either;
- F context files (100 B - 4 KiB; at least the 2-7 each image COPYs) are spread over the
  images, mostly services, in subfolders;
  each Dockerfile COPYs real files and folders of its context, and also leaves some out
  (tests/, docs/), some contexts have a `.dockerignore`, some services are multi-stage.

Same arguments and seed, same bytes (file modes included; mtimes are whatever the clock says).
Writes `OUT_DIR/fleet.json`: counts, and a service and one of the files it COPYs (the bench
changes it and expects only that service's nodes to get new keys).
Python 3 standard library only.
"""
import argparse
import json
import os
import random
import shutil
import sys

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
FAMILY_KINDS = ["web", "api", "worker", "batch", "stream", "search", "torch", "llm", "vision", "speech",
                "audio", "ranker"]
GPU_KINDS = {"torch", "llm", "vision", "speech"}


class Fleet:
    def __init__(self, out, rng, images, files, variants, variant_share):
        self.out = out
        self.rng = rng
        self.total_images = images
        self.total_files = files
        self.variants = variants
        self.variant_share = variant_share
        # A pool of text-like bytes; files are slices of it, so writing 50,000 files is quick.
        lines = []
        for i in range(4000):
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + f"  # {i}\n")
        self.pool = "".join(lines).encode()
        self.images = []          # explicit images: dicts for strata.yaml
        self.contexts = []        # (context dir relative to out, weight) for spreading files
        self.service_files = []   # files a service COPYs (for the "one file changed" bench)
        self.file_count = 0
        self.port = 20000

    # -- files ------------------------------------------------------------------------------

    def write(self, relative, data, mode=0o644):
        path = os.path.join(self.out, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(path, mode)

    def blob(self, header):
        size = self.rng.randint(100, 4096)
        start = self.rng.randrange(0, len(self.pool) - size)
        head = header.encode()
        return head + self.pool[start:start + size - len(head)]

    def context_file(self, context, relative, mode=0o644):
        self.write(os.path.join(context, relative), self.blob(f"# {context}/{relative}\n"), mode)
        self.file_count += 1

    # -- images -----------------------------------------------------------------------------

    def arg_block(self, gpu):
        lines = ["ARG PYTHON_VERSION", f"ARG APP_VERSION=1.{self.rng.randint(0, 40)}.{self.rng.randint(0, 9)}"]
        if gpu:
            lines += ["ARG MACHINE", "ARG CUDA_ARCH"]
        return lines

    def base(self, name, parent, gpu=False, registry_from=False):
        context = f"base/{name}"
        lines = []
        if registry_from:
            # As in the demo: a parent named through the production registry is still an edge.
            lines += ["ARG REGISTRY=registry.example.com/bench", f"FROM ${{REGISTRY}}/{parent}:latest"]
        else:
            lines.append(f"FROM {parent}")
        lines += self.arg_block(gpu)
        lines += ["COPY etc/ /etc/strata/" + name + "/",
                  "COPY bin/ /usr/local/bin/",
                  f'RUN mkdir -p /opt/{name} && echo "{name} ${{APP_VERSION}} py${{PYTHON_VERSION}}'
                  + (' ${MACHINE} ${CUDA_ARCH}' if gpu else '') + f'" > /opt/{name}/VERSION']
        self.write(f"{context}/Dockerfile", "\n".join(lines) + "\n")
        self.context_file(context, "etc/profile.conf")
        self.context_file(context, "bin/" + name + "-info", 0o755)
        self.contexts.append((context, 1, ["etc", "bin"]))
        entry = {"name": name, "context": context}
        if gpu:
            entry["variants"] = ["machine"]
        self.images.append(entry)

    def family(self, name, parent, gpu):
        context = f"families/{name}"
        lines = [f"FROM {parent}"] + self.arg_block(gpu)
        lines += [f"COPY lib/ /opt/{name}/lib/",
                  f"COPY {name}.conf /etc/{name}.conf",
                  f'RUN echo "family {name} ${{APP_VERSION}}" > /etc/strata-family']
        self.write(f"{context}/Dockerfile", "\n".join(lines) + "\n")
        self.context_file(context, f"{name}.conf")
        self.context_file(context, "lib/__init__.py")
        self.contexts.append((context, 2, ["lib"]))
        entry = {"name": name, "context": context}
        if gpu:
            entry["variants"] = ["machine"]
        self.images.append(entry)

    def service(self, family, name, gpu, multistage, ignore, explicit=False):
        context = f"services/{family}/{name}"
        self.port += 1
        port = self.port
        user = name.replace("-", "")[:24]
        head = [] if not multistage else ["# syntax=docker/dockerfile:1"]
        if multistage:
            lines = head + [f"FROM {family} AS build", "ARG APP_VERSION=2.0.0",
                            "COPY app/ /build/app/",
                            "RUN find /build/app -name '*.py' | sort > /build/MANIFEST",
                            "",
                            f"FROM {family} AS runtime"]
        else:
            lines = [f"FROM {family}"]
        lines += ["ARG PYTHON_VERSION"] + (["ARG MACHINE"] if gpu else [])
        if explicit:
            lines.append("ARG PORT")
        if multistage:
            lines += ["COPY --from=build /build/MANIFEST /srv/MANIFEST"]
        lines += [f"COPY app/ /srv/{name}/app/",
                  "COPY config/ /etc/" + name + "/",
                  "COPY requirements.txt /srv/requirements.txt",
                  f'RUN echo "{name} py${{PYTHON_VERSION}}' + (' ${MACHINE}' if gpu else '')
                  + (' port=${PORT}' if explicit else '') + f'" > /srv/{name}/INFO && adduser -D -H {user}',
                  f"USER {user}",
                  f"EXPOSE {port}",
                  f"HEALTHCHECK --interval=30s CMD test -f /srv/{name}/INFO",
                  f'CMD ["cat", "/srv/{name}/INFO"]']
        dockerfile = "Dockerfile.optimized" if explicit else "Dockerfile"
        self.write(f"{context}/{dockerfile}", "\n".join(lines) + "\n")
        self.context_file(context, "requirements.txt")
        self.context_file(context, "app/__init__.py")
        self.context_file(context, "app/main.py")
        self.context_file(context, "config/settings.yaml")
        self.context_file(context, "tests/test_main.py")
        self.service_files.append((name, f"{context}/app/main.py"))
        if ignore:
            self.write(f"{context}/.dockerignore", "# not part of the image\n**/*.pyc\ntests/\ndocs/\n")
            self.context_file(context, "app/main.pyc")
            self.context_file(context, "app/cache/util.pyc")
        self.contexts.append((context, 8, ["app", "app/handlers", "app/models", "config", "tests", "docs"]))
        if explicit:
            self.images.append({"name": name, "context": context, "dockerfile": f"{context}/{dockerfile}",
                                "target": "runtime", "args": {"PORT": str(port)},
                                **({"variants": ["machine"]} if gpu else {})})

    def build(self):
        rng = self.rng
        n = self.total_images
        gpu_wanted = self.variants > 0 and self.variant_share > 0
        # Bases: a chain, then a cpu and (with variants) a gpu branch.
        self.base("base-os", "strata-busybox:1")
        self.base("base-python", "base-os")
        self.base("base-utils", "base-python", registry_from=True)
        self.base("base-cpu", "base-utils")
        bases = 4
        if gpu_wanted:
            self.base("base-gpu", "base-utils", gpu=True)
            bases += 1
        # Families: about 10 (fewer for a small fleet), each with at least one service.
        family_count = max(1, min(10, (n - bases) // 4))
        gpu_families = round(family_count * self.variant_share) if gpu_wanted else 0
        gpu_families = min(gpu_families, family_count - 1) if family_count > 1 else gpu_families
        families = []
        cpu_kinds = [k for k in FAMILY_KINDS if k not in GPU_KINDS]
        gpu_kinds = [k for k in FAMILY_KINDS if k in GPU_KINDS]
        for i in range(family_count):
            gpu = i < gpu_families
            kinds, j = (gpu_kinds, i) if gpu else (cpu_kinds, i - gpu_families)
            name = f"family-{kinds[j % len(kinds)]}" + (f"{j // len(kinds) + 1}" if j >= len(kinds) else "")
            self.family(name, "base-gpu" if gpu else "base-cpu", gpu)
            families.append((name, gpu))
        services = max(family_count, n - bases - family_count)
        for i in range(services):
            family, gpu = families[i % family_count]
            name = f"{family.removeprefix('family-')}-{rng.choice(WORDS)}-{i:04d}"
            explicit = i in (0, family_count * 2 - 1)
            self.service(family, name, gpu, multistage=(i % 5 == 2) or explicit, ignore=(i % 3 == 0),
                         explicit=explicit)
        self.spread()
        self.manifest(families)
        return bases + family_count + services

    def spread(self):
        """The rest of the F files, by weight, into each context's subfolders."""
        remaining = self.total_files - self.file_count
        if remaining <= 0:
            return
        weights = [w for _, w, _ in self.contexts]
        total = sum(weights)
        shares = [remaining * w // total for w in weights]
        for i in range(remaining - sum(shares)):
            shares[i % len(shares)] += 1
        for (context, _, folders), share in zip(self.contexts, shares):
            for j in range(share):
                folder = folders[j % len(folders)]
                ext = "py" if folder.startswith("app") or folder in ("lib", "tests") else "txt"
                self.context_file(context, f"{folder}/f{j:05d}.{ext}", 0o755 if folder == "bin" else 0o644)

    def manifest(self, families):
        out = ["# Generated by scripts/lib/genfleet.py: a synthetic fleet for benchmarks.",
               "registry: registry.example.com/bench",
               "defaults:",
               "  network: host",
               "  args:",
               '    PYTHON_VERSION: "3.11"',
               "  labels:",
               "    org.opencontainers.image.source: https://example.com/bench/fleet"]
        if self.variants > 0:
            out += ["variants:", "  machine:"]
            for i in range(self.variants):
                out.append(f'    m{i}: {{args: {{MACHINE: m{i}, CUDA_ARCH: "{8 + i // 10}.{i % 10}"}}}}')
        out.append("images:")
        for image in self.images:
            out.append(f"  {image['name']}:")
            for key in ("context", "dockerfile", "target"):
                if key in image:
                    out.append(f"    {key}: {image[key]}")
            if "args" in image:
                out.append("    args: {" + ", ".join(f'{k}: "{v}"' for k, v in image["args"].items()) + "}")
            if "variants" in image:
                out.append("    variants: [" + ", ".join(image["variants"]) + "]")
        out.append("discover:")
        for name, gpu in families:
            out.append(f"  - glob: services/{name}/*/Dockerfile")
            if gpu:
                out.append("    variants: [machine]")
        self.write("strata.yaml", "\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, required=True, help="number of images (at least 6)")
    parser.add_argument("--files", type=int, required=True, help="number of context files in all")
    parser.add_argument("--variants", type=int, default=2, help="values of the machine dimension (0: none)")
    parser.add_argument("--variant-share", type=float, default=0.4,
                        help="share of families (and their services) built per machine (default 0.4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    parser.add_argument("out")
    args = parser.parse_args()
    if args.images < 6:
        parser.error("--images must be at least 6")
    if os.path.exists(args.out):
        if not args.force:
            parser.error(f"{args.out} exists (use --force to replace it)")
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    fleet = Fleet(args.out, random.Random(args.seed), args.images, args.files, args.variants, args.variant_share)
    images = fleet.build()
    variant_images = sum(1 for line in open(os.path.join(args.out, "strata.yaml")) if "variants: [machine]" in line)
    summary = {"images": images, "files": fleet.file_count, "variants": args.variants, "seed": args.seed,
               "service_image": fleet.service_files[len(fleet.service_files) // 2][0],
               "service_file": fleet.service_files[len(fleet.service_files) // 2][1]}
    with open(os.path.join(args.out, "fleet.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(f"genfleet: {images} images, {fleet.file_count} context files in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
