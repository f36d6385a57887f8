# SPDX-License-Identifier: LGPL-2.1-or-later
#
# This file is part of cvm-firstboot. It is a cloud-init config module
# (written against cloud-init 22.4's module API) for images that keep
# cloud-init in charge of first boot. See docs/CLOUD-INIT.md.
"""CVM first boot: grow the (LUKS2) root, seal its key to the TPM, attest the
SSH host keys -- in place of cc_growpart, cc_resizefs and cc_keys_to_console.
"""

import json
import os
from logging import Logger
from textwrap import dedent
from typing import List, Optional, Tuple

from cloudinit import subp, util
from cloudinit.cloud import Cloud
from cloudinit.config import Config
from cloudinit.config.schema import MetaSchema
from cloudinit.distros import ALL_DISTROS
from cloudinit.settings import PER_ALWAYS

MODULE_DESCRIPTION = """\
Replaces ``growpart``, ``resizefs`` and ``keys-to-console`` on confidential
VMs whose root may be a LUKS2 volume unlocked through the vTPM:

* ``cvm-growroot`` grows the partition (GPT backup header moved, BLKPG), the
  LUKS2 container online with a key unsealed from the TPM (or, until it is
  replaced, the legacy ``/cc_growpart_keydata``) and the filesystem. The
  settings of ``growpart`` (``mode``, ``devices``,
  ``ignore_growroot_disabled``, ``/etc/growroot-disabled``) and
  ``resize_rootfs`` are honoured as ``cc_growpart``/``cc_resizefs`` honour
  them.
* ``cvm-enroll firstboot`` (once, when ``/`` is LUKS2; one process, as
  ``cvm-enroll-firstboot.service`` runs it) converts an offline-sealed
  image's ``cvm-tpm2-import`` token for this VM's TPM, else seals a fresh
  key to the TPM as a systemd-tpm2 token, proves it opens the volume and
  only then wipes the image's temporary slots and ``/cc_growpart_keydata``;
  it writes ``/var/lib/cvm-firstboot/enrolled``, which the unit and this
  module both honour, so the volume is enrolled once whichever runs.
* ``cvm-authcheck`` quotes the SSH host keys with the TPM and prints the
  evidence framed on the console, where ``cvm-verify-host --console-log``
  checks it (instead of unauthenticated fingerprints).

Steps are chosen with the module's arguments: ``grow`` (enroll, then grow) and
``evidence``; without arguments both run, in that order.
"""

frequency = PER_ALWAYS
meta: MetaSchema = {
    "id": "cc_cvm_firstboot",
    "name": "CVM first boot",
    "title": "Grow a LUKS2 root with a TPM key and attest the SSH host keys",
    "description": MODULE_DESCRIPTION,
    "distros": [ALL_DISTROS],
    "frequency": frequency,
    "examples": [
        dedent(
            """\
            growpart:
              mode: auto
              devices: ["/"]
              ignore_growroot_disabled: false
            resize_rootfs: true
            cvm_firstboot:
              enroll: true
              enroll_pcrs: "7"
              evidence: console
            """
        ),
    ],
    "activate_by_schema_keys": [],
}
# Not get_meta_doc(meta): that renders from cloud-init's own schema file,
# which has no entry for a module shipped outside cloud-init.
__doc__ = MODULE_DESCRIPTION

