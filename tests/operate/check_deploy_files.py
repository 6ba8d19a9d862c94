#!/usr/bin/env python3
"""Static checks of the deployment files (run by ctest, label "operate"; no container engine or
cluster needed).

  check_deploy_files.py kubernetes SITEHOST
      Parses conf/kubernetes/*.yaml (python3-yaml) and checks what the files promise: the kinds,
      2 replicas, readiness/startup/liveness probes on the health port, a liveness window longer
      than a stop, terminationGracePeriodSeconds > drain_delay + shutdown_timeout + 5 s + margin, the
      securityContext (non-root, read-only root, no capabilities, the run dir on an emptyDir),
      the Service's ports. No Debian package validates manifests offline (kubectl needs an API
      server even for --dry-run=client), so this is parse + key checks. The ConfigMap's
      sitehost.toml and conf/container/sitehost.toml go through `SITEHOST --check` (warnings
      count as errors).

  check_deploy_files.py packages BINARY...
      The runtime stage of conf/container/Dockerfile installs a package for every shared library
      the binaries need (objdump -p NEEDED -> dpkg -S here), apart from those every Debian image
      has (apt's own dependencies); its build stage installs only packages tools/setup lists.
      hadolint runs too when it is on PATH (Debian does not package it).

Prints one line per failed check and exits 1, or one summary line and exits 0.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(ROOT, "conf", "container", "Dockerfile")
CONTAINER_CONFIG = os.path.join(ROOT, "conf", "container", "sitehost.toml")
# Sanitizer runtimes appear in the asan/tsan builds' NEEDED lists, never in the release image.
SANITIZER_LIBS = re.compile(r"^lib(asan|ubsan|tsan|lsan)\.so")
SITES_STOP_S = 5  # a stop may take drain_delay + shutdown_timeout + this (docs/operations.md)
MARGIN_S = 5  # and the grace period is longer by at least this

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


def seconds(duration):
    """sitehost's duration strings ("250ms", "30s", "2m", "1h", "hh:mm:ss") in seconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", duration)
    if m:
        return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    h, mi, s = duration.split(":")
    return int(h) * 3600 + int(mi) * 60 + float(s)


def sitehost_check(sitehost, toml_text, name):
    """`sitehost --check` on a config written for the image: its sites' folder (which --check
    requires to exist) stands in a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        apps = os.path.join(tmp, "apps")
        os.mkdir(apps)
        path = os.path.join(tmp, "sitehost.toml")
        with open(path, "w") as f:
            f.write(toml_text.replace('"/srv/sitehost/apps', '"' + apps))
        r = subprocess.run([sitehost, "--check", "-c", path], capture_output=True, text=True,
                           timeout=20)
    out = (r.stdout + r.stderr).strip().replace(path, name).replace(apps, "/srv/sitehost/apps")
    check(r.returncode == 0 and "warning" not in out, f"sitehost --check {name}: {out}")


def load_manifests():
    docs = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "conf", "kubernetes", "*.yaml"))):
        import yaml  # python3-yaml (tools/setup)
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc is None:
                    continue
                for key in ("apiVersion", "kind", "metadata"):
                    check(key in doc, f"{os.path.basename(path)}: a document without {key}")
                docs[doc.get("kind")] = doc
    return docs


def check_probes(container, server, ports):
    health_port = int(server["health"].rsplit(":", 1)[1])
    check(ports.get("health") == health_port,
          f"container port 'health' is {ports.get('health')}, the config's health is "
          f"{server['health']}")
    probes = {}
    for kind in ("readinessProbe", "startupProbe", "livenessProbe"):
        probe = container.get(kind)
        if check(probe is not None, f"the container has no {kind}"):
            check(probe.get("httpGet", {}).get("port") == "health",
                  f"{kind} does not probe the health port")
            probes[kind] = probe
    drain = (seconds(server["drain_delay"]) + seconds(server.get("shutdown_timeout", "30s")) +
             SITES_STOP_S)
    if "livenessProbe" in probes:
        live = probes["livenessProbe"]
        window = live.get("periodSeconds", 10) * live.get("failureThreshold", 3)
        check(window > drain, f"livenessProbe window {window}s does not outlast a drain "
              f"(drain_delay + shutdown_timeout + {SITES_STOP_S}s = {drain}s): a draining pod would be "
          "restarted")
    return drain


def check_security(pod, container):
    pod_sc = pod.get("securityContext", {})
    sc = container.get("securityContext", {})
    check(pod_sc.get("runAsNonRoot") is True, "runAsNonRoot is not true")
    check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem is not true")
    check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities do not drop ALL")
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    run = volumes.get(mounts.get("/run/sitehost"), {})
    check("emptyDir" in run, "/run/sitehost (the image's XDG_RUNTIME_DIR) is not an emptyDir")
    config = volumes.get(mounts.get("/etc/sitehost"), {})
    check(config.get("configMap", {}).get("name") == "sitehost-config",
          "/etc/sitehost is not the sitehost-config ConfigMap")
    res = container.get("resources", {})
    for part in ("requests", "limits"):
        check({"cpu", "memory"} <= set(res.get(part, {})), f"resources.{part} lacks cpu/memory")


def check_kubernetes(sitehost):
    docs = load_manifests()
    for kind in ("Deployment", "ConfigMap", "Service"):
        if not check(kind in docs, f"conf/kubernetes has no {kind}"):
            return
    deployment, configmap, service = docs["Deployment"], docs["ConfigMap"], docs["Service"]
    toml_text = configmap["data"]["sitehost.toml"]
    sitehost_check(sitehost, toml_text, "configmap.yaml sitehost.toml")
    server = tomllib.loads(toml_text)["server"]
    spec = deployment["spec"]
    check(spec.get("replicas") == 2, "the Deployment does not run 2 replicas")
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec["selector"]["matchLabels"].items() <= labels.items(),
          "the Deployment's selector does not match its pod labels")
    check(service["spec"]["selector"].items() <= labels.items(),
          "the Service's selector does not match the pods")
    container = pod["containers"][0]
    check("lifecycle" not in container, "a lifecycle hook: drain_delay does preStop's job")
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    for p in service["spec"]["ports"]:
        check(p["targetPort"] in ports, f"Service port {p['name']}: no container port "
              f"{p['targetPort']}")
    drain = check_probes(container, server, ports)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace >= drain + MARGIN_S, f"terminationGracePeriodSeconds {grace} is not above "
          f"drain_delay + shutdown_timeout + {SITES_STOP_S}s ({drain}s) + {MARGIN_S}s")
    check_security(pod, container)
    if not failures:
        print(f"kubernetes: {len(docs)} manifests parsed and checked (no offline validator in "
              f"Debian); grace {grace}s > longest stop {drain}s")


def dockerfile_stages():
    """The Dockerfile's stages, each a list of instructions (continuation lines joined)."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def apt_packages(stage):
    packages = set()
    for instruction in stage:
        for m in re.finditer(r"apt-get install ([^&;]*)", instruction):
            packages |= {w for w in m.group(1).split() if not w.startswith("-")}
    return packages