# cc_growpart's defaults, so an image without any growpart setting behaves
# as it did under cloud-init.
DEFAULT_GROWPART = {
    "mode": "auto",
    "devices": ["/"],
    "ignore_growroot_disabled": False,
}
GROWROOT_DISABLED = "/etc/growroot-disabled"
KNOWN_MODES = ("auto", "growpart", "gpart")
# Shared with cvm-enroll-firstboot.service: whichever of the two enrolled,
# the other does not enroll again.
ENROLL_STAMP = "/var/lib/cvm-firstboot/enrolled"
EVIDENCE_MODES = ("console", "file", "off")
STEPS = ("grow", "evidence")
# cvm-growroot(8) EXIT STATUS 3: a layout it does not grow (partition not
# the last one, LUKS1, unknown filesystem, not a block device): what
# cc_growpart reports as SKIPPED, not a failure.
GROWROOT_EXIT_UNSUPPORTED = 3
# Marks the plan entry that may grow only LUKS2 + filesystem (see
# growroot_plan); never passed to cvm-growroot.
FS_ONLY = "--cvm-fs-only"
# cvm-enroll(8) EXIT STATUS 2: / has no dm-crypt mapping under it.
ENROLL_EXIT_NOT_ENCRYPTED = 2


def _binary(name: str) -> Optional[str]:
    return subp.which(name) or (
        "/usr/bin/" + name if os.access("/usr/bin/" + name, os.X_OK) else None
    )


def mount_majmin_source(path: str) -> Tuple[Optional[str], Optional[str]]:
    """(major:minor, source) of the filesystem mounted at PATH, from
    /proc/self/mountinfo (the last entry wins: it is the visible one)."""
    found: Tuple[Optional[str], Optional[str]] = (None, None)
    path = os.path.normpath(path)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                # id parent maj:min root mountpoint opts [optional...] - fstype source sopts
                if len(fields) < 10 or "-" not in fields[6:]:
                    continue
                sep = fields.index("-", 6)
                if len(fields) < sep + 3:
                    continue
                mnt = fields[4].replace("\\040", " ")
                if mnt == path:
                    found = (fields[2], fields[sep + 2])
    except OSError:
        pass
    return found


def mount_device(path: str) -> Optional[str]:
    """The block device node of the filesystem mounted at PATH, or None."""
    majmin, source = mount_majmin_source(path)
    if majmin and not majmin.startswith("0:"):
        node = "/dev/block/" + majmin
        if os.path.exists(node):
            return node
    if source and source.startswith("/dev/") and source != "/dev/root":
        return source
    return None


def root_luks_version(path: str = "/") -> Optional[int]:
    """1 or 2 when the filesystem at PATH sits on a dm-crypt LUKS mapping,
    None when it does not (plain partition, other dm target, unknown)."""
    majmin, _source = mount_majmin_source(path)
    if not majmin or majmin.startswith("0:"):
        return None
    try:
        with open(
            "/sys/dev/block/%s/dm/uuid" % majmin, encoding="utf-8"
        ) as f:
            uuid = f.read().strip()
    except OSError:
        return None
    if uuid.startswith("CRYPT-LUKS2-"):
        return 2
    if uuid.startswith("CRYPT-LUKS1-"):
        return 1
    return None


def growroot_plan(cfg: Config, log: Logger) -> List[List[str]]:
    """What cc_growpart + cc_resizefs would do with these settings, as a
    list of cvm-growroot argument lists (without the binary).

    Each entry of growpart.devices gets its partition (and LUKS2 container)
    grown: a /dev path as --device, a mount point as the device mounted
    there. "/" is grown with --root=/ (partition, LUKS2 and filesystem) when
    resize_rootfs allows; cvm-growroot has no "filesystem only" or "no
    filesystem" switch, but --device=DEV never touches a filesystem, which is
    exactly cc_growpart's share of the job. When resize_rootfs is on but
    growpart left / alone, the filesystem alone is grown with --root=/ under
    the FS_ONLY marker: the caller must first check with --dry-run that the
    partition has nothing to grow (growpart was told not to touch it).
    """
    plan: List[List[str]] = []

    mycfg = cfg.get("growpart", DEFAULT_GROWPART)
    grow_parts = True
    if not isinstance(mycfg, dict):
        log.warning("'growpart' in config was not a dict")
        grow_parts = False
        mycfg = {}
    mode = mycfg.get("mode", "auto")
    if grow_parts and util.is_false(mode):
        log.debug("growpart disabled: mode=%s", mode)
        grow_parts = False
    elif grow_parts and mode not in KNOWN_MODES:
        log.warning("growpart: unknown mode %s, not growing partitions", mode)
        grow_parts = False
    elif grow_parts and mode != "auto":
        log.debug("growpart mode %s: cvm-growroot grows instead", mode)
    if grow_parts and util.is_false(
        mycfg.get("ignore_growroot_disabled", False)
    ):
        if os.path.isfile(GROWROOT_DISABLED):
            log.debug(
                "growpart disabled: %s exists (use ignore_growroot_disabled"
                " to ignore)",
                GROWROOT_DISABLED,
            )
            grow_parts = False
    devices = util.get_cfg_option_list(mycfg, "devices", ["/"]) or []
    if grow_parts and not devices:
        log.debug("growpart: empty device list")
        grow_parts = False

    # cc_resizefs takes its first module argument, else resize_rootfs; our
    # module's arguments are step names, so only resize_rootfs counts here.
    resize_root = util.get_cfg_option_str(cfg, "resize_rootfs", True)
    resize_root = util.translate_bool(resize_root, addons=["noblock"])

    root_done = False
    if grow_parts:
        for dev in devices:
            if not isinstance(dev, str) or not dev:
                log.warning("growpart: ignoring device entry %r", dev)
                continue
            if dev.startswith("/dev/"):
                plan.append(["--device=" + dev])
            elif os.path.normpath(dev) == "/" and resize_root:
                plan.append(["--root=/"])
                root_done = True
            else:
                node = mount_device(dev)
                if not node:
                    log.debug(
                        "growpart: '%s' SKIPPED: no block device mounted"
                        " there",
                        dev,
                    )
                    continue
                plan.append(["--device=" + node])
    if resize_root and not root_done:
        plan.append(["--root=/", FS_ONLY])
    return plan



def _run(cmd: List[str]) -> Tuple[int, str, str]:
    """Run CMD, never raising: (exit status, stdout, stderr)."""
    try:
        out, err = subp.subp(cmd, capture=True)
        return 0, str(out), str(err)
    except subp.ProcessExecutionError as e:
        rc = e.exit_code if isinstance(e.exit_code, int) else 1
        return rc, str(e.stdout or ""), str(e.stderr or "")


def _describe_growroot(entry: str, result: dict) -> str:
    steps = []
    for key in ("partition_step", "luks_step", "filesystem_step"):
        s = result.get(key)
        if isinstance(s, dict) and s.get("changed"):
            steps.append(
                "%s %s -> %s"
                % (
                    key[: -len("_step")],
                    s.get("old_size"),
                    s.get("new_size"),
                )
            )
    return "'%s' resized: %s" % (entry, ", ".join(steps))


def run_growroot(plan: List[List[str]], log: Logger) -> List[str]:
    """Run the plan; return the failures (one line each)."""
    failures: List[str] = []
    if not plan:
        return failures
    growroot = _binary("cvm-growroot")
    if not growroot:
        log.warning("cvm-growroot not found, nothing grown")
        return ["cvm-growroot not found"]
    for args in plan:
        fs_only = FS_ONLY in args
        args = [a for a in args if a != FS_ONLY]
        entry = " ".join(args)
        if fs_only:
            # growpart may not touch /'s partition: grow LUKS2 + filesystem
            # only if the partition is already as large as it can be.
            rc, out, err = _run([growroot, "--dry-run", "--json=short"] + args)
            try:
                planned = json.loads(out) if rc == 0 else {}
            except ValueError:
                planned = {}
            part = planned.get("partition_step", {})
            if rc == GROWROOT_EXIT_UNSUPPORTED:
                log.debug("'%s' SKIPPED: %s", entry, err.strip())
                continue
            if rc != 0:
                log.warning("cvm-growroot --dry-run %s failed: %s", entry,
                            err.strip())
                failures.append("cvm-growroot --dry-run %s: exit %d" % (entry, rc))
                continue
            if isinstance(part, dict) and part.get("changed"):
                log.warning(
                    "resize_rootfs is on but growpart is off for /, and "
                    "the root partition could grow: cvm-growroot grows the "
                    "filesystem only together with its partition, so / is "
                    "left as it is"
                )
                continue
        rc, out, err = _run([growroot, "--json=short"] + args)
        if rc == GROWROOT_EXIT_UNSUPPORTED:
            log.debug("'%s' SKIPPED: %s", entry, err.strip())
            continue
        if rc != 0:
            log.warning("cvm-growroot %s failed (exit %d): %s", entry, rc,
                        err.strip())
            failures.append("cvm-growroot %s: exit %d" % (entry, rc))
            continue
        try:
            result = json.loads(out)
        except ValueError:
            result = {}
        if result.get("changed"):
            log.info("%s", _describe_growroot(entry, result))
        else:
            log.debug("'%s' NOCHANGE", entry)
    return failures