def base_image_packages():
    """apt and everything it depends on: in every Debian image, however slim."""
    status = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Pre-Depends}, ${Depends}\n"],
                            capture_output=True, text=True, check=True).stdout
    deps = {}
    for line in status.splitlines():
        name, _, rest = line.partition("\t")
        deps[name] = {re.split(r"[ :(]", d.strip())[0] for d in re.split(r"[,|]", rest)
                      if d.strip()}
    seen, todo = set(), ["apt"]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += deps.get(p, ())
    return seen


def needed_packages(binaries):
    needed = {}
    for binary in binaries:
        out = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True,
                             check=True).stdout
        for lib in re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M):
            if SANITIZER_LIBS.match(lib):
                continue
            r = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True)
            owners = {line.split(":")[0] for line in r.stdout.splitlines()
                      if not line.split(":")[0].endswith("-dev")}
            if check(owners, f"{os.path.basename(binary)}: no Debian package has {lib}"):
                needed.setdefault(lib, owners)
    return needed


def setup_packages():
    with open(os.path.join(ROOT, "tools", "setup")) as f:
        text = f.read()
    block = text[text.index("packages=(") + len("packages=("):text.index("\n)")]
    return {w for line in block.splitlines() for w in line.split("#")[0].split()
            if not w.startswith("$")}


def check_packages(binaries):
    stages = dockerfile_stages()
    if not check(len(stages) >= 2, "the Dockerfile has fewer than two stages"):
        return
    runtime = apt_packages(stages[-1])
    base = base_image_packages()
    needed = needed_packages(binaries)
    for lib, owners in sorted(needed.items()):
        check(owners & (runtime | base), f"{lib} ({', '.join(sorted(owners))}) is not installed "
              f"by the Dockerfile's runtime stage")
    extra = sorted(set(apt_packages(stages[0])) - setup_packages())
    check(not extra, f"the Dockerfile's build stage installs {extra}, which tools/setup lacks")
    sitehost_check(binaries[0], open(CONTAINER_CONFIG).read(), "conf/container/sitehost.toml")
    hadolint = shutil.which("hadolint")
    if hadolint:
        r = subprocess.run([hadolint, DOCKERFILE], capture_output=True, text=True)
        check(r.returncode == 0, f"hadolint: {r.stdout.strip()}")
    if not failures:
        print(f"packages: {len(needed)} NEEDED libraries covered by the runtime stage "
              f"({' '.join(sorted(runtime))}) or the base image"
              + ("" if hadolint else "; hadolint not installed (not in Debian)"))


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("kubernetes", "packages"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "kubernetes":
        check_kubernetes(sys.argv[2])
    else:
        check_packages(sys.argv[2:])
    for f in failures:
        print(f"FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