def describe_enroll(out: str) -> str:
    """What `cvm-enroll firstboot --json=short` did, in one line, from the
    objects its steps print, one per line (cvm-enroll(8), JSON OUTPUT):
    convert-import's "converted", tpm2's "changed" (false when a token was
    already there, such as the one just converted), wipe-temporary's
    "changed". Output it cannot read gives a line that claims nothing."""
    steps = {}
    try:
        for line in out.splitlines():
            if line.strip():
                step = json.loads(line)
                kind = ("convert" if "converted" in step else
                        "wipe" if "wiped_keyslots" in step else
                        "tpm2" if "keyslot" in step else None)
                steps[kind] = step
        converted = steps["convert"]["converted"]
        tokens = ", ".join(str(c["token"]) for c in converted)
        sealed, token = steps["tpm2"]["changed"], steps["tpm2"]["token"]
        wiped = steps["wipe"]["changed"]
    except (ValueError, TypeError, KeyError):
        return "root LUKS2 volume: cvm-enroll firstboot succeeded"
    if converted:
        what = ("offline-sealed key converted for this TPM "
                "(cvm-tpm2-import token %s)" % tokens)
    elif sealed:
        what = "key sealed to this TPM"
    else:
        what = "already had a key sealed to this TPM (token %s)" % token
    done = ("temporary keys wiped" if wiped
            else "no temporary keys left to wipe")
    return "root LUKS2 volume: %s, %s" % (what, done)


def run_enroll(mycfg: dict, log: Logger) -> List[str]:
    """Once: the root LUKS2 volume's keys made this VM's own, by one
    `cvm-enroll firstboot` (what cvm-enroll-firstboot.service runs): an
    offline-sealed cvm-tpm2-import token converted for this TPM, else a
    fresh TPM2 token, then the image's temporary keys wiped (only after a
    TPM2 token was proven to open the volume). cvm-enroll writes the stamp
    the unit shares, only once every step succeeded. The log line says
    which of these happened (describe_enroll)."""
    if not util.get_cfg_option_bool(mycfg, "enroll", True):
        log.debug("cvm_firstboot: enroll disabled")
        return []
    if os.path.exists(ENROLL_STAMP):
        log.debug("already enrolled (%s exists)", ENROLL_STAMP)
        return []
    # Cheap, in-process: no cvm-enroll process on a plain root.
    luks = root_luks_version("/")
    if luks is None:
        log.debug("/ is not on LUKS2, nothing to enroll")
        return []
    if luks != 2:
        log.warning("/ is on LUKS%d; cvm-enroll handles LUKS2 only", luks)
        return []
    enroll = _binary("cvm-enroll")
    if not enroll:
        log.warning("cvm-enroll not found, nothing enrolled")
        return ["cvm-enroll not found"]
    pcrs = str(mycfg.get("enroll_pcrs", "7"))
    # cvm-enroll writes the stamp but does not make its directory (the unit
    # has StateDirectory= for that).
    os.makedirs(os.path.dirname(ENROLL_STAMP), mode=0o755, exist_ok=True)
    cmd = [enroll, "firstboot", "--root=/", "--pcrs=" + pcrs,
           "--stamp=" + ENROLL_STAMP, "--json=short"]
    rc, out, err = _run(cmd)
    if rc == ENROLL_EXIT_NOT_ENCRYPTED:
        log.debug("/ is not on LUKS2, nothing to enroll")
        return []
    if rc != 0:
        # Nothing was wiped unless a TPM2 token was proven to open the
        # volume, and no stamp was written: the old keys still work, a
        # later boot tries again.
        log.warning("cvm-enroll firstboot failed (exit %d): %s", rc,
                    err.strip())
        return ["cvm-enroll firstboot: exit %d" % rc]
    log.info("%s", describe_enroll(out))
    return []


def evidence_mode(cfg: Config, mycfg: dict, log: Logger) -> str:
    mode = mycfg.get("evidence")
    if mode is None:
        # keys-to-console's switch: the evidence carries the host keys, so
        # a user who wanted none on the console gets the file only.
        ssh = cfg.get("ssh") or {}
        emit = ssh.get("emit_keys_to_console", True) if isinstance(ssh, dict) else True
        return "file" if util.is_false(emit) else "console"
    if util.is_false(mode):
        return "off"
    if mode not in EVIDENCE_MODES:
        log.warning("cvm_firstboot: unknown evidence mode %s, using console", mode)
        return "console"
    return mode


def run_evidence(cfg: Config, mycfg: dict, log: Logger) -> List[str]:
    mode = evidence_mode(cfg, mycfg, log)
    if mode == "off":
        log.debug("cvm_firstboot: evidence off")
        return []
    authcheck = _binary("cvm-authcheck")
    if not authcheck:
        log.warning("cvm-authcheck not found, no evidence published")
        return ["cvm-authcheck not found"]
    # `sshd -T` (cvm-authcheck asks it which keys sshd will use) insists on
    # its privilege-separation directory, which ssh.service only creates
    # later; cvm-authcheck.service gets it with RuntimeDirectory=sshd.
    if os.path.exists("/usr/sbin/sshd"):
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    cmd = [authcheck]
    if mode == "file":
        cmd.append("--no-console")
    rc, _out, err = _run(cmd)
    if rc != 0:
        log.warning("cvm-authcheck failed (exit %d): %s", rc, err.strip())
        return ["cvm-authcheck: exit %d" % rc]
    log.info(
        "attested SSH host keys published in /run/cvm-authcheck/evidence.json%s",
        " and on the console" if mode == "console" else "",
    )
    return []


def handle(
    name: str, cfg: Config, cloud: Cloud, log: Logger, args: list
) -> None:
    mycfg = cfg.get("cvm_firstboot") or {}
    if not isinstance(mycfg, dict):
        log.warning("'cvm_firstboot' in config was not a dict, ignoring it")
        mycfg = {}
    steps = [str(a) for a in (args or [])] or list(STEPS)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(
            "%s: unknown step(s) %s (known: %s)"
            % (name, ", ".join(unknown), ", ".join(STEPS))
        )
    failures: List[str] = []
    if "grow" in steps:
        # As the units order it: the TPM token first, so cvm-growroot
        # unlocks with it and the legacy key file is gone the sooner.
        failures += run_enroll(mycfg, log)
        plan = growroot_plan(cfg, log)
        log.debug("cvm-growroot plan: %s", plan)
        failures += util.log_time(
            logfunc=log.debug,
            msg="cvm-growroot",
            func=run_growroot,
            args=(plan, log),
        )
    if "evidence" in steps:
        failures += run_evidence(cfg, mycfg, log)
    if failures:
        # Every step ran; the module is reported failed (cloud-init status)
        # as the corresponding unit would be.
        raise RuntimeError("%s: %s" % (name, "; ".join(failures)))
